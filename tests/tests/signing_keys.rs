//! Signing keys (issue 16): a new installation signs access tokens with
//! Ed25519 and names the key in every header; the key set and the discovery
//! document let another service verify a token with the public key alone;
//! servers on one database share the keys, and rotate them (by command or on
//! schedule) without signing anybody out; a key retired at once stops
//! verifying everywhere; HS256 (the tutorial's configuration) keeps working
//! and publishes no key. On PostgreSQL too when the suite runs on it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use gatepass_tests::cli::require_tools;
use gatepass_tests::{binary, unique_email, wait_for, Server, ServerBuilder};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{ChildStdin, ChildStdout};

const JWKS: &str = "/.well-known/jwks.json";
const DISCOVERY: &str = "/.well-known/openid-configuration";
/// `GATEPASS_PUBLIC_URL`'s default: the issuer of the tokens.
const ISSUER: &str = "http://localhost:8000";
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
    Server::builder().beside_others(REFRESH_SECRET)
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
    validation.set_issuer(&[ISSUER]);
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

    // The current key and the next one, published before it signs.
    let keys = jwks(&server).await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    let key = keys
        .iter()
        .find(|k| k["kid"] == kid)
        .expect("the signing key is published");
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
    assert_eq!(fetched.body["keys"], Value::Array(keys.clone()));
    assert_eq!(
        claims["iss"], issuer,
        "the tokens' issuer is the discovery's"
    );

    // Two keys, stored with their private halves sealed (nonce, seed, tag),
    // and the same key signing after a restart.
    assert_eq!(
        server
            .sql_column(
                "SELECT state FROM signing_keys \
                 WHERE length(sealed_private_key) = 72 AND length(public_key) = 32 \
                 ORDER BY state"
            )
            .await,
        ["current", "next"]
    );
    assert_eq!(
        server
            .sql_column("SELECT kid FROM signing_keys WHERE state = 'current'")
            .await,
        [kid]
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
    assert_eq!(keys_a.len(), 2, "the current and the next key");
    assert_eq!(
        key_rows(&a).await.len(),
        2,
        "exactly one current and one next key were made"
    );

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
    assert_eq!(keys.len(), 2, "a new current and next key: {keys:?}");
    assert!(
        keys.iter().all(|k| k["kid"] != old_kid),
        "the old key is not published: {keys:?}"
    );
    let fresh = api.signup(&unique_email("rekey-new")).await;
    let fresh_kid = header(&fresh.access_token)["kid"].clone();
    assert!(keys.iter().any(|k| k["kid"] == fresh_kid));
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
    validation.set_issuer(&[ISSUER]);
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

/// Runs `gatepass-server keys ARGS` on `server`'s database, as an operator
/// would beside the running servers.
fn keys_command(server: &Server, args: &[&str]) -> Output {
    keys_command_with(server, &[], args)
}

/// The same with more settings (`AUTH_REFRESH_TOKEN_SECRET` is the servers'
/// unless given).
fn keys_command_with(server: &Server, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(binary("gatepass-server"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GATEPASS_DATA_DIR", server.data_dir())
        .env("DATABASE_URL", server.database_url())
        .env("AUTH_REFRESH_TOKEN_SECRET", REFRESH_SECRET)
        .env("GATEPASS_LOG", "warn")
        .current_dir(server.data_dir())
        .stdin(Stdio::null())
        .arg("keys")
        .args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run gatepass-server keys")
}

/// `keys ARGS --json`, which must succeed, parsed.
fn keys_json(server: &Server, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let out = keys_command(server, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "keys {args:?}: {stderr}");
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The kid of the key that signs on `server` now: that of a fresh access
/// token (from a refresh of `refresh_token`, which it returns rotated).
async fn signing_kid(server: &Server, refresh_token: &mut String) -> String {
    let reply = server.api().reauth(refresh_token).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    *refresh_token = reply.refresh_token().expect("a rotated refresh token");
    header(&reply.access_token().expect("an access token"))["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Waits until `server` signs with `kid` (it reads the keys every 2 s).
async fn until_signing_with(server: &Server, refresh_token: &mut String, kid: &str) {
    let wanted = kid.to_owned();
    let mut token = refresh_token.clone();
    wait_for(
        &format!("{} to sign with {wanted}", server.base_url),
        Duration::from_secs(30),
        || {
            let mut current = token.clone();
            let wanted = wanted.clone();
            async move {
                let kid = signing_kid(server, &mut current).await;
                Some(current).filter(|_| kid == wanted)
            }
        },
    )
    .await
    .clone_into(&mut token);
    *refresh_token = token;
}

#[tokio::test]
async fn a_rotation_by_command_signs_nobody_out_and_a_retired_key_stops_verifying_everywhere() {
    let a = builder().start();
    let b = builder().database_of(&a).start();
    let alice = a.api().signup(&unique_email("rotate-a")).await;
    let bob = b.api().signup(&unique_email("rotate-b")).await;
    let old_kid = header(&alice.access_token)["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = keys_json(&a, &["list"]);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let next_kid = listed
        .iter()
        .find(|k| k["state"] == "next")
        .expect("a next key")["kid"]
        .as_str()
        .unwrap()
        .to_owned();

    // By command, beside two running servers: the published next key signs.
    let rotation = keys_json(&a, &["rotate"]);
    assert_eq!(rotation["rotated"], true, "{rotation}");
    assert_eq!(rotation["retired"], old_kid);
    assert_eq!(rotation["current"], next_kid);
    let new_next = rotation["next"].as_str().unwrap().to_owned();
    let (mut alice_refresh, mut bob_refresh) =
        (alice.refresh_token.clone(), bob.refresh_token.clone());
    until_signing_with(&a, &mut alice_refresh, &next_kid).await;
    until_signing_with(&b, &mut bob_refresh, &next_kid).await;

    // Nobody is signed out: the old tokens still work on both servers and
    // verify with the published keys, which now include the new next key.
    for server in [&a, &b] {
        for token in [&alice.access_token, &bob.access_token] {
            let reply = server.api().me(token).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
        }
        let keys = jwks(server).await;
        let kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert_eq!(kids.len(), 3, "{kids:?}");
        for kid in [&old_kid, &next_kid, &new_next] {
            assert!(kids.contains(&kid.as_str()), "{kid} not in {kids:?}");
        }
        verify_with(&keys, &alice.access_token);
    }

    // A leak: the old key is retired at once. Its tokens are refused on
    // both servers within seconds; the sessions refresh and carry on.
    let out = keys_command(&b, &["retire", &old_kid]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("at once") && said.contains("refresh"),
        "says what it costs: {said}"
    );
    for server in [&a, &b] {
        wait_for(
            "the retired key's tokens to be refused",
            Duration::from_secs(30),
            || async {
                let reply = server.api().me(&alice.access_token).await;
                (reply.status == 401).then_some(reply)
            },
        )
        .await
        .assert_error(401, "invalid_access_token");
        assert!(jwks(server).await.iter().all(|k| k["kid"] != old_kid));
    }
    assert_eq!(signing_kid(&a, &mut alice_refresh).await, next_kid);
    assert_eq!(signing_kid(&b, &mut bob_refresh).await, next_kid);

    // A kid that names no key: exit 2, saying so.
    let out = keys_command(&a, &["retire", "no-such-kid"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no signing key no-such-kid"));
}

#[tokio::test]
async fn the_schedule_rotates_once_per_period_with_two_servers_and_publishes_ahead() {
    // Rotation every 4 s, a key set cached for 1 s: each key must be
    // published at least 1 s before it signs, and of the two servers that
    // both find a rotation due, only one rotates.
    let scheduled = || {
        builder()
            .env("AUTH_SIGNING_KEY_ROTATION", "4s")
            .env("AUTH_JWKS_MAX_AGE", "1s")
            .env("AUTH_ACCESS_TOKEN_EXPIRY", "60s")
    };
    let a = scheduled().start();
    let b = scheduled().database_of(&a).start();
    let session = a.api().signup(&unique_email("schedule")).await;
    let first_kid = header(&session.access_token)["kid"]
        .as_str()
        .unwrap()
        .to_owned();

    let keys = wait_for(
        "two scheduled rotations",
        Duration::from_secs(40),
        || async {
            let keys = keys_json(&a, &["list"]);
            let activated = keys
                .as_array()
                .unwrap()
                .iter()
                .filter(|k| !k["signingSince"].is_null())
                .count();
            (activated >= 3).then_some(keys)
        },
    )
    .await;
    let keys = keys.as_array().unwrap();
    // Stored times: Unix milliseconds.
    let column = |query: &'static str| async {
        a.sql_column(query)
            .await
            .iter()
            .map(|n| n.parse::<i64>().unwrap())
            .collect::<Vec<i64>>()
    };
    let activated = column(
        "SELECT activated_at FROM signing_keys WHERE activated_at IS NOT NULL ORDER BY activated_at",
    )
    .await;
    let published = column(
        "SELECT created_at FROM signing_keys WHERE activated_at IS NOT NULL ORDER BY activated_at",
    )
    .await;
    let activations: Vec<(i64, i64)> = activated.into_iter().zip(published).collect();
    for pair in activations.windows(2) {
        let ((earlier, _), (later, published)) = (pair[0], pair[1]);
        assert!(
            later - earlier >= 4_000,
            "one rotation per period: {activations:?}"
        );
        assert!(
            later - published >= 1_000,
            "published a cache lifetime ahead: {activations:?}"
        );
    }
    assert_eq!(
        keys.iter().filter(|k| k["state"] == "current").count(),
        1,
        "{keys:?}"
    );
    assert_eq!(keys.iter().filter(|k| k["state"] == "next").count(), 1);

    // The first key has been rotated away; its token still works on both
    // servers (it lives 60 s), and new tokens are of another key.
    assert!(keys
        .iter()
        .any(|k| k["kid"] == first_kid && k["state"] == "retired"));
    for server in [&a, &b] {
        let reply = server.api().me(&session.access_token).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let mut refresh = session.refresh_token.clone();
    assert_ne!(signing_kid(&b, &mut refresh).await, first_kid);
    let reply = a.api().get(JWKS, None).await;
    assert_eq!(reply.header("Cache-Control"), Some("public, max-age=1"));
}

#[tokio::test]
async fn keys_commands_refuse_what_they_cannot_do() {
    let server = builder()
        .env("AUTH_ACCESS_TOKEN_ALG", "HS256")
        .env("AUTH_ACCESS_TOKEN_SECRET", ACCESS_SECRET)
        .start();
    let out = keys_command_with(
        &server,
        &[
            ("AUTH_ACCESS_TOKEN_ALG", "HS256"),
            ("AUTH_ACCESS_TOKEN_SECRET", ACCESS_SECRET),
        ],
        &["rotate"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HS256"));
    assert!(key_rows(&server).await.is_empty(), "no key was made");

    // Under another refresh secret, a command refuses rather than replace
    // the key that every server signs with.
    let eddsa = builder().start();
    let before = keys_json(&eddsa, &["list"]);
    let out = keys_command_with(
        &eddsa,
        &[(
            "AUTH_REFRESH_TOKEN_SECRET",
            "another-refresh-secret-0123456789abcdef",
        )],
        &["rotate"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AUTH_REFRESH_TOKEN_SECRET"));
    assert_eq!(keys_json(&eddsa, &["list"]), before, "nothing changed");
}

/// `tests/web/verify-token.mjs`: a service on Node that verifies tokens with
/// `jose`, knowing only the issuer's URL; one key set for its whole run.
struct JoseVerifier {
    _node: tokio::process::Child,
    stdin: ChildStdin,
    answers: Lines<BufReader<ChildStdout>>,
}

impl JoseVerifier {
    /// `None` (skipped loudly; a failure in CI) without Node or `jose`.
    fn start(issuer: &str) -> Option<JoseVerifier> {
        let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
        if !require_tools("jose verifier", &[("node", "nodejs")]) {
            return None;
        }
        if !web.join("node_modules/jose/package.json").is_file() {
            let message = format!("the jose verifier needs `npm ci` in {}", web.display());
            assert!(std::env::var_os("CI").is_none(), "{message} (.ci/run)");
            eprintln!("\n!!!!!!!! SKIPPED: {message} !!!!!!!!\n");
            return None;
        }
        let mut node = tokio::process::Command::new("node")
            .arg(web.join("verify-token.mjs"))
            .arg(issuer)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start node");
        Some(JoseVerifier {
            stdin: node.stdin.take().unwrap(),
            answers: BufReader::new(node.stdout.take().unwrap()).lines(),
            _node: node,
        })
    }

    /// The verifier's answer for `token`.
    async fn verify(&mut self, token: &str) -> Value {
        self.stdin
            .write_all(format!("{token}\n").as_bytes())
            .await
            .unwrap();
        let line = tokio::time::timeout(Duration::from_secs(30), self.answers.next_line())
            .await
            .expect("node answers")
            .unwrap()
            .expect("node is running");
        serde_json::from_str(&line).unwrap()
    }
}

/// A port that was free a moment ago, for a server whose public URL (its
/// issuer) must name its own port before it starts.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_third_party_jose_verifier_finds_the_keys_from_the_issuer_and_follows_rotations() {
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let server = builder()
        .env("ROCKET_PORT", port.to_string())
        .env("GATEPASS_PUBLIC_URL", &issuer)
        .env("AUTH_JWKS_MAX_AGE", "1s")
        .start();
    let Some(mut verifier) = JoseVerifier::start(&issuer) else {
        return;
    };
    let session = server.api().signup(&unique_email("jose")).await;
    let old_kid = header(&session.access_token)["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = verifier.verify(&session.access_token).await;
    assert_eq!(
        answer["ok"],
        true,
        "{answer} {}",
        payload(&session.access_token)
    );
    assert_eq!(answer["sub"], session.id());
    assert_eq!(answer["kid"], old_kid);
    // A forged token is refused: the payload changed under the signature.
    let forged = {
        let parts: Vec<&str> = session.access_token.split('.').collect();
        let mut claims = payload(&session.access_token);
        claims["sub"] = Value::from("someone-else");
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        format!("{}.{body}.{}", parts[0], parts[2])
    };
    assert_eq!(verifier.verify(&forged).await["ok"], false);

    // A rotation: the same verifier, with the key set it fetched before,
    // accepts the new key's tokens (published ahead as the next key) and
    // the old key's unexpired ones.
    let rotation = keys_json(&server, &["rotate"]);
    let new_kid = rotation["current"].as_str().unwrap().to_owned();
    let mut refresh = session.refresh_token.clone();
    until_signing_with(&server, &mut refresh, &new_kid).await;
    let fresh = server.api().reauth(&refresh).await;
    let fresh_token = fresh.access_token().unwrap();
    assert_eq!(header(&fresh_token)["kid"], new_kid.as_str());
    let answer = verifier.verify(&fresh_token).await;
    assert_eq!(
        (&answer["ok"], &answer["kid"]),
        (&Value::from(true), &Value::from(new_kid.clone())),
        "{answer}"
    );
    assert_eq!(verifier.verify(&session.access_token).await["ok"], true);

    // The old key retired at once: once its cached key set is stale (1 s
    // here), the verifier refuses the old token and still takes the new one.
    let out = keys_command(&server, &["retire", &old_kid]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut refused = Value::Null;
    for _ in 0..300 {
        refused = verifier.verify(&session.access_token).await;
        if refused["ok"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        refused["ok"], false,
        "the retired key's token is refused: {refused}"
    );
    assert_eq!(refused["code"], "ERR_JWKS_NO_MATCHING_KEY", "{refused}");
    assert_eq!(verifier.verify(&fresh_token).await["ok"], true);
}

#[tokio::test]
async fn an_operators_own_key_is_imported_as_the_next_key_and_signs_after_a_rotation() {
    let server = builder().start();
    let session = server.api().signup(&unique_email("import")).await;
    // RFC 8410, section 10.3: an Ed25519 private key in PKCS#8 PEM.
    let pem = "-----BEGIN PRIVATE KEY-----\n\
               MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
               -----END PRIVATE KEY-----\n";
    let file = server.data_dir().join("operator-key.pem");
    std::fs::write(&file, pem).unwrap();

    let imported = keys_json(&server, &["import", file.to_str().unwrap()]);
    let kid = imported["next"].as_str().expect("its kid").to_owned();
    let published = wait_for(
        "the imported key in the key set",
        Duration::from_secs(30),
        || async {
            let keys = jwks(&server).await;
            keys.iter()
                .any(|k| k["kid"] == kid.as_str())
                .then_some(keys)
        },
    )
    .await;
    assert_eq!(
        published.len(),
        2,
        "the current key and the imported next key: {published:?}"
    );

    let rotation = keys_json(&server, &["rotate"]);
    assert_eq!(rotation["current"], kid.as_str());
    let mut refresh = session.refresh_token.clone();
    until_signing_with(&server, &mut refresh, &kid).await;
    let token = server.api().reauth(&refresh).await.access_token().unwrap();
    verify_with(&jwks(&server).await, &token);

    // A file that holds no key: exit 2, naming the file, changing nothing.
    std::fs::write(
        &file,
        "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let before = keys_json(&server, &["list"]);
    let out = keys_command(&server, &["import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("operator-key.pem") && said.contains("PKCS#8"),
        "{said}"
    );
    assert_eq!(keys_json(&server, &["list"]), before);
}
