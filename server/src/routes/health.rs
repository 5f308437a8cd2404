//! For load balancers and orchestrators: `/health` (the database answers),
//! `/health/alive` (the process answers) and `/health/ready` (the database
//! answers and has every migration of this build). Each has a `HEAD` twin: Rocket
//! would answer a `HEAD` with the `GET` route anyway, but only after logging
//! "No matching routes" as an error for every probe.

use gatepass_common::{ErrorBody, Health};
use rocket::serde::json::Json;
use rocket::{get, head};
use sqlx::migrate::Migrator;

use crate::db::{on_conn, Backend, Db};
use crate::error::{ApiError, ApiResult};

/// The version and the commit it was built from (server/build.rs), in
/// semver's build-metadata form, as `--version` gives it.
pub(crate) const VERSION: &str =
    concat!(env!("CARGO_PKG_VERSION"), "+", env!("GATEPASS_GIT_COMMIT"));

/// The migrations this build expects, per backend (those `db` runs at start).
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

fn ok() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: VERSION.into(),
    })
}

/// Health check
///
/// 200 once the database answers, 503 otherwise (for load balancers).
#[utoipa::path(
    operation_id = "health",
    tag = "health",
    responses(
        (status = 200, description = "The server and its database answer.", body = Health,
            example = json!({"status": "ok", "version": "0.1.0+1a2b3c4"})),
        (status = 503, description = "The database does not answer (`unavailable`).",
            body = ErrorBody),
    ),
)]
#[get("/health")]
pub async fn health(db: &Db) -> ApiResult<Json<Health>> {
    db.ping().await.map_err(|_| ApiError::Unavailable)?;
    Ok(ok())
}

/// `HEAD /health`: the same answer without its body.
#[head("/health")]
pub async fn health_head(db: &Db) -> ApiResult<Json<Health>> {
    health(db).await
}

/// Liveness
///
/// 200 whenever the process answers, whatever the database does: a failure
/// here means the process should be restarted.
#[utoipa::path(
    operation_id = "health_alive",
    tag = "health",
    responses(
        (status = 200, description = "The process answers.", body = Health,
            example = json!({"status": "ok", "version": "0.1.0+1a2b3c4"})),
    ),
)]
#[get("/health/alive")]
pub fn alive() -> Json<Health> {
    ok()
}

/// `HEAD /health/alive`.
#[head("/health/alive")]
pub fn alive_head() -> Json<Health> {
    ok()
}

/// Readiness
///
/// 200 when the database answers and holds every migration this build
/// expects; 503 otherwise (send no traffic here yet).
#[utoipa::path(
    operation_id = "health_ready",
    tag = "health",
    responses(
        (status = 200, description = "The database answers and is migrated.", body = Health,
            example = json!({"status": "ok", "version": "0.1.0+1a2b3c4"})),
        (status = 503, description = "The database does not answer, or misses a migration \
            (`unavailable`).", body = ErrorBody),
    ),
)]
#[get("/health/ready")]
pub async fn ready(db: &Db) -> ApiResult<Json<Health>> {
    match migrations_applied(db).await {
        Ok(true) => Ok(ok()),
        Ok(false) => {
            log::warn!(target: "gatepass::db", "not ready: a migration of this build is not applied");
            Err(ApiError::Unavailable)
        }
        Err(e) => {
            log::warn!(target: "gatepass::db", "not ready: {e}");
            Err(ApiError::Unavailable)
        }
    }
}

/// `HEAD /health/ready`.
#[head("/health/ready")]
pub async fn ready_head(db: &Db) -> ApiResult<Json<Health>> {
    ready(db).await
}

/// Whether every migration of this build is recorded as applied (by sqlx, in
/// `_sqlx_migrations`). A failed query means the database does not answer.
async fn migrations_applied(db: &Db) -> sqlx::Result<bool> {
    let applied: Vec<i64> = on_conn!(db.0.reader(), |pool| sqlx::query_scalar(
        "SELECT version FROM _sqlx_migrations WHERE success"
    )
    .fetch_all(pool)
    .await)?;
    let expected = match db.0.backend() {
        Backend::Sqlite { .. } => &SQLITE_MIGRATIONS,
        Backend::Postgres(_) => &POSTGRES_MIGRATIONS,
    };
    Ok(expected.iter().all(|m| applied.contains(&m.version)))
}
