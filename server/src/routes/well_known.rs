//! The public keys that verify access tokens, for other services:
//! `/.well-known/jwks.json` (RFC 7517) and the discovery document
//! `/.well-known/openid-configuration` that points to it. Both may be cached
//! (`Cache-Control: public, max-age=JWKS_MAX_AGE`), unlike every other answer
//! of this server; [`stage`] also loads the signing keys before the server
//! serves.

use rocket::fairing::{self, AdHoc, Fairing, Info, Kind};
use rocket::http::{Header, Status};
use rocket::serde::json::Json;
use rocket::{get, Build, Request, Response, Rocket, State};
use rocket_db_pools::Database;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;
use crate::store::Db;

/// Where the key set is served.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// Where the discovery document is served.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// How long, in seconds, a verifier may cache the key set and the discovery
/// document. Rotation (still to come) must publish a key as `next` at least
/// this long before it signs, so that a cached key set never misses a key.
pub const JWKS_MAX_AGE: u64 = 300;

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
        (status = 200, description = "The key set (RFC 7517), with `Cache-Control: public, max-age=300`.",
            body = Jwks,
            headers(("Cache-Control" = String, description = "`public, max-age=300`")),
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
        (status = 200, description = "`issuer` and `jwks_uri`, with `Cache-Control: public, max-age=300`.",
            body = Discovery,
            headers(("Cache-Control" = String, description = "`public, max-age=300`"))),
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

/// Loads the signing keys once the database is migrated, and lets the two
/// documents above be cached. Attached after the security headers, so that
/// its `Cache-Control` is written after their `no-store` (fairings attached
/// while igniting run in the order they were attached).
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Signing keys", |rocket| async {
        rocket
            .attach(AdHoc::try_on_ignite("Signing keys: load", load))
            .attach(PublicCaching)
    })
}

async fn load(rocket: Rocket<Build>) -> fairing::Result {
    let Some(state) = rocket.state::<AppState>() else {
        return Err(rocket);
    };
    let Some(db) = Db::fetch(&rocket) else {
        return Err(rocket);
    };
    match state.load_signing_keys(&db.0).await {
        Ok(()) => Ok(rocket),
        Err(e) => {
            log::error!(target: "gatepass::keys", "cannot load the signing keys: {e}");
            Err(rocket)
        }
    }
}

/// `Cache-Control: public, max-age=JWKS_MAX_AGE` on the successful answers
/// of the two documents.
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
            response.set_header(Header::new(
                "Cache-Control",
                format!("public, max-age={JWKS_MAX_AGE}"),
            ));
        }
    }
}
