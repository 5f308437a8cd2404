//! Route paths. The server mounts `USERS` and the client joins these onto the
//! server URL, so a renamed route breaks the build rather than a user.

/// Prefix of every user and session route; also the refresh cookie's `Path`.
pub const USERS: &str = "/api/users";

pub const SIGNUP: &str = "/api/users/signup";
pub const LOGIN: &str = "/api/users/login";
pub const LOGOUT: &str = "/api/users/logout";
pub const MASTER_LOGOUT: &str = "/api/users/master-logout";
pub const REAUTH: &str = "/api/users/reauth";
pub const FORGOT_PASSWORD: &str = "/api/users/forgotpass";
/// Followed by `/<reset token>`.
pub const RESET_PASSWORD: &str = "/api/users/resetpass";
pub const CHANGE_PASSWORD: &str = "/api/users/change-password";
pub const ME: &str = "/api/users/me";
pub const SESSIONS: &str = "/api/users/sessions";
pub const HEALTH: &str = "/health";
/// Completes a sign-in that answered `mfa_required`.
pub const LOGIN_SECOND_FACTOR: &str = "/api/users/login/2fa";
/// The second factor's state (`GET`).
pub const SECOND_FACTOR: &str = "/api/users/2fa";
pub const TOTP_SETUP: &str = "/api/users/2fa/totp/setup";
pub const TOTP_CONFIRM: &str = "/api/users/2fa/totp/confirm";
/// `DELETE`: turns TOTP off.
pub const TOTP: &str = "/api/users/2fa/totp";
pub const RECOVERY_CODES: &str = "/api/users/2fa/recovery-codes";
/// Personal access tokens: create (`POST`) and list (`GET`).
pub const TOKENS: &str = "/api/users/tokens";
/// Exchanges a personal access token for an access token.
pub const TOKEN: &str = "/api/users/token";

/// `DELETE /api/users/tokens/<id>`.
pub fn personal_token(id: &str) -> String {
    format!("{TOKENS}/{id}")
}

/// `GET /api/users/<id>`.
pub fn user(id: &str) -> String {
    format!("{USERS}/{id}")
}

/// `PATCH /api/users/resetpass/<token>`.
pub fn reset_password(token: &str) -> String {
    format!("{RESET_PASSWORD}/{token}")
}

/// `DELETE /api/users/sessions/<id>`.
pub fn session(id: &str) -> String {
    format!("{SESSIONS}/{id}")
}
