//! Personal access tokens as sessions of their own: a token (`gp_pat_…`) is
//! exchanged for short-lived access tokens whose `sid` names it
//! ([`PERSONAL_SID_PREFIX`] and its id), so that revoking it stops them on
//! this server's routes at once, as ending a session does. No refresh
//! token, no cookie: a script exchanges again.

use super::Sessions;
use crate::audit::{record, AuditEvent};
use crate::auth::opaque::{Purpose, PERSONAL_TOKEN_PREFIX};
use crate::auth::ClientInfo;
use crate::error::{ApiError, ApiResult};
use crate::throttle;

/// What begins the `sid` of an access token minted from a personal token.
pub const PERSONAL_SID_PREFIX: &str = "pat-";

/// The personal token that `sid` names, if it names one (session ids are
/// UUIDs, which never start with the prefix).
pub fn personal_token_id(sid: &str) -> Option<&str> {
    sid.strip_prefix(PERSONAL_SID_PREFIX)
}

impl Sessions<'_> {
    /// An access token for the holder of the personal token `token`.
    /// Counted per token and (by the route's guard) per address; failures
    /// are audited without the secret. Unknown, expired, revoked or of a
    /// disabled user: 401 `invalid_api_token`.
    pub async fn exchange_personal_token(
        &self,
        token: &str,
        client: &ClientInfo,
    ) -> ApiResult<String> {
        let hash = self.state.opaque.hash(Purpose::PersonalToken, token);
        // The bucket names the token by a prefix of its HMAC, never by itself.
        let bucket: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
        if let Err(e) =
            throttle::count_per_token(self.store, &self.state.config.limits, &bucket).await
        {
            record(self.store, AuditEvent::Throttled, None, None, client).await;
            return Err(e);
        }
        let found = if token.starts_with(PERSONAL_TOKEN_PREFIX) {
            self.store.use_personal_token(&hash).await?
        } else {
            None
        };
        let Some((user, token_id, _expires_at)) = found else {
            record(
                self.store,
                AuditEvent::PersonalTokenRefused,
                None,
                None,
                client,
            )
            .await;
            return Err(ApiError::InvalidApiToken);
        };
        let sid = format!("{PERSONAL_SID_PREFIX}{token_id}");
        let access_token = self.state.access_tokens.issue(&user.id, &sid)?;
        record(
            self.store,
            AuditEvent::PersonalTokenExchanged,
            Some(&user.id),
            Some(&sid),
            client,
        )
        .await;
        Ok(access_token)
    }

    /// Revokes `user_id`'s personal token `token_id`: it and the access
    /// tokens it minted stop working here at once (other servers: within
    /// the session cache's lifetime). 404 for no such live token of theirs.
    pub async fn revoke_personal_token(
        &self,
        user_id: &str,
        token_id: &str,
        session_id: &str,
        client: &ClientInfo,
    ) -> ApiResult<()> {
        if !self.store.revoke_personal_token(user_id, token_id).await? {
            return Err(ApiError::TokenNotFound);
        }
        let sid = format!("{PERSONAL_SID_PREFIX}{token_id}");
        self.state.session_cache.invalidate_session(&sid);
        record(
            self.store,
            AuditEvent::PersonalTokenRevoked,
            Some(user_id),
            Some(session_id),
            client,
        )
        .await;
        Ok(())
    }
}
