//! Opaque tokens (refresh and reset): 256 random bits, base64url, stored only
//! as HMAC-SHA256 under the server's refresh secret, so a copy of the database
//! cannot be turned into working tokens.
//!
//! A refresh token also names its session, `<session id>.<secret>`, so that a
//! rotation finds the session by primary key instead of through an index on
//! the hash (a random page written by every rotation). The session id is no
//! secret (the access token's `sid` carries it) and the MAC covers it.
//!
//! A session's current refresh token is also kept *sealed*, so that a client
//! presenting the previous token inside the grace window can be handed the
//! current cookie rather than a stale one. The seal is XChaCha20-Poly1305 (a
//! reviewed AEAD, not our own construction) under a key derived from the
//! server secret: a database copy alone cannot open it, a changed byte makes it
//! fail, and the session id is its associated data, so a seal copied onto
//! another session's row does not open there.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;

use super::seal::Seal;
use crate::config::Secret;

type HmacSha256 = Hmac<Sha256>;

/// What every personal access token starts with.
pub const PERSONAL_TOKEN_PREFIX: &str = "gp_pat_";

/// What a token is for; part of the MAC so a token of one kind never matches a
/// hash of another.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    Refresh,
    Reset,
    /// The challenge a right password opens when a code must follow.
    MfaChallenge,
    /// A second-factor recovery code (in its normal form).
    RecoveryCode,
    /// A personal access token (`gp_pat_…`).
    PersonalToken,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Refresh => b"gatepass refresh token\0",
            Purpose::Reset => b"gatepass reset token\0",
            Purpose::MfaChallenge => b"gatepass mfa challenge\0",
            Purpose::RecoveryCode => b"gatepass recovery code\0",
            Purpose::PersonalToken => b"gatepass personal access token\0",
        }
    }
}

#[derive(Clone)]
pub struct OpaqueTokens {
    key: Secret,
    /// Seals under a key of its own, derived from `key` (never `key` itself).
    sealer: Seal,
}

impl OpaqueTokens {
    pub fn new(key: Secret) -> Self {
        let sealer = Seal::new(&key, b"gatepass refresh seal key\0");
        OpaqueTokens { key, sealer }
    }

    /// A new token: 32 random bytes, base64url without padding (43 characters).
    pub fn generate() -> String {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A new personal access token: a fixed prefix that secret scanners and
    /// people recognise, then 256 random bits.
    pub fn generate_personal() -> String {
        format!("{PERSONAL_TOKEN_PREFIX}{}", Self::generate())
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

    /// Seals the refresh token `token` of the session `session_id` for
    /// storage: a random nonce, then the ciphertext and its tag.
    pub fn seal(&self, session_id: &str, token: &str) -> Vec<u8> {
        self.sealer.seal(session_id, token.as_bytes())
    }

    /// The token that [`seal`](Self::seal) sealed for `session_id`; `None` if
    /// the seal does not open: changed, sealed for another session or under
    /// another secret, or in the format before this one (a keystream XOR).
    pub fn unseal(&self, session_id: &str, sealed: &[u8]) -> Option<String> {
        String::from_utf8(self.sealer.open(session_id, sealed)?).ok()
    }

    fn mac(&self, parts: &[&[u8]]) -> Vec<u8> {
        mac(&self.key, parts)
    }
}

/// HMAC-SHA256 under `key` of the concatenated `parts`.
fn mac(key: &Secret, parts: &[&[u8]]) -> Vec<u8> {
    let mut mac =
        HmacSha256::new_from_slice(key.expose()).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::seal::NONCE_LEN;

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

    const SESSION: &str = "5b1c6e0e-0000-4000-8000-000000000000";
    const OTHER_SESSION: &str = "5b1c6e0e-0000-4000-8000-000000000001";

    #[test]
    fn seal_round_trips_and_hides_the_token() {
        let t = tokens();
        let token = OpaqueTokens::generate_refresh(SESSION);
        let sealed = t.seal(SESSION, &token);
        // Nonce, ciphertext as long as the token, 16-byte tag.
        assert_eq!(sealed.len(), NONCE_LEN + token.len() + 16);
        assert!(!sealed
            .windows(token.len())
            .any(|window| window == token.as_bytes()));
        assert_eq!(t.unseal(SESSION, &sealed).as_deref(), Some(token.as_str()));
        // A fresh nonce each time: the same token never seals the same way.
        assert_ne!(t.seal(SESSION, &token), sealed);
    }

    #[test]
    fn a_seal_opens_only_for_its_session() {
        let t = tokens();
        let token = OpaqueTokens::generate_refresh(SESSION);
        let sealed = t.seal(SESSION, &token);
        assert_eq!(t.unseal(OTHER_SESSION, &sealed), None);
        assert_eq!(t.unseal("", &sealed), None);
    }

    #[test]
    fn a_seal_opens_only_under_its_secret() {
        let token = OpaqueTokens::generate_refresh(SESSION);
        let sealed = tokens().seal(SESSION, &token);
        let other = OpaqueTokens::new(Secret::new(b"another-key-another-key-another-k".to_vec()));
        assert_eq!(other.unseal(SESSION, &sealed), None);
    }

    #[test]
    fn a_changed_byte_anywhere_breaks_the_seal() {
        let t = tokens();
        let token = OpaqueTokens::generate_refresh(SESSION);
        let sealed = t.seal(SESSION, &token);
        // Nonce, ciphertext and tag alike.
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            assert_eq!(t.unseal(SESSION, &tampered), None, "byte {i}");
        }
        // Cut short, extended, or empty.
        assert_eq!(t.unseal(SESSION, &sealed[..sealed.len() - 1]), None);
        let mut longer = sealed.clone();
        longer.push(0);
        assert_eq!(t.unseal(SESSION, &longer), None);
        assert_eq!(t.unseal(SESSION, &sealed[..NONCE_LEN]), None);
        assert_eq!(t.unseal(SESSION, &[]), None);
    }

    /// The seal before this one: the token XORed with HMAC blocks over its
    /// hash. Rows still holding one must read as "no current token known".
    fn old_format_seal(t: &OpaqueTokens, token: &str) -> Vec<u8> {
        let hash = t.hash(Purpose::Refresh, token);
        let pad = (0u8..)
            .flat_map(|block| t.mac(&[b"gatepass seal\0", &hash, &[block]]))
            .take(token.len());
        token.bytes().zip(pad).map(|(b, p)| b ^ p).collect()
    }

    #[test]
    fn an_old_format_seal_does_not_open() {
        let t = tokens();
        for token in [
            OpaqueTokens::generate_refresh(SESSION),
            OpaqueTokens::generate(),
        ] {
            let old = old_format_seal(&t, &token);
            assert_eq!(old.len(), token.len());
            assert_eq!(t.unseal(SESSION, &old), None);
        }
    }
}
