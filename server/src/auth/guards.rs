//! Request guards: `AuthUser` (a valid access token of a live session) and
//! `ClientInfo` (the caller's address and user agent, for sessions and logs).

use std::net::IpAddr;

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

/// Who is calling: the client address (from the socket, or the trusted proxy
/// header when one is configured) and the user agent.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    pub fn of(request: &Request<'_>) -> ClientInfo {
        let user_agent = request
            .headers()
            .get_one("User-Agent")
            .map(|ua| ua.chars().filter(|c| !c.is_control()).take(256).collect());
        ClientInfo {
            ip: request.client_ip(),
            user_agent,
        }
    }

    /// The address as a throttle key.
    pub fn address(&self) -> String {
        self.ip
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientInfo {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(ClientInfo::of(request))
    }
}
