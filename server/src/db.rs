//! The database pool (rocket_db_pools + sqlx on SQLite) and its start-up:
//! WAL mode and the migrations, both applied before the server takes requests.
//!
//! The pool is sqlx's, wrapped in [`Pool`] so that what must be shared by
//! every user of the database in this process travels with it: the session
//! cache (see `cache.rs`), the audit writer (see `audit.rs`), and the writer
//! connection.
//!
//! SQLite takes one writer at a time. Left to the pool, concurrent writes from
//! several connections collide on the write lock, and SQLite's busy handler
//! answers a collision by *sleeping* (1, 2, 5, 10 ms...): under load that, not
//! the work, sets the latency of every rotation. So the store's own writes go
//! through one dedicated connection ([`Pool::writer`]), where they queue
//! without sleeping; reads use the other connections concurrently (WAL).
//! Transactions that span several statements (signup, password reset) still
//! run on the main pool: they are rare, and the busy timeout covers them.
//!
//! Checkpoints (copying the WAL back into the database, with an fsync) run in
//! the background every second instead of inside whichever commit crosses the
//! WAL's size threshold, which under concurrent readers retried, with its
//! fsync, at almost every commit.

use std::sync::Arc;
use std::time::Duration;

use rocket::fairing::{self, AdHoc};
use rocket::figment::Figment;
use rocket::futures::future::BoxFuture;
use rocket::futures::stream::BoxStream;
use rocket::{Build, Rocket};
use rocket_db_pools::Database;
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteQueryResult, SqliteRow, SqliteStatement, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Describe, Either, Execute, Executor, SqlitePool};

use crate::audit::AuditWriter;
use crate::cache::SessionCache;
use crate::store::Pruned;

#[derive(Database)]
#[database("gatepass")]
/// The pool. Its methods, one module per table family, are in `store/`: the
/// only place that writes SQL.
pub struct Db(pub Pool);

/// The figment key (under `databases.gatepass`) of the session cache's TTL in
/// milliseconds; see `Config::rocket_figment`.
pub const SESSION_CACHE_TTL_KEY: &str = "session_cache_ttl_ms";
/// The figment key of SQLite's `synchronous` (`normal` or `full`).
pub const SYNCHRONOUS_KEY: &str = "synchronous";

/// sqlx's SQLite pool, with the session cache and the audit writer that go
/// with it. Derefs to the sqlx pool (`db.0.begin()`, `db.0.acquire()`), and is
/// an executor itself (`query.execute(&db.0)`).
#[derive(Clone)]
pub struct Pool {
    sqlite: SqlitePool,
    writer: SqlitePool,
    sessions: Arc<SessionCache>,
    audit: AuditWriter,
}

impl Pool {
    /// Wraps `sqlite` (reads, transactions) and `writer` (a pool of one
    /// connection, for single-statement writes); starts the audit writer (so
    /// needs a runtime).
    pub fn new(sqlite: SqlitePool, writer: SqlitePool, sessions: SessionCache) -> Pool {
        Pool {
            audit: AuditWriter::spawn(writer.clone()),
            sqlite,
            writer,
            sessions: Arc::new(sessions),
        }
    }

    pub fn sqlite(&self) -> &SqlitePool {
        &self.sqlite
    }

    /// The connection every single-statement write of the store goes through.
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    pub fn sessions(&self) -> &SessionCache {
        &self.sessions
    }

    pub fn audit(&self) -> &AuditWriter {
        &self.audit
    }
}

impl std::ops::Deref for Pool {
    type Target = SqlitePool;

    fn deref(&self) -> &SqlitePool {
        &self.sqlite
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("sqlite", &self.sqlite)
            .finish()
    }
}

#[rocket::async_trait]
impl rocket_db_pools::Pool for Pool {
    type Connection = sqlx::pool::PoolConnection<Sqlite>;
    type Error = rocket_db_pools::Error<sqlx::Error>;

    /// What rocket_db_pools does for sqlx (same settings: `url`,
    /// `max_connections`, `connect_timeout`, ...), except that a connection is
    /// not pinged before every use: that ping is one more round trip to the
    /// connection's worker thread, for a local file that cannot hang up.
    async fn init(figment: &Figment) -> Result<Self, Self::Error> {
        let config = figment.extract::<rocket_db_pools::Config>()?;
        let mut options: SqliteConnectOptions =
            config.url.parse().map_err(rocket_db_pools::Error::Init)?;
        // WAL (set in `prepare`) with `normal` skips the fsync at each commit;
        // see `Config::db_synchronous` for what that trades.
        let synchronous = match figment.extract_inner::<String>(SYNCHRONOUS_KEY).as_deref() {
            Ok("full") => SqliteSynchronous::Full,
            _ => SqliteSynchronous::Normal,
        };
        options = options
            .synchronous(synchronous)
            .busy_timeout(Duration::from_secs(config.connect_timeout))
            .create_if_missing(true)
            // See `checkpoint_forever`.
            .pragma("wal_autocheckpoint", "0")
            .disable_statement_logging();
        for extension in config.extensions.iter().flatten() {
            options = options.extension(extension.clone());
        }
        let pool = |max: u32| {
            sqlx::pool::PoolOptions::<Sqlite>::new()
                .max_connections(max)
                .min_connections(config.min_connections.unwrap_or_default().min(max))
                .acquire_timeout(Duration::from_secs(config.connect_timeout))
                .idle_timeout(config.idle_timeout.map(Duration::from_secs))
                .test_before_acquire(false)
        };
        let sqlite = pool(config.max_connections.max(1) as u32)
            .connect_with(options.clone())
            .await
            .map_err(rocket_db_pools::Error::Init)?;
        let writer = pool(1)
            .connect_with(options)
            .await
            .map_err(rocket_db_pools::Error::Init)?;
        let ttl = figment
            .extract_inner::<u64>(SESSION_CACHE_TTL_KEY)
            .map_or(crate::cache::DEFAULT_TTL, Duration::from_millis);
        Ok(Pool::new(
            sqlite,
            writer,
            SessionCache::new(ttl, crate::cache::DEFAULT_CAPACITY),
        ))
    }

    async fn get(&self) -> Result<Self::Connection, Self::Error> {
        self.sqlite
            .acquire()
            .await
            .map_err(rocket_db_pools::Error::Get)
    }

    /// Writes the audit events still queued, then closes the pool.
    async fn close(&self) {
        self.audit.flush().await;
        self.writer.close().await;
        self.sqlite.close().await;
    }
}

/// Every query on `&db.0` runs on the sqlx pool.
impl<'p> Executor<'p> for &'p Pool {
    type Database = Sqlite;

    fn fetch_many<'e, 'q, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<SqliteQueryResult, SqliteRow>, sqlx::Error>>
    where
        'p: 'e,
        'q: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        self.sqlite.fetch_many(query)
    }

    fn fetch_optional<'e, 'q, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<SqliteRow>, sqlx::Error>>
    where
        'p: 'e,
        'q: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        self.sqlite.fetch_optional(query)
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [sqlx::sqlite::SqliteTypeInfo],
    ) -> BoxFuture<'e, Result<SqliteStatement<'q>, sqlx::Error>>
    where
        'p: 'e,
    {
        self.sqlite.prepare_with(sql, parameters)
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Sqlite>, sqlx::Error>>
    where
        'p: 'e,
    {
        self.sqlite.describe(sql)
    }
}

/// Attaches the pool, switches the database to WAL, runs the migrations, and
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
                        rocket::tokio::spawn(checkpoint_forever(db.0.sqlite().clone()));
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

/// How often the WAL is copied back into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Checkpoints the WAL every second (automatic checkpoints are off on our
/// connections). PASSIVE: it never waits for, nor blocks, readers or the
/// writer, and runs on a reading connection, so the writer keeps writing.
async fn checkpoint_forever(pool: SqlitePool) {
    let mut ticks = rocket::tokio::time::interval(CHECKPOINT_EVERY);
    ticks.set_missed_tick_behavior(rocket::tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let result: sqlx::Result<(i64, i64, i64)> =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&pool)
                .await;
        match result {
            Ok((_, log, done)) if log - done > 100_000 => log::warn!(
                target: "gatepass::db",
                "the WAL holds {} pages not yet checkpointed (long-running readers?)",
                log - done
            ),
            Ok(_) => {}
            Err(e) => log::warn!(target: "gatepass::db", "checkpoint failed: {e}"),
        }
    }
}

async fn prepare(rocket: Rocket<Build>) -> fairing::Result {
    let Some(db) = Db::fetch(&rocket) else {
        return Err(rocket);
    };
    // WAL lets readers proceed while a rotation writes; it is a property of the
    // database file, so setting it once here covers every pooled connection.
    if let Err(e) = sqlx::query("PRAGMA journal_mode = WAL")
        .execute(db.sqlite())
        .await
    {
        log::error!(target: "gatepass::db", "cannot switch the database to WAL: {e}");
        return Err(rocket);
    }
    match sqlx::migrate!("./migrations").run(db.sqlite()).await {
        Ok(()) => Ok(rocket),
        Err(e) => {
            log::error!(target: "gatepass::db", "database migrations failed: {e}");
            Err(rocket)
        }
    }
}
