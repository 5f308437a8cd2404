use gatepass_common::Health;
use rocket::serde::json::Json;

use crate::db::Db;
use crate::error::{ApiError, ApiResult};

/// 200 once the database answers, 503 otherwise (for load balancers).
#[rocket::get("/health")]
pub async fn health(db: &Db) -> ApiResult<Json<Health>> {
    sqlx::query("SELECT 1")
        .execute(&db.0)
        .await
        .map_err(|_| ApiError::Unavailable)?;
    Ok(Json(Health {
        status: "ok".into(),
    }))
}
