//! An authenticator app for the tests: RFC 6238 codes (HMAC-SHA-1, 6 digits,
//! 30-second steps) from the base32 secret the server hands out, computed
//! here from RFC 4226 rather than with the server's library.

use hmac::{Hmac, KeyInit, Mac};

/// The length of a step, in seconds.
pub const STEP: u64 = 30;

/// The current step.
pub fn now_step() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        / STEP
}

/// The code of `secret` (base32, as `/2fa/totp/setup` answers it) at `step`.
pub fn code(secret: &str, step: u64) -> String {
    let key = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, secret)
        .expect("a base32 secret");
    let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(&key).expect("any key length");
    mac.update(&step.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    // RFC 4226, 5.3: dynamic truncation.
    let offset = (hash[19] & 0x0f) as usize;
    let binary = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    format!("{:06}", binary % 1_000_000)
}

/// An app that never offers a step the server has already accepted: each
/// [`Authenticator::next_code`] is of a later step than the one before, the
/// current step when it can be, else the next; when both are used up it waits
/// for the clock to reach the next step.
pub struct Authenticator {
    pub secret: String,
    last: Option<u64>,
}

impl Authenticator {
    pub fn new(secret: &str) -> Authenticator {
        Authenticator {
            secret: secret.to_owned(),
            last: None,
        }
    }

    pub async fn next_code(&mut self) -> String {
        loop {
            let now = now_step();
            let step = self.last.map_or(now, |last| (last + 1).max(now));
            if step <= now + 1 {
                self.last = Some(step);
                return code(&self.secret, step);
            }
            // Both steps the server takes now are used: wait for the clock.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_rfc_6238_vector() {
        // Appendix B: "12345678901234567890", T = 59 s (step 1): 94287082.
        let secret = base32::encode(
            base32::Alphabet::Rfc4648 { padding: false },
            b"12345678901234567890",
        );
        assert_eq!(super::code(&secret, 1), "287082");
    }
}
