//! Sealing secrets for storage (the refresh token beside its session, a
//! signing key's private half): XChaCha20-Poly1305 under a key derived from a
//! server secret with a label of each use's own, bound by associated data to
//! what it was sealed for, so a seal copied onto another row does not open.
//! The stored form: a random nonce, then the ciphertext and its tag.

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::config::Secret;

/// The length of a seal's random nonce, which the seal starts with. 24 bytes
/// (XChaCha) are enough that random nonces never repeat under one key.
pub const NONCE_LEN: usize = 24;

#[derive(Clone)]
pub struct Seal {
    cipher: XChaCha20Poly1305,
}

impl Seal {
    /// The seal under HMAC-SHA256(`secret`, `label`): never `secret` itself,
    /// so a MAC key and a cipher key are never the same bytes.
    pub fn new(secret: &Secret, label: &[u8]) -> Seal {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(secret.expose())
            .expect("HMAC takes a key of any length");
        mac.update(label);
        let key = mac.finalize().into_bytes();
        Seal {
            cipher: XChaCha20Poly1305::new_from_slice(&key)
                .expect("an HMAC-SHA256 output is a 32-byte key"),
        }
    }

    /// `secret` sealed for `bound_to`.
    pub fn seal(&self, bound_to: &str, secret: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: secret,
            aad: bound_to.as_bytes(),
        };
        let ciphertext = self
            .cipher
            .encrypt(&XNonce::from(nonce), payload)
            .expect("a stored secret is far below XChaCha20-Poly1305's length limit");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// What [`seal`](Self::seal) sealed for `bound_to`; `None` if the seal
    /// does not open (changed, sealed for something else or under another
    /// secret or label).
    pub fn open(&self, bound_to: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, ciphertext) = sealed.split_first_chunk::<NONCE_LEN>()?;
        let payload = Payload {
            msg: ciphertext,
            aad: bound_to.as_bytes(),
        };
        self.cipher.decrypt(&XNonce::from(*nonce), payload).ok()
    }
}
