//! The two signing secrets: taken from the configuration when given, otherwise
//! generated once and kept in the data folder (mode 0600) so tokens survive a
//! restart.

use std::io::Write;
use std::path::Path;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;

use super::{invalid, ConfigError, Secret, MIN_SECRET_BYTES};

const SECRETS_FILE: &str = "secrets.json";

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    access_token_secret: String,
    refresh_token_secret: String,
}

pub(super) fn resolve(
    data_dir: &Path,
    access: Option<String>,
    refresh: Option<String>,
    notices: &mut Vec<String>,
) -> Result<(Secret, Secret), ConfigError> {
    let access = access
        .map(|s| checked("AUTH_ACCESS_TOKEN_SECRET", s))
        .transpose()?;
    let refresh = refresh
        .map(|s| checked("AUTH_REFRESH_TOKEN_SECRET", s))
        .transpose()?;
    if let (Some(a), Some(r)) = (&access, &refresh) {
        return Ok((a.clone(), r.clone()));
    }
    let stored = load_or_generate(data_dir, notices)?;
    Ok((
        access.unwrap_or_else(|| Secret::new(stored.access_token_secret.into_bytes())),
        refresh.unwrap_or_else(|| Secret::new(stored.refresh_token_secret.into_bytes())),
    ))
}

fn checked(name: &'static str, value: String) -> Result<Secret, ConfigError> {
    if value.len() < MIN_SECRET_BYTES {
        return Err(invalid(
            name,
            format!(
                "must be at least {MIN_SECRET_BYTES} bytes (got {}); generate one with: openssl rand -base64 48",
                value.len()
            ),
        ));
    }
    Ok(Secret::new(value.into_bytes()))
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
        let mut notices = Vec::new();
        let first = resolve(dir.path(), None, None, &mut notices).unwrap();
        assert_eq!(notices.len(), 1);
        let again = resolve(dir.path(), None, None, &mut Vec::new()).unwrap();
        assert_eq!(first, again);
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
    fn configured_secrets_win() {
        let dir = tempfile::tempdir().unwrap();
        let a = "a".repeat(32);
        let r = "r".repeat(40);
        let (access, refresh) = resolve(
            dir.path(),
            Some(a.clone()),
            Some(r.clone()),
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(access.expose(), a.as_bytes());
        assert_eq!(refresh.expose(), r.as_bytes());
        assert!(!dir.path().join(SECRETS_FILE).exists());
    }
}
