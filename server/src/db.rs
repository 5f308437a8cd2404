//! The database pool (rocket_db_pools + sqlx on SQLite) and its start-up:
//! WAL mode and the migrations, both applied before the server takes requests.

use rocket::fairing::{self, AdHoc};
use rocket::{Build, Rocket};
use rocket_db_pools::Database;

#[derive(Database)]
#[database("gatepass")]
/// The pool. Its methods, one module per table family, are in `store/`: the
/// only place that writes SQL.
pub struct Db(pub sqlx::SqlitePool);

/// Attaches the pool, switches the database to WAL and runs the migrations.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Database", |rocket| async {
        rocket
            .attach(Db::init())
            .attach(AdHoc::try_on_ignite("Migrations", prepare))
    })
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
