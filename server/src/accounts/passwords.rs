//! The password flows: forgot (a mailed reset link), reset (with that
//! link's token), and change (signed in, with the current password).

use std::time::Duration;

use gatepass_common::{ChangePasswordRequest, ResetPasswordRequest};

use super::Accounts;
use crate::audit::{record, AuditEvent};
use crate::auth::opaque::{OpaqueTokens, Purpose};
use crate::auth::ClientInfo;
use crate::error::{ApiError, ApiResult};
use crate::mail::{self, Mailer};
use crate::state::AppState;
use crate::store::{Store, UserRecord};
use crate::throttle::LoginThrottle;
use crate::validate;

/// The longest reset token accepted; anything longer is not one of ours.
const MAX_RESET_TOKEN: usize = 128;

impl Accounts<'_> {
    /// Starts the forgot-password job for `email` and returns at once: the
    /// lookup, the token and the mail happen in the background, so every
    /// address gets the same answer in the same time. `reset_base`: where
    /// the link points (already checked with [`is_allowed_reset_base`]);
    /// `None` for the configured default.
    pub fn forgot(
        &self,
        email: &str,
        reset_base: Option<String>,
        client: &ClientInfo,
    ) -> ApiResult<()> {
        let email = validate::forgot(email)?;
        let config = &self.state.config;
        let job = ForgotJob {
            store: self.store.clone(),
            opaque: self.state.opaque.clone(),
            mailer: self.state.mailer.clone(),
            from: config.mail.email_from.clone(),
            ttl: config.tokens.reset_token_ttl,
            cooldown: config.limits.forgot_cooldown,
            base: reset_base.unwrap_or_else(|| config.mail.reset_url.clone()),
            client: client.clone(),
        };
        rocket::tokio::spawn(job.run(email));
        Ok(())
    }

    /// Sets a new password with a reset token: single use; ends every
    /// session of the user, stops their other reset links, and mails a
    /// confirmation. A 422 (weak password, mismatch) does not use the token
    /// up.
    pub async fn reset(
        &self,
        token: &str,
        request: &ResetPasswordRequest,
        client: &ClientInfo,
    ) -> ApiResult<()> {
        if token.is_empty() || token.len() > MAX_RESET_TOKEN {
            return Err(ApiError::InvalidResetToken);
        }
        let hash = self.state.opaque.hash(Purpose::Reset, token);
        let user = self
            .store
            .reset_token_user(&hash)
            .await?
            .ok_or(ApiError::InvalidResetToken)?;
        validate::new_password_pair(
            &request.password,
            &request.password_confirm,
            &[&user.first_name, &user.last_name, &user.email],
        )?;
        let password_hash = self.state.passwords.hash(&request.password).await?;

        let mut tx = self.store.transaction().await?;
        if !self.store.consume_reset_token(&mut tx, &hash).await? {
            // Used (or expired) while we were hashing.
            return Err(ApiError::InvalidResetToken);
        }
        self.store
            .set_password_hash(&mut tx, &user.id, &password_hash)
            .await?;
        self.store.delete_reset_tokens(&mut tx, &user.id).await?;
        let ended = self.sessions().end_all_in(&mut tx, &user.id, None).await?;
        tx.commit().await?;
        record(
            self.store,
            AuditEvent::ResetCompleted,
            Some(&user.id),
            None,
            client,
        )
        .await;
        log::info!(target: "gatepass::auth", "password reset ended {ended} session(s)");
        self.notify_password_changed(&user.email);
        Ok(())
    }

    /// Changes the signed-in `user`'s password (from their session
    /// `session_id`): every other session ends, this one goes on, and
    /// outstanding reset links stop working. Wrong current passwords count
    /// against the account's login limit, so a stolen access token is no
    /// password oracle.
    pub async fn change_password(
        &self,
        user: &UserRecord,
        session_id: &str,
        request: &ChangePasswordRequest,
        client: &ClientInfo,
    ) -> ApiResult<()> {
        if request.current_password.is_empty() {
            return Err(ApiError::field(
                "currentPassword",
                "Current password is required",
            ));
        }
        validate::new_password_pair(
            &request.password,
            &request.password_confirm,
            &[&user.first_name, &user.last_name, &user.email],
        )?;
        let throttle =
            LoginThrottle::password_check(self.store, &self.state.config.limits, &user.email);
        if let Err(e) = throttle.attempt().await {
            record(
                self.store,
                AuditEvent::Throttled,
                Some(&user.id),
                Some(session_id),
                client,
            )
            .await;
            return Err(e);
        }
        let passwords = &self.state.passwords;
        if !passwords
            .verify(&request.current_password, Some(&user.password_hash))
            .await?
        {
            return Err(ApiError::WrongPassword);
        }
        throttle.succeeded().await?;
        // With a second factor, a stolen access token and a guessed password
        // are not enough.
        self.step_up(user, session_id, request.code.as_deref(), client)
            .await?;
        let password_hash = passwords.hash(&request.password).await?;

        let mut tx = self.store.transaction().await?;
        self.store
            .set_password_hash(&mut tx, &user.id, &password_hash)
            .await?;
        self.store.delete_reset_tokens(&mut tx, &user.id).await?;
        let ended = self
            .sessions()
            .end_all_in(&mut tx, &user.id, Some(session_id))
            .await?;
        tx.commit().await?;
        record(
            self.store,
            AuditEvent::PasswordChanged,
            Some(&user.id),
            Some(session_id),
            client,
        )
        .await;
        log::info!(target: "gatepass::auth", "password change ended {ended} other session(s)");
        self.notify_password_changed(&user.email);
        Ok(())
    }

    fn notify_password_changed(&self, email: &str) {
        let state: &AppState = self.state;
        match mail::password_changed(&state.config.mail.email_from, email) {
            Ok(message) => state.mailer.send_in_background("password-changed", message),
            Err(e) => log::error!(target: "gatepass::mail", "password-changed mail not built: {e}"),
        }
    }
}

/// The background half of a forgot-password request.
struct ForgotJob {
    store: Store,
    opaque: OpaqueTokens,
    mailer: Mailer,
    from: String,
    ttl: Duration,
    /// At most one mail per account in this time, silently.
    cooldown: Duration,
    base: String,
    client: ClientInfo,
}

impl ForgotJob {
    async fn run(self, email: String) {
        if let Err(e) = self.send(&email).await {
            log::error!(target: "gatepass::mail", "reset request could not be processed: {e}");
        }
    }

    async fn send(&self, email: &str) -> Result<(), String> {
        let user = self
            .store
            .user_by_email(email)
            .await
            .map_err(|e| e.to_string())?;
        let user_id = user.as_ref().map(|u| u.id.as_str());
        record(
            &self.store,
            AuditEvent::ResetRequested,
            user_id,
            None,
            &self.client,
        )
        .await;
        // A disabled account gets no link, as an unknown address gets none:
        // the answer was the same either way.
        let Some(user) = user.filter(|u| !u.is_disabled()) else {
            return Ok(());
        };
        // One mail a minute per account, whatever the requests: the answer
        // is the same either way, so this tells a requester nothing.
        let window = self.cooldown.as_millis() as i64;
        let cooldown = self
            .store
            .throttle_hit(&format!("forgot:account:{}", user.id), window)
            .await
            .map_err(|e| e.to_string())?;
        if cooldown.hits > 1 {
            log::info!(target: "gatepass::mail", "reset mail for user {} skipped: cooldown", user.id);
            return Ok(());
        }
        let token = OpaqueTokens::generate();
        let hash = self.opaque.hash(Purpose::Reset, &token);
        self.store
            .put_reset_token(&user.id, &hash, self.ttl.as_millis() as i64)
            .await
            .map_err(|e| e.to_string())?;
        let link = format!("{}/{token}", self.base.trim_end_matches('/'));
        let message = mail::reset_link(&self.from, &user.email, &link, self.ttl.as_secs() / 60)
            .map_err(|e| e.to_string())?;
        self.mailer.send_in_background("reset-link", message);
        Ok(())
    }
}

/// True when `base` is one of `origins` followed by nothing but a plain path:
/// no query, no fragment, no empty (`//`) or dot segment, no percent-encoded
/// `/`, `\` or `.`. Anything more could turn one open redirect on the
/// front-end into a leaked reset token (`/redirect?to=https://evil.example/`,
/// `//evil.example/`); a look-alike such as `https://app.example.com.evil.net`
/// is no allowed origin at all.
pub fn is_allowed_reset_base(base: &str, origins: &[String]) -> bool {
    base.len() <= 2048
        && origins.iter().any(|origin| {
            base.strip_prefix(origin.as_str())
                .is_some_and(is_plain_path)
        })
}

/// `""`, `"/"` or `/segment/segment[/]`, each segment of unreserved
/// characters or percent-encoded bytes that are not `/`, `\`, `.` or controls.
fn is_plain_path(path: &str) -> bool {
    if path.is_empty() {
        return true;
    }
    let Some(path) = path.strip_prefix('/') else {
        return false;
    };
    let path = path.strip_suffix('/').unwrap_or(path);
    path.is_empty() || path.split('/').all(is_plain_segment)
}

fn is_plain_segment(segment: &str) -> bool {
    if segment.is_empty() || segment == "." || segment == ".." {
        return false;
    }
    let bytes = segment.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => i += 1,
            b'%' => {
                let decoded = segment
                    .get(i + 1..i + 3)
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok());
                match decoded {
                    Some(b) if b >= 0x20 && b != 0x7f && !matches!(b, b'/' | b'\\' | b'.') => {
                        i += 3
                    }
                    _ => return false,
                }
            }
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_base_must_be_an_allowed_origin_or_below_it() {
        let origins = vec![
            "http://localhost:3000".to_owned(),
            "https://app.example.com".to_owned(),
        ];
        assert!(is_allowed_reset_base("http://localhost:3000", &origins));
        assert!(is_allowed_reset_base(
            "https://app.example.com/reset",
            &origins
        ));
        assert!(!is_allowed_reset_base(
            "https://app.example.com.evil.net/reset",
            &origins
        ));
        assert!(!is_allowed_reset_base(
            "https://app.example.com@evil.net/",
            &origins
        ));
        assert!(!is_allowed_reset_base(
            "https://evil.net/?https://app.example.com",
            &origins
        ));
        assert!(!is_allowed_reset_base(
            "https://app.example.com/\"><script>",
            &origins
        ));
        assert!(!is_allowed_reset_base("http://localhost:30001/x", &origins));
    }

    #[test]
    fn reset_base_is_an_origin_and_a_plain_path_only() {
        let origins = vec!["http://localhost:3000".to_owned()];
        for good in [
            "http://localhost:3000/",
            "http://localhost:3000/change-pass",
            "http://localhost:3000/account/reset/",
            "http://localhost:3000/r%C3%A9initialiser",
            "http://localhost:3000/v1.2/reset_password~x",
        ] {
            assert!(is_allowed_reset_base(good, &origins), "{good}");
        }
        for bad in [
            "http://localhost:3000/redirect?to=https://evil.example/",
            "http://localhost:3000//evil.example/",
            "http://localhost:3000/reset#https://evil.example",
            "http://localhost:3000/a/../../evil",
            "http://localhost:3000/a/./b",
            "http://localhost:3000/%2F%2Fevil.example",
            "http://localhost:3000/a%2fb",
            "http://localhost:3000/%2e%2e/x",
            "http://localhost:3000/a%5cb",
            "http://localhost:3000/a%00b",
            "http://localhost:3000/a%zz",
            "http://localhost:3000/a b",
            "http://localhost:3000/a\\evil.example",
            "http://localhost:3000/@evil.example",
            "http://localhost:3000?x",
        ] {
            assert!(!is_allowed_reset_base(bad, &origins), "{bad}");
        }
    }
}
