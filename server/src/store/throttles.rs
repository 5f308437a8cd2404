//! The `throttles` table: windowed counters and lockouts, one row per bucket.

use super::now_ms;
use crate::db::{on_conn, Db};

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
        // Columns qualified: on PostgreSQL a bare name in DO UPDATE could
        // also mean the proposed row.
        on_conn!(self.0.writer().await, |pool| sqlx::query_as(
            "INSERT INTO throttles (bucket, hits, window_start) VALUES ($1, 1, $2)
             ON CONFLICT (bucket) DO UPDATE SET
               hits = CASE WHEN throttles.window_start <= $2 - $3
                           THEN 1 ELSE throttles.hits + 1 END,
               window_start = CASE WHEN throttles.window_start <= $2 - $3
                                   THEN $2 ELSE throttles.window_start END
             RETURNING hits, window_start, locked_until",
        )
        .bind(bucket)
        .bind(now)
        .bind(window_ms)
        .fetch_one(pool)
        .await)
    }

    /// The latest `locked_until` among `buckets` (0 when none is locked).
    pub async fn throttle_locked_until(&self, buckets: &[&str]) -> sqlx::Result<i64> {
        let mut latest = 0;
        for bucket in buckets {
            let until: Option<i64> = on_conn!(self.0.reader(), |pool| sqlx::query_scalar(
                "SELECT locked_until FROM throttles WHERE bucket = $1"
            )
            .bind(bucket)
            .fetch_optional(pool)
            .await)?;
            latest = latest.max(until.unwrap_or(0));
        }
        Ok(latest)
    }

    pub async fn throttle_lock(&self, bucket: &str, until: i64) -> sqlx::Result<()> {
        // CASE, not SQLite's two-argument MAX (PostgreSQL's is GREATEST).
        on_conn!(self.0.writer().await, |pool| sqlx::query(
            "UPDATE throttles
                SET locked_until = CASE WHEN locked_until > $1 THEN locked_until ELSE $1 END
              WHERE bucket = $2"
        )
        .bind(until)
        .bind(bucket)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    pub async fn throttle_clear(&self, bucket: &str) -> sqlx::Result<()> {
        on_conn!(self.0.writer().await, |pool| sqlx::query(
            "DELETE FROM throttles WHERE bucket = $1"
        )
        .bind(bucket)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }
}
