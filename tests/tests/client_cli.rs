//! The `gatepass` command against the real server, each test in its own
//! temporary home. The token store is the file (`GATEPASS_TOKEN_STORE=file`)
//! here; the keyrings are tested for real in client_keyring.rs.

use std::time::Duration;

use gatepass_tests::cli::{reauth_count, settled_log, Home, Run};
use gatepass_tests::{unique_email, wait_for, Server, SmtpSink, PASSWORD};

const EXPIRY_WAIT: Duration = Duration::from_secs(30);

/// Waits until the server refuses the access token stored in `token_file`
/// (the server counts whole seconds, so a token lives up to a second past
/// its `exp`).
async fn wait_until_refused(server: &Server, token_file: &std::path::Path) {
    let api = server.api();
    wait_for(
        "the server to refuse the access token",
        EXPIRY_WAIT,
        || async {
            let token = std::fs::read_to_string(token_file).expect("token file");
            let reply = api.me(token.trim()).await;
            (reply.status == 401).then_some(())
        },
    )
    .await;
}

/// `wait_until_refused` for a home's token.
async fn wait_until_expired(server: &Server, home: &Home) {
    wait_until_refused(server, &home.token_path()).await;
    let status = home.run(&["--json", "status"]);
    assert_eq!(status.assert_code(0).json()["accessTokenExpired"], true);
}

#[track_caller]
fn assert_no_secret(run: &Run, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !run.stderr.contains(secret),
            "a secret reached stderr:\n{}",
            run.stderr
        );
    }
}

#[cfg(unix)]
#[track_caller]
fn assert_private(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "{} should be mode 0600",
        path.display()
    );
}

#[tokio::test]
async fn the_full_scripted_flow_in_a_temp_home() {
    let sink = SmtpSink::start();
    let reset_base = "http://localhost:3000/change-pass";
    let server = Server::builder()
        .smtp(&sink)
        .env("AUTH_RESET_URL", reset_base)
        .start();
    let home = Home::new(&server.base_url);
    let email = unique_email("flow");

    // signup --json: the user object with its stable field names.
    let signup = home.run_with_stdin(
        &[
            "--json",
            "signup",
            "--first-name",
            "Ada",
            "--last-name",
            "Lovelace",
            "--email",
            &email,
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    signup.assert_code(0);
    let user = signup.json()["user"].clone();
    assert_eq!(user["email"], email.as_str());
    assert_eq!(user["firstName"], "Ada");
    let id = user["id"].as_str().expect("user id").to_owned();
    assert_no_secret(&signup, &[PASSWORD]);

    // The jar and the token file are private.
    #[cfg(unix)]
    {
        assert_private(&home.jar_path());
        assert_private(&home.token_path());
    }

    let status = home.run(&["--json", "status"]);
    status.assert_code(0);
    let status = status.json();
    assert_eq!(status["server"], server.base_url.as_str());
    assert_eq!(status["signedIn"], true);
    assert_eq!(status["user"]["email"], email.as_str());
    assert_eq!(status["tokenStore"], "file");
    assert_eq!(status["accessTokenPresent"], true);
    assert_eq!(status["accessTokenExpired"], false);
    assert_eq!(status["refreshCookiePresent"], true);
    assert!(status["refreshCookieExpiresAt"].is_string());

    let me = home.run(&["--json", "me"]);
    me.assert_code(0);
    assert_eq!(me.json()["user"]["id"], id.as_str());
    let me = home.run(&["me"]);
    me.assert_code(0);
    assert!(me.stdout.contains(&email), "{}", me.stdout);

    let by_id = home.run(&["--json", "user", &id]);
    by_id.assert_code(0);
    assert_eq!(by_id.json()["user"]["email"], email.as_str());
    let unknown = home.run(&["--json", "user", "00000000-0000-4000-8000-000000000000"]);
    unknown.assert_code(1);
    assert_eq!(unknown.error_json()["code"], "user_not_found");

    // `gatepass token` feeds another client (here the harness, as curl would).
    let token = home.run(&["token"]);
    token.assert_code(0);
    let token = token.stdout.trim().to_owned();
    let reply = server.api().me(&token).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let token_json = home.run(&["--json", "token"]);
    token_json.assert_code(0);
    assert!(token_json.json()["expiresAt"].is_string());

    let sessions = home.run(&["--json", "sessions"]);
    sessions.assert_code(0);
    let sessions = sessions.json()["sessions"].clone();
    assert_eq!(sessions.as_array().map(Vec::len), Some(1), "{sessions}");
    assert_eq!(sessions[0]["current"], true);

    let refresh = home.run(&["refresh"]);
    refresh.assert_code(0);
    assert!(
        !refresh.stdout.contains(&token),
        "refresh never prints a token"
    );
    assert_eq!(reauth_count(&server).await, 1);

    // Forgot and reset through the mailed link, then sign in with the new password.
    let forgot = home.run(&["forgot", "--email", &email]);
    forgot.assert_code(0);
    let mails = sink.wait_for_mails_to(&email, 1, Duration::from_secs(20));
    let link = mails
        .last()
        .and_then(|mail| mail.link_starting_with(&format!("{reset_base}/")))
        .expect("a reset link in the mail");
    let new_password = "N3w-horse-battery-staple!";
    let reset = home.run_with_stdin(
        &["reset", &link, "--password-stdin"],
        &format!("{new_password}\n"),
    );
    reset.assert_code(0);
    assert_no_secret(&reset, &[new_password, &link]);
    // The reset ended every session: the stored one is refused.
    home.run(&["me"]).assert_code(4);
    let login = home.run_with_stdin(
        &["login", "--email", &email, "--password-stdin"],
        &format!("{new_password}\n"),
    );
    login.assert_code(0);
    home.run(&["me"]).assert_code(0);

    let logout = home.run(&["logout"]);
    logout.assert_code(0);
    let me = home.run(&["me"]);
    me.assert_code(4);
    assert!(me.stderr.contains("gatepass login"), "{}", me.stderr);
    // Not signed in: `status` says so by its exit code too, the JSON unchanged.
    let status = home.run(&["--json", "status"]);
    status.assert_code(4);
    assert_eq!(status.json()["signedIn"], false);
    assert_eq!(status.json()["server"], server.base_url.as_str());
    // Logging out twice is fine.
    home.run(&["logout"]).assert_code(0);
}

#[tokio::test]
async fn server_refusals_exit_1_with_the_servers_feedback() {
    let server = Server::start();
    let home = Home::new(&server.base_url);
    let email = unique_email("refused");
    home.signup(&email);

    let wrong = home.run_with_stdin(
        &["--json", "login", "--email", &email, "--password-stdin"],
        "not-the-password-at-all\n",
    );
    wrong.assert_code(1);
    let error = wrong.error_json();
    assert_eq!(error["code"], "invalid_credentials");
    assert_eq!(error["status"], 400);
    assert_eq!(error["exitCode"], 1);
    assert!(error["feedback"].is_string());
    assert_no_secret(&wrong, &["not-the-password-at-all"]);

    let invalid = Home::new(&server.base_url).run_with_stdin(
        &[
            "--json",
            "signup",
            "--first-name",
            "Ada",
            "--last-name",
            "Lovelace",
            "--email",
            "not-an-email",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    invalid.assert_code(1);
    let error = invalid.error_json();
    assert_eq!(error["status"], 422);
    assert_eq!(error["errors"][0]["param"], "email");

    // Human output names the field too.
    let invalid = Home::new(&server.base_url).run_with_stdin(
        &[
            "signup",
            "--first-name",
            "Ada",
            "--last-name",
            "Lovelace",
            "--email",
            "not-an-email",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    invalid.assert_code(1);
    assert!(invalid.stderr.contains("email"), "{}", invalid.stderr);
}

#[tokio::test]
async fn me_survives_an_expired_access_token_through_one_refresh() {
    let server = Server::builder()
        .env("AUTH_ACCESS_TOKEN_EXPIRY", "2s")
        .start();
    let home = Home::new(&server.base_url);
    home.signup(&unique_email("expiry"));
    wait_until_expired(&server, &home).await;
    assert_eq!(reauth_count(&server).await, 0);

    let me = home.run(&["me"]);
    me.assert_code(0);
    assert_eq!(reauth_count(&server).await, 1, "exactly one refresh");

    // `gatepass token` refreshes an expired token before handing it out.
    wait_until_expired(&server, &home).await;
    let token = home.run(&["token"]);
    token.assert_code(0);
    assert_eq!(reauth_count(&server).await, 2);
    let reply = server.api().me(token.stdout.trim()).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[tokio::test]
async fn ten_concurrent_library_calls_cause_one_reauth() {
    use gatepass_client::store::token::StoreChoice;
    use gatepass_client::{ApiClient, ClientConfig};

    let server = Server::builder()
        .env("AUTH_ACCESS_TOKEN_EXPIRY", "2s")
        .start();
    let data = tempfile::tempdir().expect("data dir");
    let client = ApiClient::new(ClientConfig {
        server: server.base_url.clone(),
        data_dir: data.path().to_owned(),
        token_store: StoreChoice::File,
        env_token: None,
        allow_http: false,
    })
    .expect("client");
    let email = unique_email("ten");
    server.api().signup(&email).await;
    client.login(&email, PASSWORD).await.expect("login");

    let token_file = client.server_dir().join("access-token");
    wait_until_refused(&server, &token_file).await;
    assert_eq!(reauth_count(&server).await, 0);

    let calls: Vec<_> = (0..10)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.me().await })
        })
        .collect();
    for call in calls {
        let user = call.await.expect("task").expect("me succeeds");
        assert_eq!(user.email, email);
    }
    assert_eq!(
        reauth_count(&server).await,
        1,
        "single-flight: one /reauth for ten 401s"
    );
}

#[tokio::test]
async fn two_processes_refreshing_at_once_both_succeed_and_leave_one_valid_jar() {
    // A short grace window, so a jar left holding a rotated-away cookie would
    // be caught as reuse below instead of being forgiven.
    let server = Server::builder()
        .env("AUTH_ACCESS_TOKEN_EXPIRY", "2s")
        .env("AUTH_REFRESH_REUSE_GRACE", "1s")
        .start();
    let home = Home::new(&server.base_url);
    home.signup(&unique_email("two"));
    wait_until_expired(&server, &home).await;

    let first = home.spawn(&["me"]);
    let second = home.spawn(&["me"]);
    for child in [first, second] {
        let output = child.wait_with_output().expect("gatepass finishes");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // The second process found the first one's token after taking the lock.
    assert_eq!(reauth_count(&server).await, 1);

    // The jar holds the current cookie, not a rotated-away one: once the new
    // access token has expired (2 s), the 1 s grace window is over too, and
    // a stale cookie would now be refused as reuse.
    let jar = std::fs::read_to_string(home.jar_path()).expect("jar");
    assert!(jar.contains("refreshTkn"), "{jar}");
    wait_until_expired(&server, &home).await;
    home.run(&["refresh"]).assert_code(0);
    home.run(&["me"]).assert_code(0);
}

#[tokio::test]
async fn logout_and_logout_all_leave_me_exiting_4() {
    let server = Server::start();
    let email = unique_email("logout");
    let laptop = Home::new(&server.base_url);
    let desktop = Home::new(&server.base_url);
    let phone = Home::new(&server.base_url);
    laptop.signup(&email);
    desktop.login(&email);
    phone.login(&email);

    // Plain logout ends this session only.
    laptop.run(&["logout"]).assert_code(0);
    laptop.run(&["me"]).assert_code(4);
    desktop.run(&["me"]).assert_code(0);

    // logout --all ends every session, the other devices' included.
    let all = desktop.run(&["--json", "logout", "--all"]);
    all.assert_code(0);
    assert_eq!(all.json()["outcome"], "ended");
    desktop.run(&["me"]).assert_code(4);
    let phone_me = phone.run(&["--json", "me"]);
    phone_me.assert_code(4);
    assert_eq!(phone_me.error_json()["code"], "authentication_required");
    // The refused token was forgotten.
    let status = phone.run(&["--json", "status"]);
    assert_eq!(status.json()["accessTokenPresent"], false);
    // And it stays 4, without looping.
    phone.run(&["me"]).assert_code(4);
}

#[tokio::test]
async fn a_corrupt_jar_gives_a_clear_error_and_logout_still_works() {
    let server = Server::start();
    let home = Home::new(&server.base_url);
    let email = unique_email("jar");
    home.signup(&email);
    std::fs::write(home.jar_path(), b"{ this is not a cookie jar").expect("damage the jar");

    let me = home.run(&["me"]);
    me.assert_code(4);
    assert!(me.stderr.contains("cookies.json"), "{}", me.stderr);
    assert!(me.stderr.contains("gatepass logout"), "{}", me.stderr);

    // The way out: logout ends the session on the server (the access token
    // still works) and discards the damaged jar.
    let logout = home.run(&["logout"]);
    logout.assert_code(0);
    assert!(settled_log(&server)
        .await
        .contains("POST /api/users/logout 205"));
    home.run(&["me"]).assert_code(4);
    home.login(&email);
    home.run(&["me"]).assert_code(0);
}

#[tokio::test]
async fn a_corrupt_token_file_gives_a_clear_error_and_logout_still_works() {
    let server = Server::start();
    let home = Home::new(&server.base_url);
    let email = unique_email("tokenfile");
    home.signup(&email);
    std::fs::write(home.token_path(), b"\x00\x01 garbage").expect("damage the token file");

    let me = home.run(&["me"]);
    me.assert_code(4);
    assert!(me.stderr.contains("access-token"), "{}", me.stderr);
    assert!(me.stderr.contains("gatepass logout"), "{}", me.stderr);

    // The refresh cookie gets a token that ends the session.
    home.run(&["logout"]).assert_code(0);
    assert!(settled_log(&server)
        .await
        .contains("POST /api/users/logout 205"));
    home.run(&["me"]).assert_code(4);
}

#[tokio::test]
async fn the_server_down_gives_exit_3_with_a_readable_message() {
    let server = Server::start();
    let base_url = server.base_url.clone();
    let home = Home::new(&base_url);
    home.signup(&unique_email("down"));
    let _data = server.stop();

    let me = home.run(&["me"]);
    me.assert_code(3);
    assert!(
        me.stderr.contains("cannot reach the server at"),
        "{}",
        me.stderr
    );
    assert!(me.stderr.contains(&base_url), "{}", me.stderr);
    let me = home.run(&["--json", "me"]);
    me.assert_code(3);
    assert_eq!(me.error_json()["code"], "server_unreachable");

    // Logout still forgets everything here, and says the server was not told.
    let logout = home.run(&["logout"]);
    logout.assert_code(3);
    assert!(
        logout.stderr.contains("signed out on this machine"),
        "{}",
        logout.stderr
    );
    let status = home.run(&["--json", "status"]);
    assert_eq!(status.json()["signedIn"], false);
}

#[tokio::test]
async fn an_access_token_from_the_environment_touches_no_store() {
    let server = Server::start();
    let owner = Home::new(&server.base_url);
    let email = unique_email("envtoken");
    owner.signup(&email);
    let token = owner.run(&["token"]);
    token.assert_code(0);

    let ci = Home::bare(&server.base_url).env("GATEPASS_ACCESS_TOKEN", token.stdout.trim());
    let me = ci.run(&["--json", "me"]);
    me.assert_code(0);
    assert_eq!(me.json()["user"]["email"], email.as_str());
    let status = ci.run(&["--json", "status"]);
    status.assert_code(0);
    assert_eq!(status.json()["tokenStore"], "env");
    // Signing in would store credentials: refused while the variable is set.
    let login = ci.run_with_stdin(
        &["login", "--email", &email, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    login.assert_code(2);
    assert!(
        login.stderr.contains("GATEPASS_ACCESS_TOKEN"),
        "{}",
        login.stderr
    );
    assert!(
        !ci.data_dir().exists(),
        "nothing was written to the data folder"
    );

    // A refused env token is exit 4, without refreshing.
    let bad =
        Home::bare(&server.base_url).env("GATEPASS_ACCESS_TOKEN", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA");
    bad.run(&["me"]).assert_code(4);
    assert_eq!(reauth_count(&server).await, 0);
}
