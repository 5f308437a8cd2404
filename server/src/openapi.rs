//! The OpenAPI 3.1 description of the HTTP API, for front-ends that generate
//! clients: assembled here from the handlers' `#[utoipa::path]` attributes
//! (which take method, path and path parameters from Rocket's own route
//! attributes) and the wire types' `ToSchema` derives in `gatepass-common`.
//!
//! Served at `GET /api/openapi.json`, with Swagger UI at `/api/docs/`. The
//! responses every route shares (401, 413, 422, 429 and the cookie-setting
//! successes) are components defined once below, so their headers cannot
//! differ from route to route. `tests::every_route_is_described` fails when a
//! route is mounted without a description.

use gatepass_common::{
    paths, AuthResponse, ChangePasswordRequest, ErrorBody, ErrorCode, FieldError,
    ForgotPasswordRequest, Health, LoginRequest, MessageResponse, PublicProfile, ReauthResponse,
    ResetPasswordRequest, SessionInfo, SessionsResponse, SignupRequest, User, UserResponse,
    UserView, UserViewResponse, REFRESH_COOKIE,
};
use rocket::Route;
use serde_json::json;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi, ToResponse};
use utoipa_swagger_ui::SwaggerUi;

use crate::routes::{health, passwords, sessions, users};

/// Where the description is served.
pub const OPENAPI_JSON: &str = "/api/openapi.json";
/// Where Swagger UI is served (`/api/docs` redirects here).
pub const DOCS: &str = "/api/docs/";

/// The name of the bearer (access token) security scheme.
pub const BEARER: &str = "bearer";
/// The name of the refresh-cookie security scheme.
pub const REFRESH: &str = "refreshCookie";

const DESCRIPTION: &str = "\
The gatepass authentication API: accounts, sessions with rotating refresh \
tokens, and password reset.

* The **access token** (an HS256 JWT, short-lived) travels in the JSON body of \
signup, login and reauth answers; send it as `Authorization: Bearer <token>`. \
This server also refuses a token whose session has ended (logout, \
master-logout, password reset); another service that only checks the \
signature accepts it until its `exp`.
* The **refresh token** lives only in the `refreshTkn` cookie (`HttpOnly; \
Secure; SameSite=None; Path=/api/users`). A browser front-end on an allowed \
origin sends it with `fetch(url, {credentials: \"include\"})` to \
`POST /api/users/reauth`, which rotates it.
* Every error has the body `{error, code, feedback}` (plus `errors` on a 422); \
show `feedback`. A 401 carries `WWW-Authenticate` and a 429 `Retry-After`, \
both readable by scripts on allowed origins (CORS exposes them).
* Request bodies are JSON of at most 16 KiB: larger ones get 413, malformed \
ones 400 `malformed_json`.";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "gatepass",
        description = DESCRIPTION,
        license(name = "MIT", identifier = "MIT"),
    ),
    nest((path = "/api/users", api = UsersApi)),
    paths(health::health, health::alive, health::ready),
    components(
        schemas(
            SignupRequest,
            LoginRequest,
            ForgotPasswordRequest,
            ResetPasswordRequest,
            ChangePasswordRequest,
            User,
            AuthResponse,
            ReauthResponse,
            UserResponse,
            PublicProfile,
            UserView,
            UserViewResponse,
            MessageResponse,
            SessionInfo,
            SessionsResponse,
            Health,
            ErrorBody,
            ErrorCode,
            FieldError,
        ),
        responses(
            SignedIn,
            Refreshed,
            SignedOut,
            Unauthorized,
            PayloadTooLarge,
            ValidationFailed,
            TooManyAttempts,
            OriginNotAllowed,
            UnsupportedMediaType,
            ServerBusy,
        ),
    ),
    modifiers(&SecuritySchemes, &ExactPublicProfile),
    tags(
        (name = "users", description = "Accounts: sign up, sign in, look users up."),
        (name = "sessions", description = "Sessions: refresh, list, and end them."),
        (name = "passwords", description = "Forgotten, reset and changed passwords."),
        (name = "health", description = "For load balancers."),
    ),
)]
pub struct ApiDoc;

/// Everything under `/api/users` (nested under that prefix above).
#[derive(OpenApi)]
#[openapi(paths(
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
))]
struct UsersApi;

/// The description and Swagger UI, to mount at `/`.
pub fn routes() -> Vec<Route> {
    SwaggerUi::new(format!("{DOCS}<_..>"))
        .url(OPENAPI_JSON, ApiDoc::openapi())
        .into()
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The access token from signup, login or reauth. It expires after the \
                         configured lifetime (default 120 s): on a 401 whose `code` is \
                         `expired_access_token` (or `invalid_access_token`, \
                         `missing_access_token`), call `POST /api/users/reauth` once and retry.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            REFRESH,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                REFRESH_COOKIE,
                "The opaque refresh token, set by signup, login and reauth as \
                 `refreshTkn=...; Max-Age=<refresh lifetime>; Path=/api/users; HttpOnly; \
                 Secure; SameSite=None`. Page scripts cannot read it; browsers send it with \
                 `credentials: \"include\"`. Each reauth rotates it; presenting a rotated \
                 one after a short grace window ends the session.",
            ))),
        );
    }
}

/// `PublicProfile` has exactly its four keys. Said in the schema, this keeps
/// `UserView`'s `oneOf` exact (a full user, with `email`, is not also a
/// public profile) and tells front-ends that no email is coming. Said here,
/// not with serde's `deny_unknown_fields`, so clients still read a profile
/// that gains a field.
struct ExactPublicProfile;

impl Modify for ExactPublicProfile {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let schemas = openapi
            .components
            .as_mut()
            .map(|components| &mut components.schemas);
        if let Some(RefOr::T(Schema::Object(profile))) =
            schemas.and_then(|schemas| schemas.get_mut("PublicProfile"))
        {
            profile.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> serde_json::Value {
        serde_json::to_value(ApiDoc::openapi()).expect("the description serialises")
    }

    /// Rocket's `<id>` and `<path..>` as OpenAPI's `{id}`.
    fn openapi_path(rocket_path: &str) -> String {
        rocket_path
            .split('/')
            .map(|segment| match segment.strip_prefix('<') {
                Some(rest) => format!("{{{}}}", rest.trim_end_matches('>').trim_end_matches("..")),
                None => segment.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    #[test]
    fn rocket_paths_become_openapi_paths() {
        assert_eq!(openapi_path("/api/users/<id>"), "/api/users/{id}");
        assert_eq!(openapi_path("/api/users/me"), "/api/users/me");
    }

    #[test]
    fn every_route_is_described() {
        let doc = document();
        let mounted = crate::routes::users_routes()
            .into_iter()
            .map(|route| (paths::USERS, route))
            .chain(
                crate::routes::root_routes()
                    .into_iter()
                    .map(|route| ("/", route)),
            );
        let mut checked = 0;
        for (base, route) in mounted {
            let path = route.uri.unmounted_origin.path().to_string();
            // The CORS preflight answers OPTIONS on every path; it is not an operation.
            if route.method == rocket::http::Method::Options {
                continue;
            }
            let full = openapi_path(&format!("{}{}", base.trim_end_matches('/'), path));
            // A HEAD twin of a GET (the health checks) is that operation
            // without its body, as HTTP defines HEAD: not one of its own.
            if route.method == rocket::http::Method::Head {
                assert!(
                    doc["paths"][&full]["get"].is_object(),
                    "HEAD {full} has no described GET"
                );
                continue;
            }
            let method = route.method.as_str().to_ascii_lowercase();
            let operation = &doc["paths"][&full][&method];
            assert!(
                operation.is_object(),
                "{} {full} is mounted but has no OpenAPI description: add \
                 #[utoipa::path] to its handler and list it in openapi.rs",
                route.method
            );
            assert!(
                operation["responses"]
                    .as_object()
                    .is_some_and(|r| !r.is_empty()),
                "{} {full} describes no response",
                route.method
            );
            assert!(
                operation["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{} {full} has no tag",
                route.method
            );
            checked += 1;
        }
        assert_eq!(
            checked, 15,
            "every route but the preflight and the HEADs was checked"
        );
        // And nothing is described that is not mounted.
        let described: usize = doc["paths"]
            .as_object()
            .expect("paths")
            .values()
            .map(|item| item.as_object().map_or(0, |ops| ops.len()))
            .sum();
        assert_eq!(
            described, checked,
            "the description has operations no route serves"
        );
    }

    #[test]
    fn protected_routes_name_their_security_scheme_and_answer_401() {
        let doc = document();
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(schemes[BEARER]["type"], "http");
        assert_eq!(schemes[BEARER]["scheme"], "bearer");
        assert_eq!(schemes[REFRESH]["type"], "apiKey");
        assert_eq!(schemes[REFRESH]["in"], "cookie");
        assert_eq!(schemes[REFRESH]["name"], REFRESH_COOKIE);
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                let security = operation["security"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let unauthorized = &operation["responses"]["401"]["$ref"];
                if security.is_empty() {
                    continue;
                }
                assert_eq!(
                    unauthorized, "#/components/responses/Unauthorized",
                    "{method} {path} needs credentials, so it documents the 401"
                );
            }
        }
        let reauth = &doc["paths"][paths::REAUTH]["post"];
        assert_eq!(reauth["security"], json!([{ REFRESH: [] }]));
        assert_eq!(
            doc["paths"][paths::ME]["get"]["security"],
            json!([{ BEARER: [] }])
        );
    }

    #[test]
    fn every_referenced_component_exists() {
        let doc = document();
        let text = doc.to_string();
        for reference in text.split("\"$ref\":\"#/components/").skip(1) {
            let target = reference.split('"').next().expect("a reference");
            let (kind, name) = target.split_once('/').expect("kind/name");
            assert!(
                doc["components"][kind][name].is_object(),
                "dangling reference #/components/{target}"
            );
        }
    }

    #[test]
    fn the_error_body_and_the_shared_responses_are_described() {
        let doc = document();
        let error = &doc["components"]["schemas"]["ErrorBody"];
        let required: Vec<&str> = error["required"]
            .as_array()
            .expect("required fields")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(required, ["error", "code", "feedback"]);
        assert!(error["properties"]["errors"].is_object());
        let responses = &doc["components"]["responses"];
        assert_eq!(
            responses["Unauthorized"]["headers"]["WWW-Authenticate"]["required"],
            true
        );
        assert_eq!(
            responses["TooManyAttempts"]["headers"]["Retry-After"]["required"],
            true
        );
        assert_eq!(
            responses["SignedIn"]["headers"]["Set-Cookie"]["required"],
            true
        );
        // Every code the server can send is in the enum.
        let codes = doc["components"]["schemas"]["ErrorCode"]["enum"].to_string();
        for code in [ErrorCode::RefreshTokenReused, ErrorCode::TooManyAttempts] {
            assert!(codes.contains(code.as_str()), "{code} missing from {codes}");
        }
    }

    #[test]
    fn a_user_by_id_is_the_full_user_or_a_profile_without_email() {
        let doc = document();
        let ok = &doc["paths"]["/api/users/{id}"]["get"]["responses"]["200"];
        assert_eq!(
            ok["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/UserViewResponse"
        );
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["UserViewResponse"]["properties"]["user"]["$ref"],
            "#/components/schemas/UserView"
        );
        let variants: Vec<&str> = schemas["UserView"]["oneOf"]
            .as_array()
            .expect("UserView is a oneOf")
            .iter()
            .filter_map(|v| v["$ref"].as_str())
            .collect();
        assert_eq!(
            variants,
            [
                "#/components/schemas/User",
                "#/components/schemas/PublicProfile"
            ]
        );
        let profile = &schemas["PublicProfile"];
        let keys = |v: &serde_json::Value| {
            let mut keys: Vec<String> = match v {
                serde_json::Value::Object(map) => map.keys().cloned().collect(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            keys.sort();
            keys
        };
        let expected = ["createdAt", "firstName", "id", "lastName"];
        assert_eq!(keys(&profile["properties"]), expected);
        assert_eq!(keys(&profile["required"]), expected);
        // Exactly those keys, so a full user (with `email`) is not also one.
        assert_eq!(profile["additionalProperties"], false);
        assert!(keys(&schemas["User"]["required"]).contains(&"email".to_owned()));
    }
}
