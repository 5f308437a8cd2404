//! Access tokens: short-lived HS256 JWTs.
//!
//! The algorithm is pinned to HS256 when verifying, so a token that names
//! another algorithm (`none`, or RS256 with our secret as a "public key") is
//! refused before its signature is looked at. Leeway is zero: the configured
//! lifetime is the lifetime.
//!
//! A JWT cannot be revoked: other services that only check its signature accept
//! it until `exp`. This server's own protected routes also look up the token's
//! session (`sid`), so logout, master-logout and a password reset take effect
//! here at once.

use std::time::Duration;

use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Secret;
use crate::error::{ApiError, ApiResult};

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

pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
    issuer: String,
}

impl AccessTokens {
    /// Fails only for an empty secret, which configuration already refuses.
    pub fn new(
        secret: &Secret,
        ttl: Duration,
        issuer: &str,
    ) -> jsonwebtoken::errors::Result<AccessTokens> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
        Ok(AccessTokens {
            encoding: EncodingKey::from_secret(secret.expose())?,
            decoding: DecodingKey::from_secret(secret.expose())?,
            validation,
            ttl,
            issuer: issuer.to_owned(),
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A new access token for `user_id`'s session `session_id`.
    pub fn issue(&self, user_id: &str, session_id: &str) -> ApiResult<String> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = AccessClaims {
            sub: user_id.to_owned(),
            sid: session_id.to_owned(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            iss: self.issuer.clone(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal(format!("signing an access token: {e}")))
    }

    /// The claims of a valid token; expired and otherwise invalid tokens are
    /// told apart so a client knows a refresh will help.
    pub fn verify(&self, token: &str) -> ApiResult<AccessClaims> {
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::ExpiredAccessToken,
                _ => ApiError::InvalidAccessToken,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

    fn secret(s: &str) -> Secret {
        Secret::new(s.as_bytes().to_vec())
    }

    fn tokens() -> AccessTokens {
        AccessTokens::new(
            &secret("test-secret-test-secret-test-secret!"),
            Duration::from_secs(120),
            "gatepass",
        )
        .unwrap()
    }

    #[test]
    fn issued_tokens_verify_with_their_claims() {
        let t = tokens();
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

    #[test]
    fn wrong_secret_and_tampering_are_invalid() {
        let token = tokens().issue("user-1", "session-1").unwrap();
        let other = AccessTokens::new(
            &secret("another-secret-another-secret-another"),
            Duration::from_secs(120),
            "gatepass",
        )
        .unwrap();
        assert!(matches!(
            other.verify(&token),
            Err(ApiError::InvalidAccessToken)
        ));

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
        assert!(matches!(
            tokens().verify(&forged),
            Err(ApiError::InvalidAccessToken)
        ));
        assert!(matches!(
            tokens().verify("garbage"),
            Err(ApiError::InvalidAccessToken)
        ));
        assert!(matches!(
            tokens().verify(""),
            Err(ApiError::InvalidAccessToken)
        ));
    }

    #[test]
    fn alg_none_is_refused() {
        let token = tokens().issue("user-1", "session-1").unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(matches!(
            tokens().verify(&format!("{header}.{payload}.")),
            Err(ApiError::InvalidAccessToken)
        ));
    }

    #[test]
    fn expired_tokens_are_told_apart() {
        let t = tokens();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = AccessClaims {
            sub: "u".into(),
            sid: "s".into(),
            iat: now - 300,
            exp: now - 1,
            iss: "gatepass".into(),
            jti: "j".into(),
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &t.encoding).unwrap();
        assert!(matches!(
            t.verify(&token),
            Err(ApiError::ExpiredAccessToken)
        ));
    }

    #[test]
    fn wrong_issuer_is_invalid() {
        let other = AccessTokens::new(
            &secret("test-secret-test-secret-test-secret!"),
            Duration::from_secs(120),
            "someone-else",
        )
        .unwrap();
        let token = other.issue("u", "s").unwrap();
        assert!(matches!(
            tokens().verify(&token),
            Err(ApiError::InvalidAccessToken)
        ));
    }
}
