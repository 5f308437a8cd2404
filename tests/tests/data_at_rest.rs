//! Data at rest: the data folder holds password hashes, emails, secrets and
//! mailed reset links, so the server creates it 0700 and everything in it
//! for its own user alone (0600), SQLite's `-wal` and `-shm` included; and it
//! warns at start about an existing folder that other users can open.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use gatepass_tests::database::on_postgres;
use gatepass_tests::{unique_email, Server, ServerBuilder};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// A server whose data folder is `data` inside a fresh temporary folder (so
/// that the server, not the test, creates or finds it), its SQLite database
/// in there too.
fn server_on(data: &Path, dir: tempfile::TempDir) -> ServerBuilder {
    let builder = Server::builder()
        .data_dir(dir)
        .env("GATEPASS_DATA_DIR", data.display().to_string());
    if on_postgres() {
        builder
    } else {
        builder.env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", data.join("gatepass.db").display()),
        )
    }
}

const OPEN_FOLDER_WARNING: &str = "is open to other users";

#[tokio::test]
async fn a_new_data_folder_and_everything_in_it_is_for_the_server_s_user_alone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = server_on(&data, dir).start();
    // Something to store: a user, a session (SQLite writes its -wal and -shm).
    server.api().signup(&unique_email("at-rest")).await;

    assert_eq!(mode(&data), 0o700, "the data folder");
    if !on_postgres() {
        for file in ["gatepass.db", "gatepass.db-wal", "gatepass.db-shm"] {
            assert_eq!(mode(&data.join(file)), 0o600, "{file}");
        }
    }
    // Whatever else the server put there (the generated secrets, ...).
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(
            mode(&path) & 0o077,
            0,
            "{} is open to others",
            path.display()
        );
    }
    assert!(
        !server.log().contains(OPEN_FOLDER_WARNING),
        "{}",
        server.log()
    );
}

#[tokio::test]
async fn an_existing_data_folder_that_others_can_read_is_reported_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = server_on(&data, dir).start();

    // start() has waited for the "listening" line; the warning comes before it.
    let log = server.log();
    let warning = log
        .lines()
        .find(|line| line.contains(OPEN_FOLDER_WARNING))
        .unwrap_or_else(|| panic!("no warning about the open data folder in:\n{log}"));
    assert!(
        warning.contains("WARN") && warning.contains("gatepass::config"),
        "{warning}"
    );
    assert!(
        warning.contains(&data.display().to_string()) && warning.contains("0755"),
        "{warning}"
    );
    // Told, not overruled: the operator's folder keeps its mode.
    assert_eq!(mode(&data), 0o755);
}
