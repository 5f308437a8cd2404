//! The transport: one HTTP request out, its answer read whole, and HTTP
//! failures mapped to `ClientError`. Knows no credentials: the caller hands
//! in the bearer token, if any. The cookie jar rides along (the refresh
//! cookie goes back to `/reauth` by itself); `--verbose` lines come from here.

use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

use cookie_store::CookieStore;
use gatepass_common::{paths, ErrorBody};
use reqwest::{Method, StatusCode, Url};
use reqwest_cookie_store::CookieStoreMutex;
use serde::de::DeserializeOwned;

use crate::error::{ClientError, Result};

use super::ALLOW_HTTP_ENV;

/// A response, read whole. Deliberately not `Debug`: bodies hold tokens.
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) set_cookie: bool,
    pub(super) body: Vec<u8>,
}

impl Reply {
    pub(super) fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ClientError::Protocol(format!(
                "HTTP {} with a body that does not fit the contract ({e})",
                self.status.as_u16()
            ))
        })
    }

    /// The error body of a failed response.
    pub(super) fn error_body(&self) -> Option<ErrorBody> {
        serde_json::from_slice(&self.body).ok()
    }

    fn into_error(self) -> ClientError {
        match self.error_body() {
            Some(body) => ClientError::Server {
                status: self.status.as_u16(),
                body,
            },
            None => ClientError::Protocol(format!(
                "HTTP {} without the JSON error body",
                self.status.as_u16()
            )),
        }
    }

    /// Checks the status (any 2xx when `expected` is `None`).
    pub(super) fn expect(self, expected: Option<StatusCode>) -> Result<Reply> {
        let ok = match expected {
            Some(status) => self.status == status,
            None => self.status.is_success(),
        };
        if ok {
            Ok(self)
        } else if self.status.is_success() {
            Err(ClientError::Protocol(format!(
                "HTTP {} where the contract says {}",
                self.status.as_u16(),
                expected.map(|s| s.as_u16()).unwrap_or(200)
            )))
        } else {
            Err(self.into_error())
        }
    }
}

/// Where `--verbose` sends its lines: one per HTTP request and response,
/// with no secret in them (see `ApiClient::send`).
#[derive(Clone)]
pub struct Trace(Arc<dyn Fn(&str) + Send + Sync>);

impl Trace {
    pub fn new(sink: impl Fn(&str) + Send + Sync + 'static) -> Trace {
        Trace(Arc::new(sink))
    }

    /// Lines to standard error.
    pub fn stderr() -> Trace {
        Trace::new(|line| eprintln!("{line}"))
    }

    fn line(&self, line: &str) {
        (self.0)(line)
    }
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Trace")
    }
}

/// Sends requests to one server, with one cookie jar.
pub(super) struct Transport {
    server: String,
    trace: Option<Trace>,
    http: reqwest::Client,
    cookies: Arc<CookieStoreMutex>,
}

impl Transport {
    /// `server` is normalised already (see `normalize_server`).
    pub(super) fn new(server: String, trace: Option<Trace>) -> Result<Transport> {
        // reqwest is built without a default TLS provider; the first client
        // installs ring (an error only means one is installed already).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let cookies = Arc::new(CookieStoreMutex::new(CookieStore::default()));
        let http = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&cookies))
            .user_agent(concat!("gatepass/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            // An API answer never redirects; following one could carry the
            // bearer token somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientError::Usage(format!("cannot set up HTTP: {e}")))?;
        Ok(Transport {
            server,
            trace,
            http,
            cookies,
        })
    }

    pub(super) fn server(&self) -> &str {
        &self.server
    }

    /// The in-memory cookie jar (the stored session loads and saves it).
    pub(super) fn cookies(&self) -> MutexGuard<'_, CookieStore> {
        // A panic elsewhere while holding the lock leaves the jar usable.
        self.cookies
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sends one request. Transport failures become `Unreachable`; the
    /// message never holds the URL (a reset token can be in it).
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        bearer: Option<&str>,
    ) -> Result<Reply> {
        let url = format!("{}{path}", self.server);
        // What --verbose shows of the request: the method, the URL with a
        // reset token masked, and which secrets go with it, never their values.
        let traced = self.trace.as_ref().map(|trace| {
            let shown = format!("{method} {}{}", self.server, redact_path(path));
            let cookie = Url::parse(&url)
                .is_ok_and(|url| self.cookies().get_request_values(&url).next().is_some());
            let mut with = Vec::new();
            if bearer.is_some() {
                with.push("Authorization: Bearer [redacted]");
            }
            if cookie {
                with.push("Cookie: [redacted]");
            }
            if body.is_some() {
                with.push("JSON body [not shown]");
            }
            let with = if with.is_empty() {
                String::new()
            } else {
                format!("  ({})", with.join(", "))
            };
            trace.line(&format!("> {shown}{with}"));
            (trace, shown, Instant::now())
        });
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let result = async {
            let response = request.send().await?;
            let status = response.status();
            let set_cookie = response.headers().contains_key(reqwest::header::SET_COOKIE);
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>(Reply {
                status,
                set_cookie,
                body: body.to_vec(),
            })
        }
        .await;
        if let Some((trace, shown, started)) = traced {
            let elapsed = started.elapsed().as_millis();
            trace.line(&match &result {
                Ok(reply) => response_line(&shown, reply, elapsed),
                Err(e) => format!("< {shown}  failed after {elapsed} ms: {}", cause_of(e)),
            });
        }
        result.map_err(|e| ClientError::Unreachable {
            server: self.server.clone(),
            detail: cause_of(&e),
        })
    }
}

/// Checks and normalises a server URL: `scheme://host[:port][/prefix]`, no
/// trailing slash, no credentials, query or fragment.
pub fn normalize_server(raw: &str) -> Result<(String, Url)> {
    let usage = |why: &str| ClientError::Usage(format!("invalid server URL {raw:?}: {why}"));
    let url = Url::parse(raw.trim()).map_err(|e| usage(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(usage("use http:// or https://"));
    }
    if url.host_str().is_none() {
        return Err(usage("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(usage("credentials do not belong in the URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(usage("no query or fragment"));
    }
    let normalized = format!(
        "{}{}",
        url.origin().ascii_serialization(),
        url.path().trim_end_matches('/')
    );
    Ok((normalized, url))
}

/// Loopback hosts count as secure contexts (the browsers' and
/// cookie_store's rule): `localhost`, 127.0.0.0/8 and ::1 (also written as
/// the IPv4-mapped `::ffff:127.x.y.z`). Any other name, even one that
/// resolves to a loopback address, is not: where it resolves is up to DNS.
fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    // The URL parser has lower-cased names and normalised IPv4 forms
    // (`2130706433`, `0x7f.1`) to dotted quads already.
    let ip = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.eq_ignore_ascii_case("localhost")
        || ip
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Whether the client may talk to `url`, decided before anything is sent
/// or asked for: https and loopback are fine (`Ok(None)`); plain http to any
/// other host is refused (a usage error) unless `allow_http`, and then
/// comes with a warning to show first (`Ok(Some(warning))`).
pub fn check_plain_http(url: &Url, allow_http: bool) -> Result<Option<String>> {
    if url.scheme() != "http" || is_loopback(url) {
        return Ok(None);
    }
    let host = url.host_str().unwrap_or("");
    if !allow_http {
        return Err(ClientError::Usage(format!(
            "refusing plain http to {host}: passwords and tokens would cross the network \
             unencrypted; use https://, or pass --allow-http (or set {ALLOW_HTTP_ENV}=1) \
             to send them anyway"
        )));
    }
    Ok(Some(format!(
        "warning: plain http to {host} (--allow-http): passwords and tokens cross the \
         network unencrypted, and the refresh cookie (Secure) is never sent back, so every \
         session ends when its access token expires; use https"
    )))
}

/// The `--verbose` line of a response: its status, the request, the time,
/// whether it set a cookie (never its value) and the error code of an error
/// body (never the body).
fn response_line(request: &str, reply: &Reply, elapsed_ms: u128) -> String {
    let status = reply.status;
    let mut line = format!(
        "< {} {}  {request}  {elapsed_ms} ms",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    if reply.set_cookie {
        line.push_str("  (Set-Cookie: [redacted])");
    }
    if !status.is_success() {
        if let Some(body) = reply.error_body() {
            line.push_str(&format!("  code={}", body.code.as_str()));
        }
    }
    line
}

/// A path as `--verbose` shows it: the reset token in
/// `/resetpass/<token>` is as good as a password until it is used.
fn redact_path(path: &str) -> String {
    match path.strip_prefix(paths::RESET_PASSWORD) {
        Some(rest) if rest.starts_with('/') => format!("{}/[redacted]", paths::RESET_PASSWORD),
        _ => path.to_owned(),
    }
}

/// What went wrong with a request that got no answer, in a few words:
/// "connection refused", "timed out", "TLS: invalid peer certificate: …",
/// rather than reqwest's whole chain ("error sending request: client error
/// (Connect): tcp connect error: Connection refused (os error 111)").
pub(super) fn cause_of(error: &reqwest::Error) -> String {
    use std::io::ErrorKind;
    if error.is_timeout() {
        return "timed out".to_owned();
    }
    // reqwest's own line names the URL (a reset token can be in it) and
    // says only "error sending request": its causes tell what happened.
    let mut source = std::error::Error::source(error);
    let mut innermost = if error.is_connect() {
        "cannot connect".to_owned()
    } else if error.is_body() || error.is_decode() {
        "the answer broke off".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut dns = false;
    while let Some(cause) = source {
        // The connector nests io errors (Other(InvalidData(rustls::Error)))
        // and an io::Error's `source` skips the error it wraps: look inside.
        let mut layer = Some(cause);
        while let Some(error) = layer {
            if let Some(tls) = error.downcast_ref::<rustls::Error>() {
                return format!("TLS: {tls}");
            }
            let Some(io) = error.downcast_ref::<std::io::Error>() else {
                break;
            };
            let kind = match io.kind() {
                ErrorKind::ConnectionRefused => Some("connection refused"),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => {
                    Some("connection reset")
                }
                ErrorKind::TimedOut => Some("timed out"),
                ErrorKind::UnexpectedEof => Some("connection closed early"),
                _ => None,
            };
            if let Some(kind) = kind {
                return kind.to_owned();
            }
            layer = io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static));
        }
        innermost = cause.to_string();
        dns |= innermost.starts_with("dns error");
        source = cause.source();
    }
    // "Connection refused (os error 111)": the number tells a person nothing.
    let innermost = match innermost.rfind(" (os error ") {
        Some(at) if innermost.ends_with(')') => innermost[..at].to_owned(),
        _ => innermost,
    };
    if dns {
        let reason = innermost
            .trim_start_matches("failed to lookup address information: ")
            .to_owned();
        format!("host name not found: {reason}")
    } else {
        innermost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_normalised() {
        let (s, _) = normalize_server("http://127.0.0.1:8000/").unwrap();
        assert_eq!(s, "http://127.0.0.1:8000");
        let (s, _) = normalize_server("https://Auth.Example.com:443/gp/").unwrap();
        assert_eq!(s, "https://auth.example.com/gp");
        let (s, _) = normalize_server(" http://[::1]:9000 ").unwrap();
        assert_eq!(s, "http://[::1]:9000");
        for bad in [
            "127.0.0.1:8000",
            "ftp://x",
            "http://user:pw@x",
            "http://x/?a=b",
            "",
        ] {
            let err = normalize_server(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for (url, loopback) in [
            ("http://127.0.0.1:1", true),
            ("http://localhost:1", true),
            ("http://[::1]:1", true),
            ("http://10.0.0.1:1", false),
            ("http://example.com", false),
            ("http://LOCALHOST:1", true),
            ("http://127.8.9.10", true),
            ("http://2130706433", true),
            ("http://[::ffff:127.0.0.1]", true),
            ("http://[::2]", false),
            ("http://0.0.0.0", false),
            ("http://128.0.0.1", false),
            // Names are not resolved: only `localhost` itself counts.
            ("http://localhost.example.com", false),
            ("http://127.0.0.1.nip.io", false),
        ] {
            assert_eq!(is_loopback(&Url::parse(url).unwrap()), loopback, "{url}");
        }
    }

    #[test]
    fn plain_http_to_another_host_needs_the_opt_in() {
        let check = |url: &str, allow: bool| check_plain_http(&Url::parse(url).unwrap(), allow);
        for url in [
            "https://auth.example.com",
            "https://192.0.2.1",
            "http://127.0.0.1:8000",
            "http://localhost:8000",
            "http://[::1]:8000",
        ] {
            for allow in [false, true] {
                assert!(check(url, allow).unwrap().is_none(), "{url} {allow}");
            }
        }
        for url in [
            "http://auth.example.com",
            "http://192.0.2.1:9",
            "http://[2001:db8::1]",
        ] {
            let refused = check(url, false).unwrap_err();
            assert_eq!(refused.exit_code(), 2, "{url}");
            let message = refused.to_string();
            assert!(message.starts_with("refusing plain http"), "{message}");
            assert!(message.contains("--allow-http"), "{message}");
            assert!(message.contains(ALLOW_HTTP_ENV), "{message}");
            let warning = check(url, true).unwrap().expect("a warning");
            assert!(warning.contains("unencrypted"), "{warning}");
        }
    }

    #[test]
    fn verbose_paths_mask_the_reset_token() {
        assert_eq!(
            redact_path(&paths::reset_password("s3cr3t-token")),
            "/api/users/resetpass/[redacted]"
        );
        assert_eq!(redact_path(paths::ME), paths::ME);
        assert_eq!(redact_path(&paths::user("abc")), paths::user("abc"));
    }

    #[tokio::test]
    async fn a_plain_http_server_behind_https_is_a_tls_error() {
        // A server that answers a TLS hello with plain HTTP.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut hello = [0u8; 512];
            let _ = socket.read(&mut hello).await;
            let _ = socket
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        });
        let _ = rustls::crypto::ring::default_provider().install_default();
        let error = reqwest::Client::new()
            .get(format!("https://127.0.0.1:{port}/x"))
            .send()
            .await
            .unwrap_err();
        let cause = cause_of(&error);
        assert!(cause.starts_with("TLS: "), "{cause}");
        assert!(!cause.contains('\n'), "{cause}");
        server.await.unwrap();
    }

    #[test]
    fn a_response_line_shows_the_status_time_and_error_code_only() {
        let refused = Reply {
            status: StatusCode::BAD_REQUEST,
            set_cookie: true,
            body: br#"{"error":"Bad","code":"invalid_credentials","feedback":"secret words","errors":[]}"#
                .to_vec(),
        };
        assert_eq!(
            response_line("POST http://h/api/users/login", &refused, 7),
            "< 400 Bad Request  POST http://h/api/users/login  7 ms  \
             (Set-Cookie: [redacted])  code=invalid_credentials"
        );
        let ok = Reply {
            status: StatusCode::OK,
            set_cookie: false,
            body: br#"{"accessToken":"eyJ.secret"}"#.to_vec(),
        };
        assert_eq!(
            response_line("GET http://h/api/users/me", &ok, 1),
            "< 200 OK  GET http://h/api/users/me  1 ms"
        );
    }
}
