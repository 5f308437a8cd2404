//! `ApiClient`: the one type every command and the TUI use to talk to a
//! gatepass server. In layers:
//!
//! - `transport`: one request out, its answer in, HTTP failures mapped to
//!   `ClientError`; `--verbose` lines.
//! - `session`: the access token in use, one shared renewal and one retry
//!   after a refusal, over a source of `credentials`: an access token from
//!   the environment, a personal access token from the environment, or the
//!   session stored on this machine (`stored`: keyring or file, and the
//!   cookie jar with its lock).
//! - `endpoints`: one thin method per route.
//!
//! Nothing here prints. Notices for the user (the keyring fallback, a
//! keyring that did not answer, plain http) are collected for `take_notices`.

mod credentials;
mod endpoints;
mod session;
mod stored;
mod transport;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use gatepass_common::{paths, AuthResponse, User};
use reqwest::StatusCode;
use serde::Serialize;
use time::OffsetDateTime;

use crate::config::{self, FileConfig};
use crate::error::{AuthRequired, ClientError, Result};
use crate::store::jar;
use crate::store::token::{Backend, StoreChoice, TokenStore};
use crate::store::ServerDir;

pub use credentials::{
    EnvCredential, Secret, ACCESS_TOKEN_ENV, API_TOKEN_ENV, PERSONAL_TOKEN_PREFIX,
};
pub use endpoints::reset_token;
pub use transport::{check_plain_http, normalize_server, Trace};

use credentials::Credentials;
use session::Session;
use stored::Stored;
use transport::{Reply, Transport};

/// The server used when neither `--server`, `GATEPASS_SERVER` nor the config
/// file says otherwise.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8000";
pub const SERVER_ENV: &str = "GATEPASS_SERVER";
/// `1` (or `true`, `yes`, `on`): like `--allow-http`.
pub const ALLOW_HTTP_ENV: &str = "GATEPASS_ALLOW_HTTP";

/// How an `ApiClient` is set up.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The server's base URL (`http(s)://host[:port][/prefix]`).
    pub server: String,
    /// Where jars, token files and state live (one folder per server below it).
    pub data_dir: PathBuf,
    pub token_store: StoreChoice,
    /// `GATEPASS_ACCESS_TOKEN` or `GATEPASS_API_TOKEN`: when set, no store
    /// is read or written.
    pub env_token: Option<EnvCredential>,
    /// Talk plain `http://` to a host that is not loopback (`--allow-http`):
    /// passwords and tokens then cross the network readable by anyone on
    /// the way. Without it such a server is refused before anything is sent.
    pub allow_http: bool,
}

impl ClientConfig {
    /// The configuration of the `gatepass` command: the data folder
    /// (`GATEPASS_DATA_DIR`, else the platform's), the token store
    /// (`GATEPASS_TOKEN_STORE`, else the config file's) and
    /// `GATEPASS_ACCESS_TOKEN` / `GATEPASS_API_TOKEN`. `server` and
    /// `allow_http` are already resolved (flag, environment, config file,
    /// default).
    pub fn from_env(server: &str, allow_http: bool, file: &FileConfig) -> Result<ClientConfig> {
        Ok(ClientConfig {
            server: server.to_owned(),
            allow_http,
            data_dir: config::data_dir()?,
            token_store: file.token_store()?,
            env_token: EnvCredential::from_env()?,
        })
    }
}

/// What `ApiClient::status` reports; the field names are `gatepass status --json`'s.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub server: String,
    /// An access token, a refresh cookie or a credential from the
    /// environment is at hand.
    pub signed_in: bool,
    /// The user as of the last sign-in on this machine.
    pub user: Option<User>,
    /// `env`, `none`, or a `Backend` name (`secret-service`, `kernel-keyring`,
    /// `keychain`, `credential-manager`, `file`).
    pub token_store: String,
    /// Why the token sits in a file rather than a keyring, if it fell back.
    pub token_store_fallback: Option<String>,
    pub access_token_present: bool,
    /// RFC 3339.
    pub access_token_expires_at: Option<String>,
    pub access_token_expired: Option<bool>,
    pub refresh_cookie_present: bool,
    /// RFC 3339.
    pub refresh_cookie_expires_at: Option<String>,
}

/// What a logout achieved on the server. Local credentials are gone in every
/// case, errors included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum LogoutOutcome {
    /// The server ended the session (or every session).
    Ended,
    /// The session had already ended on the server.
    AlreadyEnded,
    /// Nothing was stored: there was nothing to end.
    NotSignedIn,
}

/// What `POST /login` achieved.
#[derive(Clone)]
pub enum Login {
    /// Signed in: the token and the refresh cookie are stored.
    SignedIn(User),
    /// The password was right and the account has two-factor sign-in on
    /// (403 `mfa_required`): nothing is stored yet. Complete the sign-in
    /// with [`ApiClient::login_second_factor`] and this challenge (single
    /// use; it lives 5 minutes by default).
    MfaRequired { mfa_token: String },
}

impl std::fmt::Debug for Login {
    /// The challenge is as good as the password until it is used: not shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Login::SignedIn(user) => f.debug_tuple("SignedIn").field(user).finish(),
            Login::MfaRequired { .. } => f
                .debug_struct("MfaRequired")
                .field("mfa_token", &"[redacted]")
                .finish(),
        }
    }
}

/// The second step of a sign-in, or what turns two-factor sign-in off: a
/// code from the authenticator app, or one of the recovery codes.
#[derive(Clone, PartialEq, Eq)]
pub enum SecondFactor {
    Code(String),
    RecoveryCode(String),
}

impl SecondFactor {
    /// The code as typed, either kind.
    pub fn as_str(&self) -> &str {
        match self {
            SecondFactor::Code(code) | SecondFactor::RecoveryCode(code) => code,
        }
    }
}

impl std::fmt::Debug for SecondFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SecondFactor::Code(_) => "Code([redacted])",
            SecondFactor::RecoveryCode(_) => "RecoveryCode([redacted])",
        })
    }
}

/// Messages for the user, gathered until the caller takes them.
#[derive(Debug, Default)]
pub(crate) struct Notices(Mutex<Vec<String>>);

impl Notices {
    pub(crate) fn push(&self, message: String) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(message);
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

struct Inner {
    transport: Arc<Transport>,
    session: Session,
    /// This server's folder in the data folder (used only by a stored session).
    server_dir: PathBuf,
    notices: Arc<Notices>,
}

/// The API client. Cheap to clone; clones share the token, the jar and the
/// single-flight renewal.
#[derive(Clone)]
pub struct ApiClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("server", &self.inner.transport.server())
            .finish_non_exhaustive()
    }
}

fn rfc3339(at: OffsetDateTime) -> Option<String> {
    at.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

impl ApiClient {
    pub fn new(config: ClientConfig) -> Result<ApiClient> {
        ApiClient::with_trace(config, None)
    }

    /// A client that reports each request and response to `trace`
    /// (`gatepass --verbose`).
    pub fn with_trace(config: ClientConfig, trace: Option<Trace>) -> Result<ApiClient> {
        let (server, url) = normalize_server(&config.server)?;
        // First of all: nothing may be sent, or asked for, before this.
        let warning = check_plain_http(&url, config.allow_http)?;
        if let Some(credential) = &config.env_token {
            // A token goes into a header: refuse junk before it gets there.
            credential.check()?;
        }
        let notices = Arc::new(Notices::default());
        if let Some(warning) = warning {
            notices.push(warning);
        }
        let transport = Arc::new(Transport::new(server.clone(), trace)?);
        let dir = ServerDir::new(&config.data_dir, &server);
        let server_dir = dir.root().to_owned();
        let credentials = match config.env_token {
            Some(EnvCredential::AccessToken(token)) => Credentials::EnvAccessToken(token),
            Some(EnvCredential::PersonalToken(token)) => Credentials::PersonalToken(token),
            None => {
                let tokens = TokenStore::new(config.token_store, &server, dir.token_path());
                Credentials::Stored(Box::new(Stored::new(dir, tokens, Arc::clone(&notices))))
            }
        };
        Ok(ApiClient {
            inner: Arc::new(Inner {
                session: Session::new(Arc::clone(&transport), credentials),
                transport,
                server_dir,
                notices,
            }),
        })
    }

    /// The normalised server URL.
    pub fn server(&self) -> &str {
        self.inner.transport.server()
    }

    /// The folder holding this server's jar, token file and state.
    pub fn server_dir(&self) -> &std::path::Path {
        &self.inner.server_dir
    }

    /// Whether a credential from the environment (`GATEPASS_ACCESS_TOKEN`
    /// or `GATEPASS_API_TOKEN`) is in charge: nothing is stored.
    pub fn uses_env_token(&self) -> bool {
        !matches!(self.inner.session.credentials(), Credentials::Stored(_))
    }

    /// Whether the personal access token in `GATEPASS_API_TOKEN` is in charge.
    pub fn uses_personal_token(&self) -> bool {
        matches!(
            self.inner.session.credentials(),
            Credentials::PersonalToken(_)
        )
    }

    /// Refuses at once what `signup` and `login` would refuse: signing in
    /// while a credential from the environment is in charge (so a command
    /// asks for no password in vain).
    pub fn check_can_sign_in(&self) -> Result<()> {
        self.stored().map(|_| ())
    }

    /// Messages for the user gathered since the last call.
    pub fn take_notices(&self) -> Vec<String> {
        self.inner.notices.take()
    }

    /// A currently valid access token (refreshed, or exchanged, when it is
    /// missing or about to expire), for
    /// `curl -H "Authorization: Bearer $(gatepass token)"`.
    pub async fn access_token(&self) -> Result<String> {
        if let Credentials::EnvAccessToken(token) = self.inner.session.credentials() {
            return Ok(token.expose().to_owned());
        }
        self.inner.session.fresh_token().await
    }

    /// Refreshes now (or exchanges the personal token again), whatever the
    /// token's age; returns the new token.
    pub async fn refresh(&self) -> Result<String> {
        if let Credentials::EnvAccessToken(_) = self.inner.session.credentials() {
            return Err(ClientError::Usage(format!(
                "{ACCESS_TOKEN_ENV} is set: there is no stored session to refresh"
            )));
        }
        self.inner.session.renew().await
    }

    /// Ends the session on the server (`all`: every session of the user) and
    /// forgets it here. The local part always happens, even when the server
    /// cannot be reached or a stored file is damaged: this is the way out.
    ///
    /// With a personal access token nothing is kept here and there is no
    /// session to end (`NotSignedIn`); `all` asks the server, which refuses
    /// it (403 `session_required`).
    pub async fn logout(&self, all: bool) -> Result<LogoutOutcome> {
        let path = if all {
            paths::MASTER_LOGOUT
        } else {
            paths::LOGOUT
        };
        let stored = match self.inner.session.credentials() {
            Credentials::Stored(stored) => stored,
            Credentials::PersonalToken(_) if !all => return Ok(LogoutOutcome::NotSignedIn),
            Credentials::EnvAccessToken(_) | Credentials::PersonalToken(_) => {
                self.authed(reqwest::Method::POST, path, Some(StatusCode::RESET_CONTENT))
                    .await?;
                return Ok(LogoutOutcome::Ended);
            }
        };

        let signed_in = {
            let _single_flight = self.inner.session.exclusive().await;
            let (token, signed_in) = stored.load_leniently(&self.inner.transport).await?;
            self.inner.session.replace(token).await;
            signed_in
        };
        let server_result = if signed_in {
            match self
                .authed(reqwest::Method::POST, path, Some(StatusCode::RESET_CONTENT))
                .await
            {
                Ok(_) => Ok(LogoutOutcome::Ended),
                // The session was over already: for this session that is
                // the goal reached; other sessions stay unknown.
                Err(ClientError::AuthRequired(_)) if !all => Ok(LogoutOutcome::AlreadyEnded),
                Err(e) => Err(e),
            }
        } else if all {
            Err(ClientError::AuthRequired(AuthRequired::NotSignedIn {
                server: self.server().to_owned(),
            }))
        } else {
            Ok(LogoutOutcome::NotSignedIn)
        };
        {
            let _single_flight = self.inner.session.exclusive().await;
            stored.forget_everything(&self.inner.transport).await?;
            self.inner.session.replace(None).await;
        }
        server_result
    }

    /// What is at hand for this server, without asking the server. A
    /// credential from the environment counts as signed in: whether the
    /// server takes it, only a request tells.
    pub async fn status(&self) -> Result<Status> {
        let (token, _) = self.inner.session.current().await?;
        let cookie = jar::refresh_cookie(&self.inner.transport.cookies());
        let (user, token_store, fallback) = match self.inner.session.credentials() {
            Credentials::Stored(stored) => {
                let state = stored.state();
                let backend = state.token_store;
                (
                    state.user,
                    backend.map_or("none", Backend::as_str),
                    state
                        .token_store_fallback
                        .filter(|_| backend == Some(Backend::File)),
                )
            }
            Credentials::EnvAccessToken(_) => (None, "env", None),
            Credentials::PersonalToken(_) => (None, PERSONAL_TOKEN_STORE, None),
        };
        let expires = token.as_deref().and_then(crate::jwt::expires_at);
        Ok(Status {
            server: self.server().to_owned(),
            signed_in: token.is_some() || cookie.is_some() || self.uses_env_token(),
            user,
            token_store: token_store.to_owned(),
            token_store_fallback: fallback,
            access_token_present: token.is_some(),
            access_token_expires_at: expires.and_then(rfc3339),
            access_token_expired: expires.map(|at| at <= OffsetDateTime::now_utc()),
            refresh_cookie_present: cookie.is_some(),
            refresh_cookie_expires_at: cookie.and_then(|c| c.expires_at).and_then(rfc3339),
        })
    }

    // ---- for the endpoints -----------------------------------------------

    /// The stored session, for what only it can do (sign in and keep the
    /// credentials); refused while a credential from the environment is in
    /// charge.
    fn stored(&self) -> Result<&Stored> {
        match self.inner.session.credentials() {
            Credentials::Stored(stored) => Ok(stored),
            _ => {
                let variable = if self.uses_personal_token() {
                    API_TOKEN_ENV
                } else {
                    ACCESS_TOKEN_ENV
                };
                Err(ClientError::Usage(format!(
                    "{variable} is set and is used for every command; unset it to sign in \
                     and store credentials"
                )))
            }
        }
    }

    /// Signup and login: keep the new cookie and token, remember the user.
    async fn signed_in(&self, response: AuthResponse) -> Result<User> {
        let stored = self.stored()?;
        let _single_flight = self.inner.session.exclusive().await;
        stored.sign_in(&self.inner.transport, &response).await?;
        self.inner
            .session
            .replace(Some(response.access_token))
            .await;
        Ok(response.user)
    }

    /// A request without credentials.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
        bearer: Option<&str>,
    ) -> Result<Reply> {
        self.inner.transport.send(method, path, body, bearer).await
    }

    /// A request with the access token (renewed once on a curable 401).
    async fn authed(
        &self,
        method: reqwest::Method,
        path: &str,
        expected: Option<StatusCode>,
    ) -> Result<Reply> {
        self.inner.session.send(method, path, None, expected).await
    }

    /// `authed` with a JSON body (sent again on the retry).
    async fn authed_with(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
        expected: Option<StatusCode>,
    ) -> Result<Reply> {
        self.inner.session.send(method, path, body, expected).await
    }

    /// Keeps a cookie a response changed (only a stored session keeps one).
    async fn persist_jar(&self) -> Result<()> {
        match self.inner.session.credentials() {
            Credentials::Stored(stored) => stored.persist_jar(&self.inner.transport).await,
            _ => Ok(()),
        }
    }
}

/// `Status::token_store` with `GATEPASS_API_TOKEN`: access tokens in memory only.
pub const PERSONAL_TOKEN_STORE: &str = "api-token";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::transport::cause_of;

    #[test]
    fn the_client_refuses_plain_http_before_it_exists() {
        let data = tempfile::tempdir().unwrap();
        let config = |allow_http| ClientConfig {
            server: "http://192.0.2.1:9".to_owned(),
            data_dir: data.path().to_owned(),
            token_store: StoreChoice::File,
            env_token: None,
            allow_http,
        };
        let refused = ApiClient::new(config(false)).unwrap_err();
        assert_eq!(refused.exit_code(), 2);
        let client = ApiClient::new(config(true)).expect("allowed");
        let notices = client.take_notices();
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(notices[0].starts_with("warning: plain http"), "{notices:?}");
    }

    /// A URL where nothing listens: a port bound, then freed.
    fn closed_server() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port())
    }

    #[tokio::test]
    async fn a_personal_token_is_at_hand_without_a_request_and_never_shown() {
        let data = tempfile::tempdir().unwrap();
        let config = ClientConfig {
            // Nothing listens: a request would fail.
            server: closed_server(),
            data_dir: data.path().to_owned(),
            token_store: StoreChoice::File,
            env_token: Some(EnvCredential::PersonalToken(Secret::new("gp_pat_s3cr3t"))),
            allow_http: false,
        };
        assert!(!format!("{config:?}").contains("s3cr3t"));
        let client = ApiClient::new(config).unwrap();
        assert!(client.uses_personal_token() && client.uses_env_token());
        let status = client.status().await.unwrap();
        assert!(status.signed_in);
        assert!(!status.access_token_present);
        assert_eq!(status.token_store, PERSONAL_TOKEN_STORE);
        let refused = client.login("a@example.com", "pw").await.unwrap_err();
        assert_eq!(refused.exit_code(), 2);
        assert!(refused.to_string().contains(API_TOKEN_ENV), "{refused}");
        assert_eq!(
            client.logout(false).await.unwrap(),
            LogoutOutcome::NotSignedIn
        );
        drop(client);
        assert_eq!(std::fs::read_dir(data.path()).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn an_unreachable_server_is_named_with_its_cause_in_a_few_words() {
        let server = closed_server();
        // reqwest is built without a TLS provider: install the client's.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let error = reqwest::Client::new()
            .get(format!("{server}/x"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(cause_of(&error), "connection refused");

        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = Arc::clone(&lines);
        let data = tempfile::tempdir().unwrap();
        let client = ApiClient::with_trace(
            ClientConfig {
                server: server.clone(),
                data_dir: data.path().to_owned(),
                token_store: StoreChoice::File,
                env_token: None,
                allow_http: false,
            },
            Some(Trace::new(move |line| {
                sink.lock().unwrap().push(line.to_owned())
            })),
        )
        .unwrap();
        let error = client
            .reset_password("s3cr3t-token", "a password")
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("cannot reach the server at {server} (connection refused)")
        );
        let lines = lines.lock().unwrap().clone();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(
            lines[0],
            format!("> PATCH {server}/api/users/resetpass/[redacted]  (JSON body [not shown])")
        );
        assert!(
            lines[1].starts_with(&format!(
                "< PATCH {server}/api/users/resetpass/[redacted]  failed after "
            )),
            "{lines:?}"
        );
        assert!(lines[1].ends_with(" ms: connection refused"), "{lines:?}");
        for line in &lines {
            assert!(
                !line.contains("s3cr3t") && !line.contains("a password"),
                "{line}"
            );
        }
    }
}
