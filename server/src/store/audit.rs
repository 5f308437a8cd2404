//! The `audit_events` table, and the writer that batches its inserts.

use std::time::Duration;

use rocket::tokio::sync::{mpsc, oneshot};
use sqlx::QueryBuilder;

use super::Store;
use crate::db::{on_conn, Backend};

/// Stores `rows` with one INSERT (the audit writer's batches).
pub(super) async fn insert_audit_events(backend: &Backend, rows: &[AuditRow]) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    on_conn!(backend.writer().await, |pool| {
        let mut insert = QueryBuilder::new(
            "INSERT INTO audit_events (at, event, user_id, session_id, ip, user_agent, operator) ",
        );
        insert.push_values(rows, |mut values, row| {
            values
                .push_bind(row.at)
                .push_bind(row.event)
                .push_bind(row.user_id.as_deref())
                .push_bind(row.session_id.as_deref())
                .push_bind(row.ip.as_deref())
                .push_bind(row.user_agent.as_deref())
                .push_bind(row.operator.as_deref());
        });
        insert.build().execute(pool).await?;
    });
    Ok(())
}

/// One audit event, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub at: i64,
    pub event: &'static str,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The OS user who ran the operator's command that made the event;
    /// `None` for the events of requests.
    pub operator: Option<String>,
}

/// One audit event, as read back (`gatepass-server audit export`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRecord {
    /// Increasing in the order the events were stored.
    pub id: i64,
    pub at: i64,
    pub event: String,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub operator: Option<String>,
}

/// Which audit events to read: those stored after the event `after_id`, at
/// `since` or later (Unix ms), of `user_id` if given.
#[derive(Debug, Clone, Copy)]
pub struct AuditQuery<'a> {
    pub after_id: i64,
    pub since: i64,
    pub user_id: Option<&'a str>,
}

impl Store {
    /// The first `limit` audit events that `query` selects, in the order
    /// they were stored. Page on by passing the last one's id as the next
    /// query's `after_id`.
    pub async fn audit_events(
        &self,
        query: AuditQuery<'_>,
        limit: i64,
    ) -> sqlx::Result<Vec<AuditRecord>> {
        on_conn!(self.backend.reader(), |pool| sqlx::query_as(
            "SELECT id, at, event, user_id, session_id, ip, user_agent, operator
               FROM audit_events
              WHERE id > $1 AND at >= $2 AND ($3 IS NULL OR user_id = $3)
              ORDER BY id
              LIMIT $4",
        )
        .bind(query.after_id)
        .bind(query.since)
        .bind(query.user_id)
        .bind(limit)
        .fetch_all(pool)
        .await)
    }
}

enum Message {
    Row(AuditRow),
    Flush(oneshot::Sender<()>),
}

/// Most rows queued before [`AuditWriter::submit`] waits for the writer.
const QUEUE: usize = 4096;
/// Most rows in one INSERT.
const BATCH: usize = 256;

/// Stores audit rows off the request path: a background task takes whatever
/// has queued up and writes it with one INSERT, so a request does not wait for
/// its row, and a busy server writes one statement for many events.
///
/// The trade: a row still queued when the process dies is lost (a graceful
/// shutdown flushes, see `Store::close`); its log line was written when the
/// event happened. The queue is bounded: when the writer falls behind,
/// requests wait for room rather than memory growing.
#[derive(Clone)]
pub struct AuditWriter {
    queue: Option<mpsc::Sender<Message>>,
}

impl AuditWriter {
    /// Starts the writer on the current Tokio runtime, writing to `backend`
    /// (through the store's writer connection on SQLite); with no runtime,
    /// rows are handed back to the caller to store.
    pub fn spawn(backend: Backend) -> AuditWriter {
        let Ok(runtime) = rocket::tokio::runtime::Handle::try_current() else {
            return AuditWriter { queue: None };
        };
        let (queue, rows) = mpsc::channel(QUEUE);
        runtime.spawn(write_forever(backend, rows));
        AuditWriter { queue: Some(queue) }
    }

    /// Queues `row`; gives it back if there is no writer.
    pub async fn submit(&self, row: AuditRow) -> Result<(), AuditRow> {
        let Some(queue) = &self.queue else {
            return Err(row);
        };
        queue.send(Message::Row(row)).await.map_err(|e| match e.0 {
            Message::Row(row) => row,
            Message::Flush(_) => unreachable!("a row was sent"),
        })
    }

    /// Waits (up to 5 s) until every row queued before this call is stored.
    pub async fn flush(&self) {
        let Some(queue) = &self.queue else {
            return;
        };
        let (done, stored) = oneshot::channel();
        if queue.send(Message::Flush(done)).await.is_ok() {
            let _ = rocket::tokio::time::timeout(Duration::from_secs(5), stored).await;
        }
    }
}

async fn write_forever(backend: Backend, mut messages: mpsc::Receiver<Message>) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut flushed = Vec::new();
    while let Some(first) = messages.recv().await {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Row(row) => batch.push(row),
                Message::Flush(done) => flushed.push(done),
            }
            if batch.len() < BATCH {
                next = messages.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            if let Err(e) = insert_audit_events(&backend, &batch).await {
                log::error!(
                    target: "gatepass::audit",
                    "{} audit event(s) not stored: {e}",
                    batch.len()
                );
            }
            batch.clear();
        }
        for done in flushed.drain(..) {
            let _ = done.send(());
        }
    }
}
