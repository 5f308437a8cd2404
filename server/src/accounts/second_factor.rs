//! The second factor: TOTP enrolment (setup, then confirm with a code),
//! recovery codes, turning it off, and the codes that complete a sign-in or
//! step up a password change.
//!
//! Every code check counts against the account's login limit before the code
//! is looked at, like a password (`throttle.rs`), whatever challenge or
//! route it came with; each TOTP step is accepted once per account and each
//! recovery code once (`store/second_factor.rs`), so a code seen over a
//! shoulder or in a log cannot be replayed.

use gatepass_common::{
    LoginSecondFactorRequest, RecoveryCodesResponse, SecondFactorStatus, TotpDisableRequest,
    TotpSetupResponse,
};

use super::{Accounts, SignedIn};
use crate::audit::{record, AuditEvent};
use crate::auth::opaque::{OpaqueTokens, Purpose};
use crate::auth::totp::{self, TotpSeal};
use crate::auth::ClientInfo;
use crate::error::{ApiError, ApiResult};
use crate::mail;
use crate::state::AppState;
use crate::store::second_factor::TotpRecord;
use crate::store::UserRecord;
use crate::throttle::LoginThrottle;

/// How a second factor was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    Totp,
    RecoveryCode,
}

/// What a failed proof is in the audit trail: a refusal past the login
/// limit, or a wrong code.
fn failed_proof(error: &ApiError) -> AuditEvent {
    match error {
        ApiError::TooManyAttempts { .. } => AuditEvent::Throttled,
        _ => AuditEvent::MfaFailed,
    }
}

fn now_secs() -> u64 {
    time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64
}

impl Accounts<'_> {
    fn totp_seal(&self) -> TotpSeal {
        TotpSeal::new(&self.state.config.tokens.refresh_token_secret)
    }

    /// The user's authenticator, if it is on.
    async fn totp_on(&self, user_id: &str) -> ApiResult<Option<TotpRecord>> {
        Ok(self
            .store
            .totp_factor(user_id)
            .await?
            .filter(TotpRecord::is_on))
    }

    /// Checks the current password as `/change-password` does: counted
    /// against the account's login limit first.
    async fn check_password(&self, user: &UserRecord, password: &str) -> ApiResult<()> {
        if password.is_empty() {
            return Err(ApiError::field(
                "currentPassword",
                "Current password is required",
            ));
        }
        let throttle =
            LoginThrottle::password_check(self.store, &self.state.config.limits, &user.email);
        throttle.attempt().await?;
        if !self
            .state
            .passwords
            .verify(password, Some(&user.password_hash))
            .await?
        {
            return Err(ApiError::WrongPassword);
        }
        throttle.succeeded().await
    }

    /// Checks `code` against `factor`'s secret and uses its step up.
    async fn check_totp(&self, factor: &TotpRecord, code: &str) -> ApiResult<bool> {
        let secret = self
            .totp_seal()
            .open(&factor.user_id, &factor.sealed_secret)
            .ok_or_else(|| {
                ApiError::internal(
                    "a TOTP secret does not open under AUTH_REFRESH_TOKEN_SECRET (was it changed?)",
                )
            })?;
        match totp::matching_step(&secret, code, now_secs()) {
            Some(step) => Ok(self.store.use_totp_step(&factor.user_id, step).await?),
            None => Ok(false),
        }
    }

    /// Checks a second factor of `user` (TOTP on): a code from the app or,
    /// where `recovery` allows it, a recovery code (used up). Counted
    /// against the account's login limit before it is looked at; the caller
    /// audits a failure with its context.
    async fn prove(
        &self,
        user: &UserRecord,
        factor: &TotpRecord,
        code: &str,
        throttle: &LoginThrottle<'_>,
    ) -> ApiResult<Proof> {
        throttle.attempt().await?;
        if self.check_totp(factor, code).await? {
            return Ok(Proof::Totp);
        }
        if let Some(normal) = totp::normal_recovery_code(code) {
            let hash = self.state.opaque.hash(Purpose::RecoveryCode, &normal);
            if self.store.use_recovery_code(&user.id, &hash).await? {
                return Ok(Proof::RecoveryCode);
            }
        }
        Err(ApiError::InvalidCode)
    }

    /// `prove`, then the count is forgiven; a failure is audited.
    async fn prove_signed_in(
        &self,
        user: &UserRecord,
        factor: &TotpRecord,
        code: &str,
        session_id: &str,
        client: &ClientInfo,
    ) -> ApiResult<Proof> {
        let throttle =
            LoginThrottle::password_check(self.store, &self.state.config.limits, &user.email);
        match self.prove(user, factor, code, &throttle).await {
            Ok(proof) => {
                throttle.succeeded().await?;
                if proof == Proof::RecoveryCode {
                    let event = AuditEvent::RecoveryCodeUsed;
                    record(self.store, event, Some(&user.id), Some(session_id), client).await;
                }
                Ok(proof)
            }
            Err(e) => {
                let event = failed_proof(&e);
                record(self.store, event, Some(&user.id), Some(session_id), client).await;
                Err(e)
            }
        }
    }

    /// `POST /2fa/totp/setup`: a new secret for the authenticator app,
    /// replacing one not yet confirmed. Nothing is on until
    /// [`confirm_totp`](Self::confirm_totp).
    pub async fn setup_totp(
        &self,
        user: &UserRecord,
        session_id: &str,
        current_password: &str,
        client: &ClientInfo,
    ) -> ApiResult<TotpSetupResponse> {
        self.check_password(user, current_password).await?;
        let secret = totp::generate_secret();
        let otpauth_uri = totp::otpauth_uri(&secret, &user.email).map_err(ApiError::internal)?;
        let sealed = self.totp_seal().seal(&user.id, &secret);
        if !self.store.put_unconfirmed_totp(&user.id, &sealed).await? {
            return Err(ApiError::TotpEnabled);
        }
        record(
            self.store,
            AuditEvent::TotpSetup,
            Some(&user.id),
            Some(session_id),
            client,
        )
        .await;
        Ok(TotpSetupResponse {
            success: true,
            secret: totp::base32(&secret),
            otpauth_uri,
        })
    }

    /// `POST /2fa/totp/confirm`: a right code turns TOTP on and answers the
    /// recovery codes, this once. Sessions go on.
    pub async fn confirm_totp(
        &self,
        user: &UserRecord,
        session_id: &str,
        code: &str,
        client: &ClientInfo,
    ) -> ApiResult<RecoveryCodesResponse> {
        let factor = match self.store.totp_factor(&user.id).await? {
            Some(factor) if factor.is_on() => return Err(ApiError::TotpEnabled),
            Some(factor) => factor,
            None => return Err(ApiError::TotpNotEnabled),
        };
        let throttle =
            LoginThrottle::password_check(self.store, &self.state.config.limits, &user.email);
        throttle.attempt().await?;
        if !self.check_totp(&factor, code).await? {
            record(
                self.store,
                AuditEvent::MfaFailed,
                Some(&user.id),
                Some(session_id),
                client,
            )
            .await;
            return Err(ApiError::InvalidCode);
        }
        throttle.succeeded().await?;
        let (codes, hashes) = self.new_recovery_codes();
        let mut tx = self.store.transaction().await?;
        if !self.store.confirm_totp(&mut tx, &user.id).await? {
            // Confirmed by a simultaneous request, or replaced meanwhile.
            return Err(ApiError::TotpEnabled);
        }
        self.store
            .replace_recovery_codes(&mut tx, &user.id, &hashes)
            .await?;
        tx.commit().await?;
        record(
            self.store,
            AuditEvent::TotpEnabled,
            Some(&user.id),
            Some(session_id),
            client,
        )
        .await;
        self.notify(&user.email, "was turned on");
        Ok(RecoveryCodesResponse {
            success: true,
            recovery_codes: codes,
        })
    }

    /// `GET /2fa`.
    pub async fn second_factor_status(&self, user: &UserRecord) -> ApiResult<SecondFactorStatus> {
        let on = self.totp_on(&user.id).await?.is_some();
        let left = if on {
            self.store.recovery_codes_left(&user.id).await?
        } else {
            0
        };
        Ok(SecondFactorStatus {
            success: true,
            totp: on,
            recovery_codes_left: left.clamp(0, u32::MAX as i64) as u32,
        })
    }

    /// `POST /2fa/recovery-codes`: ten new codes replace the old ones.
    pub async fn regenerate_recovery_codes(
        &self,
        user: &UserRecord,
        session_id: &str,
        code: &str,
        client: &ClientInfo,
    ) -> ApiResult<RecoveryCodesResponse> {
        let factor = self
            .totp_on(&user.id)
            .await?
            .ok_or(ApiError::TotpNotEnabled)?;
        self.prove_signed_in(user, &factor, code, session_id, client)
            .await?;
        let (codes, hashes) = self.new_recovery_codes();
        let mut tx = self.store.transaction().await?;
        self.store
            .replace_recovery_codes(&mut tx, &user.id, &hashes)
            .await?;
        tx.commit().await?;
        let event = AuditEvent::RecoveryCodesRegenerated;
        record(self.store, event, Some(&user.id), Some(session_id), client).await;
        self.notify(
            &user.email,
            "got new recovery codes (the old ones stopped working)",
        );
        Ok(RecoveryCodesResponse {
            success: true,
            recovery_codes: codes,
        })
    }

    /// `DELETE /2fa/totp`: the password and a code (or a recovery code)
    /// turn TOTP off.
    pub async fn disable_totp(
        &self,
        user: &UserRecord,
        session_id: &str,
        request: &TotpDisableRequest,
        client: &ClientInfo,
    ) -> ApiResult<()> {
        let factor = self
            .totp_on(&user.id)
            .await?
            .ok_or(ApiError::TotpNotEnabled)?;
        self.check_password(user, &request.current_password).await?;
        self.prove_signed_in(user, &factor, &request.code, session_id, client)
            .await?;
        let mut tx = self.store.transaction().await?;
        self.store.delete_second_factor(&mut tx, &user.id).await?;
        tx.commit().await?;
        record(
            self.store,
            AuditEvent::TotpDisabled,
            Some(&user.id),
            Some(session_id),
            client,
        )
        .await;
        self.notify(&user.email, "was turned off");
        Ok(())
    }

    /// The step-up of a signed-in request (`/change-password`): nothing to
    /// do without TOTP; with it, 403 `mfa_required` without a code, 400
    /// `invalid_code` for a wrong one.
    pub async fn step_up(
        &self,
        user: &UserRecord,
        session_id: &str,
        code: Option<&str>,
        client: &ClientInfo,
    ) -> ApiResult<()> {
        let Some(factor) = self.totp_on(&user.id).await? else {
            return Ok(());
        };
        let code = code
            .filter(|c| !c.trim().is_empty())
            .ok_or(ApiError::MfaRequired(None))?;
        self.prove_signed_in(user, &factor, code, session_id, client)
            .await
            .map(|_| ())
    }

    /// After a right password: with TOTP on, the challenge that
    /// [`login_second_factor`](Self::login_second_factor) completes, as 403
    /// `mfa_required`; `Ok` without.
    pub(super) async fn challenge_if_needed(
        &self,
        user: &UserRecord,
        client: &ClientInfo,
    ) -> ApiResult<()> {
        if self.totp_on(&user.id).await?.is_none() {
            return Ok(());
        }
        let token = OpaqueTokens::generate();
        let hash = self.state.opaque.hash(Purpose::MfaChallenge, &token);
        let ttl = self.state.config.tokens.mfa_challenge_ttl.as_millis() as i64;
        self.store
            .insert_mfa_challenge(&hash, &user.id, ttl)
            .await?;
        record(
            self.store,
            AuditEvent::MfaChallenged,
            Some(&user.id),
            None,
            client,
        )
        .await;
        Err(ApiError::MfaRequired(Some(token)))
    }

    /// `POST /login/2fa`: completes a challenge with a code or a recovery
    /// code, answering what `/login` answers without a second factor.
    pub async fn login_second_factor(
        &self,
        request: &LoginSecondFactorRequest,
        client: &ClientInfo,
    ) -> ApiResult<SignedIn> {
        let code = match (&request.code, &request.recovery_code) {
            (Some(code), None) | (None, Some(code)) => code.as_str(),
            _ => return Err(ApiError::field("code", "Give either code or recoveryCode")),
        };
        let hash = self
            .state
            .opaque
            .hash(Purpose::MfaChallenge, &request.mfa_token);
        let user_id = self
            .store
            .mfa_challenge_user(&hash)
            .await?
            .ok_or(ApiError::InvalidMfaToken)?;
        let user = self
            .store
            .user_by_id(&user_id)
            .await?
            .filter(|u| !u.is_disabled())
            .ok_or(ApiError::InvalidMfaToken)?;
        let factor = self
            .totp_on(&user.id)
            .await?
            .ok_or(ApiError::InvalidMfaToken)?;
        let throttle =
            LoginThrottle::login(self.store, &self.state.config.limits, &user.email, client);
        let proof = match self.prove(&user, &factor, code, &throttle).await {
            Ok(proof) => proof,
            Err(e) => {
                let event = failed_proof(&e);
                record(self.store, event, Some(&user.id), None, client).await;
                return Err(e);
            }
        };
        if !self.store.consume_mfa_challenge(&hash).await? {
            return Err(ApiError::InvalidMfaToken);
        }
        throttle.succeeded().await?;
        if proof == Proof::RecoveryCode {
            record(
                self.store,
                AuditEvent::RecoveryCodeUsed,
                Some(&user.id),
                None,
                client,
            )
            .await;
        }
        self.start_signed_in(user, client).await
    }

    /// Ten new codes and their hashes.
    fn new_recovery_codes(&self) -> (Vec<String>, Vec<Vec<u8>>) {
        let codes = totp::generate_recovery_codes();
        let hashes = codes
            .iter()
            .map(|code| self.state.opaque.hash(Purpose::RecoveryCode, code))
            .collect();
        (codes, hashes)
    }

    fn notify(&self, email: &str, what: &str) {
        let state: &AppState = self.state;
        match mail::second_factor_changed(&state.config.mail.email_from, email, what) {
            Ok(message) => state.mailer.send_in_background("two-factor", message),
            Err(e) => log::error!(target: "gatepass::mail", "two-factor mail not built: {e}"),
        }
    }
}
