//! The `audit_events` table.

use super::now_ms;
use crate::db::Db;

impl Db {
    pub async fn insert_audit_event(
        &self,
        event: &str,
        user_id: Option<&str>,
        session_id: Option<&str>,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO audit_events (at, event, user_id, session_id, ip, user_agent)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(now_ms())
        .bind(event)
        .bind(user_id)
        .bind(session_id)
        .bind(ip)
        .bind(user_agent)
        .execute(&self.0)
        .await?;
        Ok(())
    }
}
