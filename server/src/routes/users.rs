//! Signup, login, and looking users up.

use gatepass_common::{
    AuthResponse, ErrorBody, LoginRequest, MfaRequiredBody, SignupRequest, UserResponse,
    UserViewResponse,
};
use rocket::http::{CookieJar, Status};
use rocket::serde::json::Json;
use rocket::{get, post};

use super::guards::{AuthUser, PerAddress};
use super::responses::{
    OriginNotAllowed, PayloadTooLarge, ServerBusy, SignedIn, TooManyAttempts, Unauthorized,
    UnsupportedMediaType, ValidationFailed,
};
use super::set_session_cookie;
use crate::accounts::{Accounts, SignedIn as Session};
use crate::auth::password::Connection;
use crate::auth::ClientInfo;
use crate::cors::AllowedOrigin;
use crate::error::ApiResult;
use crate::json::ApiJson;
use crate::throttle;

/// The answer to a signup or login: the user and the first access token,
/// with the session's refresh cookie.
pub(super) fn signed_in(jar: &CookieJar<'_>, signed_in: Session) -> Json<AuthResponse> {
    set_session_cookie(jar, &signed_in.session);
    Json(AuthResponse {
        success: true,
        user: signed_in.user.public(),
        access_token: signed_in.session.access_token,
    })
}

/// Create an account and sign in
///
/// 201 `{success, user, accessToken}` and a refresh cookie. A 422 names
/// invalid fields: a weak or common password, or an email already in use.
/// Limited per client address.
#[utoipa::path(
    operation_id = "signup",
    tag = "users",
    request_body = SignupRequest,
    responses(
        (status = 201, response = SignedIn),
        (status = 400, description = "Malformed JSON (`malformed_json`).", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
        (status = 429, response = TooManyAttempts),
        (status = 403, response = OriginNotAllowed),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServerBusy),
    ),
)]
#[post("/signup", data = "<body>")]
pub async fn signup(
    _origin: AllowedOrigin,
    _limit: PerAddress<throttle::Signup>,
    accounts: Accounts<'_>,
    client: ClientInfo,
    jar: &CookieJar<'_>,
    body: ApiJson<SignupRequest>,
) -> ApiResult<(Status, Json<AuthResponse>)> {
    let session = accounts.signup(&body.0, &client).await?;
    Ok((Status::Created, signed_in(jar, session)))
}

/// Sign in
///
/// 200 `{success, user, accessToken}` and a refresh cookie; one answer, in one
/// time, for an unknown email and a wrong password. With two-factor sign-in
/// on, the right password answers 403 `mfa_required` with `mfaToken` (no
/// token, no cookie): `POST /login/2fa` completes it.
#[utoipa::path(
    operation_id = "login",
    tag = "users",
    request_body = LoginRequest,
    responses(
        (status = 200, response = SignedIn),
        (status = 400, description = "Wrong email or password (`invalid_credentials`, the same \
            for both), or malformed JSON (`malformed_json`).", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = ValidationFailed),
        (status = 429, response = TooManyAttempts),
        (status = 403, description = "The right password of an account with two-factor sign-in \
            (`mfa_required`, with `mfaToken`: complete it at `/login/2fa`), or a page whose origin \
            is not allowed (`origin_not_allowed`).", body = MfaRequiredBody,
            example = json!({"error": "Second factor required", "code": "mfa_required",
                "feedback": "Enter the code from your authenticator app (or a recovery code).",
                "mfaToken": "3q2-7wE1uXyTbq9kQ0cP3lW3gq2bXxv1G6s0Jv9YcHk"})),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServerBusy),
    ),
)]
#[post("/login", data = "<body>")]
pub async fn login(
    _origin: AllowedOrigin,
    accounts: Accounts<'_>,
    client: ClientInfo,
    connection: Connection,
    jar: &CookieJar<'_>,
    body: ApiJson<LoginRequest>,
) -> ApiResult<Json<AuthResponse>> {
    let session = accounts.login(&body.0, &connection, &client).await?;
    Ok(signed_in(jar, session))
}

/// The signed-in user
#[utoipa::path(
    operation_id = "getMe",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in user.", body = UserResponse),
        (status = 401, response = Unauthorized),
    ),
)]
#[get("/me")]
pub fn me(auth: AuthUser) -> Json<UserResponse> {
    Json(UserResponse {
        success: true,
        user: auth.user.public(),
    })
}

/// A user by id
///
/// The caller's own id answers the full user, as `/me` does; anyone else's
/// answers their public profile only (`id`, `firstName`, `lastName`,
/// `createdAt`), never their email. A malformed id is simply not found.
#[utoipa::path(
    operation_id = "getUser",
    tag = "users",
    params(("id" = String, Path, description = "The user's id (a UUID).")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller (the full user, with `email`), or another \
            user's public profile (no `email`).", body = UserViewResponse),
        (status = 401, response = Unauthorized),
        (status = 404, description = "No such user, or a malformed id (`user_not_found`).",
            body = ErrorBody),
    ),
)]
#[get("/<id>")]
pub async fn user_by_id(
    auth: AuthUser,
    accounts: Accounts<'_>,
    id: &str,
) -> ApiResult<Json<UserViewResponse>> {
    Ok(Json(UserViewResponse {
        success: true,
        user: accounts.view(&auth.user, id).await?,
    }))
}
