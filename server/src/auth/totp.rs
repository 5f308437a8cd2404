//! The second factor's codes: TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second
//! steps, the step before and after the current one accepted) through
//! `totp-rs`, recovery codes, and the seal that keeps a TOTP secret unreadable
//! in the database.
//!
//! - A secret is 20 random bytes (160 bits, RFC 4226's recommendation).
//! - It is stored sealed with XChaCha20-Poly1305 under a key derived from
//!   `AUTH_REFRESH_TOKEN_SECRET` with a label of its own, the user id as
//!   associated data: a database copy alone does not give the secrets, and a
//!   sealed secret copied to another user's row does not open.
//! - A code is matched to its step ([`matching_step`]), so the store can
//!   accept each step once (no replay).
//! - Recovery codes: 10 characters of base32 (50 bits) shown as `xxxxx-xxxxx`,
//!   stored as HMACs (`opaque.rs`), compared after [`normal_recovery_code`].

use rand::RngCore;
use totp_rs::{Algorithm, Builder, Secret as TotpSecret, Totp};

use super::seal::Seal;
use crate::config::Secret;

/// The length of a step, in seconds.
pub const STEP_SECS: u64 = 30;
/// How many recovery codes a user gets at once.
pub const RECOVERY_CODES: usize = 10;
/// The issuer authenticator apps show.
pub const ISSUER: &str = "gatepass";

const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A new secret from the operating system's random source.
pub fn generate_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

fn totp(secret: &[u8], account: &str) -> Result<Totp, String> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_SECS)
        .with_secret(secret.to_vec())
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| format!("TOTP: {e}"))
}

/// The secret as authenticator apps take it by hand: base32, no padding.
pub fn base32(secret: &[u8]) -> String {
    TotpSecret::from(secret.to_vec()).to_base32()
}

/// `otpauth://totp/gatepass:<email>?secret=…&issuer=gatepass` (the QR code's
/// content).
pub fn otpauth_uri(secret: &[u8], email: &str) -> Result<String, String> {
    totp(secret, email)?
        .to_url()
        .map_err(|e| format!("otpauth URI: {e}"))
}

/// The 30-second step whose code `code` is, among the step of `now_secs` and
/// the one on either side; `None` for a wrong or malformed code. Spaces are
/// ignored ("123 456" as apps show it).
pub fn matching_step(secret: &[u8], code: &str, now_secs: u64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // The account name is not part of the code.
    let totp = totp(secret, "user").ok()?;
    totp.check(&code, now_secs).map(|step| step as i64)
}

/// The code of `secret` at `time_secs` (tests and the setup check).
pub fn code_at(secret: &[u8], time_secs: u64) -> Option<String> {
    Some(totp(secret, "user").ok()?.generate(time_secs).to_string())
}

/// New recovery codes, as shown to the user (`xxxxx-xxxxx`).
pub fn generate_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 10];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let chars: String = bytes
                .iter()
                .map(|b| RECOVERY_ALPHABET[(b & 31) as usize] as char)
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// A recovery code as typed (any case, with or without the dash or spaces)
/// in its one stored form; `None` if it cannot be one.
pub fn normal_recovery_code(typed: &str) -> Option<String> {
    let chars: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (chars.len() == 10 && chars.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)))
        .then(|| format!("{}-{}", &chars[..5], &chars[5..]))
}

/// Seals TOTP secrets for storage (see the module's doc).
#[derive(Clone)]
pub struct TotpSeal {
    seal: Seal,
}

impl TotpSeal {
    /// The seal under `refresh_secret` (`AUTH_REFRESH_TOKEN_SECRET`).
    pub fn new(refresh_secret: &Secret) -> TotpSeal {
        TotpSeal {
            seal: Seal::new(refresh_secret, b"gatepass totp secret seal\0"),
        }
    }

    pub fn seal(&self, user_id: &str, secret: &[u8]) -> Vec<u8> {
        self.seal.seal(user_id, secret)
    }

    /// `None` if it does not open (changed, another user's, another secret).
    pub fn open(&self, user_id: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        self.seal.open(user_id, sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 secret "12345678901234567890".
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_are_rfc_6238_and_match_the_step_on_either_side() {
        // Appendix B's 8-digit code at T = 59 is 94287082; 6 digits: 287082.
        assert_eq!(code_at(RFC_SECRET, 59).unwrap(), "287082");
        assert_eq!(matching_step(RFC_SECRET, "287082", 59), Some(1));
        // One step on either side is accepted, two are not.
        let step = 1_000_000u64;
        let now = step * STEP_SECS + 7;
        for (offset, accepted) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let at = ((step as i64 + offset) as u64) * STEP_SECS;
            let code = code_at(RFC_SECRET, at).unwrap();
            let matched = matching_step(RFC_SECRET, &code, now);
            assert_eq!(matched.is_some(), accepted, "offset {offset}");
            if accepted {
                assert_eq!(matched, Some(step as i64 + offset));
            }
        }
        let code = code_at(RFC_SECRET, now).unwrap();
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(matching_step(RFC_SECRET, &spaced, now), Some(step as i64));
        for bad in ["", "12345", "1234567", "abcdef", "12345\u{0}"] {
            assert_eq!(matching_step(RFC_SECRET, bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn the_uri_names_the_issuer_the_account_and_the_secret() {
        let secret = generate_secret();
        let uri = otpauth_uri(&secret, "ada@example.com").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/gatepass:ada%40example.com?"),
            "{uri}"
        );
        assert!(
            uri.contains(&format!("secret={}", base32(&secret))),
            "{uri}"
        );
        assert!(uri.contains("issuer=gatepass"), "{uri}");
    }

    #[test]
    fn recovery_codes_are_distinct_and_read_back_in_any_case() {
        let codes = generate_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(normal_recovery_code(code).as_deref(), Some(code.as_str()));
            let typed = code.replace('-', " ").to_uppercase();
            assert_eq!(normal_recovery_code(&typed).as_deref(), Some(code.as_str()));
        }
        assert_eq!(normal_recovery_code("abc"), None);
        assert_eq!(normal_recovery_code("abcde-fgh1!"), None);
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_user() {
        let seal = TotpSeal::new(&Secret::new(
            b"refresh-secret-refresh-secret-refresh".to_vec(),
        ));
        let secret = generate_secret();
        let sealed = seal.seal("user-1", &secret);
        assert!(!sealed.windows(secret.len()).any(|w| w == secret));
        assert_eq!(seal.open("user-1", &sealed).unwrap(), secret);
        assert!(seal.open("user-2", &sealed).is_none());
    }
}
