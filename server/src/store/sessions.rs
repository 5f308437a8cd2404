//! The `sessions` table and the refresh tokens it has retired.

use gatepass_common::SessionInfo;

use sqlx::QueryBuilder;

use super::{now_ms, rfc3339, UserRecord};
use crate::db::{on_conn, on_tx, Backend, Db, Tx};

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
    pub current_hash: Vec<u8>,
    pub current_sealed: Vec<u8>,
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

impl Db {
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

    /// The user of a live session: what every protected route needs to know.
    /// `None` when the session has ended, expired, or is not this user's.
    ///
    /// Answered from the session cache when it can be (see `cache.rs`: every
    /// write through this server that ends a session invalidates it at once;
    /// writes by other processes show within the cache's TTL), else with one
    /// query.
    pub async fn live_session_user(
        &self,
        session_id: &str,
        user_id: &str,
    ) -> sqlx::Result<Option<UserRecord>> {
        let cache = self.0.sessions();
        if let Some(user) = cache.get(session_id, user_id, now_ms()) {
            return Ok(Some(user));
        }
        let ticket = cache.ticket();
        let row: Option<UserSession> = on_conn!(self.0.reader(), |pool| sqlx::query_as(
            "SELECT u.id, u.first_name, u.last_name, u.email, u.password_hash, u.created_at,
                    s.expires_at AS s_expires_at, s.ended_at AS s_ended_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id = $1 AND s.user_id = $2",
        )
        .bind(session_id)
        .bind(user_id)
        .fetch_optional(pool)
        .await)?;
        let now = now_ms();
        let live = row.filter(|r| r.s_ended_at.is_none() && r.s_expires_at > now);
        if let Some(live) = &live {
            cache.put(ticket, session_id, &live.user, live.s_expires_at);
        }
        Ok(live.map(|r| r.user))
    }

    /// Finds the session a refresh token belongs to, whether the token is the
    /// session's current one or one it retired. One query. `session_id`: the
    /// session the token names; `None` for a token from before tokens named
    /// their session, found by its hash alone.
    pub async fn find_refresh_token(
        &self,
        session_id: Option<&str>,
        token_hash: &[u8],
    ) -> sqlx::Result<Option<RefreshLookup>> {
        // The NULL is typed so that PostgreSQL's UNION needs no guess.
        let query = match session_id {
            Some(_) => format!(
                "SELECT {SESSION_COLUMNS}, CAST(NULL AS BIGINT) AS retired_at,
                        s.current_hash, s.current_sealed
                   FROM sessions s WHERE s.id = $1 AND s.current_hash = $2
                 UNION ALL
                 SELECT {SESSION_COLUMNS}, r.retired_at, s.current_hash, s.current_sealed
                   FROM retired_refresh_tokens r JOIN sessions s ON s.id = r.session_id
                  WHERE r.session_id = $1 AND r.hash = $2
                 LIMIT 1"
            ),
            // `legacy_token = 1` as written in the partial index's WHERE, so
            // that the index is used.
            None => format!(
                "SELECT {SESSION_COLUMNS}, CAST(NULL AS BIGINT) AS retired_at,
                        s.current_hash, s.current_sealed
                   FROM sessions s WHERE s.current_hash = $1 AND s.legacy_token = 1
                 UNION ALL
                 SELECT {SESSION_COLUMNS}, r.retired_at, s.current_hash, s.current_sealed
                   FROM legacy_retired_refresh_tokens r JOIN sessions s ON s.id = r.session_id
                  WHERE r.hash = $1
                 LIMIT 1"
            ),
        };
        on_conn!(self.0.reader(), |pool| {
            let query = sqlx::query_as(&query);
            let query = match session_id {
                Some(id) => query.bind(id),
                None => query,
            };
            query.bind(token_hash).fetch_optional(pool).await
        })
    }

    /// Rotates the refresh token `old_hash`, if it is the live session
    /// `session_id`'s current one: the session gets `new_hash`, and is
    /// returned. A
    /// compare-and-swap: of two concurrent rotations of one token exactly one
    /// gets the session. The trigger files the old hash as retired. `None`:
    /// the token is retired, unknown, or its session over (see
    /// [`Db::find_refresh_token`]). On SQLite, concurrent rotations are
    /// applied together (see `db/batch.rs`).
    pub async fn rotate_refresh_token(
        &self,
        session_id: &str,
        old_hash: &[u8],
        new_hash: &[u8],
        new_sealed: &[u8],
        ttl_ms: i64,
    ) -> sqlx::Result<Option<SessionRecord>> {
        self.0
            .rotations()
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
        on_conn!(self.0.reader(), |pool| sqlx::query_as(
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
        let done = on_conn!(self.0.writer().await, |pool| sqlx::query(
            "UPDATE sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL"
        )
        .bind(now_ms())
        .bind(session_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()));
        self.0.sessions().invalidate_session(session_id);
        Ok(done? == 1)
    }

    /// Ends one of `user_id`'s sessions; another user's session is left alone.
    pub async fn end_user_session(&self, user_id: &str, session_id: &str) -> sqlx::Result<bool> {
        let done = on_conn!(self.0.writer().await, |pool| sqlx::query(
            "UPDATE sessions SET ended_at = $1
              WHERE id = $2 AND user_id = $3 AND ended_at IS NULL",
        )
        .bind(now_ms())
        .bind(session_id)
        .bind(user_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()));
        self.0.sessions().invalidate_session(session_id);
        Ok(done? == 1)
    }

    /// Ends every session of a user, except `keep` if given. Returns how many.
    /// Often part of a transaction: the cache holds the user uncached for a
    /// moment, so the rows before the commit cannot be cached meanwhile.
    pub async fn end_all_sessions(
        &self,
        tx: &mut Tx,
        user_id: &str,
        keep: Option<&str>,
    ) -> sqlx::Result<u64> {
        let done = on_tx!(tx, |conn| sqlx::query(
            "UPDATE sessions SET ended_at = $1
              WHERE user_id = $2 AND ended_at IS NULL AND ($3 IS NULL OR id <> $3)",
        )
        .bind(now_ms())
        .bind(user_id)
        .bind(keep)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()));
        self.0.sessions().invalidate_user(user_id);
        done
    }

    /// The user's live sessions, most recently used first.
    pub async fn live_sessions(&self, user_id: &str) -> sqlx::Result<Vec<SessionRecord>> {
        let query = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s
              WHERE s.user_id = $1 AND s.ended_at IS NULL AND s.expires_at > $2
              ORDER BY s.last_used_at DESC"
        );
        on_conn!(self.0.reader(), |pool| sqlx::query_as(&query)
            .bind(user_id)
            .bind(now_ms())
            .fetch_all(pool)
            .await)
    }
}

/// One refresh-token rotation (see [`Db::rotate_refresh_token`]).
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
pub async fn rotate_refresh_tokens(
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
                        expires_at = batch.expires_at, legacy_token = 0, last_used_at = ",
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
    use std::borrow::Cow;
    use std::sync::Arc;

    use rocket::tokio::sync::Mutex;
    use sqlx::migrate::Migrator;
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::ConnectOptions;

    use super::*;
    use crate::auth::opaque::{OpaqueTokens, Purpose};
    use crate::cache::SessionCache;
    use crate::config::Secret;
    use crate::db::Pool;

    const BEFORE_NAMED_TOKENS: i64 = 20261129000003;
    const TTL_MS: i64 = 3_600_000;

    /// A database migrated up to `before` only (all migrations if `None`).
    async fn database(dir: &std::path::Path, before: Option<i64>) -> (Db, sqlx::SqlitePool) {
        let options = SqliteConnectOptions::new()
            .filename(dir.join("gatepass.db"))
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options.clone())
            .await
            .unwrap();
        let all = sqlx::migrate!("./migrations/sqlite");
        let migrator = Migrator {
            migrations: Cow::Owned(
                all.migrations
                    .iter()
                    .filter(|m| before.is_none_or(|v| m.version <= v))
                    .cloned()
                    .collect(),
            ),
            ..all
        };
        migrator.run(&pool).await.unwrap();
        let writer = Arc::new(Mutex::new(options.connect().await.unwrap()));
        let backend = Backend::Sqlite {
            pool: pool.clone(),
            writer,
        };
        let cache = SessionCache::new(std::time::Duration::ZERO, 10);
        (Db(Pool::new(backend, cache)), pool)
    }

    /// A session started before refresh tokens named their session keeps
    /// working across the upgrade: found by hash, rotated once into a token
    /// that names it, and its old token, replayed, is recognised as retired.
    #[rocket::async_test]
    async fn a_token_from_before_the_upgrade_rotates_and_its_replay_is_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let opaque = OpaqueTokens::new(Secret::new(vec![7; 32]));
        let old = OpaqueTokens::generate();
        let old_hash = opaque.hash(Purpose::Refresh, &old);
        {
            let (_, pool) = database(dir.path(), Some(BEFORE_NAMED_TOKENS)).await;
            sqlx::query("INSERT INTO users VALUES ('u1', 'Ada', 'L', 'ada@example.com', 'x', 0)")
                .execute(&pool)
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at,
                                       current_hash, current_sealed)
                 VALUES ('s1', 'u1', 0, 0, $1, $2, $3)",
            )
            .bind(now_ms() + TTL_MS)
            .bind(&old_hash)
            .bind(opaque.seal("s1", &old))
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }
        let (db, _) = database(dir.path(), None).await;

        let found = db
            .find_refresh_token(None, &old_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.session.id, "s1");
        assert_eq!(found.retired_at, None, "the session's current token");

        let new = OpaqueTokens::generate_refresh("s1");
        let new_hash = opaque.hash(Purpose::Refresh, &new);
        let rotated = db
            .rotate_refresh_token("s1", &old_hash, &new_hash, &opaque.seal("s1", &new), TTL_MS)
            .await
            .unwrap();
        assert_eq!(rotated.map(|s| s.id).as_deref(), Some("s1"));

        let replayed = db
            .find_refresh_token(None, &old_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(replayed.session.id, "s1");
        assert!(replayed.retired_at.is_some(), "the old token is retired");
        let current = db
            .find_refresh_token(Some("s1"), &new_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(current.retired_at, None);
        assert_eq!(
            db.find_refresh_token(None, &new_hash)
                .await
                .unwrap()
                .map(|f| f.session.id),
            None,
            "a token that names its session is not looked up by hash alone"
        );
    }

    /// Rotations in one batch each rotate their own session; a second
    /// rotation of the same token in the batch gets nothing.
    #[rocket::async_test]
    async fn a_batch_rotates_each_session_once() {
        let dir = tempfile::tempdir().unwrap();
        let opaque = OpaqueTokens::new(Secret::new(vec![7; 32]));
        let (db, pool) = database(dir.path(), None).await;
        sqlx::query("INSERT INTO users VALUES ('u1', 'Ada', 'L', 'ada@example.com', 'x', 0)")
            .execute(&pool)
            .await
            .unwrap();
        let mut jobs = Vec::new();
        for n in 0..3 {
            let id = format!("s{n}");
            let token = OpaqueTokens::generate_refresh(&id);
            let hash = opaque.hash(Purpose::Refresh, &token);
            let mut tx = db.0.begin().await.unwrap();
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
        let rotated = rotate_refresh_tokens(db.0.backend(), &jobs).await.unwrap();
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
