//! One typed configuration, read once at start from `Rocket.toml`, the
//! environment and a `.env` file, with the reference tutorial's names.
//!
//! Everything that can be wrong with it is found here, before the server binds,
//! and reported as a [`ConfigError`] that names the setting.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rocket::figment::{
    providers::{Env, Serialized},
    Figment,
};
use serde::Deserialize;

mod duration;
mod limits;
mod secrets;

pub use duration::parse_duration;
pub use limits::{parse_limit, Limit, Limits};

/// Secrets shorter than this are refused: HS256 and HMAC-SHA256 keys should
/// carry at least the hash's 256 bits.
pub const MIN_SECRET_BYTES: usize = 32;
/// bcrypt costs below this are too cheap for stored passwords (OWASP).
pub const MIN_BCRYPT_COST: u32 = 10;

/// The names of the settings, as environment variables (upper case) and as
/// `Rocket.toml` keys (lower case).
const SETTINGS: &[&str] = &[
    "AUTH_ACCESS_TOKEN_SECRET",
    "AUTH_ACCESS_TOKEN_EXPIRY",
    "AUTH_REFRESH_TOKEN_SECRET",
    "AUTH_REFRESH_TOKEN_EXPIRY",
    "AUTH_REFRESH_REUSE_GRACE",
    "AUTH_BCRYPT_COST",
    "AUTH_HASH_QUEUE_TIMEOUT",
    "AUTH_CORS_ORIGINS",
    "AUTH_RESET_URL",
    "RESET_PASSWORD_TOKEN_EXPIRY_MINS",
    "AUTH_EMAIL_USERNAME",
    "AUTH_EMAIL_PASSWORD",
    "EMAIL_FROM",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_TLS",
    "DATABASE_URL",
    "GATEPASS_DATA_DIR",
    "GATEPASS_TRUSTED_PROXY_HEADER",
    "GATEPASS_TRUSTED_PROXY_HOPS",
    "AUTH_LOGIN_ACCOUNT_LIMIT",
    "AUTH_LOGIN_ADDRESS_LIMIT",
    "AUTH_LOCKOUT_BASE",
    "AUTH_SIGNUP_ADDRESS_LIMIT",
    "AUTH_FORGOT_ADDRESS_LIMIT",
    "AUTH_REAUTH_ADDRESS_LIMIT",
    "AUTH_FORGOT_COOLDOWN",
    "GATEPASS_PRUNE_INTERVAL",
    "GATEPASS_AUDIT_RETENTION",
    "GATEPASS_SESSION_CACHE_TTL",
    "GATEPASS_DB_SYNCHRONOUS",
];

/// The settings as written, before they are checked.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawConfig {
    auth_access_token_secret: Option<String>,
    auth_access_token_expiry: Option<String>,
    auth_refresh_token_secret: Option<String>,
    auth_refresh_token_expiry: Option<String>,
    auth_refresh_reuse_grace: Option<String>,
    auth_bcrypt_cost: Option<u32>,
    auth_hash_queue_timeout: Option<String>,
    auth_cors_origins: Option<String>,
    auth_reset_url: Option<String>,
    reset_password_token_expiry_mins: Option<u64>,
    auth_email_username: Option<String>,
    auth_email_password: Option<String>,
    email_from: Option<String>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_tls: Option<String>,
    database_url: Option<String>,
    gatepass_data_dir: Option<PathBuf>,
    gatepass_trusted_proxy_header: Option<String>,
    gatepass_trusted_proxy_hops: Option<usize>,
    auth_login_account_limit: Option<String>,
    auth_login_address_limit: Option<String>,
    auth_lockout_base: Option<String>,
    auth_signup_address_limit: Option<String>,
    auth_forgot_address_limit: Option<String>,
    auth_reauth_address_limit: Option<String>,
    auth_forgot_cooldown: Option<String>,
    gatepass_prune_interval: Option<String>,
    gatepass_audit_retention: Option<String>,
    gatepass_session_cache_ttl: Option<String>,
    gatepass_db_synchronous: Option<String>,
}

/// A key that must never be printed: `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text: only for a local catcher.
    None,
    /// Plain connect, then STARTTLS (required, never optional).
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<Secret>,
}

/// Where mail goes: a real SMTP server, or `.eml` files in the outbox folder.
#[derive(Debug, Clone)]
pub enum MailConfig {
    Smtp(SmtpConfig),
    Outbox(PathBuf),
}

/// SQLite's `synchronous` setting (see [`Config::db_synchronous`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbSynchronous {
    Normal,
    Full,
}

impl DbSynchronous {
    pub fn as_str(self) -> &'static str {
        match self {
            DbSynchronous::Normal => "normal",
            DbSynchronous::Full => "full",
        }
    }
}

/// A reverse proxy trusted to name the client: it appends the address it saw
/// to `header` (`X-Forwarded-For: client, proxy1`), so the `hops`-th entry
/// from the right is the one the outermost trusted proxy wrote; anything
/// left of it is whatever the client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedProxy {
    pub header: String,
    pub hops: usize,
}

/// The whole, checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub access_token_secret: Secret,
    pub access_token_ttl: Duration,
    pub refresh_token_secret: Secret,
    pub refresh_token_ttl: Duration,
    /// How long a rotated refresh token still gets an answer (two tabs racing).
    pub refresh_reuse_grace: Duration,
    pub reset_token_ttl: Duration,
    pub bcrypt_cost: u32,
    /// How long a password hash may wait for a hashing thread before the
    /// request is answered 503 `server_busy` (see auth/password.rs).
    pub hash_queue_timeout: Duration,
    /// Front-end origins allowed to call with credentials (exact match).
    pub cors_origins: Vec<String>,
    /// Default base of the reset link; the token is appended as a path segment.
    pub reset_url: String,
    pub email_from: String,
    pub mail: MailConfig,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// The reverse proxy in front of the server, if one is trusted to say
    /// who the client is.
    pub trusted_proxy: Option<TrustedProxy>,
    /// The `iss` of every access token.
    pub issuer: String,
    pub limits: Limits,
    /// How often dead sessions, tokens and counters are removed.
    pub prune_interval: Duration,
    pub audit_retention: Duration,
    /// How long a protected request may rely on a cached session lookup: the
    /// bound on how late this process notices a session ended by *another*
    /// server process on the same database (its own writes take effect at
    /// once). Zero turns the cache off. See `cache.rs`.
    pub session_cache_ttl: Duration,
    /// SQLite's `synchronous` for every connection: `full` (the default) or
    /// `normal`. In WAL mode, `normal` does not wait for the disk at each
    /// commit, only at checkpoints: the database never corrupts, but a power
    /// loss or OS crash (not a server crash) can roll back the last commits
    /// (a rotation, which signs the client out; or a logout, reset or session
    /// end, which then did not happen). `full` waits for the disk at every
    /// commit, which bounds writes (rotations, logins) by the disk's fsync time.
    pub db_synchronous: DbSynchronous,
    /// What was done on the operator's behalf (generated secrets), to log once
    /// the logger runs.
    pub notices: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("could not read the configuration: {0}")]
    Figment(Box<rocket::figment::Error>),
    #[error("{what} ({path}): {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<rocket::figment::Error> for ConfigError {
    fn from(e: rocket::figment::Error) -> Self {
        ConfigError::Figment(Box::new(e))
    }
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.into(),
    }
}

impl Config {
    /// Reads `.env` (if present), the environment and `Rocket.toml`.
    pub fn load() -> Result<Config, ConfigError> {
        // A missing .env is normal; a malformed one is the operator's to fix.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(invalid("the .env file", e.to_string())),
        }
        Config::from_figment(&rocket::Config::figment())
    }

    /// Reads the settings from `figment` (its top level, as Rocket.toml's
    /// profile keys land) and the environment, which wins.
    pub fn from_figment(figment: &Figment) -> Result<Config, ConfigError> {
        let raw: RawConfig = figment.clone().merge(Env::raw().only(SETTINGS)).extract()?;
        Config::from_raw(raw)
    }

    /// A configuration for tests and embedding: everything at its default in
    /// `data_dir`, with the given overrides as `NAME=value` pairs.
    pub fn with_settings(
        data_dir: &Path,
        settings: &[(&str, &str)],
    ) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::default(
            "gatepass_data_dir",
            data_dir.display().to_string(),
        ));
        for (name, value) in settings {
            // Parsed like an environment variable: "10" is a number, "1d" a string.
            let value: rocket::figment::value::Value =
                value.parse().unwrap_or_else(|never| match never {});
            figment = figment.merge(Serialized::default(&name.to_lowercase(), value));
        }
        Config::from_raw(figment.extract()?)
    }

    fn from_raw(raw: RawConfig) -> Result<Config, ConfigError> {
        let data_dir = raw
            .gatepass_data_dir
            .unwrap_or_else(|| PathBuf::from("data"));
        let mut notices = Vec::new();
        prepare_data_dir(&data_dir, &mut notices)?;

        let (access_token_secret, refresh_token_secret) = secrets::resolve(
            &data_dir,
            raw.auth_access_token_secret,
            raw.auth_refresh_token_secret,
            &mut notices,
        )?;

        let access_token_ttl = duration_setting(
            "AUTH_ACCESS_TOKEN_EXPIRY",
            raw.auth_access_token_expiry,
            Duration::from_secs(120),
        )?;
        let refresh_token_ttl = duration_setting(
            "AUTH_REFRESH_TOKEN_EXPIRY",
            raw.auth_refresh_token_expiry,
            Duration::from_secs(24 * 3600),
        )?;
        let refresh_reuse_grace = duration_setting(
            "AUTH_REFRESH_REUSE_GRACE",
            raw.auth_refresh_reuse_grace,
            Duration::from_secs(10),
        )?;
        if access_token_ttl.as_secs() < 1 {
            return Err(invalid("AUTH_ACCESS_TOKEN_EXPIRY", "must be at least 1s"));
        }
        if refresh_token_ttl < access_token_ttl {
            return Err(invalid(
                "AUTH_REFRESH_TOKEN_EXPIRY",
                "must not be shorter than AUTH_ACCESS_TOKEN_EXPIRY",
            ));
        }
        let reset_mins = raw.reset_password_token_expiry_mins.unwrap_or(15);
        if reset_mins == 0 {
            return Err(invalid(
                "RESET_PASSWORD_TOKEN_EXPIRY_MINS",
                "must be at least 1",
            ));
        }

        let bcrypt_cost = raw.auth_bcrypt_cost.unwrap_or(12);
        if !(MIN_BCRYPT_COST..=31).contains(&bcrypt_cost) {
            return Err(invalid(
                "AUTH_BCRYPT_COST",
                format!("must be between {MIN_BCRYPT_COST} and 31 (got {bcrypt_cost})"),
            ));
        }

        let hash_queue_timeout = duration_setting(
            "AUTH_HASH_QUEUE_TIMEOUT",
            raw.auth_hash_queue_timeout,
            Duration::from_secs(5),
        )?;
        // Shorter, and a login on an idle server could be shed while its
        // hashing thread wakes up.
        if hash_queue_timeout < Duration::from_millis(100) {
            return Err(invalid("AUTH_HASH_QUEUE_TIMEOUT", "must be at least 100ms"));
        }

        let cors_origins = parse_origins(
            raw.auth_cors_origins
                .as_deref()
                .unwrap_or("http://localhost:3000"),
        )?;
        let reset_url = raw
            .auth_reset_url
            .unwrap_or_else(|| "http://localhost:3000/change-pass".to_owned());
        if !(reset_url.starts_with("http://") || reset_url.starts_with("https://")) {
            return Err(invalid("AUTH_RESET_URL", "must be an http(s) URL"));
        }
        let reset_url = reset_url.trim_end_matches('/').to_owned();

        let email_from = raw
            .email_from
            .unwrap_or_else(|| "gatepass <no-reply@localhost>".to_owned());
        if email_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "EMAIL_FROM",
                "must be an address such as 'Name <me@example.com>'",
            ));
        }
        let mail = match raw.smtp_host.filter(|h| !h.trim().is_empty()) {
            Some(host) => {
                let tls = match raw.smtp_tls.as_deref().unwrap_or("starttls") {
                    "none" => SmtpTls::None,
                    "starttls" => SmtpTls::StartTls,
                    "tls" => SmtpTls::Tls,
                    other => {
                        return Err(invalid(
                            "SMTP_TLS",
                            format!("must be none, starttls or tls (got {other:?})"),
                        ))
                    }
                };
                let default_port = match tls {
                    SmtpTls::Tls => 465,
                    SmtpTls::StartTls => 587,
                    SmtpTls::None => 25,
                };
                MailConfig::Smtp(SmtpConfig {
                    host,
                    port: raw.smtp_port.unwrap_or(default_port),
                    tls,
                    username: raw.auth_email_username.filter(|u| !u.is_empty()),
                    password: raw
                        .auth_email_password
                        .filter(|p| !p.is_empty())
                        .map(|p| Secret::new(p.into_bytes())),
                })
            }
            None => MailConfig::Outbox(data_dir.join("outbox")),
        };

        let database_url = raw.database_url.unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("gatepass.db").display()
            )
        });
        let on_postgres =
            database_url.starts_with("postgres://") || database_url.starts_with("postgresql://");
        if !on_postgres && !database_url.starts_with("sqlite:") {
            return Err(invalid(
                "DATABASE_URL",
                "must be a sqlite:, postgres: or postgresql: URL",
            ));
        }

        let trusted_proxy = match raw
            .gatepass_trusted_proxy_header
            .filter(|h| !h.trim().is_empty())
        {
            None => None,
            Some(header) => {
                let hops = raw.gatepass_trusted_proxy_hops.unwrap_or(1);
                if hops == 0 {
                    return Err(invalid(
                        "GATEPASS_TRUSTED_PROXY_HOPS",
                        "must be at least 1 (the proxy in front of the server)",
                    ));
                }
                Some(TrustedProxy {
                    header: header.trim().to_owned(),
                    hops,
                })
            }
        };

        let defaults = Limits::default();
        let limits = Limits {
            login_account: limit_setting(
                "AUTH_LOGIN_ACCOUNT_LIMIT",
                raw.auth_login_account_limit,
                defaults.login_account,
            )?,
            login_address: limit_setting(
                "AUTH_LOGIN_ADDRESS_LIMIT",
                raw.auth_login_address_limit,
                defaults.login_address,
            )?,
            lockout_base: duration_setting(
                "AUTH_LOCKOUT_BASE",
                raw.auth_lockout_base,
                defaults.lockout_base,
            )?,
            signup_address: limit_setting(
                "AUTH_SIGNUP_ADDRESS_LIMIT",
                raw.auth_signup_address_limit,
                defaults.signup_address,
            )?,
            forgot_address: limit_setting(
                "AUTH_FORGOT_ADDRESS_LIMIT",
                raw.auth_forgot_address_limit,
                defaults.forgot_address,
            )?,
            reauth_address: limit_setting(
                "AUTH_REAUTH_ADDRESS_LIMIT",
                raw.auth_reauth_address_limit,
                defaults.reauth_address,
            )?,
            forgot_cooldown: duration_setting(
                "AUTH_FORGOT_COOLDOWN",
                raw.auth_forgot_cooldown,
                defaults.forgot_cooldown,
            )?,
        };
        if limits.lockout_base.as_secs() < 1 {
            return Err(invalid("AUTH_LOCKOUT_BASE", "must be at least 1s"));
        }
        let prune_interval = duration_setting(
            "GATEPASS_PRUNE_INTERVAL",
            raw.gatepass_prune_interval,
            Duration::from_secs(3600),
        )?;
        if prune_interval.is_zero() {
            return Err(invalid(
                "GATEPASS_PRUNE_INTERVAL",
                "must be longer than zero",
            ));
        }
        let audit_retention = duration_setting(
            "GATEPASS_AUDIT_RETENTION",
            raw.gatepass_audit_retention,
            Duration::from_secs(90 * 86_400),
        )?;

        // PostgreSQL is the backend for several server processes, and a cached
        // session would outlive a logout made through another of them; so
        // there the cache is off unless asked for.
        let session_cache_ttl = duration_setting(
            "GATEPASS_SESSION_CACHE_TTL",
            raw.gatepass_session_cache_ttl,
            if on_postgres {
                Duration::ZERO
            } else {
                crate::cache::DEFAULT_TTL
            },
        )?;
        if session_cache_ttl > Duration::from_secs(60) {
            return Err(invalid(
                "GATEPASS_SESSION_CACHE_TTL",
                "must be at most 60s (it bounds how late a logout elsewhere is noticed)",
            ));
        }

        let db_synchronous = match raw
            .gatepass_db_synchronous
            .as_deref()
            .map(|s| s.trim().to_ascii_lowercase())
            .as_deref()
        {
            // Durability first: a logout or reset must survive a power loss.
            None | Some("full") => DbSynchronous::Full,
            Some("normal") => DbSynchronous::Normal,
            Some(other) => {
                return Err(invalid(
                    "GATEPASS_DB_SYNCHRONOUS",
                    format!("must be normal or full (got {other:?})"),
                ))
            }
        };

        Ok(Config {
            session_cache_ttl,
            db_synchronous,
            limits,
            prune_interval,
            audit_retention,
            access_token_secret,
            access_token_ttl,
            refresh_token_secret,
            refresh_token_ttl,
            refresh_reuse_grace,
            reset_token_ttl: Duration::from_secs(reset_mins * 60),
            bcrypt_cost,
            hash_queue_timeout,
            cors_origins,
            reset_url,
            email_from,
            mail,
            data_dir,
            database_url,
            trusted_proxy,
            issuer: "gatepass".to_owned(),
            notices,
        })
    }

    /// Rocket's own settings that follow from ours: the database URL for
    /// rocket_db_pools, and no client-chosen address header (Rocket trusts
    /// `X-Real-IP` by default; the trusted proxy's header is ours to read).
    pub fn rocket_figment(&self, base: Figment) -> Figment {
        base.merge(("databases.gatepass.url", self.database_url.clone()))
            .merge((
                format!("databases.gatepass.{}", crate::db::SESSION_CACHE_TTL_KEY),
                self.session_cache_ttl.as_millis() as u64,
            ))
            .merge((
                format!("databases.gatepass.{}", crate::db::SYNCHRONOUS_KEY),
                self.db_synchronous.as_str(),
            ))
            // Rocket would trust X-Real-IP, and reads only a single address;
            // `auth::client` reads the trusted proxy's header itself.
            .merge(("ip_header", false))
            // Our logger (see logging.rs) does the logging; Rocket's own request
            // lines would print reset tokens that sit in the path.
            .merge(("cli_colors", false))
            // SIGHUP (a closed terminal, a service manager) ends the server
            // like SIGTERM: gracefully, so the queued audit rows are stored.
            .merge(("shutdown.signals", ["term", "hup"]))
    }
}

/// Creates the data folder for this user alone (0700: it holds the SQLite
/// database with its password hashes and emails, the generated secrets and
/// the outbox), and warns about an existing one that lets other users in.
fn prepare_data_dir(data_dir: &Path, notices: &mut Vec<String>) -> Result<(), ConfigError> {
    let io_error = |what, source| ConfigError::Io {
        what,
        path: data_dir.to_owned(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        // An existing folder is left as it is: the operator may share it on
        // purpose, so they are told rather than overruled.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .map_err(|e| io_error("cannot create the data folder", e))?;
        let mode = std::fs::metadata(data_dir)
            .map_err(|e| io_error("cannot read the data folder", e))?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            notices.push(format!(
                "the data folder {} is open to other users (mode {mode:04o}), and it holds \
                 password hashes, emails and secrets: make it 0700 (chmod 700)",
                data_dir.display()
            ));
        }
    }
    #[cfg(not(unix))]
    {
        let _ = notices;
        std::fs::create_dir_all(data_dir)
            .map_err(|e| io_error("cannot create the data folder", e))?;
    }
    Ok(())
}

fn limit_setting(
    name: &'static str,
    value: Option<String>,
    default: Limit,
) -> Result<Limit, ConfigError> {
    match value {
        None => Ok(default),
        Some(text) => parse_limit(&text).map_err(|reason| invalid(name, reason)),
    }
}

fn duration_setting(
    name: &'static str,
    value: Option<String>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(text) => parse_duration(&text).map_err(|reason| invalid(name, reason)),
    }
}

/// Comma-separated exact origins: `scheme://host[:port]`, no path, never `*`
/// or `null` (credentials are allowed, so a wildcard would hand any site the
/// user's session).
fn parse_origins(list: &str) -> Result<Vec<String>, ConfigError> {
    let mut origins = Vec::new();
    for origin in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let origin = origin.trim_end_matches('/');
        let rest = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        match rest {
            Some(host) if !host.is_empty() && !host.contains('/') && !host.contains('*') => {
                origins.push(origin.to_owned())
            }
            _ => {
                return Err(invalid(
                    "AUTH_CORS_ORIGINS",
                    format!("{origin:?} is not an origin like https://app.example.com"),
                ))
            }
        }
    }
    Ok(origins)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(settings: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        Config::with_settings(dir.path(), settings)
    }

    #[test]
    fn defaults_work_with_nothing_configured() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::with_settings(dir.path(), &[]).unwrap();
        assert_eq!(c.access_token_ttl, Duration::from_secs(120));
        assert_eq!(c.refresh_token_ttl, Duration::from_secs(86400));
        assert_eq!(c.refresh_reuse_grace, Duration::from_secs(10));
        assert_eq!(c.reset_token_ttl, Duration::from_secs(900));
        assert_eq!(c.bcrypt_cost, 12);
        assert_eq!(c.hash_queue_timeout, Duration::from_secs(5));
        assert_eq!(c.cors_origins, vec!["http://localhost:3000"]);
        assert!(matches!(c.mail, MailConfig::Outbox(_)));
        assert!(c.database_url.starts_with("sqlite://"));
        assert!(c.access_token_secret.expose().len() >= MIN_SECRET_BYTES);
        assert_ne!(c.access_token_secret, c.refresh_token_secret);
    }

    #[cfg(unix)]
    #[test]
    fn the_data_folder_is_made_private_and_an_open_one_is_reported() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();

        let fresh = dir.path().join("fresh/data");
        let c = Config::with_settings(&fresh, &[]).unwrap();
        assert_eq!(mode(&fresh), 0o700);
        assert!(!c.notices.iter().any(|n| n.contains("other users")));

        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let c = Config::with_settings(&open, &[]).unwrap();
        let notice = c.notices.iter().find(|n| n.contains("other users"));
        assert!(
            notice.is_some_and(|n| n.contains("0755")),
            "{:?}",
            c.notices
        );
        assert_eq!(mode(&open), 0o755, "left as the operator made it");
    }

    #[test]
    fn short_secrets_are_refused_by_name() {
        let err = config(&[("AUTH_ACCESS_TOKEN_SECRET", "too-short")]).unwrap_err();
        assert!(
            err.to_string().contains("AUTH_ACCESS_TOKEN_SECRET"),
            "{err}"
        );
        assert!(err.to_string().contains("32"), "{err}");
    }

    #[test]
    fn session_cache_and_synchronous_settings() {
        let c = config(&[]).unwrap();
        assert_eq!(c.session_cache_ttl, crate::cache::DEFAULT_TTL);
        assert_eq!(c.db_synchronous, DbSynchronous::Full);
        let c = config(&[
            ("GATEPASS_SESSION_CACHE_TTL", "0s"),
            ("GATEPASS_DB_SYNCHRONOUS", "NORMAL"),
        ])
        .unwrap();
        assert!(c.session_cache_ttl.is_zero());
        assert_eq!(c.db_synchronous, DbSynchronous::Normal);
        let figment = c.rocket_figment(rocket::Config::figment());
        assert_eq!(
            figment
                .extract_inner::<String>("databases.gatepass.synchronous")
                .unwrap(),
            "normal"
        );
        assert_eq!(
            figment
                .extract_inner::<u64>("databases.gatepass.session_cache_ttl_ms")
                .unwrap(),
            0
        );
        assert!(config(&[("GATEPASS_SESSION_CACHE_TTL", "2m")]).is_err());
        let on_postgres = config(&[("DATABASE_URL", "postgres://gatepass@127.0.0.1/gatepass")]);
        assert!(on_postgres.unwrap().session_cache_ttl.is_zero());
        let on_postgres = config(&[
            ("DATABASE_URL", "postgresql://gatepass@127.0.0.1/gatepass"),
            ("GATEPASS_SESSION_CACHE_TTL", "1s"),
        ]);
        assert_eq!(
            on_postgres.unwrap().session_cache_ttl,
            Duration::from_secs(1)
        );
        let err = config(&[("DATABASE_URL", "mysql://localhost/gatepass")]).unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
        assert!(config(&[("GATEPASS_DB_SYNCHRONOUS", "off")]).is_err());
    }

    #[test]
    fn hash_queue_timeout_is_a_duration_of_at_least_100ms() {
        let c = config(&[("AUTH_HASH_QUEUE_TIMEOUT", "1500ms")]).unwrap();
        assert_eq!(c.hash_queue_timeout, Duration::from_millis(1500));
        for bad in ["50ms", "0s", "soon"] {
            let err = config(&[("AUTH_HASH_QUEUE_TIMEOUT", bad)]).unwrap_err();
            assert!(err.to_string().contains("AUTH_HASH_QUEUE_TIMEOUT"), "{err}");
        }
    }

    #[test]
    fn bcrypt_cost_has_a_floor() {
        assert!(config(&[("AUTH_BCRYPT_COST", "9")]).is_err());
        assert_eq!(
            config(&[("AUTH_BCRYPT_COST", "10")]).unwrap().bcrypt_cost,
            10
        );
    }

    #[test]
    fn wildcard_and_null_origins_are_refused() {
        assert!(config(&[("AUTH_CORS_ORIGINS", "*")]).is_err());
        assert!(config(&[("AUTH_CORS_ORIGINS", "null")]).is_err());
        let c = config(&[(
            "AUTH_CORS_ORIGINS",
            "https://a.example, http://localhost:5173/",
        )])
        .unwrap();
        assert_eq!(
            c.cors_origins,
            vec!["https://a.example", "http://localhost:5173"]
        );
    }

    #[test]
    fn smtp_settings_choose_the_transport() {
        let c = config(&[("SMTP_HOST", "smtp.example.com"), ("SMTP_TLS", "tls")]).unwrap();
        match c.mail {
            MailConfig::Smtp(s) => {
                assert_eq!(s.port, 465);
                assert_eq!(s.tls, SmtpTls::Tls);
            }
            MailConfig::Outbox(_) => panic!("expected SMTP"),
        }
        assert!(config(&[("SMTP_HOST", "x"), ("SMTP_TLS", "maybe")]).is_err());
    }

    #[test]
    fn secrets_are_not_printed_by_debug() {
        let s = Secret::new(b"super-secret-value-that-is-long-enough".to_vec());
        assert_eq!(format!("{s:?}"), "Secret(38 bytes)");
    }
}
