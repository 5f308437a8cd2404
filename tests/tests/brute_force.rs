//! Brute force under concurrency: every login attempt is counted before its
//! password is checked, so a burst of simultaneous requests checks at most a
//! limit's worth of passwords, per account and per address, in one server
//! process or several; and a burst earns one lockout, not the cap.
//!
//! "Checked" is counted from the answers: a checked wrong password is a 400
//! `invalid_credentials`, an attempt refused before its check is a 429.

use std::sync::Arc;

use gatepass_common::paths;
use gatepass_tests::{unique_email, Api, Reply, Server, ServerBuilder, PASSWORD};
use serde_json::json;
use tokio::sync::Barrier;

const WRONG: &str = "Wrong-horse-battery-1";

/// Sends `n` wrong-password logins at once, for the emails `email(i)`: each
/// task waits at a barrier until all are ready, then sends. `apis[i %
/// apis.len()]` sends the i-th.
async fn burst<F>(apis: &[Api], n: usize, email: F) -> Vec<Reply>
where
    F: Fn(usize) -> String,
{
    let barrier = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let api = apis[i % apis.len()].clone();
            let barrier = barrier.clone();
            let body = json!({"email": email(i), "password": WRONG});
            tokio::spawn(async move {
                barrier.wait().await;
                api.post(paths::LOGIN, Some(body), None, None).await
            })
        })
        .collect();
    let mut replies = Vec::with_capacity(n);
    for task in tasks {
        replies.push(task.await.expect("request task"));
    }
    replies
}

/// `n` wrong passwords for one account, at once.
async fn burst_at(api: &Api, email: &str, n: usize) -> Vec<Reply> {
    burst(std::slice::from_ref(api), n, |_| email.to_owned()).await
}

/// (checked, refused) of a burst's answers; anything else fails the test.
fn tally(replies: &[Reply]) -> (usize, usize) {
    let mut checked = 0;
    let mut refused = 0;
    for reply in replies {
        match (reply.status, reply.code()) {
            (400, "invalid_credentials") => checked += 1,
            (429, "too_many_attempts") => {
                assert!(
                    reply.header("retry-after").is_some(),
                    "429 without Retry-After"
                );
                refused += 1;
            }
            _ => panic!(
                "unexpected answer in a burst: {} {}",
                reply.status, reply.text
            ),
        }
    }
    (checked, refused)
}

fn retry_after(reply: &Reply) -> u64 {
    reply
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After: {}", reply.text))
}

#[tokio::test]
async fn forty_simultaneous_wrong_passwords_for_one_account_check_five() {
    let server = Server::builder()
        .env("AUTH_LOGIN_ACCOUNT_LIMIT", "5/15m")
        .env("AUTH_LOGIN_ADDRESS_LIMIT", "1000/15m")
        .env("AUTH_LOCKOUT_BASE", "60s")
        .start();
    let api = server.api();
    let email = unique_email("burst");
    api.signup(&email).await;

    let replies = burst_at(&api, &email, 40).await;
    assert_eq!(tally(&replies), (5, 35), "5 passwords checked, 35 refused");

    // One burst is one lockout event: the base lockout, not the cap.
    let locked = api.login(&email, PASSWORD).await;
    locked.assert_error(429, "too_many_attempts");
    let wait = retry_after(&locked);
    assert!(
        (50..=60).contains(&wait),
        "the base lockout (60 s), got {wait} s"
    );
    let lockouts = server
        .sql_column("SELECT lockout_ms FROM throttles WHERE bucket LIKE 'login:account:%'")
        .await;
    assert_eq!(lockouts, ["60000"], "one lockout of the base length");

    // When it has passed (aged in the database, not waited for), the owner's
    // right password works.
    server.sql("UPDATE throttles SET locked_until = 1").await;
    assert_eq!(api.login(&email, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn simultaneous_failures_from_one_address_check_at_most_its_limit() {
    let server = Server::builder()
        .env("AUTH_LOGIN_ACCOUNT_LIMIT", "5/15m")
        .env("AUTH_LOGIN_ADDRESS_LIMIT", "20/15m")
        .start();
    let api = server.api();
    // 120 different emails, so no account limit is near.
    let replies = burst(&[api], 120, |_| unique_email("spray")).await;
    assert_eq!(
        tally(&replies),
        (20, 100),
        "20 passwords checked, 100 refused"
    );
    // Only the address's bucket locked; each account was tried once.
    let locked = server
        .sql_column("SELECT bucket FROM throttles WHERE locked_until > 0")
        .await;
    assert_eq!(locked, ["login:address:127.0.0.1"]);
}

#[tokio::test]
async fn the_lockout_doubles_per_lockout_not_per_request() {
    let server = Server::builder()
        .env("AUTH_LOGIN_ACCOUNT_LIMIT", "3/15m")
        .env("AUTH_LOGIN_ADDRESS_LIMIT", "1000/15m")
        .env("AUTH_LOCKOUT_BASE", "30s")
        .start();
    let api = server.api();
    let email = unique_email("grow");
    api.signup(&email).await;

    let lockout_ms = || async {
        server
            .sql_column("SELECT lockout_ms FROM throttles WHERE bucket LIKE 'login:account:%'")
            .await
    };
    let first = burst_at(&api, &email, 25).await;
    assert_eq!(tally(&first), (3, 22));
    assert_eq!(lockout_ms().await, ["30000"]);

    // A second burst during the lockout checks nothing and changes nothing.
    let during = burst_at(&api, &email, 25).await;
    assert_eq!(tally(&during), (0, 25));
    assert_eq!(lockout_ms().await, ["30000"]);

    // After it, one attempt is checked; the next crossing is the second
    // lockout event, twice as long, whatever the burst's size.
    server.sql("UPDATE throttles SET locked_until = 1").await;
    let after = burst_at(&api, &email, 25).await;
    assert_eq!(tally(&after), (1, 24));
    assert_eq!(lockout_ms().await, ["60000"]);
    let wait = retry_after(&api.login(&email, PASSWORD).await);
    assert!(
        (55..=60).contains(&wait),
        "second lockout about 60 s, got {wait}"
    );
}

/// Settings both servers of a pair share (their tokens must verify on both).
fn shared(builder: ServerBuilder) -> ServerBuilder {
    builder
        .env(
            "AUTH_ACCESS_TOKEN_SECRET",
            "brute-force-access-secret-0123456789abcdef",
        )
        .beside_others("brute-force-refresh-secret-0123456789abcdef")
        .env("AUTH_LOGIN_ACCOUNT_LIMIT", "5/15m")
        .env("AUTH_LOGIN_ADDRESS_LIMIT", "15/15m")
}

#[tokio::test]
async fn two_server_processes_on_one_database_share_both_limits() {
    let a = shared(Server::builder()).start();
    let b = shared(Server::builder()).database_of(&a).start();
    let apis = [a.api(), b.api()];
    let email = unique_email("pair");
    apis[0].signup(&email).await;

    // One account, from both servers at once.
    let replies = burst(&apis, 40, |_| email.clone()).await;
    assert_eq!(tally(&replies), (5, 35));

    // One address, many accounts, from both servers at once (5 of the
    // address's 15 are spent above).
    let replies = burst(&apis, 60, |_| unique_email("pair-spray")).await;
    assert_eq!(tally(&replies), (10, 50));
}

#[tokio::test]
async fn wrong_current_passwords_count_against_the_account_login_limit() {
    let server = Server::builder()
        .env("AUTH_LOGIN_ACCOUNT_LIMIT", "5/15m")
        .start();
    let api = server.api();
    let email = unique_email("oracle");
    let session = api.signup(&email).await;
    let change = |current: &str| {
        let api = api.clone();
        let token = session.access_token.clone();
        let body = json!({"currentPassword": current, "password": "Fresh-horse-battery-9", "passwordConfirm": "Fresh-horse-battery-9"});
        async move {
            api.post(paths::CHANGE_PASSWORD, Some(body), Some(&token), None)
                .await
        }
    };
    for n in 0..5 {
        change(&format!("{WRONG}{n}"))
            .await
            .assert_error(400, "wrong_password");
    }
    // The sixth guess is refused before it is checked, and so is the right
    // password, and a login: they share the account's limit.
    change("Still-wrong-1")
        .await
        .assert_error(429, "too_many_attempts");
    change(PASSWORD)
        .await
        .assert_error(429, "too_many_attempts");
    api.login(&email, PASSWORD)
        .await
        .assert_error(429, "too_many_attempts");
}

#[tokio::test]
async fn simultaneous_wrong_current_passwords_check_at_most_the_limit() {
    let server = Server::builder()
        .env("AUTH_LOGIN_ACCOUNT_LIMIT", "5/15m")
        .start();
    let api = server.api();
    let session = api.signup(&unique_email("oracle-burst")).await;
    let barrier = Arc::new(Barrier::new(30));
    let tasks: Vec<_> = (0..30)
        .map(|n| {
            let api = api.clone();
            let token = session.access_token.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let body = json!({"currentPassword": format!("{WRONG}{n}"), "password": "Fresh-horse-battery-9", "passwordConfirm": "Fresh-horse-battery-9"});
                barrier.wait().await;
                api.post(paths::CHANGE_PASSWORD, Some(body), Some(&token), None)
                    .await
            })
        })
        .collect();
    let mut checked = 0;
    let mut refused = 0;
    for task in tasks {
        let reply = task.await.expect("task");
        match (reply.status, reply.code()) {
            (400, "wrong_password") => checked += 1,
            (429, "too_many_attempts") => refused += 1,
            _ => panic!("unexpected: {} {}", reply.status, reply.text),
        }
    }
    assert_eq!((checked, refused), (5, 25));
}
