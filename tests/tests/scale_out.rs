//! Two server processes on one database, as behind a load balancer: what one
//! does, the other sees at once. On PostgreSQL when the suite runs on it
//! (`GATEPASS_TEST_POSTGRES_URL`, as `.ci/run` does in its second pass),
//! else on one shared SQLite file.

use std::collections::HashSet;
use std::time::Duration;

use gatepass_common::paths;
use gatepass_tests::{unique_email, wait_for, Api, Server, ServerBuilder, SmtpSink, PASSWORD};

/// Settings both servers share: the secrets (a token signed by one must verify
/// on the other), and the given ones.
fn shared(settings: &[(&str, &str)]) -> ServerBuilder {
    let mut builder = Server::builder()
        .env(
            "AUTH_ACCESS_TOKEN_SECRET",
            "scale-out-access-secret-0123456789abcdef",
        )
        .beside_others("scale-out-refresh-secret-0123456789abcdef");
    for (name, value) in settings {
        builder = builder.env(name, *value);
    }
    builder
}

/// Servers A and B on one database.
fn pair(settings: &[(&str, &str)]) -> (Server, Server) {
    let a = shared(settings).start();
    let b = shared(settings).database_of(&a).start();
    assert_eq!(a.database_url(), b.database_url());
    (a, b)
}

#[tokio::test]
async fn a_session_started_on_one_server_refreshes_on_the_other() {
    let (a, b) = pair(&[]);
    let session = a.api().signup(&unique_email("roam")).await;

    let me = b.api().me(&session.access_token).await;
    assert_eq!(me.status, 200, "A's access token on B: {}", me.text);
    assert_eq!(me.body["user"], session.user);

    let on_b = b.api().reauth(&session.refresh_token).await;
    assert_eq!(on_b.status, 201, "A's refresh cookie on B: {}", on_b.text);
    let rotated = on_b.refresh_token().expect("a rotated cookie");
    assert_ne!(rotated, session.refresh_token);

    // And back: B's rotation is what A now knows as current.
    let on_a = a.api().reauth(&rotated).await;
    assert_eq!(on_a.status, 201, "{}", on_a.text);
    let me = a.api().me(&on_a.access_token().unwrap()).await;
    assert_eq!(me.status, 200, "{}", me.text);
}

#[tokio::test]
async fn master_logout_on_one_server_ends_sessions_on_the_other_at_once() {
    let (a, b) = pair(&[]);
    let email = unique_email("everywhere");
    let first = a.api().signup(&email).await;
    let second = a.api().login(&email, PASSWORD).await;
    assert_eq!(second.status, 200, "{}", second.text);
    let second_token = second.access_token().unwrap();
    let on_b = b.api().login(&email, PASSWORD).await;
    assert_eq!(on_b.status, 200, "{}", on_b.text);
    let on_b_token = on_b.access_token().unwrap();
    // A has served both of its sessions (so would have cached them).
    for token in [&first.access_token, &second_token] {
        assert_eq!(a.api().me(token).await.status, 200);
    }

    let out = b
        .api()
        .post(paths::MASTER_LOGOUT, None, Some(&on_b_token), None)
        .await;
    assert_eq!(out.status, 205, "{}", out.text);

    // At once, on A: no access token and no refresh cookie works.
    for token in [&first.access_token, &second_token, &on_b_token] {
        a.api().me(token).await.assert_error(401, "session_revoked");
    }
    a.api()
        .reauth(&first.refresh_token)
        .await
        .assert_error(401, "invalid_refresh_token");
}

#[tokio::test]
async fn a_logout_on_one_server_ends_the_session_on_the_other_at_once() {
    let (a, b) = pair(&[]);
    let session = a.api().signup(&unique_email("single")).await;
    assert_eq!(a.api().me(&session.access_token).await.status, 200);
    let out = b
        .api()
        .post(paths::LOGOUT, None, Some(&session.access_token), None)
        .await;
    assert_eq!(out.status, 205, "{}", out.text);
    a.api()
        .me(&session.access_token)
        .await
        .assert_error(401, "session_revoked");
}

#[tokio::test]
async fn throttling_counts_failures_across_both_servers() {
    let (a, b) = pair(&[
        ("AUTH_LOGIN_ACCOUNT_LIMIT", "4/15m"),
        ("AUTH_LOCKOUT_BASE", "30s"),
    ]);
    let email = unique_email("spread");
    a.api().signup(&email).await;
    // Two failures on each: neither server alone reached the limit of four.
    for server in [&a, &b, &a, &b] {
        server
            .api()
            .login(&email, "Wrong-horse-battery-1")
            .await
            .assert_error(400, "invalid_credentials");
    }
    // Locked on both, even with the right password.
    for server in [&a, &b] {
        server
            .api()
            .login(&email, PASSWORD)
            .await
            .assert_error(429, "too_many_attempts");
    }
}

#[tokio::test]
async fn fifty_concurrent_refreshes_of_one_token_make_one_rotation() {
    let (a, b) = pair(&[
        ("AUTH_REFRESH_REUSE_GRACE", "10m"),
        ("AUTH_REAUTH_ADDRESS_LIMIT", "1000/1m"),
    ]);
    let session = a.api().signup(&unique_email("stampede")).await;

    let mut racers = Vec::new();
    for n in 0..50 {
        let base = if n % 2 == 0 { &a.base_url } else { &b.base_url }.clone();
        let token = session.refresh_token.clone();
        racers.push(tokio::spawn(
            async move { Api::new(&base).reauth(&token).await },
        ));
    }
    let mut cookies = HashSet::new();
    for racer in racers {
        let reply = racer.await.expect("the request task");
        assert_eq!(reply.status, 201, "every racer is answered: {}", reply.text);
        cookies.insert(reply.refresh_token().expect("a refresh cookie"));
        let me = a.api().me(&reply.access_token().unwrap()).await;
        assert_eq!(me.status, 200, "{}", me.text);
    }
    // One rotation: the winner's new token is what every other racer got
    // (inside the grace window), and the old one was retired once.
    assert_eq!(cookies.len(), 1, "one current token: {cookies:?}");
    let current = cookies.into_iter().next().unwrap();
    assert_ne!(current, session.refresh_token);
    assert_eq!(
        a.sql_column("SELECT COUNT(*) FROM retired_refresh_tokens")
            .await,
        vec!["1"]
    );
    // The session is intact: its current token rotates, on either server.
    assert_eq!(b.api().reauth(&current).await.status, 201);
}

#[tokio::test]
async fn a_reset_mailed_by_one_server_is_used_on_the_other_and_both_audit_to_one_table() {
    let sink = SmtpSink::start();
    let port = sink.port().to_string();
    let (a, b) = pair(&[
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", &port),
        ("SMTP_TLS", "none"),
    ]);
    let email = unique_email("reset-across");
    let session = a.api().signup(&email).await;

    let asked = a.api().forgot(&email).await;
    assert_eq!(asked.status, 200, "{}", asked.text);
    let mails = sink.wait_for_mails_to(&email, 1, Duration::from_secs(20));
    let link = mails[0]
        .link_starting_with("http://localhost:3000/change-pass/")
        .expect("a reset link");
    let token = link.rsplit('/').next().unwrap();

    let new_password = "N3w-horse-battery-staple!";
    let reset = b.api().reset(token, new_password, new_password).await;
    assert_eq!(
        reset.status, 200,
        "the token A stored, used on B: {}",
        reset.text
    );
    // The reset on B ended the session A started, at once.
    a.api()
        .me(&session.access_token)
        .await
        .assert_error(401, "session_revoked");
    assert_eq!(a.api().login(&email, new_password).await.status, 200);

    // One audit trail: A's events and B's, in one table.
    let user_id = session.id().to_owned();
    let query = format!("SELECT event FROM audit_events WHERE user_id = '{user_id}' ORDER BY id");
    let events = wait_for(
        "the audit rows of both servers",
        Duration::from_secs(20),
        || {
            let query = query.clone();
            let a = &a;
            async move {
                let events = a.sql_column(&query).await;
                EXPECTED
                    .iter()
                    .all(|event| events.iter().any(|e| e == event))
                    .then_some(events)
            }
        },
    )
    .await;
    // B's reset comes after A's request in the one sequence.
    let at = |event: &str| events.iter().position(|e| e == event).unwrap();
    assert!(at("reset_requested") < at("reset_completed"), "{events:?}");
}

/// Audit events of the reset test: A's signup and request, B's reset, A's login.
const EXPECTED: [&str; 4] = [
    "signup",
    "reset_requested",
    "reset_completed",
    "login_succeeded",
];
