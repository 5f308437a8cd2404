//! The error body every failing response carries, and its machine-readable codes.

use serde::{Deserialize, Serialize};

/// `{"error": "<short title>", "code": "<snake_case>", "feedback": "<sentence>"}`,
/// plus `errors` on a 422. Front-ends show `feedback`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: String,
    pub code: ErrorCode,
    pub feedback: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One invalid field of a 422, in express-validator's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub param: String,
    pub msg: String,
    pub location: String,
}

impl FieldError {
    /// A problem with a field of the JSON body.
    pub fn body(param: &str, msg: impl Into<String>) -> Self {
        FieldError {
            param: param.to_owned(),
            msg: msg.into(),
            location: "body".to_owned(),
        }
    }
}

/// Every `code` the server sends. Unknown codes from a newer server parse as
/// `Other` so an old client keeps working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    ValidationFailed,
    MalformedJson,
    PayloadTooLarge,
    UnsupportedMediaType,
    InvalidCredentials,
    MissingAccessToken,
    InvalidAccessToken,
    ExpiredAccessToken,
    SessionRevoked,
    MissingRefreshToken,
    InvalidRefreshToken,
    RefreshTokenReused,
    InvalidResetToken,
    WrongPassword,
    OriginNotAllowed,
    UserNotFound,
    SessionNotFound,
    /// The right password of an account with a second factor: complete the
    /// sign-in with a code (`mfaToken`), or give `code` to this request.
    MfaRequired,
    /// A wrong, reused or malformed authenticator or recovery code.
    InvalidCode,
    /// An unknown, used or expired `mfaToken`.
    InvalidMfaToken,
    /// TOTP is on already (turn it off first to enrol again).
    TotpEnabled,
    /// TOTP is not on (or not set up) for this account.
    TotpNotEnabled,
    /// An unknown, expired or revoked personal access token.
    InvalidApiToken,
    /// Done with a personal access token, but it needs a signed-in session.
    SessionRequired,
    /// No such personal access token of this user.
    TokenNotFound,
    NotFound,
    MethodNotAllowed,
    TooManyAttempts,
    BadRequest,
    Unavailable,
    ServerBusy,
    InternalError,
    #[serde(other)]
    Other,
}

impl ErrorCode {
    /// The snake_case name, as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::MissingAccessToken => "missing_access_token",
            ErrorCode::InvalidAccessToken => "invalid_access_token",
            ErrorCode::ExpiredAccessToken => "expired_access_token",
            ErrorCode::SessionRevoked => "session_revoked",
            ErrorCode::MissingRefreshToken => "missing_refresh_token",
            ErrorCode::InvalidRefreshToken => "invalid_refresh_token",
            ErrorCode::RefreshTokenReused => "refresh_token_reused",
            ErrorCode::InvalidResetToken => "invalid_reset_token",
            ErrorCode::WrongPassword => "wrong_password",
            ErrorCode::OriginNotAllowed => "origin_not_allowed",
            ErrorCode::UserNotFound => "user_not_found",
            ErrorCode::SessionNotFound => "session_not_found",
            ErrorCode::MfaRequired => "mfa_required",
            ErrorCode::InvalidCode => "invalid_code",
            ErrorCode::InvalidMfaToken => "invalid_mfa_token",
            ErrorCode::TotpEnabled => "totp_enabled",
            ErrorCode::TotpNotEnabled => "totp_not_enabled",
            ErrorCode::InvalidApiToken => "invalid_api_token",
            ErrorCode::SessionRequired => "session_required",
            ErrorCode::TokenNotFound => "token_not_found",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::ServerBusy => "server_busy",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::Other => "other",
        }
    }

    /// Whether a 401 with this code can be cured by refreshing the access token.
    pub fn refreshable(self) -> bool {
        matches!(
            self,
            ErrorCode::MissingAccessToken
                | ErrorCode::InvalidAccessToken
                | ErrorCode::ExpiredAccessToken
        )
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_names() {
        for code in [
            ErrorCode::ValidationFailed,
            ErrorCode::RefreshTokenReused,
            ErrorCode::TooManyAttempts,
            ErrorCode::InternalError,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn unknown_codes_parse_as_other() {
        let body: ErrorBody = serde_json::from_str(
            r#"{"error":"X","code":"brand_new_code","feedback":"Something."}"#,
        )
        .unwrap();
        assert_eq!(body.code, ErrorCode::Other);
        assert!(body.errors.is_empty());
    }
}
