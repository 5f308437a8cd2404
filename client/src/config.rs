//! The `gatepass` command's settings file and folders.
//!
//! ```toml
//! # $XDG_CONFIG_HOME/gatepass/config.toml (~/.config/gatepass/config.toml)
//! server = "https://auth.example.com"
//! token_store = "file"          # auto (default), keyring or file
//! ```
//!
//! Each setting is taken from the first of: the command-line flag, the
//! environment variable, this file, the built-in default. A missing file is
//! no error; a file that cannot be read or parsed, an unknown key or a value
//! that cannot work is one (exit 2), naming the file and the line.
//! `GATEPASS_CONFIG_DIR` replaces the folder that holds `config.toml`,
//! `GATEPASS_DATA_DIR` the folder that holds the credentials.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{ClientError, Result};
use crate::store::token::StoreChoice;

/// The folder holding `config.toml`, instead of `$XDG_CONFIG_HOME/gatepass`.
pub const CONFIG_DIR_ENV: &str = "GATEPASS_CONFIG_DIR";
/// The folder holding the credentials (`servers/<server>/…`), instead of
/// `$XDG_DATA_HOME/gatepass`.
pub const DATA_DIR_ENV: &str = "GATEPASS_DATA_DIR";
/// The file's name inside the config folder.
pub const CONFIG_FILE: &str = "config.toml";

/// What `config.toml` may say. Unknown keys are errors: a typo
/// (`sever = …`) must not be silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    server: Option<toml::Spanned<String>>,
    token_store: Option<toml::Spanned<String>>,
}

/// The settings read from the config file, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileConfig {
    /// The file these came from (whether or not it exists).
    pub path: Option<PathBuf>,
    pub server: Option<String>,
    pub token_store: Option<StoreChoice>,
}

/// A non-empty environment variable.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The folder `config.toml` is read from: `GATEPASS_CONFIG_DIR`, else the
/// platform's config folder (`$XDG_CONFIG_HOME` or `~/.config` on Linux)
/// plus `gatepass`; `None` without a home.
pub fn config_dir() -> Option<PathBuf> {
    env_var(CONFIG_DIR_ENV)
        .map(PathBuf::from)
        .or_else(|| dirs::config_dir().map(|dir| dir.join("gatepass")))
}

/// The path of the config file, for messages and help.
pub fn config_path() -> Option<PathBuf> {
    config_dir().map(|dir| dir.join(CONFIG_FILE))
}

/// The folder holding the credentials: `GATEPASS_DATA_DIR`, else the
/// platform's data folder plus `gatepass`.
pub fn data_dir() -> Result<PathBuf> {
    match env_var(DATA_DIR_ENV) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => crate::store::default_data_dir(),
    }
}

impl FileConfig {
    /// Reads the config file of this environment; no file, no settings.
    pub fn load() -> Result<FileConfig> {
        match config_path() {
            Some(path) => FileConfig::load_from(&path),
            None => Ok(FileConfig::default()),
        }
    }

    pub fn load_from(path: &Path) -> Result<FileConfig> {
        match std::fs::read_to_string(path) {
            Ok(text) => FileConfig::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileConfig {
                path: Some(path.to_owned()),
                ..FileConfig::default()
            }),
            Err(e) => Err(ClientError::Usage(format!(
                "cannot read the config file {}: {e}",
                path.display()
            ))),
        }
    }

    /// Parses and checks the text of `path`.
    pub fn parse(path: &Path, text: &str) -> Result<FileConfig> {
        let bad = |span: Option<Range<usize>>, message: &str| {
            let place = match span {
                Some(span) => format!(", line {}", line_of(text, span.start)),
                None => String::new(),
            };
            ClientError::Usage(format!(
                "bad config file {}{place}: {}",
                path.display(),
                message.trim().lines().collect::<Vec<_>>().join("; ")
            ))
        };
        let raw: Raw = toml::from_str(text).map_err(|e| bad(e.span(), e.message()))?;
        let server = match raw.server {
            Some(server) => {
                crate::api::normalize_server(server.get_ref())
                    .map_err(|e| bad(Some(server.span()), &format!("server: {e}")))?;
                Some(server.into_inner())
            }
            None => None,
        };
        let token_store = match raw.token_store {
            Some(choice) => Some(StoreChoice::parse_value(choice.get_ref()).ok_or_else(|| {
                bad(
                    Some(choice.span()),
                    &format!(
                        "token_store = {:?} is not one of auto, keyring, file",
                        choice.get_ref()
                    ),
                )
            })?),
            None => None,
        };
        Ok(FileConfig {
            path: Some(path.to_owned()),
            server,
            token_store,
        })
    }

    /// `GATEPASS_TOKEN_STORE` when set, else the file's `token_store`, else auto.
    pub fn token_store(&self) -> Result<StoreChoice> {
        match env_var(StoreChoice::ENV) {
            Some(value) => StoreChoice::parse(Some(&value)),
            None => Ok(self.token_store.unwrap_or(StoreChoice::Auto)),
        }
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FileConfig> {
        FileConfig::parse(Path::new("/home/ada/.config/gatepass/config.toml"), text)
    }

    #[test]
    fn the_server_and_the_token_store_are_read() {
        let config =
            parse("# mine\nserver = \"https://auth.example.com\"\ntoken_store = \"file\"\n")
                .unwrap();
        assert_eq!(config.server.as_deref(), Some("https://auth.example.com"));
        assert_eq!(config.token_store, Some(StoreChoice::File));
        let empty = parse("").unwrap();
        assert_eq!(empty.server, None);
        assert_eq!(empty.token_store, None);
    }

    #[test]
    fn a_bad_file_names_the_file_and_the_line() {
        for (text, line, words) in [
            (
                "server = \"http://a\"\nsever = \"x\"\n",
                2,
                "unknown field `sever`",
            ),
            ("\n\nserver = https://a\n", 3, "bad config file"),
            ("server = 8000\n", 1, "string"),
            (
                "server = \"localhost:8000\"\n",
                1,
                "server: invalid server URL",
            ),
            (
                "\ntoken_store = \"vault\"\n",
                2,
                "not one of auto, keyring, file",
            ),
        ] {
            let message = parse(text).unwrap_err().to_string();
            assert!(
                message
                    .starts_with("bad config file /home/ada/.config/gatepass/config.toml, line "),
                "{message}"
            );
            assert!(message.contains(&format!(", line {line}:")), "{message}");
            assert!(message.contains(words), "{message}");
            assert!(!message.contains('\n'), "one line: {message}");
        }
        assert_eq!(parse("sever = 1").unwrap_err().exit_code(), 2);
    }

    #[test]
    fn a_missing_file_is_no_settings_and_an_unreadable_one_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = FileConfig::load_from(&dir.path().join(CONFIG_FILE)).unwrap();
        assert_eq!(missing.server, None);
        // A folder where the file should be cannot be read.
        let error = FileConfig::load_from(dir.path()).unwrap_err();
        assert!(error.to_string().contains("cannot read the config file"));
    }

    #[test]
    fn lines_are_counted_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
        assert_eq!(line_of("a", 99), 1);
    }
}
