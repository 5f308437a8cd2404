//! What the tests that run the `gatepass-server` binary's commands share.

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The binary with nothing of this process's environment but `PATH`, on a
/// loopback address and a port of the system's choosing, with `data_dir` as
/// its data folder.
pub fn server(cwd: &Path, data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatepass-server"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_PORT", "0")
        .env("GATEPASS_DATA_DIR", data_dir)
        .current_dir(cwd)
        .stdin(Stdio::null());
    command
}

/// Runs `command` to its end: its exit code, standard output and error.
pub fn run(command: &mut Command) -> (Option<i32>, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (status.code(), text(&stdout), text(&stderr))
}

/// The migrations recorded in the SQLite database at `path`.
pub fn recorded_migrations(path: &Path) -> i64 {
    let url = format!("sqlite://{}?mode=ro", path.display());
    rocket::tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let count = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            count
        })
}
