//! SQLite: its pools, WAL mode, migrations and checkpoints.
//!
//! SQLite takes one writer at a time. Left to the pool, concurrent writes from
//! several connections collide on the write lock, and SQLite's busy handler
//! answers a collision by *sleeping* (1, 2, 5, 10 ms...): under load that, not
//! the work, sets the latency of every rotation. So the store's own writes go
//! through one dedicated connection ([`Backend::Sqlite`]'s `writer`), where
//! they queue without sleeping; reads use the other connections concurrently
//! (WAL). The writer is a bare connection behind a mutex, not a pool of one:
//! a pool pings every connection it gets back (one more round trip to the
//! connection's worker thread), and with one connection the next write waits
//! for that ping. A write dropped half-way cannot leave it in a bad state:
//! each is one autocommit statement, which SQLite's worker finishes anyway.
//! Transactions that span several statements (signup, password reset, the
//! login throttle) hold the writer from `BEGIN IMMEDIATE` to their end (see
//! [`super::WriterTx`]), so they never wait in SQLite's busy handler either.
//!
//! Checkpoints (copying the WAL back into the database, with an fsync) run on
//! a timer (see [`checkpoint_forever`]) instead of inside whichever commit
//! crosses the WAL's size threshold, which under concurrent readers retried,
//! with its fsync, at almost every commit.

use std::sync::Arc;
use std::time::Duration;

use rocket::tokio::sync::Mutex;
use sqlx::sqlite::{Sqlite, SqliteConnectOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, SqliteConnection, SqlitePool};

use super::Backend;
use crate::config::{DatabaseSettings, DbSynchronous};

/// Opens the two pools. Same settings as rocket_db_pools gives sqlx, except
/// that a connection is not pinged before every use: that ping is one more
/// round trip to the connection's worker thread, for a local file that
/// cannot hang up.
pub async fn connect(config: &DatabaseSettings) -> sqlx::Result<Backend> {
    let mut options: SqliteConnectOptions = config.url.url().parse()?;
    // WAL (set in `prepare`) with `normal` skips the fsync at each commit;
    // see `GATEPASS_DB_SYNCHRONOUS` in config/settings.rs for what that trades.
    let synchronous = match config.synchronous {
        DbSynchronous::Normal => SqliteSynchronous::Normal,
        DbSynchronous::Full => SqliteSynchronous::Full,
    };
    options = options
        .synchronous(synchronous)
        .busy_timeout(Duration::from_secs(config.connect_timeout))
        .create_if_missing(true)
        // See `checkpoint_forever`.
        .pragma("wal_autocheckpoint", "0")
        // When the WAL starts over, shrink a file that a burst made larger.
        .pragma("journal_size_limit", "67108864")
        .disable_statement_logging();
    for extension in config.extensions.iter().flatten() {
        options = options.extension(extension.clone());
    }
    let pool_options = |max: u32| {
        sqlx::pool::PoolOptions::<Sqlite>::new()
            .max_connections(max)
            .min_connections(config.min_connections.unwrap_or_default().min(max))
            .acquire_timeout(Duration::from_secs(config.connect_timeout))
            .idle_timeout(config.idle_timeout.map(Duration::from_secs))
            .test_before_acquire(false)
    };
    let pool = pool_options(config.max_connections.max(1) as u32)
        .connect_with(options.clone())
        .await?;
    let writer = options.connect().await?;
    Ok(Backend::Sqlite {
        pool,
        writer: Arc::new(Mutex::new(writer)),
    })
}

/// How often the WAL is copied back into the database beside the writer.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// Every how many of those the checkpoint holds the writer (see below).
const HOLD_WRITER_EVERY: u32 = 4;

/// Checkpoints the WAL four times a second (automatic checkpoints are off on
/// our connections). PASSIVE: it never waits for readers.
///
/// Most run on a reading connection, beside the writer, which keeps writing.
/// But the WAL only starts over from its beginning when a write finds every
/// frame copied back, and under load a checkpoint beside the writer never
/// catches up (the writer appends while it copies): the WAL grew by the whole
/// write rate, 1.4 GB in a 10 s benchmark, every write extending the file.
/// So once a second, right after a checkpoint beside the writer, a second one
/// holds the writer: it copies the little written meanwhile, and the next
/// write reuses the file from its start.
pub async fn checkpoint_forever(pool: SqlitePool, writer: Arc<Mutex<SqliteConnection>>) {
    let mut ticks = rocket::tokio::time::interval(CHECKPOINT_EVERY);
    ticks.set_missed_tick_behavior(rocket::tokio::time::MissedTickBehavior::Delay);
    for tick in 1u32.. {
        ticks.tick().await;
        let checkpoint = || sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)");
        let mut result: sqlx::Result<(i64, i64, i64)> = checkpoint().fetch_one(&pool).await;
        if result.is_ok() && tick % HOLD_WRITER_EVERY == 0 {
            // Only what was written during the checkpoint above is left to
            // copy (and to fsync) while the writer waits.
            result = checkpoint().fetch_one(&mut *writer.lock().await).await;
        }
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

/// Switches the database to WAL and runs the SQLite migrations.
pub async fn prepare(pool: &SqlitePool) -> Result<(), String> {
    // WAL lets readers proceed while a rotation writes; it is a property of the
    // database file, so setting it once here covers every pooled connection.
    sqlx::query("PRAGMA journal_mode = WAL")
        .execute(pool)
        .await
        .map_err(|e| format!("cannot switch the database to WAL: {e}"))?;
    super::SQLITE_MIGRATIONS
        .run(pool)
        .await
        .map_err(|e| format!("migrations failed: {e}"))
}
