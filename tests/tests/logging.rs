//! The log as operators read it (issue 20): with `GATEPASS_LOG_FORMAT=json`
//! every line is one JSON object, no secret a request carried is in any; each
//! request line and its response carry the same request id, which a client
//! cannot choose and a trusted proxy can, when it is well formed.

use std::time::Duration;

use gatepass_tests::cli::settled_log;
use gatepass_tests::http::RequestSpec;
use gatepass_tests::{unique_email, Api, Reply, Server, SmtpSink, PASSWORD};
use reqwest::Method;
use serde_json::Value;

const MAIL_WAIT: Duration = Duration::from_secs(20);
const NEW_PASSWORD: &str = "N3w-horse-battery-staple!";

async fn get_with_request_id(api: &Api, path: &str, id: &str) -> Reply {
    api.send(RequestSpec {
        method: Method::GET,
        path,
        body: None,
        bearer: None,
        refresh: None,
        headers: vec![("X-Request-Id", id.to_owned())],
    })
    .await
}

/// The id the response carries: one, and well formed.
fn response_id(reply: &Reply) -> String {
    let id = reply
        .header("x-request-id")
        .unwrap_or_else(|| panic!("no X-Request-Id in {:?}", reply.headers))
        .to_owned();
    assert!(
        (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
        "{id:?}"
    );
    id
}

/// Every line of the log as a JSON object with the four strings and the
/// fields object; panics on any other line.
fn json_lines(log: &str) -> Vec<Value> {
    log.lines()
        .map(|line| {
            let object: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            for key in ["time", "level", "target", "message"] {
                assert!(object[key].is_string(), "{key} in {line}");
            }
            assert!(object["fields"].is_object(), "fields in {line}");
            object
        })
        .collect()
}

/// The request lines that carry `id`.
fn request_lines_with<'a>(lines: &'a [Value], id: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|line| line["target"] == "gatepass::request" && line["fields"]["request_id"] == id)
        .collect()
}

#[tokio::test]
async fn json_lines_carry_the_request_id_and_no_secret() {
    let sink = SmtpSink::start();
    let server = Server::builder()
        .smtp(&sink)
        .env("GATEPASS_LOG_FORMAT", "json")
        .start();
    let api = server.api();

    // Secrets of every kind, each sent the ways a client sends them.
    let email = unique_email("json-log");
    let signed_in = api.signup(&email).await;
    let login = api.login(&email, PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.text);
    let cookie = login.refresh_token().expect("a refresh cookie");
    assert_eq!(api.me(&signed_in.access_token).await.status, 200);
    let refreshed = api.reauth(&cookie).await;
    assert_eq!(refreshed.status, 201, "{}", refreshed.text);
    let failed = api.login(&email, "Wrong-password-Marker-1").await;
    assert_eq!(failed.status, 400, "{}", failed.text);
    let failed_id = response_id(&failed);
    api.forgot(&email).await;
    let mails = sink.wait_for_mails_to(&email, 1, MAIL_WAIT);
    let link = mails[0]
        .link_starting_with("http://localhost:3000/change-pass/")
        .unwrap_or_else(|| panic!("no reset link in:\n{}", mails[0].decoded()));
    let reset_token = link.rsplit('/').next().unwrap().to_owned();
    let reset = api.reset(&reset_token, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(reset.status, 200, "{}", reset.text);

    // No trusted proxy: the client's own id is not taken, a fresh one is.
    let health = get_with_request_id(&api, "/health", "client-chosen-id-1").await;
    assert_eq!(health.status, 200);
    let health_id = response_id(&health);
    assert_ne!(health_id, "client-chosen-id-1");
    let missing = api.get("/nowhere", None).await;
    assert_eq!(missing.status, 404);
    let missing_id = response_id(&missing);
    assert_ne!(missing_id, health_id);

    let log = settled_log(&server).await;
    let lines = json_lines(&log);
    let health_lines = request_lines_with(&lines, &health_id);
    assert_eq!(health_lines.len(), 1, "{log}");
    assert!(
        health_lines[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("GET /health 200 "),
        "{log}"
    );
    assert_eq!(health_lines[0]["level"], "INFO");
    let missing_lines = request_lines_with(&lines, &missing_id);
    assert_eq!(missing_lines.len(), 1, "{log}");
    assert!(
        missing_lines[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("GET /nowhere 404 "),
        "{log}"
    );
    // The audit line of the failed login names its request, as the request
    // line and the response do.
    let audited: Vec<&Value> = lines
        .iter()
        .filter(|line| line["target"] == "gatepass::audit")
        .filter(|line| line["fields"]["request_id"] == failed_id.as_str())
        .collect();
    assert_eq!(audited.len(), 1, "{log}");
    let audit_message = audited[0]["message"].as_str().unwrap();
    assert!(audit_message.starts_with("event=login_failed "), "{log}");
    assert_eq!(request_lines_with(&lines, &failed_id).len(), 1, "{log}");
    // Every request line has an id.
    let request_lines: Vec<&Value> = lines
        .iter()
        .filter(|line| line["target"] == "gatepass::request")
        .collect();
    assert!(request_lines.len() >= 9, "{log}");
    for line in &request_lines {
        assert!(line["fields"]["request_id"].is_string(), "{line}");
    }
    assert!(
        log.contains("PATCH /api/users/resetpass/<redacted> 200"),
        "{log}"
    );
    for secret in [
        PASSWORD,
        NEW_PASSWORD,
        "Wrong-password-Marker-1",
        &signed_in.access_token,
        &signed_in.refresh_token,
        &cookie,
        refreshed.refresh_token().as_deref().unwrap_or(&cookie),
        &reset_token,
        "client-chosen-id-1",
    ] {
        assert!(!log.contains(secret), "{secret:?} in the log:\n{log}");
    }
}

#[tokio::test]
async fn a_trusted_proxys_request_id_is_kept_when_well_formed() {
    let server = Server::builder()
        .env("GATEPASS_TRUSTED_PROXY_HEADER", "X-Forwarded-For")
        .start();
    let api = server.api();

    let proxied = get_with_request_id(&api, "/health", "proxy-7f3a.b_c").await;
    assert_eq!(proxied.status, 200);
    assert_eq!(response_id(&proxied), "proxy-7f3a.b_c");

    let too_long = "L".repeat(65);
    let mut replaced = Vec::new();
    for malformed in [
        too_long.as_str(),
        "tab\there",
        "space here",
        "quote\"here",
        "slash/here",
        "",
    ] {
        let reply = get_with_request_id(&api, "/health", malformed).await;
        assert_eq!(reply.status, 200);
        let id = response_id(&reply);
        assert_ne!(id, malformed);
        replaced.push((malformed, id));
    }

    let log = settled_log(&server).await;
    assert!(
        log.lines()
            .any(|line| line.contains("gatepass::request: GET /health 200 ")
                && line.ends_with(" request_id=proxy-7f3a.b_c")),
        "{log}"
    );
    for (malformed, id) in replaced {
        assert!(
            log.lines()
                .any(|line| line.contains("gatepass::request: GET /health 200 ")
                    && line.ends_with(&format!(" request_id={id}"))),
            "{id} in:\n{log}"
        );
        if !malformed.is_empty() {
            assert!(!log.contains(malformed), "{malformed:?} in the log:\n{log}");
        }
    }
}
