//! Stores on a temporary SQLite database, for the unit tests of the store
//! and of the domain layer: no HTTP, no server process.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use rocket::tokio::sync::Mutex;
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, SqlitePool};

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

/// A fully migrated store in `dir`, and a pool for looking at its tables.
pub async fn store(dir: &Path) -> (Store, SqlitePool) {
    let (pool, options) = open(dir).await;
    migrate(&pool, None).await;
    (store_on(&pool, &options).await, pool)
}
