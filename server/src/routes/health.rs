use gatepass_common::{ErrorBody, Health};
use rocket::get;
use rocket::serde::json::Json;

use crate::db::Db;
use crate::error::{ApiError, ApiResult};

/// Health check
///
/// 200 once the database answers, 503 otherwise (for load balancers).
#[utoipa::path(
    operation_id = "health",
    tag = "health",
    responses(
        (status = 200, description = "The server and its database answer.", body = Health,
            example = json!({"status": "ok"})),
        (status = 503, description = "The database does not answer (`unavailable`).",
            body = ErrorBody),
    ),
)]
#[get("/health")]
pub async fn health(db: &Db) -> ApiResult<Json<Health>> {
    db.ping().await.map_err(|_| ApiError::Unavailable)?;
    Ok(Json(Health {
        status: "ok".into(),
    }))
}
