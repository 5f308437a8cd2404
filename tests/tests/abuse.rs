//! Abuse resistance: throttling, cooldowns, timing, password change,
//! sessions housekeeping, the audit trail and the security headers.

use std::time::{Duration, Instant};

use gatepass_common::paths;
use gatepass_tests::http::RequestSpec;
use gatepass_tests::{unique_email, wait_for, Api, Reply, Server, SmtpSink, PASSWORD};
use reqwest::Method;
use serde_json::json;

fn retry_after(reply: &Reply) -> u64 {
    reply
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("429 without Retry-After: {:?}", reply.headers))
}

async fn login_from(api: &Api, email: &str, password: &str, real_ip: &str) -> Reply {
    api.send(RequestSpec {
        method: Method::POST,
        path: paths::LOGIN,
        body: Some(json!({"email": email, "password": password})),
        bearer: None,
        refresh: None,
        headers: vec![("X-Real-IP", real_ip.to_owned())],
    })
    .await
}

#[tokio::test]
async fn failed_logins_lock_the_account_with_growing_delays_known_or_not() {
    let server = Server::builder()
        .env("AUTH_LOGIN_ACCOUNT_LIMIT", "3/15m")
        .env("AUTH_LOCKOUT_BASE", "30s")
        .start();
    let api = server.api();
    let known = unique_email("locked");
    api.signup(&known).await;
    let unknown = unique_email("ghost");

    for email in [&known, &unknown] {
        for _ in 0..3 {
            api.login(email, "Wrong-horse-battery-1")
                .await
                .assert_error(400, "invalid_credentials");
        }
        // Locked: even the right password is a 429, and known and unknown
        // accounts look the same.
        let locked = api.login(email, PASSWORD).await;
        locked.assert_error(429, "too_many_attempts");
        let wait = retry_after(&locked);
        assert!(
            (25..=30).contains(&wait),
            "first lockout about 30 s, got {wait}"
        );
    }

    // When the lockout has passed (aged in the database rather than waited
    // for), the next failure locks for twice as long.
    server.sql("UPDATE throttles SET locked_until = 0").await;
    api.login(&known, "Wrong-horse-battery-1")
        .await
        .assert_error(400, "invalid_credentials");
    let again = api.login(&known, PASSWORD).await;
    again.assert_error(429, "too_many_attempts");
    let wait = retry_after(&again);
    assert!(
        (55..=60).contains(&wait),
        "second lockout about 60 s, got {wait}"
    );
}

#[tokio::test]
async fn a_success_resets_the_account_count() {
    let server = Server::builder()
        .env("AUTH_LOGIN_ACCOUNT_LIMIT", "3/15m")
        .start();
    let api = server.api();
    let email = unique_email("forgiven");
    api.signup(&email).await;
    for _ in 0..2 {
        api.login(&email, "Wrong-horse-battery-1")
            .await
            .assert_error(400, "invalid_credentials");
    }
    assert_eq!(api.login(&email, PASSWORD).await.status, 200);
    for _ in 0..2 {
        api.login(&email, "Wrong-horse-battery-1")
            .await
            .assert_error(400, "invalid_credentials");
    }
    assert_eq!(api.login(&email, PASSWORD).await.status, 200);
}

/// Per-address limits count the socket's address: a client cannot pick its
/// own address with X-Real-IP (Rocket would trust it by default).
#[tokio::test]
async fn failed_logins_lock_the_address_and_x_real_ip_does_not_dodge_it() {
    let server = Server::builder()
        .env("AUTH_LOGIN_ADDRESS_LIMIT", "4/15m")
        .env("AUTH_LOGIN_ACCOUNT_LIMIT", "100/15m")
        .start();
    let api = server.api();
    for n in 0..4 {
        let reply = login_from(
            &api,
            &unique_email("spray"),
            "Wrong-horse-battery-1",
            &format!("10.0.0.{n}"),
        )
        .await;
        reply.assert_error(400, "invalid_credentials");
    }
    let blocked = login_from(
        &api,
        &unique_email("spray"),
        "Wrong-horse-battery-1",
        "10.9.9.9",
    )
    .await;
    blocked.assert_error(429, "too_many_attempts");
    retry_after(&blocked);
}

#[tokio::test]
async fn signup_forgot_and_reauth_are_limited_per_address() {
    let server = Server::builder()
        .env("AUTH_SIGNUP_ADDRESS_LIMIT", "2/1h")
        .env("AUTH_FORGOT_ADDRESS_LIMIT", "2/1h")
        .env("AUTH_REAUTH_ADDRESS_LIMIT", "2/1h")
        .start();
    let api = server.api();
    let session = api.signup(&unique_email("limited")).await;
    api.signup(&unique_email("limited")).await;
    let third = api
        .signup_as("Ada", "Lovelace", &unique_email("limited"), PASSWORD)
        .await;
    third.assert_error(429, "too_many_attempts");
    assert!(retry_after(&third) > 3000, "the rest of the hour");

    for _ in 0..2 {
        let ok = api.forgot(&unique_email("f")).await;
        assert_eq!(ok.status, 200);
    }
    let limited = api.forgot(&unique_email("f")).await;
    limited.assert_error(429, "too_many_attempts");

    let first = api.reauth(&session.refresh_token).await;
    assert_eq!(first.status, 201);
    assert_eq!(
        api.reauth(&first.refresh_token().unwrap()).await.status,
        201
    );
    let third = api.reauth(&session.refresh_token).await;
    third.assert_error(429, "too_many_attempts");
}

/// Concurrent requests are counted together on SQLite (one upsert for a
/// batch, see `db/batch.rs`); each must still count exactly once.
#[tokio::test]
async fn concurrent_requests_each_count_once_against_the_limit() {
    let server = Server::builder()
        .env("AUTH_REAUTH_ADDRESS_LIMIT", "10/1h")
        .start();
    let racers: Vec<_> = (0..30)
        .map(|_| {
            let api = server.api();
            tokio::spawn(async move { api.reauth("not-a-refresh-token-of-this-server").await })
        })
        .collect();
    let mut replies = Vec::new();
    for racer in racers {
        replies.push(racer.await.expect("the request task"));
    }
    let refused = replies.iter().filter(|r| r.status == 401).count();
    let limited = replies.iter().filter(|r| r.status == 429).count();
    assert_eq!((refused, limited), (10, 20), "30 requests at a limit of 10");
}

/// Concurrent rotations of distinct sessions (applied in one batch on
/// SQLite) each rotate their own session, and only it.
#[tokio::test]
async fn concurrent_rotations_of_distinct_sessions_each_rotate_their_own() {
    let server = Server::start();
    let api = server.api();
    let mut sessions = Vec::new();
    for n in 0..12 {
        sessions.push(api.signup(&unique_email(&format!("batch{n}"))).await);
    }
    let racers: Vec<_> = sessions
        .iter()
        .map(|session| {
            let (api, token) = (server.api(), session.refresh_token.clone());
            tokio::spawn(async move { api.reauth(&token).await })
        })
        .collect();
    let mut rotated = Vec::new();
    for racer in racers {
        rotated.push(racer.await.expect("the request task"));
    }
    for (session, reply) in sessions.iter().zip(&rotated) {
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        let me = api.me(reply.access_token().as_deref().unwrap()).await;
        assert_eq!(me.body["user"]["email"], session.email.as_str());
        let again = api.reauth(&reply.refresh_token().unwrap()).await;
        assert_eq!(
            again.status, 201,
            "the new cookie is the session's current one"
        );
    }
    let cookies: std::collections::HashSet<_> =
        rotated.iter().map(|r| r.refresh_token().unwrap()).collect();
    assert_eq!(
        cookies.len(),
        sessions.len(),
        "every session got its own token"
    );
}

#[tokio::test]
async fn forgot_has_a_silent_per_account_cooldown() {
    let sink = SmtpSink::start();
    let server = Server::builder().smtp(&sink).start();
    let api = server.api();
    let email = unique_email("cooldown");
    api.signup(&email).await;

    let first = api.forgot(&email).await;
    let second = api.forgot(&email).await;
    assert_eq!(
        (first.status, &first.body),
        (second.status, &second.body),
        "no 429 tells anything"
    );

    wait_for(
        "the cooldown to be applied",
        Duration::from_secs(20),
        || {
            let log = server.log();
            async move { log.contains("skipped: cooldown").then_some(()) }
        },
    )
    .await;
    assert_eq!(
        sink.wait_for_mails_to(&email, 1, Duration::from_secs(20))
            .len(),
        1
    );
    assert_eq!(
        sink.mails_to(&email).len(),
        1,
        "one mail despite two requests"
    );
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn timed(reply: impl std::future::Future<Output = Reply>) -> (Duration, Reply) {
    let started = Instant::now();
    let reply = reply.await;
    (started.elapsed(), reply)
}

/// Unknown emails take as long as known ones, at login and at forgot
/// (over interleaved requests, so machine noise hits both alike: the fastest
/// login of each, the median forgot).
#[tokio::test]
async fn unknown_and_known_emails_take_the_same_time() {
    let server = Server::builder()
        .env("AUTH_LOGIN_ACCOUNT_LIMIT", "1000/15m")
        .env("AUTH_LOGIN_ADDRESS_LIMIT", "1000/15m")
        .env("AUTH_FORGOT_ADDRESS_LIMIT", "1000/15m")
        .env("AUTH_FORGOT_COOLDOWN", "1ms")
        .start();
    let api = server.api();
    let known = unique_email("timing");
    api.signup(&known).await;

    let (mut login_known, mut login_unknown) = (Vec::new(), Vec::new());
    let (mut forgot_known, mut forgot_unknown) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        let (t, r) = timed(api.login(&known, "Wrong-horse-battery-1")).await;
        assert_eq!(r.status, 400);
        login_known.push(t);
        let (t, r) = timed(api.login(&unique_email("nobody"), "Wrong-horse-battery-1")).await;
        assert_eq!(r.status, 400);
        login_unknown.push(t);
        let (t, _) = timed(api.forgot(&known)).await;
        forgot_known.push(t);
        let (t, _) = timed(api.forgot(&unique_email("nobody"))).await;
        forgot_unknown.push(t);
    }
    // The fastest of each: other work on the machine only ever adds time
    // (and the hashing threads run at a lower priority), so a busy machine
    // moves medians apart while the minimum stays the cost of the request;
    // a missing bcrypt hash would still show as a gap of most of it.
    let fastest = |samples: &[Duration]| samples.iter().copied().min().expect("samples");
    let (known_login, unknown_login) = (fastest(&login_known), fastest(&login_unknown));
    let gap = known_login.abs_diff(unknown_login);
    assert!(
        gap < known_login / 4,
        "login: known {known_login:?} vs unknown {unknown_login:?}: a bcrypt-sized gap would show ({login_known:?} / {login_unknown:?})"
    );
    let (known_forgot, unknown_forgot) = (median(forgot_known), median(forgot_unknown));
    assert!(
        known_forgot.abs_diff(unknown_forgot) < Duration::from_millis(10),
        "forgot: known {known_forgot:?} vs unknown {unknown_forgot:?}"
    );
}

#[tokio::test]
async fn change_password_checks_the_current_one_and_ends_other_sessions() {
    let sink = SmtpSink::start();
    let server = Server::builder().smtp(&sink).start();
    let api = server.api();
    let email = unique_email("change");
    let here = api.signup(&email).await;
    let elsewhere = api.login(&email, PASSWORD).await;
    let new_password = "Fresh-violin-Quartz-77";

    let change = |current: &'static str, next: &'static str| {
        let api = api.clone();
        let token = here.access_token.clone();
        async move {
            api.post(
                paths::CHANGE_PASSWORD,
                Some(
                    json!({"currentPassword": current, "password": next, "passwordConfirm": next}),
                ),
                Some(&token),
                None,
            )
            .await
        }
    };
    change("Not-my-password-9", "Fresh-violin-Quartz-77")
        .await
        .assert_error(400, "wrong_password");
    change(PASSWORD, "password1")
        .await
        .assert_error(422, "validation_failed");
    // A password built from the user's own name or email is refused.
    change(PASSWORD, "AdaLovelace1815")
        .await
        .assert_error(422, "validation_failed");

    let done = change(PASSWORD, "Fresh-violin-Quartz-77").await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(
        api.me(&here.access_token).await.status,
        200,
        "this session goes on"
    );
    api.me(&elsewhere.access_token().unwrap())
        .await
        .assert_error(401, "session_revoked");
    api.reauth(&elsewhere.refresh_token().unwrap())
        .await
        .assert_error(401, "invalid_refresh_token");
    assert_eq!(api.login(&email, new_password).await.status, 200);
    api.login(&email, PASSWORD)
        .await
        .assert_error(400, "invalid_credentials");

    let mails = sink.wait_for_mails_to(&email, 1, Duration::from_secs(20));
    assert_eq!(
        mails[0].subject().as_deref(),
        Some("Your password was changed")
    );
}

#[tokio::test]
async fn every_authentication_event_is_audited_without_secrets() {
    let server = Server::builder()
        .env("AUTH_REFRESH_REUSE_GRACE", "0s")
        .start();
    let api = server.api();
    let email = unique_email("audit");
    let session = api.signup(&email).await;
    api.login(&email, "Wrong-horse-battery-1").await;
    let login = api.login(&email, PASSWORD).await;
    let rotated = api.reauth(&session.refresh_token).await;
    api.reauth(&session.refresh_token)
        .await
        .assert_error(401, "refresh_token_reused");
    api.post(
        paths::LOGOUT,
        None,
        Some(&login.access_token().unwrap()),
        None,
    )
    .await;
    assert_eq!(rotated.status, 201);

    let events = wait_for("the audit rows", Duration::from_secs(10), || {
        let server = &server;
        async move {
            let events = server
                .sql_column("SELECT event FROM audit_events ORDER BY id")
                .await;
            (events.len() >= 6).then_some(events)
        }
    })
    .await;
    assert_eq!(
        events,
        [
            "signup",
            "login_failed",
            "login_succeeded",
            "refreshed",
            "refresh_reused",
            "logout"
        ]
    );
    let addresses = server.sql_column("SELECT ip FROM audit_events").await;
    assert!(
        addresses.iter().all(|ip| ip == "127.0.0.1"),
        "{addresses:?}"
    );
    let log = server.log();
    assert!(log.contains("event=login_failed"), "{log}");
    assert!(log.contains("event=refresh_reused"), "{log}");
    for secret in [PASSWORD, &session.refresh_token, &session.access_token] {
        assert!(!log.contains(secret));
    }
}

#[tokio::test]
async fn ended_sessions_are_pruned_periodically() {
    let server = Server::builder()
        .env("GATEPASS_PRUNE_INTERVAL", "200ms")
        .start();
    let api = server.api();
    let email = unique_email("prune");
    let ended = api.signup(&email).await;
    let live = api.login(&email, PASSWORD).await;
    api.post(paths::LOGOUT, None, Some(&ended.access_token), None)
        .await;

    let remaining = wait_for(
        "the ended session to be pruned",
        Duration::from_secs(20),
        || {
            let server = &server;
            async move {
                let ids = server.sql_column("SELECT id FROM sessions").await;
                (ids.len() == 1).then_some(ids)
            }
        },
    )
    .await;
    assert_eq!(remaining.len(), 1);
    assert_eq!(api.me(&live.access_token().unwrap()).await.status, 200);
}

#[tokio::test]
async fn responses_carry_the_security_headers() {
    let server = Server::start();
    let api = server.api();
    let signup = api
        .signup_as("Ada", "Lovelace", &unique_email("headers"), PASSWORD)
        .await;
    let error = api.get("/nowhere", None).await;
    let health = api.get(paths::HEALTH, None).await;
    for reply in [&signup, &error, &health] {
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
    }
}
