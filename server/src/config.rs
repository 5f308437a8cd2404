//! One typed configuration, read once at start from `Rocket.toml`, the
//! environment and a `.env` file, with the reference tutorial's names.
//!
//! Every setting is declared once, in `config/settings.rs`: its name, type,
//! default and doc, from which come its field in one of the groups below, its
//! reading, its error messages and its row in the README. Everything that can
//! be wrong with the configuration is found here, before the server binds, and
//! reported as a [`ConfigError`] that names the setting.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rocket::figment::{providers::Serialized, value::Dict, Figment};

mod database;
mod declare;
mod duration;
mod limits;
mod secrets;
mod settings;

pub use database::{DatabaseUrl, DbSynchronous, PoolKeys};
pub use declare::{DefaultDoc, SettingDoc};
pub use duration::parse_duration;
pub use limits::{parse_limit, Limit};
pub use secrets::Secret;
pub use settings::{DatabaseSettings, Limits, Mail, Server, Tokens, SETTINGS};

use declare::{FromSetting, Show, Written};
use secrets::Generated;

/// Secrets shorter than this are refused: HS256 and HMAC-SHA256 keys should
/// carry at least the hash's 256 bits.
pub const MIN_SECRET_BYTES: usize = 32;
/// The session cache's TTL on SQLite when none is set (see `cache.rs`).
pub const DEFAULT_SESSION_CACHE_TTL: Duration = Duration::from_secs(2);
/// bcrypt costs below this are too cheap for stored passwords (OWASP).
pub const MIN_BCRYPT_COST: u32 = 10;

/// How access tokens are signed (`AUTH_ACCESS_TOKEN_ALG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessTokenAlg {
    /// Ed25519 (JWS `EdDSA`): key pairs kept in the database, public keys
    /// published; other services verify without being able to sign.
    EdDSA,
    /// HMAC-SHA256 under `AUTH_ACCESS_TOKEN_SECRET`: whoever verifies can sign.
    Hs256,
}

impl FromSetting for AccessTokenAlg {
    fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "EdDSA" => Ok(AccessTokenAlg::EdDSA),
            "HS256" => Ok(AccessTokenAlg::Hs256),
            other => Err(format!("must be EdDSA or HS256 (got {other:?})")),
        }
    }
}

impl Show for AccessTokenAlg {
    fn show(&self) -> String {
        match self {
            AccessTokenAlg::EdDSA => "EdDSA",
            AccessTokenAlg::Hs256 => "HS256",
        }
        .to_owned()
    }
}

/// When the signing key is rotated by itself (`AUTH_SIGNING_KEY_ROTATION`):
/// `off`, or every so long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRotation {
    Off,
    Every(Duration),
}

impl FromSetting for KeyRotation {
    fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "off" => Ok(KeyRotation::Off),
            every => match Duration::parse(every)? {
                zero if zero.is_zero() => Err("must be longer than zero, or off".into()),
                every => Ok(KeyRotation::Every(every)),
            },
        }
    }
}

impl Show for KeyRotation {
    fn show(&self) -> String {
        match self {
            KeyRotation::Off => "off".to_owned(),
            KeyRotation::Every(every) => every.show(),
        }
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

impl FromSetting for SmtpTls {
    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "none" => Ok(SmtpTls::None),
            "starttls" => Ok(SmtpTls::StartTls),
            "tls" => Ok(SmtpTls::Tls),
            other => Err(format!("must be none, starttls or tls (got {other:?})")),
        }
    }
}

impl Show for SmtpTls {
    fn show(&self) -> String {
        match self {
            SmtpTls::None => "none",
            SmtpTls::StartTls => "starttls",
            SmtpTls::Tls => "tls",
        }
        .to_owned()
    }
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

/// A reverse proxy trusted to name the client: it appends the address it saw
/// to `header` (`X-Forwarded-For: client, proxy1`), so the `hops`-th entry
/// from the right is the one the outermost trusted proxy wrote; anything
/// left of it is whatever the client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedProxy {
    pub header: String,
    pub hops: usize,
}

/// The whole, checked configuration, by group (see `config/settings.rs`).
#[derive(Debug, Clone)]
pub struct Config {
    pub server: Server,
    pub tokens: Tokens,
    pub mail: Mail,
    pub limits: Limits,
    pub database: DatabaseSettings,
    /// The `iss` of every access token: the public URL, as the discovery
    /// document names the issuer (verifiers compare the two).
    pub issuer: String,
    /// What was done on the operator's behalf (generated secrets), to log once
    /// the logger runs.
    pub notices: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("{0} is not a setting")]
    Unknown(String),
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

/// The names of the settings this module reads.
fn names() -> Vec<&'static str> {
    SETTINGS
        .iter()
        .filter(|s| s.read_here)
        .map(|s| s.name)
        .collect()
}

/// What reading the configuration may do to the data folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// For a start: create the data folder and the generated secrets.
    Start,
    /// For `check-config`: touch nothing, only read what exists.
    Check,
}

/// A configuration read without side effects ([`Config::check`]): every
/// setting parsed and checked exactly as a start would, but the data folder
/// and the generated secrets left as they are. It can only be described:
/// where the secrets would be generated, it holds stand-ins, so it never
/// reaches a server.
pub struct Checked {
    config: Config,
    generated: Generated,
}

impl Checked {
    /// Every setting read here with its effective value, as
    /// [`Config::describe`] gives it, except that a secret taken from the
    /// secrets file says so (and where one would be generated, that it will
    /// be at the first start). Secrets and the database password redacted.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let mut values = self.config.describe();
        for (name, value) in &mut values {
            if let Some(origin) = self.generated.origin(name) {
                *value = origin;
            }
        }
        values
    }

    /// What a start would do on the operator's behalf, or warn about.
    pub fn notices(&self) -> &[String] {
        &self.config.notices
    }
}

impl Config {
    /// Reads `.env` (if present), the environment and `Rocket.toml`.
    pub fn load() -> Result<Config, ConfigError> {
        Config::from_figment(&Config::figment()?)
    }

    /// Reads the configuration as [`Config::load`] does, through the same
    /// parsing and checks, without creating the data folder or the secrets
    /// file.
    pub fn check() -> Result<Checked, ConfigError> {
        Config::check_figment(&Config::figment()?)
    }

    fn figment() -> Result<Figment, ConfigError> {
        // A missing .env is normal; a malformed one is the operator's to fix.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(invalid("the .env file", e.to_string())),
        }
        Ok(rocket::Config::figment())
    }

    /// Reads the settings from `figment` (its top level, as Rocket.toml's
    /// profile keys land) and the environment, which wins; and the pool's
    /// keys from `databases.gatepass`.
    pub fn from_figment(figment: &Figment) -> Result<Config, ConfigError> {
        let written = Written::new(Written::environment(&names())?, figment.extract::<Dict>()?);
        Config::read(&written, figment, Mode::Start).map(|checked| checked.config)
    }

    /// [`Config::from_figment`] without side effects (see [`Config::check`]).
    pub fn check_figment(figment: &Figment) -> Result<Checked, ConfigError> {
        let written = Written::new(Written::environment(&names())?, figment.extract::<Dict>()?);
        Config::read(&written, figment, Mode::Check)
    }

    /// A configuration for tests and embedding: everything at its default in
    /// `data_dir`, with the given overrides as `NAME=value` pairs (the last
    /// one of a name wins).
    pub fn with_settings(
        data_dir: &Path,
        settings: &[(&str, &str)],
    ) -> Result<Config, ConfigError> {
        Config::given(data_dir, settings, Mode::Start).map(|checked| checked.config)
    }

    /// [`Config::with_settings`] without side effects (see [`Config::check`]).
    pub fn check_settings(
        data_dir: &Path,
        settings: &[(&str, &str)],
    ) -> Result<Checked, ConfigError> {
        Config::given(data_dir, settings, Mode::Check)
    }

    fn given(
        data_dir: &Path,
        settings: &[(&str, &str)],
        mode: Mode,
    ) -> Result<Checked, ConfigError> {
        let names = names();
        let mut given = HashMap::from([("GATEPASS_DATA_DIR", data_dir.display().to_string())]);
        for (name, value) in settings {
            let name = names
                .iter()
                .find(|known| known.eq_ignore_ascii_case(name))
                .ok_or_else(|| ConfigError::Unknown(name.to_string()))?;
            given.insert(*name, value.to_string());
        }
        let figment = Figment::new();
        Config::read(&Written::new(given, Dict::new()), &figment, mode)
    }

    /// The one reading of the settings, for a start and for a check alike;
    /// only what it does to the data folder differs. `figment` has Rocket's
    /// own settings: the pool's keys, and the API's address.
    fn read(written: &Written, figment: &Figment, mode: Mode) -> Result<Checked, ConfigError> {
        let pool = PoolKeys::from_figment(figment)?;
        let server = Server::read(written, api_address(figment)?)?;
        let mut notices = Vec::new();
        prepare_data_dir(&server.data_dir, &mut notices, mode)?;
        let mut generated = match mode {
            Mode::Start => Generated::new(&server.data_dir),
            Mode::Check => Generated::read_only(&server.data_dir),
        };
        let tokens = Tokens::read(written, &mut generated)?;
        notices.append(&mut generated.notices);
        let issuer = server.public_url.clone();
        let config = Config {
            mail: Mail::read(written, &server.data_dir)?,
            limits: Limits::read(written)?,
            database: DatabaseSettings::read(written, &server.data_dir, pool)?,
            server,
            tokens,
            issuer,
            notices,
        };
        Ok(Checked { config, generated })
    }

    /// Every setting read here with its effective value, group by group as
    /// `settings.rs` declares them; secrets and the database password
    /// redacted.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let mut values = Vec::new();
        self.server.describe(&mut values);
        self.tokens.describe(&mut values);
        self.mail.describe(&mut values);
        self.limits.describe(&mut values);
        self.database.describe(&mut values);
        values
    }

    /// Rocket's own settings that follow from ours: the database pool's, and
    /// no client-chosen address header (Rocket trusts `X-Real-IP` by default;
    /// the trusted proxy's header is ours to read).
    pub fn rocket_figment(&self, base: Figment) -> Figment {
        // Global, like the tuples below: a profile's own `databases.gatepass`
        // in Rocket.toml was read into `self.database` already. The pool
        // (`store::pool`) extracts these typed settings back, whole.
        base.merge(Serialized::global(PoolKeys::PATH, &self.database))
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

/// The address and port the API listens on, as Rocket reads them from the
/// same figment (`ROCKET_ADDRESS`, `ROCKET_PORT`, `Rocket.toml`), with
/// Rocket's defaults where unset.
fn api_address(figment: &Figment) -> Result<SocketAddr, ConfigError> {
    let defaults = rocket::Config::default();
    let address = match figment.find_value("address") {
        Ok(_) => figment.extract_inner("address")?,
        Err(_) => defaults.address,
    };
    let port = match figment.find_value("port") {
        Ok(_) => figment.extract_inner("port")?,
        Err(_) => defaults.port,
    };
    Ok(SocketAddr::new(address, port))
}

/// Creates the data folder for this user alone (0700: it holds the SQLite
/// database with its password hashes and emails, the generated secrets and
/// the outbox), and warns about an existing one that lets other users in.
/// In [`Mode::Check`], creates nothing: a missing folder is noted, an
/// existing one checked as a start would.
fn prepare_data_dir(
    data_dir: &Path,
    notices: &mut Vec<String>,
    mode: Mode,
) -> Result<(), ConfigError> {
    let io_error = |what, source| ConfigError::Io {
        what,
        path: data_dir.to_owned(),
        source,
    };
    if mode == Mode::Check {
        match std::fs::metadata(data_dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(io_error(
                    "cannot create the data folder",
                    std::io::Error::new(std::io::ErrorKind::AlreadyExists, "not a folder"),
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                notices.push(format!(
                    "the data folder {} does not exist yet: it is created (mode 0700) at the first start",
                    data_dir.display()
                ));
                return Ok(());
            }
            Err(e) => return Err(io_error("cannot read the data folder", e)),
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        // An existing folder is left as it is: the operator may share it on
        // purpose, so they are told rather than overruled.
        if mode == Mode::Start {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(data_dir)
                .map_err(|e| io_error("cannot create the data folder", e))?;
        }
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
    if mode == Mode::Start {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| io_error("cannot create the data folder", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(settings: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        Config::with_settings(dir.path(), settings)
    }

    /// The README's configuration table is the declarations' rendering: a
    /// setting added, removed or changed in `config/settings.rs` must be
    /// changed there too (the message holds the rows to paste).
    #[test]
    fn the_readme_documents_every_setting_and_nothing_else() {
        let readme = include_str!("../../README.md");
        let section = readme
            .split("\n## Configuration\n")
            .nth(1)
            .expect("the README has a Configuration section");
        let section = section.split("\n## ").next().unwrap_or(section);
        let rows: Vec<&str> = section
            .lines()
            .filter(|line| line.starts_with("| `"))
            .collect();
        let expected: Vec<String> = SETTINGS.iter().map(SettingDoc::readme_row).collect();
        assert!(
            rows == expected,
            "the README's configuration table and config/settings.rs disagree; its rows should be:\n\n{}\n",
            expected.join("\n")
        );
    }

    #[test]
    fn every_name_is_declared_once_and_in_upper_case() {
        for (i, setting) in SETTINGS.iter().enumerate() {
            assert_eq!(setting.name, setting.name.to_ascii_uppercase());
            assert!(
                !SETTINGS[..i].iter().any(|s| s.name == setting.name),
                "{} is declared twice",
                setting.name
            );
        }
    }

    #[test]
    fn defaults_work_with_nothing_configured() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::with_settings(dir.path(), &[]).unwrap();
        assert_eq!(c.tokens.access_token_ttl, Duration::from_secs(120));
        assert_eq!(c.tokens.refresh_token_ttl, Duration::from_secs(86400));
        assert_eq!(c.tokens.refresh_reuse_grace, Duration::from_secs(10));
        assert_eq!(c.tokens.reset_token_ttl, Duration::from_secs(900));
        assert_eq!(c.tokens.bcrypt_cost, 12);
        assert_eq!(c.tokens.hash_queue_timeout, Duration::from_secs(5));
        assert_eq!(c.server.cors_origins, vec!["http://localhost:3000"]);
        assert_eq!(c.server.data_dir, dir.path());
        assert_eq!(c.server.trusted_proxy, None);
        assert_eq!(c.server.prune_interval, Duration::from_secs(3600));
        assert_eq!(c.server.audit_retention, Duration::from_secs(90 * 86_400));
        assert_eq!(c.mail.reset_url, "http://localhost:3000/change-pass");
        assert!(matches!(&c.mail.transport, MailConfig::Outbox(dir) if dir.ends_with("outbox")));
        assert_eq!(c.limits.login_account, Limit::new(5, 900));
        assert_eq!(c.limits.reauth_address, Limit::new(1000, 900));
        assert_eq!(c.limits.lockout_base, Duration::from_secs(60));
        assert_eq!(
            c.database.url,
            DatabaseUrl::sqlite_in(dir.path()),
            "gatepass.db in the data folder"
        );
        assert!(c.database.url.url().starts_with("sqlite://"));
        assert!(c.tokens.access_token_secret.expose().len() >= MIN_SECRET_BYTES);
        assert_ne!(c.tokens.access_token_secret, c.tokens.refresh_token_secret);
        assert_eq!(c.issuer, "http://localhost:8000");
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
    fn secrets_are_generated_once_unless_both_are_configured() {
        let dir = tempfile::tempdir().unwrap();
        let first = Config::with_settings(dir.path(), &[]).unwrap();
        let generated = |c: &Config| c.notices.iter().any(|n| n.contains("generated them"));
        assert!(generated(&first), "{:?}", first.notices);
        let again = Config::with_settings(dir.path(), &[]).unwrap();
        assert!(!generated(&again), "{:?}", again.notices);
        assert_eq!(
            again.tokens.access_token_secret,
            first.tokens.access_token_secret
        );

        let dir = tempfile::tempdir().unwrap();
        let (a, r) = ("a".repeat(32), "r".repeat(40));
        let c = Config::with_settings(
            dir.path(),
            &[
                ("AUTH_ACCESS_TOKEN_SECRET", &a),
                ("AUTH_REFRESH_TOKEN_SECRET", &r),
            ],
        )
        .unwrap();
        assert_eq!(c.tokens.access_token_secret.expose(), a.as_bytes());
        assert_eq!(c.tokens.refresh_token_secret.expose(), r.as_bytes());
        assert!(!dir.path().join("secrets.json").exists());
    }

    #[test]
    fn short_secrets_are_refused_by_name() {
        let err = config(&[("AUTH_ACCESS_TOKEN_SECRET", "too-short")]).unwrap_err();
        assert!(
            err.to_string().contains("AUTH_ACCESS_TOKEN_SECRET"),
            "{err}"
        );
        assert!(err.to_string().contains("32"), "{err}");
        assert!(!err.to_string().contains("too-short"), "{err}");
    }

    #[test]
    fn errors_name_the_setting() {
        for (name, value) in [
            ("AUTH_ACCESS_TOKEN_EXPIRY", "two minutes"),
            ("AUTH_ACCESS_TOKEN_EXPIRY", "500ms"),
            ("AUTH_REFRESH_TOKEN_EXPIRY", "1m"),
            ("RESET_PASSWORD_TOKEN_EXPIRY_MINS", "0"),
            ("RESET_PASSWORD_TOKEN_EXPIRY_MINS", "soon"),
            ("AUTH_BCRYPT_COST", "many"),
            ("AUTH_RESET_URL", "ftp://example.com"),
            ("EMAIL_FROM", "not an address"),
            ("SMTP_PORT", "70000"),
            ("AUTH_LOGIN_ACCOUNT_LIMIT", "5"),
            ("AUTH_LOCKOUT_BASE", "0s"),
            ("GATEPASS_PRUNE_INTERVAL", "0s"),
            ("GATEPASS_AUDIT_RETENTION", "forever"),
        ] {
            let err = config(&[(name, value)]).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("{name} is invalid: ")),
                "{name}={value}: {err}"
            );
        }
        let err = config(&[("AUTH_REFRESH_TOKEN_EXPIRY", "1m")]).unwrap_err();
        assert!(
            err.to_string()
                .contains("shorter than AUTH_ACCESS_TOKEN_EXPIRY"),
            "{err}"
        );
        assert!(matches!(
            config(&[("AUTH_NO_SUCH_THING", "1")]),
            Err(ConfigError::Unknown(_))
        ));
    }

    #[test]
    fn rocket_toml_keys_are_the_lower_case_names_and_the_environment_wins() {
        use rocket::figment::providers::{Format, Toml};
        let dir = tempfile::tempdir().unwrap();
        let figment = Figment::from(Toml::string(&format!(
            "gatepass_data_dir = {:?}\nauth_access_token_expiry = \"5m\"\nauth_bcrypt_cost = 11\n\
             auth_refresh_reuse_grace = 30\n[databases.gatepass]\nmax_connections = 3\n",
            dir.path().display()
        )));
        let written = Written::new(
            HashMap::from([("AUTH_BCRYPT_COST", "13".to_owned())]),
            figment.extract::<Dict>().unwrap(),
        );
        let c = Config::read(&written, &figment, Mode::Start)
            .unwrap()
            .config;
        assert_eq!(c.server.data_dir, dir.path());
        assert_eq!(c.tokens.access_token_ttl, Duration::from_secs(300));
        assert_eq!(
            c.tokens.refresh_reuse_grace,
            Duration::from_secs(30),
            "a bare number of seconds"
        );
        assert_eq!(c.tokens.bcrypt_cost, 13);
        assert_eq!(c.database.max_connections, 3);
        assert_eq!(c.database.connect_timeout, 5);
    }

    #[test]
    fn session_cache_and_synchronous_settings() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database.session_cache_ttl, DEFAULT_SESSION_CACHE_TTL);
        assert_eq!(c.database.synchronous, DbSynchronous::Full);
        let c = config(&[
            ("GATEPASS_SESSION_CACHE_TTL", "0s"),
            ("GATEPASS_DB_SYNCHRONOUS", "NORMAL"),
        ])
        .unwrap();
        assert!(c.database.session_cache_ttl.is_zero());
        assert_eq!(c.database.synchronous, DbSynchronous::Normal);
        assert!(config(&[("GATEPASS_SESSION_CACHE_TTL", "2m")]).is_err());
        let on_postgres = config(&[("DATABASE_URL", "postgres://gatepass@127.0.0.1/gatepass")]);
        assert!(on_postgres.unwrap().database.session_cache_ttl.is_zero());
        let on_postgres = config(&[
            ("DATABASE_URL", "postgresql://gatepass@127.0.0.1/gatepass"),
            ("GATEPASS_SESSION_CACHE_TTL", "1s"),
        ]);
        assert_eq!(
            on_postgres.unwrap().database.session_cache_ttl,
            Duration::from_secs(1)
        );
        let err = config(&[("DATABASE_URL", "mysql://localhost/gatepass")]).unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
        assert!(config(&[("GATEPASS_DB_SYNCHRONOUS", "off")]).is_err());
    }

    /// The pool extracts exactly the typed settings from Rocket's figment,
    /// whatever the base figment said about the pool.
    #[test]
    fn the_database_settings_reach_the_pool_whole() {
        let c = config(&[
            (
                "DATABASE_URL",
                "postgres://gatepass:s3cret@127.0.0.1:5432/gatepass",
            ),
            ("GATEPASS_SESSION_CACHE_TTL", "1500ms"),
            ("GATEPASS_DB_SYNCHRONOUS", "normal"),
        ])
        .unwrap();
        let base = rocket::Config::figment().merge(("databases.gatepass.max_connections", 99));
        let figment = c.rocket_figment(base).focus(PoolKeys::PATH);
        let extracted = figment.extract::<DatabaseSettings>().unwrap();
        assert_eq!(extracted, c.database);
        assert_eq!(extracted.synchronous, DbSynchronous::Normal);
        assert_eq!(extracted.connect_timeout, 5);
        assert_ne!(extracted.max_connections, 99);
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn hash_queue_timeout_is_a_duration_of_at_least_100ms() {
        let c = config(&[("AUTH_HASH_QUEUE_TIMEOUT", "1500ms")]).unwrap();
        assert_eq!(c.tokens.hash_queue_timeout, Duration::from_millis(1500));
        for bad in ["50ms", "0s", "soon"] {
            let err = config(&[("AUTH_HASH_QUEUE_TIMEOUT", bad)]).unwrap_err();
            assert!(err.to_string().contains("AUTH_HASH_QUEUE_TIMEOUT"), "{err}");
        }
    }

    #[test]
    fn bcrypt_cost_has_a_floor() {
        assert!(config(&[("AUTH_BCRYPT_COST", "9")]).is_err());
        assert_eq!(
            config(&[("AUTH_BCRYPT_COST", "10")])
                .unwrap()
                .tokens
                .bcrypt_cost,
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
            c.server.cors_origins,
            vec!["https://a.example", "http://localhost:5173"]
        );
    }

    #[test]
    fn the_trusted_proxy_needs_a_header_and_a_hop() {
        let c = config(&[("GATEPASS_TRUSTED_PROXY_HEADER", " X-Forwarded-For ")]).unwrap();
        assert_eq!(
            c.server.trusted_proxy,
            Some(TrustedProxy {
                header: "X-Forwarded-For".into(),
                hops: 1
            })
        );
        assert!(config(&[
            ("GATEPASS_TRUSTED_PROXY_HEADER", "X-Forwarded-For"),
            ("GATEPASS_TRUSTED_PROXY_HOPS", "0"),
        ])
        .is_err());
        let c = config(&[("GATEPASS_TRUSTED_PROXY_HEADER", "")]).unwrap();
        assert_eq!(c.server.trusted_proxy, None);
    }

    #[test]
    fn the_metrics_address_is_off_by_default_and_never_the_apis() {
        assert_eq!(config(&[]).unwrap().server.metrics_address, None);
        let c = config(&[("GATEPASS_METRICS_ADDRESS", "127.0.0.1:9464")]).unwrap();
        assert_eq!(
            c.server.metrics_address,
            Some("127.0.0.1:9464".parse().unwrap())
        );
        let c = config(&[("GATEPASS_METRICS_ADDRESS", "[::1]:9464")]).unwrap();
        assert_eq!(
            c.server.metrics_address,
            Some("[::1]:9464".parse().unwrap())
        );
        // Rocket's default API address is 127.0.0.1:8000.
        for clash in ["127.0.0.1:8000", "0.0.0.0:8000"] {
            let error = config(&[("GATEPASS_METRICS_ADDRESS", clash)])
                .unwrap_err()
                .to_string();
            assert!(
                error.starts_with(
                    "GATEPASS_METRICS_ADDRESS is invalid: must not be the API's own address"
                ),
                "{error}"
            );
        }
        let error = config(&[("GATEPASS_METRICS_ADDRESS", "localhost")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("is not an IP address and port"), "{error}");
        // The API's address as Rocket reads it, from the same figment.
        let dir = tempfile::tempdir().unwrap();
        let figment = Figment::new()
            .merge(("address", "0.0.0.0"))
            .merge(("port", 9000));
        let written = Written::new(
            HashMap::from([
                ("GATEPASS_DATA_DIR", dir.path().display().to_string()),
                ("GATEPASS_METRICS_ADDRESS", "127.0.0.1:9000".to_owned()),
            ]),
            Dict::new(),
        );
        assert!(Config::read(&written, &figment, Mode::Check).is_err());
        let written = Written::new(
            HashMap::from([
                ("GATEPASS_DATA_DIR", dir.path().display().to_string()),
                ("GATEPASS_METRICS_ADDRESS", "127.0.0.1:8000".to_owned()),
            ]),
            Dict::new(),
        );
        assert!(Config::read(&written, &figment, Mode::Check).is_ok());
    }

    #[test]
    fn smtp_settings_choose_the_transport() {
        let c = config(&[("SMTP_HOST", "smtp.example.com"), ("SMTP_TLS", "tls")]).unwrap();
        match c.mail.transport {
            MailConfig::Smtp(s) => {
                assert_eq!(s.port, 465);
                assert_eq!(s.tls, SmtpTls::Tls);
                assert_eq!(s.username, None);
            }
            MailConfig::Outbox(_) => panic!("expected SMTP"),
        }
        assert!(config(&[("SMTP_HOST", "x"), ("SMTP_TLS", "maybe")]).is_err());
        let c = config(&[("SMTP_HOST", "x"), ("SMTP_PORT", "2525")]).unwrap();
        assert!(
            matches!(c.mail.transport, MailConfig::Smtp(s) if s.port == 2525 && s.tls == SmtpTls::StartTls)
        );
    }

    #[test]
    fn the_description_lists_every_setting_read_here_with_secrets_redacted() {
        let c = config(&[
            ("SMTP_HOST", "smtp.example.com"),
            ("AUTH_EMAIL_PASSWORD", "mail-pass-s3cret"),
            ("DATABASE_URL", "postgres://gatepass:pg-s3cret@db/gatepass"),
        ])
        .unwrap();
        let described = c.describe();
        let names: Vec<&str> = described.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, super::names());
        let text = format!("{described:?}");
        for secret in ["mail-pass-s3cret", "pg-s3cret"] {
            assert!(!text.contains(secret), "{text}");
        }
        let access = String::from_utf8_lossy(c.tokens.access_token_secret.expose()).into_owned();
        assert!(!text.contains(&access), "{text}");
        let value = |name| &described.iter().find(|(n, _)| *n == name).unwrap().1;
        assert_eq!(value("AUTH_ACCESS_TOKEN_EXPIRY"), "2m");
        assert_eq!(value("AUTH_LOGIN_ACCOUNT_LIMIT"), "5/15m");
        assert_eq!(value("DATABASE_URL"), "postgres://gatepass:***@db/gatepass");
    }

    /// `check-config`'s reading: the same parsing, nothing created.
    #[test]
    fn a_check_creates_nothing_and_says_what_the_first_start_will() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let checked = Config::check_settings(&data, &[]).unwrap();
        assert!(!data.exists(), "no data folder");
        let described = checked.describe();
        let names: Vec<&str> = described.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, super::names());
        let value = |name| &described.iter().find(|(n, _)| *n == name).unwrap().1;
        for name in ["AUTH_ACCESS_TOKEN_SECRET", "AUTH_REFRESH_TOKEN_SECRET"] {
            assert_eq!(
                value(name),
                &format!(
                    "(generated at first start into {})",
                    data.join("secrets.json").display()
                )
            );
        }
        assert_eq!(value("AUTH_ACCESS_TOKEN_EXPIRY"), "2m");
        assert!(
            checked
                .notices()
                .iter()
                .any(|n| n.contains("does not exist yet")),
            "{:?}",
            checked.notices()
        );
        assert!(!checked
            .notices()
            .iter()
            .any(|n| n.contains("generated them")));
    }

    #[test]
    fn a_check_reads_existing_secrets_and_configured_ones_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let started = Config::with_settings(dir.path(), &[]).unwrap();
        let checked = Config::check_settings(dir.path(), &[]).unwrap();
        assert!(
            !checked.notices().iter().any(|n| n.contains("generated")),
            "{:?}",
            checked.notices()
        );
        let text = format!("{:?}", checked.describe());
        let access =
            String::from_utf8_lossy(started.tokens.access_token_secret.expose()).into_owned();
        assert!(!text.contains(&access), "{text}");
        assert!(text.contains("(secret, from "), "{text}");

        let configured = "k".repeat(48);
        let checked =
            Config::check_settings(dir.path(), &[("AUTH_ACCESS_TOKEN_SECRET", &configured)])
                .unwrap();
        let described = checked.describe();
        let (_, value) = described
            .iter()
            .find(|(n, _)| *n == "AUTH_ACCESS_TOKEN_SECRET")
            .unwrap();
        assert_eq!(value, "(secret, 48 bytes)");
        assert!(!format!("{described:?}").contains(&configured));
    }

    /// A check refuses exactly what a start refuses, with the same message.
    #[test]
    fn a_check_and_a_start_agree_on_errors() {
        for (name, value) in [
            ("AUTH_ACCESS_TOKEN_EXPIRY", "soon"),
            ("AUTH_ACCESS_TOKEN_SECRET", "short"),
            ("DATABASE_URL", "mysql://localhost/gatepass"),
            ("AUTH_CORS_ORIGINS", "*"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let checked = Config::check_settings(&dir.path().join("data"), &[(name, value)]);
            let started = config(&[(name, value)]);
            assert_eq!(
                checked.err().map(|e| e.to_string()),
                started.err().map(|e| e.to_string()),
                "{name}={value}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secrets.json"), "not json").unwrap();
        let err = Config::check_settings(dir.path(), &[]).err().unwrap();
        assert!(err.to_string().contains("secrets file"), "{err}");
        let file = dir.path().join("secrets.json");
        let err = Config::check_settings(&file, &[]).err().unwrap();
        assert!(err.to_string().contains("data folder"), "{err}");
    }

    #[test]
    fn secrets_are_not_printed_by_debug() {
        let s = Secret::new(b"super-secret-value-that-is-long-enough".to_vec());
        assert_eq!(format!("{s:?}"), "Secret(38 bytes)");
    }
}
