//! Request and response bodies, in the reference tutorial's camelCase.
//!
//! Request fields default to empty so a missing field reaches the server's
//! validation (a 422 naming the field) instead of failing deserialisation.
//! The `#[serde(default)]` is on each field, not on the struct: utoipa turns a
//! struct-level one into `default: ""` in the OpenAPI description, which
//! contradicts the fields' own `minLength` (an invalid description), and the
//! empty value is no default a client should send anyway.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SignupRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(required, min_length = 1, max_length = 100, example = "Ada")
    )]
    #[serde(default)]
    pub first_name: String,
    #[cfg_attr(
        feature = "openapi",
        schema(required, min_length = 1, max_length = 100, example = "Lovelace")
    )]
    #[serde(default)]
    pub last_name: String,
    #[cfg_attr(feature = "openapi", schema(required, format = Email, max_length = 254, example = "ada@example.com"))]
    #[serde(default)]
    pub email: String,
    /// At least 8 characters, at most 72 bytes in UTF-8, not a common password.
    #[cfg_attr(feature = "openapi", schema(required, format = Password, min_length = 8, max_length = 72))]
    #[serde(default)]
    pub password: String,
    /// When present, must equal `password`.
    #[cfg_attr(feature = "openapi", schema(format = Password))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_confirm: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    #[cfg_attr(feature = "openapi", schema(required, format = Email, max_length = 254, example = "ada@example.com"))]
    #[serde(default)]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(required, format = Password, max_length = 1024))]
    #[serde(default)]
    pub password: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ForgotPasswordRequest {
    #[cfg_attr(feature = "openapi", schema(required, format = Email, max_length = 254, example = "ada@example.com"))]
    #[serde(default)]
    pub email: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ResetPasswordRequest {
    /// At least 8 characters, at most 72 bytes in UTF-8, not a common password.
    #[cfg_attr(feature = "openapi", schema(required, format = Password, min_length = 8, max_length = 72))]
    #[serde(default)]
    pub password: String,
    /// Must equal `password`.
    #[cfg_attr(feature = "openapi", schema(required, format = Password))]
    #[serde(default)]
    pub password_confirm: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ChangePasswordRequest {
    #[cfg_attr(feature = "openapi", schema(required, format = Password))]
    #[serde(default)]
    pub current_password: String,
    /// The new password: at least 8 characters, at most 72 bytes in UTF-8, not a common password.
    #[cfg_attr(feature = "openapi", schema(required, format = Password, min_length = 8, max_length = 72))]
    #[serde(default)]
    pub password: String,
    /// Must equal `password`.
    #[cfg_attr(feature = "openapi", schema(required, format = Password))]
    #[serde(default)]
    pub password_confirm: String,
    /// With two-factor sign-in on: a code from the authenticator app (or a
    /// recovery code). Without it such an account gets 403 `mfa_required`.
    #[cfg_attr(feature = "openapi", schema(example = "123456"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// The public face of a user: never a password hash or a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[cfg_attr(
        feature = "openapi",
        schema(format = "uuid", example = "7d1f0e2c-4b5a-4c8e-9f3d-2a6b8c0e1f47")
    )]
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// RFC 3339.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
}

/// Another user, as any signed-in user may see them (`GET /:id`): public
/// data only, never the email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PublicProfile {
    #[cfg_attr(
        feature = "openapi",
        schema(format = "uuid", example = "7d1f0e2c-4b5a-4c8e-9f3d-2a6b8c0e1f47")
    )]
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    /// RFC 3339.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
}

impl From<User> for PublicProfile {
    fn from(user: User) -> PublicProfile {
        PublicProfile {
            id: user.id,
            first_name: user.first_name,
            last_name: user.last_name,
            created_at: user.created_at,
        }
    }
}

/// A user looked up by id: the full [`User`] when it is the caller, the
/// [`PublicProfile`] otherwise. On the wire, only the presence of `email`
/// tells them apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
// Untagged, tried in order: a body with `email` is the full user.
#[serde(untagged)]
pub enum UserView {
    /// The caller themselves.
    Full(User),
    /// Someone else.
    Public(PublicProfile),
}

impl UserView {
    pub fn id(&self) -> &str {
        match self {
            UserView::Full(user) => &user.id,
            UserView::Public(profile) => &profile.id,
        }
    }

    pub fn first_name(&self) -> &str {
        match self {
            UserView::Full(user) => &user.first_name,
            UserView::Public(profile) => &profile.first_name,
        }
    }

    pub fn last_name(&self) -> &str {
        match self {
            UserView::Full(user) => &user.last_name,
            UserView::Public(profile) => &profile.last_name,
        }
    }

    /// Only the caller's own email is shown.
    pub fn email(&self) -> Option<&str> {
        match self {
            UserView::Full(user) => Some(&user.email),
            UserView::Public(_) => None,
        }
    }

    pub fn created_at(&self) -> &str {
        match self {
            UserView::Full(user) => &user.created_at,
            UserView::Public(profile) => &profile.created_at,
        }
    }
}

/// Signup and login: `{success, user, accessToken}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    pub success: bool,
    pub user: User,
    pub access_token: String,
}

/// Reauth: `{success, accessToken}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReauthResponse {
    pub success: bool,
    pub access_token: String,
}

/// `/me`: `{success, user}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserResponse {
    pub success: bool,
    pub user: User,
}

/// `/:id`: `{success, user}`, the user being the full user for the caller's
/// own id and the public profile for anyone else's.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserViewResponse {
    pub success: bool,
    pub user: UserView,
}

/// Forgot and reset password: `{success, message, feedback?}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageResponse {
    pub success: bool,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

/// One live session of the signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub id: String,
    /// RFC 3339.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// RFC 3339.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub last_used_at: String,
    pub user_agent: Option<String>,
    /// True for the session the request was made with.
    pub current: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionsResponse {
    pub success: bool,
    pub sessions: Vec<SessionInfo>,
}

/// `GET /health`, `/health/alive` and `/health/ready`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
    /// The server's version and commit, e.g. `0.1.0+1a2b3c4`.
    pub version: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn signup_uses_the_tutorial_field_names() {
        let req = SignupRequest {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            email: "ada@example.com".into(),
            password: "pw".into(),
            password_confirm: None,
        };
        let json = serde_json::to_value(&req).unwrap();
        assert_eq!(json["firstName"], "Ada");
        assert_eq!(json["lastName"], "Lovelace");
        assert!(json.get("passwordConfirm").is_none());
    }

    #[test]
    fn a_user_view_is_told_apart_by_its_email() {
        let full = json!({"id": "1", "firstName": "Ada", "lastName": "Lovelace",
            "email": "ada@example.com", "createdAt": "2026-01-01T00:00:00Z"});
        let view: UserView = serde_json::from_value(full.clone()).unwrap();
        assert_eq!(view.email(), Some("ada@example.com"));
        assert_eq!(serde_json::to_value(&view).unwrap(), full);

        let public = json!({"id": "2", "firstName": "Bob", "lastName": "Byron",
            "createdAt": "2026-01-01T00:00:00Z"});
        let view: UserView = serde_json::from_value(public.clone()).unwrap();
        assert!(matches!(view, UserView::Public(_)));
        assert_eq!(view.email(), None);
        assert_eq!(view.first_name(), "Bob");
        assert_eq!(serde_json::to_value(&view).unwrap(), public);
    }

    #[test]
    fn missing_request_fields_default_to_empty() {
        let req: LoginRequest = serde_json::from_str(r#"{"email":"a@b.c"}"#).unwrap();
        assert_eq!(req.email, "a@b.c");
        assert_eq!(req.password, "");
    }
}

/// `POST /2fa/totp/setup`: the password again, since a stolen access token
/// must not enrol its own authenticator.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TotpSetupRequest {
    #[cfg_attr(feature = "openapi", schema(required, format = Password))]
    #[serde(default)]
    pub current_password: String,
}

/// The secret to give the authenticator app, by QR code or by hand. Nothing
/// is on until `/2fa/totp/confirm` gets a right code.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TotpSetupResponse {
    pub success: bool,
    /// Base32, without padding (RFC 4648).
    #[cfg_attr(
        feature = "openapi",
        schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    )]
    pub secret: String,
    /// `otpauth://totp/gatepass:<email>?secret=…&issuer=gatepass` (SHA-1, 6 digits, 30 s).
    pub otpauth_uri: String,
}

/// A code from the authenticator app (6 digits) or, where the route says
/// so, a recovery code.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TotpCodeRequest {
    #[cfg_attr(feature = "openapi", schema(required, example = "123456"))]
    #[serde(default)]
    pub code: String,
}

/// `DELETE /2fa/totp`: the password and a code (or a recovery code).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TotpDisableRequest {
    #[cfg_attr(feature = "openapi", schema(required, format = Password))]
    #[serde(default)]
    pub current_password: String,
    #[cfg_attr(feature = "openapi", schema(required, example = "123456"))]
    #[serde(default)]
    pub code: String,
}

/// Ten single-use recovery codes, shown this once (stored hashed).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RecoveryCodesResponse {
    pub success: bool,
    #[cfg_attr(feature = "openapi", schema(example = json!(["k7dq2-x9mfp", "…"])))]
    pub recovery_codes: Vec<String>,
}

/// `GET /2fa`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SecondFactorStatus {
    pub success: bool,
    /// Whether sign-in asks for a code.
    pub totp: bool,
    pub recovery_codes_left: u32,
}

/// `POST /login/2fa`: the challenge from `/login`'s 403 and either a code
/// from the authenticator app or a recovery code.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LoginSecondFactorRequest {
    #[cfg_attr(feature = "openapi", schema(required))]
    #[serde(default)]
    pub mfa_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "123456"))]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_code: Option<String>,
}

/// `/login`'s 403 `mfa_required`: the error body and the challenge.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MfaRequiredBody {
    pub error: String,
    pub code: crate::ErrorCode,
    pub feedback: String,
    /// Single use, lives `AUTH_MFA_CHALLENGE_TTL` (5 minutes by default).
    pub mfa_token: String,
}

/// `POST /tokens`: a personal access token for a script.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreateTokenRequest {
    /// What the token is for (1 to 100 characters), e.g. the pipeline.
    #[cfg_attr(
        feature = "openapi",
        schema(required, max_length = 100, example = "deploy pipeline")
    )]
    #[serde(default)]
    pub name: String,
    /// How long it lives: `30d`, `12h`, ... (at most `365d`; `90d` if left out).
    #[cfg_attr(feature = "openapi", schema(example = "30d"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<String>,
    /// With two-factor sign-in on: a code from the authenticator app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// A personal access token, never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PersonalToken {
    pub id: String,
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
}

/// `POST /tokens` answered: the token, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedTokenResponse {
    pub success: bool,
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub expires_at: String,
    /// `gp_pat_…`: shown this once, stored only as an HMAC.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "gp_pat_3q2-7wE1uXyTbq9kQ0cP3lW3gq2bXxv1G6s0Jv9YcHk")
    )]
    pub token: String,
}

/// `GET /tokens`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokensResponse {
    pub success: bool,
    pub tokens: Vec<PersonalToken>,
}
