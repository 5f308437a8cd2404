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
pub struct Generated {
    data_dir: PathBuf,
    stored: Option<Stored>,
    /// What was done on the operator's behalf, to log.
    pub notices: Vec<String>,
}

impl Generated {
    pub fn new(data_dir: &Path) -> Generated {
        Generated {
            data_dir: data_dir.to_owned(),
            stored: None,
            notices: Vec::new(),
        }
    }

    pub fn access(&mut self) -> Result<Secret, ConfigError> {
        Ok(Secret::new(
            self.stored()?.access_token_secret.as_bytes().to_vec(),
        ))
    }

    pub fn refresh(&mut self) -> Result<Secret, ConfigError> {
        Ok(Secret::new(
            self.stored()?.refresh_token_secret.as_bytes().to_vec(),
        ))
    }

    fn stored(&mut self) -> Result<&Stored, ConfigError> {
        if self.stored.is_none() {
            self.stored = Some(load_or_generate(&self.data_dir, &mut self.notices)?);
        }
        Ok(self.stored.as_ref().expect("just stored"))
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

fn load_or_generate(data_dir: &Path, notices: &mut Vec<String>) -> Result<Stored, ConfigError> {
    let path = data_dir.join(SECRETS_FILE);
    let io = |what, source| ConfigError::Io {
        what,
        path: path.clone(),
        source,
    };
    match std::fs::read(&path) {
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
            Ok(stored)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
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
                .open(&path)
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
        Err(e) => Err(io("cannot read the secrets file", e)),
    }
}

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
    fn short_keys_are_refused() {
        assert!(long_enough(&Secret::new(vec![b'a'; 31]))
            .unwrap_err()
            .contains("32"));
        assert!(long_enough(&Secret::new(vec![b'a'; 32])).is_ok());
    }
}
