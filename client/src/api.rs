//! `ApiClient`: the one type every command and the TUI use to talk to a
//! gatepass server.
//!
//! - The access token goes out as `Authorization: Bearer`. A 401 whose code
//!   says the access token is missing, invalid or expired triggers one
//!   refresh (`POST /api/users/reauth` with the refresh cookie) and one retry;
//!   never a loop. Any other 401, or a failed refresh, forgets the stored
//!   access token and ends in `ClientError::AuthRequired`.
//! - Refreshing is single-flight: inside a process, concurrent callers that
//!   saw the same token fail wait for one refresh and share its result
//!   (a generation counter tells a stale failure from a fresh one). Across
//!   processes, the jar lock is held around "read jar -> reauth -> write jar",
//!   and the jar and token store are read again after taking it: another
//!   process may have refreshed already. Rotated refresh tokens are single
//!   use, so two uncoordinated refreshes would look like theft to the server.
//! - Nothing here prints. Notices for the user (the keyring fallback, a
//!   keyring that did not answer) are collected for `take_notices`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cookie_store::CookieStore;
use gatepass_common::{
    paths, AuthResponse, ChangePasswordRequest, CreateTokenRequest, CreatedTokenResponse,
    ErrorBody, ErrorCode, ForgotPasswordRequest, LoginRequest, LoginSecondFactorRequest,
    MessageResponse, MfaRequiredBody, PersonalToken, ReauthResponse, RecoveryCodesResponse,
    ResetPasswordRequest, SecondFactorStatus, SessionInfo, SessionsResponse, SignupRequest,
    TokensResponse, TotpCodeRequest, TotpDisableRequest, TotpSetupRequest, TotpSetupResponse, User,
    UserResponse, UserView, UserViewResponse,
};
use reqwest::{Method, StatusCode, Url};
use reqwest_cookie_store::CookieStoreMutex;
use serde::de::DeserializeOwned;
use serde::Serialize;
use time::OffsetDateTime;

use crate::config::{self, FileConfig};
use crate::error::{ClientError, Result};
use crate::jwt;
use crate::store::jar;
use crate::store::state::State;
use crate::store::token::{Backend, StoreChoice, TokenStore};
use crate::store::{self, JarLock, ServerDir};

/// The server used when neither `--server`, `GATEPASS_SERVER` nor the config
/// file says otherwise.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8000";
pub const SERVER_ENV: &str = "GATEPASS_SERVER";
/// Like `GH_TOKEN`: use this access token and touch no store.
pub const ACCESS_TOKEN_ENV: &str = "GATEPASS_ACCESS_TOKEN";
/// `1` (or `true`, `yes`, `on`): like `--allow-http`.
pub const ALLOW_HTTP_ENV: &str = "GATEPASS_ALLOW_HTTP";

/// `gatepass token` hands out a token only if it lives at least this long.
const TOKEN_MARGIN: time::Duration = time::Duration::seconds(5);

/// How an `ApiClient` is set up.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The server's base URL (`http(s)://host[:port][/prefix]`).
    pub server: String,
    /// Where jars, token files and state live (one folder per server below it).
    pub data_dir: PathBuf,
    pub token_store: StoreChoice,
    /// `GATEPASS_ACCESS_TOKEN`: when set, no store is read or written.
    pub env_token: Option<String>,
    /// Talk plain `http://` to a host that is not loopback (`--allow-http`):
    /// passwords and tokens then cross the network readable by anyone on
    /// the way. Without it such a server is refused before anything is sent.
    pub allow_http: bool,
}

impl ClientConfig {
    /// The configuration of the `gatepass` command: the data folder
    /// (`GATEPASS_DATA_DIR`, else the platform's), the token store
    /// (`GATEPASS_TOKEN_STORE`, else the config file's) and
    /// `GATEPASS_ACCESS_TOKEN`. `server` and `allow_http` are already
    /// resolved (flag, environment, config file, default).
    pub fn from_env(server: &str, allow_http: bool, file: &FileConfig) -> Result<ClientConfig> {
        Ok(ClientConfig {
            server: server.to_owned(),
            allow_http,
            data_dir: config::data_dir()?,
            token_store: file.token_store()?,
            env_token: std::env::var(ACCESS_TOKEN_ENV)
                .ok()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty()),
        })
    }
}

/// What `ApiClient::status` reports; the field names are `gatepass status --json`'s.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub server: String,
    /// An access token or a refresh cookie is at hand.
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

/// A response, read whole. Deliberately not `Debug`: bodies hold tokens.
struct Reply {
    status: StatusCode,
    set_cookie: bool,
    body: Vec<u8>,
}

impl Reply {
    fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ClientError::Protocol(format!(
                "HTTP {} with a body that does not fit the contract ({e})",
                self.status.as_u16()
            ))
        })
    }

    /// The error body of a failed response.
    fn error_body(&self) -> Option<ErrorBody> {
        serde_json::from_slice(&self.body).ok()
    }

    fn into_error(self) -> ClientError {
        match self.error_body() {
            Some(body) => ClientError::Server {
                status: self.status.as_u16(),
                body,
            },
            None => ClientError::Protocol(format!(
                "HTTP {} without the JSON error body",
                self.status.as_u16()
            )),
        }
    }

    /// Checks the status (any 2xx when `expected` is `None`).
    fn expect(self, expected: Option<StatusCode>) -> Result<Reply> {
        let ok = match expected {
            Some(status) => self.status == status,
            None => self.status.is_success(),
        };
        if ok {
            Ok(self)
        } else if self.status.is_success() {
            Err(ClientError::Protocol(format!(
                "HTTP {} where the contract says {}",
                self.status.as_u16(),
                expected.map(|s| s.as_u16()).unwrap_or(200)
            )))
        } else {
            Err(self.into_error())
        }
    }
}

/// The access token in use. `generation` changes whenever the token does, so
/// a caller whose request failed can tell whether someone already replaced
/// the token it used.
#[derive(Debug, Default)]
struct Session {
    loaded: bool,
    token: Option<String>,
    generation: u64,
    state: State,
}

/// Where `--verbose` sends its lines: one per HTTP request and response,
/// with no secret in them (see `ApiClient::send`).
#[derive(Clone)]
pub struct Trace(Arc<dyn Fn(&str) + Send + Sync>);

impl Trace {
    pub fn new(sink: impl Fn(&str) + Send + Sync + 'static) -> Trace {
        Trace(Arc::new(sink))
    }

    /// Lines to standard error.
    pub fn stderr() -> Trace {
        Trace::new(|line| eprintln!("{line}"))
    }

    fn line(&self, line: &str) {
        (self.0)(line)
    }
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Trace")
    }
}

struct Inner {
    server: String,
    trace: Option<Trace>,
    http: reqwest::Client,
    cookies: Arc<CookieStoreMutex>,
    dir: ServerDir,
    tokens: TokenStore,
    env_token: Option<String>,
    session: tokio::sync::Mutex<Session>,
    /// Serialises refreshes inside this process (the jar lock does across processes).
    refresh: tokio::sync::Mutex<()>,
    notices: Mutex<Vec<String>>,
}

impl Drop for Inner {
    /// A run that stored nothing (the server was never reached, or nothing
    /// was kept) leaves no folder and no lock file behind.
    fn drop(&mut self) {
        if self.env_token.is_none() {
            self.dir.tidy();
        }
    }
}

/// The API client. Cheap to clone; clones share the token, the jar and the
/// single-flight refresh.
#[derive(Clone)]
pub struct ApiClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("server", &self.inner.server)
            .finish_non_exhaustive()
    }
}

/// Checks and normalises a server URL: `scheme://host[:port][/prefix]`, no
/// trailing slash, no credentials, query or fragment.
pub fn normalize_server(raw: &str) -> Result<(String, Url)> {
    let usage = |why: &str| ClientError::Usage(format!("invalid server URL {raw:?}: {why}"));
    let url = Url::parse(raw.trim()).map_err(|e| usage(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(usage("use http:// or https://"));
    }
    if url.host_str().is_none() {
        return Err(usage("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(usage("credentials do not belong in the URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(usage("no query or fragment"));
    }
    let normalized = format!(
        "{}{}",
        url.origin().ascii_serialization(),
        url.path().trim_end_matches('/')
    );
    Ok((normalized, url))
}

/// Loopback hosts count as secure contexts (the browsers' and
/// cookie_store's rule): `localhost`, 127.0.0.0/8 and ::1 (also written as
/// the IPv4-mapped `::ffff:127.x.y.z`). Any other name, even one that
/// resolves to a loopback address, is not: where it resolves is up to DNS.
fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    // The URL parser has lower-cased names and normalised IPv4 forms
    // (`2130706433`, `0x7f.1`) to dotted quads already.
    let ip = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.eq_ignore_ascii_case("localhost")
        || ip
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Whether the client may talk to `url`, decided before anything is sent
/// or asked for: https and loopback are fine (`Ok(None)`); plain http to any
/// other host is refused (a usage error) unless `allow_http`, and then
/// comes with a warning to show first (`Ok(Some(warning))`).
pub fn check_plain_http(url: &Url, allow_http: bool) -> Result<Option<String>> {
    if url.scheme() != "http" || is_loopback(url) {
        return Ok(None);
    }
    let host = url.host_str().unwrap_or("");
    if !allow_http {
        return Err(ClientError::Usage(format!(
            "refusing plain http to {host}: passwords and tokens would cross the network \
             unencrypted; use https://, or pass --allow-http (or set {ALLOW_HTTP_ENV}=1) \
             to send them anyway"
        )));
    }
    Ok(Some(format!(
        "warning: plain http to {host} (--allow-http): passwords and tokens cross the \
         network unencrypted, and the refresh cookie (Secure) is never sent back, so every \
         session ends when its access token expires; use https"
    )))
}

/// Percent-encodes one path segment (a user or session id from the command
/// line), so it can never change the route.
fn path_segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn lock_cookies(cookies: &CookieStoreMutex) -> MutexGuard<'_, CookieStore> {
    // A panic elsewhere while holding the lock leaves the jar usable.
    cookies
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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
        let notices: Vec<String> = check_plain_http(&url, config.allow_http)?
            .into_iter()
            .collect();
        if let Some(token) = &config.env_token {
            // A token goes into a header: refuse junk before it gets there.
            if !token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ClientError::Usage(format!(
                    "{ACCESS_TOKEN_ENV} holds characters a token cannot have"
                )));
            }
        }

        // reqwest is built without a default TLS provider; the first client
        // installs ring (an error only means one is installed already).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let cookies = Arc::new(CookieStoreMutex::new(CookieStore::default()));
        let http = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&cookies))
            .user_agent(concat!("gatepass/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            // An API answer never redirects; following one could carry the
            // bearer token somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientError::Usage(format!("cannot set up HTTP: {e}")))?;

        let dir = ServerDir::new(&config.data_dir, &server);
        let tokens = TokenStore::new(config.token_store, &server, dir.token_path());
        Ok(ApiClient {
            inner: Arc::new(Inner {
                server,
                trace,
                http,
                cookies,
                dir,
                tokens,
                env_token: config.env_token,
                session: tokio::sync::Mutex::new(Session::default()),
                refresh: tokio::sync::Mutex::new(()),
                notices: Mutex::new(notices),
            }),
        })
    }

    /// The normalised server URL.
    pub fn server(&self) -> &str {
        &self.inner.server
    }

    /// The folder holding this server's jar, token file and state.
    pub fn server_dir(&self) -> &std::path::Path {
        self.inner.dir.root()
    }

    /// Whether `GATEPASS_ACCESS_TOKEN` is in charge.
    pub fn uses_env_token(&self) -> bool {
        self.inner.env_token.is_some()
    }

    /// Messages for the user gathered since the last call.
    pub fn take_notices(&self) -> Vec<String> {
        std::mem::take(&mut *self.inner.notices.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn notice(&self, message: String) {
        self.inner
            .notices
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(message);
    }

    // ---- the routes ------------------------------------------------------

    /// `POST /signup`: creates the account and signs in.
    pub async fn signup(&self, request: &SignupRequest) -> Result<User> {
        self.refuse_with_env_token()?;
        let reply = self
            .send(Method::POST, paths::SIGNUP, Some(json(request)?), None)
            .await?
            .expect(Some(StatusCode::CREATED))?;
        self.signed_in(reply.json()?).await
    }

    /// `POST /login`. With two-factor sign-in on, the right password
    /// answers [`Login::MfaRequired`] and stores nothing; finish with
    /// [`ApiClient::login_second_factor`].
    pub async fn login(&self, email: &str, password: &str) -> Result<Login> {
        self.refuse_with_env_token()?;
        let request = LoginRequest {
            email: email.to_owned(),
            password: password.to_owned(),
        };
        let reply = self
            .send(Method::POST, paths::LOGIN, Some(json(&request)?), None)
            .await?;
        if reply.status == StatusCode::FORBIDDEN {
            if let Ok(body) = serde_json::from_slice::<MfaRequiredBody>(&reply.body) {
                if body.code == ErrorCode::MfaRequired && !body.mfa_token.is_empty() {
                    return Ok(Login::MfaRequired {
                        mfa_token: body.mfa_token,
                    });
                }
            }
        }
        let reply = reply.expect(Some(StatusCode::OK))?;
        Ok(Login::SignedIn(self.signed_in(reply.json()?).await?))
    }

    /// `POST /login/2fa`: completes a sign-in that answered
    /// [`Login::MfaRequired`]; stores the token and the cookie exactly as
    /// a sign-in without a second factor does.
    pub async fn login_second_factor(
        &self,
        mfa_token: &str,
        factor: &SecondFactor,
    ) -> Result<User> {
        self.refuse_with_env_token()?;
        let (code, recovery_code) = match factor {
            SecondFactor::Code(code) => (Some(code.trim().to_owned()), None),
            SecondFactor::RecoveryCode(code) => (None, Some(code.trim().to_owned())),
        };
        let request = LoginSecondFactorRequest {
            mfa_token: mfa_token.to_owned(),
            code,
            recovery_code,
        };
        let reply = self
            .send(
                Method::POST,
                paths::LOGIN_SECOND_FACTOR,
                Some(json(&request)?),
                None,
            )
            .await?
            .expect(Some(StatusCode::OK))?;
        self.signed_in(reply.json()?).await
    }

    /// `GET /2fa`: whether sign-in asks for a code, and how many recovery
    /// codes are left.
    pub async fn second_factor_status(&self) -> Result<SecondFactorStatus> {
        self.authed(Method::GET, paths::SECOND_FACTOR, Some(StatusCode::OK))
            .await?
            .json()
    }

    /// `POST /2fa/totp/setup`: a new secret for the authenticator app
    /// (replacing an unconfirmed one). Nothing is on until
    /// [`ApiClient::totp_confirm`].
    pub async fn totp_setup(&self, current_password: &str) -> Result<TotpSetupResponse> {
        let request = TotpSetupRequest {
            current_password: current_password.to_owned(),
        };
        self.authed_with(
            Method::POST,
            paths::TOTP_SETUP,
            Some(json(&request)?),
            Some(StatusCode::OK),
        )
        .await?
        .json()
    }

    /// `POST /2fa/totp/confirm`: a right code turns TOTP on; the answer is
    /// the ten recovery codes, shown this once.
    pub async fn totp_confirm(&self, code: &str) -> Result<Vec<String>> {
        let request = TotpCodeRequest {
            code: code.trim().to_owned(),
        };
        let reply = self
            .authed_with(
                Method::POST,
                paths::TOTP_CONFIRM,
                Some(json(&request)?),
                Some(StatusCode::OK),
            )
            .await?;
        Ok(reply.json::<RecoveryCodesResponse>()?.recovery_codes)
    }

    /// `POST /2fa/recovery-codes`: ten new recovery codes replace the old ones.
    pub async fn regenerate_recovery_codes(&self, code: &str) -> Result<Vec<String>> {
        let request = TotpCodeRequest {
            code: code.trim().to_owned(),
        };
        let reply = self
            .authed_with(
                Method::POST,
                paths::RECOVERY_CODES,
                Some(json(&request)?),
                Some(StatusCode::OK),
            )
            .await?;
        Ok(reply.json::<RecoveryCodesResponse>()?.recovery_codes)
    }

    /// `DELETE /2fa/totp`: turns TOTP off; `code` may be a recovery code.
    pub async fn totp_disable(&self, current_password: &str, code: &str) -> Result<()> {
        let request = TotpDisableRequest {
            current_password: current_password.to_owned(),
            code: code.trim().to_owned(),
        };
        self.authed_with(
            Method::DELETE,
            paths::TOTP,
            Some(json(&request)?),
            Some(StatusCode::OK),
        )
        .await?;
        Ok(())
    }

    /// `POST /change-password`: every other session ends, this one goes on.
    /// With two-factor sign-in on, `code` (an authenticator or recovery
    /// code) is needed; without it the server answers 403 `mfa_required`.
    pub async fn change_password(
        &self,
        current_password: &str,
        new_password: &str,
        code: Option<&str>,
    ) -> Result<MessageResponse> {
        let request = ChangePasswordRequest {
            current_password: current_password.to_owned(),
            password: new_password.to_owned(),
            password_confirm: new_password.to_owned(),
            code: code.map(|c| c.trim().to_owned()),
        };
        self.authed_with(
            Method::POST,
            paths::CHANGE_PASSWORD,
            Some(json(&request)?),
            Some(StatusCode::OK),
        )
        .await?
        .json()
    }

    /// `GET /me`.
    pub async fn me(&self) -> Result<User> {
        let reply = self
            .authed(Method::GET, paths::ME, Some(StatusCode::OK))
            .await?;
        Ok(reply.json::<UserResponse>()?.user)
    }

    /// `GET /:id`: the full user for one's own id, a public profile (no
    /// email) for anyone else's.
    pub async fn user(&self, id: &str) -> Result<UserView> {
        let path = paths::user(&path_segment(id));
        let reply = self
            .authed(Method::GET, &path, Some(StatusCode::OK))
            .await?;
        Ok(reply.json::<UserViewResponse>()?.user)
    }

    /// `GET /sessions`.
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>> {
        let reply = self
            .authed(Method::GET, paths::SESSIONS, Some(StatusCode::OK))
            .await?;
        Ok(reply.json::<SessionsResponse>()?.sessions)
    }

    /// `DELETE /sessions/:id`.
    pub async fn revoke_session(&self, id: &str) -> Result<()> {
        let path = paths::session(&path_segment(id));
        let reply = self.authed(Method::DELETE, &path, None).await?;
        if reply.set_cookie {
            // Revoking the current session clears the refresh cookie.
            self.persist_jar().await?;
        }
        Ok(())
    }

    /// `POST /tokens`: a personal access token for a script, shown this once
    /// in the answer. `expires_in` in the settings' forms (`30d`); the server
    /// picks 90 days without one. With two-factor sign-in on, `code` is needed.
    pub async fn create_personal_token(
        &self,
        name: &str,
        expires_in: Option<&str>,
        code: Option<&str>,
    ) -> Result<CreatedTokenResponse> {
        let request = CreateTokenRequest {
            name: name.to_owned(),
            expires_in: expires_in.map(str::to_owned),
            code: code.map(|c| c.trim().to_owned()),
        };
        self.authed_with(
            Method::POST,
            paths::TOKENS,
            Some(json(&request)?),
            Some(StatusCode::CREATED),
        )
        .await?
        .json()
    }

    /// `GET /tokens`: the account's personal access tokens, never a secret.
    pub async fn personal_tokens(&self) -> Result<Vec<PersonalToken>> {
        let reply = self
            .authed(Method::GET, paths::TOKENS, Some(StatusCode::OK))
            .await?;
        Ok(reply.json::<TokensResponse>()?.tokens)
    }

    /// `DELETE /tokens/:id`: the token and the access tokens it minted stop
    /// working at once.
    pub async fn revoke_personal_token(&self, id: &str) -> Result<()> {
        let path = paths::personal_token(&path_segment(id));
        self.authed(Method::DELETE, &path, Some(StatusCode::NO_CONTENT))
            .await?;
        Ok(())
    }

    /// `POST /forgotpass`: the same answer whether or not the address exists.
    pub async fn forgot_password(&self, email: &str) -> Result<MessageResponse> {
        let request = ForgotPasswordRequest {
            email: email.to_owned(),
        };
        self.send(
            Method::POST,
            paths::FORGOT_PASSWORD,
            Some(json(&request)?),
            None,
        )
        .await?
        .expect(Some(StatusCode::OK))?
        .json()
    }

    /// `PATCH /resetpass/:token`. `token_or_link` is the token or the whole
    /// link from the email.
    pub async fn reset_password(
        &self,
        token_or_link: &str,
        password: &str,
    ) -> Result<MessageResponse> {
        let token = reset_token(token_or_link)?;
        let request = ResetPasswordRequest {
            password: password.to_owned(),
            password_confirm: password.to_owned(),
        };
        self.send(
            Method::PATCH,
            &paths::reset_password(&token),
            Some(json(&request)?),
            None,
        )
        .await?
        .expect(Some(StatusCode::OK))?
        .json()
    }

    /// A currently valid access token (refreshed when it is missing or about
    /// to expire), for `curl -H "Authorization: Bearer $(gatepass token)"`.
    pub async fn access_token(&self) -> Result<String> {
        if let Some(token) = &self.inner.env_token {
            return Ok(token.clone());
        }
        let (token, generation) = self.current().await?;
        match token {
            Some(token) if jwt::is_fresh(&token, TOKEN_MARGIN) => Ok(token),
            _ => self.refresh_after(generation).await,
        }
    }

    /// Refreshes now, whatever the token's age; returns the new token.
    pub async fn refresh(&self) -> Result<String> {
        if self.inner.env_token.is_some() {
            return Err(ClientError::Usage(format!(
                "{ACCESS_TOKEN_ENV} is set: there is no stored session to refresh"
            )));
        }
        let (_, generation) = self.current().await?;
        self.refresh_after(generation).await
    }

    /// Ends the session on the server (`all`: every session of the user) and
    /// forgets it here. The local part always happens, even when the server
    /// cannot be reached or a stored file is damaged: this is the way out.
    pub async fn logout(&self, all: bool) -> Result<LogoutOutcome> {
        let path = if all {
            paths::MASTER_LOGOUT
        } else {
            paths::LOGOUT
        };
        if self.inner.env_token.is_some() {
            self.authed(Method::POST, path, Some(StatusCode::RESET_CONTENT))
                .await?;
            return Ok(LogoutOutcome::Ended);
        }

        let signed_in = self.load_leniently().await?;
        let server_result = if signed_in {
            match self
                .authed(Method::POST, path, Some(StatusCode::RESET_CONTENT))
                .await
            {
                Ok(_) => Ok(LogoutOutcome::Ended),
                // The session was over already: for this session that is
                // the goal reached; other sessions stay unknown.
                Err(ClientError::AuthRequired(_)) if !all => Ok(LogoutOutcome::AlreadyEnded),
                Err(e) => Err(e),
            }
        } else if all {
            Err(ClientError::AuthRequired(format!(
                "not signed in to {}: sign in first to end every session",
                self.inner.server
            )))
        } else {
            Ok(LogoutOutcome::NotSignedIn)
        };
        self.forget_everything().await?;
        server_result
    }

    /// What is stored for this server, without asking the server.
    pub async fn status(&self) -> Result<Status> {
        let (token, _) = self.current().await?;
        let (user, backend, fallback) = {
            let session = self.inner.session.lock().await;
            (
                session.state.user.clone(),
                session.state.token_store,
                session.state.token_store_fallback.clone(),
            )
        };
        let cookie = jar::refresh_cookie(&lock_cookies(&self.inner.cookies));
        let expires = token.as_deref().and_then(jwt::expires_at);
        let token_store = if self.inner.env_token.is_some() {
            "env".to_owned()
        } else {
            backend.map_or("none", Backend::as_str).to_owned()
        };
        Ok(Status {
            server: self.inner.server.clone(),
            signed_in: token.is_some() || cookie.is_some(),
            user,
            token_store,
            token_store_fallback: fallback.filter(|_| backend == Some(Backend::File)),
            access_token_present: token.is_some(),
            access_token_expires_at: expires.and_then(rfc3339),
            access_token_expired: expires.map(|at| at <= OffsetDateTime::now_utc()),
            refresh_cookie_present: cookie.is_some(),
            refresh_cookie_expires_at: cookie.and_then(|c| c.expires_at).and_then(rfc3339),
        })
    }

    // ---- the machinery ---------------------------------------------------

    fn refuse_with_env_token(&self) -> Result<()> {
        if self.inner.env_token.is_some() {
            return Err(ClientError::Usage(format!(
                "{ACCESS_TOKEN_ENV} is set and is used for every command; unset it to sign in \
                 and store credentials"
            )));
        }
        Ok(())
    }

    /// Sends one request. Transport failures become `Unreachable`; the
    /// message never holds the URL (a reset token can be in it).
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        bearer: Option<&str>,
    ) -> Result<Reply> {
        let url = format!("{}{path}", self.inner.server);
        // What --verbose shows of the request: the method, the URL with a
        // reset token masked, and which secrets go with it, never their values.
        let traced = self.inner.trace.as_ref().map(|trace| {
            let shown = format!("{method} {}{}", self.inner.server, redact_path(path));
            let cookie = Url::parse(&url).is_ok_and(|url| {
                lock_cookies(&self.inner.cookies)
                    .get_request_values(&url)
                    .next()
                    .is_some()
            });
            let mut with = Vec::new();
            if bearer.is_some() {
                with.push("Authorization: Bearer [redacted]");
            }
            if cookie {
                with.push("Cookie: [redacted]");
            }
            if body.is_some() {
                with.push("JSON body [not shown]");
            }
            let with = if with.is_empty() {
                String::new()
            } else {
                format!("  ({})", with.join(", "))
            };
            trace.line(&format!("> {shown}{with}"));
            (trace, shown, Instant::now())
        });
        let mut request = self.inner.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let result = async {
            let response = request.send().await?;
            let status = response.status();
            let set_cookie = response.headers().contains_key(reqwest::header::SET_COOKIE);
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>(Reply {
                status,
                set_cookie,
                body: body.to_vec(),
            })
        }
        .await;
        if let Some((trace, shown, started)) = traced {
            let elapsed = started.elapsed().as_millis();
            trace.line(&match &result {
                Ok(reply) => response_line(&shown, reply, elapsed),
                Err(e) => format!("< {shown}  failed after {elapsed} ms: {}", cause_of(e)),
            });
        }
        result.map_err(|e| self.transport(e))
    }

    fn transport(&self, error: reqwest::Error) -> ClientError {
        ClientError::Unreachable {
            server: self.inner.server.clone(),
            detail: cause_of(&error),
        }
    }

    /// The access token in use and its generation, reading the stores on
    /// first use. A damaged jar or token store is reported here, up front.
    async fn current(&self) -> Result<(Option<String>, u64)> {
        let mut session = self.inner.session.lock().await;
        if !session.loaded {
            if let Some(token) = &self.inner.env_token {
                session.token = Some(token.clone());
            } else {
                let cookies = jar::load(&self.inner.dir.jar_path())?;
                let state = State::load(&self.inner.dir.state_path())?;
                let loaded = self.inner.tokens.load(state.token_store).await?;
                if let Some(warning) = loaded.warning {
                    self.notice(warning);
                }
                *lock_cookies(&self.inner.cookies) = cookies;
                session.token = loaded.token;
                session.state = state;
            }
            session.loaded = true;
        }
        Ok((session.token.clone(), session.generation))
    }

    /// Sends a request that needs the access token, refreshing once on a
    /// refreshable 401.
    async fn authed(
        &self,
        method: Method,
        path: &str,
        expected: Option<StatusCode>,
    ) -> Result<Reply> {
        self.authed_with(method, path, None, expected).await
    }

    /// `authed` with a JSON body (sent again on the retry).
    async fn authed_with(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        expected: Option<StatusCode>,
    ) -> Result<Reply> {
        let (token, generation) = self.current().await?;
        let (token, generation) = match token {
            Some(token) => (token, generation),
            // No token stored: the refresh cookie may still get one.
            None => {
                let token = self.refresh_after(generation).await?;
                let generation = self.inner.session.lock().await.generation;
                (token, generation)
            }
        };
        let reply = self
            .send(method.clone(), path, body.clone(), Some(&token))
            .await?;
        if reply.status != StatusCode::UNAUTHORIZED {
            return reply.expect(expected);
        }
        let refusal = reply.error_body();
        let code = refusal.as_ref().map(|b| b.code);
        let feedback = refusal
            .map(|b| b.feedback)
            .unwrap_or_else(|| "the server refused the access token".to_owned());

        if self.inner.env_token.is_some() {
            return Err(ClientError::AuthRequired(format!(
                "the token in {ACCESS_TOKEN_ENV} was refused: {feedback}"
            )));
        }
        if !code.is_some_and(ErrorCode::refreshable) {
            // The session itself is over: a refresh cannot help.
            self.forget_access_token(generation).await?;
            return Err(session_ended(&feedback));
        }

        let token = self.refresh_after(generation).await?;
        let generation = self.inner.session.lock().await.generation;
        let retry = self.send(method, path, body, Some(&token)).await?;
        if retry.status == StatusCode::UNAUTHORIZED {
            let feedback = retry
                .error_body()
                .map(|b| b.feedback)
                .unwrap_or_else(|| "the server refused the new access token".to_owned());
            self.forget_access_token(generation).await?;
            return Err(session_ended(&feedback));
        }
        retry.expect(expected)
    }

    /// Gets a new access token, unless another caller already replaced the
    /// one of `failed_generation`; then that newer token is the answer.
    async fn refresh_after(&self, failed_generation: u64) -> Result<String> {
        if self.inner.env_token.is_some() {
            // Touch no store: an env token that fails is simply refused.
            return Err(ClientError::AuthRequired(format!(
                "the token in {ACCESS_TOKEN_ENV} was refused"
            )));
        }
        let _single_flight = self.inner.refresh.lock().await;
        let failed_token = {
            let session = self.inner.session.lock().await;
            if session.generation != failed_generation {
                if let Some(token) = &session.token {
                    return Ok(token.clone());
                }
            }
            session.token.clone()
        };

        let _jar_lock = self.lock_jar().await?;
        // Another process may have refreshed while we waited for the lock:
        // its token is in the store and its cookie in the jar.
        let state = State::load(&self.inner.dir.state_path())?;
        let loaded = self.inner.tokens.load(state.token_store).await?;
        if let Some(warning) = loaded.warning {
            self.notice(warning);
        }
        let cookies = jar::load(&self.inner.dir.jar_path())?;
        *lock_cookies(&self.inner.cookies) = cookies;
        if let Some(token) = loaded.token {
            if Some(&token) != failed_token.as_ref()
                && !jwt::expires_within(&token, time::Duration::ZERO)
            {
                self.replace_token(Some(token.clone()), state).await;
                return Ok(token);
            }
        }

        let reply = self.send(Method::POST, paths::REAUTH, None, None).await?;
        if reply.set_cookie {
            self.save_jar()?;
        }
        if reply.status == StatusCode::UNAUTHORIZED {
            let body = reply.error_body();
            self.clear_stored_token(state).await?;
            return Err(match body {
                Some(body) if body.code == ErrorCode::MissingRefreshToken => {
                    ClientError::AuthRequired(format!(
                        "not signed in to {}: run `gatepass login`",
                        self.inner.server
                    ))
                }
                Some(body) => session_ended(&body.feedback),
                None => session_ended("the refresh was refused"),
            });
        }
        let response: ReauthResponse = reply.expect(Some(StatusCode::CREATED))?.json()?;
        let token = response.access_token;
        let state = self.store_token(&token, state).await?;
        self.replace_token(Some(token.clone()), state).await;
        Ok(token)
    }

    /// Signup and login: keep the new cookie and token, remember the user.
    async fn signed_in(&self, response: AuthResponse) -> Result<User> {
        let _single_flight = self.inner.refresh.lock().await;
        let _jar_lock = self.lock_jar().await?;
        // The in-memory jar holds exactly this server's new cookie: it
        // replaces whatever was stored, damaged or not.
        self.save_jar()?;
        // A sign-in probes the keyrings afresh (no recorded store).
        let state = State {
            user: Some(response.user.clone()),
            ..State::default()
        };
        let state = self.store_token(&response.access_token, state).await?;
        self.replace_token(Some(response.access_token), state).await;
        Ok(response.user)
    }

    /// Stores the token and records where; announces a fallback to the file.
    async fn store_token(&self, token: &str, mut state: State) -> Result<State> {
        let saved = self.inner.tokens.save(token, state.token_store).await?;
        if let Some(reason) = &saved.fallback_reason {
            self.notice(format!(
                "no OS keyring is available ({reason}); the access token is kept in {} \
                 (mode 0600) instead",
                self.inner.tokens.file_path().display()
            ));
            state.token_store_fallback = Some(reason.clone());
        } else if saved.backend != Backend::File {
            state.token_store_fallback = None;
        }
        // Otherwise the token stays in the file it fell back to: the reason holds.
        state.token_store = Some(saved.backend);
        state.save(&self.inner.dir.state_path())?;
        Ok(state)
    }

    async fn replace_token(&self, token: Option<String>, state: State) {
        let mut session = self.inner.session.lock().await;
        session.token = token;
        session.state = state;
        session.loaded = true;
        session.generation += 1;
    }

    /// Forgets the stored access token (the session behind it is over),
    /// unless someone replaced it since it failed.
    async fn forget_access_token(&self, failed_generation: u64) -> Result<()> {
        let _single_flight = self.inner.refresh.lock().await;
        let state = {
            let session = self.inner.session.lock().await;
            if session.generation != failed_generation {
                return Ok(());
            }
            session.state.clone()
        };
        let _jar_lock = self.lock_jar().await?;
        self.clear_stored_token(state).await
    }

    async fn clear_stored_token(&self, mut state: State) -> Result<()> {
        if let Some(warning) = self.inner.tokens.clear(state.token_store).await? {
            self.notice(warning);
        }
        state.token_store = None;
        state.token_store_fallback = None;
        state.save(&self.inner.dir.state_path())?;
        self.replace_token(None, state).await;
        Ok(())
    }

    /// For logout: reads what is stored, discarding damaged files instead of
    /// failing on them. Returns whether there is anything to end.
    async fn load_leniently(&self) -> Result<bool> {
        let _jar_lock = self.lock_jar().await?;
        let dir = &self.inner.dir;
        let state = State::load(&dir.state_path()).unwrap_or_else(|_| {
            let _ = store::remove_if_present(&dir.state_path());
            State::default()
        });
        let cookies = jar::load(&dir.jar_path()).unwrap_or_else(|_| {
            let _ = store::remove_if_present(&dir.jar_path());
            CookieStore::default()
        });
        let token = match self.inner.tokens.load(state.token_store).await {
            Ok(loaded) => loaded.token,
            Err(_) => {
                // A damaged token: drop it; the refresh cookie may still
                // get a token that can end the session.
                if let Some(warning) = self.inner.tokens.clear(state.token_store).await? {
                    self.notice(warning);
                }
                None
            }
        };
        let has_cookie = jar::refresh_cookie(&cookies).is_some();
        *lock_cookies(&self.inner.cookies) = cookies;
        let signed_in = token.is_some() || has_cookie;
        self.replace_token(token, state).await;
        Ok(signed_in)
    }

    /// Removes the jar, the stored token and the state.
    async fn forget_everything(&self) -> Result<()> {
        let _single_flight = self.inner.refresh.lock().await;
        let _jar_lock = self.lock_jar().await?;
        let state = self.inner.session.lock().await.state.clone();
        if let Some(warning) = self.inner.tokens.clear(state.token_store).await? {
            self.notice(warning);
        }
        lock_cookies(&self.inner.cookies).clear();
        store::remove_if_present(&self.inner.dir.jar_path())?;
        store::remove_if_present(&self.inner.dir.state_path())?;
        self.replace_token(None, State::default()).await;
        Ok(())
    }

    async fn lock_jar(&self) -> Result<JarLock> {
        let dir = self.inner.dir.clone();
        tokio::task::spawn_blocking(move || dir.lock_blocking())
            .await
            .map_err(|e| ClientError::io("cannot lock the cookie jar", std::io::Error::other(e)))?
    }

    /// Writes the in-memory jar to disk. Call with the jar lock held.
    fn save_jar(&self) -> Result<()> {
        let cookies = lock_cookies(&self.inner.cookies);
        jar::save(&self.inner.dir.jar_path(), &cookies)
    }

    async fn persist_jar(&self) -> Result<()> {
        let _jar_lock = self.lock_jar().await?;
        self.save_jar()
    }
}

/// The `--verbose` line of a response: its status, the request, the time,
/// whether it set a cookie (never its value) and the error code of an error
/// body (never the body).
fn response_line(request: &str, reply: &Reply, elapsed_ms: u128) -> String {
    let status = reply.status;
    let mut line = format!(
        "< {} {}  {request}  {elapsed_ms} ms",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    if reply.set_cookie {
        line.push_str("  (Set-Cookie: [redacted])");
    }
    if !status.is_success() {
        if let Some(body) = reply.error_body() {
            line.push_str(&format!("  code={}", body.code.as_str()));
        }
    }
    line
}

/// A path as `--verbose` shows it: the reset token in
/// `/resetpass/<token>` is as good as a password until it is used.
fn redact_path(path: &str) -> String {
    match path.strip_prefix(paths::RESET_PASSWORD) {
        Some(rest) if rest.starts_with('/') => format!("{}/[redacted]", paths::RESET_PASSWORD),
        _ => path.to_owned(),
    }
}

/// What went wrong with a request that got no answer, in a few words:
/// "connection refused", "timed out", "TLS: invalid peer certificate: …",
/// rather than reqwest's whole chain ("error sending request: client error
/// (Connect): tcp connect error: Connection refused (os error 111)").
fn cause_of(error: &reqwest::Error) -> String {
    use std::io::ErrorKind;
    if error.is_timeout() {
        return "timed out".to_owned();
    }
    // reqwest's own line names the URL (a reset token can be in it) and
    // says only "error sending request": its causes tell what happened.
    let mut source = std::error::Error::source(error);
    let mut innermost = if error.is_connect() {
        "cannot connect".to_owned()
    } else if error.is_body() || error.is_decode() {
        "the answer broke off".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut dns = false;
    while let Some(cause) = source {
        // The connector nests io errors (Other(InvalidData(rustls::Error)))
        // and an io::Error's `source` skips the error it wraps: look inside.
        let mut layer = Some(cause);
        while let Some(error) = layer {
            if let Some(tls) = error.downcast_ref::<rustls::Error>() {
                return format!("TLS: {tls}");
            }
            let Some(io) = error.downcast_ref::<std::io::Error>() else {
                break;
            };
            let kind = match io.kind() {
                ErrorKind::ConnectionRefused => Some("connection refused"),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => {
                    Some("connection reset")
                }
                ErrorKind::TimedOut => Some("timed out"),
                ErrorKind::UnexpectedEof => Some("connection closed early"),
                _ => None,
            };
            if let Some(kind) = kind {
                return kind.to_owned();
            }
            layer = io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static));
        }
        innermost = cause.to_string();
        dns |= innermost.starts_with("dns error");
        source = cause.source();
    }
    // "Connection refused (os error 111)": the number tells a person nothing.
    let innermost = match innermost.rfind(" (os error ") {
        Some(at) if innermost.ends_with(')') => innermost[..at].to_owned(),
        _ => innermost,
    };
    if dns {
        let reason = innermost
            .trim_start_matches("failed to lookup address information: ")
            .to_owned();
        format!("host name not found: {reason}")
    } else {
        innermost
    }
}

fn session_ended(feedback: &str) -> ClientError {
    ClientError::AuthRequired(format!(
        "the session has ended ({feedback}); run `gatepass login`"
    ))
}

fn json<T: Serialize>(value: &T) -> Result<serde_json::Value> {
    serde_json::to_value(value)
        .map_err(|e| ClientError::Protocol(format!("cannot encode the request: {e}")))
}

/// The reset token from a token or a reset link (`<base>/<token>`).
pub fn reset_token(token_or_link: &str) -> Result<String> {
    let raw = token_or_link.trim();
    let token = match Url::parse(raw) {
        Ok(url) => url
            .path_segments()
            .and_then(|mut segments| segments.rfind(|s| !s.is_empty()))
            .unwrap_or("")
            .to_owned(),
        Err(_) => raw
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_owned(),
    };
    let valid = !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(token)
    } else {
        Err(ClientError::Usage(
            "that is neither a reset token nor a reset link".to_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_normalised() {
        let (s, _) = normalize_server("http://127.0.0.1:8000/").unwrap();
        assert_eq!(s, "http://127.0.0.1:8000");
        let (s, _) = normalize_server("https://Auth.Example.com:443/gp/").unwrap();
        assert_eq!(s, "https://auth.example.com/gp");
        let (s, _) = normalize_server(" http://[::1]:9000 ").unwrap();
        assert_eq!(s, "http://[::1]:9000");
        for bad in [
            "127.0.0.1:8000",
            "ftp://x",
            "http://user:pw@x",
            "http://x/?a=b",
            "",
        ] {
            let err = normalize_server(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for (url, loopback) in [
            ("http://127.0.0.1:1", true),
            ("http://localhost:1", true),
            ("http://[::1]:1", true),
            ("http://10.0.0.1:1", false),
            ("http://example.com", false),
            ("http://LOCALHOST:1", true),
            ("http://127.8.9.10", true),
            ("http://2130706433", true),
            ("http://[::ffff:127.0.0.1]", true),
            ("http://[::2]", false),
            ("http://0.0.0.0", false),
            ("http://128.0.0.1", false),
            // Names are not resolved: only `localhost` itself counts.
            ("http://localhost.example.com", false),
            ("http://127.0.0.1.nip.io", false),
        ] {
            assert_eq!(is_loopback(&Url::parse(url).unwrap()), loopback, "{url}");
        }
    }

    #[test]
    fn plain_http_to_another_host_needs_the_opt_in() {
        let check = |url: &str, allow: bool| check_plain_http(&Url::parse(url).unwrap(), allow);
        for url in [
            "https://auth.example.com",
            "https://192.0.2.1",
            "http://127.0.0.1:8000",
            "http://localhost:8000",
            "http://[::1]:8000",
        ] {
            for allow in [false, true] {
                assert!(check(url, allow).unwrap().is_none(), "{url} {allow}");
            }
        }
        for url in [
            "http://auth.example.com",
            "http://192.0.2.1:9",
            "http://[2001:db8::1]",
        ] {
            let refused = check(url, false).unwrap_err();
            assert_eq!(refused.exit_code(), 2, "{url}");
            let message = refused.to_string();
            assert!(message.starts_with("refusing plain http"), "{message}");
            assert!(message.contains("--allow-http"), "{message}");
            assert!(message.contains(ALLOW_HTTP_ENV), "{message}");
            let warning = check(url, true).unwrap().expect("a warning");
            assert!(warning.contains("unencrypted"), "{warning}");
        }
    }

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

    #[test]
    fn reset_tokens_come_from_tokens_or_links() {
        assert_eq!(reset_token("abc_DEF-123").unwrap(), "abc_DEF-123");
        assert_eq!(
            reset_token("http://localhost:3000/reset-password/abc_DEF-123").unwrap(),
            "abc_DEF-123"
        );
        assert_eq!(
            reset_token("https://app.example.com/reset/abc123/").unwrap(),
            "abc123"
        );
        assert!(reset_token("http://localhost:3000/").is_err());
        assert!(reset_token("a b").is_err());
        // Only the last segment is kept: nothing can climb out of the route.
        assert_eq!(reset_token("../../abc").unwrap(), "abc");
        assert!(reset_token("..").is_err());
    }

    /// A URL where nothing listens: a port bound, then freed.
    fn closed_server() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port())
    }

    #[test]
    fn verbose_paths_mask_the_reset_token() {
        assert_eq!(
            redact_path(&paths::reset_password("s3cr3t-token")),
            "/api/users/resetpass/[redacted]"
        );
        assert_eq!(redact_path(paths::ME), paths::ME);
        assert_eq!(redact_path(&paths::user("abc")), paths::user("abc"));
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

    #[tokio::test]
    async fn a_plain_http_server_behind_https_is_a_tls_error() {
        // A server that answers a TLS hello with plain HTTP.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut hello = [0u8; 512];
            let _ = socket.read(&mut hello).await;
            let _ = socket
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        });
        let _ = rustls::crypto::ring::default_provider().install_default();
        let error = reqwest::Client::new()
            .get(format!("https://127.0.0.1:{port}/x"))
            .send()
            .await
            .unwrap_err();
        let cause = cause_of(&error);
        assert!(cause.starts_with("TLS: "), "{cause}");
        assert!(!cause.contains('\n'), "{cause}");
        server.await.unwrap();
    }

    #[test]
    fn a_response_line_shows_the_status_time_and_error_code_only() {
        let refused = Reply {
            status: StatusCode::BAD_REQUEST,
            set_cookie: true,
            body: br#"{"error":"Bad","code":"invalid_credentials","feedback":"secret words","errors":[]}"#
                .to_vec(),
        };
        assert_eq!(
            response_line("POST http://h/api/users/login", &refused, 7),
            "< 400 Bad Request  POST http://h/api/users/login  7 ms  \
             (Set-Cookie: [redacted])  code=invalid_credentials"
        );
        let ok = Reply {
            status: StatusCode::OK,
            set_cookie: false,
            body: br#"{"accessToken":"eyJ.secret"}"#.to_vec(),
        };
        assert_eq!(
            response_line("GET http://h/api/users/me", &ok, 1),
            "< 200 OK  GET http://h/api/users/me  1 ms"
        );
    }

    #[test]
    fn ids_cannot_change_the_route() {
        assert_eq!(path_segment("0b0e-4a"), "0b0e-4a");
        assert_eq!(path_segment("../me"), "..%2Fme");
        assert_eq!(path_segment("a?b#c"), "a%3Fb%23c");
    }
}
