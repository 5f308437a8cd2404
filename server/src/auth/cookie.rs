//! The refresh cookie: the one place that builds it.
//!
//! `HttpOnly` keeps it from page scripts; `Secure; SameSite=None` lets a
//! front-end on another origin send it with `credentials: "include"` (browsers
//! accept `Secure` cookies on http://localhost); `Path=/api/users` keeps it off
//! every other request.

use std::time::Duration;

use gatepass_common::{paths, REFRESH_COOKIE};
use rocket::http::{Cookie, CookieJar, SameSite};

fn build(value: String, max_age: Duration) -> Cookie<'static> {
    Cookie::build((REFRESH_COOKIE, value))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::None)
        .path(paths::USERS)
        .max_age(rocket::time::Duration::seconds(max_age.as_secs() as i64))
        .build()
}

/// Sets the refresh cookie to `token`, living `ttl`.
pub fn set_refresh_cookie(jar: &CookieJar<'_>, token: String, ttl: Duration) {
    jar.add(build(token, ttl));
}

/// Clears the refresh cookie (`Max-Age=0`, same attributes, so every browser
/// matches and drops it).
pub fn clear_refresh_cookie(jar: &CookieJar<'_>) {
    jar.add(build(String::new(), Duration::ZERO));
}

/// The refresh token the client sent, if any.
pub fn refresh_token(jar: &CookieJar<'_>) -> Option<String> {
    jar.get(REFRESH_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}
