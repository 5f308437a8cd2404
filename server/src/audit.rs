//! The audit trail: every authentication event goes to the `audit_events`
//! table and to one structured log line, with the time, the user when known,
//! the client address and user agent. Never a secret.

use std::time::Duration;

use rocket::tokio::sync::{mpsc, oneshot};

use crate::auth::ClientInfo;
use crate::db::{Backend, Db};
use crate::store::{insert_audit_events, now_ms};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    Signup,
    LoginSucceeded,
    LoginFailed,
    Throttled,
    Refreshed,
    RefreshReused,
    Logout,
    MasterLogout,
    ResetRequested,
    ResetCompleted,
    PasswordChanged,
    SessionRevoked,
}

impl AuditEvent {
    pub fn name(self) -> &'static str {
        match self {
            AuditEvent::Signup => "signup",
            AuditEvent::LoginSucceeded => "login_succeeded",
            AuditEvent::LoginFailed => "login_failed",
            AuditEvent::Throttled => "throttled",
            AuditEvent::Refreshed => "refreshed",
            AuditEvent::RefreshReused => "refresh_reused",
            AuditEvent::Logout => "logout",
            AuditEvent::MasterLogout => "master_logout",
            AuditEvent::ResetRequested => "reset_requested",
            AuditEvent::ResetCompleted => "reset_completed",
            AuditEvent::PasswordChanged => "password_changed",
            AuditEvent::SessionRevoked => "session_revoked",
        }
    }
}

/// Records `event`: the log line at once, the row through the audit writer
/// (see [`AuditWriter`]). A failure to store the row is logged, not returned:
/// the log line still carries the event, and the user's request should not
/// fail for the bookkeeping.
pub async fn record(
    db: &Db,
    event: AuditEvent,
    user_id: Option<&str>,
    session_id: Option<&str>,
    client: &ClientInfo,
) {
    let address = client.ip.map(|ip| ip.to_string());
    log::info!(
        target: "gatepass::audit",
        "event={} user={} session={} ip={} ua={:?}",
        event.name(),
        user_id.unwrap_or("-"),
        session_id.unwrap_or("-"),
        address.as_deref().unwrap_or("-"),
        client.user_agent.as_deref().unwrap_or("-"),
    );
    let row = AuditRow {
        at: now_ms(),
        event: event.name(),
        user_id: user_id.map(str::to_owned),
        session_id: session_id.map(str::to_owned),
        ip: address,
        user_agent: client.user_agent.clone(),
    };
    if let Err(row) = db.0.audit().submit(row).await {
        // No writer running: store the row here.
        if let Err(e) = insert_audit_events(db.0.backend(), std::slice::from_ref(&row)).await {
            log::error!(target: "gatepass::audit", "audit event {} not stored: {e}", row.event);
        }
    }
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
}

enum Message {
    Row(AuditRow),
    Flush(oneshot::Sender<()>),
}

/// Most rows queued before [`record`] waits for the writer.
const QUEUE: usize = 4096;
/// Most rows in one INSERT.
const BATCH: usize = 256;

/// Stores audit rows off the request path: a background task takes whatever
/// has queued up and writes it with one INSERT, so a request does not wait for
/// its row, and a busy server writes one statement for many events.
///
/// The trade: a row still queued when the process dies is lost (a graceful
/// shutdown flushes, see `db::Pool::close`); its log line was written when the
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
