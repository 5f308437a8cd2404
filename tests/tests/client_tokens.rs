//! `gatepass tokens ...` and `GATEPASS_API_TOKEN` (issue 18): personal access
//! tokens made, listed and revoked by a signed-in user, and used by a
//! script in a clean environment that never signs in and writes nothing.
//! The real binary against a real server, each test in its own home.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatepass_common::paths;
use gatepass_tests::cli::{Home, Run};
use gatepass_tests::totp::Authenticator;
use gatepass_tests::{unique_email, wait_for, Server, PASSWORD};

const API_TOKEN: &str = "GATEPASS_API_TOKEN";

/// A signed-in home and its account's email.
fn signed_in(server: &Server, tag: &str) -> (Home, String) {
    let home = Home::new(&server.base_url);
    let email = unique_email(tag);
    home.signup(&email);
    (home, email)
}

/// `gatepass --json tokens create --name NAME`: the token (`gp_pat_…`) and its id.
fn create(home: &Home, name: &str) -> (String, String) {
    let run = home.run(&["--json", "tokens", "create", "--name", name]);
    let created = run.assert_code(0).json();
    let token = created["token"].as_str().expect("token").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(token.starts_with("gp_pat_"), "{created}");
    assert_eq!(created["name"], name);
    (token, id)
}

/// A home that never signed in, with the personal token in the environment
/// and no token-store setting: nothing may be kept anywhere.
fn script_home(server: &Server, token: &str) -> Home {
    Home::bare(&server.base_url).env(API_TOKEN, token)
}

/// Every path below `root`, with a trailing `/` for folders, sorted.
fn tree(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path: PathBuf = entry.expect("dir entry").path();
            let shown = path.strip_prefix(root).expect("below root").display();
            if path.is_dir() {
                out.push(format!("{shown}/"));
                walk(root, &path, out);
            } else {
                out.push(shown.to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

#[track_caller]
fn assert_hidden(run: &Run, secret: &str) {
    assert!(
        !run.stdout.contains(secret) && !run.stderr.contains(secret),
        "the secret shows:\n--- stdout:\n{}\n--- stderr:\n{}",
        run.stdout,
        run.stderr
    );
}

#[tokio::test]
async fn a_token_is_shown_once_listed_without_its_secret_and_revoked_at_once() {
    let server = Server::start();
    let (home, _) = signed_in(&server, "tokens");

    // Plain: the token alone on stdout, what to do with it on stderr.
    let plain = home.run(&["tokens", "create", "--name", "deploy", "--expires", "30d"]);
    plain.assert_code(0);
    let deploy = plain.stdout.trim().to_owned();
    assert!(deploy.starts_with("gp_pat_"), "{}", plain.stdout);
    assert_eq!(
        plain.stdout,
        format!("{deploy}\n"),
        "one line, nothing else"
    );
    assert!(plain.stderr.contains("not shown again"), "{}", plain.stderr);
    assert!(!plain.stderr.contains(&deploy), "{}", plain.stderr);

    let (ci, ci_id) = create(&home, "ci");

    let list = home.run(&["tokens", "list"]);
    list.assert_code(0);
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two tokens:\n{}", list.stdout);
    for column in ["ID", "NAME", "CREATED", "EXPIRES", "LAST USED"] {
        assert!(lines[0].contains(column), "{}", lines[0]);
    }
    assert!(list.stdout.contains(&ci_id), "{}", list.stdout);
    assert!(list.stdout.contains("deploy"), "{}", list.stdout);
    for token in [&ci, &deploy] {
        assert_hidden(&list, token);
        assert_hidden(&list, token.trim_start_matches("gp_pat_"));
    }
    let listed = home.run(&["--json", "tokens", "list"]);
    let listed = listed.assert_code(0).json();
    let tokens = listed["tokens"].as_array().expect("tokens");
    assert_eq!(tokens.len(), 2, "{listed}");
    assert!(tokens.iter().all(|t| t.get("token").is_none()), "{listed}");

    // The token works, and so do the access tokens it gets...
    let script = script_home(&server, &ci);
    let minted = script.run(&["token"]);
    let minted = minted.assert_code(0).stdout.trim().to_owned();
    assert_eq!(server.api().me(&minted).await.status, 200);

    // ...until it is revoked: then neither does, at once.
    let revoked = home.run(&["--json", "tokens", "revoke", &ci_id]);
    assert_eq!(revoked.assert_code(0).json()["revoked"], ci_id.as_str());
    assert_eq!(server.api().me(&minted).await.status, 401);
    server
        .api()
        .post(paths::TOKEN, None, Some(&ci), None)
        .await
        .assert_error(401, "invalid_api_token");
    let me = script.run(&["me"]);
    me.assert_code(4);
    assert!(me.stderr.contains(API_TOKEN), "{}", me.stderr);
    assert!(me.stderr.contains("revoked"), "{}", me.stderr);
    assert!(
        me.stderr.contains("gatepass tokens create"),
        "{}",
        me.stderr
    );
    assert_hidden(&me, &ci);
    let json = script.run(&["--json", "me"]);
    assert_eq!(
        json.assert_code(4).error_json()["code"],
        "authentication_required"
    );
    let status = script.run(&["status"]);
    status.assert_code(4);
    assert!(
        status.stdout.contains("signed in:      no"),
        "{}",
        status.stdout
    );

    let left = home.run(&["--json", "tokens", "list"]);
    assert_eq!(
        left.assert_code(0).json()["tokens"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Revoking it again: no such token.
    home.run(&["tokens", "revoke", &ci_id]).assert_code(1);
}

#[tokio::test]
async fn an_api_token_in_a_clean_environment_works_and_writes_nothing() {
    let server = Server::start();
    let (home, email) = signed_in(&server, "ci");
    let (token, _) = create(&home, "ci");

    let script = script_home(&server, &token);
    let before = tree(script.path());

    // `gatepass token`: one line, an access token the API takes.
    let printed = script.run(&["token"]);
    printed.assert_code(0);
    assert_eq!(printed.stdout.lines().count(), 1, "{}", printed.stdout);
    let access = printed.stdout.trim();
    assert_eq!(access.split('.').count(), 3, "a JWT: {access}");
    assert!(access.starts_with("eyJ"), "{access}");
    let me = server.api().me(access).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert!(me.text.contains(&email), "{}", me.text);

    let me = script.run(&["--json", "me"]);
    assert_eq!(me.assert_code(0).json()["user"]["email"], email.as_str());
    script.run(&["sessions"]).assert_code(0);
    script.run(&["refresh"]).assert_code(0);

    let status = script.run(&["status"]);
    status.assert_code(0);
    assert!(
        status.stdout.contains("personal access token") && status.stdout.contains(API_TOKEN),
        "{}",
        status.stdout
    );
    let status = script.run(&["--json", "status"]);
    let status = status.assert_code(0).json();
    assert_eq!(status["tokenStore"], "api-token", "{status}");
    assert_eq!(status["signedIn"], true, "{status}");

    // Signing in or out: nothing to do here, said plainly.
    let logout = script.run(&["logout"]);
    logout.assert_code(0);
    assert!(
        logout.stdout.contains("Nothing to sign out of"),
        "{}",
        logout.stdout
    );
    let login = script.run_with_stdin(
        &["login", "--email", &email, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    login.assert_code(2);
    assert!(login.stderr.contains(API_TOKEN), "{}", login.stderr);

    // The token still works: the logout ended nothing.
    script.run(&["me"]).assert_code(0);
    assert_eq!(
        tree(script.path()),
        before,
        "the home holds what it held before"
    );
    assert!(before.is_empty(), "{before:?}");
}

#[tokio::test]
async fn what_needs_a_signed_in_session_is_refused_to_a_token_with_advice() {
    let server = Server::start();
    let (home, _) = signed_in(&server, "scoped");
    let (token, _) = create(&home, "ci");
    let script = script_home(&server, &token);

    let refused = script.run(&["tokens", "create", "--name", "another"]);
    refused.assert_code(4);
    assert!(
        refused.stderr.contains("personal access token")
            && refused.stderr.contains("gatepass login"),
        "{}",
        refused.stderr
    );
    let refused = script.run(&["--json", "tokens", "list"]);
    let error = refused.assert_code(4).error_json();
    assert_eq!(error["code"], "session_required", "{error}");
    assert_eq!(error["exitCode"], 4, "{error}");
    assert_eq!(error["status"], 403, "{error}");
    script.run(&["logout", "--all"]).assert_code(4);
    // Reading the second factor's status is fine; managing it is not.
    script.run(&["2fa", "status"]).assert_code(0);
    script
        .run(&["2fa", "recovery-codes", "--code", "123456"])
        .assert_code(4);
    // None of it ended the token.
    script.run(&["me"]).assert_code(0);
}

#[test]
fn a_malformed_api_token_is_refused_at_once_and_never_shown() {
    // Nothing listens here: the value is refused before anything is sent.
    let nowhere = "http://127.0.0.1:9";
    for bad in ["not-a-token", "gp_pat_abc\tdef", "gp_pat_abc\u{1b}[2Jdef"] {
        let run = Home::bare(nowhere).env(API_TOKEN, bad).run(&["me"]);
        run.assert_code(2);
        assert!(run.stderr.contains(API_TOKEN), "{}", run.stderr);
        assert_hidden(&run, "abc");
        assert_hidden(&run, "not-a-token");
    }
    let both = Home::bare(nowhere)
        .env(API_TOKEN, "gp_pat_abc")
        .env("GATEPASS_ACCESS_TOKEN", "eyJ.e30.sig")
        .run(&["me"]);
    both.assert_code(2);
    assert!(both.stderr.contains("unset one"), "{}", both.stderr);
}

#[tokio::test]
async fn verbose_shows_the_exchange_but_never_a_token() {
    let server = Server::start();
    let (home, _) = signed_in(&server, "verbose");
    let (token, id) = create(&home, "ci");
    let script = script_home(&server, &token);
    let secret = token.trim_start_matches("gp_pat_");

    let run = script.run(&["--verbose", "me"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains(&format!(
            "> POST {}{}  (Authorization: Bearer [redacted])",
            server.base_url,
            paths::TOKEN
        )),
        "{}",
        run.stderr
    );
    assert_hidden(&run, secret);
    assert!(
        !run.stderr.contains("eyJ"),
        "no access token: {}",
        run.stderr
    );

    home.run(&["tokens", "revoke", &id]).assert_code(0);
    let run = script.run(&["--verbose", "--json", "me"]);
    run.assert_code(4);
    assert!(
        run.stderr.contains("code=invalid_api_token"),
        "{}",
        run.stderr
    );
    assert_hidden(&run, secret);
}

#[tokio::test]
async fn with_two_factor_sign_in_a_token_needs_a_code() {
    let server = Server::start();
    let (home, _) = signed_in(&server, "totp");
    let enabled = home.run_with_stdin(
        &["--json", "2fa", "enable", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    let secret = enabled.assert_code(0).json()["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let mut app = Authenticator::new(&secret);
    home.run(&["2fa", "confirm", "--code", &app.next_code().await])
        .assert_code(0);

    // No terminal to ask on: a usage error naming the flag, nothing made.
    let no_code = home.run(&["tokens", "create", "--name", "ci"]);
    no_code.assert_code(2);
    assert!(no_code.stderr.contains("--code"), "{}", no_code.stderr);
    let none = home.run(&["--json", "tokens", "list"]);
    assert_eq!(
        none.assert_code(0).json()["tokens"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    let code = app.next_code().await;
    let created = home.run(&[
        "--json", "tokens", "create", "--name", "ci", "--code", &code,
    ]);
    let created = created.assert_code(0).json();
    assert!(
        created["token"].as_str().unwrap().starts_with("gp_pat_"),
        "{created}"
    );
}

#[tokio::test]
async fn an_expired_access_token_costs_one_exchange_shared_by_concurrent_calls() {
    use gatepass_client::api::{EnvCredential, Secret, Trace};
    use gatepass_client::store::token::StoreChoice;
    use gatepass_client::{ApiClient, ClientConfig};

    let server = Server::builder()
        .env("AUTH_ACCESS_TOKEN_EXPIRY", "2s")
        .start();
    let (home, email) = signed_in(&server, "expiry");
    let (token, _) = create(&home, "ci");

    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&lines);
    let data = tempfile::tempdir().expect("data dir");
    let client = ApiClient::with_trace(
        ClientConfig {
            server: server.base_url.clone(),
            data_dir: data.path().to_owned(),
            token_store: StoreChoice::File,
            env_token: Some(EnvCredential::PersonalToken(Secret::new(token.clone()))),
            allow_http: false,
        },
        Some(Trace::new(move |line| {
            sink.lock().unwrap().push(line.to_owned())
        })),
    )
    .expect("client");
    // The exchange's request line (not `/tokens`'s).
    let exchange = format!("> POST {}{}  ", server.base_url, paths::TOKEN);
    let exchanges = || {
        let lines = lines.lock().unwrap();
        lines.iter().filter(|l| l.starts_with(&exchange)).count()
    };

    assert_eq!(client.me().await.expect("me").email, email);
    assert_eq!(exchanges(), 1);
    // (It may exchange again if the first token is already nearly spent.)
    let first = client.access_token().await.expect("a token");
    let before = exchanges();
    let api = server.api();
    wait_for(
        "the server to refuse the first access token",
        Duration::from_secs(30),
        || async { (api.me(&first).await.status == 401).then_some(()) },
    )
    .await;

    // Five calls see the expired token refused: one exchange, five retries.
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.me().await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.expect("task").expect("me").email, email);
    }
    assert_eq!(exchanges(), before + 1, "{:?}", lines.lock().unwrap());
    for line in lines.lock().unwrap().iter() {
        assert!(
            !line.contains(token.trim_start_matches("gp_pat_")),
            "{line}"
        );
    }
    drop(client);
    let written: Vec<_> = std::fs::read_dir(data.path()).unwrap().collect();
    assert!(written.is_empty(), "{written:?}");
}
