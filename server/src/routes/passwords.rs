//! Forgot, reset and change password.

use gatepass_common::{
    ChangePasswordRequest, ErrorBody, ForgotPasswordRequest, MessageResponse, ResetPasswordRequest,
    RESET_BASE_HEADER,
};
use rocket::http::CookieJar;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::serde::json::Json;
use rocket::{patch, post, State};

use crate::audit::{record, AuditEvent};
use crate::auth::cookie::clear_refresh_cookie;
use crate::auth::opaque::{OpaqueTokens, Purpose};
use crate::auth::{AuthUser, ClientInfo};
use crate::cors::AllowedOrigin;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::json::ApiJson;
use crate::mail;
use crate::openapi::{
    OriginNotAllowed, PayloadTooLarge, ServerBusy, TooManyAttempts, Unauthorized,
    UnsupportedMediaType, ValidationFailed,
};
use crate::state::AppState;
use crate::throttle::{self, LoginThrottle, PerAddress};
use crate::validate;

const FORGOT_MESSAGE: &str = "If an account exists for this address, a reset link is on its way.";
const FORGOT_FEEDBACK: &str =
    "Check your email for a link to reset your password. It expires soon and works once.";

/// The `X-reset-base` header, kept only when it points at an allowed front-end.
pub struct ResetBase(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ResetBase {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let allowed = AppState::of(request).ok().and_then(|state| {
            request
                .headers()
                .get_one(RESET_BASE_HEADER)
                .filter(|base| is_allowed_reset_base(base, &state.config.cors_origins))
                .map(str::to_owned)
        });
        Outcome::Success(ResetBase(allowed))
    }
}

/// True when `base` is one of `origins` followed by nothing but a plain path:
/// no query, no fragment, no empty (`//`) or dot segment, no percent-encoded
/// `/`, `\` or `.`. Anything more could turn one open redirect on the
/// front-end into a leaked reset token (`/redirect?to=https://evil.example/`,
/// `//evil.example/`); a look-alike such as `https://app.example.com.evil.net`
/// is no allowed origin at all.
fn is_allowed_reset_base(base: &str, origins: &[String]) -> bool {
    base.len() <= 2048
        && origins.iter().any(|origin| {
            base.strip_prefix(origin.as_str())
                .is_some_and(is_plain_path)
        })
}

/// `""`, `"/"` or `/segment/segment[/]`, each segment of unreserved
/// characters or percent-encoded bytes that are not `/`, `\`, `.` or controls.
fn is_plain_path(path: &str) -> bool {
    if path.is_empty() {
        return true;
    }
    let Some(path) = path.strip_prefix('/') else {
        return false;
    };
    let path = path.strip_suffix('/').unwrap_or(path);
    path.is_empty() || path.split('/').all(is_plain_segment)
}

fn is_plain_segment(segment: &str) -> bool {
    if segment.is_empty() || segment == "." || segment == ".." {
        return false;
    }
    let bytes = segment.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => i += 1,
            b'%' => {
                let decoded = segment
                    .get(i + 1..i + 3)
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok());
                match decoded {
                    Some(b) if b >= 0x20 && b != 0x7f && !matches!(b, b'/' | b'\\' | b'.') => {
                        i += 3
                    }
                    _ => return false,
                }
            }
            _ => return false,
        }
    }
    true
}

/// Request a password reset link
///
/// 200 with the same body, in the same time, for every address: the lookup,
/// the token and the mail all happen in a background task. The mailed link is
/// `<base>/<reset token>`, where `<base>` is the `X-reset-base` header when it
/// is an allowed front-end origin followed by a plain path (no query,
/// fragment, empty or dot segment, or encoded `/`), else the configured
/// default. Limited per client address, and to one mail a minute per account.
#[utoipa::path(
    operation_id = "forgotPassword",
    tag = "passwords",
    params(
        ("X-reset-base" = Option<String>, Header, nullable = false,
            description = "Where the front-end's reset page lives, e.g. \
                `https://app.example.com/reset`; ignored unless under an allowed origin."),
    ),
    request_body = ForgotPasswordRequest,
    responses(
        (status = 200, description = "The same answer whether or not the address has an account.",
            body = MessageResponse),
        (status = 400, description = "Malformed JSON (`malformed_json`).", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
        (status = 429, response = TooManyAttempts),
        (status = 415, response = UnsupportedMediaType),
    ),
)]
#[post("/forgotpass", data = "<body>")]
pub async fn forgot(
    _limit: PerAddress<throttle::Forgot>,
    client: ClientInfo,
    db: &Db,
    state: &State<AppState>,
    reset_base: ResetBase,
    body: ApiJson<ForgotPasswordRequest>,
) -> ApiResult<Json<MessageResponse>> {
    let email = validate::forgot(&body.0.email)?;
    let base = reset_base
        .0
        .unwrap_or_else(|| state.config.reset_url.clone());
    let job = ForgotJob {
        db: Db(db.0.clone()),
        opaque: state.opaque.clone(),
        mailer: state.mailer.clone(),
        from: state.config.email_from.clone(),
        ttl: state.config.reset_token_ttl,
        cooldown: state.config.limits.forgot_cooldown,
        base,
        client,
    };
    rocket::tokio::spawn(job.run(email));
    Ok(Json(MessageResponse {
        success: true,
        message: FORGOT_MESSAGE.into(),
        feedback: Some(FORGOT_FEEDBACK.into()),
    }))
}

struct ForgotJob {
    db: Db,
    opaque: OpaqueTokens,
    mailer: mail::Mailer,
    from: String,
    ttl: std::time::Duration,
    /// At most one mail per account in this time, silently.
    cooldown: std::time::Duration,
    base: String,
    client: ClientInfo,
}

impl ForgotJob {
    async fn run(self, email: String) {
        if let Err(e) = self.send(&email).await {
            log::error!(target: "gatepass::mail", "reset request could not be processed: {e}");
        }
    }

    async fn send(&self, email: &str) -> Result<(), String> {
        let user = self
            .db
            .user_by_email(email)
            .await
            .map_err(|e| e.to_string())?;
        let user_id = user.as_ref().map(|u| u.id.as_str());
        record(
            &self.db,
            AuditEvent::ResetRequested,
            user_id,
            None,
            &self.client,
        )
        .await;
        let Some(user) = user else {
            return Ok(());
        };
        // One mail a minute per account, whatever the requests: the answer is
        // the same either way, so this tells a requester nothing.
        let window = self.cooldown.as_millis() as i64;
        let cooldown = self
            .db
            .throttle_hit(&format!("forgot:account:{}", user.id), window)
            .await
            .map_err(|e| e.to_string())?;
        if cooldown.hits > 1 {
            log::info!(target: "gatepass::mail", "reset mail for user {} skipped: cooldown", user.id);
            return Ok(());
        }
        let token = OpaqueTokens::generate();
        let hash = self.opaque.hash(Purpose::Reset, &token);
        self.db
            .put_reset_token(&user.id, &hash, self.ttl.as_millis() as i64)
            .await
            .map_err(|e| e.to_string())?;
        let link = format!("{}/{token}", self.base.trim_end_matches('/'));
        let message = mail::reset_link(&self.from, &user.email, &link, self.ttl.as_secs() / 60)
            .map_err(|e| e.to_string())?;
        self.mailer.send_in_background("reset-link", message);
        Ok(())
    }
}

/// Reset the password with a mailed token
///
/// Sets a new password with a reset token: single use, ends every session of
/// the user (and clears this client's refresh cookie), and mails a
/// confirmation. A 422 (weak password, mismatch) does not use the token up.
#[utoipa::path(
    operation_id = "resetPassword",
    tag = "passwords",
    params(("token" = String, Path, description = "The reset token: the last segment of the mailed link.")),
    request_body = ResetPasswordRequest,
    responses(
        (status = 200, description = "The password is reset; sign in with the new one.",
            body = MessageResponse,
            headers(("Set-Cookie" = String, description = "Clears the refresh cookie (`Max-Age=0`)."))),
        (status = 400, description = "The token is invalid, used or expired \
            (`invalid_reset_token`), or the JSON is malformed (`malformed_json`).", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
        (status = 403, response = OriginNotAllowed),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServerBusy),
    ),
)]
#[patch("/resetpass/<token>", data = "<body>")]
pub async fn reset(
    _origin: AllowedOrigin,
    client: ClientInfo,
    db: &Db,
    state: &State<AppState>,
    jar: &CookieJar<'_>,
    token: &str,
    body: ApiJson<ResetPasswordRequest>,
) -> ApiResult<Json<MessageResponse>> {
    if token.is_empty() || token.len() > 128 {
        return Err(ApiError::InvalidResetToken);
    }
    let hash = state.opaque.hash(Purpose::Reset, token);
    let user = db
        .reset_token_user(&hash)
        .await?
        .ok_or(ApiError::InvalidResetToken)?;
    let request = body.0;
    validate::new_password_pair(
        &request.password,
        &request.password_confirm,
        &[&user.first_name, &user.last_name, &user.email],
    )?;
    let password_hash = state.passwords.hash(&request.password).await?;

    let mut tx = db.0.begin().await?;
    if !db.consume_reset_token(&mut tx, &hash).await? {
        // Used (or expired) while we were hashing.
        return Err(ApiError::InvalidResetToken);
    }
    db.set_password_hash(&mut tx, &user.id, &password_hash)
        .await?;
    db.delete_reset_tokens(&mut tx, &user.id).await?;
    let ended = db.end_all_sessions(&mut tx, &user.id, None).await?;
    tx.commit().await?;
    clear_refresh_cookie(jar);
    record(
        db,
        AuditEvent::ResetCompleted,
        Some(&user.id),
        None,
        &client,
    )
    .await;
    log::info!(target: "gatepass::auth", "password reset ended {ended} session(s)");

    notify_password_changed(state, &user.email);
    Ok(Json(MessageResponse {
        success: true,
        message: "Your password has been reset. Sign in with the new password.".into(),
        feedback: None,
    }))
}

/// Change the password
///
/// Changes the signed-in user's password; every other session ends, this one
/// goes on, and outstanding reset links stop working. Wrong current passwords
/// count against the account's login limit (429 past it).
#[utoipa::path(
    operation_id = "changePassword",
    tag = "passwords",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "The password is changed.", body = MessageResponse),
        (status = 400, description = "The current password is wrong (`wrong_password`), or the \
            JSON is malformed (`malformed_json`).", body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
        (status = 429, response = TooManyAttempts),
        (status = 403, response = OriginNotAllowed),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServerBusy),
    ),
)]
#[post("/change-password", data = "<body>")]
pub async fn change(
    _origin: AllowedOrigin,
    auth: AuthUser,
    client: ClientInfo,
    db: &Db,
    state: &State<AppState>,
    body: ApiJson<ChangePasswordRequest>,
) -> ApiResult<Json<MessageResponse>> {
    let request = body.0;
    let user = &auth.user;
    if request.current_password.is_empty() {
        return Err(ApiError::field(
            "currentPassword",
            "Current password is required",
        ));
    }
    validate::new_password_pair(
        &request.password,
        &request.password_confirm,
        &[&user.first_name, &user.last_name, &user.email],
    )?;
    // Each check counts against the account's login limit: a stolen access
    // token is not a password-guessing oracle.
    let throttle = LoginThrottle::password_check(db, &state.config.limits, &user.email);
    if let Err(e) = throttle.attempt().await {
        record(
            db,
            AuditEvent::Throttled,
            Some(&user.id),
            Some(&auth.session_id),
            &client,
        )
        .await;
        return Err(e);
    }
    if !state
        .passwords
        .verify(&request.current_password, Some(&user.password_hash))
        .await?
    {
        return Err(ApiError::WrongPassword);
    }
    throttle.succeeded().await?;
    let password_hash = state.passwords.hash(&request.password).await?;

    let mut tx = db.0.begin().await?;
    db.set_password_hash(&mut tx, &user.id, &password_hash)
        .await?;
    db.delete_reset_tokens(&mut tx, &user.id).await?;
    let ended = db
        .end_all_sessions(&mut tx, &user.id, Some(&auth.session_id))
        .await?;
    tx.commit().await?;
    record(
        db,
        AuditEvent::PasswordChanged,
        Some(&user.id),
        Some(&auth.session_id),
        &client,
    )
    .await;
    log::info!(target: "gatepass::auth", "password change ended {ended} other session(s)");

    notify_password_changed(state, &user.email);
    Ok(Json(MessageResponse {
        success: true,
        message: "Your password has been changed. Other sessions were signed out.".into(),
        feedback: None,
    }))
}

fn notify_password_changed(state: &AppState, email: &str) {
    match mail::password_changed(&state.config.email_from, email) {
        Ok(message) => state.mailer.send_in_background("password-changed", message),
        Err(e) => log::error!(target: "gatepass::mail", "password-changed mail not built: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_base_must_be_an_allowed_origin_or_below_it() {
        let origins = vec![
            "http://localhost:3000".to_owned(),
            "https://app.example.com".to_owned(),
        ];
        assert!(is_allowed_reset_base("http://localhost:3000", &origins));
        assert!(is_allowed_reset_base(
            "https://app.example.com/reset",
            &origins
        ));
        assert!(!is_allowed_reset_base(
            "https://app.example.com.evil.net/reset",
            &origins
        ));
        assert!(!is_allowed_reset_base(
            "https://app.example.com@evil.net/",
            &origins
        ));
        assert!(!is_allowed_reset_base(
            "https://evil.net/?https://app.example.com",
            &origins
        ));
        assert!(!is_allowed_reset_base(
            "https://app.example.com/\"><script>",
            &origins
        ));
        assert!(!is_allowed_reset_base("http://localhost:30001/x", &origins));
    }

    #[test]
    fn reset_base_is_an_origin_and_a_plain_path_only() {
        let origins = vec!["http://localhost:3000".to_owned()];
        for good in [
            "http://localhost:3000/",
            "http://localhost:3000/change-pass",
            "http://localhost:3000/account/reset/",
            "http://localhost:3000/r%C3%A9initialiser",
            "http://localhost:3000/v1.2/reset_password~x",
        ] {
            assert!(is_allowed_reset_base(good, &origins), "{good}");
        }
        for bad in [
            "http://localhost:3000/redirect?to=https://evil.example/",
            "http://localhost:3000//evil.example/",
            "http://localhost:3000/reset#https://evil.example",
            "http://localhost:3000/a/../../evil",
            "http://localhost:3000/a/./b",
            "http://localhost:3000/%2F%2Fevil.example",
            "http://localhost:3000/a%2fb",
            "http://localhost:3000/%2e%2e/x",
            "http://localhost:3000/a%5cb",
            "http://localhost:3000/a%00b",
            "http://localhost:3000/a%zz",
            "http://localhost:3000/a b",
            "http://localhost:3000/a\\evil.example",
            "http://localhost:3000/@evil.example",
            "http://localhost:3000?x",
        ] {
            assert!(!is_allowed_reset_base(bad, &origins), "{bad}");
        }
    }
}
