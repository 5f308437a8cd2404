//! Removing what can no longer matter: ended and expired sessions (with the
//! refresh tokens they retired), expired reset tokens, idle throttle buckets,
//! and audit events past their retention.

use super::{now_ms, Store};
use crate::db::on_conn;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: u64,
    pub resets: u64,
    pub throttles: u64,
    pub audit_events: u64,
}

impl Store {
    /// `throttle_idle_ms`: how long after its window a bucket is kept.
    pub async fn prune(
        &self,
        throttle_idle_ms: i64,
        audit_retention_ms: i64,
    ) -> sqlx::Result<Pruned> {
        let now = now_ms();
        // One statement at a time, so requests' writes go in between.
        let sessions = on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "DELETE FROM sessions WHERE ended_at IS NOT NULL OR expires_at <= $1"
        )
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        let resets = on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "DELETE FROM password_resets WHERE expires_at <= $1"
        )
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        // Challenges no one completed: nothing to count, they simply go.
        on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "DELETE FROM mfa_challenges WHERE expires_at <= $1"
        )
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        let throttles = on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "DELETE FROM throttles WHERE window_start <= $1 AND locked_until <= $2"
        )
        .bind(now - throttle_idle_ms)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        let audit_events = on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "DELETE FROM audit_events WHERE at <= $1"
        )
        .bind(now - audit_retention_ms)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(Pruned {
            sessions,
            resets,
            throttles,
            audit_events,
        })
    }
}
