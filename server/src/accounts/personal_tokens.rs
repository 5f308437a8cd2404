//! Personal access tokens for scripts and CI: made by a signed-in user (with
//! a code when two-factor sign-in is on), listed without their secrets.
//! Exchanging and revoking them is `sessions/personal.rs`'s.

use std::time::Duration;

use gatepass_common::{CreateTokenRequest, CreatedTokenResponse, PersonalToken};

use super::Accounts;
use crate::audit::{record, AuditEvent};
use crate::auth::opaque::{OpaqueTokens, Purpose};
use crate::auth::ClientInfo;
use crate::config::parse_duration;
use crate::error::{ApiError, ApiResult};
use crate::store::personal_tokens::PersonalTokenRecord;
use crate::store::{now_ms, rfc3339, UserRecord};

/// A token's lifetime when the request names none.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(90 * 86_400);
/// The longest lifetime a token may have.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(365 * 86_400);
const MAX_NAME_CHARS: usize = 100;

fn wire(record: &PersonalTokenRecord) -> PersonalToken {
    PersonalToken {
        id: record.id.clone(),
        name: record.name.clone(),
        created_at: rfc3339(record.created_at),
        expires_at: rfc3339(record.expires_at),
        last_used_at: record.last_used_at.map(rfc3339),
    }
}

/// The name, trimmed; 422 for an empty, long or control-character one.
fn valid_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::field("name", "Name is required"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::field(
            "name",
            format!("Name must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::field(
            "name",
            "Name must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// The lifetime asked for; 422 past a year or under a minute.
fn valid_lifetime(expires_in: Option<&str>) -> ApiResult<Duration> {
    let Some(text) = expires_in.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(DEFAULT_TOKEN_LIFETIME);
    };
    let lifetime = parse_duration(text)
        .map_err(|e| ApiError::field("expiresIn", format!("expiresIn is invalid: {e}")))?;
    if lifetime > MAX_TOKEN_LIFETIME || lifetime < Duration::from_secs(1) {
        return Err(ApiError::field(
            "expiresIn",
            "expiresIn must be between 1s and 365d",
        ));
    }
    Ok(lifetime)
}

impl Accounts<'_> {
    /// `POST /tokens`: a new token, shown this once.
    pub async fn create_personal_token(
        &self,
        user: &UserRecord,
        session_id: &str,
        request: &CreateTokenRequest,
        client: &ClientInfo,
    ) -> ApiResult<CreatedTokenResponse> {
        let name = valid_name(&request.name)?;
        let lifetime = valid_lifetime(request.expires_in.as_deref())?;
        self.step_up(user, session_id, request.code.as_deref(), client)
            .await?;
        let token = OpaqueTokens::generate_personal();
        let hash = self.state.opaque.hash(Purpose::PersonalToken, &token);
        let id = uuid::Uuid::new_v4().to_string();
        let expires_at = now_ms() + lifetime.as_millis() as i64;
        let stored = self
            .store
            .insert_personal_token(&id, &user.id, &name, &hash, expires_at)
            .await?;
        record(
            self.store,
            AuditEvent::PersonalTokenCreated,
            Some(&user.id),
            Some(session_id),
            client,
        )
        .await;
        let shown = wire(&stored);
        Ok(CreatedTokenResponse {
            success: true,
            id: shown.id,
            name: shown.name,
            created_at: shown.created_at,
            expires_at: shown.expires_at,
            token,
        })
    }

    /// `GET /tokens`: the user's live tokens, newest first.
    pub async fn personal_tokens(&self, user: &UserRecord) -> ApiResult<Vec<PersonalToken>> {
        Ok(self
            .store
            .personal_tokens(&user.id)
            .await?
            .iter()
            .map(wire)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_lifetimes_are_checked() {
        assert_eq!(valid_name("  deploy  ").unwrap(), "deploy");
        for bad in ["", "   ", "a\u{7}b", &"x".repeat(101)] {
            assert!(valid_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(valid_lifetime(None).unwrap(), DEFAULT_TOKEN_LIFETIME);
        assert_eq!(
            valid_lifetime(Some("30d")).unwrap(),
            Duration::from_secs(30 * 86_400)
        );
        assert_eq!(valid_lifetime(Some("365d")).unwrap(), MAX_TOKEN_LIFETIME);
        for bad in ["366d", "0s", "soon", "-1d"] {
            assert!(valid_lifetime(Some(bad)).is_err(), "{bad:?}");
        }
    }
}
