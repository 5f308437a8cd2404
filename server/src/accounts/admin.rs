//! What an operator does to accounts from the command line (`gatepass-server
//! users ...`, see `admin/`): create one, disable, enable, delete. Each
//! change is audited with the operator's OS user name.
//!
//! These run in a process of their own, beside any server on the same
//! database, so there is no session cache here to keep right: a running
//! server sees an ended session once its cached entry is older than
//! `GATEPASS_SESSION_CACHE_TTL` (see `cache.rs`), because the ending is in the
//! database.

use gatepass_common::SignupRequest;

use crate::audit::{record_operator, AuditEvent};
use crate::auth::password::Passwords;
use crate::error::{ApiError, ApiResult};
use crate::store::{is_unique_violation, now_ms, NewUser, Store, UserRecord};
use crate::validate;

/// An operator's account commands, on one store, audited as `operator`.
pub struct Operator<'a> {
    store: &'a Store,
    operator: &'a str,
}

/// What disabling did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disabled {
    /// False: the account was disabled already (its sessions are ended
    /// again all the same).
    pub changed: bool,
    /// The sessions that were live and are now ended.
    pub sessions_ended: u64,
}

impl<'a> Operator<'a> {
    pub fn new(store: &'a Store, operator: &'a str) -> Operator<'a> {
        Operator { store, operator }
    }

    /// Creates an account as signup does (the same validation, the password
    /// hashed by `passwords` as the server hashes it), without a session. A
    /// 422-style [`ApiError::Validation`] names what is wrong, a taken
    /// email included.
    pub async fn create(
        &self,
        passwords: &Passwords,
        request: &SignupRequest,
    ) -> ApiResult<UserRecord> {
        let valid = validate::signup(request)?;
        let taken = || ApiError::field("email", "Email is already in use");
        if self.store.user_by_email(&valid.email).await?.is_some() {
            return Err(taken());
        }
        let password_hash = passwords.hash(&request.password).await?;
        let mut tx = self.store.transaction().await?;
        let new_user = NewUser {
            first_name: &valid.first_name,
            last_name: &valid.last_name,
            email: &valid.email,
            password_hash: &password_hash,
        };
        let user = match self.store.insert_user(&mut tx, new_user).await {
            Err(e) if is_unique_violation(&e) => return Err(taken()),
            other => other?,
        };
        tx.commit().await?;
        self.audit(AuditEvent::UserCreated, &user.id).await;
        Ok(user)
    }

    /// Disables the account: from now on its logins fail as a wrong
    /// password does, and every session it has ends, with its reset links.
    ///
    /// The flag commits first, the sessions end after: a login that read the
    /// account before the flag and starts a session meanwhile either commits
    /// its session before the ending (which then ends it) or looks at the
    /// flag again after its commit and ends its own session (see
    /// [`super::Accounts::login`]).
    pub async fn disable(&self, user: &UserRecord) -> ApiResult<Disabled> {
        let changed = self.store.disable_user(&user.id, now_ms()).await?;
        let mut tx = self.store.transaction().await?;
        let sessions_ended = self.store.end_all_sessions(&mut tx, &user.id, None).await?;
        self.store.delete_reset_tokens(&mut tx, &user.id).await?;
        tx.commit().await?;
        if changed {
            self.audit(AuditEvent::UserDisabled, &user.id).await;
        }
        Ok(Disabled {
            changed,
            sessions_ended,
        })
    }

    /// Lets a disabled account sign in again (with its password; its old
    /// sessions stay ended). Returns false when it was not disabled.
    pub async fn enable(&self, user: &UserRecord) -> ApiResult<bool> {
        let changed = self.store.enable_user(&user.id).await?;
        if changed {
            self.audit(AuditEvent::UserEnabled, &user.id).await;
        }
        Ok(changed)
    }

    /// Deletes the account with its sessions and reset tokens; its audit
    /// events stay, with its id. Returns false when it was already gone.
    pub async fn delete(&self, user: &UserRecord) -> ApiResult<bool> {
        let mut tx = self.store.transaction().await?;
        let deleted = self.store.delete_user(&mut tx, &user.id).await?;
        tx.commit().await?;
        if deleted {
            self.audit(AuditEvent::UserDeleted, &user.id).await;
        }
        Ok(deleted)
    }

    async fn audit(&self, event: AuditEvent, user_id: &str) {
        record_operator(self.store, event, user_id, self.operator).await;
    }
}
