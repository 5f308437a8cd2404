//! The `personal_tokens` table: a user's tokens for scripts, stored as HMACs.
//! What a token looks like and how it is hashed is `auth/`'s business.

use super::users::UserRecord;
use super::{now_ms, Store};
use crate::db::on_conn;

/// One personal token (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PersonalTokenRecord {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A user joined with one of their tokens.
#[derive(Debug, Clone, sqlx::FromRow)]
struct UserToken {
    #[sqlx(flatten)]
    user: UserRecord,
    t_id: String,
    t_expires_at: i64,
    t_revoked_at: Option<i64>,
}

const TOKEN_COLUMNS: &str = "id, user_id, name, created_at, expires_at, last_used_at, revoked_at";

impl Store {
    /// Stores a new token of `user_id`, live until `expires_at`.
    pub async fn insert_personal_token(
        &self,
        id: &str,
        user_id: &str,
        name: &str,
        token_hash: &[u8],
        expires_at: i64,
    ) -> sqlx::Result<PersonalTokenRecord> {
        let now = now_ms();
        on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "INSERT INTO personal_tokens (id, user_id, name, token_hash, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(user_id)
        .bind(name)
        .bind(token_hash)
        .bind(now)
        .bind(expires_at)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(PersonalTokenRecord {
            id: id.to_owned(),
            user_id: user_id.to_owned(),
            name: name.to_owned(),
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        })
    }

    /// `user_id`'s tokens that are neither revoked nor expired, newest first.
    pub async fn personal_tokens(&self, user_id: &str) -> sqlx::Result<Vec<PersonalTokenRecord>> {
        on_conn!(self.backend.reader(), |pool| sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM personal_tokens
              WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
              ORDER BY created_at DESC, id"
        ))
        .bind(user_id)
        .bind(now_ms())
        .fetch_all(pool)
        .await)
    }

    /// Revokes `user_id`'s token `id`: false if there is no such live token
    /// of theirs.
    pub async fn revoke_personal_token(&self, user_id: &str, id: &str) -> sqlx::Result<bool> {
        let done = on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "UPDATE personal_tokens SET revoked_at = $3
              WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(user_id)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// The live token with `token_hash` and its user (not disabled), for an
    /// exchange: the user, the token's id and its expiry; its `last_used_at`
    /// is set.
    pub async fn use_personal_token(
        &self,
        token_hash: &[u8],
    ) -> sqlx::Result<Option<(UserRecord, String, i64)>> {
        let now = now_ms();
        let row: Option<UserToken> = on_conn!(self.backend.reader(), |pool| sqlx::query_as(
            "SELECT u.id, u.first_name, u.last_name, u.email, u.password_hash, u.created_at,
                    u.disabled_at, t.id AS t_id, t.expires_at AS t_expires_at,
                    t.revoked_at AS t_revoked_at
             FROM personal_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await)?;
        let Some(live) = row.filter(|r| r.is_live(now)) else {
            return Ok(None);
        };
        on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "UPDATE personal_tokens SET last_used_at = $2 WHERE id = $1"
        )
        .bind(&live.t_id)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(Some((live.user, live.t_id, live.t_expires_at)))
    }

    /// The user of the live token `id` if it is `user_id`'s, and the token's
    /// expiry: the protected-route check of an access token minted from it.
    pub async fn live_personal_token_user(
        &self,
        id: &str,
        user_id: &str,
    ) -> sqlx::Result<Option<(UserRecord, i64)>> {
        let row: Option<UserToken> = on_conn!(self.backend.reader(), |pool| sqlx::query_as(
            "SELECT u.id, u.first_name, u.last_name, u.email, u.password_hash, u.created_at,
                    u.disabled_at, t.id AS t_id, t.expires_at AS t_expires_at,
                    t.revoked_at AS t_revoked_at
             FROM personal_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.id = $1 AND t.user_id = $2",
        )
        .bind(id)
        .bind(user_id)
        .fetch_optional(pool)
        .await)?;
        let now = now_ms();
        Ok(row
            .filter(|r| r.is_live(now))
            .map(|r| (r.user, r.t_expires_at)))
    }
}

impl UserToken {
    /// Neither revoked nor expired, and its user not disabled.
    fn is_live(&self, now: i64) -> bool {
        self.t_revoked_at.is_none() && self.t_expires_at > now && !self.user.is_disabled()
    }
}
