//! Signing keys (issue 16, first slice): a new installation signs access
//! tokens with Ed25519 and names the key in every header; the key set and the
//! discovery document let another service verify a token with the public key
//! alone; servers on one database share one key; HS256 (the tutorial's
//! configuration) keeps working and publishes no key. On PostgreSQL too when
//! the suite runs on it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatepass_tests::{database, unique_email, Server, ServerBuilder};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::Value;

const JWKS: &str = "/.well-known/jwks.json";
const DISCOVERY: &str = "/.well-known/openid-configuration";
const REFRESH_SECRET: &str = "signing-keys-refresh-secret-0123456789abcdef";
const ACCESS_SECRET: &str = "signing-keys-access-secret-0123456789abcdef";

fn header(token: &str) -> Value {
    let first = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(first).unwrap()).unwrap()
}

fn payload(token: &str) -> Value {
    let second = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(second).unwrap()).unwrap()
}

/// A server whose refresh secret is given (servers sharing a database must
/// share it: it seals the private keys).
fn builder() -> ServerBuilder {
    let builder = Server::builder().env("AUTH_REFRESH_TOKEN_SECRET", REFRESH_SECRET);
    if database::on_postgres() {
        builder
    } else {
        builder.env("GATEPASS_SESSION_CACHE_TTL", "0s")
    }
}

/// The published key set, checked for its caching header.
async fn jwks(server: &Server) -> Vec<Value> {
    let reply = server.api().get(JWKS, None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("Cache-Control"), Some("public, max-age=300"));
    reply.body["keys"].as_array().expect("keys").clone()
}

/// Verifies `token` as another service would: the key the header names,
/// from the key set, EdDSA only.
fn verify_with(keys: &[Value], token: &str) -> Value {
    let kid = header(token)["kid"].as_str().expect("a kid").to_owned();
    let jwk = keys
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("kid {kid} is not published: {keys:?}"));
    let jwk: Jwk = serde_json::from_value(jwk.clone()).unwrap();
    let key = DecodingKey::from_jwk(&jwk).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&["gatepass"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("the token verifies with the published key")
        .claims
}

async fn key_rows(server: &Server) -> Vec<String> {
    server
        .sql_column("SELECT kid FROM signing_keys ORDER BY created_at")
        .await
}

#[tokio::test]
async fn a_new_installation_signs_eddsa_tokens_that_the_published_key_verifies() {
    let server = builder().start();
    let api = server.api();
    let session = api.signup(&unique_email("eddsa")).await;

    let head = header(&session.access_token);
    assert_eq!(head["alg"], "EdDSA", "{head}");
    let kid = head["kid"].as_str().expect("every token names its key");

    let keys = jwks(&server).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let key = &keys[0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kid"], kid);
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(key["x"].as_str().unwrap())
            .unwrap()
            .len(),
        32
    );
    assert!(key.get("d").is_none(), "no private part is published");

    let claims = verify_with(&keys, &session.access_token);
    assert_eq!(claims["sub"], session.id());
    assert_eq!(api.me(&session.access_token).await.status, 200);

    // The discovery document points at the key set.
    let reply = api.get(DISCOVERY, None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("Cache-Control"), Some("public, max-age=300"));
    let issuer = reply.body["issuer"].as_str().expect("issuer");
    assert_eq!(
        issuer, "http://localhost:8000",
        "GATEPASS_PUBLIC_URL's default"
    );
    let jwks_uri = reply.body["jwks_uri"].as_str().expect("jwks_uri");
    let path = jwks_uri.strip_prefix(issuer).expect("under the issuer");
    assert_eq!(path, JWKS);
    let fetched = server.api().get(path, None).await;
    assert_eq!(fetched.body["keys"][0]["kid"], kid);

    // One key, stored with its private half sealed (nonce, seed, tag), and
    // still the key after a restart.
    assert_eq!(key_rows(&server).await, [kid]);
    assert_eq!(
        server
            .sql_column(
                "SELECT COUNT(*) FROM signing_keys \
                 WHERE length(sealed_private_key) = 72 AND length(public_key) = 32 \
                   AND state = 'current'"
            )
            .await,
        ["1"]
    );
    let dir = server.stop();
    let again = builder().data_dir(dir).start();
    assert_eq!(again.api().me(&session.access_token).await.status, 200);
    let later = again.api().signup(&unique_email("eddsa-again")).await;
    assert_eq!(header(&later.access_token)["kid"], kid);
}

#[tokio::test]
async fn tokens_of_another_kind_or_key_are_refused() {
    let server = builder()
        .env("AUTH_ACCESS_TOKEN_SECRET", ACCESS_SECRET)
        .start();
    let api = server.api();
    let session = api.signup(&unique_email("pinning")).await;
    let claims = payload(&session.access_token);
    let kid = header(&session.access_token)["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let x = jwks(&server).await[0]["x"].as_str().unwrap().to_owned();

    let hs256 = |secret: &[u8], kid: Option<&str>| {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret).unwrap()).unwrap()
    };
    let public = URL_SAFE_NO_PAD.decode(&x).unwrap();
    let forged = [
        // HS256 under the configured (but unused) HS256 secret.
        hs256(ACCESS_SECRET.as_bytes(), None),
        hs256(ACCESS_SECRET.as_bytes(), Some(&kid)),
        // The public key as an HMAC secret, naming its kid.
        hs256(&public, Some(&kid)),
        hs256(x.as_bytes(), Some(&kid)),
    ];
    for token in &forged {
        api.me(token)
            .await
            .assert_error(401, "invalid_access_token");
    }

    // The real token with its header changed: an unknown kid, no kid, `none`.
    let rest = session.access_token.split_once('.').unwrap().1;
    let (body, _) = rest.split_once('.').unwrap();
    let with_header = |h: Value| {
        format!(
            "{}.{rest}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&h).unwrap())
        )
    };
    for token in [
        with_header(serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": "not-a-key"})),
        with_header(serde_json::json!({"alg": "EdDSA", "typ": "JWT"})),
        format!(
            "{}.{body}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#)
        ),
    ] {
        api.me(&token)
            .await
            .assert_error(401, "invalid_access_token");
    }
    // And the untouched token still works.
    assert_eq!(api.me(&session.access_token).await.status, 200);
}

#[tokio::test]
async fn two_servers_on_one_database_share_one_key_and_each_others_tokens() {
    let a = builder().start();
    let b = builder().database_of(&a).start();
    let on_a = a.api().signup(&unique_email("pair-a")).await;
    let on_b = b.api().signup(&unique_email("pair-b")).await;

    let kid = header(&on_a.access_token)["kid"].clone();
    assert_eq!(header(&on_b.access_token)["kid"], kid);
    let (keys_a, keys_b) = (jwks(&a).await, jwks(&b).await);
    assert_eq!(keys_a, keys_b);
    assert_eq!(keys_a.len(), 1);
    assert_eq!(key_rows(&a).await.len(), 1, "exactly one key was made");

    for (server, token) in [(&a, &on_b.access_token), (&b, &on_a.access_token)] {
        let reply = server.api().me(token).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    verify_with(&keys_a, &on_b.access_token);
}

#[tokio::test]
async fn a_changed_refresh_secret_makes_a_new_key_and_the_old_tokens_stop_verifying() {
    let server = builder().start();
    let session = server.api().signup(&unique_email("rekey")).await;
    let old_kid = header(&session.access_token)["kid"].clone();
    let dir = server.stop();

    let server = builder()
        .env(
            "AUTH_REFRESH_TOKEN_SECRET",
            "a-new-refresh-secret-0123456789abcdef0123",
        )
        .data_dir(dir)
        .start();
    let api = server.api();
    api.me(&session.access_token)
        .await
        .assert_error(401, "invalid_access_token");
    let keys = jwks(&server).await;
    assert_eq!(keys.len(), 1, "the old key is not published: {keys:?}");
    assert_ne!(keys[0]["kid"], old_kid);
    let fresh = api.signup(&unique_email("rekey-new")).await;
    assert_eq!(header(&fresh.access_token)["kid"], keys[0]["kid"]);
    verify_with(&keys, &fresh.access_token);
    assert!(server.log().contains("does not open"), "the log says why");
}

#[tokio::test]
async fn hs256_still_works_with_the_tutorials_configuration_and_publishes_no_key() {
    let server = builder()
        .env("AUTH_ACCESS_TOKEN_ALG", "HS256")
        .env("AUTH_ACCESS_TOKEN_SECRET", ACCESS_SECRET)
        .start();
    let api = server.api();
    let session = api.signup(&unique_email("hs256")).await;

    let head = header(&session.access_token);
    assert_eq!(head["alg"], "HS256");
    let kid = head["kid"]
        .as_str()
        .expect("HS256 tokens name their key too");
    assert!(kid.starts_with("hs256-"), "{kid}");
    assert!(!kid.contains(ACCESS_SECRET) && !ACCESS_SECRET.contains(kid));

    // Another service with the secret verifies as before.
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&["gatepass"]);
    let claims = jsonwebtoken::decode::<Value>(
        &session.access_token,
        &DecodingKey::from_secret(ACCESS_SECRET.as_bytes()).unwrap(),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["sub"], session.id());
    assert_eq!(api.me(&session.access_token).await.status, 200);

    // A token signed with the secret as before keys had ids (no kid) works.
    let unnamed = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(ACCESS_SECRET.as_bytes()).unwrap(),
    )
    .unwrap();
    assert_eq!(api.me(&unnamed).await.status, 200);

    assert!(
        jwks(&server).await.is_empty(),
        "no symmetric key is published"
    );
    assert!(key_rows(&server).await.is_empty());
    let discovery = api.get(DISCOVERY, None).await;
    assert_eq!(discovery.status, 200);
    assert!(discovery.body["jwks_uri"].as_str().unwrap().ends_with(JWKS));
}
