//! Forgot, reset and change password.

use gatepass_common::{
    ChangePasswordRequest, ErrorBody, ForgotPasswordRequest, MessageResponse, ResetPasswordRequest,
    RESET_BASE_HEADER,
};
use rocket::http::CookieJar;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::serde::json::Json;
use rocket::{patch, post};

use super::guards::{PerAddress, SessionUser};
use super::responses::{
    OriginNotAllowed, PayloadTooLarge, ServerBusy, TooManyAttempts, Unauthorized,
    UnsupportedMediaType, ValidationFailed,
};
use crate::accounts::{is_allowed_reset_base, Accounts};
use crate::auth::cookie::clear_refresh_cookie;
use crate::auth::ClientInfo;
use crate::cors::AllowedOrigin;
use crate::error::ApiResult;
use crate::json::ApiJson;
use crate::state::AppState;
use crate::throttle;

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
                .filter(|base| is_allowed_reset_base(base, &state.config.server.cors_origins))
                .map(str::to_owned)
        });
        Outcome::Success(ResetBase(allowed))
    }
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
    accounts: Accounts<'_>,
    reset_base: ResetBase,
    body: ApiJson<ForgotPasswordRequest>,
) -> ApiResult<Json<MessageResponse>> {
    accounts.forgot(&body.0.email, reset_base.0, &client)?;
    Ok(Json(MessageResponse {
        success: true,
        message: FORGOT_MESSAGE.into(),
        feedback: Some(FORGOT_FEEDBACK.into()),
    }))
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
    accounts: Accounts<'_>,
    jar: &CookieJar<'_>,
    token: &str,
    body: ApiJson<ResetPasswordRequest>,
) -> ApiResult<Json<MessageResponse>> {
    accounts.reset(token, &body.0, &client).await?;
    clear_refresh_cookie(jar);
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
    auth: SessionUser,
    client: ClientInfo,
    accounts: Accounts<'_>,
    body: ApiJson<ChangePasswordRequest>,
) -> ApiResult<Json<MessageResponse>> {
    accounts
        .change_password(&auth.user, &auth.session_id, &body.0, &client)
        .await?;
    Ok(Json(MessageResponse {
        success: true,
        message: "Your password has been changed. Other sessions were signed out.".into(),
        feedback: None,
    }))
}
