//! The signed-in session kept on this machine: the refresh cookie in the
//! cookie jar, the access token in the OS keyring or its file fallback
//! (`TokenStore`), and `state.json` (which store, and who signed in).
//!
//! Rotated refresh tokens are single use, so two processes that refreshed
//! at once would look like theft to the server. The jar lock is held around
//! "read jar -> reauth -> write jar", and the jar and the token store are
//! read again after taking it: another process may have refreshed already.

use std::sync::{Arc, Mutex};

use cookie_store::CookieStore;
use gatepass_common::{paths, AuthResponse, ErrorCode, ReauthResponse};
use reqwest::{Method, StatusCode};

use super::transport::Transport;
use super::Notices;
use crate::error::{AuthRequired, ClientError, Result};
use crate::jwt;
use crate::store::jar;
use crate::store::state::State;
use crate::store::token::{Backend, TokenStore};
use crate::store::{self, JarLock, ServerDir};

pub(super) struct Stored {
    dir: ServerDir,
    tokens: TokenStore,
    /// As last read or written.
    state: Mutex<State>,
    notices: Arc<Notices>,
}

impl Drop for Stored {
    /// A run that stored nothing (the server was never reached, or nothing
    /// was kept) leaves no folder and no lock file behind.
    fn drop(&mut self) {
        self.dir.tidy();
    }
}

impl Stored {
    pub(super) fn new(dir: ServerDir, tokens: TokenStore, notices: Arc<Notices>) -> Stored {
        Stored {
            dir,
            tokens,
            state: Mutex::default(),
            notices,
        }
    }

    pub(super) fn state(&self) -> State {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_state(&self, state: State) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = state;
    }

    /// First use: the jar, the state and the access token. A damaged file
    /// is reported here, up front.
    pub(super) async fn load(&self, transport: &Transport) -> Result<Option<String>> {
        let cookies = jar::load(&self.dir.jar_path())?;
        let state = State::load(&self.dir.state_path())?;
        let token = self.load_token(&state).await?;
        *transport.cookies() = cookies;
        self.set_state(state);
        Ok(token)
    }

    async fn load_token(&self, state: &State) -> Result<Option<String>> {
        let loaded = self.tokens.load(state.token_store).await?;
        if let Some(warning) = loaded.warning {
            self.notices.push(warning);
        }
        Ok(loaded.token)
    }

    /// A new access token in place of `failed`: another process's, if it
    /// refreshed while this one waited for the jar lock, else one from
    /// `/reauth`. A refused refresh forgets the stored token.
    pub(super) async fn renew(
        &self,
        transport: &Transport,
        failed: Option<&str>,
    ) -> Result<String> {
        let _jar_lock = self.lock_jar().await?;
        let state = State::load(&self.dir.state_path())?;
        let stored = self.load_token(&state).await?;
        *transport.cookies() = jar::load(&self.dir.jar_path())?;
        if let Some(token) = stored {
            if Some(token.as_str()) != failed && !jwt::expires_within(&token, time::Duration::ZERO)
            {
                self.set_state(state);
                return Ok(token);
            }
        }

        let reply = transport
            .send(Method::POST, paths::REAUTH, None, None)
            .await?;
        if reply.set_cookie {
            self.save_jar(transport)?;
        }
        if reply.status == StatusCode::UNAUTHORIZED {
            let body = reply.error_body();
            self.clear_token(state).await?;
            return Err(ClientError::AuthRequired(match body {
                Some(body) if body.code == ErrorCode::MissingRefreshToken => {
                    AuthRequired::NotSignedIn {
                        server: transport.server().to_owned(),
                    }
                }
                Some(body) => AuthRequired::SessionEnded {
                    feedback: body.feedback,
                },
                None => AuthRequired::RefreshFailed,
            }));
        }
        let response: ReauthResponse = reply.expect(Some(StatusCode::CREATED))?.json()?;
        self.store_token(&response.access_token, state).await?;
        Ok(response.access_token)
    }

    /// Signup and login: keeps the new cookie and token, remembers the user.
    pub(super) async fn sign_in(
        &self,
        transport: &Transport,
        response: &AuthResponse,
    ) -> Result<()> {
        let _jar_lock = self.lock_jar().await?;
        // The in-memory jar holds exactly this server's new cookie: it
        // replaces whatever was stored, damaged or not.
        self.save_jar(transport)?;
        // A sign-in probes the keyrings afresh (no recorded store).
        let state = State {
            user: Some(response.user.clone()),
            ..State::default()
        };
        self.store_token(&response.access_token, state).await
    }

    /// Stores the token and records where; announces a fallback to the file.
    async fn store_token(&self, token: &str, mut state: State) -> Result<()> {
        let saved = self.tokens.save(token, state.token_store).await?;
        if let Some(reason) = &saved.fallback_reason {
            self.notices.push(format!(
                "no OS keyring is available ({reason}); the access token is kept in {} \
                 (mode 0600) instead",
                self.tokens.file_path().display()
            ));
            state.token_store_fallback = Some(reason.clone());
        } else if saved.backend != Backend::File {
            state.token_store_fallback = None;
        }
        // Otherwise the token stays in the file it fell back to: the reason holds.
        state.token_store = Some(saved.backend);
        state.save(&self.dir.state_path())?;
        self.set_state(state);
        Ok(())
    }

    /// Forgets the stored access token (the session behind it is over).
    pub(super) async fn forget_access_token(&self) -> Result<()> {
        let _jar_lock = self.lock_jar().await?;
        self.clear_token(self.state()).await
    }

    async fn clear_token(&self, mut state: State) -> Result<()> {
        if let Some(warning) = self.tokens.clear(state.token_store).await? {
            self.notices.push(warning);
        }
        state.token_store = None;
        state.token_store_fallback = None;
        state.save(&self.dir.state_path())?;
        self.set_state(state);
        Ok(())
    }

    /// For logout: reads what is stored, discarding damaged files instead of
    /// failing on them. Returns the access token, and whether there is
    /// anything to end (a token or a refresh cookie).
    pub(super) async fn load_leniently(
        &self,
        transport: &Transport,
    ) -> Result<(Option<String>, bool)> {
        let _jar_lock = self.lock_jar().await?;
        let dir = &self.dir;
        let state = State::load(&dir.state_path()).unwrap_or_else(|_| {
            let _ = store::remove_if_present(&dir.state_path());
            State::default()
        });
        let cookies = jar::load(&dir.jar_path()).unwrap_or_else(|_| {
            let _ = store::remove_if_present(&dir.jar_path());
            CookieStore::default()
        });
        let token = match self.tokens.load(state.token_store).await {
            Ok(loaded) => loaded.token,
            Err(_) => {
                // A damaged token: drop it; the refresh cookie may still
                // get a token that can end the session.
                if let Some(warning) = self.tokens.clear(state.token_store).await? {
                    self.notices.push(warning);
                }
                None
            }
        };
        let has_cookie = jar::refresh_cookie(&cookies).is_some();
        *transport.cookies() = cookies;
        self.set_state(state);
        let signed_in = token.is_some() || has_cookie;
        Ok((token, signed_in))
    }

    /// Removes the jar, the stored token and the state.
    pub(super) async fn forget_everything(&self, transport: &Transport) -> Result<()> {
        let _jar_lock = self.lock_jar().await?;
        let state = self.state();
        if let Some(warning) = self.tokens.clear(state.token_store).await? {
            self.notices.push(warning);
        }
        transport.cookies().clear();
        store::remove_if_present(&self.dir.jar_path())?;
        store::remove_if_present(&self.dir.state_path())?;
        self.set_state(State::default());
        Ok(())
    }

    /// Writes the in-memory jar to disk (a response changed the cookie).
    pub(super) async fn persist_jar(&self, transport: &Transport) -> Result<()> {
        let _jar_lock = self.lock_jar().await?;
        self.save_jar(transport)
    }

    async fn lock_jar(&self) -> Result<JarLock> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || dir.lock_blocking())
            .await
            .map_err(|e| ClientError::io("cannot lock the cookie jar", std::io::Error::other(e)))?
    }

    /// Writes the in-memory jar to disk. Call with the jar lock held.
    fn save_jar(&self, transport: &Transport) -> Result<()> {
        jar::save(&self.dir.jar_path(), &transport.cookies())
    }
}
