//! Every setting, declared once: its name (the environment variable; its
//! lower case is the `Rocket.toml` key), the field it fills, its type, its
//! default and one line of doc, which is also its row in the README's
//! configuration table (a test keeps the two equal).
//!
//! ```text
//! /// meaning (the README's third column)
//! NAME => field: Type = default "text"        // parsed like a configured value
//!                     | unset "README text"   // Option<_>: None
//!                     | computed "README text" { value }
//!     [, via parser] [, check rule];
//! ```
//!
//! A setting is parsed by its type's `FromSetting` (`declare.rs`) unless it
//! names a parser (`via`); a check (`fn(&T) -> Result<(), String>`) runs on
//! its value, configured or default. Computed defaults and checks may use the group's
//! parameters and the settings above them. `then` derives fields from the
//! group's settings.
//!
//! To add a setting: one entry here, its row in the README (the test prints
//! it), and its use.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::database::{default_session_cache_ttl, DatabaseUrl, DbSynchronous, PoolKeys};
use super::declare::settings;
use super::secrets::{long_enough, Generated};
use super::{
    AccessTokenAlg, KeyRotation, Limit, MailConfig, Secret, SmtpConfig, SmtpTls, TrustedProxy,
    MIN_BCRYPT_COST,
};

settings! {
    /// Where the server keeps its files, who may call it, and its housekeeping.
    #[derive(Debug, Clone)]
    pub struct Server(api: SocketAddr) {
        /// database, generated secrets (`secrets.json`, mode 0600), outbox
        GATEPASS_DATA_DIR => data_dir: PathBuf = default "./data";
        /// comma-separated front-end origins allowed with credentials (never `*`)
        AUTH_CORS_ORIGINS => cors_origins: Vec<String> = default "http://localhost:3000",
            via parse_origins;
        /// header a trusted reverse proxy puts the client address in (e.g.
        /// `X-Forwarded-For`); unset, the socket address is used and `X-Real-IP` is
        /// ignored
        GATEPASS_TRUSTED_PROXY_HEADER => trusted_proxy_header: Option<String> = unset "unset";
        /// how many proxies you run in front of the server: the client is the entry
        /// this many from the right of the header's list (see [Security](#security))
        GATEPASS_TRUSTED_PROXY_HOPS => trusted_proxy_hops: usize = default "1",
            check |hops| match (&trusted_proxy_header, hops) {
                (Some(_), 0) => Err("must be at least 1 (the proxy in front of the server)".into()),
                _ => Ok(()),
            };
        /// how often ended and expired sessions, used reset tokens and idle counters
        /// are deleted
        GATEPASS_PRUNE_INTERVAL => prune_interval: Duration = default "1h",
            check |interval| if interval.is_zero() {
                Err("must be longer than zero".into())
            } else {
                Ok(())
            };
        /// how long audit events are kept
        GATEPASS_AUDIT_RETENTION => audit_retention: Duration = default "90d";
        /// this server's own public URL (scheme, host, port, path prefix), from which
        /// the discovery document's `issuer` and `jwks_uri` are built
        GATEPASS_PUBLIC_URL => public_url: String = default "http://localhost:8000",
            via reset_base;
        /// `address:port` of a second listener that serves Prometheus metrics at
        /// `/metrics` and nothing else (e.g. `127.0.0.1:9464`); never the API's own
        /// address (see [Metrics](#metrics))
        GATEPASS_METRICS_ADDRESS => metrics_address: Option<SocketAddr> = unset "unset: off",
            check |address| match address {
                Some(address) if overlaps(address, &api) => Err(format!(
                    "must not be the API's own address ({api}): metrics are never served on the public port"
                )),
                _ => Ok(()),
            };
    }
    then {
        /// The reverse proxy in front of the server, if one is trusted to say
        /// who the client is.
        trusted_proxy: Option<TrustedProxy> = trusted_proxy_header
            .as_deref()
            .map(|header| TrustedProxy {
                header: header.trim().to_owned(),
                hops: trusted_proxy_hops,
            });
    }

    /// The signing keys, the tokens' lifetimes and password hashing.
    #[derive(Debug, Clone)]
    pub struct Tokens(generated: &mut Generated) {
        /// how access tokens are signed: `EdDSA` (Ed25519, a key pair generated on first
        /// start and kept in the database, public keys at `/.well-known/jwks.json`) or
        /// `HS256` (with `AUTH_ACCESS_TOKEN_SECRET`)
        AUTH_ACCESS_TOKEN_ALG => access_token_alg: AccessTokenAlg = default "EdDSA";
        /// HS256 key of access tokens (with `AUTH_ACCESS_TOKEN_ALG=HS256`); at least 32
        /// bytes
        AUTH_ACCESS_TOKEN_SECRET => access_token_secret: Secret = computed "generated" {
            generated.access()?
        }, check long_enough;
        /// HMAC key for stored refresh and reset tokens; at least 32 bytes
        AUTH_REFRESH_TOKEN_SECRET => refresh_token_secret: Secret = computed "generated" {
            generated.refresh()?
        }, check long_enough;
        /// how often the Ed25519 signing key is replaced by itself (`off`, or a
        /// duration); the next key is published `AUTH_JWKS_MAX_AGE` before it signs,
        /// and nobody is signed out (see [Signing keys](#signing-keys))
        AUTH_SIGNING_KEY_ROTATION => signing_key_rotation: KeyRotation = default "30d";
        /// how long other services may cache `/.well-known/jwks.json` (its
        /// `Cache-Control: max-age`); a new key is published at least this long before
        /// it signs
        AUTH_JWKS_MAX_AGE => jwks_max_age: Duration = default "5m",
            check |max_age| match signing_key_rotation {
                _ if *max_age < Duration::from_secs(1) => Err("must be at least 1s".into()),
                KeyRotation::Every(every) if every <= *max_age => {
                    Err("must be shorter than AUTH_SIGNING_KEY_ROTATION".into())
                }
                _ => Ok(()),
            };
        /// how long the challenge lives that a right password opens on an account with
        /// two-factor sign-in (`POST /login/2fa` completes it)
        AUTH_MFA_CHALLENGE_TTL => mfa_challenge_ttl: Duration = default "5m",
            check at_least(Duration::from_secs(1), "1s");
        /// access-token lifetime
        AUTH_ACCESS_TOKEN_EXPIRY => access_token_ttl: Duration = default "120s",
            check at_least(Duration::from_secs(1), "1s");
        /// refresh-token lifetime (renewed by every rotation)
        AUTH_REFRESH_TOKEN_EXPIRY => refresh_token_ttl: Duration = default "1d",
            check |ttl| if *ttl < access_token_ttl {
                Err("must not be shorter than AUTH_ACCESS_TOKEN_EXPIRY".into())
            } else {
                Ok(())
            };
        /// how long a rotated refresh token still gets an answer (two tabs refreshing
        /// at once)
        AUTH_REFRESH_REUSE_GRACE => refresh_reuse_grace: Duration = default "10s";
        /// reset-link lifetime
        RESET_PASSWORD_TOKEN_EXPIRY_MINS => reset_token_ttl: Duration = default "15",
            via minutes;
        /// bcrypt cost, at least 10
        AUTH_BCRYPT_COST => bcrypt_cost: u32 = default "12",
            check |cost| if (MIN_BCRYPT_COST..=31).contains(cost) {
                Ok(())
            } else {
                Err(format!("must be between {MIN_BCRYPT_COST} and 31 (got {cost})"))
            };
        /// a password hash or check (login, signup, reset, password change) that waits
        /// longer than this for a hashing thread is answered 503 `server_busy` with
        /// `Retry-After`, unhashed (at least 100ms); a login whose client has hung up
        /// is not hashed at all
        AUTH_HASH_QUEUE_TIMEOUT => hash_queue_timeout: Duration = default "5s",
            // Shorter, and a login on an idle server could be shed while its
            // hashing thread wakes up.
            check at_least(Duration::from_millis(100), "100ms");
    }

    /// Reset links and where mail goes.
    #[derive(Debug, Clone)]
    pub struct Mail(data_dir: &Path) {
        /// default base of reset links (`<base>/<token>`)
        AUTH_RESET_URL => reset_url: String = default "http://localhost:3000/change-pass",
            via reset_base;
        /// SMTP server; unset, mail goes to `.eml` files in `<data>/outbox`
        SMTP_HOST => smtp_host: Option<String> = unset "unset: outbox";
        /// by `SMTP_TLS`
        SMTP_PORT => smtp_port: Option<u16> = unset "587 / 465 / 25";
        /// `none`, `starttls` (required, never opportunistic) or `tls`
        SMTP_TLS => smtp_tls: SmtpTls = default "starttls";
        /// SMTP login: user name
        AUTH_EMAIL_USERNAME => smtp_username: Option<String> = unset "unset";
        /// SMTP login: password
        AUTH_EMAIL_PASSWORD => smtp_password: Option<Secret> = unset "unset";
        /// sender
        EMAIL_FROM => email_from: String = default "gatepass <no-reply@localhost>",
            check |from| match from.parse::<lettre::message::Mailbox>() {
                Ok(_) => Ok(()),
                Err(_) => Err("must be an address such as 'Name <me@example.com>'".into()),
            };
    }
    then {
        /// Where mail goes: the SMTP server, or `.eml` files in the outbox folder.
        transport: MailConfig = match &smtp_host {
            None => MailConfig::Outbox(data_dir.join("outbox")),
            Some(host) => MailConfig::Smtp(SmtpConfig {
                host: host.clone(),
                port: smtp_port.unwrap_or(match smtp_tls {
                    SmtpTls::Tls => 465,
                    SmtpTls::StartTls => 587,
                    SmtpTls::None => 25,
                }),
                tls: smtp_tls,
                username: smtp_username.clone(),
                password: smtp_password.clone(),
            }),
        };
    }

    /// Every throttle the server applies (OWASP ASVS V2.2.1): `max/window`.
    #[derive(Debug, Clone)]
    pub struct Limits {
        /// login attempts per account (known or not; a success forgives them) before
        /// a lockout; wrong current passwords on `/change-password` count too
        AUTH_LOGIN_ACCOUNT_LIMIT => login_account: Limit = default "5/15m";
        /// failed logins per client address (IPv6: per /64) before a lockout
        AUTH_LOGIN_ADDRESS_LIMIT => login_address: Limit = default "50/15m";
        /// the first lockout; each further lockout doubles it (at most a day)
        AUTH_LOCKOUT_BASE => lockout_base: Duration = default "1m",
            check at_least(Duration::from_secs(1), "1s");
        /// signups per client address
        AUTH_SIGNUP_ADDRESS_LIMIT => signup_address: Limit = default "20/1h";
        /// forgot-password requests per client address
        AUTH_FORGOT_ADDRESS_LIMIT => forgot_address: Limit = default "20/1h";
        /// refreshes per client address
        AUTH_REAUTH_ADDRESS_LIMIT => reauth_address: Limit = default "1000/15m";
        /// personal-access-token exchanges (`POST /api/users/token`) per token and per
        /// client address
        AUTH_TOKEN_EXCHANGE_LIMIT => token_exchange: Limit = default "120/15m";
        /// at most one reset mail per account in this time (silently)
        AUTH_FORGOT_COOLDOWN => forgot_cooldown: Duration = default "1m";
    }

    /// What the database pool is opened with. Merged whole under
    /// `databases.gatepass` (see `Config::rocket_figment`), for the pool's
    /// `init` to extract: every default is here, none in the pool.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct DatabaseSettings(data_dir: &Path, pool: PoolKeys) {
        /// the database: `sqlite:` or `postgres://user:password@host:port/db` (see
        /// [Running more than one server](#running-more-than-one-server))
        DATABASE_URL => url: DatabaseUrl = computed "`sqlite://<data>/gatepass.db?mode=rwc`" {
            DatabaseUrl::sqlite_in(data_dir)
        };
        /// SQLite `synchronous`: `full` waits for the disk at every commit; `normal`
        /// (WAL) is several times faster for refreshes but a power loss can roll back
        /// the last commits (a logout that then did not happen)
        GATEPASS_DB_SYNCHRONOUS => synchronous: DbSynchronous = default "full";
        /// how long a protected request may rely on a cached session lookup; bounds how
        /// late a logout made through *another* server process on the same database is
        /// noticed (this server's own writes take effect at once); `0s` turns the cache
        /// off
        GATEPASS_SESSION_CACHE_TTL => session_cache_ttl: Duration =
            computed "`2s` (SQLite), `0s` (PostgreSQL)" { default_session_cache_ttl(&url) },
            check |ttl| if *ttl > Duration::from_secs(60) {
                Err("must be at most 60s (it bounds how late a logout elsewhere is noticed)".into())
            } else {
                Ok(())
            };
    }
    then {
        /// rocket_db_pools' `max_connections` (`Rocket.toml`:
        /// `databases.gatepass.max_connections`; default: 4 per Rocket worker).
        max_connections: usize = pool.max_connections;
        /// rocket_db_pools' `min_connections`.
        min_connections: Option<u32> = pool.min_connections;
        /// rocket_db_pools' `connect_timeout`, in seconds (default 5); on
        /// SQLite also the busy timeout.
        connect_timeout: u64 = pool.connect_timeout;
        /// rocket_db_pools' `idle_timeout`, in seconds.
        idle_timeout: Option<u64> = pool.idle_timeout;
        /// rocket_db_pools' `extensions` (SQLite extensions to load).
        extensions: Option<Vec<String>> = pool.extensions;
    }

    // Read by `logging::init`, from the environment alone: the log starts
    // before the configuration is read, so that its errors are logged.
    elsewhere {
        /// a level (`error`, `warn`, `info`, `debug`, `trace`, `off`) or per-target
        /// directives, as in `info,gatepass::audit=warn` (libraries log warnings and up
        /// at most); read from the environment only, not `Rocket.toml`
        GATEPASS_LOG = default "info";
        /// `text`, or `json`: one JSON object per line (`time`, `level`, `target`,
        /// `message`, `fields`); read from the environment only
        GATEPASS_LOG_FORMAT = default "text";
    }
}

fn at_least(min: Duration, text: &'static str) -> impl Fn(&Duration) -> Result<(), String> {
    move |value| {
        if *value < min {
            Err(format!("must be at least {text}"))
        } else {
            Ok(())
        }
    }
}

/// Whether a listener on `metrics` would share the API's port: the same port
/// on the same address, or on any address when either is unspecified
/// (`0.0.0.0`, `::`). Port 0 (any free port) never clashes.
fn overlaps(metrics: &SocketAddr, api: &SocketAddr) -> bool {
    metrics.port() == api.port()
        && metrics.port() != 0
        && (metrics.ip() == api.ip() || metrics.ip().is_unspecified() || api.ip().is_unspecified())
}

/// A whole number of minutes, at least one.
fn minutes(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<u64>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(minutes) => minutes
            .checked_mul(60)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("{text:?} is too long")),
        Err(_) => Err(format!("{text:?} is not a whole number of minutes")),
    }
}

/// An http(s) URL, without its trailing slash (the token is appended as a
/// path segment).
fn reset_base(text: &str) -> Result<String, String> {
    if !(text.starts_with("http://") || text.starts_with("https://")) {
        return Err("must be an http(s) URL".to_owned());
    }
    Ok(text.trim_end_matches('/').to_owned())
}

/// Comma-separated exact origins: `scheme://host[:port]`, no path, never `*`
/// or `null` (credentials are allowed, so a wildcard would hand any site the
/// user's session).
fn parse_origins(list: &str) -> Result<Vec<String>, String> {
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
                return Err(format!(
                    "{origin:?} is not an origin like https://app.example.com"
                ))
            }
        }
    }
    Ok(origins)
}
