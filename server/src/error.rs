//! `ApiError`: every way a request can fail, and the one place that turns a
//! failure into a status, an error body and headers.
//!
//! Request guards that fail store their `ApiError` in the request's local cache;
//! the catchers (routes/catchers.rs) render it, so a guard's failure and a
//! handler's failure look the same on the wire.

use std::io::Cursor;

use gatepass_common::{ErrorBody, ErrorCode, FieldError};
use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("body too large")]
    PayloadTooLarge,
    /// A body that is not `application/json`: such a request needs no CORS
    /// preflight, so a hostile page could send it (login CSRF).
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("missing access token")]
    MissingAccessToken,
    #[error("invalid access token")]
    InvalidAccessToken,
    #[error("expired access token")]
    ExpiredAccessToken,
    #[error("session ended")]
    SessionRevoked,
    #[error("missing refresh token")]
    MissingRefreshToken,
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    #[error("refresh token reused")]
    RefreshTokenReused,
    #[error("invalid reset token")]
    InvalidResetToken,
    #[error("wrong current password")]
    WrongPassword,
    /// A cookie-authenticated request from a page whose origin is not allowed.
    #[error("origin not allowed")]
    OriginNotAllowed,
    #[error("user not found")]
    UserNotFound,
    #[error("session not found")]
    SessionNotFound,
    #[error("too many attempts")]
    TooManyAttempts { retry_after_secs: u64 },
    /// A right password on an account with a second factor: the challenge
    /// that `/login/2fa` completes (from `/login`), or none (a request that
    /// takes the `code` itself, such as `/change-password`). The body
    /// carries the challenge as `mfaToken`.
    #[error("second factor required")]
    MfaRequired(Option<String>),
    #[error("invalid code")]
    InvalidCode,
    #[error("invalid mfa token")]
    InvalidMfaToken,
    #[error("TOTP already on")]
    TotpEnabled,
    #[error("TOTP not on")]
    TotpNotEnabled,
    #[error("invalid personal access token")]
    InvalidApiToken,
    #[error("session required")]
    SessionRequired,
    #[error("token not found")]
    TokenNotFound,
    /// Rocket's catchers for statuses we do not produce ourselves.
    #[error("{0}")]
    Status(Status),
    #[error("database unavailable")]
    Unavailable,
    /// The password-hashing queue is too long: shed load before hashing.
    #[error("server busy")]
    ServerBusy { retry_after_secs: u64 },
    /// The cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// Wraps an unexpected failure; its cause goes to the log only.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(cause.to_string())
    }

    /// A 422 about one field.
    pub fn field(param: &str, msg: impl Into<String>) -> ApiError {
        ApiError::Validation(vec![FieldError::body(param, msg)])
    }

    pub fn status(&self) -> Status {
        match self {
            ApiError::Validation(_) => Status::UnprocessableEntity,
            ApiError::MalformedJson(_) | ApiError::InvalidCredentials => Status::BadRequest,
            ApiError::InvalidResetToken | ApiError::WrongPassword => Status::BadRequest,
            ApiError::PayloadTooLarge => Status::PayloadTooLarge,
            ApiError::UnsupportedMediaType => Status::UnsupportedMediaType,
            ApiError::OriginNotAllowed => Status::Forbidden,
            ApiError::MissingAccessToken
            | ApiError::InvalidAccessToken
            | ApiError::ExpiredAccessToken
            | ApiError::SessionRevoked
            | ApiError::MissingRefreshToken
            | ApiError::InvalidRefreshToken
            | ApiError::RefreshTokenReused => Status::Unauthorized,
            ApiError::UserNotFound | ApiError::SessionNotFound => Status::NotFound,
            ApiError::TooManyAttempts { .. } => Status::TooManyRequests,
            ApiError::MfaRequired(_) => Status::Forbidden,
            ApiError::InvalidCode | ApiError::InvalidMfaToken => Status::BadRequest,
            ApiError::TotpEnabled | ApiError::TotpNotEnabled => Status::Conflict,
            ApiError::InvalidApiToken => Status::Unauthorized,
            ApiError::SessionRequired => Status::Forbidden,
            ApiError::TokenNotFound => Status::NotFound,
            ApiError::Status(status) => *status,
            ApiError::Unavailable | ApiError::ServerBusy { .. } => Status::ServiceUnavailable,
            ApiError::Internal(_) => Status::InternalServerError,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Validation(_) => ErrorCode::ValidationFailed,
            ApiError::MalformedJson(_) => ErrorCode::MalformedJson,
            ApiError::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            ApiError::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            ApiError::InvalidCredentials => ErrorCode::InvalidCredentials,
            ApiError::MissingAccessToken => ErrorCode::MissingAccessToken,
            ApiError::InvalidAccessToken => ErrorCode::InvalidAccessToken,
            ApiError::ExpiredAccessToken => ErrorCode::ExpiredAccessToken,
            ApiError::SessionRevoked => ErrorCode::SessionRevoked,
            ApiError::MissingRefreshToken => ErrorCode::MissingRefreshToken,
            ApiError::InvalidRefreshToken => ErrorCode::InvalidRefreshToken,
            ApiError::RefreshTokenReused => ErrorCode::RefreshTokenReused,
            ApiError::InvalidResetToken => ErrorCode::InvalidResetToken,
            ApiError::WrongPassword => ErrorCode::WrongPassword,
            ApiError::OriginNotAllowed => ErrorCode::OriginNotAllowed,
            ApiError::UserNotFound => ErrorCode::UserNotFound,
            ApiError::SessionNotFound => ErrorCode::SessionNotFound,
            ApiError::TooManyAttempts { .. } => ErrorCode::TooManyAttempts,
            ApiError::MfaRequired(_) => ErrorCode::MfaRequired,
            ApiError::InvalidCode => ErrorCode::InvalidCode,
            ApiError::InvalidMfaToken => ErrorCode::InvalidMfaToken,
            ApiError::TotpEnabled => ErrorCode::TotpEnabled,
            ApiError::TotpNotEnabled => ErrorCode::TotpNotEnabled,
            ApiError::InvalidApiToken => ErrorCode::InvalidApiToken,
            ApiError::SessionRequired => ErrorCode::SessionRequired,
            ApiError::TokenNotFound => ErrorCode::TokenNotFound,
            ApiError::Status(status) => match status.code {
                400 => ErrorCode::BadRequest,
                404 => ErrorCode::NotFound,
                405 => ErrorCode::MethodNotAllowed,
                413 => ErrorCode::PayloadTooLarge,
                415 => ErrorCode::UnsupportedMediaType,
                422 => ErrorCode::ValidationFailed,
                503 => ErrorCode::Unavailable,
                500..=599 => ErrorCode::InternalError,
                _ => ErrorCode::BadRequest,
            },
            ApiError::Unavailable => ErrorCode::Unavailable,
            ApiError::ServerBusy { .. } => ErrorCode::ServerBusy,
            ApiError::Internal(_) => ErrorCode::InternalError,
        }
    }

    /// The one human sentence a front-end shows.
    fn feedback(&self) -> String {
        match self {
            ApiError::Validation(errors) => errors
                .first()
                .map(|e| e.msg.clone())
                .unwrap_or_else(|| "The request is invalid.".into()),
            ApiError::MalformedJson(_) => "The request body is not valid JSON.".into(),
            ApiError::PayloadTooLarge => "The request body is larger than 16 KiB.".into(),
            ApiError::UnsupportedMediaType => {
                "The request body must be JSON (Content-Type: application/json).".into()
            }
            ApiError::InvalidCredentials => "The email or password is incorrect.".into(),
            ApiError::MissingAccessToken => "Sign in to continue.".into(),
            ApiError::InvalidAccessToken => "The access token is not valid. Sign in again.".into(),
            ApiError::ExpiredAccessToken => "The access token has expired. Refresh it and retry.".into(),
            ApiError::SessionRevoked => "This session has been signed out. Sign in again.".into(),
            ApiError::MissingRefreshToken => "No refresh token was sent. Sign in again.".into(),
            ApiError::InvalidRefreshToken => "The refresh token is not valid. Sign in again.".into(),
            ApiError::RefreshTokenReused => {
                "This refresh token was already used, so the session was ended to protect you. Sign in again.".into()
            }
            ApiError::InvalidResetToken => {
                "This reset link is invalid, used or expired. Request a new one.".into()
            }
            ApiError::WrongPassword => "The current password is incorrect.".into(),
            ApiError::OriginNotAllowed => "This site is not allowed to use your session.".into(),
            ApiError::UserNotFound => "No such user.".into(),
            ApiError::SessionNotFound => "No such session.".into(),
            ApiError::TooManyAttempts { retry_after_secs } => {
                format!("Too many attempts. Try again in {retry_after_secs} seconds.")
            }
            ApiError::MfaRequired(_) => {
                "Enter the code from your authenticator app (or a recovery code).".into()
            }
            ApiError::InvalidCode => "That code is not right, or was used already.".into(),
            ApiError::InvalidMfaToken => {
                "This sign-in has expired or was completed already. Sign in again.".into()
            }
            ApiError::TotpEnabled => {
                "Two-factor sign-in is on already. Turn it off first to enrol again.".into()
            }
            ApiError::TotpNotEnabled => "Two-factor sign-in is not on for this account.".into(),
            ApiError::InvalidApiToken => {
                "The personal access token is unknown, expired or revoked.".into()
            }
            ApiError::SessionRequired => {
                "A personal access token cannot do this: sign in with your password.".into()
            }
            ApiError::TokenNotFound => "No such token.".into(),
            ApiError::Status(status) => match status.code {
                404 => "There is nothing at this address.".into(),
                405 => "This method is not allowed here.".into(),
                413 => "The request body is too large.".into(),
                500..=599 => "Something went wrong on our side. Try again later.".into(),
                _ => "The request could not be understood.".into(),
            },
            ApiError::Unavailable => "The service is temporarily unavailable.".into(),
            ApiError::ServerBusy { retry_after_secs } => {
                format!("The server is busy. Try again in {retry_after_secs} seconds.")
            }
            ApiError::Internal(_) => "Something went wrong on our side. Try again later.".into(),
        }
    }

    /// The short title in `error`.
    fn title(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "Validation failed",
            ApiError::MalformedJson(_) => "Malformed JSON",
            ApiError::PayloadTooLarge => "Payload too large",
            ApiError::UnsupportedMediaType => "Unsupported media type",
            ApiError::InvalidCredentials => "Invalid credentials",
            ApiError::MissingAccessToken
            | ApiError::InvalidAccessToken
            | ApiError::ExpiredAccessToken
            | ApiError::SessionRevoked
            | ApiError::MissingRefreshToken
            | ApiError::InvalidRefreshToken
            | ApiError::RefreshTokenReused => "Unauthorized",
            ApiError::InvalidResetToken => "Invalid reset token",
            ApiError::WrongPassword => "Wrong password",
            ApiError::OriginNotAllowed => "Origin not allowed",
            ApiError::UserNotFound => "User not found",
            ApiError::SessionNotFound => "Session not found",
            ApiError::TooManyAttempts { .. } => "Too many attempts",
            ApiError::MfaRequired(_) => "Second factor required",
            ApiError::InvalidCode => "Invalid code",
            ApiError::InvalidMfaToken => "Invalid sign-in challenge",
            ApiError::TotpEnabled | ApiError::TotpNotEnabled => "Conflict",
            ApiError::InvalidApiToken => "Unauthorized",
            ApiError::SessionRequired => "Session required",
            ApiError::TokenNotFound => "Token not found",
            ApiError::Status(status) => status.reason().unwrap_or("Error"),
            ApiError::Unavailable => "Service unavailable",
            ApiError::ServerBusy { .. } => "Server busy",
            ApiError::Internal(_) => "Internal server error",
        }
    }

    /// RFC 6750 `error_description` when a token was presented, else `None`
    /// (a request without credentials gets the bare challenge).
    fn bearer_error_description(&self) -> Option<&'static str> {
        match self {
            ApiError::InvalidAccessToken => {
                Some("The access token is malformed or its signature is invalid")
            }
            ApiError::ExpiredAccessToken => Some("The access token expired"),
            ApiError::SessionRevoked => Some("The session of this token has ended"),
            ApiError::InvalidRefreshToken => Some("The refresh token is invalid or expired"),
            ApiError::InvalidApiToken => {
                Some("The personal access token is unknown, expired or revoked")
            }
            ApiError::RefreshTokenReused => {
                Some("The refresh token was reused; the session has ended")
            }
            _ => None,
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.title().to_owned(),
            code: self.code(),
            feedback: self.feedback(),
            errors: match self {
                ApiError::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => ApiError::Unavailable,
            other => ApiError::internal(format!("database: {other}")),
        }
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let status = self.status();
        if let ApiError::Internal(cause) = &self {
            tracing::error!(
                target: "gatepass::error",
                request_id = crate::logging::request_id(request),
                "{} {}: {cause}",
                request.method(),
                crate::logging::redact_path(request.uri().path().as_str())
            );
        }
        let json = match &self {
            // The one error body with a field of its own: the challenge.
            ApiError::MfaRequired(Some(token)) => serde_json::to_value(self.body())
                .map(|mut body| {
                    body["mfaToken"] = serde_json::Value::from(token.as_str());
                    body
                })
                .and_then(|body| serde_json::to_vec(&body)),
            _ => serde_json::to_vec(&self.body()),
        }
        .map_err(|_| Status::InternalServerError)?;
        let mut response = Response::build();
        response
            .status(status)
            .header(ContentType::JSON)
            .sized_body(json.len(), Cursor::new(json));
        if status == Status::Unauthorized {
            let challenge = match self.bearer_error_description() {
                Some(description) => format!(
                    r#"Bearer realm="api", error="invalid_token", error_description="{description}""#
                ),
                None => r#"Bearer realm="api""#.to_owned(),
            };
            response.header(Header::new("WWW-Authenticate", challenge));
        }
        if let ApiError::TooManyAttempts { retry_after_secs }
        | ApiError::ServerBusy { retry_after_secs } = self
        {
            response.header(Header::new("Retry-After", retry_after_secs.to_string()));
        }
        if status.code >= 500 || status == Status::Unauthorized {
            response.header(Header::new("Cache-Control", "no-store"));
        }
        response.ok()
    }
}

/// Stores a guard's failure where the catcher for its status will find it.
pub fn remember(request: &Request<'_>, error: ApiError) -> (Status, ApiError) {
    let status = error.status();
    request.local_cache(|| Some(error.clone()));
    (status, error)
}

/// The failure a guard remembered for this request, if any.
pub fn remembered(request: &Request<'_>) -> Option<ApiError> {
    request.local_cache(|| None::<ApiError>).clone()
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_feedback_is_the_first_message() {
        let e = ApiError::Validation(vec![
            FieldError::body("email", "Email is invalid"),
            FieldError::body("password", "Password is required"),
        ]);
        let body = e.body();
        assert_eq!(body.feedback, "Email is invalid");
        assert_eq!(body.code, ErrorCode::ValidationFailed);
        assert_eq!(body.errors.len(), 2);
        assert_eq!(e.status(), Status::UnprocessableEntity);
    }

    #[test]
    fn internal_errors_leak_nothing() {
        let e = ApiError::internal("database: disk I/O error at /secret/path");
        let body = serde_json::to_string(&e.body()).unwrap();
        assert!(!body.contains("secret"));
        assert!(body.contains("internal_error"));
    }

    #[test]
    fn every_unauthorized_error_has_a_refresh_hint_only_where_it_helps() {
        assert!(ApiError::ExpiredAccessToken.code().refreshable());
        assert!(!ApiError::RefreshTokenReused.code().refreshable());
        assert!(ApiError::MissingAccessToken
            .bearer_error_description()
            .is_none());
        assert!(ApiError::InvalidAccessToken
            .bearer_error_description()
            .is_some());
    }
}
