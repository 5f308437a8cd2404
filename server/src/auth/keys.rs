//! Signing keys: Ed25519 key pairs for EdDSA access tokens, their ids, and
//! the seal that keeps a private key unreadable in the database.
//!
//! - A key pair is 32 random bytes (the private seed) and the public point
//!   derived from it (`ed25519-dalek`); jsonwebtoken signs with the seed in
//!   its PKCS#8 form (RFC 8410).
//! - A key's `kid` is its RFC 7638 JWK thumbprint: the same key gets the same
//!   id on every server, and the id says nothing about the private half. The
//!   HS256 key's `kid` is an HMAC of a fixed label under the secret: an id of
//!   the secret that does not reveal it.
//! - A stored private key is sealed with XChaCha20-Poly1305 (the AEAD of
//!   `auth/opaque.rs`) under a key derived from `AUTH_REFRESH_TOKEN_SECRET`
//!   by HMAC-SHA256 with a label of its own (`gatepass signing key seal`), so
//!   it is never the refresh tokens' MAC key or their seal key. The `kid` is
//!   the associated data: a seal copied onto another key's row does not open.
//!   A database copy alone cannot sign tokens; a server whose refresh secret
//!   changed cannot open the stored keys (and makes new ones).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::seal::Seal;
use crate::config::Secret;

type HmacSha256 = Hmac<Sha256>;

/// The JWS name of Ed25519 signatures, as stored and published.
pub const EDDSA: &str = "EdDSA";

/// An Ed25519 key pair.
#[derive(Clone)]
pub struct Ed25519Pair {
    seed: [u8; 32],
    public: [u8; 32],
}

impl Ed25519Pair {
    /// A new key pair from the operating system's random source.
    pub fn generate() -> Ed25519Pair {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        Ed25519Pair::from_seed(seed)
    }

    /// An operator's key: a PKCS#8 private key in PEM (`-----BEGIN PRIVATE
    /// KEY-----`, as `openssl genpkey -algorithm ed25519` writes it). The
    /// error names what is wrong, never the key.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Ed25519Pair, String> {
        use ed25519_dalek::pkcs8::DecodePrivateKey;
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
            .map(|key| Ed25519Pair::from_seed(key.to_bytes()))
            .map_err(|e| format!("not an Ed25519 private key in PKCS#8 PEM: {e}"))
    }

    pub fn from_seed(seed: [u8; 32]) -> Ed25519Pair {
        let public = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        Ed25519Pair { seed, public }
    }

    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    pub fn public(&self) -> &[u8; 32] {
        &self.public
    }

    /// The private key as PKCS#8 DER (RFC 8410), which jsonwebtoken signs with.
    pub fn pkcs8_der(&self) -> Vec<u8> {
        // SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING seed } }
        const PREFIX: [u8; 16] = [
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        let mut der = PREFIX.to_vec();
        der.extend_from_slice(&self.seed);
        der
    }

    pub fn kid(&self) -> String {
        ed25519_kid(&self.public)
    }
}

impl std::fmt::Debug for Ed25519Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ed25519Pair({})", self.kid())
    }
}

/// The JWK `x` of an Ed25519 public key: base64url, no padding.
pub fn jwk_x(public: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(public)
}

/// The RFC 7638 thumbprint of an Ed25519 public key's JWK: SHA-256 of its
/// required members in lexicographic order, base64url.
pub fn ed25519_kid(public: &[u8]) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, jwk_x(public));
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The `kid` of the HS256 key: `hs256-` and 96 bits of an HMAC of a fixed
/// label under the secret (an id, not the secret nor a plain hash of it).
pub fn hs256_kid(secret: &Secret) -> String {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.expose())
        .expect("HMAC takes a key of any length");
    mac.update(b"gatepass hs256 key id\0");
    let tag = mac.finalize().into_bytes();
    format!("hs256-{}", URL_SAFE_NO_PAD.encode(&tag[..12]))
}

/// Seals private keys for storage (see the module's doc).
#[derive(Clone)]
pub struct KeySeal {
    seal: Seal,
}

impl KeySeal {
    /// The seal under `refresh_secret` (`AUTH_REFRESH_TOKEN_SECRET`).
    pub fn new(refresh_secret: &Secret) -> KeySeal {
        KeySeal {
            seal: Seal::new(refresh_secret, b"gatepass signing key seal\0"),
        }
    }

    /// The private seed of the key `kid`, sealed.
    pub fn seal(&self, kid: &str, seed: &[u8; 32]) -> Vec<u8> {
        self.seal.seal(kid, seed)
    }

    /// The key pair sealed for `kid`; `None` if the seal does not open
    /// (changed, sealed for another key or under another secret).
    pub fn unseal(&self, kid: &str, sealed: &[u8]) -> Option<Ed25519Pair> {
        let seed = self.seal.open(kid, sealed)?;
        Some(Ed25519Pair::from_seed(seed.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret {
        Secret::new(s.as_bytes().to_vec())
    }

    #[test]
    fn a_seal_opens_only_for_its_kid_and_secret() {
        let seal = KeySeal::new(&secret("refresh-secret-refresh-secret-refresh"));
        let pair = Ed25519Pair::generate();
        let sealed = seal.seal(&pair.kid(), pair.seed());
        assert!(!sealed
            .windows(32)
            .any(|window| window == pair.seed().as_slice()));
        let opened = seal.unseal(&pair.kid(), &sealed).unwrap();
        assert_eq!(opened.public(), pair.public());
        assert_eq!(opened.seed(), pair.seed());

        assert!(seal.unseal("another-kid", &sealed).is_none());
        let other = KeySeal::new(&secret("another-secret-another-secret-another"));
        assert!(other.unseal(&pair.kid(), &sealed).is_none());
        let mut changed = sealed.clone();
        *changed.last_mut().unwrap() ^= 1;
        assert!(seal.unseal(&pair.kid(), &changed).is_none());
        assert!(seal.unseal(&pair.kid(), &sealed[..10]).is_none());
    }

    #[test]
    fn a_kid_is_the_rfc_7638_thumbprint() {
        // RFC 8037, appendix A.3: the thumbprint of its example public key.
        let public = URL_SAFE_NO_PAD
            .decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
            .unwrap();
        assert_eq!(
            ed25519_kid(&public),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
        // And the public key derived from that appendix's private key.
        let seed: [u8; 32] = URL_SAFE_NO_PAD
            .decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(Ed25519Pair::from_seed(seed).public().as_slice(), public);
    }

    #[test]
    fn an_operators_pem_key_is_read_and_anything_else_refused() {
        // RFC 8410, section 10.3: an Ed25519 private key in PKCS#8 PEM.
        let pem = "-----BEGIN PRIVATE KEY-----\n\
                   MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
                   -----END PRIVATE KEY-----\n";
        let pair = Ed25519Pair::from_pkcs8_pem(pem).unwrap();
        assert_eq!(
            pair.pkcs8_der(),
            base64::engine::general_purpose::STANDARD
                .decode("MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC")
                .unwrap(),
            "the same key written back"
        );
        for bad in ["", "not a key", &pem.replace("MC4C", "MC4D")] {
            let e = Ed25519Pair::from_pkcs8_pem(bad).unwrap_err();
            assert!(e.contains("PKCS#8"), "{e}");
        }
    }

    #[test]
    fn the_hs256_kid_names_the_secret_without_showing_it() {
        let a = secret("test-secret-test-secret-test-secret!");
        let kid = hs256_kid(&a);
        assert!(kid.starts_with("hs256-"), "{kid}");
        assert_eq!(kid, hs256_kid(&a));
        assert_ne!(
            kid,
            hs256_kid(&secret("another-secret-another-secret-another"))
        );
        assert!(!kid.contains("test-secret"));
    }
}
