//! The operator's commands (`gatepass-server users ...`, `audit export`) on
//! the database of a running server, as an operator runs them beside the
//! service: the server sees a disabled or deleted account within its
//! session cache's lifetime, a disabled account's login looks like a wrong
//! password, and the audit trail names the operator.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use gatepass_tests::{binary, unique_email, wait_for, Server, SmtpSink, PASSWORD};
use serde_json::Value;

/// The session cache's lifetime on the server under test: how late it may
/// see a session ended by another process.
const CACHE_TTL: Duration = Duration::from_secs(2);
/// What a slow machine adds to that before the refusal shows.
const SLACK: Duration = Duration::from_secs(5);
/// The operator the commands run as.
const OPERATOR: &str = "ops-grace";

fn start_server(sink: &SmtpSink) -> Server {
    Server::builder()
        .smtp(sink)
        .env(
            "GATEPASS_SESSION_CACHE_TTL",
            format!("{}s", CACHE_TTL.as_secs()),
        )
        // The same account logs in (and fails) several times here.
        .env("AUTH_LOGIN_ACCOUNT_LIMIT", "1000/15m")
        .env("AUTH_LOGIN_ADDRESS_LIMIT", "1000/15m")
        .start()
}

/// `gatepass-server ARGS` on `server`'s data folder and database, as
/// [`OPERATOR`], with `stdin` as its standard input (or none).
fn admin(server: &Server, args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::new(binary("gatepass-server"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GATEPASS_DATA_DIR", server.data_dir())
        .env("DATABASE_URL", server.database_url())
        .env("AUTH_BCRYPT_COST", "10")
        .env("USER", OPERATOR)
        .current_dir(server.data_dir())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let Some(input) = stdin else {
        return command
            .stdin(Stdio::null())
            .output()
            .expect("run gatepass-server");
    };
    let mut child = command
        .stdin(Stdio::piped())
        .spawn()
        .expect("run gatepass-server");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().expect("run gatepass-server")
}

/// Runs a command that must succeed; its stdout.
#[track_caller]
fn ok(server: &Server, args: &[&str]) -> String {
    let output = admin(server, args, None);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The audit events of `user_id`, exported.
fn trail(server: &Server, user_id: &str) -> Vec<Value> {
    ok(server, &["audit", "export", "--user", user_id])
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn events(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l["event"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn disable_enable_and_delete_take_effect_on_the_running_server() {
    let sink = SmtpSink::start();
    let server = start_server(&sink);
    let api = server.api();
    let email = unique_email("operated");
    let user = api.signup(&email).await;
    let id = user.id().to_owned();

    // In use, and so in the server's session cache.
    let me = api.me(&user.access_token).await;
    assert_eq!(me.status, 200, "{}", me.text);
    let wrong = api.login(&email, "not the password at all").await;
    wrong.assert_error(400, "invalid_credentials");

    let stdout = ok(&server, &["users", "disable", &email]);
    assert!(stdout.contains("disabled; 1 session(s) ended"), "{stdout}");
    let disabled_at = Instant::now();

    // The access token is refused within the cache's lifetime.
    let refused = wait_for(
        "the access token of a disabled user to be refused",
        CACHE_TTL + SLACK,
        || {
            let api = api.clone();
            let token = user.access_token.clone();
            async move {
                let me = api.me(&token).await;
                (me.status != 200).then_some(me)
            }
        },
    )
    .await;
    refused.assert_error(401, "session_revoked");
    assert!(disabled_at.elapsed() < CACHE_TTL + SLACK);
    api.reauth(&user.refresh_token)
        .await
        .assert_error(401, "invalid_refresh_token");

    // The right password answers exactly as a wrong one does.
    let login = api.login(&email, PASSWORD).await;
    login.assert_error(400, "invalid_credentials");
    assert_eq!(login.body, wrong.body, "a disabled account is not revealed");

    // A reset link is not sent to a disabled account: the request answers
    // as for any address, and only the other account's mail comes.
    let other = unique_email("other");
    api.signup(&other).await;
    let asked = api.forgot(&email).await;
    let control = api.forgot(&other).await;
    assert_eq!((asked.status, &asked.body), (control.status, &control.body));
    sink.wait_for_mails_to(&other, 1, Duration::from_secs(30));
    assert!(sink.mails_to(&email).is_empty());
    // Its request is audited (by the background job) before the next step.
    wait_for(
        "the reset request's audit row",
        Duration::from_secs(30),
        || {
            let requested = events(&trail(&server, &id)).contains(&"reset_requested".to_owned());
            async move { requested.then_some(()) }
        },
    )
    .await;

    ok(&server, &["users", "enable", &id]);
    let login = api.login(&email, PASSWORD).await;
    assert_eq!(login.status, 200, "enabled: {}", login.text);
    let access = login.access_token().expect("an access token");
    assert_eq!(api.me(&access).await.status, 200);

    let stdout = ok(&server, &["users", "delete", &email]);
    assert!(stdout.contains(&format!("deleted user {id}")), "{stdout}");
    wait_for(
        "the deleted user's access token to be refused",
        CACHE_TTL + SLACK,
        || {
            let api = api.clone();
            let token = access.clone();
            async move { (api.me(&token).await.status == 401).then_some(()) }
        },
    )
    .await;
    let login = api.login(&email, PASSWORD).await;
    assert_eq!(login.body, wrong.body, "gone: {}", login.text);
    let shown = admin(&server, &["users", "show", &email], None);
    assert_eq!(shown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&shown.stderr).contains(&format!("no user {email}")));

    // The trail keeps the deleted user's events under their id, the
    // server's (queued, so waited for) and the operator's.
    let expected = [
        "signup",
        "login_failed",
        "user_disabled",
        "login_failed",
        "reset_requested",
        "user_enabled",
        "login_succeeded",
        "user_deleted",
    ];
    let lines = wait_for("the server's audit rows", Duration::from_secs(30), || {
        let lines = trail(&server, &id);
        async move { (events(&lines) == expected).then_some(lines) }
    })
    .await;
    for line in &lines {
        assert_eq!(line["userId"], id.as_str());
        let by_operator = line["event"].as_str().unwrap().starts_with("user_");
        let operator = if by_operator {
            Value::from(OPERATOR)
        } else {
            Value::Null
        };
        assert_eq!(line["operator"], operator, "{line}");
    }
}

#[tokio::test]
async fn a_user_created_by_command_logs_in_to_the_running_server() {
    let sink = SmtpSink::start();
    let server = start_server(&sink);
    let api = server.api();
    let email = unique_email("created");
    let output = admin(
        &server,
        &[
            "users",
            "create",
            "--email",
            &email,
            "--first-name",
            "Grace",
            "--last-name",
            "Hopper",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let id = stdout
        .strip_prefix("created user ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{stdout}"))
        .to_owned();

    let login = api.login(&email, PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["user"]["id"], id.as_str());
    assert_eq!(login.body["user"]["firstName"], "Grace");
    let me = api.me(&login.access_token().unwrap()).await;
    assert_eq!(me.status, 200, "{}", me.text);

    let shown: Value =
        serde_json::from_str(&ok(&server, &["users", "show", &id, "--json"])).unwrap();
    assert_eq!(shown["email"], email.as_str());
    assert_eq!(shown["liveSessions"], 1);

    let lines = trail(&server, &id);
    assert_eq!(events(&lines)[0], "user_created");
    assert_eq!(lines[0]["operator"], OPERATOR);
}
