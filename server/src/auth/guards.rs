//! The request guard `AuthUser`: a valid access token of a live session.
//! (`ClientInfo`, the caller's address and user agent, is in `client.rs`.)

use rocket::request::{FromRequest, Outcome, Request};

use crate::db::Db;
use crate::error::{remember, ApiError};
use crate::state::AppState;
use crate::store::UserRecord;

/// The signed-in user of this request and the session the token belongs to.
pub struct AuthUser {
    pub user: UserRecord,
    pub session_id: String,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AuthUser {
    type Error = ApiError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ApiError> {
        match authenticate(request).await {
            Ok(user) => Outcome::Success(user),
            Err(e) => Outcome::Error(remember(request, e)),
        }
    }
}

async fn authenticate(request: &Request<'_>) -> Result<AuthUser, ApiError> {
    let token = bearer_token(request)?;
    let state = AppState::of(request)?;
    let claims = state.access_tokens.verify(token)?;
    let db = request
        .guard::<&Db>()
        .await
        .success_or_else(|| ApiError::internal("database pool missing"))?;
    match db.live_session_user(&claims.sid, &claims.sub).await? {
        Some(user) => Ok(AuthUser {
            user,
            session_id: claims.sid,
        }),
        None => Err(ApiError::SessionRevoked),
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer_token<'r>(request: &'r Request<'_>) -> Result<&'r str, ApiError> {
    let header = request
        .headers()
        .get_one("Authorization")
        .ok_or(ApiError::MissingAccessToken)?;
    let (scheme, token) = header.trim().split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::MissingAccessToken);
    }
    match token.trim() {
        "" => Err(ApiError::InvalidAccessToken),
        token => Ok(token),
    }
}
