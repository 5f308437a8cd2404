//! The store as Rocket's database pool (rocket_db_pools): made once at
//! ignition, prepared (migrations), and kept tidy while the server runs.

use std::time::Duration;

use rocket::fairing::{self, AdHoc};
use rocket::figment::Figment;
use rocket::{Build, Rocket};
use rocket_db_pools::Database;

use super::{Pruned, Store};
use crate::config::DatabaseSettings;
use crate::db::{self, Backend};

#[derive(Database)]
#[database("gatepass")]
/// The store, as handlers and guards receive it (`&Db`).
pub struct Db(pub Store);

#[rocket::async_trait]
impl rocket_db_pools::Pool for Store {
    /// A handle on the store: no connection is taken and no transaction is
    /// begun behind anyone's back (a transaction is [`Store::transaction`]).
    type Connection = Store;
    type Error = rocket_db_pools::Error<sqlx::Error>;

    async fn init(figment: &Figment) -> Result<Self, Self::Error> {
        // `Config::rocket_figment` put the typed settings here, whole.
        let settings: DatabaseSettings = figment.extract()?;
        let backend = db::connect(&settings)
            .await
            .map_err(rocket_db_pools::Error::Init)?;
        crate::metrics::watch_database(&backend);
        Ok(Store::new(backend))
    }

    async fn get(&self) -> Result<Self::Connection, Self::Error> {
        Ok(self.clone())
    }

    /// Writes the audit events still queued, then closes the connections.
    async fn close(&self) {
        Store::close(self).await;
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
                        let store = db.0.clone();
                        if let Backend::Sqlite { pool, writer } = store.backend() {
                            rocket::tokio::spawn(db::checkpoint_forever(
                                pool.clone(),
                                writer.clone(),
                            ));
                        }
                        rocket::tokio::spawn(prune_forever(
                            store,
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
    let store = &db.0;
    match db::prepare(store.backend()).await {
        Ok(()) => {
            log::info!(target: "gatepass::db", "database: {}, migrations applied", store.backend().name());
            // Emails stored before their normal form (store/users.rs); on a
            // failure they stay listed for the next start.
            if let Err(e) = store.renormalize_emails().await {
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
    store: Store,
    every: Duration,
    throttle_idle: Duration,
    audit_retention: Duration,
) {
    let mut ticks = rocket::tokio::time::interval(every);
    loop {
        ticks.tick().await;
        match store
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
