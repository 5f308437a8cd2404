//! The binary's start-up: refusing bad configuration with a clear message, and
//! starting with nothing configured at all.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn server() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatepass-server"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_PORT", "0")
        .stdin(Stdio::null());
    command
}

#[test]
fn a_short_secret_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = server()
        .current_dir(dir.path())
        .env("GATEPASS_DATA_DIR", dir.path())
        .env("AUTH_ACCESS_TOKEN_SECRET", "short")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("AUTH_ACCESS_TOKEN_SECRET"), "{stderr}");
    assert!(stderr.contains("at least 32 bytes"), "{stderr}");
    assert!(
        !stderr.contains("short\""),
        "the secret itself is not echoed: {stderr}"
    );
}

#[test]
fn a_bad_duration_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = server()
        .current_dir(dir.path())
        .env("GATEPASS_DATA_DIR", dir.path())
        .env("AUTH_ACCESS_TOKEN_EXPIRY", "two minutes")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AUTH_ACCESS_TOKEN_EXPIRY"));
}

#[test]
fn a_log_level_that_names_no_level_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = server()
        .current_dir(dir.path())
        .env("GATEPASS_DATA_DIR", dir.path())
        .env("GATEPASS_LOG", "verbose")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("GATEPASS_LOG"), "{stderr}");
    assert!(stderr.contains("error, warn, info, debug"), "{stderr}");
    assert!(stderr.contains("TARGET=LEVEL"), "{stderr}");
}

#[test]
fn a_log_format_that_is_neither_text_nor_json_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = server()
        .current_dir(dir.path())
        .env("GATEPASS_DATA_DIR", dir.path())
        .env("GATEPASS_LOG_FORMAT", "logfmt")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("GATEPASS_LOG_FORMAT"), "{stderr}");
    assert!(stderr.contains("text or json"), "{stderr}");
}

#[test]
fn an_unreachable_postgres_is_named_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on: bound, noted, released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = server()
        .current_dir(dir.path())
        .env("GATEPASS_DATA_DIR", dir.path())
        .env(
            "DATABASE_URL",
            format!("postgres://gatepass:pg-pass-s3cret@127.0.0.1:{port}/gatepass"),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot connect to PostgreSQL at 127.0.0.1:{port}/gatepass"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("pg-pass-s3cret"), "{stderr}");
}

/// `cargo run` with nothing configured: SQLite in the data folder, secrets
/// generated once with mode 0600, and the log says so.
#[test]
fn starts_with_nothing_configured() {
    let dir = tempfile::tempdir().unwrap();
    // The default data folder is ./data, relative to where it runs.
    let mut child = server()
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut log = String::new();
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        log.push_str(&line);
        log.push('\n');
        if line.contains("gatepass listening on http://127.0.0.1:") || Instant::now() > deadline {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();

    assert!(log.contains("gatepass listening on"), "{log}");
    assert!(log.contains("generated them and stored them in"), "{log}");
    assert!(log.contains("mail is written to"), "{log}");
    let data = dir.path().join("data");
    assert!(data.join("gatepass.db").exists());
    let secrets = std::fs::read_to_string(data.join("secrets.json")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("secrets.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The log names the file, never its contents.
    let stored: serde_json::Value = serde_json::from_str(&secrets).unwrap();
    let access = stored["access_token_secret"].as_str().unwrap();
    assert!(!log.contains(access));
}
