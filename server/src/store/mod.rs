//! All SQL lives here, as methods on [`Store`], one module per table family.
//! The store takes plain values and returns records; what a write means
//! (ending a session forgets it from the session cache, an audit event is
//! recorded) is the domain layer's decision (`sessions/`, `accounts/`).
//!
//! It runs its statements through `db`'s handles, and owns what batches
//! them: the group-commit batchers of rotations and throttle counts, and
//! the audit writer. `pool.rs` makes it Rocket's database pool.

mod audit;
#[cfg(test)]
mod contract;
pub mod personal_tokens;
mod pool;
mod prune;
mod resets;
pub mod second_factor;
mod sessions;
pub mod signing_keys;
mod throttles;
mod users;

#[cfg(test)]
pub mod testing;

pub use audit::{AuditQuery, AuditRecord, AuditRow, AuditWriter};
pub use pool::{stage, Db};
pub use prune::Pruned;
pub use sessions::{RefreshLookup, SessionRecord};
pub use throttles::{Attempt, Bucket, LockoutRule, ThrottleState, Verdict};
pub use users::{NewUser, UserRecord};

use std::sync::Arc;

use time::OffsetDateTime;

use crate::db::{on_conn, Backend, Batcher, Tx};
use sessions::Rotation;
use throttles::ThrottleHit;

/// The database's tables, as methods. Cheap to clone (everything is shared).
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    audit: AuditWriter,
    rotations: Arc<Batcher<Rotation, Option<SessionRecord>>>,
    throttle_hits: Arc<Batcher<ThrottleHit, ThrottleState>>,
    login_attempts: Arc<Batcher<Attempt, Verdict>>,
}

impl Store {
    /// Starts the audit writer and the batchers, on the current runtime if
    /// there is one.
    pub fn new(backend: Backend) -> Store {
        Store {
            audit: AuditWriter::spawn(backend.clone()),
            rotations: Arc::new(Batcher::spawn(backend.clone(), |backend, rotations| {
                Box::pin(async move { sessions::rotate_refresh_tokens(&backend, &rotations).await })
            })),
            throttle_hits: Arc::new(Batcher::spawn(backend.clone(), |backend, hits| {
                Box::pin(async move { throttles::count_throttle_hits(&backend, &hits).await })
            })),
            login_attempts: Arc::new(Batcher::spawn(backend.clone(), |backend, attempts| {
                Box::pin(async move { throttles::count_attempts(&backend, &attempts).await })
            })),
            backend,
        }
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// A transaction for several writes that stand or fall together. On
    /// SQLite it holds the one writer until it ends: nothing inside it may
    /// wait for another write (an audit record is made after the commit).
    pub async fn transaction(&self) -> sqlx::Result<Tx> {
        self.backend.transaction().await
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> sqlx::Result<()> {
        on_conn!(self.backend.reader(), |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Whether every migration of this build is recorded as applied (by
    /// sqlx, in `_sqlx_migrations`).
    pub async fn migrations_applied(&self) -> sqlx::Result<bool> {
        let applied = self.backend.applied_migrations().await?;
        Ok(self
            .backend
            .migrator()
            .iter()
            .all(|m| applied.contains(&m.version)))
    }

    /// Queues an audit row for the audit writer (stored with the next
    /// batch), or stores it here when no writer runs.
    pub async fn insert_audit_event(&self, row: AuditRow) {
        if let Err(row) = self.audit.submit(row).await {
            if let Err(e) =
                audit::insert_audit_events(&self.backend, std::slice::from_ref(&row)).await
            {
                log::error!(target: "gatepass::audit", "audit event {} not stored: {e}", row.event);
            }
        }
    }

    /// Waits (up to 5 s) until every audit row queued so far is stored.
    pub async fn flush_audit(&self) {
        self.audit.flush().await;
    }

    /// Writes the audit rows still queued, then closes the connections.
    pub async fn close(&self) {
        self.flush_audit().await;
        self.backend.close().await;
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend.name())
            .finish()
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
