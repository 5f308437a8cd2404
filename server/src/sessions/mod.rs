//! The session lifecycle: start one (signup, login), refresh it with
//! rotation, end one, end all, revoke one, and recognise a live one on
//! every protected request.
//!
//! A session is a row in `sessions` whose current refresh token is kept as
//! an HMAC (and sealed, see `auth/opaque.rs`). Each refresh rotates it: the
//! old token is retired, and presenting a retired token again is either a
//! race (two tabs refreshing at once, within `AUTH_REFRESH_REUSE_GRACE`) or a
//! replay (later: the token may be stolen, so the session ends). The
//! decisions here are plain functions of what the store found ([`classify`]),
//! so they are tested without a database.
//!
//! The session cache (see `cache.rs`) is this layer's to keep right: every
//! method that ends a session forgets it there, at once.

use std::time::Duration;

use crate::audit::{record, AuditEvent};
use crate::auth::opaque::{OpaqueTokens, Purpose};
use crate::auth::ClientInfo;
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::metrics::{self, RefreshOutcome};
use crate::state::AppState;
use crate::store::{now_ms, RefreshLookup, SessionRecord, Store, UserRecord};

mod personal;
#[cfg(test)]
pub(crate) mod tests;

pub use personal::{personal_token_id, PERSONAL_SID_PREFIX};

/// The session lifecycle, on one store with the server's keys and settings.
pub struct Sessions<'a> {
    store: &'a Store,
    state: &'a AppState,
}

/// What a client holds for a session: its id, an access token, and the
/// refresh token for its cookie.
#[derive(Debug)]
pub struct Grant {
    pub session_id: String,
    pub user_id: String,
    pub access_token: String,
    /// The refresh cookie's new value; `None`: leave the cookie as it is.
    pub refresh_token: Option<String>,
    /// How long the refresh token lives (renewed by every rotation).
    pub refresh_ttl: Duration,
}

/// What a refresh did.
#[derive(Debug)]
pub enum Refresh {
    /// The token was the session's current one: rotated.
    Rotated(Grant),
    /// The token was retired a moment ago (another tab or server rotated
    /// it): the session's current token, unrotated.
    Raced(Grant),
    /// The token was retired before the grace window: a replay. The session
    /// has ended.
    Reused,
    /// Unknown, malformed, or its session is over.
    Invalid,
}

/// What a refresh token that did not rotate is: [`classify`]'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// Current, or retired within the grace window: answer with the
    /// session's current token.
    Raced,
    /// Retired before the grace window.
    Reused,
    /// Unknown, or its session is over.
    Invalid,
}

/// The refresh state machine's decision for a token that did not rotate,
/// from what the store found for it (`None`: nothing) at `now`.
pub fn classify(found: Option<&RefreshLookup>, now: i64, grace: Duration) -> Miss {
    let Some(found) = found else {
        return Miss::Invalid;
    };
    if !found.session.is_live(now) {
        return Miss::Invalid;
    }
    match found.retired_at {
        // Current and live, yet it did not rotate a moment ago: only a race
        // with the clock (the session's expiry) could do that. The caller
        // holds the current token, so answering with it gives nothing away.
        None => Miss::Raced,
        Some(retired_at) if now - retired_at < grace.as_millis() as i64 => Miss::Raced,
        Some(_) => Miss::Reused,
    }
}

impl<'a> Sessions<'a> {
    pub fn new(store: &'a Store, state: &'a AppState) -> Sessions<'a> {
        Sessions { store, state }
    }

    fn refresh_ttl_ms(&self) -> i64 {
        self.state.config.tokens.refresh_token_ttl.as_millis() as i64
    }

    /// A new refresh token for `session_id`: the token, its hash, and its
    /// sealed copy.
    fn new_refresh_token(&self, session_id: &str) -> (String, Vec<u8>, Vec<u8>) {
        let token = OpaqueTokens::generate_refresh(session_id);
        let hash = self.state.opaque.hash(Purpose::Refresh, &token);
        let sealed = self.state.opaque.seal(session_id, &token);
        (token, hash, sealed)
    }

    fn grant(&self, session: &SessionRecord, refresh_token: Option<String>) -> ApiResult<Grant> {
        Ok(Grant {
            access_token: self
                .state
                .access_tokens
                .issue(&session.user_id, &session.id)?,
            session_id: session.id.clone(),
            user_id: session.user_id.clone(),
            refresh_token,
            refresh_ttl: self.state.config.tokens.refresh_token_ttl,
        })
    }

    /// Starts a session for `user_id`, inside the caller's transaction (the
    /// account it belongs to may be new in it).
    pub async fn start(&self, tx: &mut Tx, user_id: &str, client: &ClientInfo) -> ApiResult<Grant> {
        let session_id = uuid::Uuid::new_v4().to_string();
        let (token, hash, sealed) = self.new_refresh_token(&session_id);
        let session = self
            .store
            .insert_session(
                tx,
                &session_id,
                user_id,
                &hash,
                &sealed,
                client.user_agent.as_deref(),
                self.refresh_ttl_ms(),
            )
            .await?;
        self.grant(&session, Some(token))
    }

    /// Refreshes with the refresh token `token`: see [`Refresh`].
    pub async fn refresh(&self, token: &str, client: &ClientInfo) -> ApiResult<Refresh> {
        let Some(session_id) = OpaqueTokens::refresh_session_id(token) else {
            return Ok(Refresh::Invalid);
        };
        let hash = self.state.opaque.hash(Purpose::Refresh, token);

        // The common case in one statement: the token is a live session's
        // current one, and rotates.
        let (new_token, new_hash, new_sealed) = self.new_refresh_token(session_id);
        let rotated = self
            .store
            .rotate_refresh_token(
                session_id,
                &hash,
                &new_hash,
                &new_sealed,
                self.refresh_ttl_ms(),
            )
            .await?;
        if let Some(session) = rotated {
            let grant = self.grant(&session, Some(new_token))?;
            self.audit(AuditEvent::Refreshed, &session, client).await;
            metrics::refresh(RefreshOutcome::Rotated);
            return Ok(Refresh::Rotated(grant));
        }

        let found = self.store.find_refresh_token(session_id, &hash).await?;
        let grace = self.state.config.tokens.refresh_reuse_grace;
        match (classify(found.as_ref(), now_ms(), grace), found) {
            (Miss::Raced, Some(found)) => {
                let session = found.session;
                let current = self.current_token(&session.id).await?;
                let grant = self.grant(&session, current)?;
                self.audit(AuditEvent::Refreshed, &session, client).await;
                metrics::refresh(RefreshOutcome::Raced);
                Ok(Refresh::Raced(grant))
            }
            (Miss::Reused, Some(found)) => {
                let session = found.session;
                self.store.end_session(&session.id).await?;
                self.state.session_cache.invalidate_session(&session.id);
                log::warn!(target: "gatepass::auth", "refresh token reuse detected: session {} ended", session.id);
                self.audit(AuditEvent::RefreshReused, &session, client)
                    .await;
                metrics::refresh(RefreshOutcome::Reused);
                Ok(Refresh::Reused)
            }
            _ => {
                metrics::refresh(RefreshOutcome::Invalid);
                Ok(Refresh::Invalid)
            }
        }
    }

    /// The session's current refresh token, for a client that lost a
    /// rotation race; `None` when it cannot be unsealed (sealed by a key or
    /// format this server no longer has), so the client keeps its cookie.
    async fn current_token(&self, session_id: &str) -> ApiResult<Option<String>> {
        let Some((_, sealed)) = self.store.current_refresh_token(session_id).await? else {
            return Ok(None);
        };
        let current = self.state.opaque.unseal(session_id, &sealed);
        if current.is_none() {
            log::warn!(target: "gatepass::auth", "session {session_id}: its current refresh token does not unseal");
        }
        Ok(current)
    }

    async fn audit(&self, event: AuditEvent, session: &SessionRecord, client: &ClientInfo) {
        record(
            self.store,
            event,
            Some(&session.user_id),
            Some(&session.id),
            client,
        )
        .await;
    }

    /// The user of the live session `session_id`, if it is `user_id`'s:
    /// what every protected request needs. From the session cache when it
    /// can be, else one query.
    pub async fn live_user(&self, session_id: &str, user_id: &str) -> ApiResult<UserRecord> {
        let cache = &self.state.session_cache;
        if let Some(user) = cache.get(session_id, user_id, now_ms()) {
            return Ok(user);
        }
        let ticket = cache.ticket();
        let found = match personal_token_id(session_id) {
            Some(token_id) => {
                self.store
                    .live_personal_token_user(token_id, user_id)
                    .await?
            }
            None => self.store.live_session_user(session_id, user_id).await?,
        };
        match found {
            Some((user, expires_at)) => {
                cache.put(ticket, session_id, &user, expires_at);
                Ok(user)
            }
            None => Err(ApiError::SessionRevoked),
        }
    }

    /// Signs out: ends the session `session_id` of `user_id`.
    pub async fn end(&self, user_id: &str, session_id: &str, client: &ClientInfo) -> ApiResult<()> {
        self.store.end_session(session_id).await?;
        self.state.session_cache.invalidate_session(session_id);
        record(
            self.store,
            AuditEvent::Logout,
            Some(user_id),
            Some(session_id),
            client,
        )
        .await;
        Ok(())
    }

    /// Ends the session `session_id` that was just started, without an
    /// audit event of its own (the caller records why: a login whose
    /// account was disabled meanwhile).
    pub async fn withdraw(&self, session_id: &str) -> ApiResult<()> {
        self.store.end_session(session_id).await?;
        self.state.session_cache.invalidate_session(session_id);
        Ok(())
    }

    /// Signs out everywhere: ends every session of `user_id` (asked from
    /// its session `session_id`).
    pub async fn end_all(
        &self,
        user_id: &str,
        session_id: &str,
        client: &ClientInfo,
    ) -> ApiResult<()> {
        let mut tx = self.store.transaction().await?;
        self.end_all_in(&mut tx, user_id, None).await?;
        tx.commit().await?;
        record(
            self.store,
            AuditEvent::MasterLogout,
            Some(user_id),
            Some(session_id),
            client,
        )
        .await;
        Ok(())
    }

    /// Ends every session of `user_id` but `keep`, inside the caller's
    /// transaction (a password change or reset). Returns how many ended.
    pub async fn end_all_in(
        &self,
        tx: &mut Tx,
        user_id: &str,
        keep: Option<&str>,
    ) -> ApiResult<u64> {
        let ended = self.store.end_all_sessions(tx, user_id, keep).await?;
        // Before the commit: the cache holds the user uncached for a moment,
        // so rows read before the commit cannot be cached meanwhile.
        self.state.session_cache.invalidate_user(user_id);
        Ok(ended)
    }

    /// Ends `user_id`'s session `id` (one of theirs, from the session
    /// list); anyone else's, or a malformed id, is not found. Returns the
    /// ended session's id, in its canonical form.
    pub async fn revoke(&self, user_id: &str, id: &str, client: &ClientInfo) -> ApiResult<String> {
        // Parsed before any query: a malformed id (a NUL byte, say) is
        // simply not found.
        let id = uuid::Uuid::try_parse(id)
            .map_err(|_| ApiError::SessionNotFound)?
            .hyphenated()
            .to_string();
        let ended = self.store.end_user_session(user_id, &id).await?;
        self.state.session_cache.invalidate_session(&id);
        if !ended {
            return Err(ApiError::SessionNotFound);
        }
        record(
            self.store,
            AuditEvent::SessionRevoked,
            Some(user_id),
            Some(&id),
            client,
        )
        .await;
        Ok(id)
    }

    /// The live sessions of `user_id`, most recently used first.
    pub async fn live(&self, user_id: &str) -> ApiResult<Vec<SessionRecord>> {
        Ok(self.store.live_sessions(user_id).await?)
    }
}
