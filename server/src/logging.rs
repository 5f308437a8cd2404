//! The server's log: one line per request (method, path, status, time,
//! request id) and whatever Rocket and gatepass report, all through one
//! `tracing` subscriber that filters (`GATEPASS_LOG`, per target), formats
//! (`GATEPASS_LOG_FORMAT`: text or JSON lines) and redacts.
//!
//! Rocket and most of gatepass log through the `log` crate; tracing-log's
//! `LogTracer` is installed before Rocket's logger, so their records become
//! tracing events and pass through here too. Rocket's own per-request
//! chatter (which prints the full request line, reset token and all) is
//! dropped whatever the filter says (see [`allowed`]) in favour of our
//! request line, and what its warnings would echo of a request is cut off
//! (see [`without_request_values`]); every message and field is passed
//! through [`redact_path`] on its way out as a last guard. No request value
//! (a body field, a query, a token) is ever logged, and a request id is
//! taken from the request only from a trusted proxy, and only when it is
//! well formed ([`choose_request_id`]).

use std::borrow::Cow;
use std::io::Write;
use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Data, Request, Response};
use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_log::{AsLog, NormalizeEvent};
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// How each line is written (`GATEPASS_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `2026-01-02T03:04:05Z INFO  gatepass::request: GET /health 200 0.1ms request_id=…`
    Text,
    /// One JSON object per line: `time`, `level`, `target`, `message` and
    /// `fields` (an object of the event's other fields).
    Json,
}

/// Installs the log: the filter `GATEPASS_LOG` names (`info` if unset) in
/// the format `GATEPASS_LOG_FORMAT` names (`text` if unset), and the bridge
/// from the `log` crate. A value that is not understood is refused (and the
/// default installed, so the caller can log the refusal): a typo must not
/// silently change what an operator sees.
pub fn init() -> Result<(), String> {
    let filter = std::env::var("GATEPASS_LOG").ok().map(|f| parse_filter(&f));
    let format = std::env::var("GATEPASS_LOG_FORMAT")
        .ok()
        .map(|f| parse_format(&f));
    let directives = match &filter {
        Some(Ok(directives)) => directives.as_str(),
        _ => "info",
    };
    let env_filter = EnvFilter::builder()
        .parse(directives)
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let output = Output {
        format: match format {
            Some(Ok(format)) => format,
            _ => Format::Text,
        },
    };
    let subscriber = tracing_subscriber::registry().with(env_filter).with(output);
    if tracing::subscriber::set_global_default(subscriber).is_ok() {
        // Before Rocket's logger, which then finds the place taken.
        let _ = tracing_log::LogTracer::builder()
            .with_max_level(LevelFilter::current().as_log())
            .init();
    }
    match (filter, format) {
        (Some(Err(e)), _) => Err(format!("GATEPASS_LOG: {e}")),
        (_, Some(Err(e))) => Err(format!("GATEPASS_LOG_FORMAT: {e}")),
        _ => Ok(()),
    }
}

/// `text` or `json`, in any case.
pub fn parse_format(text: &str) -> Result<Format, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "text" => Ok(Format::Text),
        "json" => Ok(Format::Json),
        _ => Err(format!(
            "must be text or json (got {:?})",
            text.escape_debug().to_string()
        )),
    }
}

/// A level (`error`, `warn`, `info`, `debug`, `trace` or `off`, in any
/// case), or a comma-separated list of directives, each a level (the
/// default) or `TARGET=LEVEL`: `info,gatepass::audit=warn`. The directives
/// as EnvFilter reads them, levels in lower case. Only these forms: EnvFilter
/// would read a misspelt level (`verbose`) as a target and log nothing.
pub fn parse_filter(text: &str) -> Result<String, String> {
    let refused = || {
        format!(
            "must be a level (error, warn, info, debug, trace or off) or a comma-separated list \
             of a level and TARGET=LEVEL directives, such as `info,gatepass::audit=warn` (got {:?})",
            text.escape_debug().to_string()
        )
    };
    let mut directives = Vec::new();
    for directive in text.split(',').map(str::trim) {
        if directive.is_empty() {
            continue;
        }
        let (target, level) = match directive.split_once('=') {
            Some((target, level)) => (Some(target.trim()), level.trim()),
            None => (None, directive),
        };
        let level = level.to_ascii_lowercase();
        if !["error", "warn", "info", "debug", "trace", "off"].contains(&level.as_str()) {
            return Err(refused());
        }
        directives.push(match target {
            None => level,
            Some(target)
                if !target.is_empty()
                    && target
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-')) =>
            {
                format!("{target}={level}")
            }
            Some(_) => return Err(refused()),
        });
    }
    if directives.is_empty() {
        return Err(refused());
    }
    Ok(directives.join(","))
}

/// What may be logged at all, whatever `GATEPASS_LOG` says: gatepass's own
/// events at any level; Rocket's launch banner at info; everything else from
/// libraries at warn and up. Rocket's per-request lines (target `_`, and
/// `rocket::server` at info) repeat what the request line says and print
/// whole URIs, queries included.
fn allowed(metadata: &Metadata<'_>) -> bool {
    let target = metadata.target();
    if target.starts_with("gatepass") {
        return true;
    }
    if target.starts_with("rocket::launch") {
        return *metadata.level() <= Level::INFO;
    }
    *metadata.level() <= Level::WARN
}

/// Writes each event that [`allowed`] and the filter let through as one
/// line on stderr.
struct Output {
    format: Format,
}

impl<S: Subscriber> Layer<S> for Output {
    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        allowed(metadata)
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        // A record from the `log` crate arrives under tracing-log's callsite:
        // its own target and level are in the normalized metadata.
        let normalized = event.normalized_metadata();
        let metadata = normalized.as_ref().unwrap_or_else(|| event.metadata());
        if !allowed(metadata) {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let line = render(
            self.format,
            &now,
            *metadata.level(),
            metadata.target(),
            &fields.message,
            fields.others,
        );
        // A log that cannot be written is not worth failing a request over.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// An event's message and other fields, tracing-log's own (`log.target`,
/// `log.file`, ...) left out.
#[derive(Default)]
struct Fields {
    message: String,
    others: Vec<(&'static str, Value)>,
}

impl Fields {
    fn add(&mut self, field: &Field, value: Value) {
        if !field.name().starts_with("log.") {
            self.others.push((field.name(), value));
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.add(field, Value::String(format!("{value:?}")));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.add(field, Value::String(value.to_owned()));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.add(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.add(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.add(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.add(field, value.into());
    }
}

/// One line, newline included. The message and every string field are
/// redacted ([`redact_path`]); a library's message loses what it echoed of a
/// request ([`without_request_values`]).
fn render(
    format: Format,
    time: &str,
    level: Level,
    target: &str,
    message: &str,
    fields: Vec<(&'static str, Value)>,
) -> String {
    // `gatepass_server::...` is Rocket speaking in our routes' code.
    let message = if target.starts_with("gatepass::") {
        message.into()
    } else {
        without_request_values(message)
    };
    let message = redact_path(&message).into_owned();
    let target = match target {
        "_" => "rocket",
        t => t,
    };
    let fields = fields.into_iter().map(|(name, value)| match value {
        Value::String(text) => (name, Value::String(redact_path(&text).into_owned())),
        other => (name, other),
    });
    match format {
        Format::Text => {
            // One record, one line: a line break in a message is written
            // escaped, so that it cannot start a forged line.
            let mut line = format!(
                "{time} {:<5} {target}: {}",
                level.as_str(),
                message.replace('\n', "\\n").replace('\r', "\\r")
            );
            for (name, value) in fields {
                line.push(' ');
                line.push_str(name);
                line.push('=');
                match value {
                    Value::String(text) if plain(&text) => line.push_str(&text),
                    Value::String(text) => line.push_str(&format!("{text:?}")),
                    other => line.push_str(&other.to_string()),
                }
            }
            line.push('\n');
            line
        }
        Format::Json => {
            let fields: serde_json::Map<String, Value> = fields
                .map(|(name, value)| (name.to_owned(), value))
                .collect();
            let string = |text: &str| Value::String(text.to_owned()).to_string();
            format!(
                "{{\"time\":{},\"level\":{},\"target\":{},\"message\":{},\"fields\":{}}}\n",
                string(time),
                string(level.as_str()),
                string(target),
                string(&message),
                Value::Object(fields)
            )
        }
    }
}

/// A field value that reads unambiguously unquoted in a text line.
fn plain(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '"' | '=' | '\\'))
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
/// status, time taken and the request id, which the response carries too as
/// `X-Request-Id`.
pub struct RequestLog {
    /// Whether a trusted proxy is configured (`GATEPASS_TRUSTED_PROXY_HEADER`):
    /// only then is an incoming `X-Request-Id` the proxy's, not the client's.
    pub trust_incoming_id: bool,
}

/// The header that carries the request id, both ways.
pub const REQUEST_ID_HEADER: &str = "X-Request-Id";

struct Started {
    at: Instant,
    id: String,
}

/// The request id: the incoming one when it is trusted (a proxy is
/// configured), sent once and well formed (at most 64 of `A-Z a-z 0-9 . _
/// -`); otherwise a new random one (a UUID). A client's own id is never
/// taken: it would be a way to write into the log.
pub fn choose_request_id<'h>(trusted: bool, mut incoming: impl Iterator<Item = &'h str>) -> String {
    if trusted {
        if let (Some(id), None) = (incoming.next(), incoming.next()) {
            if well_formed_request_id(id) {
                return id.to_owned();
            }
        }
    }
    uuid::Uuid::new_v4().to_string()
}

fn well_formed_request_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl RequestLog {
    fn started<'r>(&self, request: &'r Request<'_>) -> &'r Started {
        request.local_cache(|| Started {
            at: Instant::now(),
            id: choose_request_id(
                self.trust_incoming_id,
                request.headers().get(REQUEST_ID_HEADER),
            ),
        })
    }
}

/// The id of `request`, for the other lines it causes (an audit event, an
/// internal error) to carry as the request line does. `RequestLog` chose it
/// before any handler ran; without that fairing (a unit test's instance) a
/// fresh one is made here.
pub fn request_id<'r>(request: &'r Request<'_>) -> &'r str {
    &request
        .local_cache(|| Started {
            at: Instant::now(),
            id: choose_request_id(false, std::iter::empty()),
        })
        .id
}

#[rocket::async_trait]
impl Fairing for RequestLog {
    fn info(&self) -> Info {
        Info {
            name: "Request log",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, request: &mut Request<'_>, _: &mut Data<'_>) {
        self.started(request);
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let started = self.started(request);
        response.set_header(Header::new(REQUEST_ID_HEADER, started.id.clone()));
        tracing::info!(
            target: "gatepass::request",
            request_id = started.id.as_str(),
            "{} {} {} {:.1}ms",
            request.method(),
            redact_path(request.uri().path().as_str()),
            response.status().code,
            started.at.elapsed().as_secs_f64() * 1000.0
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_levels_or_target_directives() {
        assert_eq!(parse_filter("info").unwrap(), "info");
        assert_eq!(parse_filter(" DEBUG ").unwrap(), "debug");
        assert_eq!(
            parse_filter("info, gatepass::audit=WARN,sqlx=off").unwrap(),
            "info,gatepass::audit=warn,sqlx=off"
        );
        assert_eq!(parse_filter("gatepass=trace").unwrap(), "gatepass=trace");
        for refused in [
            "",
            " , ",
            "verbose",
            "infoo",
            "info,gatepass",
            "=info",
            "gatepass=loud",
            "gatepass[span]=info",
            "gatepass{x=1}=info",
            "a b=info",
            "info,x=debug=1",
        ] {
            let e = parse_filter(refused).unwrap_err();
            assert!(e.contains("TARGET=LEVEL"), "{refused:?}: {e}");
        }
        // Each one accepted is one EnvFilter reads.
        EnvFilter::builder()
            .parse(parse_filter("warn,gatepass::request=info").unwrap())
            .unwrap();
    }

    #[test]
    fn formats_are_text_or_json() {
        assert_eq!(parse_format("text"), Ok(Format::Text));
        assert_eq!(parse_format(" JSON "), Ok(Format::Json));
        assert!(parse_format("logfmt").unwrap_err().contains("text or json"));
    }

    #[test]
    fn libraries_log_warnings_and_rockets_banner_only() {
        use tracing::callsite::Identifier;
        use tracing::field::FieldSet;
        use tracing::metadata::Kind as MetaKind;
        struct Site;
        impl tracing::Callsite for Site {
            fn set_interest(&self, _: tracing::subscriber::Interest) {}
            fn metadata(&self) -> &Metadata<'_> {
                unreachable!()
            }
        }
        static SITE: Site = Site;
        let meta = |target: &'static str, level: Level| {
            Metadata::new(
                "event",
                target,
                level,
                None,
                None,
                None,
                FieldSet::new(&[], Identifier(&SITE)),
                MetaKind::EVENT,
            )
        };
        assert!(allowed(&meta("gatepass::request", Level::INFO)));
        assert!(allowed(&meta("gatepass::store", Level::TRACE)));
        assert!(allowed(&meta("rocket::launch", Level::INFO)));
        assert!(allowed(&meta("rocket::launch::_", Level::INFO)));
        assert!(!allowed(&meta("rocket::launch", Level::DEBUG)));
        // Rocket's request lines print the whole URI, query and all.
        assert!(!allowed(&meta("_", Level::INFO)));
        assert!(!allowed(&meta("rocket::server", Level::INFO)));
        assert!(!allowed(&meta("sqlx::query", Level::INFO)));
        assert!(allowed(&meta("rocket::server", Level::WARN)));
        assert!(allowed(&meta("hyper", Level::ERROR)));
    }

    #[test]
    fn a_json_line_is_one_object_with_time_level_target_message_fields() {
        let line = render(
            Format::Json,
            "2026-01-02T03:04:05Z",
            Level::INFO,
            "gatepass::request",
            "PATCH /api/users/resetpass/tok 400 1.0ms",
            vec![
                ("request_id", Value::from("abc-1")),
                ("status", Value::from(400)),
                ("echo", Value::from("resetpass/tok\n\"forged\"")),
            ],
        );
        assert!(line.ends_with('\n'));
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        let object: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            object,
            serde_json::json!({
                "time": "2026-01-02T03:04:05Z",
                "level": "INFO",
                "target": "gatepass::request",
                "message": "PATCH /api/users/resetpass/<redacted> 400 1.0ms",
                "fields": {
                    "request_id": "abc-1",
                    "status": 400,
                    "echo": "resetpass/<redacted>\n\"forged\"",
                },
            })
        );
        // In that order, as a reader expects them.
        assert!(
            line.starts_with("{\"time\":\"2026-01-02T03:04:05Z\",\"level\":\"INFO\",\"target\":")
        );
        // A library's message loses what it echoed of a request; `_` is Rocket.
        let line = render(
            Format::Json,
            "t",
            Level::ERROR,
            "_",
            "No matching routes for GET /x?password=hunter2.",
            vec![],
        );
        let object: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(object["message"], "No matching routes.");
        assert_eq!(object["target"], "rocket");
        assert_eq!(object["fields"], serde_json::json!({}));
        // Rocket's guard failures come under our routes' module path.
        let line = render(
            Format::Text,
            "t",
            Level::WARN,
            "gatepass_server::routes::users::_",
            "Data guard `ApiJson < LoginRequest >` failed: Validation([\"31415926535\"]).",
            vec![],
        );
        assert!(!line.contains("31415926535"), "{line}");
    }

    #[test]
    fn a_text_line_is_one_line_with_its_fields() {
        let line = render(
            Format::Text,
            "2026-01-02T03:04:05Z",
            Level::INFO,
            "gatepass::request",
            "GET /api/users/me 200 0.5ms",
            vec![("request_id", Value::from("abc-1"))],
        );
        assert_eq!(
            line,
            "2026-01-02T03:04:05Z INFO  gatepass::request: GET /api/users/me 200 0.5ms request_id=abc-1\n"
        );
        let line = render(
            Format::Text,
            "t",
            Level::WARN,
            "gatepass::x",
            "two\nlines",
            vec![("note", Value::from("a b")), ("n", Value::from(3))],
        );
        assert_eq!(line, "t WARN  gatepass::x: two\\nlines note=\"a b\" n=3\n");
    }

    #[test]
    fn an_incoming_request_id_is_taken_only_from_a_trusted_proxy_and_well_formed() {
        let fresh = |id: &str| uuid::Uuid::parse_str(id).is_ok();
        assert_eq!(
            choose_request_id(true, ["abc-1.X_y"].into_iter()),
            "abc-1.X_y"
        );
        let longest = "a".repeat(64);
        assert_eq!(
            choose_request_id(true, [longest.as_str()].into_iter()),
            longest
        );
        // Without a trusted proxy, the client's own is never taken.
        assert!(fresh(&choose_request_id(false, ["abc-1"].into_iter())));
        assert!(fresh(&choose_request_id(true, std::iter::empty())));
        let too_long = "a".repeat(65);
        for malformed in [
            "",
            too_long.as_str(),
            "abc\ndef",
            "abc def",
            "a\u{7f}",
            "é",
            "a/b",
            "a=b",
            "\"x\"",
        ] {
            let id = choose_request_id(true, [malformed].into_iter());
            assert!(fresh(&id), "{malformed:?} -> {id:?}");
        }
        // Two ids (a client's beside the proxy's) name none.
        assert!(fresh(&choose_request_id(true, ["a", "b"].into_iter())));
        // Fresh ones differ.
        assert_ne!(
            choose_request_id(false, std::iter::empty()),
            choose_request_id(false, std::iter::empty())
        );
    }

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
