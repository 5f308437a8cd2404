//! The two signing secrets: taken from the configuration when given, otherwise
//! generated once and kept in the data folder (mode 0600) so tokens survive a
//! restart.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;

use super::{invalid, ConfigError, MIN_SECRET_BYTES};

const SECRETS_FILE: &str = "secrets.json";

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

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    access_token_secret: String,
    refresh_token_secret: String,
}

/// The signing keys' default: the secrets file in the data folder, read (or
/// written) at most once, and only if a key is not configured.
///
/// Read-only ([`Generated::read_only`], for `check-config`), a missing file
/// is not written: the keys asked for are noted as to be generated at the
/// first start, and stand-ins (never used to sign anything) take their place.
pub struct Generated {
    data_dir: PathBuf,
    write: bool,
    stored: Option<Stored>,
    /// Whether the file existed (read) or not (written, or to be written).
    found: bool,
    /// The settings that took their value from the file.
    asked: Vec<&'static str>,
    /// What was done on the operator's behalf, to log.
    pub notices: Vec<String>,
}

impl Generated {
    pub fn new(data_dir: &Path) -> Generated {
        Generated {
            data_dir: data_dir.to_owned(),
            write: true,
            stored: None,
            found: false,
            asked: Vec::new(),
            notices: Vec::new(),
        }
    }

    /// Reads an existing secrets file, never writes one.
    pub fn read_only(data_dir: &Path) -> Generated {
        Generated {
            write: false,
            ..Generated::new(data_dir)
        }
    }

    pub fn access(&mut self) -> Result<Secret, ConfigError> {
        self.asked.push("AUTH_ACCESS_TOKEN_SECRET");
        Ok(Secret::new(
            self.stored()?.access_token_secret.as_bytes().to_vec(),
        ))
    }

    pub fn refresh(&mut self) -> Result<Secret, ConfigError> {
        self.asked.push("AUTH_REFRESH_TOKEN_SECRET");
        Ok(Secret::new(
            self.stored()?.refresh_token_secret.as_bytes().to_vec(),
        ))
    }

    /// The secrets file's path.
    pub fn path(&self) -> PathBuf {
        self.data_dir.join(SECRETS_FILE)
    }

    /// How `name` got its value, when it came from the secrets file (for a
    /// listing; never the value): read from it, or generated into it.
    pub fn origin(&self, name: &str) -> Option<String> {
        if !self.asked.contains(&name) {
            return None;
        }
        let path = self.path();
        Some(if self.found {
            format!("(secret, from {})", path.display())
        } else if self.write {
            format!("(secret, generated into {})", path.display())
        } else {
            format!("(generated at first start into {})", path.display())
        })
    }

    fn stored(&mut self) -> Result<&Stored, ConfigError> {
        if self.stored.is_none() {
            let path = self.path();
            let stored = match load(&path)? {
                Some(stored) => {
                    self.found = true;
                    stored
                }
                None if self.write => generate(&path, &mut self.notices)?,
                // Stand-ins of the generated length: a read-only configuration
                // is only described, never served.
                None => Stored {
                    access_token_secret: "-".repeat(GENERATED_LEN),
                    refresh_token_secret: "-".repeat(GENERATED_LEN),
                },
            };
            self.stored = Some(stored);
        }
        Ok(self.stored.as_ref().expect("just stored"))
    }
}

impl super::Config {
    /// The generated secrets file, when a signing key of this configuration
    /// comes from it: a backup must keep it, since without it every stored
    /// token hash is useless. `None` when both keys are configured (an old
    /// file left beside them signs nothing).
    pub fn generated_secrets_file(&self) -> Result<Option<PathBuf>, ConfigError> {
        let path = self.server.data_dir.join(SECRETS_FILE);
        let Some(stored) = load(&path)? else {
            return Ok(None);
        };
        let tokens = &self.tokens;
        let from_file = tokens.access_token_secret.expose()
            == stored.access_token_secret.as_bytes()
            || tokens.refresh_token_secret.expose() == stored.refresh_token_secret.as_bytes();
        Ok(from_file.then_some(path))
    }
}

/// The check of a configured key.
pub fn long_enough(secret: &Secret) -> Result<(), String> {
    let len = secret.expose().len();
    if len < MIN_SECRET_BYTES {
        return Err(format!(
            "must be at least {MIN_SECRET_BYTES} bytes (got {len}); generate one with: openssl rand -base64 48"
        ));
    }
    Ok(())
}

/// The secrets file, if there is one.
fn load(path: &Path) -> Result<Option<Stored>, ConfigError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let stored: Stored = serde_json::from_slice(&bytes).map_err(|e| {
                invalid(
                    "the generated secrets file",
                    format!("{}: {e}", path.display()),
                )
            })?;
            if stored.access_token_secret.len() < MIN_SECRET_BYTES
                || stored.refresh_token_secret.len() < MIN_SECRET_BYTES
            {
                return Err(invalid(
                    "the generated secrets file",
                    format!("{} holds a short secret", path.display()),
                ));
            }
            Ok(Some(stored))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Io {
            what: "cannot read the secrets file",
            path: path.to_owned(),
            source,
        }),
    }
}

/// Writes a new secrets file (mode 0600); it must not exist yet.
fn generate(path: &Path, notices: &mut Vec<String>) -> Result<Stored, ConfigError> {
    let io = |what, source| ConfigError::Io {
        what,
        path: path.to_owned(),
        source,
    };
    let stored = Stored {
        access_token_secret: random_secret(),
        refresh_token_secret: random_secret(),
    };
    let json = serde_json::to_vec_pretty(&stored).expect("two strings serialise");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| io("cannot create the secrets file", e))?;
    file.write_all(&json)
        .and_then(|_| file.sync_all())
        .map_err(|e| io("cannot write the secrets file", e))?;
    notices.push(format!(
        "no AUTH_ACCESS_TOKEN_SECRET / AUTH_REFRESH_TOKEN_SECRET configured: generated them and stored them in {} (mode 0600)",
        path.display()
    ));
    Ok(stored)
}

/// The length of a generated secret: 48 bytes, base64url.
const GENERATED_LEN: usize = 64;

/// 384 random bits, base64url.
fn random_secret() -> String {
    let mut bytes = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_reused_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let mut generated = Generated::new(dir.path());
        let first = (generated.access().unwrap(), generated.refresh().unwrap());
        assert_eq!(generated.notices.len(), 1);
        assert_ne!(first.0, first.1);
        let mut again = Generated::new(dir.path());
        assert_eq!((again.access().unwrap(), again.refresh().unwrap()), first);
        assert!(again.notices.is_empty());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRETS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn nothing_is_written_until_a_key_is_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let _ = Generated::new(dir.path());
        assert!(!dir.path().join(SECRETS_FILE).exists());
    }

    #[test]
    fn read_only_writes_nothing_and_says_what_first_start_would_do() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut generated = Generated::read_only(&data);
        assert!(long_enough(&generated.access().unwrap()).is_ok());
        assert!(generated.notices.is_empty());
        assert!(!data.exists());
        let origin = generated.origin("AUTH_ACCESS_TOKEN_SECRET").unwrap();
        assert!(
            origin.starts_with("(generated at first start into "),
            "{origin}"
        );
        assert!(origin.contains("secrets.json"), "{origin}");
        assert_eq!(generated.origin("AUTH_REFRESH_TOKEN_SECRET"), None);
    }

    #[test]
    fn read_only_reads_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let first = Generated::new(dir.path()).access().unwrap();
        let mut generated = Generated::read_only(dir.path());
        assert_eq!(generated.access().unwrap(), first);
        let origin = generated.origin("AUTH_ACCESS_TOKEN_SECRET").unwrap();
        assert!(origin.starts_with("(secret, from "), "{origin}");
        assert!(!origin.contains(std::str::from_utf8(first.expose()).unwrap()));

        std::fs::write(dir.path().join(SECRETS_FILE), "{}").unwrap();
        let err = Generated::read_only(dir.path()).access().unwrap_err();
        assert!(err.to_string().contains("secrets file"), "{err}");
    }

    #[test]
    fn the_secrets_file_is_named_only_when_a_key_comes_from_it() {
        let dir = tempfile::tempdir().unwrap();
        let generated = crate::Config::with_settings(dir.path(), &[]).unwrap();
        assert_eq!(
            generated.generated_secrets_file().unwrap(),
            Some(dir.path().join(SECRETS_FILE))
        );
        let key = "k".repeat(MIN_SECRET_BYTES);
        let access_only = [("AUTH_ACCESS_TOKEN_SECRET", key.as_str())];
        let one = crate::Config::with_settings(dir.path(), &access_only).unwrap();
        assert!(one.generated_secrets_file().unwrap().is_some());
        let both = [
            ("AUTH_ACCESS_TOKEN_SECRET", key.as_str()),
            ("AUTH_REFRESH_TOKEN_SECRET", key.as_str()),
        ];
        let configured = crate::Config::with_settings(dir.path(), &both).unwrap();
        // The file from the first start is still there, and signs nothing.
        assert!(dir.path().join(SECRETS_FILE).exists());
        assert_eq!(configured.generated_secrets_file().unwrap(), None);
    }

    #[test]
    fn the_stand_in_is_as_long_as_a_generated_secret() {
        assert_eq!(random_secret().len(), GENERATED_LEN);
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(long_enough(&Secret::new(vec![b'a'; 31]))
            .unwrap_err()
            .contains("32"));
        assert!(long_enough(&Secret::new(vec![b'a'; 32])).is_ok());
    }
}
