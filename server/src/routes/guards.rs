//! The request guards: what a handler knows before it runs. Each turns the
//! request into a plain value of the layers below (who is calling, the
//! signed-in user, the domain services), or fails with the one error type,
//! remembered for the catcher.

use std::marker::PhantomData;

use rocket::request::{FromRequest, Outcome, Request};

use crate::accounts::Accounts;
use crate::auth::ClientInfo;
use crate::error::{remember, ApiError, ApiResult};
use crate::sessions::{personal_token_id, Sessions};
use crate::state::AppState;
use crate::store::{Db, Store, UserRecord};
use crate::throttle::{count_per_address, Limited};

/// The store and the application state of this request's server.
async fn parts<'r>(request: &'r Request<'_>) -> ApiResult<(&'r Store, &'r AppState)> {
    let state = AppState::of(request)?;
    let db = request
        .guard::<&Db>()
        .await
        .success_or_else(|| ApiError::internal("database pool missing"))?;
    Ok((&db.0, state))
}

fn outcome<T>(request: &Request<'_>, result: ApiResult<T>) -> Outcome<T, ApiError> {
    match result {
        Ok(value) => Outcome::Success(value),
        Err(e) => Outcome::Error(remember(request, e)),
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Accounts<'r> {
    type Error = ApiError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ApiError> {
        let parts = parts(request).await;
        outcome(
            request,
            parts.map(|(store, state)| Accounts::new(store, state)),
        )
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Sessions<'r> {
    type Error = ApiError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ApiError> {
        let parts = parts(request).await;
        outcome(
            request,
            parts.map(|(store, state)| Sessions::new(store, state)),
        )
    }
}

/// Who is calling: the socket's address, or the trusted proxy's header.
#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientInfo {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(client_of(request))
    }
}

fn client_of(request: &Request<'_>) -> ClientInfo {
    let proxy = AppState::of(request)
        .ok()
        .and_then(|state| state.config.server.trusted_proxy.as_ref());
    ClientInfo::of(request, proxy)
}

/// The signed-in user of this request: a valid access token of a live
/// session.
pub struct AuthUser {
    pub user: UserRecord,
    pub session_id: String,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AuthUser {
    type Error = ApiError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ApiError> {
        let user = authenticate(request).await;
        outcome(request, user)
    }
}

impl AuthUser {
    /// Whether the access token was minted from a personal access token
    /// rather than by a signed-in session.
    pub fn is_personal_token(&self) -> bool {
        personal_token_id(&self.session_id).is_some()
    }
}

/// The signed-in user of a signed-in session: what an access token minted
/// from a personal access token may not do (make or list tokens, change the
/// password, manage the second factor, sign out) answers 403
/// `session_required`.
pub struct SessionUser {
    pub user: UserRecord,
    pub session_id: String,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SessionUser {
    type Error = ApiError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ApiError> {
        let user = authenticate(request).await.and_then(|auth| {
            if auth.is_personal_token() {
                Err(ApiError::SessionRequired)
            } else {
                Ok(SessionUser {
                    user: auth.user,
                    session_id: auth.session_id,
                })
            }
        });
        outcome(request, user)
    }
}

async fn authenticate(request: &Request<'_>) -> ApiResult<AuthUser> {
    let token = bearer_token(request)?;
    let (store, state) = parts(request).await?;
    let claims = state.access_tokens.verify(token)?;
    let user = Sessions::new(store, state)
        .live_user(&claims.sid, &claims.sub)
        .await?;
    Ok(AuthUser {
        user,
        session_id: claims.sid,
    })
}

/// The token of `Authorization: Bearer <token>`.
fn bearer_token<'r>(request: &'r Request<'_>) -> ApiResult<&'r str> {
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

/// Counts the request against its address's limit of kind `L` and answers
/// 429 (with `Retry-After`) past it.
pub struct PerAddress<L: Limited>(PhantomData<L>);

#[rocket::async_trait]
impl<'r, L: Limited> FromRequest<'r> for PerAddress<L> {
    type Error = ApiError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ApiError> {
        let counted = async {
            let (store, state) = parts(request).await?;
            let address = client_of(request).address();
            count_per_address::<L>(store, &state.config.limits, &address).await
        }
        .await;
        outcome(request, counted.map(|()| PerAddress(PhantomData)))
    }
}
