//! Personal access tokens (issue 18), from outside: made once and stored
//! hashed, exchanged for access tokens whose session is the token, revoked
//! with effect at once, expiring, limited (also under a burst), kept from
//! what needs a signed-in session, audited without the secret, and shared by
//! two servers on one database. On PostgreSQL too when the suite runs on it.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatepass_common::paths;
use gatepass_tests::http::RequestSpec;
use gatepass_tests::totp::Authenticator;
use gatepass_tests::{unique_email, Api, Reply, Server, ServerBuilder, SignedIn};
use reqwest::Method;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery staple";
const REFRESH_SECRET: &str = "personal-tokens-refresh-secret-0123456789abcdef";

fn builder() -> ServerBuilder {
    Server::builder().beside_others(REFRESH_SECRET)
}

async fn signup(api: &Api, tag: &str) -> SignedIn {
    let email = unique_email(tag);
    let reply = api.signup_as("Grace", "Hopper", &email, PASSWORD).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    SignedIn::from_reply(&reply, &email)
}

async fn create(api: &Api, access_token: &str, body: Value) -> Reply {
    api.post(paths::TOKENS, Some(body), Some(access_token), None)
        .await
}

/// `POST /token` with `Authorization: Bearer <personal token>`, no body.
async fn exchange(api: &Api, token: &str) -> Reply {
    api.post(paths::TOKEN, None, Some(token), None).await
}

fn sid(access_token: &str) -> String {
    let payload = access_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_token_is_shown_once_stored_hashed_and_exchanged_for_access_tokens() {
    let server = builder().start();
    let api = server.api();
    let user = signup(&api, "pat").await;
    let made = create(
        &api,
        &user.access_token,
        json!({"name": "deploy", "expiresIn": "30d"}),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let token = made.body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("gp_pat_") && token.len() > 40, "{token}");
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert_eq!(made.body["name"], "deploy");

    // Listed without the secret; the database holds no token either.
    let listed = api.get(paths::TOKENS, Some(&user.access_token)).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["tokens"][0]["id"], id.as_str());
    assert!(!listed.text.contains(&token));
    assert!(listed.body["tokens"][0]["lastUsedAt"].is_null());
    let stored = server
        .sql_column("SELECT COUNT(*) FROM personal_tokens WHERE length(token_hash) = 32")
        .await;
    assert_eq!(stored, ["1"]);
    let secret = &token["gp_pat_".len()..];
    for table in ["personal_tokens", "audit_events"] {
        let dump = server
            .sql_column(&format!("SELECT * FROM {table}"))
            .await
            .join(" ");
        assert!(!dump.contains(secret), "{table} holds the token");
    }

    // The exchange: an access token whose session is the token; no cookie.
    let reply = exchange(&api, &token).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.refresh_set_cookie().is_none(), "no cookie");
    let access = reply.access_token().unwrap();
    assert_eq!(sid(&access), format!("pat-{id}"));
    let me = api.me(&access).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["user"]["email"], user.email.as_str());
    let listed = api.get(paths::TOKENS, Some(&user.access_token)).await;
    assert!(
        listed.body["tokens"][0]["lastUsedAt"].is_string(),
        "{}",
        listed.text
    );

    // Wrong tokens: 401 invalid_api_token with a challenge.
    for wrong in [
        "gp_pat_not-a-token",
        "not even a token",
        &format!("{token}x"),
    ] {
        let reply = exchange(&api, wrong).await;
        reply.assert_error(401, "invalid_api_token");
        assert!(reply
            .header("WWW-Authenticate")
            .is_some_and(|h| h.starts_with("Bearer")));
    }
    assert!(!server.log().contains(secret), "the log holds the token");
}

#[tokio::test]
async fn a_revoked_token_and_its_access_tokens_stop_at_once_and_master_logout_keeps_tokens() {
    let server = builder().start();
    let api = server.api();
    let user = signup(&api, "revoke").await;
    let made = create(&api, &user.access_token, json!({"name": "ci"})).await;
    let token = made.body["token"].as_str().unwrap().to_owned();
    let id = made.body["id"].as_str().unwrap().to_owned();

    // Master-logout ends the sessions, not the personal tokens.
    let other = api
        .login(&user.email, PASSWORD)
        .await
        .access_token()
        .unwrap();
    let reply = api
        .post(paths::MASTER_LOGOUT, None, Some(&other), None)
        .await;
    assert_eq!(reply.status, 205, "{}", reply.text);
    let access = exchange(&api, &token)
        .await
        .access_token()
        .expect("still works");
    assert_eq!(api.me(&access).await.status, 200);

    // Another user cannot revoke it.
    let mallory = signup(&api, "mallory").await;
    let reply = api
        .delete(&paths::personal_token(&id), Some(&mallory.access_token))
        .await;
    reply.assert_error(404, "token_not_found");

    let session = api
        .login(&user.email, PASSWORD)
        .await
        .access_token()
        .unwrap();
    let reply = api
        .delete(&paths::personal_token(&id), Some(&session))
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    exchange(&api, &token)
        .await
        .assert_error(401, "invalid_api_token");
    api.me(&access).await.assert_error(401, "session_revoked");
    let listed = api.get(paths::TOKENS, Some(&session)).await;
    assert_eq!(listed.body["tokens"], json!([]));
    api.delete(&paths::personal_token(&id), Some(&session))
        .await
        .assert_error(404, "token_not_found");
}

#[tokio::test]
async fn a_personal_token_cannot_do_what_needs_a_session() {
    let server = builder().start();
    let api = server.api();
    let user = signup(&api, "scope").await;
    let token = create(&api, &user.access_token, json!({"name": "ci"}))
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let access = exchange(&api, &token).await.access_token().unwrap();
    assert_eq!(api.me(&access).await.status, 200, "reading is fine");
    let forbidden = [
        (
            Method::POST,
            paths::TOKENS.to_owned(),
            Some(json!({"name": "another"})),
        ),
        (Method::GET, paths::TOKENS.to_owned(), None),
        (
            Method::POST,
            paths::CHANGE_PASSWORD.to_owned(),
            Some(
                json!({"currentPassword": PASSWORD, "password": "a new long passphrase",
                "passwordConfirm": "a new long passphrase"}),
            ),
        ),
        (
            Method::POST,
            paths::TOTP_SETUP.to_owned(),
            Some(json!({"currentPassword": PASSWORD})),
        ),
        (Method::POST, paths::MASTER_LOGOUT.to_owned(), None),
        (Method::POST, paths::LOGOUT.to_owned(), None),
    ];
    for (method, path, body) in forbidden {
        let reply = api
            .send(RequestSpec {
                method: method.clone(),
                path: &path,
                body,
                bearer: Some(&access),
                refresh: None,
                headers: Vec::new(),
            })
            .await;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.text);
        assert_eq!(reply.body["code"], "session_required", "{method} {path}");
    }
    // And the account is as it was: the password still works.
    assert_eq!(api.login(&user.email, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_token_expires_and_bad_requests_are_refused_by_name() {
    let server = builder().start();
    let api = server.api();
    let user = signup(&api, "expiry").await;
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "a\u{1b}[31mred"}), "name"),
        (json!({"name": "x", "expiresIn": "366d"}), "expiresIn"),
        (json!({"name": "x", "expiresIn": "soon"}), "expiresIn"),
    ] {
        let reply = create(&api, &user.access_token, body).await;
        reply.assert_error(422, "validation_failed");
        assert_eq!(reply.body["errors"][0]["param"], field, "{}", reply.text);
    }
    let made = create(
        &api,
        &user.access_token,
        json!({"name": "short", "expiresIn": "2s"}),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let token = made.body["token"].as_str().unwrap().to_owned();
    let made_at = Instant::now();
    let access = exchange(&api, &token).await.access_token().expect("live");
    // The condition is the clock: past the token's lifetime.
    while made_at.elapsed() < Duration::from_millis(2100) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    exchange(&api, &token)
        .await
        .assert_error(401, "invalid_api_token");
    api.me(&access).await.assert_error(401, "session_revoked");
}

#[tokio::test]
async fn exchanges_are_limited_per_token_even_in_a_burst() {
    const AT_ONCE: usize = 8;
    let server = builder().env("AUTH_TOKEN_EXCHANGE_LIMIT", "3/15m").start();
    let api = server.api();
    let user = signup(&api, "burst").await;
    let token = create(&api, &user.access_token, json!({"name": "ci"}))
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(AT_ONCE));
    let tasks: Vec<_> = (0..AT_ONCE)
        .map(|_| {
            let (api, token, barrier) = (server.api(), token.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                exchange(&api, &token).await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status {
            200 => ok += 1,
            _ => reply.assert_error(429, "too_many_attempts"),
        }
    }
    assert_eq!(ok, 3, "exactly the limit");
}

#[tokio::test]
async fn with_two_factor_on_making_a_token_needs_a_code() {
    let server = builder().start();
    let api = server.api();
    let user = signup(&api, "pat-2fa").await;
    let token = Some(user.access_token.as_str());
    let setup = api
        .post(
            paths::TOTP_SETUP,
            Some(json!({"currentPassword": PASSWORD})),
            token,
            None,
        )
        .await;
    let mut app = Authenticator::new(setup.body["secret"].as_str().unwrap());
    let confirm = api
        .post(
            paths::TOTP_CONFIRM,
            Some(json!({"code": app.next_code().await})),
            token,
            None,
        )
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.text);
    create(&api, &user.access_token, json!({"name": "ci"}))
        .await
        .assert_error(403, "mfa_required");
    let made = create(
        &api,
        &user.access_token,
        json!({"name": "ci", "code": app.next_code().await}),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
}

#[tokio::test]
async fn two_servers_share_tokens_and_their_revocation() {
    let a = builder().start();
    let b = builder().database_of(&a).start();
    let user = signup(&a.api(), "pair").await;
    let made = create(&a.api(), &user.access_token, json!({"name": "ci"})).await;
    let token = made.body["token"].as_str().unwrap().to_owned();
    let id = made.body["id"].as_str().unwrap().to_owned();
    let access = exchange(&b.api(), &token)
        .await
        .access_token()
        .expect("exchanged on B");
    assert_eq!(a.api().me(&access).await.status, 200);
    let reply = a
        .api()
        .delete(&paths::personal_token(&id), Some(&user.access_token))
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    exchange(&b.api(), &token)
        .await
        .assert_error(401, "invalid_api_token");
    // B's session cache lives GATEPASS_SESSION_CACHE_TTL (none on SQLite
    // here, 2 s by default on PostgreSQL): wait on the refusal.
    gatepass_tests::wait_for(
        "B to refuse the revoked token's access token",
        Duration::from_secs(10),
        || async {
            let reply = b.api().me(&access).await;
            (reply.status == 401).then_some(())
        },
    )
    .await;
}
