//! The OS keyrings for real, not keyring's mock: the Linux kernel keyring
//! under `keyctl session -` and the Secret Service under `dbus-run-session`
//! with an unlocked gnome-keyring-daemon. Each test runs its `gatepass`
//! commands as separate processes inside one wrapper: a token that a later
//! process reads without a refresh, with no token file on disk, was really
//! kept by the keyring (a mock keeps nothing across processes).
//!
//! Needs the Debian packages keyutils, dbus and gnome-keyring. Without them
//! the tests fail under CI (env CI set) and are skipped loudly elsewhere.

use gatepass_common::paths;
use gatepass_tests::cli::{require_tools, settled_log, Home, Run, Step};
use gatepass_tests::{unique_email, Server, PASSWORD};

/// The steps both keyrings go through, with `GATEPASS_TOKEN_STORE=keyring`
/// (a keyring that does not work fails loudly instead of falling back).
fn keyring_steps(email: &str) -> Vec<Step> {
    let list_files = r#"ls "$XDG_DATA_HOME"/gatepass/servers/*/"#;
    vec![
        Step::new(
            "login",
            &["gatepass", "login", "--email", email, "--password-stdin"],
        )
        .stdin(&format!("{PASSWORD}\n")),
        Step::new("status", &["gatepass", "--json", "status"]),
        Step::new("files", &["sh", "-c", list_files]),
        Step::new("me", &["gatepass", "--json", "me"]),
        Step::new("token", &["gatepass", "token"]),
        Step::new("logout", &["gatepass", "logout"]),
        Step::new("status_after", &["gatepass", "--json", "status"]),
        Step::new("me_after", &["gatepass", "me"]),
    ]
}

/// What both keyrings must show; `store` is the expected `tokenStore`.
async fn assert_kept_in_keyring(
    runs: &std::collections::HashMap<String, Run>,
    server: &Server,
    email: &str,
    store: &str,
) {
    runs["login"].assert_code(0);
    let status = runs["status"].assert_code(0).json();
    assert_eq!(status["tokenStore"], store, "{status}");
    assert_eq!(status["accessTokenPresent"], true);
    let files = &runs["files"].assert_code(0).stdout;
    assert!(
        !files.contains("access-token"),
        "no token file with a keyring: {files}"
    );
    assert!(files.contains("cookies.json"), "{files}");

    // New processes found the token in the keyring: no refresh was needed.
    assert_eq!(runs["me"].assert_code(0).json()["user"]["email"], email);
    let token = runs["token"].assert_code(0).stdout.trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    // (The only /reauth is the refused one of `me_after`, below.)
    let log = settled_log(server).await;
    let refreshed = format!("POST {} 201", paths::REAUTH);
    assert!(
        !log.contains(&refreshed),
        "the token came from the keyring, not a refresh"
    );

    runs["logout"].assert_code(0);
    let after = runs["status_after"].assert_code(4).json();
    assert_eq!(after["signedIn"], false, "{after}");
    runs["me_after"].assert_code(4);
}

#[tokio::test]
async fn the_kernel_keyring_keeps_the_token_under_keyctl_session() {
    if !require_tools(
        "the_kernel_keyring_keeps_the_token_under_keyctl_session",
        &[("keyctl", "keyutils")],
    ) {
        return;
    }
    let server = Server::start();
    let email = unique_email("kernel");
    server.api().signup(&email).await;
    let home = Home::bare(&server.base_url).env("GATEPASS_TOKEN_STORE", "keyring");

    // keyring-rs files the key under this description in the session keyring.
    let description = format!("keyring-rs:{}@gatepass", server.base_url);
    let mut steps = keyring_steps(&email);
    steps.insert(
        2,
        Step::new("search", &["keyctl", "search", "@s", "user", &description]),
    );
    steps.push(Step::new(
        "search_after",
        &["keyctl", "search", "@s", "user", &description],
    ));
    let runs = home.run_steps_under(&["keyctl", "session", "-"], "", &steps);

    assert_kept_in_keyring(&runs, &server, &email, "kernel-keyring").await;
    runs["search"].assert_code(0);
    assert_ne!(runs["search_after"].code, Some(0), "logout removed the key");
}

#[tokio::test]
async fn the_secret_service_keeps_the_token_under_dbus_run_session() {
    if !require_tools(
        "the_secret_service_keeps_the_token_under_dbus_run_session",
        &[
            ("dbus-run-session", "dbus"),
            ("dbus-send", "dbus"),
            ("gnome-keyring-daemon", "gnome-keyring"),
        ],
    ) {
        return;
    }
    let server = Server::start();
    let email = unique_email("secretservice");
    server.api().signup(&email).await;
    let home = Home::bare(&server.base_url).env("GATEPASS_TOKEN_STORE", "keyring");

    // A fresh login keyring in the temp home, unlocked with a known password
    // (an empty one creates no login keyring, hence no default collection).
    // Then wait, bounded, until the daemon owns the Secret Service name.
    let preamble = r#"
printf '%s' gatepass-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null
tries=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; do
    tries=$((tries + 1))
    [ "$tries" -gt 100 ] && { echo "gnome-keyring-daemon never owned org.freedesktop.secrets" >&2; break; }
    sleep 0.1
done
"#;
    let runs = home.run_steps_under(
        &["dbus-run-session", "--"],
        preamble,
        &keyring_steps(&email),
    );
    assert_kept_in_keyring(&runs, &server, &email, "secret-service").await;
    // The item lives in the temp home's login keyring, not the mock.
    assert!(home.path().join("data/keyrings/login.keyring").exists());
}

#[tokio::test]
async fn without_a_keyring_auto_falls_back_to_the_file_and_says_so_once() {
    let server = Server::start();
    let email = unique_email("fallback");
    server.api().signup(&email).await;
    // No D-Bus session here; whether this process has a session keyring
    // depends on the machine. Either way `auto` must report what it did.
    let home = Home::bare(&server.base_url);
    let login = home.run_with_stdin(
        &["--json", "login", "--email", &email, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    login.assert_code(0);
    let status = home.run(&["--json", "status"]);
    let status = status.assert_code(0).json();
    if status["tokenStore"] == "file" {
        // The fallback was announced at login, and is shown by status...
        assert!(
            login.stderr.contains("no OS keyring is available"),
            "{}",
            login.stderr
        );
        assert!(status["tokenStoreFallback"].is_string(), "{status}");
        // ...but not on every later command.
        let me = home.run(&["me"]);
        me.assert_code(0);
        assert!(!me.stderr.contains("keyring"), "{}", me.stderr);
    } else {
        // This machine's process has a working keyring (e.g. a session keyring).
        assert!(status["tokenStoreFallback"].is_null(), "{status}");
        home.run(&["logout"]).assert_code(0);
    }
}
