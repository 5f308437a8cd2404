//! The backup round trip, as an operator would run it: `gatepass-server
//! backup DIR` beside a running server while it writes, then a new server on
//! a data folder restored from DIR, where a session started before the
//! backup still refreshes (its token hash and the keys that check it came
//! along) and the user still logs in.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gatepass_tests::database::on_postgres;
use gatepass_tests::{binary, unique_email, wait_for, Api, Server, PASSWORD};

/// At most this many writes in the background stream.
const MAX_WRITES: usize = 3000;
/// The stream goes on for at least this many writes after the backup.
const WRITES_AFTER: usize = 10;

/// `gatepass-server backup DIR` on a server's data folder and database, as
/// an operator runs it next to the service.
fn backup(data: &Path, database_url: &str, dir: &Path) -> Output {
    Command::new(binary("gatepass-server"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GATEPASS_DATA_DIR", data)
        .env("DATABASE_URL", database_url)
        .current_dir(data)
        .stdin(Stdio::null())
        .arg("backup")
        .arg(dir)
        .output()
        .expect("run gatepass-server backup")
}

/// Refreshes (rotations, one write each) and now and then a login (a
/// session and a throttle write), for a few users, until `stop` or
/// [`MAX_WRITES`]; counts them in `done`.
async fn write_steadily(
    api: Api,
    users: Vec<(String, String)>,
    done: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) {
    let mut users = users;
    for n in 0..MAX_WRITES {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let i = n % users.len();
        let (email, token) = &mut users[i];
        if n % 10 == 9 {
            let login = api.login(email, PASSWORD).await;
            assert_eq!(login.status, 200, "login under load: {}", login.text);
        } else {
            let reply = api.reauth(token).await;
            assert_eq!(reply.status, 201, "refresh under load: {}", reply.text);
            *token = reply.refresh_token().expect("a rotated token");
        }
        done.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_a_session_started_before_it() {
    let server = Server::builder()
        // The stream is all from 127.0.0.1, and logs the same users in again.
        .env("AUTH_REAUTH_ADDRESS_LIMIT", "100000/15m")
        .env("AUTH_LOGIN_ADDRESS_LIMIT", "10000/15m")
        .env("AUTH_LOGIN_ACCOUNT_LIMIT", "10000/15m")
        .start();
    let api = server.api();
    let backups = tempfile::tempdir().unwrap();
    let dir = backups.path().join("backup");

    if on_postgres() {
        // Not this command's: PostgreSQL has pg_dump.
        let output = backup(server.data_dir(), server.database_url(), &dir);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("pg_dump"), "{stderr}");
        return;
    }

    // The session that must survive: started before the backup, its cookie
    // kept by the browser, not refreshed since.
    let email = unique_email("backup");
    let user = api.signup(&email).await;
    let login = api.login(&email, PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.text);
    let cookie = login.refresh_token().expect("a refresh cookie");

    // Other users writing all along.
    let mut others = Vec::new();
    for _ in 0..3 {
        let email = unique_email("busy");
        let signed_in = api.signup(&email).await;
        others.push((email, signed_in.refresh_token));
    }
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let stream = tokio::spawn(write_steadily(
        server.api(),
        others,
        done.clone(),
        stop.clone(),
    ));
    wait_for(
        "the stream of writes to start",
        Duration::from_secs(30),
        || {
            let done = done.load(Ordering::SeqCst);
            async move { (done >= WRITES_AFTER).then_some(()) }
        },
    )
    .await;

    let before = done.load(Ordering::SeqCst);
    let output = {
        let dir = dir.clone();
        let data = server.data_dir().to_owned();
        let url = server.database_url().to_owned();
        tokio::task::spawn_blocking(move || backup(&data, &url, &dir))
            .await
            .unwrap()
    };
    let after = done.load(Ordering::SeqCst);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("gatepass.db"), "{stdout}");
    assert!(stdout.contains("secrets.json"), "{stdout}");
    assert!(
        before < MAX_WRITES && after < MAX_WRITES,
        "the stream ran out before the backup ended ({before}, {after})"
    );

    // The server kept writing after the backup, then the stream ends.
    wait_for("writes after the backup", Duration::from_secs(60), || {
        let done = done.load(Ordering::SeqCst);
        async move { (done >= after + WRITES_AFTER).then_some(()) }
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    stream.await.expect("the stream of writes");
    let late = unique_email("late");
    api.signup(&late).await;
    drop(server.stop());

    // Restore: stop, put the two files in a data folder, start.
    let restored = tempfile::tempdir().unwrap();
    for name in ["gatepass.db", "secrets.json"] {
        std::fs::copy(dir.join(name), restored.path().join(name)).expect("restore a file");
    }
    let server = Server::builder().data_dir(restored).start();
    let api = server.api();

    let refreshed = api.reauth(&cookie).await;
    assert_eq!(
        refreshed.status, 201,
        "the session from before the backup refreshes: {}",
        refreshed.text
    );
    let access = refreshed.access_token().expect("an access token");
    let me = api.me(&access).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["user"]["id"], user.user["id"]);

    let login = api.login(&email, PASSWORD).await;
    assert_eq!(login.status, 200, "the user logs in: {}", login.text);
    // Made after the backup: not in it.
    api.login(&late, PASSWORD)
        .await
        .assert_error(400, "invalid_credentials");
}
