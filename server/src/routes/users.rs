//! Signup, login, and looking users up.

use gatepass_common::{
    AuthResponse, ErrorBody, LoginRequest, SignupRequest, UserResponse, UserView, UserViewResponse,
};
use rocket::http::{CookieJar, Status};
use rocket::serde::json::Json;
use rocket::{get, post, State};

use super::sessions::start_session;
use crate::audit::{record, AuditEvent};
use crate::auth::{AuthUser, ClientInfo};
use crate::cors::AllowedOrigin;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::json::ApiJson;
use crate::openapi::{
    OriginNotAllowed, PayloadTooLarge, ServerBusy, SignedIn, TooManyAttempts, Unauthorized,
    UnsupportedMediaType, ValidationFailed,
};
use crate::state::AppState;
use crate::store::{is_unique_violation, NewUser};
use crate::throttle::{self, LoginThrottle, PerAddress};
use crate::validate;

fn email_taken() -> ApiError {
    ApiError::field("email", "Email is already in use")
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
    db: &Db,
    state: &State<AppState>,
    client: ClientInfo,
    jar: &CookieJar<'_>,
    body: ApiJson<SignupRequest>,
) -> ApiResult<(Status, Json<AuthResponse>)> {
    let request = body.0;
    let valid = validate::signup(&request)?;
    // Saves a bcrypt hash in the common case; the unique index below is what
    // decides when two signups race.
    if db.user_by_email(&valid.email).await?.is_some() {
        return Err(email_taken());
    }
    let password_hash = state.passwords.hash(&request.password).await?;

    let mut tx = db.0.begin().await?;
    let new_user = NewUser {
        first_name: &valid.first_name,
        last_name: &valid.last_name,
        email: &valid.email,
        password_hash: &password_hash,
    };
    let user = match db.insert_user(&mut tx, new_user).await {
        Err(e) if is_unique_violation(&e) => return Err(email_taken()),
        other => other?,
    };
    let (session_id, access_token) =
        start_session(db, &mut tx, state, jar, &user.id, &client).await?;
    tx.commit().await?;
    record(
        db,
        AuditEvent::Signup,
        Some(&user.id),
        Some(&session_id),
        &client,
    )
    .await;

    Ok((
        Status::Created,
        Json(AuthResponse {
            success: true,
            user: user.public(),
            access_token,
        }),
    ))
}

/// Sign in
///
/// 200 `{success, user, accessToken}` and a refresh cookie; one answer, in one
/// time, for an unknown email and a wrong password.
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
        (status = 403, response = OriginNotAllowed),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServerBusy),
    ),
)]
#[post("/login", data = "<body>")]
pub async fn login(
    _origin: AllowedOrigin,
    db: &Db,
    state: &State<AppState>,
    client: ClientInfo,
    connection: crate::auth::password::Connection,
    jar: &CookieJar<'_>,
    body: ApiJson<LoginRequest>,
) -> ApiResult<Json<AuthResponse>> {
    let request = body.0;
    let email = validate::login(&request)?;
    // Counted before the password is checked, so a burst cannot walk past
    // the limit (see throttle.rs).
    let throttle = LoginThrottle::login(db, &state.config.limits, &email, &client);
    if let Err(e) = throttle.attempt().await {
        record(db, AuditEvent::Throttled, None, None, &client).await;
        return Err(e);
    }
    let user = db.user_by_email(&email).await?;
    let hash = user.as_ref().map(|u| u.password_hash.as_str());
    // Not hashed for a client that has hung up (a flood's clients time out).
    let matches = state
        .passwords
        .verify_for(&connection, &request.password, hash)
        .await?;
    let user = match user {
        Some(user) if matches => user,
        other => {
            let user_id = other.as_ref().map(|u| u.id.as_str());
            record(db, AuditEvent::LoginFailed, user_id, None, &client).await;
            return Err(ApiError::InvalidCredentials);
        }
    };
    throttle.succeeded().await?;

    let mut tx = db.0.begin().await?;
    let (session_id, access_token) =
        start_session(db, &mut tx, state, jar, &user.id, &client).await?;
    tx.commit().await?;
    record(
        db,
        AuditEvent::LoginSucceeded,
        Some(&user.id),
        Some(&session_id),
        &client,
    )
    .await;
    Ok(Json(AuthResponse {
        success: true,
        user: user.public(),
        access_token,
    }))
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
pub async fn user_by_id(auth: AuthUser, db: &Db, id: &str) -> ApiResult<Json<UserViewResponse>> {
    let id = uuid::Uuid::parse_str(id)
        .map_err(|_| ApiError::UserNotFound)?
        .hyphenated()
        .to_string();
    let user = if id == auth.user.id {
        UserView::Full(auth.user.public())
    } else {
        let other = db.user_by_id(&id).await?.ok_or(ApiError::UserNotFound)?;
        UserView::Public(other.profile())
    };
    Ok(Json(UserViewResponse {
        success: true,
        user,
    }))
}
