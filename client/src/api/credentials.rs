//! Where the session's access tokens come from, one source per variant:
//!
//! - `EnvAccessToken`: `GATEPASS_ACCESS_TOKEN`, an access token used as is
//!   and never renewed; nothing is stored.
//! - `PersonalToken`: `GATEPASS_API_TOKEN`, a personal access token
//!   (`gp_pat_…`) exchanged at `POST /token` for access tokens, which live in
//!   memory only; nothing is stored.
//! - `Stored`: a signed-in session on this machine: the refresh cookie in the
//!   cookie jar, the access token in the OS keyring or, when none works, in a
//!   mode-0600 file (`store::token::TokenStore` picks and falls back).
//!
//! `Session` asks its credentials for the first token, for a new one after a
//! refusal, and whether a refusal can be cured at all.

use gatepass_common::{paths, ErrorCode, ReauthResponse};
use reqwest::{Method, StatusCode};

use super::stored::Stored;
use super::transport::Transport;
use crate::error::{AuthRequired, ClientError, Result};

/// Like `GH_TOKEN`: use this access token and touch no store.
pub const ACCESS_TOKEN_ENV: &str = "GATEPASS_ACCESS_TOKEN";
/// A personal access token (`gp_pat_…`) for scripts and CI: exchanged for
/// access tokens as needed; nothing is stored.
pub const API_TOKEN_ENV: &str = "GATEPASS_API_TOKEN";
/// What every personal access token begins with.
pub const PERSONAL_TOKEN_PREFIX: &str = "gp_pat_";

/// A string that is as good as a password: `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A credential from the environment; it replaces the stored session
/// entirely (nothing is read from or written to the data folder or keyring).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvCredential {
    /// `GATEPASS_ACCESS_TOKEN`.
    AccessToken(Secret),
    /// `GATEPASS_API_TOKEN`.
    PersonalToken(Secret),
}

impl EnvCredential {
    /// `GATEPASS_ACCESS_TOKEN` or `GATEPASS_API_TOKEN` (empty is unset);
    /// both at once is a usage error. Checked by `check` when the client is
    /// built.
    pub fn from_env() -> Result<Option<EnvCredential>> {
        let read = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
                .map(Secret::new)
        };
        match (read(ACCESS_TOKEN_ENV), read(API_TOKEN_ENV)) {
            (Some(_), Some(_)) => Err(ClientError::Usage(format!(
                "both {ACCESS_TOKEN_ENV} and {API_TOKEN_ENV} are set: unset one of them"
            ))),
            (Some(token), None) => Ok(Some(EnvCredential::AccessToken(token))),
            (None, Some(token)) => Ok(Some(EnvCredential::PersonalToken(token))),
            (None, None) => Ok(None),
        }
    }

    /// The environment variable it came from.
    pub fn variable(&self) -> &'static str {
        match self {
            EnvCredential::AccessToken(_) => ACCESS_TOKEN_ENV,
            EnvCredential::PersonalToken(_) => API_TOKEN_ENV,
        }
    }

    /// Refuses a value that cannot be a token, before it goes into a
    /// header. The message names the variable, never the value.
    pub fn check(&self) -> Result<()> {
        let (token, variable) = match self {
            EnvCredential::AccessToken(token) | EnvCredential::PersonalToken(token) => {
                (token.expose(), self.variable())
            }
        };
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ClientError::Usage(format!(
                "{variable} holds characters a token cannot have"
            )));
        }
        if matches!(self, EnvCredential::PersonalToken(_))
            && !token.starts_with(PERSONAL_TOKEN_PREFIX)
        {
            return Err(ClientError::Usage(format!(
                "{variable} does not hold a personal access token (they begin with \
                 {PERSONAL_TOKEN_PREFIX}; create one with `gatepass tokens create`)"
            )));
        }
        Ok(())
    }
}

/// The source of one client's access tokens.
pub(super) enum Credentials {
    EnvAccessToken(Secret),
    PersonalToken(Secret),
    // Boxed: it is many times the size of the others.
    Stored(Box<Stored>),
}

impl Credentials {
    /// The access token to start with: the environment's, the stored one,
    /// or none yet (a personal token is exchanged on first use).
    pub(super) async fn load(&self, transport: &Transport) -> Result<Option<String>> {
        match self {
            Credentials::EnvAccessToken(token) => Ok(Some(token.expose().to_owned())),
            Credentials::PersonalToken(_) => Ok(None),
            Credentials::Stored(stored) => stored.load(transport).await,
        }
    }

    /// A new access token in place of `failed` (the one that was refused,
    /// expired or missing). Call under the session's single-flight lock.
    pub(super) async fn renew(
        &self,
        transport: &Transport,
        failed: Option<&str>,
    ) -> Result<String> {
        match self {
            Credentials::EnvAccessToken(_) => {
                Err(ClientError::AuthRequired(AuthRequired::EnvTokenRefused {
                    variable: ACCESS_TOKEN_ENV,
                    feedback: None,
                }))
            }
            Credentials::PersonalToken(token) => exchange(transport, token).await,
            Credentials::Stored(stored) => stored.renew(transport, failed).await,
        }
    }

    /// Whether a 401 with `code` may be cured by a new access token (one
    /// renewal, one retry). A stored session's ended session cannot; a
    /// personal token is simply exchanged again (its access token may have
    /// expired, or belonged to a revoked token: the exchange tells).
    pub(super) fn renews_after(&self, code: Option<ErrorCode>) -> bool {
        match self {
            Credentials::EnvAccessToken(_) => false,
            Credentials::PersonalToken(_) => true,
            Credentials::Stored(_) => code.is_some_and(ErrorCode::refreshable),
        }
    }

    /// What a refusal of the access token means for this source.
    pub(super) fn refused(&self, feedback: String) -> AuthRequired {
        match self {
            Credentials::EnvAccessToken(_) => AuthRequired::EnvTokenRefused {
                variable: ACCESS_TOKEN_ENV,
                feedback: Some(feedback),
            },
            Credentials::PersonalToken(_) => AuthRequired::ApiTokenRefused {
                variable: API_TOKEN_ENV,
                feedback,
            },
            Credentials::Stored(_) => AuthRequired::SessionEnded { feedback },
        }
    }

    /// Drops a refused access token where it is kept. Call under the
    /// session's single-flight lock.
    pub(super) async fn forget(&self) -> Result<()> {
        match self {
            Credentials::EnvAccessToken(_) | Credentials::PersonalToken(_) => Ok(()),
            Credentials::Stored(stored) => stored.forget_access_token().await,
        }
    }
}

/// `POST /token`: the personal access token for a short-lived access token.
async fn exchange(transport: &Transport, token: &Secret) -> Result<String> {
    let reply = transport
        .send(Method::POST, paths::TOKEN, None, Some(token.expose()))
        .await?;
    if reply.status == StatusCode::UNAUTHORIZED {
        let feedback = reply
            .error_body()
            .map_or_else(|| "the server refused it".to_owned(), |body| body.feedback);
        return Err(ClientError::AuthRequired(AuthRequired::ApiTokenRefused {
            variable: API_TOKEN_ENV,
            feedback,
        }));
    }
    let response: ReauthResponse = reply.expect(Some(StatusCode::OK))?.json()?;
    Ok(response.access_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_personal_token_must_look_like_one_and_is_never_shown() {
        let good = EnvCredential::PersonalToken(Secret::new("gp_pat_abcDEF-123_x"));
        good.check().unwrap();
        assert_eq!(
            format!("{good:?}"),
            "PersonalToken([redacted])",
            "Debug shows no secret"
        );
        for bad in ["abc", "gp_pat_a\u{7}b", "gp_pat_a b", "eyJ.e30.sig"] {
            let refused = EnvCredential::PersonalToken(Secret::new(bad))
                .check()
                .unwrap_err();
            assert_eq!(refused.exit_code(), 2, "{bad:?}");
            let message = refused.to_string();
            assert!(message.contains(API_TOKEN_ENV), "{message}");
            assert!(!message.contains(bad), "{message}");
        }
        let access = EnvCredential::AccessToken(Secret::new("eyJ.e30.sig"));
        access.check().unwrap();
        assert!(EnvCredential::AccessToken(Secret::new("a\nb"))
            .check()
            .is_err());
    }
}
