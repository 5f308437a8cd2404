//! The database's settings: `DATABASE_URL` parsed once, SQLite's
//! `synchronous`, and rocket_db_pools' pool keys.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use rocket::figment::Figment;
use serde::{Deserialize, Serialize};

use super::declare::{FromSetting, Show};
use super::ConfigError;

/// `DATABASE_URL`, parsed once. Serialised as the URL itself, under the key
/// (`url`) where rocket_db_pools looks for it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DatabaseUrl {
    /// `sqlite://PATH?OPTIONS` (or `sqlite:PATH`): the file (or `:memory:`),
    /// percent-decoded as sqlx decodes it, and sqlx's options (`mode=rwc`,
    /// `cache=shared`, ...) as written after the `?`, possibly empty.
    Sqlite { path: PathBuf, options: String },
    /// `postgres://` or `postgresql://`, as written: sqlx reads its parts.
    Postgres(String),
}

impl DatabaseUrl {
    /// The default: `gatepass.db` in the data folder, created if missing.
    pub fn sqlite_in(data_dir: &Path) -> DatabaseUrl {
        DatabaseUrl::Sqlite {
            path: data_dir.join("gatepass.db"),
            options: "mode=rwc".to_owned(),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, DatabaseUrl::Postgres(_))
    }

    /// The URL for sqlx, password included: never log it (see [`Self::redacted`]).
    pub fn url(&self) -> String {
        match self {
            DatabaseUrl::Sqlite { path, options } => {
                // Only what sqlx would read differently: `%` (it decodes the
                // path) and `?` (where its options start).
                let path = path
                    .to_string_lossy()
                    .replace('%', "%25")
                    .replace('?', "%3F");
                if options.is_empty() {
                    format!("sqlite://{path}")
                } else {
                    format!("sqlite://{path}?{options}")
                }
            }
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }

    /// The URL with its password, if any, replaced by `***`.
    pub fn redacted(&self) -> String {
        let url = self.url();
        let DatabaseUrl::Postgres(_) = self else {
            return url;
        };
        let Some(start) = url.find("://").map(|i| i + 3) else {
            return url;
        };
        let authority_end = url[start..].find('/').map_or(url.len(), |i| start + i);
        let Some(at) = url[start..authority_end].rfind('@').map(|i| start + i) else {
            return url;
        };
        match url[start..at].find(':').map(|i| start + i) {
            Some(colon) => format!("{}:***{}", &url[..colon], &url[at..]),
            None => url,
        }
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(text.to_owned()));
        }
        if !text.starts_with("sqlite:") {
            return Err("must be a sqlite:, postgres: or postgresql: URL".to_owned());
        }
        // As sqlx reads it (sqlx-sqlite's `SqliteConnectOptions::from_str`).
        let rest = text
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:");
        let (path, options) = rest.split_once('?').unwrap_or((rest, ""));
        Ok(DatabaseUrl::Sqlite {
            path: PathBuf::from(percent_decode(path)?),
            options: options.to_owned(),
        })
    }
}

/// `%XX` to its byte, anything else as it is; the result must be UTF-8.
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| bytes[i] == b'%' && h.iter().all(u8::is_ascii_hexdigit));
        match hex {
            Some(hex) => {
                let hex = std::str::from_utf8(hex).expect("ASCII hex digits");
                out.push(u8::from_str_radix(hex, 16).expect("two hex digits"));
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "its path is not UTF-8 once percent-decoded".to_owned())
}

impl TryFrom<String> for DatabaseUrl {
    type Error = String;

    fn try_from(url: String) -> Result<Self, String> {
        url.parse()
    }
}

impl From<DatabaseUrl> for String {
    fn from(url: DatabaseUrl) -> String {
        url.url()
    }
}

/// Redacted: a configuration printed whole must not show the password.
impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({:?})", self.redacted())
    }
}

impl FromSetting for DatabaseUrl {
    fn parse(text: &str) -> Result<Self, String> {
        text.parse()
    }
}

impl Show for DatabaseUrl {
    fn show(&self) -> String {
        self.redacted()
    }
}

/// SQLite's `synchronous` (see `GATEPASS_DB_SYNCHRONOUS` in `settings.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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

impl FromSetting for DbSynchronous {
    fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "full" => Ok(DbSynchronous::Full),
            "normal" => Ok(DbSynchronous::Normal),
            other => Err(format!("must be normal or full (got {other:?})")),
        }
    }
}

impl Show for DbSynchronous {
    fn show(&self) -> String {
        self.as_str().to_owned()
    }
}

/// The pool's own keys, as rocket_db_pools reads them from
/// `databases.gatepass` (`Rocket.toml`'s `[default.databases.gatepass]`, or
/// `ROCKET_DATABASES`), with that crate's defaults: they are Rocket's
/// settings rather than ours, so they keep Rocket's names and units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolKeys {
    pub max_connections: usize,
    pub min_connections: Option<u32>,
    /// Seconds.
    pub connect_timeout: u64,
    /// Seconds.
    pub idle_timeout: Option<u64>,
    pub extensions: Option<Vec<String>>,
}

impl PoolKeys {
    pub const PATH: &'static str = "databases.gatepass";

    /// As rocket_db_pools would read them from `figment`: its defaults are
    /// four connections per Rocket worker and a 5 s connect timeout.
    pub fn from_figment(figment: &Figment) -> Result<PoolKeys, ConfigError> {
        #[derive(Default, Deserialize)]
        #[serde(default)]
        struct Written {
            max_connections: Option<usize>,
            min_connections: Option<u32>,
            connect_timeout: Option<u64>,
            idle_timeout: Option<u64>,
            extensions: Option<Vec<String>>,
        }
        let written: Written = match figment.extract_inner(Self::PATH) {
            Err(e) if e.missing() => Written::default(),
            written => written?,
        };
        let workers: usize = figment
            .extract_inner(rocket::Config::WORKERS)
            .unwrap_or_else(|_| rocket::Config::default().workers);
        Ok(PoolKeys {
            max_connections: written.max_connections.unwrap_or(workers * 4),
            min_connections: written.min_connections,
            connect_timeout: written.connect_timeout.unwrap_or(5),
            idle_timeout: written.idle_timeout,
            extensions: written.extensions,
        })
    }
}

/// The session cache's default: PostgreSQL is the backend for several server
/// processes, and a cached session would outlive a logout made through
/// another of them, so there the cache is off unless asked for.
pub fn default_session_cache_ttl(url: &DatabaseUrl) -> Duration {
    if url.is_postgres() {
        Duration::ZERO
    } else {
        super::DEFAULT_SESSION_CACHE_TTL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(path: &str, options: &str) -> DatabaseUrl {
        DatabaseUrl::Sqlite {
            path: PathBuf::from(path),
            options: options.to_owned(),
        }
    }

    #[test]
    fn sqlite_urls_are_read_as_sqlx_reads_them() {
        let parse = |url: &str| url.parse::<DatabaseUrl>().unwrap();
        assert_eq!(
            parse("sqlite://data/gatepass.db?mode=rwc"),
            sqlite("data/gatepass.db", "mode=rwc")
        );
        assert_eq!(
            parse("sqlite:data/gatepass.db"),
            sqlite("data/gatepass.db", "")
        );
        assert_eq!(parse("sqlite:///var/lib/g.db"), sqlite("/var/lib/g.db", ""));
        assert_eq!(parse("sqlite::memory:"), sqlite(":memory:", ""));
        assert_eq!(
            parse("sqlite://a%20b%3F.db?mode=ro"),
            sqlite("a b?.db", "mode=ro")
        );
        assert_eq!(parse("sqlite://100%.db"), sqlite("100%.db", ""));
        // And back, to the same file and options.
        for url in [
            "sqlite://data/gatepass.db?mode=rwc",
            "sqlite::memory:",
            "sqlite://a%20b%3F.db",
            "sqlite://100%.db",
        ] {
            let once = parse(url);
            assert_eq!(parse(&once.url()), once, "{url}");
        }
        assert_eq!(parse("sqlite://a%20b%3F.db").url(), "sqlite://a b%3F.db");
    }

    #[test]
    fn other_schemes_are_refused_and_postgres_passwords_redacted() {
        assert!("mysql://localhost/gatepass".parse::<DatabaseUrl>().is_err());
        assert!("data/gatepass.db".parse::<DatabaseUrl>().is_err());
        let pg: DatabaseUrl = "postgres://gatepass:s3cret@db:5432/gatepass"
            .parse()
            .unwrap();
        assert!(pg.is_postgres());
        assert_eq!(pg.url(), "postgres://gatepass:s3cret@db:5432/gatepass");
        assert_eq!(pg.redacted(), "postgres://gatepass:***@db:5432/gatepass");
        assert!(!format!("{pg:?}").contains("s3cret"));
        let no_password: DatabaseUrl = "postgresql://gatepass@db/gatepass".parse().unwrap();
        assert_eq!(no_password.redacted(), "postgresql://gatepass@db/gatepass");
    }

    #[test]
    fn pool_keys_default_as_rocket_db_pools_does() {
        let figment = Figment::from(rocket::Config::default())
            .merge(("workers", 3))
            .merge(("databases.gatepass.connect_timeout", 9));
        let keys = PoolKeys::from_figment(&figment).unwrap();
        assert_eq!(keys.max_connections, 12);
        assert_eq!(keys.connect_timeout, 9);
        assert_eq!(keys.min_connections, None);
    }
}
