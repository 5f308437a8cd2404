//! The public keys that verify access tokens, for other services:
//! `/.well-known/jwks.json` (RFC 7517) and the discovery document
//! `/.well-known/openid-configuration` that points to it. Both may be cached
//! (`Cache-Control: public, max-age=` `AUTH_JWKS_MAX_AGE`), unlike every
//! other answer of this server. A key is published as `next` at least that
//! long before it signs (`signing_keys/`), so a cached key set holds it.

use rocket::fairing::{AdHoc, Fairing, Info, Kind};
use rocket::http::{Header, Status};
use rocket::serde::json::Json;
use rocket::{get, Request, Response, State};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// Where the key set is served.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// Where the discovery document is served.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// One public key (RFC 7517, RFC 8037: an Ed25519 key is `kty` `OKP`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Jwk {
    /// Always `OKP`.
    #[schema(example = "OKP")]
    pub kty: &'static str,
    /// Always `Ed25519`.
    #[schema(example = "Ed25519")]
    pub crv: &'static str,
    /// The public key, base64url without padding.
    #[schema(example = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")]
    pub x: String,
    /// The key's id, as token headers name it (its RFC 7638 thumbprint).
    #[schema(example = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")]
    pub kid: String,
    /// Always `EdDSA`.
    #[schema(example = "EdDSA")]
    pub alg: &'static str,
    /// Always `sig`.
    #[serde(rename = "use")]
    #[schema(rename = "use", example = "sig")]
    pub use_: &'static str,
}

/// Every public key that may verify a live access token.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Jwks {
    /// Empty when the server signs with HS256 (a symmetric key is never published).
    pub keys: Vec<Jwk>,
}

/// Where the keys are (a subset of OpenID Connect Discovery / RFC 8414).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Discovery {
    /// This server's public URL (`GATEPASS_PUBLIC_URL`).
    #[schema(example = "https://auth.example.com")]
    pub issuer: String,
    /// The URL of the key set.
    #[schema(example = "https://auth.example.com/.well-known/jwks.json")]
    pub jwks_uri: String,
}

/// Public signing keys (JWKS)
///
/// The Ed25519 public keys that verify this server's access tokens: the
/// current key, the next one and retired ones until the tokens they signed
/// have expired. Pick the key by the token header's `kid`, and accept only
/// `alg` `EdDSA`. Cacheable for `max-age` seconds.
#[utoipa::path(
    operation_id = "jwks",
    tag = "keys",
    responses(
        (status = 200, description = "The key set (RFC 7517), with `Cache-Control: public, max-age=` `AUTH_JWKS_MAX_AGE` (300 by default).",
            body = Jwks,
            headers(("Cache-Control" = String, description = "`public, max-age=300` (`AUTH_JWKS_MAX_AGE`)")),
            example = json!({"keys": [{"kty": "OKP", "crv": "Ed25519",
                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                "kid": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
                "alg": "EdDSA", "use": "sig"}]})),
    ),
)]
#[get("/.well-known/jwks.json")]
pub fn jwks(state: &State<AppState>) -> Json<Jwks> {
    let keys = state
        .access_tokens
        .published()
        .into_iter()
        .map(|key| Jwk {
            kty: "OKP",
            crv: "Ed25519",
            x: key.x,
            kid: key.kid,
            alg: "EdDSA",
            use_: "sig",
        })
        .collect();
    Json(Jwks { keys })
}

/// Discovery document
///
/// Where a verifier finds the keys from the issuer alone
/// (`<issuer>/.well-known/openid-configuration`). Cacheable for `max-age`
/// seconds.
#[utoipa::path(
    operation_id = "openid_configuration",
    tag = "keys",
    responses(
        (status = 200, description = "`issuer` and `jwks_uri`, with `Cache-Control: public, max-age=` `AUTH_JWKS_MAX_AGE` (300 by default).",
            body = Discovery,
            headers(("Cache-Control" = String, description = "`public, max-age=300` (`AUTH_JWKS_MAX_AGE`)"))),
    ),
)]
#[get("/.well-known/openid-configuration")]
pub fn openid_configuration(state: &State<AppState>) -> Json<Discovery> {
    let issuer = state.config.server.public_url.clone();
    Json(Discovery {
        jwks_uri: format!("{issuer}{JWKS_PATH}"),
        issuer,
    })
}

/// Lets the two documents above be cached. Attached while igniting, after
/// the security headers, so that its `Cache-Control` is written after their
/// `no-store` (fairings attached while igniting run in the order they were
/// attached).
pub fn caching() -> AdHoc {
    AdHoc::on_ignite("Cache-Control of the public keys", |rocket| async {
        rocket.attach(PublicCaching)
    })
}

/// `Cache-Control: public, max-age=AUTH_JWKS_MAX_AGE` on the successful
/// answers of the two documents.
struct PublicCaching;

#[rocket::async_trait]
impl Fairing for PublicCaching {
    fn info(&self) -> Info {
        Info {
            name: "Cache-Control of the public keys",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let path = request.uri().path();
        if response.status() == Status::Ok && (path == JWKS_PATH || path == DISCOVERY_PATH) {
            if let Some(state) = request.rocket().state::<AppState>() {
                let max_age = state.config.tokens.jwks_max_age.as_secs();
                response.set_header(Header::new(
                    "Cache-Control",
                    format!("public, max-age={max_age}"),
                ));
            }
        }
    }
}
