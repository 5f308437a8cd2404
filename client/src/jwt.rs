//! Reading (never verifying) the expiry of an access token: the client needs
//! it to hand out a fresh token (`gatepass token`) and for `gatepass status`.
//! The server verifies; a wrong claim here costs at most one extra refresh.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use time::OffsetDateTime;

fn claim(token: &str, name: &str) -> Option<OffsetDateTime> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    OffsetDateTime::from_unix_timestamp(claims.get(name)?.as_i64()?).ok()
}

/// The `exp` claim, if the token has a readable one.
pub fn expires_at(token: &str) -> Option<OffsetDateTime> {
    claim(token, "exp")
}

/// Whether the token expires within `margin` from now (or has no readable expiry).
pub fn expires_within(token: &str, margin: time::Duration) -> bool {
    match expires_at(token) {
        Some(at) => at <= OffsetDateTime::now_utc() + margin,
        None => true,
    }
}

/// Whether a token is worth handing out: it lives at least `margin` longer,
/// or a quarter of its lifetime when that is shorter (a server configured
/// with 2 s tokens still gets its tokens used).
pub fn is_fresh(token: &str, margin: time::Duration) -> bool {
    let margin = match (claim(token, "iat"), expires_at(token)) {
        (Some(issued), Some(expires)) => margin.min((expires - issued) / 4),
        _ => margin,
    };
    !expires_within(token, margin)
}

#[cfg(test)]
pub(crate) fn fake_token(exp: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims =
        URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"u","iat":{},"exp":{exp}}}"#, exp - 120));
    format!("{header}.{claims}.c2lnbmF0dXJl")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_expiry_claim() {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let token = fake_token(now + 120);
        assert_eq!(expires_at(&token).unwrap().unix_timestamp(), now + 120);
        assert!(!expires_within(&token, time::Duration::seconds(5)));
        assert!(expires_within(&fake_token(now - 1), time::Duration::ZERO));
        assert!(expires_within("not.a.jwt", time::Duration::ZERO));
        assert_eq!(expires_at("garbage"), None);
        // A 120 s token with 20 s left is fresh for a 5 s margin, not with 3 s left.
        let margin = time::Duration::seconds(5);
        assert!(is_fresh(&fake_token(now + 20), margin));
        assert!(!is_fresh(&fake_token(now + 3), margin));
        assert!(!is_fresh("not.a.jwt", margin));
    }
}
