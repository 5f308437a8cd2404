//! The server caches the session lookup of protected routes for a few seconds
//! (GATEPASS_SESSION_CACHE_TTL). Whatever ends a session through this server
//! still takes effect at once, even for a session whose lookup is cached; a
//! session ended by another process on the same database is noticed within
//! the TTL.

use std::time::Duration;

use gatepass_common::paths;
use gatepass_tests::{unique_email, wait_for, Server, PASSWORD};
use serde_json::json;

/// Two `/me` calls: the second is answered from the cache (the lookup is
/// then cached for the rest of the test, as the default TTL is 2 s).
async fn warm(api: &gatepass_tests::Api, token: &str) {
    for _ in 0..2 {
        assert_eq!(api.me(token).await.status, 200);
    }
}

#[tokio::test]
async fn logout_kills_a_cached_access_token_at_once() {
    let server = Server::builder()
        .env("GATEPASS_SESSION_CACHE_TTL", "60s")
        .start();
    let api = server.api();
    let email = unique_email("cached-logout");
    let session = api.signup(&email).await;
    let other = api.login(&email, PASSWORD).await.access_token().unwrap();
    warm(&api, &session.access_token).await;
    warm(&api, &other).await;

    let reply = api
        .post(paths::LOGOUT, None, Some(&session.access_token), None)
        .await;
    assert_eq!(reply.status, 205, "{}", reply.text);
    api.me(&session.access_token)
        .await
        .assert_error(401, "session_revoked");
    // The same user's other session is untouched.
    assert_eq!(api.me(&other).await.status, 200);
}

#[tokio::test]
async fn master_logout_revoke_and_password_change_kill_cached_tokens_at_once() {
    let server = Server::builder()
        .env("GATEPASS_SESSION_CACHE_TTL", "60s")
        .start();
    let api = server.api();
    let email = unique_email("cached-ends");
    let first = api.signup(&email).await;
    let second = api.login(&email, PASSWORD).await.access_token().unwrap();
    let third = api.login(&email, PASSWORD).await.access_token().unwrap();
    let bystander = api.signup(&unique_email("cached-bystander")).await;
    for token in [
        &first.access_token,
        &second,
        &third,
        &bystander.access_token,
    ] {
        warm(&api, token).await;
    }

    // Revoking one of the other sessions.
    let sessions = api.get(paths::SESSIONS, Some(&first.access_token)).await;
    let listed: Vec<(String, bool)> = sessions.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_owned(), s["current"] == true))
        .collect();
    let (victim, _) = listed.iter().find(|(_, current)| !current).unwrap();
    let revoke = api
        .delete(&paths::session(victim), Some(&first.access_token))
        .await;
    assert_eq!(revoke.status, 204, "{}", revoke.text);
    let revoked: Vec<u16> = [api.me(&second).await.status, api.me(&third).await.status].to_vec();
    assert_eq!(
        revoked.iter().filter(|&&s| s == 401).count(),
        1,
        "exactly the revoked session is dead at once: {revoked:?}"
    );

    // Changing the password ends every other session at once.
    let change = api
        .post(
            paths::CHANGE_PASSWORD,
            Some(json!({
                "currentPassword": PASSWORD,
                "password": "Fresh-violin-Quartz-77",
                "passwordConfirm": "Fresh-violin-Quartz-77",
            })),
            Some(&first.access_token),
            None,
        )
        .await;
    assert_eq!(change.status, 200, "{}", change.text);
    for token in [&second, &third] {
        api.me(token).await.assert_error(401, "session_revoked");
    }
    assert_eq!(api.me(&first.access_token).await.status, 200);
    // The cached user behind the kept session carries the new password: a
    // second change must be checked against it, not the old one.
    let again = api
        .post(
            paths::CHANGE_PASSWORD,
            Some(json!({
                "currentPassword": PASSWORD,
                "password": "Other-cello-Basalt-88",
                "passwordConfirm": "Other-cello-Basalt-88",
            })),
            Some(&first.access_token),
            None,
        )
        .await;
    assert_eq!(again.status / 100, 4, "{}", again.text);

    // Master logout ends the rest, at once.
    let master = api
        .post(paths::MASTER_LOGOUT, None, Some(&first.access_token), None)
        .await;
    assert_eq!(master.status, 205, "{}", master.text);
    api.me(&first.access_token)
        .await
        .assert_error(401, "session_revoked");
    // Another user is not affected.
    assert_eq!(api.me(&bystander.access_token).await.status, 200);
}

#[tokio::test]
async fn a_session_ended_by_another_process_is_noticed_within_the_ttl() {
    let server = Server::builder()
        .env("GATEPASS_SESSION_CACHE_TTL", "1s")
        .start();
    let api = server.api();
    let session = api.signup(&unique_email("elsewhere")).await;
    warm(&api, &session.access_token).await;

    // Another server process on the same database ends every session.
    assert!(server.sql("UPDATE sessions SET ended_at = 1").await >= 1);
    let started = std::time::Instant::now();
    wait_for(
        "the cached session to lapse",
        Duration::from_secs(5),
        || {
            let api = api.clone();
            let token = session.access_token.clone();
            async move { (api.me(&token).await.status == 401).then_some(()) }
        },
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "noticed after {:?}, beyond the 1 s TTL",
        started.elapsed()
    );
}

#[tokio::test]
async fn with_the_cache_off_another_process_is_noticed_at_once() {
    let server = Server::builder()
        .env("GATEPASS_SESSION_CACHE_TTL", "0s")
        .start();
    let api = server.api();
    let session = api.signup(&unique_email("uncached")).await;
    warm(&api, &session.access_token).await;
    assert!(server.sql("UPDATE sessions SET ended_at = 1").await >= 1);
    api.me(&session.access_token)
        .await
        .assert_error(401, "session_revoked");
}
