//! Accounts: signing up, signing in, and looking users up. The password
//! flows (forgot, reset, change) are in `passwords.rs`.
//!
//! Each flow takes plain values (a validated request, who is asking) and
//! returns a plain result; the routes turn those into HTTP and cookies.

mod admin;
mod passwords;
mod personal_tokens;
mod second_factor;

pub use admin::{Disabled, Operator};
pub use passwords::is_allowed_reset_base;
pub use second_factor::Proof;

use gatepass_common::{LoginRequest, SignupRequest, UserView};

use crate::audit::{record, AuditEvent};
use crate::auth::password::Connection;
use crate::auth::ClientInfo;
use crate::error::{ApiError, ApiResult};
use crate::sessions::{Grant, Sessions};
use crate::state::AppState;
use crate::store::{is_unique_violation, NewUser, Store, UserRecord};
use crate::throttle::LoginThrottle;
use crate::validate;

#[cfg(test)]
mod tests;

/// The account flows, on one store with the server's keys and settings.
pub struct Accounts<'a> {
    store: &'a Store,
    state: &'a AppState,
}

/// A user who has just signed up or in, and their new session.
#[derive(Debug)]
pub struct SignedIn {
    pub user: UserRecord,
    pub session: Grant,
}

fn email_taken() -> ApiError {
    ApiError::field("email", "Email is already in use")
}

impl<'a> Accounts<'a> {
    pub fn new(store: &'a Store, state: &'a AppState) -> Accounts<'a> {
        Accounts { store, state }
    }

    fn sessions(&self) -> Sessions<'a> {
        Sessions::new(self.store, self.state)
    }

    /// Creates the account and its first session. A 422 names invalid
    /// fields: a weak or common password, or an email already in use.
    pub async fn signup(
        &self,
        request: &SignupRequest,
        client: &ClientInfo,
    ) -> ApiResult<SignedIn> {
        let valid = validate::signup(request)?;
        // Saves a bcrypt hash in the common case; the unique index below is
        // what decides when two signups race.
        if self.store.user_by_email(&valid.email).await?.is_some() {
            return Err(email_taken());
        }
        let password_hash = self.state.passwords.hash(&request.password).await?;

        let mut tx = self.store.transaction().await?;
        let new_user = NewUser {
            first_name: &valid.first_name,
            last_name: &valid.last_name,
            email: &valid.email,
            password_hash: &password_hash,
        };
        let user = match self.store.insert_user(&mut tx, new_user).await {
            Err(e) if is_unique_violation(&e) => return Err(email_taken()),
            other => other?,
        };
        let session = self.sessions().start(&mut tx, &user.id, client).await?;
        tx.commit().await?;
        record(
            self.store,
            AuditEvent::Signup,
            Some(&user.id),
            Some(&session.session_id),
            client,
        )
        .await;
        Ok(SignedIn { user, session })
    }

    /// Checks the password and starts a session: one answer, in one time,
    /// for an unknown email, a wrong password, and a disabled account (an
    /// operator's `users disable`: its password is checked all the same, and
    /// the attempt counts as a failed one). The attempt is counted
    /// before the password is checked (see `throttle.rs`), and not hashed at
    /// all for a client that has hung up (`connection`).
    pub async fn login(
        &self,
        request: &LoginRequest,
        connection: &Connection,
        client: &ClientInfo,
    ) -> ApiResult<SignedIn> {
        let email = validate::login(request)?;
        let throttle = LoginThrottle::login(self.store, &self.state.config.limits, &email, client);
        if let Err(e) = throttle.attempt().await {
            record(self.store, AuditEvent::Throttled, None, None, client).await;
            return Err(e);
        }
        let user = self.store.user_by_email(&email).await?;
        let hash = user.as_ref().map(|u| u.password_hash.as_str());
        let matches = self
            .state
            .passwords
            .verify_for(connection, &request.password, hash)
            .await?;
        let user = match user {
            Some(user) if matches && !user.is_disabled() => user,
            other => {
                let user_id = other.as_ref().map(|u| u.id.as_str());
                record(self.store, AuditEvent::LoginFailed, user_id, None, client).await;
                return Err(ApiError::InvalidCredentials);
            }
        };
        // With a second factor, the password only opens a challenge: the
        // attempt stays counted until a code completes it.
        self.challenge_if_needed(&user, client).await?;
        throttle.succeeded().await?;
        self.start_signed_in(user, client).await
    }

    /// The session of a sign-in whose checks all passed, audited.
    async fn start_signed_in(&self, user: UserRecord, client: &ClientInfo) -> ApiResult<SignedIn> {
        let mut tx = self.store.transaction().await?;
        let session = self.sessions().start(&mut tx, &user.id, client).await?;
        tx.commit().await?;
        // Disabled while the password was checked: the operator's command
        // ends the sessions after the flag commits, so this session was
        // either ended by it, or is ended here (see `admin.rs`).
        let now = self.store.user_by_id(&user.id).await?;
        if now.as_ref().is_none_or(UserRecord::is_disabled) {
            self.sessions().withdraw(&session.session_id).await?;
            record(
                self.store,
                AuditEvent::LoginFailed,
                Some(&user.id),
                None,
                client,
            )
            .await;
            return Err(ApiError::InvalidCredentials);
        }
        record(
            self.store,
            AuditEvent::LoginSucceeded,
            Some(&user.id),
            Some(&session.session_id),
            client,
        )
        .await;
        Ok(SignedIn { user, session })
    }

    /// The user `id` as `me` may see them: all of themselves, only the
    /// public profile of anyone else. A malformed id is simply not found.
    pub async fn view(&self, me: &UserRecord, id: &str) -> ApiResult<UserView> {
        let id = uuid::Uuid::parse_str(id)
            .map_err(|_| ApiError::UserNotFound)?
            .hyphenated()
            .to_string();
        if id == me.id {
            return Ok(UserView::Full(me.public()));
        }
        let other = self
            .store
            .user_by_id(&id)
            .await?
            .ok_or(ApiError::UserNotFound)?;
        Ok(UserView::Public(other.profile()))
    }
}
