//! The server's log never holds a request's values: not a reset token in a
//! path however it is encoded, not a body field, not a query.

use std::time::Duration;

use gatepass_common::paths;
use gatepass_tests::http::RequestSpec;
use gatepass_tests::{unique_email, wait_for, Api, Server, SmtpSink};
use reqwest::Method;
use serde_json::{json, Value};

const MAIL_WAIT: Duration = Duration::from_secs(20);
const NEW_PASSWORD: &str = "N3w-horse-battery-staple!";

/// Waits until the log holds `count` lines containing `needle` (the harness
/// copies the server's output to the file as it comes).
async fn wait_for_log(server: &Server, needle: &str, count: usize) -> String {
    wait_for(
        &format!("{count} log lines with {needle:?}"),
        Duration::from_secs(10),
        || async {
            let log = server.log();
            (log.matches(needle).count() >= count).then_some(log)
        },
    )
    .await
}

async fn send(api: &Api, method: Method, path: &str, body: Option<Value>) -> u16 {
    api.send(RequestSpec {
        method,
        path,
        body,
        bearer: None,
        refresh: None,
        headers: vec![],
    })
    .await
    .status
}

#[tokio::test]
async fn a_reset_token_in_an_encoded_path_never_reaches_the_log() {
    let sink = SmtpSink::start();
    let server = Server::builder().smtp(&sink).start();
    let api = server.api();
    let email = unique_email("encoded-reset");
    api.signup(&email).await;
    api.forgot(&email).await;
    let mails = sink.wait_for_mails_to(&email, 1, MAIL_WAIT);
    let link = mails[0]
        .link_starting_with("http://localhost:3000/change-pass/")
        .unwrap_or_else(|| panic!("no reset link in:\n{}", mails[0].decoded()));
    let token = link.rsplit('/').next().unwrap().to_owned();

    // `%72` is `r`: Rocket routes this to the reset handler, which takes it.
    let body = json!({"password": NEW_PASSWORD, "passwordConfirm": NEW_PASSWORD});
    let encoded = format!("{}/%72esetpass/{token}", paths::USERS);
    assert_eq!(
        send(&api, Method::PATCH, &encoded, Some(body.clone())).await,
        200
    );
    assert_eq!(api.login(&email, NEW_PASSWORD).await.status, 200);
    // The same token sent in other shapes: answered, and logged, as misses.
    let near_misses = [
        (Method::GET, encoded.clone()),
        (Method::PATCH, format!("{}/RESETPASS/{token}", paths::USERS)),
        (
            Method::PATCH,
            format!("{}/resetpass%2F{token}", paths::USERS),
        ),
        (
            Method::PATCH,
            format!("{}/%2572esetpass/{token}", paths::USERS),
        ),
        (
            Method::PATCH,
            format!("{}/%72esetpass/{token}?again=1", paths::USERS),
        ),
    ];
    for (method, path) in &near_misses {
        let status = send(&api, method.clone(), path, Some(body.clone())).await;
        assert!((400..500).contains(&status), "{method} {path}: {status}");
    }

    // signup, forgot, the reset, login, and the near misses: one request
    // line each, the reset's showing that it reached the handler.
    let log = wait_for_log(&server, "gatepass::request: ", 4 + near_misses.len()).await;
    assert!(!log.contains(&token), "the token is in the log:\n{log}");
    assert!(
        log.contains("PATCH /api/users/%72esetpass/<redacted> 200"),
        "{log}"
    );
}

#[tokio::test]
async fn body_values_of_refused_requests_never_reach_the_log() {
    let server = Server::start();
    let api = server.api();
    let email = unique_email("values");
    api.signup(&email).await;

    // Each marker is something only the request carried.
    let typed_wrong = [
        json!({"email": email, "password": 31_415_926_535u64}),
        json!({"email": email, "password": {"nested": "Marker-Object-7f3a"}}),
        json!({"email": email, "password": ["Marker-Array-9c2e"]}),
        json!({"email": 27_182_818_284u64, "password": "Marker-Beside-4d1b"}),
        json!({"email": email, "password": "Marker-Field-5e6f", "Marker-Key-8a9b": 1}),
    ];
    for body in &typed_wrong {
        let status = send(&api, Method::POST, paths::LOGIN, Some(body.clone())).await;
        assert!((400..500).contains(&status), "{body}: {status}");
    }
    let malformed = [
        r#"{"email": "a@b.c", "password": "Marker-Unterminated-1a2b"#.to_owned(),
        r#"{"email": "a@b.c", "password": "Marker-Escape-3c4d\q"}"#.to_owned(),
        r#"{"email": "a@b.c", "password": Marker-Bare-5e6f}"#.to_owned(),
        format!(r#"{{"email": "{email}", "password": "Marker-Trailing-7a8b"}} Marker-After-9c0d"#),
    ];
    for body in &malformed {
        let reply = api
            .send_raw(Method::POST, paths::LOGIN, body.clone().into_bytes())
            .await;
        assert!((400..500).contains(&reply.status), "{body}: {}", reply.text);
    }
    let signup = json!({"firstName": 16_180_339_887u64, "lastName": "Marker-Last-2b3c",
        "email": unique_email("values"), "password": "Marker-Signup-4d5e"});
    assert!((400..500).contains(&send(&api, Method::POST, paths::SIGNUP, Some(signup)).await));
    // Queries where no route matches (Rocket's "No matching routes for"
    // line echoed the whole URI) and where a route takes no query.
    for (method, path) in [
        (
            Method::GET,
            "/nowhere?password=Marker-Query-6f7a".to_owned(),
        ),
        (
            Method::POST,
            format!("{}/nowhere?token=Marker-Query-7a8b", paths::USERS),
        ),
        (
            Method::GET,
            format!("{}?password=Marker-Query-8b9c", paths::ME),
        ),
    ] {
        assert!((400..500).contains(&send(&api, method, &path, None).await));
    }

    let requests = 1 + typed_wrong.len() + malformed.len() + 1 + 3;
    let log = wait_for_log(&server, "gatepass::request: ", requests).await;
    for marker in [
        "31415926535",
        "27182818284",
        "16180339887",
        "Marker-",
        "Marker",
    ] {
        assert!(!log.contains(marker), "{marker} is in the log:\n{log}");
    }
    // The failures are still reported, without their values.
    assert!(log.contains("failed."), "{log}");
}
