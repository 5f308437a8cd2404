//! Sessions: starting one (for signup and login), refreshing with rotation,
//! listing, and ending one or all.

use gatepass_common::{ErrorBody, ReauthResponse, SessionsResponse};
use rocket::http::{CookieJar, Status};
use rocket::serde::json::Json;
use rocket::{delete, get, post, State};

use crate::audit::{record, AuditEvent};
use crate::auth::cookie::{clear_refresh_cookie, refresh_token, set_refresh_cookie};
use crate::auth::opaque::{OpaqueTokens, Purpose};
use crate::auth::{AuthUser, ClientInfo};
use crate::cors::AllowedOrigin;
use crate::db::{Db, Tx};
use crate::error::{ApiError, ApiResult};
use crate::openapi::{OriginNotAllowed, Refreshed, SignedOut, TooManyAttempts, Unauthorized};
use crate::state::AppState;
use crate::store::{now_ms, SessionRecord};
use crate::throttle::{self, PerAddress};

/// Starts a session for `user_id` on `conn` (part of the caller's
/// transaction, if any), sets its refresh cookie, and returns its first access
/// token, with the new session's id.
pub async fn start_session(
    db: &Db,
    tx: &mut Tx,
    state: &AppState,
    jar: &CookieJar<'_>,
    user_id: &str,
    client: &ClientInfo,
) -> ApiResult<(String, String)> {
    let session_id = uuid::Uuid::new_v4().to_string();
    let refresh = OpaqueTokens::generate_refresh(&session_id);
    let hash = state.opaque.hash(Purpose::Refresh, &refresh);
    let sealed = state.opaque.seal(&session_id, &refresh);
    let session = db
        .insert_session(
            tx,
            &session_id,
            user_id,
            &hash,
            &sealed,
            client.user_agent.as_deref(),
            state.refresh_ttl_ms(),
        )
        .await?;
    let access_token = state.access_tokens.issue(user_id, &session.id)?;
    set_refresh_cookie(jar, refresh, state.config.refresh_token_ttl);
    Ok((session.id, access_token))
}

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
    db: &Db,
    state: &State<AppState>,
    jar: &CookieJar<'_>,
) -> ApiResult<(Status, Json<ReauthResponse>)> {
    let token = refresh_token(jar).ok_or(ApiError::MissingRefreshToken)?;
    let hash = state.opaque.hash(Purpose::Refresh, &token);

    let named = OpaqueTokens::refresh_session_id(&token);
    let session_id = match named {
        Some(id) => Some(id.to_owned()),
        // A token from before tokens named their session: found by its hash,
        // once (its rotation hands out one that names it).
        None => db
            .find_refresh_token(None, &hash)
            .await?
            .filter(|found| found.retired_at.is_none())
            .map(|found| found.session.id),
    };

    // The common case in one statement: the token is a live session's
    // current one, and rotates.
    let rotated = match &session_id {
        Some(session_id) => {
            let new_token = OpaqueTokens::generate_refresh(session_id);
            let new_hash = state.opaque.hash(Purpose::Refresh, &new_token);
            let new_sealed = state.opaque.seal(session_id, &new_token);
            db.rotate_refresh_token(
                session_id,
                &hash,
                &new_hash,
                &new_sealed,
                state.refresh_ttl_ms(),
            )
            .await?
            .map(|session| (session, new_token))
        }
        None => None,
    };
    let (session, cookie_token) = match rotated {
        Some(rotated) => rotated,
        None => match refresh_miss(db, state, named, &hash).await? {
            Miss::Raced(session, current) => (session, current),
            Miss::Invalid => {
                clear_refresh_cookie(jar);
                return Err(ApiError::InvalidRefreshToken);
            }
            Miss::Reused(session) => {
                db.end_session(&session.id).await?;
                clear_refresh_cookie(jar);
                log::warn!(target: "gatepass::auth", "refresh token reuse detected: session {} ended", session.id);
                record(
                    db,
                    AuditEvent::RefreshReused,
                    Some(&session.user_id),
                    Some(&session.id),
                    &client,
                )
                .await;
                return Err(ApiError::RefreshTokenReused);
            }
        },
    };

    let access_token = state.access_tokens.issue(&session.user_id, &session.id)?;
    set_refresh_cookie(jar, cookie_token, state.config.refresh_token_ttl);
    record(
        db,
        AuditEvent::Refreshed,
        Some(&session.user_id),
        Some(&session.id),
        &client,
    )
    .await;
    Ok((
        Status::Created,
        Json(ReauthResponse {
            success: true,
            access_token,
        }),
    ))
}

/// What a refresh token that did not rotate is.
enum Miss {
    /// Retired within the grace window (another tab, or a server beside this
    /// one, rotated it a moment ago): the session and its current token.
    Raced(SessionRecord, String),
    /// Retired before the grace window: a replay, so possibly stolen.
    Reused(SessionRecord),
    /// Unknown, or its session is over.
    Invalid,
}

async fn refresh_miss(
    db: &Db,
    state: &AppState,
    named: Option<&str>,
    hash: &[u8],
) -> ApiResult<Miss> {
    let Some(found) = db.find_refresh_token(named, hash).await? else {
        return Ok(Miss::Invalid);
    };
    let session = found.session;
    let now = now_ms();
    if !session.is_live(now) {
        return Ok(Miss::Invalid);
    }
    let grace_ms = state.config.refresh_reuse_grace.as_millis() as i64;
    match found.retired_at {
        // Current and live, yet it did not rotate a moment ago: only a race
        // with the clock could do that. The caller holds the current token,
        // so answering with it (unrotated) gives nothing away.
        None => {
            let current = current_token(db, state, &session.id).await?;
            Ok(Miss::Raced(session, current))
        }
        Some(retired_at) if now - retired_at < grace_ms => {
            let current = current_token(db, state, &session.id).await?;
            Ok(Miss::Raced(session, current))
        }
        Some(_) => Ok(Miss::Reused(session)),
    }
}

/// The session's current refresh token, for a client that lost a rotation race.
async fn current_token(db: &Db, state: &AppState, session_id: &str) -> ApiResult<String> {
    let (_hash, sealed) = db
        .current_refresh_token(session_id)
        .await?
        .ok_or(ApiError::InvalidRefreshToken)?;
    state
        .opaque
        .unseal(session_id, &sealed)
        .ok_or_else(|| ApiError::internal("a sealed refresh token does not unseal"))
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
    auth: AuthUser,
    client: ClientInfo,
    db: &Db,
    jar: &CookieJar<'_>,
) -> ApiResult<Status> {
    db.end_session(&auth.session_id).await?;
    clear_refresh_cookie(jar);
    record(
        db,
        AuditEvent::Logout,
        Some(&auth.user.id),
        Some(&auth.session_id),
        &client,
    )
    .await;
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
    auth: AuthUser,
    client: ClientInfo,
    db: &Db,
    jar: &CookieJar<'_>,
) -> ApiResult<Status> {
    let mut tx = db.0.begin().await?;
    db.end_all_sessions(&mut tx, &auth.user.id, None).await?;
    tx.commit().await?;
    clear_refresh_cookie(jar);
    record(
        db,
        AuditEvent::MasterLogout,
        Some(&auth.user.id),
        Some(&auth.session_id),
        &client,
    )
    .await;
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
pub async fn list(auth: AuthUser, db: &Db) -> ApiResult<Json<SessionsResponse>> {
    let sessions = db.live_sessions(&auth.user.id).await?;
    Ok(Json(SessionsResponse {
        success: true,
        sessions: sessions.iter().map(|s| s.info(&auth.session_id)).collect(),
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
    auth: AuthUser,
    client: ClientInfo,
    db: &Db,
    jar: &CookieJar<'_>,
    id: &str,
) -> ApiResult<Status> {
    // Parsed before any query: a malformed id (a NUL byte, say) is simply
    // not found.
    let id = uuid::Uuid::try_parse(id)
        .map_err(|_| ApiError::SessionNotFound)?
        .hyphenated()
        .to_string();
    let id = id.as_str();
    if !db.end_user_session(&auth.user.id, id).await? {
        return Err(ApiError::SessionNotFound);
    }
    if id == auth.session_id {
        clear_refresh_cookie(jar);
    }
    record(
        db,
        AuditEvent::SessionRevoked,
        Some(&auth.user.id),
        Some(id),
        &client,
    )
    .await;
    Ok(Status::NoContent)
}
