//! `gatepass-server backup DIR`, run as an operator runs it: what it writes
//! and with which modes, the secrets file only when the keys were generated,
//! never overwriting a backup, and PostgreSQL sent to pg_dump. (The round
//! trip under load, restored and served, is `tests/tests/backup_restore.rs`.)

mod common;

use std::path::Path;

use common::{recorded_migrations, run, server};

/// A data folder with a migrated database.
fn migrated(cwd: &Path, data: &Path, settings: &[(&str, &str)]) {
    let mut command = server(cwd, data);
    command.arg("migrate").envs(settings.iter().copied());
    let (code, stdout, stderr) = run(&mut command);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn writes_the_database_and_the_generated_secrets_for_this_user_alone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    migrated(dir.path(), &data, &[]);
    let target = dir.path().join("backups/monday");

    let (code, stdout, stderr) = run(server(dir.path(), &data)
        .arg("backup")
        .arg(&target)
        .env("CI", "true"));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_eq!(names(&target), ["gatepass.db", "secrets.json"]);
    for name in ["gatepass.db", "secrets.json"] {
        let path = target.join(name);
        assert!(
            stdout.contains(&path.display().to_string()),
            "names what it wrote: {stdout}"
        );
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600, "{name}");
    }
    #[cfg(unix)]
    assert_eq!(mode(&target), 0o700);
    assert!(stdout.contains("KiB"), "with its size: {stdout}");
    // stderr is not a terminal: no progress bar.
    assert!(!stderr.contains("copying the database"), "{stderr}");

    let every = gatepass_server::db::SQLITE_MIGRATIONS.iter().count() as i64;
    assert_eq!(recorded_migrations(&target.join("gatepass.db")), every);
    assert_eq!(
        std::fs::read(target.join("secrets.json")).unwrap(),
        std::fs::read(data.join("secrets.json")).unwrap()
    );
}

#[test]
fn configured_keys_leave_no_secrets_file_to_copy_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let access = "a".repeat(48);
    let refresh = "r".repeat(48);
    let keys = [
        ("AUTH_ACCESS_TOKEN_SECRET", access.as_str()),
        ("AUTH_REFRESH_TOKEN_SECRET", refresh.as_str()),
    ];
    migrated(dir.path(), &data, &keys);
    // A file from an earlier start without them: it signs nothing now.
    migrated(dir.path(), &data, &[]);
    assert!(data.join("secrets.json").exists());
    let target = dir.path().join("backup");

    let (code, stdout, stderr) = run(server(dir.path(), &data)
        .arg("backup")
        .arg(&target)
        .envs(keys));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_eq!(names(&target), ["gatepass.db"]);
    assert!(
        stdout.contains("AUTH_REFRESH_TOKEN_SECRET are configured"),
        "{stdout}"
    );
    assert!(!stdout.contains(&refresh), "{stdout}");
}

#[test]
fn a_backup_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    migrated(dir.path(), &data, &[]);
    let target = dir.path().join("backup");
    let (code, stdout, stderr) = run(server(dir.path(), &data).arg("backup").arg(&target));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let first = std::fs::read(target.join("gatepass.db")).unwrap();

    let (code, stdout, stderr) = run(server(dir.path(), &data).arg("backup").arg(&target));
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    let db = target.join("gatepass.db");
    assert!(
        stderr.contains(&format!("{} already exists", db.display())),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), first);
    assert_eq!(
        names(&target),
        ["gatepass.db", "secrets.json"],
        "no partial file"
    );

    // A folder holding only secrets.json (not this database's keys, maybe).
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("secrets.json"), "{}").unwrap();
    let (code, _, stderr) = run(server(dir.path(), &data).arg("backup").arg(&other));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("secrets.json already exists"), "{stderr}");
    assert_eq!(names(&other), ["secrets.json"]);
    assert_eq!(
        std::fs::read_to_string(other.join("secrets.json")).unwrap(),
        "{}"
    );
}

#[test]
fn postgres_is_sent_to_pg_dump_before_any_connection() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A port nothing listens on: bound, noted, released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = dir.path().join("backup");
    let (code, stdout, stderr) = run(server(dir.path(), &data).arg("backup").arg(&target).env(
        "DATABASE_URL",
        format!("postgres://gatepass:pg-pass-s3cret@127.0.0.1:{port}/gatepass"),
    ));
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("pg_dump"), "{stderr}");
    assert!(!stderr.contains("pg-pass-s3cret"), "{stderr}");
    assert!(!target.exists(), "nothing written");
}

#[test]
fn a_missing_database_or_a_bad_setting_fails_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let target = dir.path().join("backup");

    // Never created by the backup (as opening it as the server does would).
    let (code, _, stderr) = run(server(dir.path(), &data).arg("backup").arg(&target));
    assert_eq!(code, Some(1), "{stderr}");
    let db = data.join("gatepass.db");
    assert!(
        stderr.contains(&format!("cannot open the database {}", db.display())),
        "{stderr}"
    );
    assert!(!db.exists());
    assert!(!target.exists());

    let (code, _, stderr) = run(server(dir.path(), &data)
        .arg("backup")
        .arg(&target)
        .env("AUTH_ACCESS_TOKEN_EXPIRY", "soon"));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("AUTH_ACCESS_TOKEN_EXPIRY is invalid"),
        "{stderr}"
    );

    // No folder to write into: a file stands where it would go.
    migrated(dir.path(), &data, &[]);
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let (code, _, stderr) = run(server(dir.path(), &data)
        .arg("backup")
        .arg(file.join("backup")));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot create the backup folder"),
        "{stderr}"
    );
}
