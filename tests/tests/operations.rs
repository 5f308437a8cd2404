//! The server as operators run it: its command line (`--help`, `--version`,
//! `serve`, a mistyped argument), the health endpoints a load balancer or an
//! orchestrator probes (with `GET` and `HEAD`, quietly), and SIGHUP ending it
//! gracefully, the queued audit rows stored.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use gatepass_tests::http::RequestSpec;
use gatepass_tests::{binary, unique_email, wait_for, Server, PASSWORD};
use reqwest::Method;

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

#[tokio::test]
async fn the_health_endpoints_give_the_status_and_the_version() {
    let server = Server::start();
    let api = server.api();
    for path in ["/health", "/health/alive", "/health/ready"] {
        let reply = api.get(path, None).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        assert_eq!(reply.body["status"], "ok", "{path}: {}", reply.text);
        let version = reply.body["version"].as_str().unwrap_or_default();
        assert!(is_our_version(version), "{path}: {}", reply.text);
    }
}

async fn head(server: &Server, path: &str) -> gatepass_tests::Reply {
    server
        .api()
        .send(RequestSpec {
            method: Method::HEAD,
            path,
            body: None,
            bearer: None,
            refresh: None,
            headers: vec![],
        })
        .await
}

#[tokio::test]
async fn head_works_on_every_health_endpoint_and_logs_no_error() {
    let server = Server::start();
    for path in ["/health", "/health/alive", "/health/ready"] {
        let reply = head(&server, path).await;
        assert_eq!(reply.status, 200, "HEAD {path}");
        assert!(reply.text.is_empty(), "HEAD {path}: {}", reply.text);
    }
    // Answered as HEAD (Rocket's fallback would log it as a GET, after an
    // error), and once the last request line is in the log, nothing else.
    wait_for(
        "the HEAD request lines",
        Duration::from_secs(10),
        || async {
            let log = server.log();
            ["/health", "/health/alive", "/health/ready"]
                .iter()
                .all(|path| log.contains(&format!("HEAD {path} 200")))
                .then_some(())
        },
    )
    .await;
    let log = server.log();
    assert!(!log.contains(" ERROR "), "{log}");
    assert!(!log.contains("No matching routes"), "{log}");
}

#[tokio::test]
async fn ready_is_503_while_a_migration_is_missing_and_alive_stays_200() {
    let server = Server::start();
    let api = server.api();
    assert_eq!(api.get("/health/ready", None).await.status, 200);

    // As if the database were an older one, not migrated for this build.
    let forgotten = server
        .sql(
            "DELETE FROM _sqlx_migrations \
             WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
        )
        .await;
    assert_eq!(forgotten, 1);

    api.get("/health/ready", None)
        .await
        .assert_error(503, "unavailable");
    assert_eq!(head(&server, "/health/ready").await.status, 503);
    assert_eq!(api.get("/health/alive", None).await.status, 200);
}

#[cfg(unix)]
#[tokio::test]
async fn sighup_shuts_the_server_down_gracefully_and_stores_the_queued_audit_rows() {
    let mut server = Server::start();
    let reply = server.api().login(&unique_email("sighup"), PASSWORD).await;
    reply.assert_error(400, "invalid_credentials");

    let sent = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let status = wait_for("the server to exit", Duration::from_secs(30), || {
        let status = server.try_wait();
        async move { status }
    })
    .await;
    // A graceful end, not death by the signal.
    assert!(status.success(), "{status:?}\n{}", server.log());

    let events = server.sql_column("SELECT event FROM audit_events").await;
    assert!(
        events.iter().any(|event| event == "login_failed"),
        "{events:?}"
    );
}
