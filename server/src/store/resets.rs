//! The `password_resets` table.

use super::users::USER_COLUMNS_U;
use super::{now_ms, Store, UserRecord};
use crate::db::{on_conn, on_tx, Tx};

impl Store {
    /// Stores the user's reset token, replacing any earlier one.
    pub async fn put_reset_token(
        &self,
        user_id: &str,
        token_hash: &[u8],
        ttl_ms: i64,
    ) -> sqlx::Result<()> {
        let now = now_ms();
        on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "INSERT INTO password_resets (user_id, token_hash, created_at, expires_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id) DO UPDATE
               SET token_hash = excluded.token_hash,
                   created_at = excluded.created_at,
                   expires_at = excluded.expires_at",
        )
        .bind(user_id)
        .bind(token_hash)
        .bind(now)
        .bind(now + ttl_ms)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The user an unexpired reset token belongs to (without using it up).
    pub async fn reset_token_user(&self, token_hash: &[u8]) -> sqlx::Result<Option<UserRecord>> {
        let query = format!(
            "SELECT {USER_COLUMNS_U}
               FROM password_resets r JOIN users u ON u.id = r.user_id
              WHERE r.token_hash = $1 AND r.expires_at > $2"
        );
        on_conn!(self.backend.reader(), |pool| sqlx::query_as(&query)
            .bind(token_hash)
            .bind(now_ms())
            .fetch_optional(pool)
            .await)
    }

    /// Uses up a reset token: true for exactly one caller, and only while the
    /// token is unexpired.
    pub async fn consume_reset_token(&self, tx: &mut Tx, token_hash: &[u8]) -> sqlx::Result<bool> {
        let done = on_tx!(tx, |conn| sqlx::query(
            "DELETE FROM password_resets WHERE token_hash = $1 AND expires_at > $2"
        )
        .bind(token_hash)
        .bind(now_ms())
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Deletes the user's outstanding reset tokens: any change of password
    /// makes a link mailed before it worthless.
    pub async fn delete_reset_tokens(&self, tx: &mut Tx, user_id: &str) -> sqlx::Result<u64> {
        on_tx!(tx, |conn| sqlx::query(
            "DELETE FROM password_resets WHERE user_id = $1"
        )
        .bind(user_id)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))
    }
}
