//! The `audit_events` table.

use sqlx::QueryBuilder;

use crate::audit::AuditRow;
use crate::db::{on_conn, Backend};

/// Stores `rows` with one INSERT (the audit writer's batches).
pub async fn insert_audit_events(backend: &Backend, rows: &[AuditRow]) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    on_conn!(backend.writer().await, |pool| {
        let mut insert = QueryBuilder::new(
            "INSERT INTO audit_events (at, event, user_id, session_id, ip, user_agent) ",
        );
        insert.push_values(rows, |mut values, row| {
            values
                .push_bind(row.at)
                .push_bind(row.event)
                .push_bind(row.user_id.as_deref())
                .push_bind(row.session_id.as_deref())
                .push_bind(row.ip.as_deref())
                .push_bind(row.user_agent.as_deref());
        });
        insert.build().execute(pool).await?;
    });
    Ok(())
}
