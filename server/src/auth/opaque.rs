//! Opaque tokens (refresh and reset): 256 random bits, base64url, stored only
//! as HMAC-SHA256 under the server's refresh secret, so a copy of the database
//! cannot be turned into working tokens.
//!
//! A refresh token also names its session, `<session id>.<secret>`, so that a
//! rotation finds the session by primary key instead of through an index on
//! the hash (a random page written by every rotation). The session id is no
//! secret (the access token's `sid` carries it) and the MAC covers it.
//!
//! A session's current refresh token is also kept *sealed* (XOR with an
//! HMAC-derived pad keyed by the server secret), so that a client presenting the
//! previous token inside the grace window can be handed the current cookie
//! rather than a stale one; a database copy alone cannot unseal it.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::config::Secret;

type HmacSha256 = Hmac<Sha256>;

/// What a token is for; part of the MAC so a token of one kind never matches a
/// hash of another.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    Refresh,
    Reset,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Refresh => b"gatepass refresh token\0",
            Purpose::Reset => b"gatepass reset token\0",
        }
    }
}

#[derive(Clone)]
pub struct OpaqueTokens {
    key: Secret,
}

impl OpaqueTokens {
    pub fn new(key: Secret) -> Self {
        OpaqueTokens { key }
    }

    /// A new token: 32 random bytes, base64url without padding (43 characters).
    pub fn generate() -> String {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A new refresh token for the session `session_id`.
    pub fn generate_refresh(session_id: &str) -> String {
        format!("{session_id}.{}", Self::generate())
    }

    /// The session a refresh token names; `None` for a token issued before
    /// refresh tokens named their session (or for garbage). Only a UUID is a
    /// session id: whatever else a client sends (a NUL byte, say) never
    /// reaches a query.
    pub fn refresh_session_id(token: &str) -> Option<&str> {
        token
            .split_once('.')
            .map(|(session_id, _)| session_id)
            .filter(|session_id| uuid::Uuid::try_parse(session_id).is_ok())
    }

    /// The only form in which a token is stored.
    pub fn hash(&self, purpose: Purpose, token: &str) -> Vec<u8> {
        self.mac(&[purpose.label(), token.as_bytes()])
    }

    /// Seals `token` for storage beside its hash.
    pub fn seal(&self, token: &str, token_hash: &[u8]) -> Vec<u8> {
        let pad = self.pad(token_hash, token.len());
        token.bytes().zip(pad).map(|(t, p)| t ^ p).collect()
    }

    /// The token that [`seal`](Self::seal) sealed, if the seal is intact.
    pub fn unseal(&self, sealed: &[u8], token_hash: &[u8]) -> Option<String> {
        let pad = self.pad(token_hash, sealed.len());
        let bytes: Vec<u8> = sealed.iter().zip(pad).map(|(s, p)| s ^ p).collect();
        let token = String::from_utf8(bytes).ok()?;
        // The hash doubles as an integrity check on the seal.
        (self.hash(Purpose::Refresh, &token) == token_hash).then_some(token)
    }

    fn pad(&self, token_hash: &[u8], len: usize) -> Vec<u8> {
        (0u8..)
            .flat_map(|block| self.mac(&[b"gatepass seal\0", token_hash, &[block]]))
            .take(len)
            .collect()
    }

    fn mac(&self, parts: &[&[u8]]) -> Vec<u8> {
        let mut mac =
            HmacSha256::new_from_slice(self.key.expose()).expect("HMAC accepts keys of any length");
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> OpaqueTokens {
        OpaqueTokens::new(Secret::new(b"0123456789abcdef0123456789abcdef".to_vec()))
    }

    #[test]
    fn tokens_are_256_random_bits_in_base64url() {
        let a = OpaqueTokens::generate();
        let b = OpaqueTokens::generate();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn refresh_tokens_name_their_session() {
        let token = OpaqueTokens::generate_refresh("5b1c6e0e-0000-4000-8000-000000000000");
        assert_eq!(
            OpaqueTokens::refresh_session_id(&token),
            Some("5b1c6e0e-0000-4000-8000-000000000000")
        );
        assert_eq!(token.len(), 36 + 1 + 43);
        // Tokens from before, and garbage, name none.
        assert_eq!(
            OpaqueTokens::refresh_session_id(&OpaqueTokens::generate()),
            None
        );
        assert_eq!(OpaqueTokens::refresh_session_id(".abc"), None);
        assert_eq!(OpaqueTokens::refresh_session_id("abc\0def.xyz"), None);
    }

    #[test]
    fn hashes_depend_on_key_and_purpose() {
        let t = tokens();
        let other = OpaqueTokens::new(Secret::new(b"another-key-another-key-another-k".to_vec()));
        let token = OpaqueTokens::generate();
        assert_eq!(
            t.hash(Purpose::Refresh, &token),
            t.hash(Purpose::Refresh, &token)
        );
        assert_ne!(
            t.hash(Purpose::Refresh, &token),
            t.hash(Purpose::Reset, &token)
        );
        assert_ne!(
            t.hash(Purpose::Refresh, &token),
            other.hash(Purpose::Refresh, &token)
        );
        assert_eq!(t.hash(Purpose::Refresh, &token).len(), 32);
    }

    #[test]
    fn seal_round_trips_and_hides_the_token() {
        let t = tokens();
        let token = OpaqueTokens::generate();
        let hash = t.hash(Purpose::Refresh, &token);
        let sealed = t.seal(&token, &hash);
        assert_ne!(sealed, token.as_bytes());
        assert_eq!(t.unseal(&sealed, &hash).as_deref(), Some(token.as_str()));
        // Another key, or a tampered seal, yields nothing.
        let other = OpaqueTokens::new(Secret::new(b"another-key-another-key-another-k".to_vec()));
        assert_eq!(other.unseal(&sealed, &hash), None);
        let mut tampered = sealed.clone();
        tampered[0] ^= 1;
        assert_eq!(t.unseal(&tampered, &hash), None);
    }
}
