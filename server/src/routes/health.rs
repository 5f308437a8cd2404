//! For load balancers and orchestrators: `/health` (the database answers),
//! `/health/alive` (the process answers) and `/health/ready` (the database
//! answers and has every migration of this build). Each has a `HEAD` twin: Rocket
//! would answer a `HEAD` with the `GET` route anyway, but only after logging
//! "No matching routes" as an error for every probe.

use gatepass_common::{ErrorBody, Health};
use rocket::serde::json::Json;
use rocket::{get, head};

use crate::error::{ApiError, ApiResult};
use crate::store::Db;

/// The version and the commit it was built from (server/build.rs), in
/// semver's build-metadata form, as `--version` gives it.
pub(crate) const VERSION: &str =
    concat!(env!("CARGO_PKG_VERSION"), "+", env!("GATEPASS_GIT_COMMIT"));

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
    db.0.ping().await.map_err(|_| ApiError::Unavailable)?;
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
    match db.0.migrations_applied().await {
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
