//! The database: SQLite (the default, one process) or PostgreSQL (several
//! server processes on one database), chosen by the scheme of `DATABASE_URL`.
//!
//! This layer knows connections, never tables: [`Backend`] holds the sqlx
//! pools of whichever database it is, and hands out three kinds of handle:
//! a [`Backend::reader`], a [`Backend::writer`] for one statement, and a
//! [`Backend::transaction`]. On SQLite the writer and every transaction are
//! the one writer connection (see `sqlite.rs`), so writes queue there instead
//! of colliding on SQLite's lock; [`Batcher`] lets concurrent writes of one
//! kind share a statement and a commit on it (group commit). The SQL itself
//! is in `store/`, written once with `$1`-style parameters that both drivers
//! take, and run on either through [`on_conn!`] and [`on_tx!`].
//!
//! Start-up (migrations, and SQLite's WAL and checkpoints) is in `sqlite.rs`
//! and `postgres.rs`.

mod batch;
mod postgres;
mod sqlite;

use std::sync::Arc;

use rocket::tokio::sync::{Mutex, MutexGuard, OwnedMutexGuard};
use sqlx::migrate::Migrator;
use sqlx::{PgPool, Postgres, SqliteConnection, SqlitePool};

pub use batch::{Apply, Batcher};

use crate::config::{DatabaseSettings, DatabaseUrl};

/// The migrations of this build, per backend: run at start, and checked by
/// `/health/ready`.
pub static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
pub static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");
pub use sqlite::checkpoint_forever;

/// Which database, and its sqlx pools. Cheap to clone (the pools are shared).
#[derive(Clone, Debug)]
pub enum Backend {
    /// `pool` for reads; `writer`, one connection, for every write and
    /// every transaction (see `sqlite.rs` for why).
    Sqlite {
        pool: SqlitePool,
        writer: Arc<Mutex<SqliteConnection>>,
    },
    /// PostgreSQL takes concurrent writers: one pool for everything.
    Postgres(PgPool),
}

/// Where to run one statement; see [`on_conn!`].
pub enum Conn<'a> {
    Sqlite(&'a SqlitePool),
    /// SQLite's writer connection, held until the statement is done.
    SqliteWriter(MutexGuard<'a, SqliteConnection>),
    Postgres(&'a PgPool),
}

/// An open transaction on either backend; see [`on_tx!`]. Dropped without
/// [`Tx::commit`], it rolls back.
pub enum Tx {
    Sqlite(WriterTx),
    /// Boxed: a PostgreSQL connection is several times the size of SQLite's
    /// handle.
    Postgres(Box<sqlx::Transaction<'static, Postgres>>),
}

/// A transaction on SQLite's writer connection, which it holds (so no other
/// write of this process runs inside it) until it commits or rolls back.
///
/// `BEGIN IMMEDIATE` takes SQLite's write lock at once: another process on
/// the same file waits at the start, never half-way through.
pub struct WriterTx {
    /// `None` once committed.
    conn: Option<OwnedMutexGuard<SqliteConnection>>,
}

impl WriterTx {
    async fn begin(writer: &Arc<Mutex<SqliteConnection>>) -> sqlx::Result<WriterTx> {
        let mut conn = writer.clone().lock_owned().await;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        Ok(WriterTx { conn: Some(conn) })
    }

    /// The connection, for the statements of this transaction.
    pub fn conn(&mut self) -> &mut SqliteConnection {
        self.conn
            .as_mut()
            .expect("a transaction is used after its commit")
    }

    async fn commit(mut self) -> sqlx::Result<()> {
        let mut conn = self.conn.take().expect("a transaction commits once");
        if let Err(e) = sqlx::query("COMMIT").execute(&mut *conn).await {
            // Leave the writer outside any transaction for the next write.
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            return Err(e);
        }
        Ok(())
    }
}

impl Drop for WriterTx {
    /// Not committed (an error, or the request's future was dropped): roll
    /// back before the writer serves anyone else. The writer stays held until
    /// then, so no other write can land inside the abandoned transaction.
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        match rocket::tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(e) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
                        log::error!(target: "gatepass::db", "rollback failed: {e}");
                    }
                });
            }
            Err(_) => {
                log::error!(target: "gatepass::db", "a transaction was dropped outside the runtime")
            }
        }
    }
}

/// Runs `$body` with `$e` bound to the executor of a [`Conn`] (a pool or a
/// connection: use it once). The body is compiled once per kind, so each
/// keeps its own driver's types.
macro_rules! on_conn {
    ($conn:expr, |$e:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite($e) => $body,
            $crate::db::Conn::SqliteWriter(mut guard) => {
                let $e = &mut *guard;
                $body
            }
            $crate::db::Conn::Postgres($e) => $body,
        }
    };
}

/// Runs `$body` with `$e` bound to the connection of a `&mut` [`Tx`].
macro_rules! on_tx {
    ($tx:expr, |$e:ident| $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(tx) => {
                let $e = tx.conn();
                $body
            }
            $crate::db::Tx::Postgres(tx) => {
                let $e = &mut ***tx;
                $body
            }
        }
    };
}

pub(crate) use {on_conn, on_tx};

impl Backend {
    /// Where reads go.
    pub fn reader(&self) -> Conn<'_> {
        match self {
            Backend::Sqlite { pool, .. } => Conn::Sqlite(pool),
            Backend::Postgres(pool) => Conn::Postgres(pool),
        }
    }

    /// Where a single-statement write goes (on SQLite, waits for the
    /// writer).
    pub async fn writer(&self) -> Conn<'_> {
        match self {
            Backend::Sqlite { writer, .. } => Conn::SqliteWriter(writer.lock().await),
            Backend::Postgres(pool) => Conn::Postgres(pool),
        }
    }

    /// A transaction (on SQLite, on the writer, which it holds until it
    /// ends: nothing inside it may wait for another write).
    pub async fn transaction(&self) -> sqlx::Result<Tx> {
        Ok(match self {
            Backend::Sqlite { writer, .. } => Tx::Sqlite(WriterTx::begin(writer).await?),
            Backend::Postgres(pool) => Tx::Postgres(Box::new(pool.begin().await?)),
        })
    }

    /// The migrations this build runs on this backend.
    pub fn migrator(&self) -> &'static Migrator {
        match self {
            Backend::Sqlite { .. } => &SQLITE_MIGRATIONS,
            Backend::Postgres(_) => &POSTGRES_MIGRATIONS,
        }
    }

    /// The versions of the migrations applied to this database (sqlx keeps
    /// them in `_sqlx_migrations`); none when it has no such table yet.
    pub async fn applied_migrations(&self) -> sqlx::Result<Vec<i64>> {
        const APPLIED: &str = "SELECT version FROM _sqlx_migrations WHERE success";
        let applied = match self {
            Backend::Sqlite { pool, .. } => sqlx::query_scalar(APPLIED).fetch_all(pool).await,
            Backend::Postgres(pool) => sqlx::query_scalar(APPLIED).fetch_all(pool).await,
        };
        match applied {
            Err(sqlx::Error::Database(e)) if e.message().contains("_sqlx_migrations") => {
                Ok(Vec::new())
            }
            applied => applied,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite { .. } => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }

    pub async fn close(&self) {
        match self {
            // The writer connection closes when its last handle is dropped.
            Backend::Sqlite { pool, .. } => pool.close().await,
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}

impl Tx {
    pub async fn commit(self) -> sqlx::Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }
}

/// Opens the database that the typed settings name, with their pool sizes
/// and timeouts (rocket_db_pools' keys, read once by `config`).
pub async fn connect(settings: &DatabaseSettings) -> sqlx::Result<Backend> {
    match &settings.url {
        DatabaseUrl::Postgres(url) => postgres::connect(url, settings).await,
        DatabaseUrl::Sqlite { .. } => sqlite::connect(settings).await,
    }
}

/// Prepares the database for this version: migrations (and WAL on SQLite).
pub async fn prepare(backend: &Backend) -> Result<(), String> {
    match backend {
        Backend::Sqlite { pool, .. } => sqlite::prepare(pool).await,
        Backend::Postgres(pool) => postgres::prepare(pool).await,
    }
}
