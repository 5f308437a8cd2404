//! Stores on a temporary SQLite database, for the unit tests of the store
//! and of the domain layer: no HTTP, no server process. And, when
//! [`POSTGRES_URL_VAR`] names a PostgreSQL server, stores on a throwaway
//! database there (the store's contract test runs on both).

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rocket::tokio::sync::Mutex;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection, SqlitePool};

use super::Store;
use crate::db::Backend;

/// The database file in `dir`, opened as the server opens it, with no
/// migration run yet; see [`migrate`] and [`store_on`].
pub async fn open(dir: &Path) -> (SqlitePool, SqliteConnectOptions) {
    let options = SqliteConnectOptions::new()
        .filename(dir.join("gatepass.db"))
        .create_if_missing(true);
    let pool = SqlitePool::connect_with(options.clone()).await.unwrap();
    (pool, options)
}

/// Runs the SQLite migrations up to `up_to` (all of them if `None`).
pub async fn migrate(pool: &SqlitePool, up_to: Option<i64>) {
    let all = sqlx::migrate!("./migrations/sqlite");
    let migrator = Migrator {
        migrations: Cow::Owned(
            all.migrations
                .iter()
                .filter(|m| up_to.is_none_or(|v| m.version <= v))
                .cloned()
                .collect(),
        ),
        ..all
    };
    migrator.run(pool).await.unwrap();
}

/// The store on `pool`'s database, with its own writer connection.
pub async fn store_on(pool: &SqlitePool, options: &SqliteConnectOptions) -> Store {
    let writer = Arc::new(Mutex::new(options.connect().await.unwrap()));
    Store::new(Backend::Sqlite {
        pool: pool.clone(),
        writer,
    })
}

/// A fully migrated store in `dir`, opened exactly as the server opens its
/// database (`db::connect` and `db::prepare` with the default settings:
/// WAL, `synchronous = full`, the busy timeout, the separate writer), and a
/// pool for looking at its tables.
pub async fn store(dir: &Path) -> (Store, SqlitePool) {
    let config = crate::Config::with_settings(dir, &[]).expect("the default settings");
    let backend = crate::db::connect(&config.database)
        .await
        .expect("open the test database");
    crate::db::prepare(&backend)
        .await
        .expect("migrate the test database");
    let Backend::Sqlite { pool, .. } = &backend else {
        unreachable!("the default database is SQLite");
    };
    let pool = pool.clone();
    (Store::new(backend), pool)
}

/// The variable that names a PostgreSQL server for the store's tests: an
/// admin URL, e.g. `postgres://gatepass@127.0.0.1:5433/postgres` (the same
/// variable as the black-box suite's, see `tests/src/database.rs`).
pub const POSTGRES_URL_VAR: &str = "GATEPASS_TEST_POSTGRES_URL";

/// The admin URL of [`POSTGRES_URL_VAR`], if it is set.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// A store on a throwaway PostgreSQL database of its own; see
/// [`postgres_store`]. [`PostgresStore::drop_database`] removes it.
pub struct PostgresStore {
    pub store: Store,
    pub name: String,
    admin: PgConnectOptions,
}

/// Creates an empty database with a unique name through an admin connection
/// to `admin_url`, and opens a fully migrated store on it the way the server
/// does (a `Backend::Postgres` pool, then `db::prepare`'s migrations).
pub async fn postgres_store(admin_url: &str) -> PostgresStore {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);

    let admin: PgConnectOptions = admin_url
        .parse::<PgConnectOptions>()
        .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR}: {e}"))
        .disable_statement_logging();
    // The process id and a counter keep names apart within a run; the random
    // part, from a database left behind by an earlier run with the same id.
    let name = format!(
        "gatepass_store_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        &uuid::Uuid::new_v4().simple().to_string()[..8],
    );
    let mut conn = PgConnection::connect_with(&admin)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR}: cannot connect: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("create the test database {name}: {e}"));
    let _ = conn.close().await;

    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(admin.clone().database(&name))
        .await
        .unwrap_or_else(|e| panic!("open the test database {name}: {e}"));
    let backend = Backend::Postgres(pool);
    crate::db::prepare(&backend)
        .await
        .unwrap_or_else(|e| panic!("migrate the test database {name}: {e}"));
    PostgresStore {
        store: Store::new(backend),
        name,
        admin,
    }
}

impl PostgresStore {
    /// Closes the store (its queued audit rows written first) and drops its
    /// database. Best effort: a failure is reported, not raised, and leaves
    /// the database behind.
    pub async fn drop_database(self) {
        self.store.close().await;
        let dropped = async {
            let mut conn = PgConnection::connect_with(&self.admin).await?;
            // FORCE (PostgreSQL 13+): a connection still closing is no reason
            // to keep the database.
            sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn)
            .await?;
            conn.close().await
        };
        if let Err(e) = dropped.await {
            eprintln!("the test database {} is left behind: {e}", self.name);
        }
    }
}
