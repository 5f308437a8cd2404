//! Reset links: a change of password makes every link mailed before it
//! worthless, and `X-reset-base` is honoured only as an allowed origin
//! followed by a plain path, so an open redirect on the front-end cannot
//! carry the token away.

use std::time::Duration;

use gatepass_common::paths;
use gatepass_tests::{unique_email, Server, SmtpSink, PASSWORD};
use serde_json::json;

const MAIL_WAIT: Duration = Duration::from_secs(20);
const DEFAULT_BASE: &str = "http://localhost:3000/change-pass";

/// The newest reset link mailed to `email` (the `count`-th mail).
fn reset_link(sink: &SmtpSink, email: &str, count: usize) -> String {
    let mails = sink.wait_for_mails_to(email, count, MAIL_WAIT);
    let mail = mails.last().expect("a mail");
    mail.link_starting_with("http")
        .unwrap_or_else(|| panic!("no link in:\n{}", mail.decoded()))
}

/// A server that mails through `sink`, with no cooldown between reset mails.
fn mailing_server(sink: &SmtpSink) -> Server {
    Server::builder()
        .smtp(sink)
        .env("AUTH_FORGOT_COOLDOWN", "1ms")
        .env("AUTH_FORGOT_ADDRESS_LIMIT", "100/1h")
        .start()
}

fn token_of(link: &str) -> String {
    link.rsplit('/').next().expect("a token").to_owned()
}

#[tokio::test]
async fn a_password_change_voids_reset_links_mailed_before_it() {
    let sink = SmtpSink::start();
    let server = mailing_server(&sink);
    let api = server.api();
    let email = unique_email("voided");
    let session = api.signup(&email).await;

    // A link is mailed; then the user changes the password while signed in.
    api.forgot(&email).await;
    let stale = token_of(&reset_link(&sink, &email, 1));
    let changed = "Changed-horse-battery-3";
    let reply = api
        .post(
            paths::CHANGE_PASSWORD,
            Some(json!({"currentPassword": PASSWORD, "password": changed, "passwordConfirm": changed})),
            Some(&session.access_token),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let attacker = "Attacker-horse-battery-4";
    api.reset(&stale, attacker, attacker)
        .await
        .assert_error(400, "invalid_reset_token");
    assert_eq!(api.login(&email, changed).await.status, 200);
    let rows = server
        .sql_column("SELECT user_id FROM password_resets")
        .await;
    assert!(rows.is_empty(), "reset tokens left: {rows:?}");
}

#[tokio::test]
async fn a_completed_reset_leaves_no_reset_token_behind() {
    let sink = SmtpSink::start();
    let server = mailing_server(&sink);
    let api = server.api();
    let email = unique_email("completed");
    api.signup(&email).await;
    api.forgot(&email).await;
    let token = token_of(&reset_link(&sink, &email, 1));
    let fresh = "Fresh-horse-battery-5";
    assert_eq!(api.reset(&token, fresh, fresh).await.status, 200);
    api.reset(&token, "Again-horse-battery-6", "Again-horse-battery-6")
        .await
        .assert_error(400, "invalid_reset_token");
    assert!(server
        .sql_column("SELECT user_id FROM password_resets")
        .await
        .is_empty());
}

#[tokio::test]
async fn a_reset_base_with_more_than_a_plain_path_falls_back_to_the_default() {
    let sink = SmtpSink::start();
    let server = mailing_server(&sink);
    let api = server.api();
    let email = unique_email("redirect");
    api.signup(&email).await;

    let hostile = [
        "http://localhost:3000/redirect?to=https://evil.example/",
        "http://localhost:3000//evil.example/",
        "http://localhost:3000/reset#https://evil.example/",
        "http://localhost:3000/a/../../evil.example",
        "http://localhost:3000/%2F%2Fevil.example",
        "http://localhost:3000/a%2fb",
        "http://localhost:3000.evil.example/reset",
    ];
    for (n, base) in hostile.iter().enumerate() {
        assert_eq!(api.forgot_with_base(&email, Some(base)).await.status, 200);
        let link = reset_link(&sink, &email, n + 1);
        assert!(
            link.starts_with(&format!("{DEFAULT_BASE}/")),
            "{base} gave the link {link}"
        );
        assert!(!link.contains("evil"), "{link}");
    }
    // A plain path under the allowed origin is honoured.
    let plain = "http://localhost:3000/account/reset";
    api.forgot_with_base(&email, Some(plain)).await;
    let link = reset_link(&sink, &email, hostile.len() + 1);
    assert!(link.starts_with(&format!("{plain}/")), "{link}");
}
