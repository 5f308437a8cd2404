//! The responses every route shares (401, 403, 413, 415, 422, 429, 503 and
//! the cookie-setting successes), described once for the OpenAPI
//! description (`openapi.rs`), so their headers cannot differ from route to
//! route. The handlers name them in their `#[utoipa::path]` attributes.

use gatepass_common::{paths, ErrorCode, REFRESH_COOKIE};
use serde_json::json;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::ToResponse;

/// A response header that is always present.
fn required_header(schema: ObjectBuilder, description: &str) -> Header {
    HeaderBuilder::new()
        .schema(Some(schema))
        .description(Some(description))
        .extensions(Some(Extensions::from_iter([("required", true)])))
        .build()
}

/// `Retry-After`: whole seconds to wait (429 and 503).
fn retry_after_header(example: &str) -> Header {
    required_header(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[0-9]+$"))
            .examples([json!(example)]),
        "Seconds to wait before trying again.",
    )
}

fn set_cookie_header(description: &str) -> Header {
    required_header(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!("^{REFRESH_COOKIE}=")))
            .examples([json!(format!(
                "{REFRESH_COOKIE}=<token>; HttpOnly; SameSite=None; Secure; Path={}; Max-Age=86400",
                paths::USERS
            ))]),
        description,
    )
}

/// A JSON response whose body is the schema `schema`.
fn json_response(
    description: &str,
    schema: &str,
    example: Option<serde_json::Value>,
) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(schema)))
            .example(example)
            .build(),
    )
}

fn error_example(error: &str, code: ErrorCode, feedback: &str) -> serde_json::Value {
    json!({ "error": error, "code": code.as_str(), "feedback": feedback })
}

/// 200/201 of signup and login: the user, the first access token, and the
/// refresh cookie of the new session.
pub struct SignedIn;

impl<'r> ToResponse<'r> for SignedIn {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "SignedIn",
            json_response(
                "Signed in: a new session. The body has the access token; the refresh \
                 token is in the cookie.",
                "AuthResponse",
                None,
            )
            .header(
                "Set-Cookie",
                set_cookie_header("The new session's refresh token."),
            )
            .build()
            .into(),
        )
    }
}

/// 201 of reauth: a new access token and the rotated refresh cookie.
pub struct Refreshed;

impl<'r> ToResponse<'r> for Refreshed {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "Refreshed",
            json_response(
                "A new access token for the same session. Not cacheable \
                 (`Cache-Control: no-store`).",
                "ReauthResponse",
                None,
            )
            .header(
                "Set-Cookie",
                set_cookie_header(
                    "The rotated refresh token (the session's current one when a retired \
                     token is presented within the grace window).",
                ),
            )
            .build()
            .into(),
        )
    }
}

/// 205 of logout and master-logout: no body, the cookie cleared.
pub struct SignedOut;

impl<'r> ToResponse<'r> for SignedOut {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "SignedOut",
            ResponseBuilder::new()
                .description("Signed out; no body. Reset the page's state.")
                .header(
                    "Set-Cookie",
                    set_cookie_header("Clears the refresh cookie (`Max-Age=0`)."),
                )
                .build()
                .into(),
        )
    }
}

/// Every 401, with its RFC 6750 challenge.
pub struct Unauthorized;

impl<'r> ToResponse<'r> for Unauthorized {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "Unauthorized",
            json_response(
                "Not signed in, or the token or session is no longer good. `code` tells the \
                 cases apart: `missing_access_token`, `invalid_access_token` and \
                 `expired_access_token` are cured by one reauth; `session_revoked`, \
                 `missing_refresh_token`, `invalid_refresh_token` and \
                 `refresh_token_reused` mean signing in again.",
                "ErrorBody",
                Some(error_example(
                    "Unauthorized",
                    ErrorCode::ExpiredAccessToken,
                    "The access token has expired. Refresh it and retry.",
                )),
            )
            .header(
                "WWW-Authenticate",
                required_header(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some("^Bearer realm=\"api\""))
                        .examples([json!(
                            "Bearer realm=\"api\", error=\"invalid_token\", \
                             error_description=\"The access token expired\""
                        )]),
                    "`Bearer realm=\"api\"`, with RFC 6750 `error` and `error_description` \
                     when a token was presented.",
                ),
            )
            .build()
            .into(),
        )
    }
}

/// 413: a body over 16 KiB.
pub struct PayloadTooLarge;

impl<'r> ToResponse<'r> for PayloadTooLarge {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "PayloadTooLarge",
            json_response(
                "The request body is larger than 16 KiB (`payload_too_large`).",
                "ErrorBody",
                Some(error_example(
                    "Payload too large",
                    ErrorCode::PayloadTooLarge,
                    "The request body is larger than 16 KiB.",
                )),
            )
            .build()
            .into(),
        )
    }
}

/// 403: a page on an origin that is not allowed may not set or clear the
/// refresh cookie or change an account.
pub struct OriginNotAllowed;

impl<'r> ToResponse<'r> for OriginNotAllowed {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "OriginNotAllowed",
            json_response(
                "The request comes from a page whose origin is not allowed \
                 (`origin_not_allowed`). Requests without `Origin` are served.",
                "ErrorBody",
                Some(error_example(
                    "Origin not allowed",
                    ErrorCode::OriginNotAllowed,
                    "This site is not allowed to use your session.",
                )),
            )
            .build()
            .into(),
        )
    }
}

/// 415: a body that is not `application/json`.
pub struct UnsupportedMediaType;

impl<'r> ToResponse<'r> for UnsupportedMediaType {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "UnsupportedMediaType",
            json_response(
                "The body is not `application/json` (`unsupported_media_type`).",
                "ErrorBody",
                Some(error_example(
                    "Unsupported media type",
                    ErrorCode::UnsupportedMediaType,
                    "The request body must be JSON (Content-Type: application/json).",
                )),
            )
            .build()
            .into(),
        )
    }
}

/// 503, with `Retry-After`: the password-hashing queue is full.
pub struct ServerBusy;

impl<'r> ToResponse<'r> for ServerBusy {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "ServerBusy",
            json_response(
                "The password could not be checked in time because many others are waiting \
                 (`server_busy`); nothing was checked. Wait `Retry-After` seconds.",
                "ErrorBody",
                Some(error_example(
                    "Server busy",
                    ErrorCode::ServerBusy,
                    "The server is busy. Try again in 5 seconds.",
                )),
            )
            .header("Retry-After", retry_after_header("5"))
            .build()
            .into(),
        )
    }
}

/// 422: invalid fields, listed in `errors`.
pub struct ValidationFailed;

impl<'r> ToResponse<'r> for ValidationFailed {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "ValidationFailed",
            json_response(
                "Invalid fields (`validation_failed`): `errors` lists them and `feedback` is \
                 the first message.",
                "ErrorBody",
                Some(json!({
                    "error": "Validation failed",
                    "code": "validation_failed",
                    "feedback": "Email is invalid",
                    "errors": [{"param": "email", "msg": "Email is invalid", "location": "body"}],
                })),
            )
            .build()
            .into(),
        )
    }
}

/// 429, with `Retry-After`.
pub struct TooManyAttempts;

impl<'r> ToResponse<'r> for TooManyAttempts {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "TooManyAttempts",
            json_response(
                "Too many attempts from this client address (or, for login, on this \
                 account, known or not): `too_many_attempts`. Wait `Retry-After` seconds.",
                "ErrorBody",
                Some(error_example(
                    "Too many attempts",
                    ErrorCode::TooManyAttempts,
                    "Too many attempts. Try again in 60 seconds.",
                )),
            )
            .header("Retry-After", retry_after_header("60"))
            .build()
            .into(),
        )
    }
}
