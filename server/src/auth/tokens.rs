//! Access tokens: short-lived JWTs, signed with Ed25519 (JWS `EdDSA`, the
//! default) or HS256 (`AUTH_ACCESS_TOKEN_ALG`). Every header names its key
//! (`kid`). This is the one place that signs and verifies them.
//!
//! Verification pins the algorithm per key: the `kid` picks the key, and a
//! token whose header names another algorithm than that key's (`none`, HS256
//! with the Ed25519 public key as an HMAC secret, ...) is refused before its
//! signature is looked at; so is a `kid` this server does not know. (An HS256
//! token without a `kid`, as this server issued before keys had ids, is taken
//! to name the HS256 key, and only when HS256 is configured.) Leeway is zero:
//! the configured lifetime is the lifetime.
//!
//! A verified token is remembered (by a hash of the whole token, so a changed
//! byte misses) until its `exp`, so a protected request pays one lookup, not
//! one Ed25519 verification.
//!
//! A JWT cannot be revoked: other services that only check its signature accept
//! it until `exp`. This server's own protected routes also look up the token's
//! session (`sid`), so logout, master-logout and a password reset take effect
//! here at once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::keys::{hs256_kid, jwk_x, Ed25519Pair};
use crate::config::Secret;
use crate::error::{ApiError, ApiResult};

/// How many verified tokens are remembered at most (about 1 KiB each).
pub const VERIFIED_CACHE_CAPACITY: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user's id.
    pub sub: String,
    /// The session's id.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    /// Unique per token, so two tokens issued in the same second differ.
    pub jti: String,
}

/// A public key that may verify a live token, as the JWKS publishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub kid: String,
    /// The Ed25519 public key, base64url (JWK `x`).
    pub x: String,
}

/// An Ed25519 key that verifies but does not sign (next and retired keys).
#[derive(Debug, Clone)]
pub struct VerifyingKey {
    pub kid: String,
    pub public: [u8; 32],
}

struct Signer {
    header: Header,
    key: EncodingKey,
}

struct Verifier {
    alg: Algorithm,
    key: DecodingKey,
    validation: Validation,
}

/// The keys in use at one time; replaced whole when they change.
#[derive(Default)]
struct KeySet {
    signer: Option<Signer>,
    verifiers: HashMap<String, Verifier>,
    /// The key a token without `kid` names (HS256 only).
    unnamed: Option<String>,
    published: Vec<PublicKey>,
}

pub struct AccessTokens {
    algorithm: Algorithm,
    keys: RwLock<Arc<KeySet>>,
    verified: VerifiedCache,
    ttl: Duration,
    issuer: String,
}

impl AccessTokens {
    /// HS256 under `secret`. Fails only for an empty secret, which
    /// configuration already refuses.
    pub fn new(
        secret: &Secret,
        ttl: Duration,
        issuer: &str,
    ) -> jsonwebtoken::errors::Result<AccessTokens> {
        let kid = hs256_kid(secret);
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        let verifier = Verifier {
            alg: Algorithm::HS256,
            key: DecodingKey::from_secret(secret.expose())?,
            validation: validation(Algorithm::HS256, issuer),
        };
        let keys = KeySet {
            signer: Some(Signer {
                header,
                key: EncodingKey::from_secret(secret.expose())?,
            }),
            verifiers: HashMap::from([(kid.clone(), verifier)]),
            unnamed: Some(kid),
            published: Vec::new(),
        };
        Ok(AccessTokens::with_keys(Algorithm::HS256, keys, ttl, issuer))
    }

    /// EdDSA, with no key yet: [`install_ed25519`](Self::install_ed25519)
    /// gives it its keys (from the database, once it is open). Until then
    /// nothing is signed and every token is invalid.
    pub fn ed25519(ttl: Duration, issuer: &str) -> AccessTokens {
        AccessTokens::with_keys(Algorithm::EdDSA, KeySet::default(), ttl, issuer)
    }

    fn with_keys(algorithm: Algorithm, keys: KeySet, ttl: Duration, issuer: &str) -> Self {
        AccessTokens {
            algorithm,
            keys: RwLock::new(Arc::new(keys)),
            verified: VerifiedCache::new(VERIFIED_CACHE_CAPACITY),
            ttl,
            issuer: issuer.to_owned(),
        }
    }

    /// Signs with `current` from now on, and verifies with it and `others`
    /// (published, but not signing). Tokens of keys no longer among them stop
    /// verifying at once, remembered ones too. Only for EdDSA.
    pub fn install_ed25519(
        &self,
        current: &Ed25519Pair,
        others: &[VerifyingKey],
    ) -> Result<(), String> {
        if self.algorithm != Algorithm::EdDSA {
            return Err("Ed25519 keys for a server that signs with HS256".into());
        }
        let mut keys = KeySet::default();
        let kid = current.kid();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.clone());
        keys.signer = Some(Signer {
            header,
            key: EncodingKey::from_ed_der(&current.pkcs8_der()),
        });
        let verifying = std::iter::once((kid, *current.public()))
            .chain(others.iter().map(|k| (k.kid.clone(), k.public)));
        for (kid, public) in verifying {
            if keys.verifiers.contains_key(&kid) {
                continue;
            }
            let x = jwk_x(&public);
            let key = DecodingKey::from_ed_components(&x)
                .map_err(|e| format!("public key {kid}: {e}"))?;
            keys.verifiers.insert(
                kid.clone(),
                Verifier {
                    alg: Algorithm::EdDSA,
                    key,
                    validation: validation(Algorithm::EdDSA, &self.issuer),
                },
            );
            keys.published.push(PublicKey { kid, x });
        }
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
        Ok(())
    }

    fn keys(&self) -> Arc<KeySet> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How tokens are signed.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The `kid` new tokens carry, once there is a key.
    pub fn current_kid(&self) -> Option<String> {
        self.keys()
            .signer
            .as_ref()
            .and_then(|s| s.header.kid.clone())
    }

    /// The public keys that may verify a live token (none for HS256: a
    /// symmetric key is never published).
    pub fn published(&self) -> Vec<PublicKey> {
        self.keys().published.clone()
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A new access token for `user_id`'s session `session_id`.
    pub fn issue(&self, user_id: &str, session_id: &str) -> ApiResult<String> {
        let keys = self.keys();
        let signer = keys
            .signer
            .as_ref()
            .ok_or_else(|| ApiError::internal("no access-token signing key is loaded"))?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = AccessClaims {
            sub: user_id.to_owned(),
            sid: session_id.to_owned(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            iss: self.issuer.clone(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        jsonwebtoken::encode(&signer.header, &claims, &signer.key)
            .map_err(|e| ApiError::internal(format!("signing an access token: {e}")))
    }

    /// The claims of a valid token; expired and otherwise invalid tokens are
    /// told apart so a client knows a refresh will help.
    pub fn verify(&self, token: &str) -> ApiResult<AccessClaims> {
        let keys = self.keys();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let digest = VerifiedCache::digest(token);
        if let Some(claims) = self.verified.get(&digest, now, &keys) {
            return Ok(claims);
        }
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| ApiError::InvalidAccessToken)?;
        let kid = header
            .kid
            .as_deref()
            .or(keys.unnamed.as_deref())
            .ok_or(ApiError::InvalidAccessToken)?;
        let verifier = keys
            .verifiers
            .get(kid)
            .ok_or(ApiError::InvalidAccessToken)?;
        if header.alg != verifier.alg {
            return Err(ApiError::InvalidAccessToken);
        }
        let claims =
            jsonwebtoken::decode::<AccessClaims>(token, &verifier.key, &verifier.validation)
                .map(|data| data.claims)
                .map_err(|e| match e.kind() {
                    ErrorKind::ExpiredSignature => ApiError::ExpiredAccessToken,
                    _ => ApiError::InvalidAccessToken,
                })?;
        self.verified.put(digest, kid, &claims, now);
        Ok(claims)
    }
}

fn validation(alg: Algorithm, issuer: &str) -> Validation {
    let mut validation = Validation::new(alg);
    validation.leeway = 0;
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
    validation
}

/// Tokens verified lately, by the SHA-256 of the whole token: a hit skips the
/// signature check, and only while the token is unexpired and its key still
/// verifies. At most `capacity` entries: when full, the expired ones go, and
/// if that is not enough, all of them.
struct VerifiedCache {
    entries: RwLock<HashMap<[u8; 32], Verified>>,
    capacity: usize,
}

struct Verified {
    kid: String,
    claims: AccessClaims,
}

impl VerifiedCache {
    fn new(capacity: usize) -> Self {
        VerifiedCache {
            entries: RwLock::new(HashMap::new()),
            capacity,
        }
    }

    fn digest(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    fn get(&self, digest: &[u8; 32], now: i64, keys: &KeySet) -> Option<AccessClaims> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(digest)?;
        (now < entry.claims.exp && keys.verifiers.contains_key(&entry.kid))
            .then(|| entry.claims.clone())
    }

    fn put(&self, digest: [u8; 32], kid: &str, claims: &AccessClaims, now: i64) {
        if claims.exp <= now || self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            entries.retain(|_, entry| entry.claims.exp > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(
            digest,
            Verified {
                kid: kid.to_owned(),
                claims: claims.clone(),
            },
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.read().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

    const SECRET: &str = "test-secret-test-secret-test-secret!";

    fn secret(s: &str) -> Secret {
        Secret::new(s.as_bytes().to_vec())
    }

    fn tokens() -> AccessTokens {
        AccessTokens::new(&secret(SECRET), Duration::from_secs(120), "gatepass").unwrap()
    }

    /// An EdDSA service with a fresh current key (and the key).
    fn ed_tokens() -> (AccessTokens, Ed25519Pair) {
        let t = AccessTokens::ed25519(Duration::from_secs(120), "gatepass");
        let pair = Ed25519Pair::generate();
        t.install_ed25519(&pair, &[]).unwrap();
        (t, pair)
    }

    fn claims(exp_in: i64) -> AccessClaims {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        AccessClaims {
            sub: "user-1".into(),
            sid: "session-1".into(),
            iat: now,
            exp: now + exp_in,
            iss: "gatepass".into(),
            jti: uuid::Uuid::new_v4().to_string(),
        }
    }

    fn header(token: &str) -> serde_json::Value {
        let first = token.split('.').next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(first).unwrap()).unwrap()
    }

    /// `token` with its header replaced by `header` (the signature kept).
    fn with_header(token: &str, header: &serde_json::Value) -> String {
        let rest = token.split_once('.').unwrap().1;
        format!(
            "{}.{rest}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap())
        )
    }

    fn invalid(result: ApiResult<AccessClaims>) -> bool {
        matches!(result, Err(ApiError::InvalidAccessToken))
    }

    #[test]
    fn issued_tokens_verify_with_their_claims() {
        for t in [tokens(), ed_tokens().0] {
            let token = t.issue("user-1", "session-1").unwrap();
            let claims = t.verify(&token).unwrap();
            assert_eq!(claims.sub, "user-1");
            assert_eq!(claims.sid, "session-1");
            assert_eq!(claims.iss, "gatepass");
            assert_eq!(claims.exp - claims.iat, 120);
            assert_ne!(
                t.issue("user-1", "session-1").unwrap(),
                token,
                "jti differs"
            );
        }
    }

    #[test]
    fn every_header_names_its_key() {
        let hs = tokens();
        let token = hs.issue("u", "s").unwrap();
        assert_eq!(header(&token)["alg"], "HS256");
        assert_eq!(header(&token)["kid"], hs256_kid(&secret(SECRET)));
        assert!(
            hs.published().is_empty(),
            "a symmetric key is never published"
        );

        let (ed, pair) = ed_tokens();
        let token = ed.issue("u", "s").unwrap();
        assert_eq!(header(&token)["alg"], "EdDSA");
        assert_eq!(header(&token)["kid"], pair.kid());
        assert_eq!(ed.current_kid(), Some(pair.kid()));
        assert_eq!(
            ed.published(),
            [PublicKey {
                kid: pair.kid(),
                x: jwk_x(pair.public())
            }]
        );
    }

    #[test]
    fn an_eddsa_token_verifies_with_the_published_key_alone() {
        let (ed, _) = ed_tokens();
        let token = ed.issue("u", "s").unwrap();
        let published = &ed.published()[0];
        let key = DecodingKey::from_ed_components(&published.x).unwrap();
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&["gatepass"]);
        let data = jsonwebtoken::decode::<AccessClaims>(&token, &key, &validation).unwrap();
        assert_eq!(data.claims.sub, "u");
    }

    #[test]
    fn without_a_key_nothing_is_signed_or_verified() {
        let t = AccessTokens::ed25519(Duration::from_secs(120), "gatepass");
        assert!(t.issue("u", "s").is_err());
        let (other, _) = ed_tokens();
        assert!(invalid(t.verify(&other.issue("u", "s").unwrap())));
        assert!(t.published().is_empty());
        assert!(tokens()
            .install_ed25519(&Ed25519Pair::generate(), &[])
            .is_err());
    }

    #[test]
    fn wrong_secret_and_tampering_are_invalid() {
        let token = tokens().issue("user-1", "session-1").unwrap();
        let other = AccessTokens::new(
            &secret("another-secret-another-secret-another"),
            Duration::from_secs(120),
            "gatepass",
        )
        .unwrap();
        assert!(invalid(other.verify(&token)));
        // Even without the kid that tells the keys apart.
        let mut unnamed = header(&token);
        unnamed.as_object_mut().unwrap().remove("kid");
        assert!(invalid(other.verify(&with_header(&token, &unnamed))));

        for t in [tokens(), ed_tokens().0] {
            let token = t.issue("user-1", "session-1").unwrap();
            // Verified (and so remembered) first: a changed token must miss.
            t.verify(&token).unwrap();
            // Swap the payload for one naming another user, keeping the signature.
            let parts: Vec<&str> = token.split('.').collect();
            let mut claims: serde_json::Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
            claims["sub"] = "user-2".into();
            let forged = format!(
                "{}.{}.{}",
                parts[0],
                URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap()),
                parts[2]
            );
            assert!(invalid(t.verify(&forged)));
            assert!(invalid(t.verify("garbage")));
            assert!(invalid(t.verify("")));
        }
    }

    #[test]
    fn an_hs256_token_without_kid_names_the_hs256_key() {
        // As this server issued them before keys had ids.
        let t = tokens();
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(60),
            &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(t.verify(&token).unwrap().sub, "user-1");
    }

    #[test]
    fn alg_none_is_refused() {
        for t in [tokens(), ed_tokens().0] {
            let token = t.issue("user-1", "session-1").unwrap();
            let payload = token.split('.').nth(1).unwrap();
            let kid = header(&token)["kid"].clone();
            for header in [
                serde_json::json!({"alg": "none", "typ": "JWT"}),
                serde_json::json!({"alg": "none", "typ": "JWT", "kid": kid}),
            ] {
                let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
                assert!(invalid(t.verify(&format!("{header}.{payload}."))));
            }
        }
    }

    #[test]
    fn the_public_key_as_an_hmac_secret_is_refused() {
        // The classic confusion: HS256 under the published Ed25519 key, with
        // that key's kid, in both encodings a confused verifier might use.
        let (ed, pair) = ed_tokens();
        let x = jwk_x(pair.public());
        for hmac_key in [pair.public().to_vec(), x.as_bytes().to_vec()] {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(pair.kid());
            let forged = jsonwebtoken::encode(
                &header,
                &claims(60),
                &EncodingKey::from_secret(&hmac_key).unwrap(),
            )
            .unwrap();
            assert!(invalid(ed.verify(&forged)));
        }
        // An EdDSA token whose header claims HS256 keeps its signature but
        // fails the pin.
        let token = ed.issue("u", "s").unwrap();
        let mut named = header(&token);
        named["alg"] = "HS256".into();
        assert!(invalid(ed.verify(&with_header(&token, &named))));
    }

    #[test]
    fn an_unknown_kid_is_refused() {
        let (ed, _) = ed_tokens();
        let token = ed.issue("u", "s").unwrap();
        let mut renamed = header(&token);
        renamed["kid"] = "someone-elses-key".into();
        assert!(invalid(ed.verify(&with_header(&token, &renamed))));
        let mut unnamed = header(&token);
        unnamed.as_object_mut().unwrap().remove("kid");
        assert!(
            invalid(ed.verify(&with_header(&token, &unnamed))),
            "EdDSA tokens must name their key"
        );

        // Another server's Ed25519 key, unknown here.
        let (other, _) = ed_tokens();
        assert!(invalid(ed.verify(&other.issue("u", "s").unwrap())));

        let hs = tokens();
        let token = hs.issue("u", "s").unwrap();
        let mut renamed = header(&token);
        renamed["kid"] = "hs256-somethingelse".into();
        assert!(invalid(hs.verify(&with_header(&token, &renamed))));
    }

    #[test]
    fn an_hs256_token_under_eddsa_and_an_eddsa_token_under_hs256_are_refused() {
        let (ed, _) = ed_tokens();
        let hs = tokens();
        assert!(invalid(ed.verify(&hs.issue("u", "s").unwrap())));
        assert!(invalid(hs.verify(&ed.issue("u", "s").unwrap())));
        // Even an HS256 token under the very secret, with no kid.
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(60),
            &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        )
        .unwrap();
        assert!(invalid(ed.verify(&token)));
    }

    #[test]
    fn other_keys_verify_and_a_key_removed_stops_verifying_at_once() {
        let (ed, old) = ed_tokens();
        let old_token = ed.issue("u", "s").unwrap();
        ed.verify(&old_token).unwrap();
        let new = Ed25519Pair::generate();
        let retired = VerifyingKey {
            kid: old.kid(),
            public: *old.public(),
        };
        ed.install_ed25519(&new, &[retired]).unwrap();
        assert_eq!(header(&ed.issue("u", "s").unwrap())["kid"], new.kid());
        assert_eq!(ed.verify(&old_token).unwrap().sub, "u");
        assert_eq!(ed.published().len(), 2);

        // The old key gone: its token is refused, though it was remembered.
        ed.install_ed25519(&new, &[]).unwrap();
        assert!(invalid(ed.verify(&old_token)));
    }

    #[test]
    fn expired_tokens_are_told_apart() {
        let t = tokens();
        let keys = t.keys();
        let signer = keys.signer.as_ref().unwrap();
        let token = jsonwebtoken::encode(&signer.header, &claims(-1), &signer.key).unwrap();
        assert!(matches!(
            t.verify(&token),
            Err(ApiError::ExpiredAccessToken)
        ));
    }

    #[test]
    fn wrong_issuer_is_invalid() {
        let other =
            AccessTokens::new(&secret(SECRET), Duration::from_secs(120), "someone-else").unwrap();
        let token = other.issue("u", "s").unwrap();
        assert!(invalid(tokens().verify(&token)));
    }

    // --- the cache of verified tokens ---------------------------------------

    #[test]
    fn a_verified_token_is_remembered_and_a_changed_one_misses() {
        let (ed, _) = ed_tokens();
        let token = ed.issue("u", "s").unwrap();
        assert_eq!(ed.verified.len(), 0);
        ed.verify(&token).unwrap();
        assert_eq!(ed.verified.len(), 1);
        let keys = ed.keys();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert!(ed
            .verified
            .get(&VerifiedCache::digest(&token), now, &keys)
            .is_some());
        // One changed character of the signature: no hit, and refused.
        let mut tampered = token.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(ed
            .verified
            .get(&VerifiedCache::digest(&tampered), now, &keys)
            .is_none());
        assert!(invalid(ed.verify(&tampered)));
        assert_eq!(ed.verified.len(), 1, "a refused token is not remembered");
    }

    #[test]
    fn a_remembered_token_never_outlives_its_exp() {
        let (ed, _) = ed_tokens();
        let keys = ed.keys();
        let cache = VerifiedCache::new(8);
        let c = claims(10);
        let digest = VerifiedCache::digest("a token");
        let now = c.iat;
        cache.put(digest, &ed.current_kid().unwrap(), &c, now);
        assert!(cache.get(&digest, now, &keys).is_some());
        assert!(cache.get(&digest, c.exp - 1, &keys).is_some());
        assert!(cache.get(&digest, c.exp, &keys).is_none(), "gone at exp");
        assert!(cache.get(&digest, c.exp + 3600, &keys).is_none());
        // An already expired token is not stored at all.
        cache.put(VerifiedCache::digest("old"), "k", &c, c.exp);
        assert_eq!(cache.len(), 1);

        // Through the service: a token past its exp is expired, not a hit.
        let signer = keys.signer.as_ref().unwrap();
        let short = jsonwebtoken::encode(&signer.header, &claims(1), &signer.key).unwrap();
        ed.verify(&short).unwrap();
        std::thread::sleep(Duration::from_millis(2100));
        assert!(matches!(
            ed.verify(&short),
            Err(ApiError::ExpiredAccessToken)
        ));
    }

    #[test]
    fn the_cache_is_bounded() {
        let (ed, _) = ed_tokens();
        let kid = ed.current_kid().unwrap();
        let cache = VerifiedCache::new(4);
        let c = claims(60);
        for i in 0..10 {
            cache.put(VerifiedCache::digest(&i.to_string()), &kid, &c, c.iat);
            assert!(cache.len() <= 4);
        }
        // Expired entries make room before live ones are dropped.
        let cache = VerifiedCache::new(2);
        let soon = claims(5);
        cache.put(VerifiedCache::digest("soon"), &kid, &soon, soon.iat);
        cache.put(VerifiedCache::digest("live"), &kid, &c, c.iat);
        cache.put(VerifiedCache::digest("new"), &kid, &c, soon.exp);
        assert_eq!(cache.len(), 2);
        let keys = ed.keys();
        assert!(cache
            .get(&VerifiedCache::digest("live"), soon.exp, &keys)
            .is_some());
    }
}
