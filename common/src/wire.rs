//! Request and response bodies, in the reference tutorial's camelCase.
//!
//! Request fields default to empty so a missing field reaches the server's
//! validation (a 422 naming the field) instead of failing deserialisation.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default)]
pub struct SignupRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(required, min_length = 1, max_length = 100, example = "Ada")
    )]
    pub first_name: String,
    #[cfg_attr(
        feature = "openapi",
        schema(required, min_length = 1, max_length = 100, example = "Lovelace")
    )]
    pub last_name: String,
    #[cfg_attr(feature = "openapi", schema(required, format = Email, max_length = 254, example = "ada@example.com"))]
    pub email: String,
    /// At least 8 characters, at most 72 bytes in UTF-8, not a common password.
    #[cfg_attr(feature = "openapi", schema(required, format = Password, min_length = 8, max_length = 72))]
    pub password: String,
    /// When present, must equal `password`.
    #[cfg_attr(feature = "openapi", schema(format = Password))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_confirm: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default)]
pub struct LoginRequest {
    #[cfg_attr(feature = "openapi", schema(required, format = Email, max_length = 254, example = "ada@example.com"))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(required, format = Password, max_length = 1024))]
    pub password: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default)]
pub struct ForgotPasswordRequest {
    #[cfg_attr(feature = "openapi", schema(required, format = Email, max_length = 254, example = "ada@example.com"))]
    pub email: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default)]
pub struct ResetPasswordRequest {
    /// At least 8 characters, at most 72 bytes in UTF-8, not a common password.
    #[cfg_attr(feature = "openapi", schema(required, format = Password, min_length = 8, max_length = 72))]
    pub password: String,
    /// Must equal `password`.
    #[cfg_attr(feature = "openapi", schema(required, format = Password))]
    pub password_confirm: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default)]
pub struct ChangePasswordRequest {
    #[cfg_attr(feature = "openapi", schema(required, format = Password))]
    pub current_password: String,
    /// The new password: at least 8 characters, at most 72 bytes in UTF-8, not a common password.
    #[cfg_attr(feature = "openapi", schema(required, format = Password, min_length = 8, max_length = 72))]
    pub password: String,
    /// Must equal `password`.
    #[cfg_attr(feature = "openapi", schema(required, format = Password))]
    pub password_confirm: String,
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

/// `/me` and `/:id`: `{success, user}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserResponse {
    pub success: bool,
    pub user: User,
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

/// `GET /health`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
}

#[cfg(test)]
mod tests {
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
    fn missing_request_fields_default_to_empty() {
        let req: LoginRequest = serde_json::from_str(r#"{"email":"a@b.c"}"#).unwrap();
        assert_eq!(req.email, "a@b.c");
        assert_eq!(req.password, "");
    }
}
