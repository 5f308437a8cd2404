//! The database: SQLite (the default, one process) or PostgreSQL (several
//! server processes on one database), chosen by the scheme of `DATABASE_URL`.
//!
//! [`Backend`] holds the sqlx pools of whichever it is; [`Pool`] adds what
//! every user of the database in this process shares: the session cache (see
//! `cache.rs`), the audit writer (see `audit.rs`) and the batchers that apply
//! concurrent rotations and throttle hits together on SQLite (`batch.rs`). The store (`store/`)
//! writes each query once, with `$1`-style parameters that both drivers take,
//! and runs it on either through [`on_conn!`] and [`on_tx!`].
//!
//! Start-up (migrations, and SQLite's WAL and checkpoints) is in `sqlite.rs`
//! and `postgres.rs`.

mod batch;
mod postgres;
mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use rocket::fairing::{self, AdHoc};
use rocket::figment::Figment;
use rocket::tokio::sync::{Mutex, MutexGuard};
use rocket::{Build, Rocket};
use rocket_db_pools::Database;
use sqlx::{PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool};

use crate::audit::AuditWriter;
use crate::cache::SessionCache;
use crate::store::{
    count_attempts, count_throttle_hits, rotate_refresh_tokens, Attempt, Pruned, Rotation,
    SessionRecord, ThrottleHit, ThrottleState, Verdict,
};
use batch::Batcher;

pub use sqlite::SYNCHRONOUS_KEY;

#[derive(Database)]
#[database("gatepass")]
/// The pool. Its methods, one module per table family, are in `store/`: the
/// only place that writes SQL.
pub struct Db(pub Pool);

/// The figment key (under `databases.gatepass`) of the session cache's TTL in
/// milliseconds; see `Config::rocket_figment`.
pub const SESSION_CACHE_TTL_KEY: &str = "session_cache_ttl_ms";

/// Which database, and its sqlx pools. Cheap to clone (the pools are shared).
#[derive(Clone, Debug)]
pub enum Backend {
    /// `pool` for reads and transactions; `writer`, one connection, for the
    /// store's single-statement writes (see `sqlite.rs` for why).
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
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    /// Boxed: a PostgreSQL connection is several times the size of SQLite's
    /// handle.
    Postgres(Box<sqlx::Transaction<'static, Postgres>>),
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
                let $e = &mut **tx;
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

    /// Where single-statement writes go (on SQLite, waits for the writer).
    pub async fn writer(&self) -> Conn<'_> {
        match self {
            Backend::Sqlite { writer, .. } => Conn::SqliteWriter(writer.lock().await),
            Backend::Postgres(pool) => Conn::Postgres(pool),
        }
    }

    pub async fn begin(&self) -> sqlx::Result<Tx> {
        Ok(match self {
            Backend::Sqlite { pool, .. } => Tx::Sqlite(pool.begin().await?),
            Backend::Postgres(pool) => Tx::Postgres(Box::new(pool.begin().await?)),
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite { .. } => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }

    async fn close(&self) {
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

/// The backend's pools, with the session cache, the audit writer and the
/// write batchers that go with them.
#[derive(Clone)]
pub struct Pool {
    backend: Backend,
    sessions: Arc<SessionCache>,
    audit: AuditWriter,
    rotations: Arc<Batcher<Rotation, Option<SessionRecord>>>,
    throttle_hits: Arc<Batcher<ThrottleHit, ThrottleState>>,
    login_attempts: Arc<Batcher<Attempt, Verdict>>,
}

impl Pool {
    /// Starts the audit writer and the batchers, on the current runtime if
    /// there is one.
    pub fn new(backend: Backend, sessions: SessionCache) -> Pool {
        Pool {
            audit: AuditWriter::spawn(backend.clone()),
            rotations: Arc::new(Batcher::spawn(backend.clone(), |backend, rotations| {
                Box::pin(async move { rotate_refresh_tokens(&backend, &rotations).await })
            })),
            throttle_hits: Arc::new(Batcher::spawn(backend.clone(), |backend, hits| {
                Box::pin(async move { count_throttle_hits(&backend, &hits).await })
            })),
            login_attempts: Arc::new(Batcher::spawn(backend.clone(), |backend, attempts| {
                Box::pin(async move { count_attempts(&backend, &attempts).await })
            })),
            backend,
            sessions: Arc::new(sessions),
        }
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    pub fn reader(&self) -> Conn<'_> {
        self.backend.reader()
    }

    pub async fn writer(&self) -> Conn<'_> {
        self.backend.writer().await
    }

    pub async fn begin(&self) -> sqlx::Result<Tx> {
        self.backend.begin().await
    }

    pub fn sessions(&self) -> &SessionCache {
        &self.sessions
    }

    pub fn audit(&self) -> &AuditWriter {
        &self.audit
    }

    pub fn rotations(&self) -> &Batcher<Rotation, Option<SessionRecord>> {
        &self.rotations
    }

    pub fn throttle_hits(&self) -> &Batcher<ThrottleHit, ThrottleState> {
        &self.throttle_hits
    }

    pub fn login_attempts(&self) -> &Batcher<Attempt, Verdict> {
        &self.login_attempts
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("backend", &self.backend.name())
            .finish()
    }
}

#[rocket::async_trait]
impl rocket_db_pools::Pool for Pool {
    /// Nothing in gatepass takes a bare connection from Rocket: handlers go
    /// through the store (`&Db`).
    type Connection = Tx;
    type Error = rocket_db_pools::Error<sqlx::Error>;

    /// rocket_db_pools' settings (`url`, `max_connections`, `connect_timeout`,
    /// ...), on the backend the URL names.
    async fn init(figment: &Figment) -> Result<Self, Self::Error> {
        let config = figment.extract::<rocket_db_pools::Config>()?;
        let backend = if postgres::handles(&config.url) {
            postgres::connect(&config).await
        } else {
            sqlite::connect(&config, figment).await
        }
        .map_err(rocket_db_pools::Error::Init)?;
        let ttl = figment
            .extract_inner::<u64>(SESSION_CACHE_TTL_KEY)
            .map_or(crate::cache::DEFAULT_TTL, Duration::from_millis);
        Ok(Pool::new(
            backend,
            SessionCache::new(ttl, crate::cache::DEFAULT_CAPACITY),
        ))
    }

    async fn get(&self) -> Result<Self::Connection, Self::Error> {
        self.begin().await.map_err(rocket_db_pools::Error::Get)
    }

    /// Writes the audit events still queued, then closes the pools.
    async fn close(&self) {
        self.audit.flush().await;
        self.backend.close().await;
    }
}

/// Attaches the pool, prepares the database (migrations; WAL on SQLite), and
/// once serving, prunes dead rows every `prune_interval`.
pub fn stage(
    prune_interval: Duration,
    throttle_idle: Duration,
    audit_retention: Duration,
) -> AdHoc {
    AdHoc::on_ignite("Database", move |rocket| async move {
        rocket
            .attach(Db::init())
            .attach(AdHoc::try_on_ignite("Migrations", prepare))
            .attach(AdHoc::on_liftoff("Pruning", move |rocket| {
                Box::pin(async move {
                    if let Some(db) = Db::fetch(rocket) {
                        let db = Db(db.0.clone());
                        if let Backend::Sqlite { pool, writer } = db.0.backend() {
                            rocket::tokio::spawn(sqlite::checkpoint_forever(
                                pool.clone(),
                                writer.clone(),
                            ));
                        }
                        rocket::tokio::spawn(prune_forever(
                            db,
                            prune_interval,
                            throttle_idle,
                            audit_retention,
                        ));
                    }
                })
            }))
    })
}

async fn prepare(rocket: Rocket<Build>) -> fairing::Result {
    let Some(db) = Db::fetch(&rocket) else {
        return Err(rocket);
    };
    let prepared = match db.0.backend() {
        Backend::Sqlite { pool, .. } => sqlite::prepare(pool).await,
        Backend::Postgres(pool) => postgres::prepare(pool).await,
    };
    match prepared {
        Ok(()) => {
            log::info!(target: "gatepass::db", "database: {}, migrations applied", db.0.backend().name());
            // Emails stored before their normal form (store/users.rs); on a
            // failure they stay listed for the next start.
            if let Err(e) = db.renormalize_emails().await {
                log::error!(target: "gatepass::db", "cannot normalise stored emails: {e}");
            }
            Ok(rocket)
        }
        Err(e) => {
            log::error!(target: "gatepass::db", "cannot prepare the database: {e}");
            Err(rocket)
        }
    }
}

/// Every server process on a shared database prunes; the DELETEs are
/// idempotent, so that costs a few empty statements, not correctness.
async fn prune_forever(
    db: Db,
    every: Duration,
    throttle_idle: Duration,
    audit_retention: Duration,
) {
    let mut ticks = rocket::tokio::time::interval(every);
    loop {
        ticks.tick().await;
        match db
            .prune(
                throttle_idle.as_millis() as i64,
                audit_retention.as_millis() as i64,
            )
            .await
        {
            Ok(pruned) if pruned != Pruned::default() => {
                log::info!(target: "gatepass::db", "pruned {pruned:?}");
            }
            Ok(_) => {}
            Err(e) => log::warn!(target: "gatepass::db", "pruning failed: {e}"),
        }
    }
}
