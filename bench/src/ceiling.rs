//! The framework's ceiling for the read path: a bare Rocket route that only
//! verifies an HS256 JWT (validated like the server does: algorithm pinned,
//! issuer, required claims, no leeway) and answers a small JSON. It runs as a
//! child process (`bench --serve-ceiling PORT`), on Rocket's default worker
//! count, exactly as the server does.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::serde::json::{json, Value};
use rocket::State;
use serde::Deserialize;

/// The secret the ceiling verifies with (the same one the server gets).
pub const SECRET_ENV: &str = "BENCH_ACCESS_TOKEN_SECRET";

struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    sid: String,
}

struct Bearer(Claims);

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
        match token.map(|t| jsonwebtoken::decode::<Claims>(t, &verifier.key, &verifier.validation))
        {
            Some(Ok(data)) => Outcome::Success(Bearer(data.claims)),
            _ => Outcome::Error((Status::Unauthorized, ())),
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

/// Serves the ceiling route on `port` until killed.
pub fn serve(port: u16) -> Result<(), String> {
    let secret = std::env::var(SECRET_ENV).map_err(|_| format!("{SECRET_ENV} is not set"))?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_issuer(&["gatepass"]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
    let verifier = Verifier {
        key: DecodingKey::from_secret(secret.as_bytes()).map_err(|e| e.to_string())?,
        validation,
    };
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
