//! The binary's commands besides `serve`: `migrate` and `check-config`, run
//! as an operator runs them.

mod common;

use std::process::Stdio;

use common::{recorded_migrations, run, server};
use gatepass_server::config::SETTINGS;

#[test]
fn migrate_creates_the_database_then_finds_it_current() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let every = gatepass_server::db::SQLITE_MIGRATIONS.iter().count();

    let (code, stdout, stderr) = run(server(dir.path(), &data).arg("migrate"));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let applied = stdout.lines().filter(|l| l.starts_with("applied ")).count();
    assert_eq!(applied, every, "{stdout}");
    assert!(
        stdout.contains(&format!("current ({every} migrations")),
        "{stdout}"
    );
    let db = data.join("gatepass.db");
    assert_eq!(recorded_migrations(&db), every as i64);

    let (code, stdout, stderr) = run(server(dir.path(), &data).arg("migrate"));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("already current"), "{stdout}");
    assert!(!stdout.contains("applied "), "{stdout}");
    assert_eq!(recorded_migrations(&db), every as i64);
}

#[test]
fn migrate_refuses_a_bad_setting_and_an_unopenable_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (code, _, stderr) = run(server(dir.path(), &data)
        .arg("migrate")
        .env("AUTH_ACCESS_TOKEN_EXPIRY", "soon"));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("AUTH_ACCESS_TOKEN_EXPIRY is invalid"),
        "{stderr}"
    );

    // A folder that does not exist: SQLite cannot create the file.
    let missing = dir.path().join("no/such/folder/gatepass.db");
    let (code, _, stderr) = run(server(dir.path(), &data)
        .arg("migrate")
        .env("DATABASE_URL", format!("sqlite://{}", missing.display())));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("cannot open the database"), "{stderr}");
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");

    // A port nothing listens on: bound, noted, released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, _, stderr) = run(server(dir.path(), &data).arg("migrate").env(
        "DATABASE_URL",
        format!("postgres://gatepass:pg-pass-s3cret@127.0.0.1:{port}/gatepass"),
    ));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot open the database postgres://gatepass:***@127.0.0.1:{port}/gatepass"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("pg-pass-s3cret"), "{stderr}");
}

#[test]
fn check_config_lists_every_setting_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let secret = "k3y-".repeat(12);
    assert_eq!(secret.len(), 48);
    let (code, stdout, stderr) = run(server(dir.path(), &data)
        .arg("check-config")
        .env("AUTH_ACCESS_TOKEN_SECRET", &secret)
        .env(
            "DATABASE_URL",
            "postgres://gatepass:pg-pass-s3cret@127.0.0.1:1/gatepass",
        ));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");

    for setting in SETTINGS {
        assert!(
            stdout
                .lines()
                .any(|line| line.starts_with(&format!("{} ", setting.name))),
            "{} is not listed:\n{stdout}",
            setting.name
        );
    }
    assert_eq!(stdout.lines().count(), SETTINGS.len(), "{stdout}");
    for hidden in [secret.as_str(), "pg-pass-s3cret"] {
        assert!(!stdout.contains(hidden), "{stdout}");
        assert!(!stderr.contains(hidden), "{stderr}");
    }
    let line = |name: &str| {
        stdout
            .lines()
            .find(|line| line.starts_with(&format!("{name} ")))
            .unwrap()
            .to_owned()
    };
    assert!(line("AUTH_ACCESS_TOKEN_SECRET").ends_with("(secret, 48 bytes)"));
    assert!(line("AUTH_REFRESH_TOKEN_SECRET").contains("generated at first start"));
    assert!(line("DATABASE_URL").ends_with("postgres://gatepass:***@127.0.0.1:1/gatepass"));
    // Aligned: every value starts in the same column.
    let columns: Vec<usize> = stdout
        .lines()
        .map(|l| l.len() - l.split_once(' ').unwrap().1.trim_start().len())
        .collect();
    assert!(columns.windows(2).all(|w| w[0] == w[1]), "{stdout}");

    assert!(!data.exists(), "no data folder is created");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing is created where it runs"
    );
}

#[test]
fn check_config_reads_existing_secrets_without_showing_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (code, _, stderr) = run(server(dir.path(), &data).arg("migrate"));
    assert_eq!(code, Some(0), "{stderr}");
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("secrets.json")).unwrap()).unwrap();
    let files_before = std::fs::read_dir(&data).unwrap().count();

    let (code, stdout, stderr) = run(server(dir.path(), &data).arg("check-config"));
    assert_eq!(code, Some(0), "{stderr}");
    for key in ["access_token_secret", "refresh_token_secret"] {
        let value = stored[key].as_str().unwrap();
        assert!(!stdout.contains(value), "{stdout}");
        assert!(!stderr.contains(value), "{stderr}");
    }
    assert!(stdout.contains("(secret, from "), "{stdout}");
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), files_before);
}

#[test]
fn check_config_names_the_first_bad_setting() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (code, stdout, stderr) = run(server(dir.path(), &data)
        .arg("check-config")
        .env("AUTH_ACCESS_TOKEN_EXPIRY", "two minutes"));
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr
            .contains("gatepass-server: configuration error: AUTH_ACCESS_TOKEN_EXPIRY is invalid"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "{stdout}");
    assert!(!data.exists());

    let (code, _, stderr) = run(server(dir.path(), &data)
        .arg("check-config")
        .env("GATEPASS_LOG", "verbose"));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("GATEPASS_LOG"), "{stderr}");
}

#[test]
fn check_config_json_is_one_object_of_every_setting() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (code, stdout, stderr) = run(server(dir.path(), &data)
        .args(["check-config", "--json"])
        .env("AUTH_BCRYPT_COST", "11"));
    assert_eq!(code, Some(0), "{stderr}");
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(object.len(), SETTINGS.len(), "{stdout}");
    for setting in SETTINGS {
        assert!(object[setting.name].is_string(), "{}", setting.name);
    }
    assert_eq!(object["AUTH_BCRYPT_COST"], "11");
    assert_eq!(object["GATEPASS_LOG"], "info");
    assert!(!data.exists());
}

/// `migrate` beside a running server on the same SQLite database: it finds
/// the database current, and the server keeps answering.
#[test]
fn migrate_runs_beside_a_running_server() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = server(dir.path(), &data)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut address = None;
    for line in lines.by_ref().map_while(Result::ok) {
        if let Some(at) = line.find("listening on http://") {
            address = Some(line[at + "listening on http://".len()..].trim().to_owned());
            break;
        }
        if Instant::now() > deadline {
            break;
        }
    }
    // Keep draining the log so the server never blocks on a full pipe.
    let drain = std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});

    let result = address.map(|address| {
        let migrated = run(server(dir.path(), &data).arg("migrate"));
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream
            .write_all(b"GET /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        (migrated, answer)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    drain.join().unwrap();

    let ((code, stdout, stderr), answer) = result.expect("the server started");
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("already current"), "{stdout}");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
