//! PostgreSQL: for several server processes on one database. Every table,
//! column and query is the same as on SQLite (see `migrations/postgres`);
//! what differs is only how the pool is made and which migrations run.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

use super::Backend;
use crate::config::DatabaseSettings;

/// Opens the pool on `url` with the pool settings. Connections are checked
/// before use (sqlx's default): unlike a local file, a server can go away.
pub async fn connect(url: &str, config: &DatabaseSettings) -> sqlx::Result<Backend> {
    let options: PgConnectOptions = url.parse()?;
    let options = options.disable_statement_logging();
    // One connection first, because a pool reports every failure (refused,
    // wrong password, no such database) as a timeout. Named without the
    // password, which the URL may hold.
    let where_ = format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("")
    );
    match options.connect().await {
        Ok(conn) => {
            let _ = conn.close().await;
        }
        Err(e) => {
            log::error!(target: "gatepass::db", "cannot connect to PostgreSQL at {where_}: {e}");
            return Err(e);
        }
    }
    let pool = PgPoolOptions::new()
        .max_connections(config.max_connections.max(1) as u32)
        .min_connections(config.min_connections.unwrap_or_default())
        .acquire_timeout(Duration::from_secs(config.connect_timeout))
        .idle_timeout(config.idle_timeout.map(Duration::from_secs))
        .connect_with(options)
        .await?;
    Ok(Backend::Postgres(pool))
}

/// Runs the PostgreSQL migrations. Several servers starting at once is safe:
/// sqlx takes an advisory lock around them.
pub async fn prepare(pool: &PgPool) -> Result<(), String> {
    super::POSTGRES_MIGRATIONS
        .run(pool)
        .await
        .map_err(|e| format!("migrations failed: {e}"))
}
