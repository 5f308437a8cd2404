//! The `throttles` table: windowed counters and lockouts, one row per bucket.

use super::now_ms;
use crate::db::Db;

/// A bucket's state after a hit.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct ThrottleState {
    pub hits: i64,
    pub window_start: i64,
    pub locked_until: i64,
}

impl Db {
    /// Counts one hit in `bucket`'s window of `window_ms` (starting a new
    /// window when the old one has passed). One statement, so concurrent hits
    /// from several processes all count.
    pub async fn throttle_hit(&self, bucket: &str, window_ms: i64) -> sqlx::Result<ThrottleState> {
        let now = now_ms();
        sqlx::query_as(
            "INSERT INTO throttles (bucket, hits, window_start) VALUES (?1, 1, ?2)
             ON CONFLICT (bucket) DO UPDATE SET
               hits = CASE WHEN window_start <= ?2 - ?3 THEN 1 ELSE hits + 1 END,
               window_start = CASE WHEN window_start <= ?2 - ?3 THEN ?2 ELSE window_start END
             RETURNING hits, window_start, locked_until",
        )
        .bind(bucket)
        .bind(now)
        .bind(window_ms)
        .fetch_one(self.0.writer())
        .await
    }

    /// The latest `locked_until` among `buckets` (0 when none is locked).
    pub async fn throttle_locked_until(&self, buckets: &[&str]) -> sqlx::Result<i64> {
        let mut latest = 0;
        for bucket in buckets {
            let until: Option<i64> =
                sqlx::query_scalar("SELECT locked_until FROM throttles WHERE bucket = ?")
                    .bind(bucket)
                    .fetch_optional(&self.0)
                    .await?;
            latest = latest.max(until.unwrap_or(0));
        }
        Ok(latest)
    }

    pub async fn throttle_lock(&self, bucket: &str, until: i64) -> sqlx::Result<()> {
        sqlx::query("UPDATE throttles SET locked_until = MAX(locked_until, ?) WHERE bucket = ?")
            .bind(until)
            .bind(bucket)
            .execute(self.0.writer())
            .await?;
        Ok(())
    }

    pub async fn throttle_clear(&self, bucket: &str) -> sqlx::Result<()> {
        sqlx::query("DELETE FROM throttles WHERE bucket = ?")
            .bind(bucket)
            .execute(self.0.writer())
            .await?;
        Ok(())
    }
}
