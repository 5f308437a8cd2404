//! The server's log: one line per request (method, path, status, time) and
//! whatever Rocket and gatepass report, all through one logger that redacts.
//!
//! Our logger is installed before Rocket's, so Rocket's records pass through
//! it too. Rocket's own per-request chatter (which prints the full request
//! line, reset token and all) is dropped in favour of our request line; every
//! message is passed through [`redact_path`] on its way out as a last guard.

use std::io::Write;
use std::time::Instant;

use log::{Level, LevelFilter, Log, Metadata, Record};
use rocket::fairing::{Fairing, Info, Kind};
use rocket::{Data, Request, Response};

struct ServerLogger {
    level: LevelFilter,
}

impl Log for ServerLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let target = metadata.target();
        if target.starts_with("gatepass") {
            return metadata.level() <= self.level;
        }
        // Rocket's launch banner is useful; its per-request lines (target "_"
        // and rocket::server at info) repeat what the request line says and
        // print whole URIs. Everything else from libraries: warnings and up.
        if target.starts_with("rocket::launch") {
            return metadata.level() <= Level::Info && self.level >= LevelFilter::Info;
        }
        metadata.level() <= Level::Warn && metadata.level() <= self.level
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let message = redact_path(&record.args().to_string()).into_owned();
        let target = match record.target() {
            "_" => "rocket",
            t => t,
        };
        let line = format!("{now} {:<5} {target}: {message}\n", record.level());
        // A log that cannot be written is not worth failing a request over.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

/// Installs the logger; `GATEPASS_LOG` (error|warn|info|debug) sets the level.
pub fn init() {
    let level = std::env::var("GATEPASS_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(LevelFilter::Info);
    if log::set_boxed_logger(Box::new(ServerLogger { level })).is_ok() {
        log::set_max_level(level);
    }
}

/// Hides path segments that are secrets: the token of
/// `/api/users/resetpass/<token>`.
pub fn redact_path(text: &str) -> std::borrow::Cow<'_, str> {
    const MARKER: &str = "resetpass/";
    if !text.contains(MARKER) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(MARKER) {
        let (before, after) = rest.split_at(at + MARKER.len());
        out.push_str(before);
        let end = after
            .find(|c: char| c.is_whitespace() || matches!(c, '?' | '/' | '"' | '\'' | ')' | ':'))
            .unwrap_or(after.len());
        if end > 0 {
            out.push_str("<redacted>");
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out.into()
}

/// Logs one line per request: method, path (redacted, never the query),
/// status and time taken.
pub struct RequestLog;

#[derive(Clone, Copy)]
struct Started(Instant);

#[rocket::async_trait]
impl Fairing for RequestLog {
    fn info(&self) -> Info {
        Info {
            name: "Request log",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, request: &mut Request<'_>, _: &mut Data<'_>) {
        request.local_cache(|| Started(Instant::now()));
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let elapsed = request.local_cache(|| Started(Instant::now())).0.elapsed();
        log::info!(
            target: "gatepass::request",
            "{} {} {} {:.1}ms",
            request.method(),
            redact_path(request.uri().path().as_str()),
            response.status().code,
            elapsed.as_secs_f64() * 1000.0
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_tokens_are_redacted() {
        assert_eq!(
            redact_path("PATCH /api/users/resetpass/abc-DEF_123 200"),
            "PATCH /api/users/resetpass/<redacted> 200"
        );
        assert_eq!(
            redact_path("/api/users/resetpass/tok?x=1 and resetpass/other"),
            "/api/users/resetpass/<redacted>?x=1 and resetpass/<redacted>"
        );
        assert_eq!(
            redact_path("GET /api/users/me 200"),
            "GET /api/users/me 200"
        );
        // Idempotent: a line redacted twice reads the same.
        let once = redact_path("PATCH /api/users/resetpass/tok 400").into_owned();
        assert_eq!(redact_path(&once), once);
        assert_eq!(
            redact_path("PATCH /api/users/resetpass/<token>"),
            "PATCH /api/users/resetpass/<redacted>"
        );
    }
}
