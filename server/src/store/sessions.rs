//! The `sessions` table and the refresh tokens it has retired.

use gatepass_common::SessionInfo;

use sqlx::QueryBuilder;

use super::Store;
use super::{now_ms, rfc3339, UserRecord};
use crate::db::{on_conn, on_tx, Backend, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRecord {
    pub id: String,
    pub user_id: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
    pub user_agent: Option<String>,
}

impl SessionRecord {
    /// Neither ended nor past its refresh token's expiry.
    pub fn is_live(&self, now: i64) -> bool {
        self.ended_at.is_none() && self.expires_at > now
    }

    pub fn info(&self, current_session_id: &str) -> SessionInfo {
        SessionInfo {
            id: self.id.clone(),
            created_at: rfc3339(self.created_at),
            last_used_at: rfc3339(self.last_used_at),
            user_agent: self.user_agent.clone(),
            current: self.id == current_session_id,
        }
    }
}

/// What a presented refresh token turned out to be.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshLookup {
    #[sqlx(flatten)]
    pub session: SessionRecord,
    /// `None` when the token is the session's current one; otherwise when a
    /// rotation retired it.
    pub retired_at: Option<i64>,
}

/// A user joined with one of their sessions.
#[derive(Debug, Clone, sqlx::FromRow)]
struct UserSession {
    #[sqlx(flatten)]
    user: UserRecord,
    s_expires_at: i64,
    s_ended_at: Option<i64>,
}

const SESSION_COLUMNS: &str =
    "s.id, s.user_id, s.created_at, s.last_used_at, s.expires_at, s.ended_at, s.user_agent";

impl Store {
    /// Starts the session `session_id` (a new UUID: the refresh token names
    /// it) whose current refresh token has `token_hash`.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_session(
        &self,
        tx: &mut Tx,
        session_id: &str,
        user_id: &str,
        token_hash: &[u8],
        token_sealed: &[u8],
        user_agent: Option<&str>,
        ttl_ms: i64,
    ) -> sqlx::Result<SessionRecord> {
        let now = now_ms();
        let session = SessionRecord {
            id: session_id.to_owned(),
            user_id: user_id.to_owned(),
            created_at: now,
            last_used_at: now,
            expires_at: now + ttl_ms,
            ended_at: None,
            user_agent: user_agent.map(str::to_owned),
        };
        on_tx!(tx, |conn| {
            sqlx::query(
            "INSERT INTO sessions
               (id, user_id, created_at, last_used_at, expires_at, user_agent, current_hash, current_sealed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&session.id)
        .bind(&session.user_id)
        .bind(session.created_at)
        .bind(session.last_used_at)
        .bind(session.expires_at)
        .bind(&session.user_agent)
        .bind(token_hash)
        .bind(token_sealed)
        .execute(conn)
        .await
        .map(|done| done.rows_affected())
        })?;
        Ok(session)
    }

    /// The user of a live session, and when the session expires: what
    /// every protected route needs to know. `None` when the session has
    /// ended, expired, or is not this user's, or the user is disabled. One
    /// query.
    pub async fn live_session_user(
        &self,
        session_id: &str,
        user_id: &str,
    ) -> sqlx::Result<Option<(UserRecord, i64)>> {
        // USER_COLUMNS_U, written out: this is every protected request's
        // query when the session cache misses.
        let row: Option<UserSession> = on_conn!(self.backend.reader(), |pool| sqlx::query_as(
            "SELECT u.id, u.first_name, u.last_name, u.email, u.password_hash, u.created_at,
                    u.disabled_at, s.expires_at AS s_expires_at, s.ended_at AS s_ended_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id = $1 AND s.user_id = $2",
        )
        .bind(session_id)
        .bind(user_id)
        .fetch_optional(pool)
        .await)?;
        let now = now_ms();
        Ok(row
            // A disabled user's sessions were ended when they were disabled;
            // one that raced that (see `accounts::Accounts::login`) is not
            // live either.
            .filter(|r| r.s_ended_at.is_none() && r.s_expires_at > now && !r.user.is_disabled())
            .map(|r| (r.user, r.s_expires_at)))
    }

    /// Finds the session a refresh token belongs to, whether the token is
    /// `session_id`'s current one or one it retired. One query.
    pub async fn find_refresh_token(
        &self,
        session_id: &str,
        token_hash: &[u8],
    ) -> sqlx::Result<Option<RefreshLookup>> {
        // The NULL is typed so that PostgreSQL's UNION needs no guess.
        let query = format!(
            "SELECT {SESSION_COLUMNS}, CAST(NULL AS BIGINT) AS retired_at
               FROM sessions s WHERE s.id = $1 AND s.current_hash = $2
             UNION ALL
             SELECT {SESSION_COLUMNS}, r.retired_at
               FROM retired_refresh_tokens r JOIN sessions s ON s.id = r.session_id
              WHERE r.session_id = $1 AND r.hash = $2
             LIMIT 1"
        );
        on_conn!(self.backend.reader(), |pool| sqlx::query_as(&query)
            .bind(session_id)
            .bind(token_hash)
            .fetch_optional(pool)
            .await)
    }

    /// Rotates the refresh token `old_hash`, if it is the live session
    /// `session_id`'s current one: the session gets `new_hash`, and is
    /// returned. A
    /// compare-and-swap: of two concurrent rotations of one token exactly one
    /// gets the session. The trigger files the old hash as retired. `None`:
    /// the token is retired, unknown, or its session over (see
    /// [`Store::find_refresh_token`]). On SQLite, concurrent rotations are
    /// applied together (see `db/batch.rs`).
    pub async fn rotate_refresh_token(
        &self,
        session_id: &str,
        old_hash: &[u8],
        new_hash: &[u8],
        new_sealed: &[u8],
        ttl_ms: i64,
    ) -> sqlx::Result<Option<SessionRecord>> {
        self.rotations
            .run(Rotation {
                session_id: session_id.to_owned(),
                old_hash: old_hash.to_vec(),
                new_hash: new_hash.to_vec(),
                new_sealed: new_sealed.to_vec(),
                ttl_ms,
            })
            .await
    }

    /// The session's current refresh token (sealed) and its hash, if live.
    pub async fn current_refresh_token(
        &self,
        session_id: &str,
    ) -> sqlx::Result<Option<(Vec<u8>, Vec<u8>)>> {
        on_conn!(self.backend.reader(), |pool| sqlx::query_as(
            "SELECT current_hash, current_sealed FROM sessions
              WHERE id = $1 AND ended_at IS NULL AND expires_at > $2",
        )
        .bind(session_id)
        .bind(now_ms())
        .fetch_optional(pool)
        .await)
    }

    /// Ends one session. Returns whether it was live.
    pub async fn end_session(&self, session_id: &str) -> sqlx::Result<bool> {
        let done = on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "UPDATE sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL"
        )
        .bind(now_ms())
        .bind(session_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Ends one of `user_id`'s sessions; another user's session is left alone.
    pub async fn end_user_session(&self, user_id: &str, session_id: &str) -> sqlx::Result<bool> {
        let done = on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "UPDATE sessions SET ended_at = $1
              WHERE id = $2 AND user_id = $3 AND ended_at IS NULL",
        )
        .bind(now_ms())
        .bind(session_id)
        .bind(user_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Ends every session of a user, except `keep` if given. Returns how many.
    pub async fn end_all_sessions(
        &self,
        tx: &mut Tx,
        user_id: &str,
        keep: Option<&str>,
    ) -> sqlx::Result<u64> {
        on_tx!(tx, |conn| sqlx::query(
            "UPDATE sessions SET ended_at = $1
              WHERE user_id = $2 AND ended_at IS NULL AND ($3 IS NULL OR id <> $3)",
        )
        .bind(now_ms())
        .bind(user_id)
        .bind(keep)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))
    }

    /// The user's live sessions, most recently used first.
    pub async fn live_sessions(&self, user_id: &str) -> sqlx::Result<Vec<SessionRecord>> {
        let query = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s
              WHERE s.user_id = $1 AND s.ended_at IS NULL AND s.expires_at > $2
              ORDER BY s.last_used_at DESC"
        );
        on_conn!(self.backend.reader(), |pool| sqlx::query_as(&query)
            .bind(user_id)
            .bind(now_ms())
            .fetch_all(pool)
            .await)
    }
}

/// One refresh-token rotation (see [`Store::rotate_refresh_token`]).
pub struct Rotation {
    session_id: String,
    old_hash: Vec<u8>,
    new_hash: Vec<u8>,
    new_sealed: Vec<u8>,
    ttl_ms: i64,
}

#[derive(sqlx::FromRow)]
struct Rotated {
    #[sqlx(flatten)]
    session: SessionRecord,
    current_hash: Vec<u8>,
}

/// Applies `rotations` with one UPDATE: for each, the session it rotated, or
/// `None`. Two rotations of one token in a batch update its row once; the
/// one whose new hash the row holds is the one that rotated.
pub(super) async fn rotate_refresh_tokens(
    backend: &Backend,
    rotations: &[Rotation],
) -> sqlx::Result<Vec<Option<SessionRecord>>> {
    let now = now_ms();
    let mut rotated: Vec<Rotated> = on_conn!(backend.writer().await, |conn| {
        let mut update =
            QueryBuilder::new("WITH batch (id, old_hash, new_hash, new_sealed, expires_at) AS (");
        update.push_values(rotations, |mut row, rotation| {
            row.push_bind(&rotation.session_id)
                .push_bind(&rotation.old_hash)
                .push_bind(&rotation.new_hash)
                .push_bind(&rotation.new_sealed)
                .push_bind(now + rotation.ttl_ms);
        });
        update
            .push(
                ") UPDATE sessions
                    SET current_hash = batch.new_hash, current_sealed = batch.new_sealed,
                        expires_at = batch.expires_at, last_used_at = ",
            )
            .push_bind(now)
            .push(
                " FROM batch
                 WHERE sessions.id = batch.id AND sessions.current_hash = batch.old_hash
                   AND sessions.ended_at IS NULL AND sessions.expires_at > ",
            )
            .push_bind(now)
            .push(
                " RETURNING sessions.id, sessions.user_id, sessions.created_at,
                            sessions.last_used_at, sessions.expires_at, sessions.ended_at,
                            sessions.user_agent, sessions.current_hash",
            );
        update.build_query_as().fetch_all(conn).await
    })?;
    Ok(rotations
        .iter()
        .map(|rotation| {
            let at = rotated
                .iter()
                .position(|row| row.current_hash == rotation.new_hash)?;
            Some(rotated.swap_remove(at).session)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::opaque::{OpaqueTokens, Purpose};
    use crate::config::Secret;
    use crate::store::testing;

    const TTL_MS: i64 = 3_600_000;

    /// Rotations in one batch each rotate their own session; a second
    /// rotation of the same token in the batch gets nothing.
    #[rocket::async_test]
    async fn a_batch_rotates_each_session_once() {
        let dir = tempfile::tempdir().unwrap();
        let opaque = OpaqueTokens::new(Secret::new(vec![7; 32]));
        let (db, pool) = testing::store(dir.path()).await;
        sqlx::query("INSERT INTO users (id, first_name, last_name, email, password_hash, created_at) VALUES ('u1', 'Ada', 'L', 'ada@example.com', 'x', 0)")
            .execute(&pool)
            .await
            .unwrap();
        let mut jobs = Vec::new();
        for n in 0..3 {
            let id = format!("s{n}");
            let token = OpaqueTokens::generate_refresh(&id);
            let hash = opaque.hash(Purpose::Refresh, &token);
            let mut tx = db.transaction().await.unwrap();
            db.insert_session(
                &mut tx,
                &id,
                "u1",
                &hash,
                &opaque.seal(&id, &token),
                None,
                TTL_MS,
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            // s1 is presented twice.
            for _ in 0..(if n == 1 { 2 } else { 1 }) {
                let new = OpaqueTokens::generate_refresh(&id);
                let new_hash = opaque.hash(Purpose::Refresh, &new);
                jobs.push(Rotation {
                    session_id: id.clone(),
                    old_hash: hash.clone(),
                    new_sealed: opaque.seal(&id, &new),
                    new_hash,
                    ttl_ms: TTL_MS,
                });
            }
        }
        let rotated = rotate_refresh_tokens(db.backend(), &jobs).await.unwrap();
        let ids: Vec<_> = rotated
            .iter()
            .map(|s| s.as_ref().map(|s| s.id.as_str()))
            .collect();
        assert_eq!(ids[0], Some("s0"));
        assert_eq!(ids[3], Some("s2"));
        assert_eq!(
            (ids[1].is_some() as u8) + (ids[2].is_some() as u8),
            1,
            "one of the two rotations of s1's token: {ids:?}"
        );
        let retired: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM retired_refresh_tokens")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(retired, 3);
    }
}
