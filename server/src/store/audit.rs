//! The `audit_events` table.

use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use crate::audit::AuditRow;

/// Stores `rows` with one INSERT (the audit writer's batches).
pub async fn insert_audit_events(pool: &SqlitePool, rows: &[AuditRow]) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
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
    Ok(())
}
