//! The server's log: one line per request (method, path, status, time) and
//! whatever Rocket and gatepass report, all through one logger that redacts.
//!
//! Our logger is installed before Rocket's, so Rocket's records pass through
//! it too. Rocket's own per-request chatter (which prints the full request
//! line, reset token and all) is dropped in favour of our request line, and
//! what its warnings would echo of a request is cut off (see
//! [`without_request_values`]); every message is passed through
//! [`redact_path`] on its way out as a last guard. No request value (a body
//! field, a query, a token) is ever logged.

use std::borrow::Cow;
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
        let message = record.args().to_string();
        let message = if record.target().starts_with("gatepass::") {
            message.into()
        } else {
            without_request_values(&message)
        };
        let message = redact_path(&message);
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

/// Installs the logger at the level `GATEPASS_LOG` names (`info` if unset).
/// A value that names no level is refused (and `info` installed, so the
/// caller can log the refusal): a typo must not silently change what an
/// operator sees.
pub fn init() -> Result<(), String> {
    let level = std::env::var("GATEPASS_LOG").ok().map(|l| parse_level(&l));
    let installed = match &level {
        Some(Ok(level)) => *level,
        _ => LevelFilter::Info,
    };
    if log::set_boxed_logger(Box::new(ServerLogger { level: installed })).is_ok() {
        log::set_max_level(installed);
    }
    match level {
        Some(Err(e)) => Err(format!("GATEPASS_LOG: {e}")),
        _ => Ok(()),
    }
}

/// `error`, `warn`, `info` or `debug`, in any case.
fn parse_level(text: &str) -> Result<LevelFilter, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "error" => Ok(LevelFilter::Error),
        "warn" => Ok(LevelFilter::Warn),
        "info" => Ok(LevelFilter::Info),
        "debug" => Ok(LevelFilter::Debug),
        _ => Err(format!(
            "must be error, warn, info or debug (got {:?})",
            text.escape_debug().to_string()
        )),
    }
}

/// Rocket's messages that end in something a request carried, and what is
/// kept of them: the request's URI (query included) and method as sent.
const ECHOES: &[(&str, &str)] = &[
    ("No matching routes for ", "No matching routes."),
    (
        "Dispatching salvaged request to catcher: ",
        "Dispatching salvaged request to catcher.",
    ),
    ("Error: invalid origin URI: ", "Error: invalid origin URI."),
    (
        "Error: invalid or unrecognized method: ",
        "Error: invalid or unrecognized method.",
    ),
];

/// Rocket's guards report their failure with the error's `Debug`
/// (`Data guard `ApiJson < LoginRequest >` failed: Validation([.. "invalid
/// type: integer `12345678`" ..])`), which may hold a parsed body value such
/// as a password sent as a number: only the guard and its verdict are kept.
/// Messages that echo the request line are cut to their first words (our
/// request line says which request it was, redacted and without its query).
fn without_request_values(message: &str) -> Cow<'_, str> {
    for guard in ["Data guard `", "Request guard `", "Parameter guard `"] {
        let Some(rest) = message.strip_prefix(guard) else {
            continue;
        };
        let Some((name, verdict)) = rest.split_once('`') else {
            return guard.trim_end_matches(" `").into();
        };
        // " failed: <error>." or " is forwarding: <error>." or " is forwarding."
        let verdict = verdict.split(':').next().unwrap_or_default();
        return format!("{guard}{name}`{}.", verdict.trim_end_matches('.')).into();
    }
    for (echo, kept) in ECHOES {
        if message.starts_with(echo) {
            return (*kept).into();
        }
    }
    message.into()
}

/// Hides path segments that are secrets: the token of
/// `/api/users/resetpass/<token>`.
///
/// The marker is looked for as Rocket routes a path, percent-decoded
/// (`%72esetpass/<token>` reaches the reset handler too; a doubly encoded one
/// is decoded again), and in any case (a near miss still carries a token).
/// The text is otherwise left as written, still encoded, so that a decoded
/// newline cannot forge a log line.
pub fn redact_path(text: &str) -> Cow<'_, str> {
    const MARKER: &[u8] = b"resetpass/";
    let (decoded, starts) = decoded_with_offsets(text);
    let mut out = String::new();
    let mut copied = 0; // how much of `text` is in `out`
    let mut from = 0; // where in `decoded` to look next
    while let Some(at) = decoded[from..]
        .windows(MARKER.len())
        .position(|w| w.eq_ignore_ascii_case(MARKER))
    {
        let after_marker = from + at + MARKER.len();
        from = after_marker;
        // The marker ends in an ASCII `/` (or `%2F`), so this is a character
        // boundary of `text`.
        let token = starts.get(after_marker).copied().unwrap_or(text.len());
        if token < copied {
            continue; // inside a token already redacted
        }
        let end = text[token..]
            .find(|c: char| c.is_whitespace() || matches!(c, '?' | '/' | '"' | '\'' | ')' | ':'))
            .map_or(text.len(), |end| token + end);
        if end > token {
            out.push_str(&text[copied..token]);
            out.push_str("<redacted>");
            copied = end;
        }
    }
    if copied == 0 {
        return text.into();
    }
    out.push_str(&text[copied..]);
    out.into()
}

/// `text` percent-decoded (up to three times over), with, for each decoded
/// byte, where in `text` it starts.
fn decoded_with_offsets(text: &str) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = text.as_bytes().to_vec();
    let mut starts: Vec<usize> = (0..bytes.len()).collect();
    for _ in 0..3 {
        let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
        let (mut next, mut next_starts) = (Vec::new(), Vec::new());
        let mut i = 0;
        while i < bytes.len() {
            next_starts.push(starts[i]);
            match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                (b'%', Some(high), Some(low)) => {
                    next.push((high * 16 + low) as u8);
                    i += 3;
                }
                (byte, _, _) => {
                    next.push(byte);
                    i += 1;
                }
            }
        }
        let unchanged = next.len() == bytes.len();
        (bytes, starts) = (next, next_starts);
        if unchanged {
            break;
        }
    }
    (bytes, starts)
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

    #[test]
    fn reset_tokens_are_redacted_on_the_path_as_decoded() {
        for (raw, redacted) in [
            // Rocket routes this one to the reset handler.
            (
                "PATCH /api/users/%72esetpass/tok 400",
                "PATCH /api/users/%72esetpass/<redacted> 400",
            ),
            (
                "/api/users/reset%70ass/tok?x=1",
                "/api/users/reset%70ass/<redacted>?x=1",
            ),
            // Near misses carry a token all the same.
            (
                "/api/users/RESETPASS/tok",
                "/api/users/RESETPASS/<redacted>",
            ),
            (
                "/api/users/resetpass%2Ftok",
                "/api/users/resetpass%2F<redacted>",
            ),
            (
                "/api/users/resetpass%2ftok/x",
                "/api/users/resetpass%2f<redacted>/x",
            ),
            (
                "/api/users/%2572esetpass/tok",
                "/api/users/%2572esetpass/<redacted>",
            ),
            ("é %72esetpass/tök é", "é %72esetpass/<redacted> é"),
            ("/%zz/resetpass/tok%", "/%zz/resetpass/<redacted>"),
        ] {
            assert_eq!(redact_path(raw), redacted, "{raw}");
            assert_eq!(redact_path(redacted), redacted, "idempotent: {redacted}");
        }
        // Left as written: a decoded newline would forge a line.
        assert_eq!(redact_path("GET /a%0Ab 404"), "GET /a%0Ab 404");
        assert_eq!(redact_path("%"), "%");
    }

    #[test]
    fn rocket_never_logs_what_a_request_carried() {
        let guard = "Data guard `ApiJson < LoginRequest >` failed: Validation([FieldError { \
                     param: \"body\", msg: \"invalid type: integer `12345678`, expected a \
                     string\", location: \"body\" }]).";
        assert_eq!(
            without_request_values(guard),
            "Data guard `ApiJson < LoginRequest >` failed."
        );
        assert_eq!(
            without_request_values("Request guard `AuthUser` failed: InvalidAccessToken."),
            "Request guard `AuthUser` failed."
        );
        assert_eq!(
            without_request_values("Parameter guard `id: Uuid` is forwarding: Error(\"x\")."),
            "Parameter guard `id: Uuid` is forwarding."
        );
        assert_eq!(
            without_request_values("Request guard `ClientInfo` is forwarding."),
            "Request guard `ClientInfo` is forwarding."
        );
        assert_eq!(
            without_request_values("No matching routes for GET /x?password=hunter2."),
            "No matching routes."
        );
        assert_eq!(
            without_request_values("Error: invalid origin URI: /x?token=abc."),
            "Error: invalid origin URI."
        );
        let other = "Remote left: client disconnect before response started.";
        assert_eq!(without_request_values(other), other);
    }
}
