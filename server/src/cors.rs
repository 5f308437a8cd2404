//! CORS for web front-ends: an allowlist of exact origins, with credentials
//! (so the refresh cookie travels), `WWW-Authenticate` and `Retry-After`
//! exposed to scripts, and preflights answered with 204.
//!
//! A request without `Origin` (curl, the terminal client) is served as usual;
//! a request from an origin not on the list gets no CORS headers, so the
//! browser keeps the response from the page.

use rocket::fairing::{AdHoc, Fairing, Info, Kind};
use rocket::http::{Header, Method, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::shield::{Frame, NoSniff, Permission, Referrer, Shield};
use rocket::{Request, Response};

use crate::error::{remember, ApiError};
use crate::state::AppState;

pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    pub fn new(origins: Vec<String>) -> Cors {
        Cors { origins }
    }
}

/// Whether `request` comes from a page on an allowed origin, or from no page
/// at all (no `Origin` header).
pub fn origin_allowed(request: &Request<'_>, origins: &[String]) -> bool {
    match request.headers().get_one("Origin") {
        None => true,
        Some(origin) => origins.iter().any(|o| o == origin),
    }
}

/// Guards every route that sets or clears the refresh cookie or changes an
/// account: a request that carries an `Origin` must come from an allowed one
/// (else 403 `origin_not_allowed`). A hostile page can send a form post or a
/// no-cors fetch that needs no preflight, and its response is never read, but
/// the request still acts (login CSRF, a signed-out victim); this refuses it
/// before it does. Requests without `Origin` (the terminal client, curl) pass.
pub struct AllowedOrigin;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AllowedOrigin {
    type Error = ApiError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ApiError> {
        let allowed = AppState::of(request)
            .map(|state| origin_allowed(request, &state.config.server.cors_origins))
            .unwrap_or(false);
        if allowed {
            Outcome::Success(AllowedOrigin)
        } else {
            Outcome::Error(remember(request, ApiError::OriginNotAllowed))
        }
    }
}

#[rocket::async_trait]
impl Fairing for Cors {
    fn info(&self) -> Info {
        Info {
            name: "CORS",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let Some(origin) = request.headers().get_one("Origin") else {
            return;
        };
        response.adjoin_header(Header::new("Vary", "Origin"));
        if !self.origins.iter().any(|o| o == origin) {
            return;
        }
        response.set_header(Header::new(
            "Access-Control-Allow-Origin",
            origin.to_owned(),
        ));
        response.set_header(Header::new("Access-Control-Allow-Credentials", "true"));
        response.set_header(Header::new(
            "Access-Control-Expose-Headers",
            "WWW-Authenticate, Retry-After, X-Request-Id",
        ));
        if request.method() == Method::Options {
            response.set_header(Header::new(
                "Access-Control-Allow-Methods",
                "GET, POST, PATCH, DELETE, OPTIONS",
            ));
            response.set_header(Header::new(
                "Access-Control-Allow-Headers",
                "Authorization, Content-Type, X-reset-base",
            ));
            response.set_header(Header::new("Access-Control-Max-Age", "600"));
        }
    }
}

/// Answers every preflight; the fairing adds the headers for allowed origins.
#[rocket::options("/<_..>")]
pub fn preflight() -> Status {
    Status::NoContent
}

/// Headers every response carries: nothing is to be sniffed, framed by
/// another site or sent on as a referrer, and nothing is cacheable (tokens
/// and personal data).
///
/// Rocket's [`Shield`] sends the security policies; it replaces the default
/// Shield Rocket attaches by itself, and lists every policy here (not
/// `Shield::default()` plus one) so what goes on the wire is read in one
/// place. Shield has no caching policy, hence [`NoStore`] beside it. One
/// fairing attaches both, so the server's builder names one thing.
pub fn security_headers() -> AdHoc {
    AdHoc::on_ignite("Security headers", |rocket| async {
        let shield = Shield::new()
            .enable(NoSniff::Enable)
            // No other site frames our pages (clickjacking).
            .enable(Frame::SameOrigin)
            // `interest-cohort=()`, as Rocket's default Shield sent it.
            .enable(Permission::default())
            // A URL of ours (a reset link!) never reaches another site.
            .enable(Referrer::NoReferrer);
        // No HSTS here: Shield adds it itself if Rocket ever serves TLS in a
        // release profile; behind a TLS proxy, the proxy sends it.
        rocket.attach(shield).attach(NoStore)
    })
}

/// `Cache-Control: no-store` on every response: no answer of this server
/// (tokens, personal data, errors) is for a browser's or a proxy's cache, and
/// Shield has no policy for caching.
pub struct NoStore;

#[rocket::async_trait]
impl Fairing for NoStore {
    fn info(&self) -> Info {
        Info {
            name: "Cache-Control: no-store",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, _: &'r Request<'_>, response: &mut Response<'r>) {
        response.set_header(Header::new("Cache-Control", "no-store"));
    }
}
