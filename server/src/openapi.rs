//! The OpenAPI 3.1 description of the HTTP API, for front-ends that generate
//! clients: assembled here from the handlers' `#[utoipa::path]` attributes
//! (which take method, path and path parameters from Rocket's own route
//! attributes) and the wire types' `ToSchema` derives in `gatepass-common`.
//!
//! Served at `GET /api/openapi.json`, with Swagger UI at `/api/docs/`. The
//! responses every route shares (401, 413, 422, 429 and the cookie-setting
//! successes) are components defined once, in `routes/responses.rs`, so their headers cannot
//! differ from route to route. `tests::every_route_is_described` fails when a
//! route is mounted without a description.

use gatepass_common::{
    AuthResponse, ChangePasswordRequest, CreateTokenRequest, CreatedTokenResponse, ErrorBody,
    ErrorCode, FieldError, ForgotPasswordRequest, Health, LoginRequest, LoginSecondFactorRequest,
    MessageResponse, MfaRequiredBody, PersonalToken, PublicProfile, ReauthResponse,
    RecoveryCodesResponse, ResetPasswordRequest, SecondFactorStatus, SessionInfo, SessionsResponse,
    SignupRequest, TokensResponse, TotpCodeRequest, TotpDisableRequest, TotpSetupRequest,
    TotpSetupResponse, User, UserResponse, UserView, UserViewResponse, REFRESH_COOKIE,
};
use rocket::Route;
use utoipa::openapi::schema::{AdditionalProperties, Schema};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::routes::responses::{
    OriginNotAllowed, PayloadTooLarge, Refreshed, ServerBusy, SignedIn, SignedOut, TooManyAttempts,
    Unauthorized, UnsupportedMediaType, ValidationFailed,
};
use crate::routes::well_known::{self, Discovery, Jwk, Jwks};
use crate::routes::{health, passwords, personal_tokens, second_factor, sessions, users};

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

* The **access token** (a short-lived JWT, signed with Ed25519 (`EdDSA`) or, \
configured so, HS256; its header's `kid` names the key) travels in the JSON body of \
signup, login and reauth answers; send it as `Authorization: Bearer <token>`. \
Other services verify it with the public keys at `/.well-known/jwks.json`. \
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
    paths(
        health::health,
        health::alive,
        health::ready,
        well_known::jwks,
        well_known::openid_configuration
    ),
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
            Jwks,
            Jwk,
            Discovery,
            TotpSetupRequest,
            TotpSetupResponse,
            TotpCodeRequest,
            TotpDisableRequest,
            RecoveryCodesResponse,
            SecondFactorStatus,
            LoginSecondFactorRequest,
            MfaRequiredBody,
            CreateTokenRequest,
            CreatedTokenResponse,
            PersonalToken,
            TokensResponse,
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
        (name = "tokens", description = "Personal access tokens for scripts and CI: make, list, revoke, exchange."),
        (name = "two-factor", description = "TOTP and recovery codes: enrol, sign in with a code, turn off."),
        (name = "health", description = "For load balancers."),
        (name = "keys", description = "The public keys that verify access tokens, for other services."),
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
            "personalToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A personal access token (`gp_pat_…`, from `POST /api/users/tokens`), \
                         only for `POST /api/users/token`, which exchanges it for an access token.",
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

#[cfg(test)]
mod tests {
    use gatepass_common::paths;
    use serde_json::json;

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
            checked, 27,
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
