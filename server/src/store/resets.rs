//! The `password_resets` table.

use super::{now_ms, UserRecord};
use crate::db::Db;

impl Db {
    /// Stores the user's reset token, replacing any earlier one.
    pub async fn put_reset_token(
        &self,
        user_id: &str,
        token_hash: &[u8],
        ttl_ms: i64,
    ) -> sqlx::Result<()> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO password_resets (user_id, token_hash, created_at, expires_at)
             VALUES (?, ?, ?, ?)
             ON CONFLICT (user_id) DO UPDATE
               SET token_hash = excluded.token_hash,
                   created_at = excluded.created_at,
                   expires_at = excluded.expires_at",
        )
        .bind(user_id)
        .bind(token_hash)
        .bind(now)
        .bind(now + ttl_ms)
        .execute(self.0.writer())
        .await?;
        Ok(())
    }

    /// The user an unexpired reset token belongs to (without using it up).
    pub async fn reset_token_user(&self, token_hash: &[u8]) -> sqlx::Result<Option<UserRecord>> {
        sqlx::query_as(
            "SELECT u.id, u.first_name, u.last_name, u.email, u.password_hash, u.created_at
               FROM password_resets r JOIN users u ON u.id = r.user_id
              WHERE r.token_hash = ? AND r.expires_at > ?",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(&self.0)
        .await
    }

    /// Uses up a reset token: true for exactly one caller, and only while the
    /// token is unexpired.
    pub async fn consume_reset_token(
        &self,
        conn: &mut sqlx::SqliteConnection,
        token_hash: &[u8],
    ) -> sqlx::Result<bool> {
        let done =
            sqlx::query("DELETE FROM password_resets WHERE token_hash = ? AND expires_at > ?")
                .bind(token_hash)
                .bind(now_ms())
                .execute(conn)
                .await?;
        Ok(done.rows_affected() == 1)
    }
}
