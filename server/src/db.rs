//! The database pool (rocket_db_pools + sqlx on SQLite) and its start-up:
//! WAL mode and the migrations, both applied before the server takes requests.

use rocket::fairing::{self, AdHoc};
use rocket::{Build, Rocket};
use rocket_db_pools::Database;
use std::time::Duration;

use crate::store::Pruned;

#[derive(Database)]
#[database("gatepass")]
/// The pool. Its methods, one module per table family, are in `store/`: the
/// only place that writes SQL.
pub struct Db(pub sqlx::SqlitePool);

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

async fn prepare(rocket: Rocket<Build>) -> fairing::Result {
    let Some(db) = Db::fetch(&rocket) else {
        return Err(rocket);
    };
    // WAL lets readers proceed while a rotation writes; it is a property of the
    // database file, so setting it once here covers every pooled connection.
    if let Err(e) = sqlx::query("PRAGMA journal_mode = WAL")
        .execute(&**db)
        .await
    {
        log::error!(target: "gatepass::db", "cannot switch the database to WAL: {e}");
        return Err(rocket);
    }
    match sqlx::migrate!("./migrations").run(&**db).await {
        Ok(()) => Ok(rocket),
        Err(e) => {
            log::error!(target: "gatepass::db", "database migrations failed: {e}");
            Err(rocket)
        }
    }
}
