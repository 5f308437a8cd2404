//! All SQL lives here, as methods on [`Db`](crate::db::Db), one module per
//! table family. Handlers call these; they never write SQL.

mod audit;
mod prune;
mod resets;
mod sessions;
mod throttles;
mod users;

pub use audit::insert_audit_events;
pub use prune::Pruned;
pub use sessions::{rotate_refresh_tokens, RefreshLookup, Rotation, SessionRecord};
pub use throttles::{
    count_attempts, count_throttle_hits, Attempt, Bucket, LockoutRule, ThrottleHit, ThrottleState,
    Verdict,
};
pub use users::{NewUser, UserRecord};

use time::OffsetDateTime;

use crate::db::{on_conn, Db};

impl Db {
    /// Whether the database answers.
    pub async fn ping(&self) -> sqlx::Result<()> {
        on_conn!(self.0.reader(), |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }
}

/// Now, in the store's unit: Unix milliseconds.
pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// A stored time as RFC 3339, for the wire.
pub fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Whether a write failed on a unique constraint (e.g. a taken email).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_format_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
