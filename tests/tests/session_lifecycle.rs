//! The session lifecycle of the contract: signup, login, /me, /:id, refresh
//! with rotation, the grace window, reuse detection, logout, master-logout.

use std::time::Duration;

use gatepass_common::paths;
use gatepass_tests::{unique_email, wait_for, Server, PASSWORD};
use serde_json::json;

#[tokio::test]
async fn signup_returns_user_token_and_a_well_formed_refresh_cookie() {
    let server = Server::start();
    let api = server.api();
    let email = unique_email("signup");
    let reply = api
        .signup_as(
            "Ada",
            "Lovelace",
            &format!("  {}  ", email.to_uppercase()),
            PASSWORD,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body["success"], true);
    let user = &reply.body["user"];
    assert_eq!(user["firstName"], "Ada");
    assert_eq!(user["lastName"], "Lovelace");
    assert_eq!(user["email"], email, "trimmed and lower-cased");
    assert!(uuid_like(user["id"].as_str().unwrap()));
    assert!(user["createdAt"].as_str().unwrap().ends_with('Z'));
    let keys: Vec<&String> = user.as_object().unwrap().keys().collect();
    assert_eq!(
        keys.len(),
        5,
        "no password hash or token in the user: {keys:?}"
    );
    assert_eq!(reply.access_token().unwrap().split('.').count(), 3, "a JWT");

    let cookie = reply.refresh_set_cookie().expect("refresh cookie");
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=None",
        "Path=/api/users",
        "Max-Age=86400",
    ] {
        assert!(
            cookie.contains(attribute),
            "{attribute} missing from {cookie}"
        );
    }
    let token = reply.refresh_token().unwrap();
    assert!(token.len() >= 43, "at least 256 bits, base64url: {token}");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn login_me_and_user_by_id() {
    let server = Server::start();
    let api = server.api();
    let email = unique_email("login");
    let signed_up = api.signup(&email).await;

    let login = api.login(&email.to_uppercase(), PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["success"], true);
    assert_eq!(login.body["user"]["id"], signed_up.user["id"]);
    assert!(login.refresh_token().is_some());
    assert_ne!(
        login.refresh_token().unwrap(),
        signed_up.refresh_token,
        "a new session"
    );

    let token = login.access_token().unwrap();
    let me = api.me(&token).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body, json!({"success": true, "user": signed_up.user}));

    let by_id = api.get(&paths::user(signed_up.id()), Some(&token)).await;
    assert_eq!(by_id.status, 200);
    assert_eq!(by_id.body["user"], signed_up.user);

    // Unknown and malformed ids are both simply not found.
    api.get(
        &paths::user("00000000-0000-4000-8000-000000000000"),
        Some(&token),
    )
    .await
    .assert_error(404, "user_not_found");
    api.get(&paths::user("not-a-uuid"), Some(&token))
        .await
        .assert_error(404, "user_not_found");
    // And without a token, nothing.
    api.get(&paths::user(signed_up.id()), None)
        .await
        .assert_error(401, "missing_access_token");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let server = Server::start();
    let api = server.api();
    let email = unique_email("creds");
    api.signup(&email).await;

    let wrong = api.login(&email, "not-the-password-at-all").await;
    let unknown = api.login(&unique_email("nobody"), PASSWORD).await;
    wrong.assert_error(400, "invalid_credentials");
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.status, unknown.status);
    assert!(wrong.refresh_set_cookie().is_none());
}

#[tokio::test]
async fn reauth_rotates_the_refresh_token() {
    let server = Server::start();
    let api = server.api();
    let session = api.signup(&unique_email("rotate")).await;

    let first = api.reauth(&session.refresh_token).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["success"], true);
    assert_eq!(first.header("cache-control"), Some("no-store"));
    let rotated = first.refresh_token().expect("a rotated cookie");
    assert_ne!(rotated, session.refresh_token);
    let access = first.access_token().unwrap();
    assert_eq!(api.me(&access).await.status, 200);

    // The new token rotates again; the chain goes on.
    let second = api.reauth(&rotated).await;
    assert_eq!(second.status, 201, "{}", second.text);
    assert_ne!(second.refresh_token().unwrap(), rotated);

    // An Authorization header, even a stale or garbage one, is ignored.
    let with_header = api
        .post(
            paths::REAUTH,
            None,
            Some("garbage"),
            Some(&second.refresh_token().unwrap()),
        )
        .await;
    assert_eq!(with_header.status, 201, "{}", with_header.text);
}

#[tokio::test]
async fn reuse_inside_the_grace_window_gets_the_current_cookie() {
    let server = Server::builder()
        .env("AUTH_REFRESH_REUSE_GRACE", "10m")
        .start();
    let api = server.api();
    let session = api.signup(&unique_email("grace")).await;

    let first = api.reauth(&session.refresh_token).await;
    let current = first.refresh_token().unwrap();
    // A second tab presents the old token a moment later.
    let late = api.reauth(&session.refresh_token).await;
    assert_eq!(late.status, 201, "{}", late.text);
    assert_eq!(
        late.refresh_token().as_deref(),
        Some(current.as_str()),
        "the session's current cookie"
    );
    assert_eq!(api.me(&late.access_token().unwrap()).await.status, 200);
    // The session is intact: the current token still rotates.
    assert_eq!(api.reauth(&current).await.status, 201);
}

#[tokio::test]
async fn reuse_after_the_grace_window_ends_the_session() {
    let server = Server::builder()
        .env("AUTH_REFRESH_REUSE_GRACE", "0s")
        .start();
    let api = server.api();
    let session = api.signup(&unique_email("reuse")).await;

    let first = api.reauth(&session.refresh_token).await;
    assert_eq!(first.status, 201);
    let current = first.refresh_token().unwrap();
    let access = first.access_token().unwrap();

    let replay = api.reauth(&session.refresh_token).await;
    replay.assert_error(401, "refresh_token_reused");
    assert!(replay
        .header("www-authenticate")
        .unwrap()
        .contains(r#"error="invalid_token""#));
    assert!(
        replay.refresh_set_cookie().unwrap().contains("Max-Age=0"),
        "cookie cleared"
    );

    // The whole session is over: the legitimate holder's token and its
    // access tokens stop working too.
    api.reauth(&current)
        .await
        .assert_error(401, "invalid_refresh_token");
    api.me(&access).await.assert_error(401, "session_revoked");
}

#[tokio::test]
async fn logout_ends_the_session_and_clears_the_cookie() {
    let server = Server::start();
    let api = server.api();
    let email = unique_email("logout");
    let session = api.signup(&email).await;
    let other = api.login(&email, PASSWORD).await;
    let other_token = other.access_token().unwrap();

    let reply = api
        .post(
            paths::LOGOUT,
            None,
            Some(&session.access_token),
            Some(&session.refresh_token),
        )
        .await;
    assert_eq!(reply.status, 205, "{}", reply.text);
    assert!(reply.text.is_empty());
    let cookie = reply.refresh_set_cookie().expect("cookie cleared");
    assert!(cookie.starts_with("refreshTkn=;"), "{cookie}");
    assert!(cookie.contains("Max-Age=0"), "{cookie}");

    // Both the refresh token and the access token are dead at once.
    api.reauth(&session.refresh_token)
        .await
        .assert_error(401, "invalid_refresh_token");
    let me = api.me(&session.access_token).await;
    me.assert_error(401, "session_revoked");
    assert!(me
        .header("www-authenticate")
        .unwrap()
        .starts_with(r#"Bearer realm="api""#));
    // The user's other session is untouched.
    assert_eq!(api.me(&other_token).await.status, 200);
    // Logging out without a token is refused.
    api.post(paths::LOGOUT, None, None, None)
        .await
        .assert_error(401, "missing_access_token");
}

#[tokio::test]
async fn master_logout_ends_every_session_of_the_user_only() {
    let server = Server::start();
    let api = server.api();
    let email = unique_email("master");
    let first = api.signup(&email).await;
    let second = api.login(&email, PASSWORD).await;
    let bystander = api.signup(&unique_email("bystander")).await;

    let reply = api
        .post(paths::MASTER_LOGOUT, None, Some(&first.access_token), None)
        .await;
    assert_eq!(reply.status, 205, "{}", reply.text);
    assert!(reply.refresh_set_cookie().unwrap().contains("Max-Age=0"));

    for access in [&first.access_token, &second.access_token().unwrap()] {
        api.me(access).await.assert_error(401, "session_revoked");
    }
    for refresh in [&first.refresh_token, &second.refresh_token().unwrap()] {
        api.reauth(refresh)
            .await
            .assert_error(401, "invalid_refresh_token");
    }
    // Another user is not affected.
    assert_eq!(api.me(&bystander.access_token).await.status, 200);
    assert_eq!(api.reauth(&bystander.refresh_token).await.status, 201);
}

#[tokio::test]
async fn two_users_are_isolated() {
    let server = Server::start();
    let api = server.api();
    let ada = api.signup(&unique_email("ada")).await;
    let bob = api.signup(&unique_email("bob")).await;

    assert_eq!(
        api.me(&ada.access_token).await.body["user"]["id"],
        ada.user["id"]
    );
    assert_eq!(
        api.me(&bob.access_token).await.body["user"]["id"],
        bob.user["id"]
    );
    // Bob's logout does not touch Ada.
    api.post(paths::LOGOUT, None, Some(&bob.access_token), None)
        .await;
    assert_eq!(api.me(&ada.access_token).await.status, 200);
    // Bob cannot end Ada's sessions.
    let ada_sessions = api.get(paths::SESSIONS, Some(&ada.access_token)).await;
    let ada_session_id = ada_sessions.body["sessions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob2 = api.signup(&unique_email("bob2")).await;
    let attempt = api
        .delete(&paths::session(&ada_session_id), Some(&bob2.access_token))
        .await;
    attempt.assert_error(404, "session_not_found");
    assert_eq!(api.me(&ada.access_token).await.status, 200);
}

#[tokio::test]
async fn expired_access_tokens_are_told_apart_and_refresh_cures_them() {
    let server = Server::builder()
        .env("AUTH_ACCESS_TOKEN_EXPIRY", "1s")
        .start();
    let api = server.api();
    let session = api.signup(&unique_email("expiry")).await;

    let expired = wait_for(
        "the access token to expire",
        Duration::from_secs(15),
        || {
            let api = api.clone();
            let token = session.access_token.clone();
            async move {
                let reply = api.me(&token).await;
                (reply.status == 401).then_some(reply)
            }
        },
    )
    .await;
    expired.assert_error(401, "expired_access_token");
    let challenge = expired.header("www-authenticate").unwrap();
    assert!(
        challenge.starts_with(r#"Bearer realm="api""#),
        "{challenge}"
    );
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    assert!(challenge.contains("error_description="), "{challenge}");

    let refreshed = api.reauth(&session.refresh_token).await;
    assert_eq!(refreshed.status, 201);
    assert_eq!(api.me(&refreshed.access_token().unwrap()).await.status, 200);
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_one_by_one() {
    let server = Server::start();
    let api = server.api();
    let email = unique_email("sessions");
    let first = api.signup(&email).await;
    let second = api.login(&email, PASSWORD).await;

    let list = api.get(paths::SESSIONS, Some(&first.access_token)).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let sessions = list.body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let other_id = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let revoke = api
        .delete(&paths::session(&other_id), Some(&first.access_token))
        .await;
    assert_eq!(revoke.status, 204, "{}", revoke.text);
    api.me(&second.access_token().unwrap())
        .await
        .assert_error(401, "session_revoked");
    assert_eq!(api.me(&first.access_token).await.status, 200);
}

/// Over a whole flow, the server's log never holds a password, a token or a
/// cookie value.
#[tokio::test]
async fn the_log_holds_no_secret() {
    let server = Server::start();
    let api = server.api();
    let email = unique_email("log");
    let session = api.signup(&email).await;
    let login = api.login(&email, PASSWORD).await;
    let wrong = api.login(&email, "Wrong-password-123!").await;
    assert_eq!(wrong.status, 400);
    let rotated = api.reauth(&session.refresh_token).await;
    api.post(paths::LOGOUT, None, Some(&session.access_token), None)
        .await;
    api.get(paths::ME, Some("garbage.token.value")).await;

    let log = server.log();
    assert!(
        log.contains("POST /api/users/signup 201"),
        "one line per request:\n{log}"
    );
    let secrets = [
        PASSWORD.to_owned(),
        "Wrong-password-123!".to_owned(),
        session.access_token.clone(),
        session.refresh_token.clone(),
        login.access_token().unwrap(),
        login.refresh_token().unwrap(),
        rotated.refresh_token().unwrap(),
        rotated.access_token().unwrap(),
        "garbage.token.value".to_owned(),
    ];
    for secret in secrets {
        assert!(
            !log.contains(&secret),
            "the log contains a secret ({}…):\n{log}",
            &secret[..8]
        );
    }
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}
