//! The HTTP surface, one module per resource. Each handler is an adapter of
//! a few lines: its guards (`guards.rs`), one call into the domain layer
//! (`accounts/`, `sessions/`), and the answer with its cookie.

use rocket::http::CookieJar;
use rocket::Route;

use crate::auth::cookie::set_refresh_cookie;
use crate::sessions::Grant;

mod catchers;
pub mod guards;
pub(crate) mod responses;
// The handlers are visible to the crate so `openapi.rs` can list their
// `#[utoipa::path]` descriptions.
pub(crate) mod health;
pub(crate) mod passwords;
pub(crate) mod personal_tokens;
pub(crate) mod second_factor;
pub(crate) mod sessions;
pub(crate) mod users;
pub mod well_known;

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
        second_factor::login_second_factor,
        second_factor::status,
        second_factor::setup,
        second_factor::confirm,
        second_factor::recovery_codes,
        second_factor::disable,
        personal_tokens::create,
        personal_tokens::list,
        personal_tokens::revoke,
        personal_tokens::exchange,
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
        well_known::jwks,
        well_known::openid_configuration,
        crate::cors::preflight
    ]
}

/// Sets the refresh cookie a grant carries (a raced refresh may carry none:
/// the client's cookie is then left as it is).
fn set_session_cookie(jar: &CookieJar<'_>, grant: &Grant) {
    if let Some(token) = &grant.refresh_token {
        set_refresh_cookie(jar, token.clone(), grant.refresh_ttl);
    }
}
