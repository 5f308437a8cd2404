//! Routing, guards, catchers and the headers every answer carries, in
//! process: the real server (`gatepass_server::build`) on a temporary SQLite
//! database, driven by Rocket's local client. No port and no process, so
//! these run in milliseconds; the black-box suite (tests/) stays the
//! end-to-end net. The codes and headers asserted are the contract's
//! (README.md "## API").

use gatepass_common::paths;
use gatepass_server::db::Backend;
use gatepass_server::store::Db;
use gatepass_server::Config;
use rocket::http::{ContentType, Header, Method, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket_db_pools::Database;
use serde_json::{json, Value};

/// The one front-end origin the test server allows.
const ALLOWED_ORIGIN: &str = "https://app.example.com";
const HOSTILE_ORIGIN: &str = "https://evil.example";
const PASSWORD: &str = "tY7#mQ2v!pLx-gatepass";
/// The key access tokens are signed with, to forge an expired one.
const ACCESS_SECRET: &str = "routing-test-access-token-secret-0123456789";

struct TestServer {
    client: Client,
    // Dropped after the client, which holds the database open.
    _data_dir: tempfile::TempDir,
}

/// The real server on a fresh data folder: embedded SQLite, bcrypt at its
/// cheapest allowed cost so signups stay fast. `with_settings` is the
/// configuration's own entry point for tests: it reads no environment.
async fn server() -> TestServer {
    server_with(&[]).await
}

/// [`server`], with more settings (`NAME`, value).
async fn server_with(more: &[(&str, &str)]) -> TestServer {
    let data_dir = tempfile::tempdir().unwrap();
    let mut settings = vec![
        ("AUTH_BCRYPT_COST", "10"),
        ("AUTH_CORS_ORIGINS", ALLOWED_ORIGIN),
        ("AUTH_ACCESS_TOKEN_SECRET", ACCESS_SECRET),
        // The tests below forge HS256 tokens with ACCESS_SECRET; the EdDSA
        // default is tested in `the_public_keys_are_served_cacheable`.
        ("AUTH_ACCESS_TOKEN_ALG", "HS256"),
    ];
    settings.extend_from_slice(more);
    let config = Config::with_settings(data_dir.path(), &settings).unwrap();
    let rocket = gatepass_server::build(config).unwrap();
    let client = Client::tracked(rocket).await.unwrap();
    TestServer {
        client,
        _data_dir: data_dir,
    }
}

/// Checks the contract's error body (`error`, `code`, `feedback`, as JSON)
/// and returns it.
async fn assert_error(response: LocalResponse<'_>, status: Status, code: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.content_type(), Some(ContentType::JSON));
    let body: Value = response.into_json().await.expect("a JSON error body");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert!(
        body["feedback"].as_str().is_some_and(|f| !f.is_empty()),
        "{body}"
    );
    body
}

/// Signs up a new user; returns the access token.
async fn signup(client: &Client, email: &str) -> String {
    let response = client
        .post(paths::SIGNUP)
        .header(ContentType::JSON)
        .body(
            json!({
                "firstName": "Ada",
                "lastName": "Lovelace",
                "email": email,
                "password": PASSWORD,
                "passwordConfirm": PASSWORD,
            })
            .to_string(),
        )
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Created);
    let body: Value = response.into_json().await.unwrap();
    body["accessToken"].as_str().unwrap().to_owned()
}

/// An HS256 access token with the server's claims, signed with `key`, whose
/// `exp` is `expires_in` seconds from now (negative: already expired).
fn access_token(key: &[u8], expires_in: i64) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({
        "sub": "00000000-0000-4000-8000-000000000001",
        "sid": "00000000-0000-4000-8000-000000000002",
        "iat": now - 300,
        "exp": now + expires_in,
        "iss": "http://localhost:8000", // GATEPASS_PUBLIC_URL's default
        "jti": "00000000-0000-4000-8000-000000000003",
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(key).unwrap(),
    )
    .unwrap()
}

#[rocket::async_test]
async fn an_unknown_route_is_a_json_404() {
    let server = server().await;
    let response = server.client.get("/nowhere").dispatch().await;
    let body = assert_error(response, Status::NotFound, "not_found").await;
    assert_eq!(body["feedback"], "There is nothing at this address.");

    // Under the prefix too: no route catches everything below it.
    let response = server.client.get("/api/users/me/extra").dispatch().await;
    assert_error(response, Status::NotFound, "not_found").await;
}

#[rocket::async_test]
async fn a_wrong_method_is_a_json_404() {
    let server = server().await;
    // Rocket routes by method and path together, so a method no route of
    // this path takes is an unknown route, answered by the same catcher.
    let response = server
        .client
        .put(paths::LOGIN)
        .header(ContentType::JSON)
        .body("{}")
        .dispatch()
        .await;
    assert_error(response, Status::NotFound, "not_found").await;
    let response = server.client.delete(paths::LOGIN).dispatch().await;
    assert_error(response, Status::NotFound, "not_found").await;
}

#[rocket::async_test]
async fn a_body_over_16_kib_is_413() {
    let server = server().await;
    let big = json!({"email": "a@example.com", "password": "x".repeat(17 * 1024)}).to_string();
    // Announced by Content-Length: refused before it is read.
    let response = server
        .client
        .post(paths::LOGIN)
        .header(ContentType::JSON)
        .header(Header::new("Content-Length", big.len().to_string()))
        .body(&big)
        .dispatch()
        .await;
    assert_error(response, Status::PayloadTooLarge, "payload_too_large").await;
    // Without a length (as a chunked body comes): refused while read.
    let response = server
        .client
        .post(paths::LOGIN)
        .header(ContentType::JSON)
        .body(&big)
        .dispatch()
        .await;
    assert_error(response, Status::PayloadTooLarge, "payload_too_large").await;
}

#[rocket::async_test]
async fn a_body_that_is_not_json_is_415() {
    let server = server().await;
    let login = r#"{"email": "a@example.com", "password": "whatever-it-is"}"#;
    // What a hostile page can send cross-site without a preflight.
    for content_type in [ContentType::Plain, ContentType::Form] {
        let response = server
            .client
            .post(paths::LOGIN)
            .header(content_type)
            .body(login)
            .dispatch()
            .await;
        assert_error(
            response,
            Status::UnsupportedMediaType,
            "unsupported_media_type",
        )
        .await;
    }
    // No Content-Type at all, with a body.
    let response = server
        .client
        .post(paths::LOGIN)
        .body(login)
        .dispatch()
        .await;
    assert_error(
        response,
        Status::UnsupportedMediaType,
        "unsupported_media_type",
    )
    .await;
}

#[rocket::async_test]
async fn malformed_json_is_400() {
    let server = server().await;
    let bodies: [&[u8]; 3] = [b"{\"email\": ", b"", b"not json"];
    for body in bodies {
        let response = server
            .client
            .post(paths::LOGIN)
            .header(ContentType::JSON)
            .body(body)
            .dispatch()
            .await;
        assert_error(response, Status::BadRequest, "malformed_json").await;
    }
}

#[rocket::async_test]
async fn the_bearer_guard_refuses_missing_garbage_foreign_and_expired_tokens() {
    let server = server().await;
    let me = |authorization: Option<String>| {
        let mut request = server.client.get(paths::ME);
        if let Some(value) = authorization {
            request = request.header(Header::new("Authorization", value));
        }
        request.dispatch()
    };

    // No credentials (none, or another scheme): the bare challenge.
    for authorization in [None, Some("Basic YWRhOnB3".to_owned())] {
        let response = me(authorization).await;
        assert_eq!(
            response.headers().get_one("WWW-Authenticate"),
            Some(r#"Bearer realm="api""#)
        );
        assert_error(response, Status::Unauthorized, "missing_access_token").await;
    }

    // A token that is no JWT, or is signed with another key: RFC 6750's
    // invalid_token, with the reason.
    let invalid = r#"Bearer realm="api", error="invalid_token", error_description="The access token is malformed or its signature is invalid""#;
    let foreign = access_token(b"another-server-another-secret-0123456789", 120);
    for token in ["garbage".to_owned(), foreign] {
        let response = me(Some(format!("Bearer {token}"))).await;
        assert_eq!(
            response.headers().get_one("WWW-Authenticate"),
            Some(invalid)
        );
        assert_eq!(
            response.headers().get_one("Cache-Control"),
            Some("no-store")
        );
        assert_error(response, Status::Unauthorized, "invalid_access_token").await;
    }

    // Signed by this server but past its `exp`: a code of its own, so the
    // client knows a refresh will help.
    let expired = access_token(ACCESS_SECRET.as_bytes(), -60);
    let response = me(Some(format!("Bearer {expired}"))).await;
    assert_eq!(
        response.headers().get_one("WWW-Authenticate"),
        Some(
            r#"Bearer realm="api", error="invalid_token", error_description="The access token expired""#
        )
    );
    assert_error(response, Status::Unauthorized, "expired_access_token").await;

    // The same claims, still valid, but for a session that does not exist.
    let unknown_session = access_token(ACCESS_SECRET.as_bytes(), 60);
    let response = me(Some(format!("Bearer {unknown_session}"))).await;
    assert_error(response, Status::Unauthorized, "session_revoked").await;
}

/// The client tracks cookies like a browser: a hostile page's request
/// carries the refresh cookie too, and the Origin guard is what stops it.
#[rocket::async_test]
async fn a_hostile_origin_is_refused_before_the_cookie_routes_act() {
    let server = server().await;
    let client = &server.client;
    let token = signup(client, "hostile-origin@example.com").await;
    let bearer = || Header::new("Authorization", format!("Bearer {token}"));
    assert!(client.cookies().get("refreshTkn").is_some());

    let response = client
        .post(paths::REAUTH)
        .header(Header::new("Origin", HOSTILE_ORIGIN))
        .dispatch()
        .await;
    // No CORS headers for it, so the page cannot read this answer; and no
    // cookie was rotated.
    assert_eq!(
        response.headers().get_one("Access-Control-Allow-Origin"),
        None
    );
    assert!(response.cookies().get("refreshTkn").is_none());
    assert_error(response, Status::Forbidden, "origin_not_allowed").await;

    // Signing out from a hostile page leaves the session alive.
    let response = client
        .post(paths::LOGOUT)
        .header(Header::new("Origin", HOSTILE_ORIGIN))
        .header(bearer())
        .dispatch()
        .await;
    assert_error(response, Status::Forbidden, "origin_not_allowed").await;
    let response = client.get(paths::ME).header(bearer()).dispatch().await;
    assert_eq!(response.status(), Status::Ok);

    // The allowed origin passes the guard: the cookie rotates.
    let response = client
        .post(paths::REAUTH)
        .header(Header::new("Origin", ALLOWED_ORIGIN))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Created);
    assert_eq!(
        response.headers().get_one("Access-Control-Allow-Origin"),
        Some(ALLOWED_ORIGIN)
    );
    assert!(response.cookies().get("refreshTkn").is_some());
}

/// The tutorial's front-end calls /reauth and /logout with no body and no
/// Content-Type; the terminal client sends no Origin. Neither is a JSON body
/// route, so neither gets 415.
#[rocket::async_test]
async fn bare_reauth_and_logout_reach_their_handlers() {
    let server = server().await;
    let client = &server.client;

    let response = client.post(paths::REAUTH).dispatch().await;
    assert_error(response, Status::Unauthorized, "missing_refresh_token").await;

    let token = signup(client, "bare-requests@example.com").await;
    let response = client
        .post(paths::LOGOUT)
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::ResetContent);
    // The handler ran: the session is over and the cookie cleared.
    let cleared = response.cookies().get("refreshTkn").map(|c| c.max_age());
    assert_eq!(cleared, Some(Some(time::Duration::ZERO)));
    let response = client
        .get(paths::ME)
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await;
    assert_error(response, Status::Unauthorized, "session_revoked").await;
}

#[rocket::async_test]
async fn a_preflight_from_an_allowed_origin_is_204_with_the_cors_headers() {
    let server = server().await;
    let preflight = |origin: &'static str| {
        server
            .client
            .req(Method::Options, paths::LOGIN)
            .header(Header::new("Origin", origin))
            .header(Header::new("Access-Control-Request-Method", "POST"))
            .header(Header::new(
                "Access-Control-Request-Headers",
                "content-type",
            ))
            .dispatch()
    };

    let response = preflight(ALLOWED_ORIGIN).await;
    assert_eq!(response.status(), Status::NoContent);
    let headers = response.headers();
    assert_eq!(
        headers.get_one("Access-Control-Allow-Origin"),
        Some(ALLOWED_ORIGIN)
    );
    assert_eq!(
        headers.get_one("Access-Control-Allow-Credentials"),
        Some("true")
    );
    assert_eq!(
        headers.get_one("Access-Control-Allow-Methods"),
        Some("GET, POST, PATCH, DELETE, OPTIONS")
    );
    assert_eq!(
        headers.get_one("Access-Control-Allow-Headers"),
        Some("Authorization, Content-Type, X-reset-base")
    );
    assert_eq!(
        headers.get_one("Access-Control-Expose-Headers"),
        Some("WWW-Authenticate, Retry-After, X-Request-Id")
    );
    assert_eq!(headers.get_one("Access-Control-Max-Age"), Some("600"));
    assert_eq!(headers.get_one("Vary"), Some("Origin"));

    // Another origin's preflight is answered, but allows nothing.
    let response = preflight(HOSTILE_ORIGIN).await;
    assert_eq!(response.status(), Status::NoContent);
    assert_eq!(
        response.headers().get_one("Access-Control-Allow-Origin"),
        None
    );
    assert_eq!(
        response
            .headers()
            .get_one("Access-Control-Allow-Credentials"),
        None
    );
}

#[rocket::async_test]
async fn head_health_has_a_route_of_its_own_and_no_body() {
    let server = server().await;
    // Without its own route Rocket would answer HEAD through the GET route,
    // but only after logging "No matching routes" as an error per probe.
    for path in ["/health", "/health/alive", "/health/ready"] {
        assert!(
            server
                .client
                .rocket()
                .routes()
                .any(|route| route.method == Method::Head && route.uri.path() == path),
            "HEAD {path} has no route"
        );
        let response = server.client.head(path).dispatch().await;
        assert_eq!(response.status(), Status::Ok, "HEAD {path}");
        assert_eq!(response.into_bytes().await.unwrap_or_default(), b"");
    }
}

#[rocket::async_test]
async fn every_answer_carries_the_security_headers() {
    let server = server().await;
    let client = &server.client;
    let answers = [
        client.get("/health").dispatch().await,
        // A catcher's answer.
        client.get("/nowhere").dispatch().await,
        // A guard's failure.
        client.get(paths::ME).dispatch().await,
        client
            .req(Method::Options, paths::LOGIN)
            .header(Header::new("Origin", ALLOWED_ORIGIN))
            .dispatch()
            .await,
    ];
    for response in &answers {
        let headers = response.headers();
        assert_eq!(headers.get_one("Cache-Control"), Some("no-store"));
        assert_eq!(headers.get_one("X-Content-Type-Options"), Some("nosniff"));
        assert_eq!(headers.get_one("Referrer-Policy"), Some("no-referrer"));
        assert_eq!(headers.get_one("X-Frame-Options"), Some("SAMEORIGIN"));
        assert_eq!(
            headers.get_one("Permissions-Policy"),
            Some("interest-cohort=()")
        );
        // Plain HTTP here: HSTS is for the TLS-terminating proxy to send.
        assert_eq!(headers.get_one("Strict-Transport-Security"), None);
        // One of each, not a fairing's copy beside Shield's.
        assert_eq!(headers.get("Cache-Control").count(), 1);
        assert_eq!(headers.get("X-Content-Type-Options").count(), 1);
    }
}

/// The typed database settings reach SQLite through Rocket's pool: every
/// connection (the readers and the one writer) runs with the configured
/// `synchronous`, `full` unless `normal` is asked for.
#[rocket::async_test]
async fn the_configured_durability_reaches_every_sqlite_connection() {
    async fn synchronous_of(server: &TestServer) -> (i64, i64) {
        let db = Db::fetch(server.client.rocket()).expect("the pool is attached");
        let Backend::Sqlite { pool, writer } = db.0.backend() else {
            panic!("the default database is SQLite");
        };
        let query = "PRAGMA synchronous";
        let reader: i64 = sqlx::query_scalar(query).fetch_one(pool).await.unwrap();
        let mut writer = writer.lock().await;
        let writer: i64 = sqlx::query_scalar(query)
            .fetch_one(&mut *writer)
            .await
            .unwrap();
        (reader, writer)
    }
    // SQLite's numbers: 1 is NORMAL, 2 is FULL.
    assert_eq!(synchronous_of(&server().await).await, (2, 2));
    let normal = server_with(&[("GATEPASS_DB_SYNCHRONOUS", "normal")]).await;
    assert_eq!(synchronous_of(&normal).await, (1, 1));
}

#[rocket::async_test]
async fn the_public_keys_are_served_cacheable() {
    let server = server_with(&[
        ("AUTH_ACCESS_TOKEN_ALG", "EdDSA"),
        ("GATEPASS_PUBLIC_URL", "https://auth.example.com/"),
    ])
    .await;
    let client = &server.client;
    let token = signup(client, "keys@example.com").await;
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            token.split('.').next().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "EdDSA");

    let response = client.get("/.well-known/jwks.json").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(
        response.headers().get_one("Cache-Control"),
        Some("public, max-age=300")
    );
    let jwks: Value = response.into_json().await.unwrap();
    // The current key, and the next one published before it signs.
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{jwks}");
    let current = keys
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the signing key is published");
    assert_eq!(current["kty"], "OKP");

    let response = client
        .get("/.well-known/openid-configuration")
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(
        response.headers().get_one("Cache-Control"),
        Some("public, max-age=300")
    );
    let discovery: Value = response.into_json().await.unwrap();
    assert_eq!(discovery["issuer"], "https://auth.example.com");
    assert_eq!(
        discovery["jwks_uri"],
        "https://auth.example.com/.well-known/jwks.json"
    );

    // Everything else stays uncacheable.
    let response = client
        .get(paths::ME)
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(
        response.headers().get_one("Cache-Control"),
        Some("no-store")
    );
    // And an HS256 token under the configured secret is refused under EdDSA.
    let response = client
        .get(paths::ME)
        .header(Header::new(
            "Authorization",
            format!("Bearer {}", access_token(ACCESS_SECRET.as_bytes(), 60)),
        ))
        .dispatch()
        .await;
    assert_error(response, Status::Unauthorized, "invalid_access_token").await;
}
