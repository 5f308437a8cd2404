//! The server as operators run it: its command line (`--help`, `--version`,
//! `serve`, a mistyped argument).

use std::path::Path;
use std::process::{Command, Output};

use gatepass_tests::{binary, Server};

/// Runs `gatepass-server ARGS` in `dir` with an empty environment.
fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(binary("gatepass-server"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run gatepass-server")
}

/// Whatever `dir` holds (the server would create `data/` there to serve).
fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read the folder")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// The version the health bodies and `--version` give: the package's, then
/// the commit (or "unknown" when built without git).
fn is_our_version(version: &str) -> bool {
    version
        .strip_prefix(concat!(env!("CARGO_PKG_VERSION"), "+"))
        .is_some_and(|commit| !commit.is_empty())
}

#[test]
fn help_and_version_answer_without_creating_data_or_secrets() {
    let dir = tempfile::tempdir().unwrap();

    let help = run_in(dir.path(), &["--help"]);
    assert_eq!(help.status.code(), Some(0), "{help:?}");
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("Usage: gatepass-server"), "{text}");
    assert!(text.contains("serve"), "{text}");

    let version = run_in(dir.path(), &["--version"]);
    assert_eq!(version.status.code(), Some(0), "{version:?}");
    let text = String::from_utf8_lossy(&version.stdout);
    let version = text
        .trim()
        .strip_prefix("gatepass-server ")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(is_our_version(version), "{text}");

    // No data folder, no generated secrets, nothing at all.
    assert_eq!(entries(dir.path()), Vec::<String>::new());
}

#[test]
fn an_unknown_argument_is_exit_2_with_clap_s_message() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(dir.path(), &["--bogus"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("unexpected argument '--bogus'"), "{text}");
    assert!(text.contains("Usage: gatepass-server"), "{text}");
    assert_eq!(entries(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn serve_serves_like_no_command_at_all() {
    let server = Server::builder().arg("serve").start();
    let reply = server.api().get("/health", None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}
