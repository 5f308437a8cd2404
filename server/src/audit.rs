//! The audit trail: every authentication event goes to the `audit_events`
//! table and to one structured log line, with the time, the user when known,
//! the client address and user agent. Never a secret.

use crate::auth::ClientInfo;
use crate::store::{now_ms, AuditRow, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    Signup,
    LoginSucceeded,
    LoginFailed,
    Throttled,
    Refreshed,
    RefreshReused,
    Logout,
    MasterLogout,
    ResetRequested,
    ResetCompleted,
    PasswordChanged,
    SessionRevoked,
    /// An operator's command (`gatepass-server users ...`).
    UserCreated,
    UserDisabled,
    UserEnabled,
    UserDeleted,
    /// The second factor: a secret handed out (not on yet), turned on, off,
    /// new recovery codes; a right password that opened a challenge; a wrong
    /// code; a recovery code used up.
    TotpSetup,
    TotpEnabled,
    TotpDisabled,
    RecoveryCodesRegenerated,
    MfaChallenged,
    MfaFailed,
    RecoveryCodeUsed,
    /// Personal access tokens: made, exchanged for an access token, refused
    /// (unknown, expired, revoked: never the secret), revoked.
    PersonalTokenCreated,
    PersonalTokenExchanged,
    PersonalTokenRefused,
    PersonalTokenRevoked,
}

impl AuditEvent {
    pub fn name(self) -> &'static str {
        match self {
            AuditEvent::Signup => "signup",
            AuditEvent::LoginSucceeded => "login_succeeded",
            AuditEvent::LoginFailed => "login_failed",
            AuditEvent::Throttled => "throttled",
            AuditEvent::Refreshed => "refreshed",
            AuditEvent::RefreshReused => "refresh_reused",
            AuditEvent::Logout => "logout",
            AuditEvent::MasterLogout => "master_logout",
            AuditEvent::ResetRequested => "reset_requested",
            AuditEvent::ResetCompleted => "reset_completed",
            AuditEvent::PasswordChanged => "password_changed",
            AuditEvent::SessionRevoked => "session_revoked",
            AuditEvent::UserCreated => "user_created",
            AuditEvent::UserDisabled => "user_disabled",
            AuditEvent::UserEnabled => "user_enabled",
            AuditEvent::UserDeleted => "user_deleted",
            AuditEvent::TotpSetup => "totp_setup",
            AuditEvent::TotpEnabled => "totp_enabled",
            AuditEvent::TotpDisabled => "totp_disabled",
            AuditEvent::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            AuditEvent::MfaChallenged => "mfa_challenged",
            AuditEvent::MfaFailed => "mfa_failed",
            AuditEvent::RecoveryCodeUsed => "recovery_code_used",
            AuditEvent::PersonalTokenCreated => "personal_token_created",
            AuditEvent::PersonalTokenExchanged => "personal_token_exchanged",
            AuditEvent::PersonalTokenRefused => "personal_token_refused",
            AuditEvent::PersonalTokenRevoked => "personal_token_revoked",
        }
    }
}

/// Records `event`: the log line at once, the row through the store's audit
/// writer, and a count by its name (`metrics`). A failure to store the row
/// is logged, not returned: the log line still carries the event, and the
/// user's request should not fail for the bookkeeping.
pub async fn record(
    store: &Store,
    event: AuditEvent,
    user_id: Option<&str>,
    session_id: Option<&str>,
    client: &ClientInfo,
) {
    crate::metrics::auth_event(event.name());
    let address = client.ip.map(|ip| ip.to_string());
    tracing::info!(
        target: "gatepass::audit",
        request_id = client.request_id.as_deref().unwrap_or("-"),
        "event={} user={} session={} ip={} ua={:?}",
        event.name(),
        user_id.unwrap_or("-"),
        session_id.unwrap_or("-"),
        address.as_deref().unwrap_or("-"),
        client.user_agent.as_deref().unwrap_or("-"),
    );
    store
        .insert_audit_event(AuditRow {
            at: now_ms(),
            event: event.name(),
            user_id: user_id.map(str::to_owned),
            session_id: session_id.map(str::to_owned),
            ip: address,
            user_agent: client.user_agent.clone(),
            operator: None,
        })
        .await;
}

/// Records `event`, made by an operator's command run by the OS user
/// `operator` on the account `user_id`: the log line, and the row.
pub async fn record_operator(store: &Store, event: AuditEvent, user_id: &str, operator: &str) {
    crate::metrics::auth_event(event.name());
    log::info!(
        target: "gatepass::audit",
        "event={} user={user_id} operator={operator:?}",
        event.name(),
    );
    store
        .insert_audit_event(AuditRow {
            at: now_ms(),
            event: event.name(),
            user_id: Some(user_id.to_owned()),
            session_id: None,
            ip: None,
            user_agent: None,
            operator: Some(operator.to_owned()),
        })
        .await;
}
