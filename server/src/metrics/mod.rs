//! Prometheus metrics: what they count, in one registry for the process, and
//! where they are served (`listener.rs`: `GET /metrics` on
//! `GATEPASS_METRICS_ADDRESS` only, never on the API's port).
//!
//! Counting is always on and costs an atomic add; only the listener is
//! optional. The domain reports through the functions below (the audit
//! trail counts every authentication event by name, `sessions/` each
//! refresh by outcome, `mail/` each send); the HTTP fairing counts requests by
//! route template; gauges that describe a resource (the hashing queue, the
//! database pool) are read when a scrape comes.
//!
//! No label carries a request value: routes are Rocket's URI templates
//! (`/api/users/reset/<token>`, never the token), events, outcomes and mail
//! kinds are fixed names from the code.

mod http;
mod listener;

use std::sync::{LazyLock, Mutex};

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::db::Backend;

pub use http::HttpMetrics;
pub use listener::stage;

/// Every metric of the server, registered once in its own registry.
struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    request_seconds: HistogramVec,
    auth_events: IntCounterVec,
    refreshes: IntCounterVec,
    throttle_refusals: IntCounterVec,
    mails: IntCounterVec,
    hash_queue: IntGauge,
    pool_connections: IntGaugeVec,
    pool_max: IntGauge,
    writer_busy: IntGauge,
}

/// Request latency buckets, in seconds: from a cached session check (well
/// under a millisecond) to a login queued behind bcrypt (seconds).
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Metrics {
    fn new() -> Metrics {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(metric.clone()))
                .expect("registered once");
            metric
        };
        let gauge = |name: &str, help: &str| {
            let metric = IntGauge::new(name, help).expect("valid metric");
            registry
                .register(Box::new(metric.clone()))
                .expect("registered once");
            metric
        };
        let requests = counter(
            "gatepass_http_requests_total",
            "HTTP requests answered, by method, route template and status.",
            &["method", "route", "status"],
        );
        let request_seconds = HistogramVec::new(
            HistogramOpts::new(
                "gatepass_http_request_duration_seconds",
                "Time from a request's arrival to its response, by method and route template.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(request_seconds.clone()))
            .expect("registered once");
        let auth_events = counter(
            "gatepass_auth_events_total",
            "Audited authentication events, by event name (login_succeeded, login_failed, \
             throttled, refreshed, refresh_reused, mfa_failed, ...).",
            &["event"],
        );
        let throttle_refusals = counter(
            "gatepass_throttle_refusals_total",
            "Requests refused with 429 by a limit: login (account or address), signup, \
             forgot, reauth, token (per address) and token_exchange (per token).",
            &["limit"],
        );
        let refreshes = counter(
            "gatepass_refreshes_total",
            "Refresh-token uses, by outcome: rotated, raced (an answer within the reuse \
             grace), reused (the session ended), invalid.",
            &["outcome"],
        );
        let mails = counter(
            "gatepass_mails_total",
            "Mail sends, by kind and outcome: sent, retried (an attempt failed, another \
             follows), failed (given up).",
            &["kind", "outcome"],
        );
        let hash_queue = gauge(
            "gatepass_password_hash_queue_depth",
            "Password hashes and checks waiting for a hashing thread.",
        );
        let pool_connections = IntGaugeVec::new(
            Opts::new(
                "gatepass_db_pool_connections",
                "Open connections of the database pool (SQLite: the readers), by state.",
            ),
            &["state"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(pool_connections.clone()))
            .expect("registered once");
        let pool_max = gauge(
            "gatepass_db_pool_max_connections",
            "The most connections the database pool opens.",
        );
        let writer_busy = gauge(
            "gatepass_db_writer_busy",
            "SQLite: 1 while the single writer connection is taken (0 on PostgreSQL).",
        );
        Metrics {
            registry,
            requests,
            request_seconds,
            auth_events,
            refreshes,
            throttle_refusals,
            mails,
            hash_queue,
            pool_connections,
            pool_max,
            writer_busy,
        }
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The database whose pool the gauges describe (the last one watched: one
/// per server process).
static DATABASE: Mutex<Option<Backend>> = Mutex::new(None);

/// Counts one audited authentication event, by its name.
pub fn auth_event(name: &'static str) {
    METRICS.auth_events.with_label_values(&[name]).inc();
}

/// Counts one request refused by the limit `limit` (a fixed name).
pub fn throttle_refusal(limit: &'static str) {
    METRICS.throttle_refusals.with_label_values(&[limit]).inc();
}

/// How a refresh ended (see `sessions::Refresh`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    Rotated,
    Raced,
    Reused,
    Invalid,
}

impl RefreshOutcome {
    fn name(self) -> &'static str {
        match self {
            RefreshOutcome::Rotated => "rotated",
            RefreshOutcome::Raced => "raced",
            RefreshOutcome::Reused => "reused",
            RefreshOutcome::Invalid => "invalid",
        }
    }
}

/// Counts one refresh by its outcome.
pub fn refresh(outcome: RefreshOutcome) {
    METRICS.refreshes.with_label_values(&[outcome.name()]).inc();
}

/// What became of one attempt to send a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailOutcome {
    Sent,
    /// An attempt failed; another follows.
    Retried,
    /// The last attempt failed: the mail is lost.
    Failed,
}

/// Counts one send attempt of a mail of `kind` (a fixed name such as
/// `reset-link`).
pub fn mail(kind: &'static str, outcome: MailOutcome) {
    let outcome = match outcome {
        MailOutcome::Sent => "sent",
        MailOutcome::Retried => "retried",
        MailOutcome::Failed => "failed",
    };
    METRICS.mails.with_label_values(&[kind, outcome]).inc();
}

/// A job joined (`1`) or left (`-1`) the password hashing queue.
pub fn hash_queue(change: i64) {
    METRICS.hash_queue.add(change);
}

/// Describes `backend`'s pool in the gauges from now on.
pub fn watch_database(backend: &Backend) {
    if let Ok(mut database) = DATABASE.lock() {
        *database = Some(backend.clone());
    }
}

/// Reads the database pool into its gauges.
fn sample_database() {
    let Some(backend) = DATABASE.lock().ok().and_then(|database| database.clone()) else {
        return;
    };
    let (size, idle, max, writer_busy) = match &backend {
        Backend::Sqlite { pool, writer } => (
            pool.size(),
            pool.num_idle(),
            pool.options().get_max_connections(),
            writer.try_lock().is_err(),
        ),
        Backend::Postgres(pool) => (
            pool.size(),
            pool.num_idle(),
            pool.options().get_max_connections(),
            false,
        ),
    };
    let size = i64::from(size);
    let idle = i64::try_from(idle).unwrap_or(i64::MAX).min(size);
    let connections = &METRICS.pool_connections;
    connections.with_label_values(&["idle"]).set(idle);
    connections.with_label_values(&["in_use"]).set(size - idle);
    METRICS.pool_max.set(i64::from(max));
    METRICS.writer_busy.set(i64::from(writer_busy));
}

/// Every metric in Prometheus' text format, the gauges read now.
pub fn render() -> String {
    sample_database();
    let mut out = Vec::new();
    // Encoding into memory fails only on a malformed metric, which the
    // registry refused already.
    let _ = TextEncoder::new().encode(&METRICS.registry.gather(), &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// The content type of [`render`]'s text.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample `name{labels}` in `text`, if present.
    fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
        let prefix = format!("{name}{{{labels}}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|value| value.trim().parse().ok())
    }

    #[test]
    fn counters_appear_by_their_labels_and_move() {
        let before = render();
        let count = |text: &str, event| {
            sample(
                text,
                "gatepass_auth_events_total",
                &format!("event=\"{event}\""),
            )
            .unwrap_or(0.0)
        };
        auth_event("metrics_test_event");
        auth_event("metrics_test_event");
        refresh(RefreshOutcome::Raced);
        mail("metrics-test", MailOutcome::Failed);
        let after = render();
        assert_eq!(
            count(&after, "metrics_test_event") - count(&before, "metrics_test_event"),
            2.0
        );
        assert!(sample(&after, "gatepass_refreshes_total", "outcome=\"raced\"").unwrap() >= 1.0);
        assert!(
            sample(
                &after,
                "gatepass_mails_total",
                "kind=\"metrics-test\",outcome=\"failed\""
            )
            .unwrap()
                >= 1.0
        );
        assert!(after.contains("# TYPE gatepass_password_hash_queue_depth gauge"));
    }

    #[test]
    fn the_text_is_prometheus_text_format() {
        assert!(CONTENT_TYPE.starts_with("text/plain; version=0.0.4"));
        auth_event("metrics_format_test");
        let text = render();
        assert!(text.contains("# HELP gatepass_auth_events_total "));
        assert!(text.contains("# TYPE gatepass_auth_events_total counter"));
    }
}
