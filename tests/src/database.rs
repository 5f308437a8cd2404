//! Which database the servers under test use. SQLite (a file in each server's
//! data folder) unless `GATEPASS_TEST_POSTGRES_URL` names a PostgreSQL server
//! (an admin URL, e.g. `postgres://gatepass@127.0.0.1:5433/postgres`): then
//! every server gets a fresh database of its own there. `.ci/run` runs the
//! whole suite both ways.

use std::path::Path;

use sqlx::Connection;

/// The variable that switches the suite to PostgreSQL.
pub const POSTGRES_URL_VAR: &str = "GATEPASS_TEST_POSTGRES_URL";

/// The file in a data folder that remembers which database a server used, so
/// a second server started on that folder uses the same one.
const URL_FILE: &str = "database_url";

/// The `DATABASE_URL` for a server on `data_dir`: the one recorded there, or
/// a new one.
pub fn url_for(data_dir: &Path) -> String {
    let recorded = data_dir.join(URL_FILE);
    if let Ok(url) = std::fs::read_to_string(&recorded) {
        return url;
    }
    let url = match postgres_admin_url() {
        Some(admin) => create_postgres_database(&admin),
        None => format!(
            "sqlite://{}?mode=rwc",
            data_dir.join("gatepass.db").display()
        ),
    };
    std::fs::write(&recorded, &url).expect("record the database URL");
    url
}

/// Whether this run of the suite is on PostgreSQL.
pub fn on_postgres() -> bool {
    postgres_admin_url().is_some()
}

fn postgres_admin_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// Creates an empty database and returns its URL. On a thread of its own, so
/// that it works from sync and async tests alike.
fn create_postgres_database(admin: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "gatepass_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let create = name.clone();
    let connect_to = admin.to_owned();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async {
                let mut conn = sqlx::PgConnection::connect(&connect_to)
                    .await
                    .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR}={connect_to}: {e}"));
                sqlx::query(&format!("CREATE DATABASE {create}"))
                    .execute(&mut conn)
                    .await
                    .expect("create a test database");
            })
    })
    .join()
    .expect("creating the test database");
    let base = admin
        .rsplit_once('/')
        .map(|(base, _)| base)
        .expect("the admin URL names a database");
    format!("{base}/{name}")
}

/// A connection to a server's database, beside the server's own.
pub async fn connect(url: &str) -> sqlx::AnyConnection {
    static DRIVERS: std::sync::Once = std::sync::Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
    sqlx::AnyConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("open the test database {url}: {e}"))
}
