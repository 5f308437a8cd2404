//! The framework's ceiling for the read path: a bare Rocket route that only
//! verifies an access token as the server does on a miss of its cache of
//! verified tokens (the header's `kid` and `alg` pinned to the one key, then
//! the signature and the claims: issuer, required claims, no leeway) and
//! answers a small JSON. One per signing algorithm: HS256 under the secret,
//! or EdDSA under an Ed25519 public key (its JWK `x`). It runs as a child
//! process (`bench --serve-ceiling PORT`, configured by the environment
//! variables below), on Rocket's default worker count, exactly as the server
//! does.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::serde::json::{json, Value};
use rocket::State;
use serde::Deserialize;

/// `HS256` or `EdDSA`.
pub const ALG_ENV: &str = "BENCH_ACCESS_TOKEN_ALG";
/// HS256: the secret (the same one the server gets).
pub const SECRET_ENV: &str = "BENCH_ACCESS_TOKEN_SECRET";
/// EdDSA: the public key, base64url (JWK `x`), of the key stored as current.
pub const PUBLIC_KEY_ENV: &str = "BENCH_ED25519_X";
/// The key's id, as every token header names it.
pub const KID_ENV: &str = "BENCH_ACCESS_TOKEN_KID";
/// The tokens' `iss` (the server's public URL).
pub const ISSUER_ENV: &str = "BENCH_ISSUER";

struct Verifier {
    alg: Algorithm,
    kid: String,
    key: DecodingKey,
    validation: Validation,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    sid: String,
}

struct Bearer(Claims);

impl Verifier {
    fn verify(&self, token: &str) -> Option<Claims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != self.alg || header.kid.as_deref() != Some(self.kid.as_str()) {
            return None;
        }
        jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .ok()
            .map(|data| data.claims)
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Bearer {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        let Some(verifier) = request.rocket().state::<Verifier>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        let token = request
            .headers()
            .get_one("Authorization")
            .and_then(|h| h.strip_prefix("Bearer "));
        match token.and_then(|t| verifier.verify(t)) {
            Some(claims) => Outcome::Success(Bearer(claims)),
            None => Outcome::Error((Status::Unauthorized, ())),
        }
    }
}

#[rocket::get("/api/users/me")]
fn me(bearer: Bearer) -> Value {
    json!({ "success": true, "user": { "id": bearer.0.sub, "session": bearer.0.sid } })
}

#[rocket::get("/health")]
fn health(_verifier: &State<Verifier>) -> Value {
    json!({ "status": "ok" })
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

fn verifier() -> Result<Verifier, String> {
    let (alg, key) = match env(ALG_ENV)?.as_str() {
        "HS256" => (
            Algorithm::HS256,
            DecodingKey::from_secret(env(SECRET_ENV)?.as_bytes()).map_err(|e| e.to_string())?,
        ),
        "EdDSA" => (
            Algorithm::EdDSA,
            DecodingKey::from_ed_components(&env(PUBLIC_KEY_ENV)?).map_err(|e| e.to_string())?,
        ),
        other => return Err(format!("{ALG_ENV}: unknown algorithm {other:?}")),
    };
    let mut validation = Validation::new(alg);
    validation.leeway = 0;
    validation.set_issuer(&[env(ISSUER_ENV)?]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
    Ok(Verifier {
        alg,
        kid: env(KID_ENV)?,
        key,
        validation,
    })
}

/// Serves the ceiling route on `port` until killed.
pub fn serve(port: u16) -> Result<(), String> {
    let verifier = verifier()?;
    let config = rocket::Config {
        address: std::net::Ipv4Addr::LOCALHOST.into(),
        port,
        log_level: rocket::config::LogLevel::Off,
        cli_colors: false,
        ..rocket::Config::release_default()
    };
    rocket::execute(async move {
        rocket::custom(config)
            .manage(verifier)
            .mount("/", rocket::routes![me, health])
            .launch()
            .await
    })
    .map(|_| ())
    .map_err(|e| e.to_string())
}
