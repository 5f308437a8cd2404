//! The session: the access token in use, and the one renewal its
//! credentials allow after a refusal.
//!
//! - The access token goes out as `Authorization: Bearer`. A 401 that the
//!   credentials can cure (a stored session: the access token is missing,
//!   invalid or expired; a personal access token: any) triggers one renewal
//!   and one retry; never a loop. Any other 401, or a failed renewal,
//!   forgets the access token and ends in `ClientError::AuthRequired`.
//! - Renewing is single-flight: inside a process, concurrent callers that
//!   saw the same token fail wait for one renewal and share its result (a
//!   generation counter tells a stale failure from a fresh one). Across
//!   processes, `Stored` holds the jar lock.

use std::sync::Arc;

use reqwest::{Method, StatusCode};

use super::credentials::Credentials;
use super::transport::{Reply, Transport};
use crate::error::{ClientError, Result};
use crate::jwt;

/// `gatepass token` hands out a token only if it lives at least this long.
const TOKEN_MARGIN: time::Duration = time::Duration::seconds(5);

/// The access token in use. `generation` changes whenever the token does, so
/// a caller whose request failed can tell whether someone already replaced
/// the token it used.
#[derive(Default)]
struct Current {
    loaded: bool,
    token: Option<String>,
    generation: u64,
}

pub(super) struct Session {
    transport: Arc<Transport>,
    credentials: Credentials,
    current: tokio::sync::Mutex<Current>,
    /// Serialises renewals, sign-ins and sign-outs inside this process.
    single_flight: tokio::sync::Mutex<()>,
}

impl Session {
    pub(super) fn new(transport: Arc<Transport>, credentials: Credentials) -> Session {
        Session {
            transport,
            credentials,
            current: tokio::sync::Mutex::default(),
            single_flight: tokio::sync::Mutex::default(),
        }
    }

    pub(super) fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Held while the stored session changes (a sign-in, a sign-out), so no
    /// renewal runs in between.
    pub(super) async fn exclusive(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.single_flight.lock().await
    }

    /// The access token in use and its generation, asking the credentials
    /// on first use.
    pub(super) async fn current(&self) -> Result<(Option<String>, u64)> {
        let mut current = self.current.lock().await;
        if !current.loaded {
            current.token = self.credentials.load(&self.transport).await?;
            current.loaded = true;
        }
        Ok((current.token.clone(), current.generation))
    }

    /// Puts `token` in use (after a sign-in, a sign-out, a renewal).
    pub(super) async fn replace(&self, token: Option<String>) {
        let mut current = self.current.lock().await;
        current.token = token;
        current.loaded = true;
        current.generation += 1;
    }

    /// A token that lives at least a few more seconds, renewed if needed.
    pub(super) async fn fresh_token(&self) -> Result<String> {
        let (token, generation) = self.current().await?;
        match token {
            Some(token) if jwt::is_fresh(&token, TOKEN_MARGIN) => Ok(token),
            _ => self.renew_after(generation).await,
        }
    }

    /// A new token now, whatever the current one's age.
    pub(super) async fn renew(&self) -> Result<String> {
        let (_, generation) = self.current().await?;
        self.renew_after(generation).await
    }

    /// Sends a request with the access token; on a 401 the credentials can
    /// cure, renews once and sends it once more (with the same body).
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        expected: Option<StatusCode>,
    ) -> Result<Reply> {
        let (token, generation) = self.current().await?;
        let (token, generation) = match token {
            Some(token) => (token, generation),
            // No token yet: the refresh cookie or the personal token may get one.
            None => {
                let token = self.renew_after(generation).await?;
                (token, self.generation().await)
            }
        };
        let reply = self
            .transport
            .send(method.clone(), path, body.clone(), Some(&token))
            .await?;
        if reply.status != StatusCode::UNAUTHORIZED {
            return reply.expect(expected);
        }
        let refusal = reply.error_body();
        let code = refusal.as_ref().map(|b| b.code);
        let feedback = refusal.map_or_else(
            || "the server refused the access token".to_owned(),
            |b| b.feedback,
        );
        if !self.credentials.renews_after(code) {
            // The session itself is over: a new token cannot help.
            self.forget_after(generation).await?;
            return Err(ClientError::AuthRequired(
                self.credentials.refused(feedback),
            ));
        }

        let token = self.renew_after(generation).await?;
        let generation = self.generation().await;
        let retry = self
            .transport
            .send(method, path, body, Some(&token))
            .await?;
        if retry.status == StatusCode::UNAUTHORIZED {
            let feedback = retry.error_body().map_or_else(
                || "the server refused the new access token".to_owned(),
                |b| b.feedback,
            );
            self.forget_after(generation).await?;
            return Err(ClientError::AuthRequired(
                self.credentials.refused(feedback),
            ));
        }
        retry.expect(expected)
    }

    async fn generation(&self) -> u64 {
        self.current.lock().await.generation
    }

    /// Gets a new access token, unless another caller already replaced the
    /// one of `failed_generation`; then that newer token is the answer.
    async fn renew_after(&self, failed_generation: u64) -> Result<String> {
        let _single_flight = self.single_flight.lock().await;
        let failed = {
            let current = self.current.lock().await;
            if current.generation != failed_generation {
                if let Some(token) = &current.token {
                    return Ok(token.clone());
                }
            }
            current.token.clone()
        };
        match self
            .credentials
            .renew(&self.transport, failed.as_deref())
            .await
        {
            Ok(token) => {
                self.replace(Some(token.clone())).await;
                Ok(token)
            }
            Err(error @ ClientError::AuthRequired(_)) => {
                self.replace(None).await;
                Err(error)
            }
            Err(error) => Err(error),
        }
    }

    /// Forgets the access token (the session behind it is over), unless
    /// someone replaced it since it failed.
    async fn forget_after(&self, failed_generation: u64) -> Result<()> {
        let _single_flight = self.single_flight.lock().await;
        if self.generation().await != failed_generation {
            return Ok(());
        }
        self.credentials.forget().await?;
        self.replace(None).await;
        Ok(())
    }
}
