//! The `gatepass` binary without a server: argument errors, exit codes and
//! the "never wait for a prompt without a terminal" rule. (Also makes
//! `cargo test` build the binary that the black-box tests in tests/ run.)

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// A port nothing listens on: bind one, then free it.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Runs gatepass in an empty home with a clean environment.
fn gatepass(args: &[&str], stdin: Option<&str>) -> Output {
    let home = tempfile::tempdir().expect("temp home");
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatepass"));
    command
        .args(args)
        .env_clear()
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("GATEPASS_TOKEN_STORE", "file")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("run gatepass");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("gatepass finishes")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn bad_arguments_exit_2() {
    for args in [
        &["frobnicate"][..],
        &["login"],
        &["user"],
        &[
            "login",
            "--email",
            "a@example.com",
            "--password",
            "hunter2hunter2",
        ],
    ] {
        let output = gatepass(args, None);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn no_command_without_a_terminal_is_a_usage_error() {
    let output = gatepass(&[], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("Usage"), "{}", stderr(&output));
}

#[test]
fn help_documents_the_exit_codes() {
    let output = gatepass(&["--help"], None);
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("Exit codes"), "{help}");
    assert!(help.contains("4  authentication required"), "{help}");
    assert!(help.contains("GATEPASS_API_TOKEN"), "{help}");
    assert!(help.contains("tokens"), "{help}");
}

#[test]
fn a_malformed_api_token_is_a_usage_error_before_anything_is_sent() {
    let server = format!("http://127.0.0.1:{}", closed_port());
    let home = tempfile::tempdir().expect("temp home");
    let output = Command::new(env!("CARGO_BIN_EXE_gatepass"))
        .args(["--server", &server, "token"])
        .env_clear()
        .env("HOME", home.path())
        .env("GATEPASS_API_TOKEN", "ghp_not-ours")
        .stdin(Stdio::null())
        .output()
        .expect("run gatepass");
    // 2, not 3: refused before the unreachable server is tried.
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("GATEPASS_API_TOKEN"), "{message}");
    assert!(!message.contains("not-ours"), "{message}");
    assert!(output.stdout.is_empty());
}

#[test]
fn a_closed_port_exits_3_with_a_readable_message() {
    let server = format!("http://127.0.0.1:{}", closed_port());
    let output = gatepass(&["--server", &server, "me"], None);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("cannot reach the server at"), "{message}");
    assert!(message.contains(&server), "{message}");
}

#[test]
fn json_errors_go_to_stderr_as_json() {
    let server = format!("http://127.0.0.1:{}", closed_port());
    let output = gatepass(&["--server", &server, "--json", "me"], None);
    assert_eq!(output.status.code(), Some(3));
    let last = stderr(&output);
    let last = last.lines().last().expect("an error line");
    let error: serde_json::Value = serde_json::from_str(last).expect("JSON on stderr");
    assert_eq!(error["code"], "server_unreachable");
    assert_eq!(error["exitCode"], 3);
    assert!(output.stdout.is_empty());

    let output = gatepass(&["--json", "frobnicate"], None);
    assert_eq!(output.status.code(), Some(2));
    let error: serde_json::Value =
        serde_json::from_str(stderr(&output).trim()).expect("JSON usage error");
    assert_eq!(error["code"], "usage");
}

#[test]
fn login_without_a_terminal_fails_at_once_instead_of_prompting() {
    let server = format!("http://127.0.0.1:{}", closed_port());
    let output = gatepass(
        &["--server", &server, "login", "--email", "a@example.com"],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--password-stdin"),
        "{}",
        stderr(&output)
    );

    // An empty stdin with --password-stdin is a usage error too.
    let output = gatepass(
        &[
            "--server",
            &server,
            "login",
            "--email",
            "a@example.com",
            "--password-stdin",
        ],
        Some(""),
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn a_bad_server_url_or_token_store_is_a_usage_error() {
    let output = gatepass(&["--server", "ftp://127.0.0.1", "me"], None);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));

    let home = tempfile::tempdir().expect("temp home");
    let output = Command::new(env!("CARGO_BIN_EXE_gatepass"))
        .args(["status"])
        .env_clear()
        .env("HOME", home.path())
        .env("GATEPASS_TOKEN_STORE", "vault")
        .stdin(Stdio::null())
        .output()
        .expect("run gatepass");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("GATEPASS_TOKEN_STORE"));
}

#[test]
fn status_offline_says_signed_out_and_exits_4() {
    let server = format!("http://127.0.0.1:{}", closed_port());
    let output = gatepass(&["--server", &server, "--json", "status"], None);
    // 4, as every command that needs a session: scripts test the code.
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON status");
    assert_eq!(status["server"], server.as_str());
    assert_eq!(status["signedIn"], false);
    assert_eq!(status["tokenStore"], "none");
}
