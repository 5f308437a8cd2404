//! Forgot and reset password, with a real SMTP sink and in outbox mode.

use std::time::Duration;

use gatepass_tests::{unique_email, wait_for, Server, SmtpSink, PASSWORD};

const MAIL_WAIT: Duration = Duration::from_secs(20);
const NEW_PASSWORD: &str = "N3w-horse-battery-staple!";

/// The token at the end of the newest reset link mailed to `email`.
fn reset_token_from_mail(sink: &SmtpSink, email: &str, count: usize, base: &str) -> String {
    let mails = sink.wait_for_mails_to(email, count, MAIL_WAIT);
    let mail = mails.last().unwrap();
    let link = mail
        .link_starting_with(&format!("{base}/"))
        .unwrap_or_else(|| panic!("no link under {base} in:\n{}", mail.decoded()));
    link.rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn known_and_unknown_addresses_get_the_same_answer_and_only_one_mail() {
    let sink = SmtpSink::start();
    let server = Server::builder().smtp(&sink).start();
    let api = server.api();
    let known = unique_email("known");
    let unknown = unique_email("unknown");
    api.signup(&known).await;

    let a = api.forgot(&known).await;
    let b = api.forgot(&unknown).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!((a.status, &a.body), (b.status, &b.body));
    assert_eq!(a.body["success"], true);
    assert!(a.body["message"].is_string() && a.body["feedback"].is_string());

    let mails = sink.wait_for_mails_to(&known, 1, MAIL_WAIT);
    let mail = &mails[0];
    assert_eq!(mail.subject().as_deref(), Some("Reset your password"));
    let decoded = mail.decoded();
    assert!(decoded.contains("text/plain") && decoded.contains("text/html"));
    assert!(
        mail.link_starting_with("http://localhost:3000/change-pass/")
            .is_some(),
        "{decoded}"
    );
    // The unknown address gets nothing (the known one's mail came after its request).
    assert!(sink.mails_to(&unknown).is_empty());
    // A malformed address is a 422 whatever exists.
    api.forgot("nope")
        .await
        .assert_error(422, "validation_failed");
}

#[tokio::test]
async fn the_reset_base_header_is_honoured_only_for_allowed_origins() {
    let sink = SmtpSink::start();
    let server = Server::builder()
        .smtp(&sink)
        .env("AUTH_FORGOT_COOLDOWN", "1ms")
        .env(
            "AUTH_CORS_ORIGINS",
            "http://localhost:3000,https://app.example.com",
        )
        .start();
    let api = server.api();
    let email = unique_email("base");
    api.signup(&email).await;

    api.forgot_with_base(&email, Some("https://app.example.com/account/reset"))
        .await;
    let token = reset_token_from_mail(&sink, &email, 1, "https://app.example.com/account/reset");
    assert_eq!(token.len(), 43);

    for hostile in [
        "https://evil.example/steal",
        "https://app.example.com.evil.example/reset",
        "https://app.example.com@evil.example/",
    ] {
        let count = sink.mails_to(&email).len() + 1;
        api.forgot_with_base(&email, Some(hostile)).await;
        let mails = sink.wait_for_mails_to(&email, count, MAIL_WAIT);
        let text = mails.last().unwrap().decoded();
        assert!(
            !text.contains("evil.example"),
            "{hostile} reached the mail:\n{text}"
        );
        assert!(
            text.contains("http://localhost:3000/change-pass/"),
            "the default base is used"
        );
    }
}

#[tokio::test]
async fn a_full_reset_ends_every_session_and_confirms_by_mail() {
    let sink = SmtpSink::start();
    let server = Server::builder().smtp(&sink).start();
    let api = server.api();
    let email = unique_email("reset");
    let session = api.signup(&email).await;
    let other = api.login(&email, PASSWORD).await;

    api.forgot(&email).await;
    let token = reset_token_from_mail(&sink, &email, 1, "http://localhost:3000/change-pass");

    // Mismatch and policy failures are 422 and do not use the token up.
    api.reset(&token, NEW_PASSWORD, "different")
        .await
        .assert_error(422, "validation_failed");
    api.reset(&token, "password", "password")
        .await
        .assert_error(422, "validation_failed");

    let done = api.reset(&token, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["success"], true);
    assert!(done.body["message"].is_string());

    // Every session is over: access tokens and refresh cookies alike.
    api.me(&session.access_token)
        .await
        .assert_error(401, "session_revoked");
    api.me(&other.access_token().unwrap())
        .await
        .assert_error(401, "session_revoked");
    api.reauth(&session.refresh_token)
        .await
        .assert_error(401, "invalid_refresh_token");
    api.reauth(&other.refresh_token().unwrap())
        .await
        .assert_error(401, "invalid_refresh_token");

    // Only the new password works.
    api.login(&email, PASSWORD)
        .await
        .assert_error(400, "invalid_credentials");
    assert_eq!(api.login(&email, NEW_PASSWORD).await.status, 200);

    // The token was single-use.
    api.reset(&token, "An0ther-fine-passphrase", "An0ther-fine-passphrase")
        .await
        .assert_error(400, "invalid_reset_token");

    // And a confirmation arrived.
    let mails = sink.wait_for_mails_to(&email, 2, MAIL_WAIT);
    assert_eq!(
        mails[1].subject().as_deref(),
        Some("Your password was changed")
    );
    // The log never saw the token.
    assert!(!server.log().contains(&token));
    assert!(server.log().contains("resetpass/<redacted>"));
}

#[tokio::test]
async fn a_new_request_replaces_the_old_token() {
    let sink = SmtpSink::start();
    // The per-account cooldown (tested in abuse.rs) would hold the second mail.
    let server = Server::builder()
        .smtp(&sink)
        .env("AUTH_FORGOT_COOLDOWN", "1ms")
        .start();
    let api = server.api();
    let email = unique_email("replace");
    api.signup(&email).await;

    api.forgot(&email).await;
    let first = reset_token_from_mail(&sink, &email, 1, "http://localhost:3000/change-pass");
    api.forgot(&email).await;
    let second = reset_token_from_mail(&sink, &email, 2, "http://localhost:3000/change-pass");
    assert_ne!(first, second);

    api.reset(&first, NEW_PASSWORD, NEW_PASSWORD)
        .await
        .assert_error(400, "invalid_reset_token");
    assert_eq!(
        api.reset(&second, NEW_PASSWORD, NEW_PASSWORD).await.status,
        200
    );
    api.reset("never-issued", NEW_PASSWORD, NEW_PASSWORD)
        .await
        .assert_error(400, "invalid_reset_token");
}

#[tokio::test]
async fn reset_tokens_expire() {
    let sink = SmtpSink::start();
    // A minute is the shortest configurable lifetime: rather than wait for it,
    // the test ages the stored token.
    let server = Server::builder().smtp(&sink).start();
    let api = server.api();
    let email = unique_email("expire");
    api.signup(&email).await;
    api.forgot(&email).await;
    let token = reset_token_from_mail(&sink, &email, 1, "http://localhost:3000/change-pass");

    server
        .sql("UPDATE password_resets SET expires_at = expires_at - 3600000")
        .await;
    api.reset(&token, NEW_PASSWORD, NEW_PASSWORD)
        .await
        .assert_error(400, "invalid_reset_token");
}

#[tokio::test]
async fn a_failed_send_is_retried_and_never_changes_the_answer() {
    let sink = SmtpSink::start();
    let server = Server::builder().smtp(&sink).start();
    let api = server.api();
    let email = unique_email("retry");
    api.signup(&email).await;
    let before = api.forgot(&unique_email("nobody")).await;

    sink.refuse_next(2);
    let reply = api.forgot(&email).await;
    assert_eq!((reply.status, &reply.body), (before.status, &before.body));

    // The third attempt gets through, and the log tells the story.
    let token = reset_token_from_mail(&sink, &email, 1, "http://localhost:3000/change-pass");
    let log = server.log();
    assert!(log.contains("attempt 1 of 4 failed"), "{log}");
    assert!(log.contains("attempt 2 of 4 failed"), "{log}");
    assert!(log.contains("451"), "the cause is logged: {log}");
    assert!(!log.contains(&token));
}

#[tokio::test]
async fn outbox_mode_writes_eml_files_and_logs_their_path() {
    let server = Server::start();
    let api = server.api();
    let email = unique_email("outbox");
    api.signup(&email).await;
    api.forgot(&email).await;

    let outbox = server.data_dir().join("outbox");
    let file = wait_for("an .eml in the outbox", MAIL_WAIT, || {
        let outbox = outbox.clone();
        async move {
            std::fs::read_dir(&outbox)
                .ok()?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "eml"))
        }
    })
    .await;
    let content = std::fs::read_to_string(&file).unwrap();
    assert!(content.contains(&format!("To: {email}")), "{content}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let log = wait_for("the outbox log line", MAIL_WAIT, || {
        let log = server.log();
        async move { log.contains("mail written to").then_some(log) }
    })
    .await;
    assert!(log.contains(&file.display().to_string()), "{log}");
    assert!(
        !log.contains("change-pass/"),
        "the link is never logged:\n{log}"
    );
}
