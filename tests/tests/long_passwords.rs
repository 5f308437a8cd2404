//! bcrypt reads only a password's first 72 bytes. Signup refuses longer
//! passwords; login must not let "the right 72 bytes and anything after" in,
//! and must refuse such a password in the time of any other failure.

use std::time::{Duration, Instant};

use gatepass_tests::{unique_email, Api, Server};

/// The fastest of three logins (noise only ever slows one down).
async fn fastest_login(api: &Api, email: &str, password: &str) -> Duration {
    let mut fastest = Duration::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        api.login(email, password)
            .await
            .assert_error(400, "invalid_credentials");
        fastest = fastest.min(started.elapsed());
    }
    fastest
}

#[tokio::test]
async fn a_password_past_72_bytes_is_an_ordinary_wrong_password_at_login() {
    let server = Server::builder()
        .env("AUTH_LOGIN_ACCOUNT_LIMIT", "100/15m")
        .start();
    let api = server.api();
    let email = unique_email("seventy-two");
    // Exactly 72 bytes, and strong enough for the signup policy.
    let password =
        "Vq7#mountain-Lantern!river9*Ochre_tundra%Kestrel^2048&quartz+Nimbus~Fjord$Yarrow"[..72]
            .to_owned();
    let reply = api.signup_as("Ada", "Lovelace", &email, &password).await;
    assert_eq!(reply.status, 201, "{}", reply.text);

    for suffix in ["x", "anything at all", "€"] {
        api.login(&email, &format!("{password}{suffix}"))
            .await
            .assert_error(400, "invalid_credentials");
    }
    let reply = api.login(&email, &password).await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    // Refused after a hash like any wrong password, not at once: a quick
    // refusal would tell an attacker which accounts exist.
    let wrong = fastest_login(&api, &email, "Wrong-horse-battery-9").await;
    let too_long = fastest_login(&api, &email, &format!("{password}x")).await;
    assert!(
        too_long * 2 >= wrong,
        "a password past 72 bytes was refused in {too_long:?}, a wrong one in {wrong:?}"
    );
}
