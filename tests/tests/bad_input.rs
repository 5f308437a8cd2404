//! Bad input never gets a 500 or an HTML page: every failure speaks the
//! error body of the contract.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use gatepass_common::paths;
use gatepass_tests::http::RequestSpec;
use gatepass_tests::{unique_email, Server, PASSWORD};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn malformed_json_is_400_and_large_bodies_413() {
    let server = Server::start();
    let api = server.api();
    let malformed = api
        .send_raw(Method::POST, paths::SIGNUP, b"{\"email\": ".to_vec())
        .await;
    malformed.assert_error(400, "malformed_json");
    let empty = api.send_raw(Method::POST, paths::LOGIN, Vec::new()).await;
    empty.assert_error(400, "malformed_json");

    let big = json!({"email": "a@example.com", "password": "x".repeat(17 * 1024)});
    let too_large = api
        .send_raw(
            Method::POST,
            paths::LOGIN,
            serde_json::to_vec(&big).unwrap(),
        )
        .await;
    too_large.assert_error(413, "payload_too_large");

    let wrong_type = api
        .send_raw(
            Method::POST,
            paths::LOGIN,
            br#"{"email": 5, "password": []}"#.to_vec(),
        )
        .await;
    wrong_type.assert_error(422, "validation_failed");
    let not_an_object = api
        .send_raw(Method::POST, paths::LOGIN, b"[1,2,3]".to_vec())
        .await;
    not_an_object.assert_error(422, "validation_failed");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let server = Server::start();
    let api = server.api();
    let missing = api.get("/nowhere", None).await;
    missing.assert_error(404, "not_found");
    assert!(missing.header("content-type").unwrap().contains("json"));

    let wrong_method = api
        .send_raw(Method::PUT, paths::LOGIN, b"{}".to_vec())
        .await;
    assert!(
        wrong_method.status == 404 || wrong_method.status == 405,
        "{}",
        wrong_method.text
    );
    assert!(
        wrong_method.body["code"].is_string(),
        "JSON, not HTML: {}",
        wrong_method.text
    );

    let health = api.get(paths::HEALTH, None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "ok");
    assert!(health.body["version"].is_string(), "{}", health.text);
}

#[tokio::test]
async fn signup_reports_every_invalid_field() {
    let server = Server::start();
    let api = server.api();
    let empty = api.post(paths::SIGNUP, Some(json!({})), None, None).await;
    empty.assert_error(422, "validation_failed");
    let params: Vec<&str> = empty.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["param"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["firstName", "lastName", "email", "password"]);
    assert_eq!(empty.body["errors"][0]["location"], "body");
    assert_eq!(empty.body["feedback"], empty.body["errors"][0]["msg"]);

    let bad_email = api
        .signup_as("Ada", "Lovelace", "not-an-email", PASSWORD)
        .await;
    bad_email.assert_error(422, "validation_failed");
    assert_eq!(bad_email.body["errors"][0]["msg"], "Email is invalid");

    let mismatch = api
        .post(
            paths::SIGNUP,
            Some(json!({"firstName": "Ada", "lastName": "L", "email": unique_email("m"), "password": PASSWORD, "passwordConfirm": "other"})),
            None,
            None,
        )
        .await;
    mismatch.assert_error(422, "validation_failed");
    assert_eq!(mismatch.body["errors"][0]["param"], "passwordConfirm");
}

#[tokio::test]
async fn password_policy_short_long_and_common() {
    let server = Server::start();
    let api = server.api();
    let cases = [
        ("short1!", "at least 8 characters"),
        ("password123", "too easy to guess"),
    ];
    for (password, expected) in cases {
        let reply = api
            .signup_as("Ada", "Lovelace", &unique_email("policy"), password)
            .await;
        reply.assert_error(422, "validation_failed");
        let msg = reply.body["errors"][0]["msg"].as_str().unwrap();
        assert!(msg.contains(expected), "{password:?}: {msg}");
    }
    // 73 bytes is refused, never truncated...
    let long: String =
        "Lk3$vR8!pQ2#wX7&-correct-Horse-9battery-Staple-4mule-Quartz-Violin-Ember-Fog"
            .chars()
            .take(73)
            .collect();
    assert_eq!(long.len(), 73);
    let reply = api
        .signup_as("Ada", "Lovelace", &unique_email("long"), &long)
        .await;
    reply.assert_error(422, "validation_failed");
    assert!(reply.body["feedback"]
        .as_str()
        .unwrap()
        .contains("72 bytes"));
    // ...and exactly 72 bytes works, and only the whole password logs in.
    let email = unique_email("exact");
    let exact = &long[..72];
    assert_eq!(
        api.signup_as("Ada", "Lovelace", &email, exact).await.status,
        201
    );
    assert_eq!(api.login(&email, exact).await.status, 200);
    assert_eq!(api.login(&email, &exact[..71]).await.status, 400);
}

#[tokio::test]
async fn duplicate_email_is_422_even_with_other_case_and_spaces() {
    let server = Server::start();
    let api = server.api();
    let email = unique_email("dup");
    api.signup(&email).await;
    let again = api
        .signup_as(
            "Other",
            "Person",
            &format!(" {} ", email.to_uppercase()),
            PASSWORD,
        )
        .await;
    again.assert_error(422, "validation_failed");
    assert_eq!(again.body["errors"][0]["param"], "email");
}

#[tokio::test]
async fn twenty_signups_racing_for_one_address_make_one_user() {
    let server = Server::start();
    let api = server.api();
    let email = unique_email("race");
    let attempts = (0..20).map(|_| {
        let api = api.clone();
        let email = email.clone();
        tokio::spawn(async move { api.signup_as("Ada", "Lovelace", &email, PASSWORD).await })
    });
    let mut created = 0;
    for attempt in attempts {
        let reply = attempt.await.unwrap();
        match reply.status {
            201 => created += 1,
            422 => assert_eq!(reply.body["errors"][0]["param"], "email", "{}", reply.text),
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    assert_eq!(created, 1);
}

#[tokio::test]
async fn garbage_tampered_alg_none_and_foreign_tokens_are_401() {
    let server = Server::start();
    let other_server = Server::start();
    let api = server.api();
    let session = api.signup(&unique_email("tokens")).await;

    let missing = api.me("").await;
    assert_eq!(missing.status, 401);
    let no_header = api.get(paths::ME, None).await;
    no_header.assert_error(401, "missing_access_token");
    assert_eq!(
        no_header.header("www-authenticate"),
        Some(r#"Bearer realm="api""#)
    );

    api.me("garbage")
        .await
        .assert_error(401, "invalid_access_token");

    // Tampered payload: claim to be somebody else, keep the signature.
    let parts: Vec<&str> = session.access_token.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = "00000000-0000-4000-8000-000000000000".into();
    let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    api.me(&tampered)
        .await
        .assert_error(401, "invalid_access_token");

    // alg: none, unsigned.
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{}.", parts[1]);
    let reply = api.me(&unsigned).await;
    reply.assert_error(401, "invalid_access_token");
    assert!(reply
        .header("www-authenticate")
        .unwrap()
        .contains(r#"error="invalid_token""#));

    // Signed with another server's secret.
    let foreign = other_server.api().signup(&unique_email("foreign")).await;
    api.me(&foreign.access_token)
        .await
        .assert_error(401, "invalid_access_token");

    // Refresh side: no cookie, and a cookie that was never issued.
    api.post(paths::REAUTH, None, None, None)
        .await
        .assert_error(401, "missing_refresh_token");
    api.reauth("made-up-token")
        .await
        .assert_error(401, "invalid_refresh_token");
}

#[tokio::test]
async fn cors_allows_configured_origins_with_credentials_only() {
    let server = Server::builder()
        .env(
            "AUTH_CORS_ORIGINS",
            "http://localhost:3000,https://app.example.com",
        )
        .start();
    let api = server.api();
    let preflight = api
        .send(RequestSpec {
            method: Method::OPTIONS,
            path: paths::LOGIN,
            body: None,
            bearer: None,
            refresh: None,
            headers: vec![
                ("Origin", "https://app.example.com".into()),
                ("Access-Control-Request-Method", "POST".into()),
                ("Access-Control-Request-Headers", "content-type".into()),
            ],
        })
        .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        preflight.header("access-control-allow-credentials"),
        Some("true")
    );
    assert!(preflight
        .header("access-control-allow-headers")
        .unwrap()
        .contains("X-reset-base"));
    assert!(preflight
        .header("access-control-allow-methods")
        .unwrap()
        .contains("PATCH"));

    let session = api.signup(&unique_email("cors")).await;
    let from_page = api
        .send(RequestSpec {
            method: Method::GET,
            path: paths::ME,
            body: None,
            bearer: Some(&session.access_token),
            refresh: None,
            headers: vec![("Origin", "http://localhost:3000".into())],
        })
        .await;
    assert_eq!(from_page.status, 200);
    assert_eq!(
        from_page.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert!(from_page
        .header("access-control-expose-headers")
        .unwrap()
        .contains("WWW-Authenticate"));

    // A stranger's page: no CORS headers, and it may not spend the refresh cookie.
    let evil = api
        .send(RequestSpec {
            method: Method::POST,
            path: paths::REAUTH,
            body: None,
            bearer: None,
            refresh: Some(&session.refresh_token),
            headers: vec![("Origin", "https://evil.example".into())],
        })
        .await;
    evil.assert_error(403, "origin_not_allowed");
    assert_eq!(evil.header("access-control-allow-origin"), None);
    assert!(evil.refresh_set_cookie().is_none());
    // Without an Origin (curl, the terminal client) it is served normally.
    assert_eq!(api.reauth(&session.refresh_token).await.status, 201);
}
