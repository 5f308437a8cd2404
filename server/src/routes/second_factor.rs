//! The second factor: TOTP enrolment, recovery codes, turning it off, and the
//! step that completes a sign-in which answered `mfa_required`.

use gatepass_common::{
    AuthResponse, ErrorBody, LoginSecondFactorRequest, MessageResponse, RecoveryCodesResponse,
    SecondFactorStatus, TotpCodeRequest, TotpDisableRequest, TotpSetupRequest, TotpSetupResponse,
};
use rocket::http::CookieJar;
use rocket::serde::json::Json;
use rocket::{delete, get, post};

use super::guards::{AuthUser, SessionUser};
use super::responses::{
    OriginNotAllowed, PayloadTooLarge, SignedIn, TooManyAttempts, Unauthorized,
    UnsupportedMediaType,
};
use super::users::signed_in;
use crate::accounts::Accounts;
use crate::auth::ClientInfo;
use crate::cors::AllowedOrigin;
use crate::error::ApiResult;
use crate::json::ApiJson;

/// Complete a sign-in with a second factor
///
/// The `mfaToken` of `/login`'s 403 `mfa_required` and a code from the
/// authenticator app (`code`) or a recovery code (`recoveryCode`): 200 with
/// exactly what `/login` answers (user, access token, refresh cookie). Wrong
/// codes count against the account's login limit, whichever challenge they
/// came with; each code is accepted once.
#[utoipa::path(
    operation_id = "loginSecondFactor",
    tag = "two-factor",
    request_body = LoginSecondFactorRequest,
    responses(
        (status = 200, response = SignedIn),
        (status = 400, description = "A wrong or used code (`invalid_code`), an unknown, used or \
            expired challenge (`invalid_mfa_token`), or malformed JSON.", body = ErrorBody),
        (status = 403, response = OriginNotAllowed),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Neither or both of `code` and `recoveryCode`.", body = ErrorBody),
        (status = 429, response = TooManyAttempts),
    ),
)]
#[post("/login/2fa", data = "<body>")]
pub async fn login_second_factor(
    _origin: AllowedOrigin,
    accounts: Accounts<'_>,
    client: ClientInfo,
    jar: &CookieJar<'_>,
    body: ApiJson<LoginSecondFactorRequest>,
) -> ApiResult<Json<AuthResponse>> {
    let session = accounts.login_second_factor(&body.0, &client).await?;
    Ok(signed_in(jar, session))
}

/// The second factor's state
#[utoipa::path(
    operation_id = "secondFactorStatus",
    tag = "two-factor",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Whether sign-in asks for a code, and how many recovery \
            codes are left.", body = SecondFactorStatus),
        (status = 401, response = Unauthorized),
    ),
)]
#[get("/2fa")]
pub async fn status(auth: AuthUser, accounts: Accounts<'_>) -> ApiResult<Json<SecondFactorStatus>> {
    Ok(Json(accounts.second_factor_status(&auth.user).await?))
}

/// Set up TOTP
///
/// The password again, then a new secret for the authenticator app, as a
/// base32 string and an `otpauth://` URI (draw it as a QR code). Nothing is
/// on until `/2fa/totp/confirm`; a new setup replaces one not confirmed.
#[utoipa::path(
    operation_id = "totpSetup",
    tag = "two-factor",
    security(("bearer" = [])),
    request_body = TotpSetupRequest,
    responses(
        (status = 200, description = "The secret.", body = TotpSetupResponse),
        (status = 400, description = "A wrong password (`wrong_password`).", body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = OriginNotAllowed),
        (status = 409, description = "TOTP is on already (`totp_enabled`).", body = ErrorBody),
        (status = 429, response = TooManyAttempts),
    ),
)]
#[post("/2fa/totp/setup", data = "<body>")]
pub async fn setup(
    _origin: AllowedOrigin,
    auth: SessionUser,
    accounts: Accounts<'_>,
    client: ClientInfo,
    body: ApiJson<TotpSetupRequest>,
) -> ApiResult<Json<TotpSetupResponse>> {
    let answer = accounts
        .setup_totp(
            &auth.user,
            &auth.session_id,
            &body.0.current_password,
            &client,
        )
        .await?;
    Ok(Json(answer))
}

/// Turn TOTP on
///
/// A right code from the app turns it on and answers ten single-use recovery
/// codes, shown this once. The account's sessions go on.
#[utoipa::path(
    operation_id = "totpConfirm",
    tag = "two-factor",
    security(("bearer" = [])),
    request_body = TotpCodeRequest,
    responses(
        (status = 200, description = "On; the recovery codes.", body = RecoveryCodesResponse),
        (status = 400, description = "A wrong code (`invalid_code`).", body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = OriginNotAllowed),
        (status = 409, description = "On already (`totp_enabled`), or never set up \
            (`totp_not_enabled`).", body = ErrorBody),
        (status = 429, response = TooManyAttempts),
    ),
)]
#[post("/2fa/totp/confirm", data = "<body>")]
pub async fn confirm(
    _origin: AllowedOrigin,
    auth: SessionUser,
    accounts: Accounts<'_>,
    client: ClientInfo,
    body: ApiJson<TotpCodeRequest>,
) -> ApiResult<Json<RecoveryCodesResponse>> {
    let answer = accounts
        .confirm_totp(&auth.user, &auth.session_id, &body.0.code, &client)
        .await?;
    Ok(Json(answer))
}

/// New recovery codes
///
/// A code from the app (or a recovery code): ten new recovery codes replace
/// the old ones.
#[utoipa::path(
    operation_id = "recoveryCodes",
    tag = "two-factor",
    security(("bearer" = [])),
    request_body = TotpCodeRequest,
    responses(
        (status = 200, description = "The new codes.", body = RecoveryCodesResponse),
        (status = 400, description = "A wrong code (`invalid_code`).", body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = OriginNotAllowed),
        (status = 409, description = "TOTP is not on (`totp_not_enabled`).", body = ErrorBody),
        (status = 429, response = TooManyAttempts),
    ),
)]
#[post("/2fa/recovery-codes", data = "<body>")]
pub async fn recovery_codes(
    _origin: AllowedOrigin,
    auth: SessionUser,
    accounts: Accounts<'_>,
    client: ClientInfo,
    body: ApiJson<TotpCodeRequest>,
) -> ApiResult<Json<RecoveryCodesResponse>> {
    let answer = accounts
        .regenerate_recovery_codes(&auth.user, &auth.session_id, &body.0.code, &client)
        .await?;
    Ok(Json(answer))
}

/// Turn TOTP off
///
/// The password and a code from the app (or a recovery code).
#[utoipa::path(
    operation_id = "totpDisable",
    tag = "two-factor",
    security(("bearer" = [])),
    request_body = TotpDisableRequest,
    responses(
        (status = 200, description = "Off.", body = MessageResponse),
        (status = 400, description = "A wrong password (`wrong_password`) or code \
            (`invalid_code`).", body = ErrorBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = OriginNotAllowed),
        (status = 409, description = "TOTP is not on (`totp_not_enabled`).", body = ErrorBody),
        (status = 429, response = TooManyAttempts),
    ),
)]
#[delete("/2fa/totp", data = "<body>")]
pub async fn disable(
    _origin: AllowedOrigin,
    auth: SessionUser,
    accounts: Accounts<'_>,
    client: ClientInfo,
    body: ApiJson<TotpDisableRequest>,
) -> ApiResult<Json<MessageResponse>> {
    accounts
        .disable_totp(&auth.user, &auth.session_id, &body.0, &client)
        .await?;
    Ok(Json(MessageResponse {
        success: true,
        message: "Two-factor sign-in is off.".into(),
        feedback: None,
    }))
}
