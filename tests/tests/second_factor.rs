//! Two-factor sign-in (issue 17), from outside: enrolment, sign-in with a
//! code or a recovery code, the step window, no replay, challenge expiry,
//! throttling of wrong codes, the step-up of a password change, turning it
//! off, mail notices, audit rows, and two servers on one database. Codes come
//! from the tests' own authenticator (`tests/src/totp.rs`). On PostgreSQL too
//! when the suite runs on it.

use std::time::{Duration, Instant};

use gatepass_common::paths;
use gatepass_tests::http::RequestSpec;
use gatepass_tests::totp::{code, now_step, Authenticator};
use gatepass_tests::{unique_email, Api, Reply, Server, ServerBuilder, SignedIn, SmtpSink};
use reqwest::Method;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery staple";
const REFRESH_SECRET: &str = "second-factor-refresh-secret-0123456789abcdef";

fn builder() -> ServerBuilder {
    Server::builder().beside_others(REFRESH_SECRET)
}

async fn signup(api: &Api, tag: &str) -> SignedIn {
    let email = unique_email(tag);
    let reply = api.signup_as("Ada", "Lovelace", &email, PASSWORD).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    SignedIn::from_reply(&reply, &email)
}

/// Sets up and confirms TOTP for `user`: its authenticator and recovery codes.
async fn enrol(api: &Api, user: &SignedIn) -> (Authenticator, Vec<String>) {
    let token = Some(user.access_token.as_str());
    let setup = api
        .post(
            paths::TOTP_SETUP,
            Some(json!({"currentPassword": PASSWORD})),
            token,
            None,
        )
        .await;
    assert_eq!(setup.status, 200, "{}", setup.text);
    let mut app = Authenticator::new(setup.body["secret"].as_str().expect("secret"));
    let confirm = api
        .post(
            paths::TOTP_CONFIRM,
            Some(json!({"code": app.next_code().await})),
            token,
            None,
        )
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.text);
    let codes: Vec<String> = confirm.body["recoveryCodes"]
        .as_array()
        .expect("recovery codes")
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (app, codes)
}

/// `/login` with the right password of an account with TOTP: the challenge.
async fn challenge(api: &Api, email: &str) -> String {
    let reply = api.login(email, PASSWORD).await;
    reply.assert_error(403, "mfa_required");
    assert!(reply.access_token().is_none() && reply.refresh_set_cookie().is_none());
    reply.body["mfaToken"]
        .as_str()
        .expect("mfaToken")
        .to_owned()
}

async fn complete(api: &Api, mfa_token: &str, field: &str, code: &str) -> Reply {
    api.post(
        paths::LOGIN_SECOND_FACTOR,
        Some(json!({"mfaToken": mfa_token, field: code})),
        None,
        None,
    )
    .await
}

async fn status(api: &Api, access_token: &str) -> Value {
    let reply = api.get(paths::SECOND_FACTOR, Some(access_token)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}

#[tokio::test]
async fn enrolment_then_sign_in_with_a_code_once_and_sessions_go_on() {
    let smtp = SmtpSink::start();
    let server = builder().smtp(&smtp).start();
    let api = server.api();
    let user = signup(&api, "totp").await;
    let token = Some(user.access_token.as_str());

    // Setup needs the password; nothing is on until a right code confirms.
    api.post(
        paths::TOTP_SETUP,
        Some(json!({"currentPassword": "wrong password"})),
        token,
        None,
    )
    .await
    .assert_error(400, "wrong_password");
    let setup = api
        .post(
            paths::TOTP_SETUP,
            Some(json!({"currentPassword": PASSWORD})),
            token,
            None,
        )
        .await;
    assert_eq!(setup.status, 200, "{}", setup.text);
    let secret = setup.body["secret"].as_str().unwrap();
    let uri = setup.body["otpauthUri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/gatepass:"), "{uri}");
    assert!(
        uri.contains(&format!("secret={secret}")) && uri.contains("issuer=gatepass"),
        "{uri}"
    );
    assert_eq!(status(&api, &user.access_token).await["totp"], false);
    assert_eq!(
        api.login(&user.email, PASSWORD).await.status,
        200,
        "not on yet"
    );
    api.post(
        paths::TOTP_CONFIRM,
        Some(json!({"code": "000000"})),
        token,
        None,
    )
    .await
    .assert_error(400, "invalid_code");

    let mut app = Authenticator::new(secret);
    let confirm = api
        .post(
            paths::TOTP_CONFIRM,
            Some(json!({"code": app.next_code().await})),
            token,
            None,
        )
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.text);
    let codes = confirm.body["recoveryCodes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let state = status(&api, &user.access_token).await;
    assert_eq!(
        (state["totp"].clone(), state["recoveryCodesLeft"].clone()),
        (json!(true), json!(10))
    );
    // A second enrolment is refused while it is on.
    api.post(
        paths::TOTP_SETUP,
        Some(json!({"currentPassword": PASSWORD})),
        token,
        None,
    )
    .await
    .assert_error(409, "totp_enabled");

    // The enrolling session goes on, and refreshes.
    assert_eq!(api.me(&user.access_token).await.status, 200);
    assert_eq!(api.reauth(&user.refresh_token).await.status, 201);

    // Sign-in: the password opens a challenge; a wrong code is refused and
    // the challenge stays open; a right one completes it as /login would.
    let mfa_token = challenge(&api, &user.email).await;
    complete(&api, &mfa_token, "code", "123456")
        .await
        .assert_error(400, "invalid_code");
    let right = app.next_code().await;
    let done = complete(&api, &mfa_token, "code", &right).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["user"]["email"], user.email.as_str());
    let access = done.access_token().expect("an access token");
    assert!(done.refresh_set_cookie().is_some(), "the refresh cookie");
    assert_eq!(api.me(&access).await.status, 200);

    // The challenge is used, and the code is never accepted twice.
    complete(&api, &mfa_token, "code", &app.next_code().await)
        .await
        .assert_error(400, "invalid_mfa_token");
    let again = challenge(&api, &user.email).await;
    complete(&api, &again, "code", &right)
        .await
        .assert_error(400, "invalid_code");

    // The user was told, by mail.
    let mails = smtp.wait_for_mails_to(&user.email, 1, Duration::from_secs(10));
    assert!(
        mails.iter().any(|m| m.decoded().contains("was turned on")),
        "{mails:?}"
    );
    // Each step is in the audit trail, and no code or secret is.
    let events = server
        .sql_column(&format!(
            "SELECT event FROM audit_events WHERE user_id = '{}' ORDER BY id",
            user.id()
        ))
        .await;
    for event in [
        "totp_setup",
        "totp_enabled",
        "mfa_challenged",
        "mfa_failed",
        "login_succeeded",
    ] {
        assert!(
            events.iter().any(|e| e == event),
            "{event} missing from {events:?}"
        );
    }
    let log = server.log();
    assert!(!log.contains(secret) && !log.contains(&right) && !log.contains(&mfa_token));
}

#[tokio::test]
async fn only_the_step_before_and_after_are_accepted() {
    let server = builder().start();
    let api = server.api();
    let user = signup(&api, "window").await;
    let (app, _) = enrol(&api, &user).await;
    let mfa_token = challenge(&api, &user.email).await;
    // Two steps away on either side: refused, and nothing used up.
    for step in [now_step() - 3, now_step() + 3] {
        complete(&api, &mfa_token, "code", &code(&app.secret, step))
            .await
            .assert_error(400, "invalid_code");
    }
    // The next step (a phone clock a little ahead) is accepted.
    let ahead = code(&app.secret, now_step() + 1);
    let done = complete(&api, &mfa_token, "code", &ahead).await;
    assert_eq!(done.status, 200, "{}", done.text);
}

#[tokio::test]
async fn recovery_codes_work_once_each_and_can_be_replaced() {
    let server = builder().start();
    let api = server.api();
    let user = signup(&api, "recovery").await;
    let (mut app, codes) = enrol(&api, &user).await;

    let mfa_token = challenge(&api, &user.email).await;
    // As typed from paper: upper case, a space for the dash.
    let typed = codes[0].to_uppercase().replace('-', " ");
    let done = complete(&api, &mfa_token, "recoveryCode", &typed).await;
    assert_eq!(done.status, 200, "{}", done.text);
    let access = done.access_token().unwrap();
    assert_eq!(status(&api, &access).await["recoveryCodesLeft"], 9);
    let again = challenge(&api, &user.email).await;
    complete(&api, &again, "recoveryCode", &codes[0])
        .await
        .assert_error(400, "invalid_code");

    // New codes replace the old ones.
    let fresh = api
        .post(
            paths::RECOVERY_CODES,
            Some(json!({"code": app.next_code().await})),
            Some(&access),
            None,
        )
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.text);
    let new_codes = fresh.body["recoveryCodes"].as_array().unwrap();
    assert_eq!(new_codes.len(), 10);
    complete(&api, &again, "recoveryCode", &codes[1])
        .await
        .assert_error(400, "invalid_code");
    let done = complete(&api, &again, "recoveryCode", new_codes[0].as_str().unwrap()).await;
    assert_eq!(done.status, 200, "{}", done.text);

    // Neither or both of code and recoveryCode: 422.
    let third = challenge(&api, &user.email).await;
    let reply = api
        .post(
            paths::LOGIN_SECOND_FACTOR,
            Some(json!({"mfaToken": third})),
            None,
            None,
        )
        .await;
    reply.assert_error(422, "validation_failed");
}

#[tokio::test]
async fn a_challenge_expires() {
    let server = builder().env("AUTH_MFA_CHALLENGE_TTL", "1s").start();
    let api = server.api();
    let user = signup(&api, "expiry").await;
    let (mut app, _) = enrol(&api, &user).await;
    let mfa_token = challenge(&api, &user.email).await;
    let opened = Instant::now();
    // The condition is the clock: past the challenge's lifetime.
    while opened.elapsed() < Duration::from_millis(1100) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    complete(&api, &mfa_token, "code", &app.next_code().await)
        .await
        .assert_error(400, "invalid_mfa_token");
}

#[tokio::test]
async fn wrong_codes_count_against_the_login_limit_whatever_challenge_they_came_with() {
    // Five attempts per account: a password that opens a challenge, two
    // wrong codes, another right password (which must not forgive them),
    // and one more wrong code on the new challenge make five.
    let server = builder().env("AUTH_LOGIN_ACCOUNT_LIMIT", "5/15m").start();
    let api = server.api();
    let user = signup(&api, "limit").await;
    let (mut app, _) = enrol(&api, &user).await;
    let first = challenge(&api, &user.email).await;
    for _ in 0..2 {
        complete(&api, &first, "code", "000000")
            .await
            .assert_error(400, "invalid_code");
    }
    let second = challenge(&api, &user.email).await;
    complete(&api, &second, "code", "000000")
        .await
        .assert_error(400, "invalid_code");
    // Past the limit: even the right code is refused, on either challenge.
    complete(&api, &second, "code", &app.next_code().await)
        .await
        .assert_error(429, "too_many_attempts");
    api.login(&user.email, PASSWORD)
        .await
        .assert_error(429, "too_many_attempts");
}

#[tokio::test]
async fn of_simultaneous_sign_ins_with_one_code_exactly_one_succeeds() {
    const AT_ONCE: usize = 6;
    let server = builder().env("AUTH_LOGIN_ACCOUNT_LIMIT", "20/15m").start();
    let api = server.api();
    let user = signup(&api, "burst").await;
    let (mut app, _) = enrol(&api, &user).await;
    let mut tokens = Vec::new();
    for _ in 0..AT_ONCE {
        tokens.push(challenge(&api, &user.email).await);
    }
    let right = app.next_code().await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(AT_ONCE));
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let (api, right, barrier) = (server.api(), right.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                complete(&api, &token, "code", &right).await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let reply = task.await.unwrap();
        if reply.status != 200 {
            reply.assert_error(400, "invalid_code");
        }
        statuses.push(reply.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_password_change_needs_a_code_and_turning_it_off_needs_both() {
    let smtp = SmtpSink::start();
    let server = builder().smtp(&smtp).start();
    let api = server.api();
    let user = signup(&api, "stepup").await;
    let (mut app, codes) = enrol(&api, &user).await;
    let token = Some(user.access_token.as_str());
    let change = |code: Option<String>| {
        let mut body = json!({"currentPassword": PASSWORD, "password": "a new long passphrase here",
            "passwordConfirm": "a new long passphrase here"});
        if let Some(code) = code {
            body["code"] = Value::from(code);
        }
        body
    };
    let reply = api
        .post(paths::CHANGE_PASSWORD, Some(change(None)), token, None)
        .await;
    reply.assert_error(403, "mfa_required");
    assert!(reply.body.get("mfaToken").is_none());
    api.post(
        paths::CHANGE_PASSWORD,
        Some(change(Some("000000".into()))),
        token,
        None,
    )
    .await
    .assert_error(400, "invalid_code");
    let reply = api
        .post(
            paths::CHANGE_PASSWORD,
            Some(change(Some(app.next_code().await))),
            token,
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    // Off: the password and a code (here a recovery code) both.
    let off = |password: &str, code: &str| RequestSpec {
        method: Method::DELETE,
        path: paths::TOTP,
        body: Some(json!({"currentPassword": password, "code": code})),
        bearer: token,
        refresh: None,
        headers: Vec::new(),
    };
    api.send(off(PASSWORD, &codes[0]))
        .await
        .assert_error(400, "wrong_password");
    api.send(off("a new long passphrase here", "000000"))
        .await
        .assert_error(400, "invalid_code");
    let reply = api.send(off("a new long passphrase here", &codes[0])).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(status(&api, &user.access_token).await["totp"], false);
    let plain = api.login(&user.email, "a new long passphrase here").await;
    assert_eq!(
        plain.status, 200,
        "signs in without a code again: {}",
        plain.text
    );
    let mails = smtp.wait_for_mails_to(&user.email, 3, Duration::from_secs(10));
    assert!(
        mails.iter().any(|m| m.decoded().contains("was turned off")),
        "{mails:?}"
    );
}

#[tokio::test]
async fn two_servers_share_challenges_and_used_codes() {
    let a = builder().start();
    let b = builder().database_of(&a).start();
    let user = signup(&a.api(), "pair").await;
    let (mut app, _) = enrol(&a.api(), &user).await;
    // Opened on one server, completed on the other.
    let mfa_token = challenge(&a.api(), &user.email).await;
    let right = app.next_code().await;
    let done = complete(&b.api(), &mfa_token, "code", &right).await;
    assert_eq!(done.status, 200, "{}", done.text);
    // The code used on B is used on A too.
    let again = challenge(&b.api(), &user.email).await;
    complete(&a.api(), &again, "code", &right)
        .await
        .assert_error(400, "invalid_code");
    // The secret is not stored in clear.
    let secret_columns = a
        .sql_column("SELECT COUNT(*) FROM totp_factors WHERE length(sealed_secret) > 20")
        .await;
    assert_eq!(secret_columns, ["1"]);
}
