//! The HTTP surface, one module per resource. Each handler reads like the
//! contract in API.md: guard, validate, store, answer.

use rocket::Route;

mod catchers;
// The handlers are visible to the crate so `openapi.rs` can list their
// `#[utoipa::path]` descriptions.
pub(crate) mod health;
pub(crate) mod passwords;
pub(crate) mod sessions;
pub(crate) mod users;

pub use catchers::catchers;

/// Everything under `/api/users`. Static paths (`/me`, `/sessions`) outrank
/// `/<id>`, so the order here does not matter.
pub fn users_routes() -> Vec<Route> {
    rocket::routes![
        users::signup,
        users::login,
        users::me,
        users::user_by_id,
        sessions::logout,
        sessions::master_logout,
        sessions::reauth,
        sessions::list,
        sessions::revoke,
        passwords::forgot,
        passwords::reset,
        passwords::change,
    ]
}

/// Everything outside the prefix.
pub fn root_routes() -> Vec<Route> {
    rocket::routes![
        health::health,
        health::health_head,
        health::alive,
        health::alive_head,
        health::ready,
        health::ready_head,
        crate::cors::preflight
    ]
}
