//! Sessions: refreshing with rotation, listing, and ending one or all.

use gatepass_common::{ErrorBody, ReauthResponse, SessionsResponse};
use rocket::http::{CookieJar, Status};
use rocket::serde::json::Json;
use rocket::{delete, get, post};

use super::guards::{AuthUser, PerAddress, SessionUser};
use super::responses::{OriginNotAllowed, Refreshed, SignedOut, TooManyAttempts, Unauthorized};
use super::set_session_cookie;
use crate::auth::cookie::{clear_refresh_cookie, refresh_token};
use crate::auth::ClientInfo;
use crate::cors::AllowedOrigin;
use crate::error::{ApiError, ApiResult};
use crate::sessions::{Refresh, Sessions};
use crate::throttle;

/// Refresh the access token
///
/// 201 `{success, accessToken}` and a rotated refresh cookie. Authorised by the
/// refresh cookie alone (an `Authorization` header, even expired, is ignored),
/// so a page on an origin that is not allowed gets 403. Limited per client
/// address.
///
/// The presented token is either the session's current one (rotate it), one
/// retired within the grace window (two tabs or processes refreshing at once:
/// answer with the session's current cookie), or one retired earlier: a
/// replay, so the session is ended.
#[utoipa::path(
    operation_id = "reauth",
    tag = "sessions",
    security(("refreshCookie" = [])),
    responses(
        (status = 201, response = Refreshed),
        (status = 401, response = Unauthorized),
        (status = 403, response = OriginNotAllowed),
        (status = 429, response = TooManyAttempts),
    ),
)]
#[post("/reauth")]
pub async fn reauth(
    _origin: AllowedOrigin,
    _limit: PerAddress<throttle::Reauth>,
    client: ClientInfo,
    sessions: Sessions<'_>,
    jar: &CookieJar<'_>,
) -> ApiResult<(Status, Json<ReauthResponse>)> {
    let token = refresh_token(jar).ok_or(ApiError::MissingRefreshToken)?;
    let grant = match sessions.refresh(&token, &client).await? {
        Refresh::Rotated(grant) | Refresh::Raced(grant) => grant,
        Refresh::Reused => {
            clear_refresh_cookie(jar);
            return Err(ApiError::RefreshTokenReused);
        }
        Refresh::Invalid => {
            clear_refresh_cookie(jar);
            return Err(ApiError::InvalidRefreshToken);
        }
    };
    set_session_cookie(jar, &grant);
    Ok((
        Status::Created,
        Json(ReauthResponse {
            success: true,
            access_token: grant.access_token,
        }),
    ))
}

/// Sign out
///
/// 205: ends this session and clears the cookie. The session's access tokens
/// stop working here at once.
#[utoipa::path(
    operation_id = "logout",
    tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 205, response = SignedOut),
        (status = 401, response = Unauthorized),
        (status = 403, response = OriginNotAllowed),
    ),
)]
#[post("/logout")]
pub async fn logout(
    _origin: AllowedOrigin,
    auth: SessionUser,
    client: ClientInfo,
    sessions: Sessions<'_>,
    jar: &CookieJar<'_>,
) -> ApiResult<Status> {
    sessions
        .end(&auth.user.id, &auth.session_id, &client)
        .await?;
    clear_refresh_cookie(jar);
    Ok(Status::ResetContent)
}

/// Sign out everywhere
///
/// 205: ends every session of the user, on every device, and clears the cookie.
#[utoipa::path(
    operation_id = "masterLogout",
    tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 205, response = SignedOut),
        (status = 401, response = Unauthorized),
        (status = 403, response = OriginNotAllowed),
    ),
)]
#[post("/master-logout")]
pub async fn master_logout(
    _origin: AllowedOrigin,
    auth: SessionUser,
    client: ClientInfo,
    sessions: Sessions<'_>,
    jar: &CookieJar<'_>,
) -> ApiResult<Status> {
    sessions
        .end_all(&auth.user.id, &auth.session_id, &client)
        .await?;
    clear_refresh_cookie(jar);
    Ok(Status::ResetContent)
}

/// The user's live sessions
///
/// Every live session of the signed-in user (ASVS 3.3.4); `current` marks the
/// one the request was made with.
#[utoipa::path(
    operation_id = "listSessions",
    tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The live sessions.", body = SessionsResponse),
        (status = 401, response = Unauthorized),
    ),
)]
#[get("/sessions")]
pub async fn list(auth: AuthUser, sessions: Sessions<'_>) -> ApiResult<Json<SessionsResponse>> {
    let live = sessions.live(&auth.user.id).await?;
    Ok(Json(SessionsResponse {
        success: true,
        sessions: live.iter().map(|s| s.info(&auth.session_id)).collect(),
    }))
}

/// End one session
///
/// 204: ends one of the user's own sessions; anyone else's is not found. Ending
/// the current session also clears the refresh cookie.
#[utoipa::path(
    operation_id = "revokeSession",
    tag = "sessions",
    params(("id" = String, Path, description = "A session id from `GET /api/users/sessions`.")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session has ended; no body."),
        (status = 401, response = Unauthorized),
        (status = 404, description = "No such session of this user (`session_not_found`).",
            body = ErrorBody),
        (status = 403, response = OriginNotAllowed),
    ),
)]
#[delete("/sessions/<id>")]
pub async fn revoke(
    _origin: AllowedOrigin,
    auth: SessionUser,
    client: ClientInfo,
    sessions: Sessions<'_>,
    jar: &CookieJar<'_>,
    id: &str,
) -> ApiResult<Status> {
    let ended = sessions.revoke(&auth.user.id, id, &client).await?;
    if ended == auth.session_id {
        clear_refresh_cookie(jar);
    }
    Ok(Status::NoContent)
}
