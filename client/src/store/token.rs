//! Where the access token lives: the OS keyring when one works, else a
//! mode-0600 file, announced (never a silent downgrade).
//!
//! `GATEPASS_TOKEN_STORE` chooses: `auto` (default: keyring, else file),
//! `keyring` (fail clearly when none works) or `file`. The state file records
//! which store took the token, so later runs read that one store instead of
//! probing every keyring again.
//!
//! keyring calls block (the Secret Service backend even runs its own tokio
//! runtime, which panics inside ours), so each runs on a thread of its own
//! and is abandoned after a timeout: a hung D-Bus never hangs the client.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{read_optional, remove_if_present, write_atomic};
use crate::error::{ClientError, Result};

/// The keyring "service" every entry is filed under; the account is the
/// server URL, so tokens of two servers never mix.
pub const KEYRING_SERVICE: &str = "gatepass";

/// How long one keyring call may take.
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(3);

/// A place an access token can be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// The freedesktop Secret Service (GNOME Keyring, KWallet) over D-Bus.
    SecretService,
    /// The Linux kernel keyring (keyutils), in the session keyring.
    KernelKeyring,
    /// The macOS Keychain.
    Keychain,
    /// The Windows Credential Manager.
    CredentialManager,
    /// A mode-0600 file in the server's data folder.
    File,
}

impl Backend {
    /// The name used in `state.json`, `gatepass status` and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::SecretService => "secret-service",
            Backend::KernelKeyring => "kernel-keyring",
            Backend::Keychain => "keychain",
            Backend::CredentialManager => "credential-manager",
            Backend::File => "file",
        }
    }

    pub fn is_keyring(self) -> bool {
        self != Backend::File
    }
}

/// The value of `GATEPASS_TOKEN_STORE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreChoice {
    Auto,
    Keyring,
    File,
}

impl StoreChoice {
    pub const ENV: &'static str = "GATEPASS_TOKEN_STORE";

    pub fn from_env() -> Result<StoreChoice> {
        StoreChoice::parse(std::env::var(Self::ENV).ok().as_deref())
    }

    /// `auto`, `keyring` or `file` (the config file's `token_store`).
    pub fn parse_value(value: &str) -> Option<StoreChoice> {
        match value.trim() {
            "auto" => Some(StoreChoice::Auto),
            "keyring" => Some(StoreChoice::Keyring),
            "file" => Some(StoreChoice::File),
            _ => None,
        }
    }

    /// Unset or empty means `auto`.
    pub fn parse(value: Option<&str>) -> Result<StoreChoice> {
        match value.map(str::trim).unwrap_or("") {
            "" => Ok(StoreChoice::Auto),
            other => StoreChoice::parse_value(other).ok_or_else(|| {
                ClientError::Usage(format!(
                    "{}={other:?} is not one of auto, keyring, file",
                    Self::ENV
                ))
            }),
        }
    }
}

/// Blocking access to the OS keyrings. A trait so the fallback logic is
/// tested without a keyring; `OsKeyring` is the real one.
pub trait Keyring: Send + Sync + 'static {
    /// The keyrings of this platform, most preferred first.
    fn backends(&self) -> Vec<Backend>;
    /// Stores the secret and reads it back: success means it really is kept.
    fn set(&self, backend: Backend, account: &str, secret: &str)
        -> std::result::Result<(), String>;
    fn get(&self, backend: Backend, account: &str) -> std::result::Result<Option<String>, String>;
    /// Deleting a missing entry is success.
    fn delete(&self, backend: Backend, account: &str) -> std::result::Result<(), String>;
}

/// The platform's keyrings through the keyring crate. Entries are built per
/// backend explicitly (not through keyring's default store, which silently
/// becomes a mock when a feature is missing).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsKeyring;

impl OsKeyring {
    fn entry(backend: Backend, account: &str) -> std::result::Result<keyring::Entry, String> {
        match backend {
            #[cfg(target_os = "linux")]
            Backend::SecretService => keyring::secret_service::SsCredential::new_with_target(
                None,
                KEYRING_SERVICE,
                account,
            )
            .map(|c| keyring::Entry::new_with_credential(Box::new(c)))
            .map_err(|e| e.to_string()),
            #[cfg(target_os = "linux")]
            Backend::KernelKeyring => keyring::keyutils::KeyutilsCredential::new_with_target(
                None,
                KEYRING_SERVICE,
                account,
            )
            .map(|c| keyring::Entry::new_with_credential(Box::new(c)))
            .map_err(|e| e.to_string()),
            #[cfg(target_os = "macos")]
            Backend::Keychain => {
                keyring::Entry::new(KEYRING_SERVICE, account).map_err(|e| e.to_string())
            }
            #[cfg(target_os = "windows")]
            Backend::CredentialManager => {
                keyring::Entry::new(KEYRING_SERVICE, account).map_err(|e| e.to_string())
            }
            other => Err(format!("{} does not exist on this system", other.as_str())),
        }
    }

    fn describe(backend: Backend, err: keyring::Error) -> String {
        match (backend, &err) {
            // keyring 3.6 reports the kernel's EACCES (no session keyring) as
            // NoEntry; say what actually helps.
            (Backend::KernelKeyring, keyring::Error::NoEntry) => {
                "no usable session keyring (run inside `keyctl session -`)".to_owned()
            }
            _ => err.to_string(),
        }
    }
}

impl Keyring for OsKeyring {
    fn backends(&self) -> Vec<Backend> {
        if cfg!(target_os = "linux") {
            vec![Backend::SecretService, Backend::KernelKeyring]
        } else if cfg!(target_os = "macos") {
            vec![Backend::Keychain]
        } else if cfg!(target_os = "windows") {
            vec![Backend::CredentialManager]
        } else {
            Vec::new()
        }
    }

    fn set(
        &self,
        backend: Backend,
        account: &str,
        secret: &str,
    ) -> std::result::Result<(), String> {
        let entry = Self::entry(backend, account)?;
        entry
            .set_password(secret)
            .map_err(|e| Self::describe(backend, e))?;
        match entry.get_password() {
            Ok(read) if read == secret => Ok(()),
            Ok(_) => Err("the stored token reads back differently".to_owned()),
            Err(e) => Err(Self::describe(backend, e)),
        }
    }

    fn get(&self, backend: Backend, account: &str) -> std::result::Result<Option<String>, String> {
        match Self::entry(backend, account)?.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(Self::describe(backend, e)),
        }
    }

    fn delete(&self, backend: Backend, account: &str) -> std::result::Result<(), String> {
        match Self::entry(backend, account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(Self::describe(backend, e)),
        }
    }
}

/// The result of storing a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub backend: Backend,
    /// Set when `auto` fell back to the file: why no keyring worked. The
    /// caller announces it once.
    pub fallback_reason: Option<String>,
}

/// The result of reading a token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    pub token: Option<String>,
    /// A keyring that did not answer; the caller may show it. The token is
    /// then treated as absent (a refresh gets a new one).
    pub warning: Option<String>,
}

/// The access-token store of one server.
#[derive(Clone)]
pub struct TokenStore {
    choice: StoreChoice,
    account: String,
    file: PathBuf,
    keyring: Arc<dyn Keyring>,
    timeout: Duration,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenStore")
            .field("choice", &self.choice)
            .field("account", &self.account)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl TokenStore {
    /// `account` is the server URL; `file` the fallback file's path.
    pub fn new(choice: StoreChoice, account: &str, file: PathBuf) -> TokenStore {
        TokenStore::with_keyring(choice, account, file, Arc::new(OsKeyring), KEYRING_TIMEOUT)
    }

    pub fn with_keyring(
        choice: StoreChoice,
        account: &str,
        file: PathBuf,
        keyring: Arc<dyn Keyring>,
        timeout: Duration,
    ) -> TokenStore {
        TokenStore {
            choice,
            account: account.to_owned(),
            file,
            keyring,
            timeout,
        }
    }

    pub fn choice(&self) -> StoreChoice {
        self.choice
    }

    pub fn file_path(&self) -> &std::path::Path {
        &self.file
    }

    /// Reads the token from the store `recorded` says holds it.
    pub async fn load(&self, recorded: Option<Backend>) -> Result<Loaded> {
        let source = match self.choice {
            StoreChoice::File => Some(Backend::File),
            StoreChoice::Keyring => recorded.filter(|b| b.is_keyring()),
            StoreChoice::Auto => recorded,
        };
        match source {
            None => Ok(Loaded::default()),
            Some(Backend::File) => {
                let Some(bytes) = read_optional(&self.file)? else {
                    return Ok(Loaded::default());
                };
                let token = String::from_utf8(bytes)
                    .ok()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| looks_like_jwt(s))
                    .ok_or_else(|| ClientError::CorruptStore {
                        what: "the access-token file",
                        location: self.file.display().to_string(),
                        detail: "it does not hold an access token".to_owned(),
                    })?;
                Ok(Loaded {
                    token: Some(token),
                    warning: None,
                })
            }
            Some(backend) => {
                let account = self.account.clone();
                match self.bounded(move |k| k.get(backend, &account)).await {
                    Ok(Some(token)) if looks_like_jwt(token.trim()) => Ok(Loaded {
                        token: Some(token.trim().to_owned()),
                        warning: None,
                    }),
                    Ok(Some(_)) => Err(ClientError::CorruptStore {
                        what: "the access token in the keyring",
                        location: backend.as_str().to_owned(),
                        detail: "it does not hold an access token".to_owned(),
                    }),
                    Ok(None) => Ok(Loaded::default()),
                    Err(e) => Ok(Loaded {
                        token: None,
                        warning: Some(format!(
                            "cannot read the access token from the {}: {e}",
                            backend.as_str()
                        )),
                    }),
                }
            }
        }
    }

    /// Stores the token. `recorded` is where the previous token went: in
    /// `auto` mode a store that already fell back to the file stays there
    /// (no new probe, no new announcement) until the next sign-in.
    pub async fn save(&self, token: &str, recorded: Option<Backend>) -> Result<Saved> {
        match self.choice {
            StoreChoice::File => {
                self.write_file(token)?;
                Ok(Saved {
                    backend: Backend::File,
                    fallback_reason: None,
                })
            }
            StoreChoice::Keyring => match self.save_to_keyring(token).await {
                Ok(backend) => Ok(Saved {
                    backend,
                    fallback_reason: None,
                }),
                Err(reasons) => Err(ClientError::KeyringUnavailable(reasons)),
            },
            StoreChoice::Auto if recorded == Some(Backend::File) => {
                self.write_file(token)?;
                Ok(Saved {
                    backend: Backend::File,
                    fallback_reason: None,
                })
            }
            StoreChoice::Auto => match self.save_to_keyring(token).await {
                Ok(backend) => {
                    // An older token file must not outlive the move to a keyring.
                    remove_if_present(&self.file)?;
                    Ok(Saved {
                        backend,
                        fallback_reason: None,
                    })
                }
                Err(reasons) => {
                    self.write_file(token)?;
                    Ok(Saved {
                        backend: Backend::File,
                        fallback_reason: Some(reasons),
                    })
                }
            },
        }
    }

    /// Forgets the token: the recorded keyring entry (best effort: a keyring
    /// that does not answer is reported, not fatal) and the file.
    pub async fn clear(&self, recorded: Option<Backend>) -> Result<Option<String>> {
        let mut warning = None;
        if let Some(backend) = recorded.filter(|b| b.is_keyring()) {
            let account = self.account.clone();
            if let Err(e) = self.bounded(move |k| k.delete(backend, &account)).await {
                warning = Some(format!(
                    "cannot remove the access token from the {}: {e}",
                    backend.as_str()
                ));
            }
        }
        remove_if_present(&self.file)?;
        Ok(warning)
    }

    async fn save_to_keyring(&self, token: &str) -> std::result::Result<Backend, String> {
        let mut reasons = Vec::new();
        for backend in self.keyring.backends() {
            let account = self.account.clone();
            let secret = token.to_owned();
            match self
                .bounded(move |k| k.set(backend, &account, &secret))
                .await
            {
                Ok(()) => return Ok(backend),
                Err(e) => reasons.push(format!("{}: {e}", backend.as_str())),
            }
        }
        if reasons.is_empty() {
            reasons.push("this system has no supported keyring".to_owned());
        }
        Err(reasons.join("; "))
    }

    fn write_file(&self, token: &str) -> Result<()> {
        write_atomic(&self.file, format!("{token}\n").as_bytes())
    }

    /// Runs one blocking keyring call on its own thread, for at most
    /// `self.timeout`. A call that does not finish is abandoned (its thread
    /// ends with the process).
    async fn bounded<T, F>(&self, call: F) -> std::result::Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Keyring) -> std::result::Result<T, String> + Send + 'static,
    {
        let keyring = Arc::clone(&self.keyring);
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("gatepass-keyring".to_owned())
            .spawn(move || {
                let _ = tx.send(call(keyring.as_ref()));
            })
            .map_err(|e| format!("cannot start a keyring thread: {e}"))?;
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err("the keyring call failed unexpectedly".to_owned()),
            Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis())),
        }
    }
}

/// Whether `s` has the shape of a JWT (three base64url parts). Used to tell a
/// damaged store from a token, and to keep junk out of the Authorization header.
pub fn looks_like_jwt(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};
    use std::sync::Mutex;

    const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

    /// A keyring whose backends work, fail or hang as told.
    #[derive(Default)]
    struct FakeKeyring {
        backends: Vec<Backend>,
        working: HashSet<Backend>,
        hanging: HashSet<Backend>,
        entries: Mutex<HashMap<(Backend, String), String>>,
        calls: Mutex<Vec<(Backend, &'static str)>>,
    }

    impl FakeKeyring {
        fn check(&self, backend: Backend, op: &'static str) -> std::result::Result<(), String> {
            self.calls.lock().unwrap().push((backend, op));
            if self.hanging.contains(&backend) {
                std::thread::sleep(Duration::from_secs(60));
            }
            if self.working.contains(&backend) {
                Ok(())
            } else {
                Err("not available".to_owned())
            }
        }

        fn calls(&self) -> Vec<(Backend, &'static str)> {
            self.calls.lock().unwrap().clone()
        }
    }

    impl Keyring for FakeKeyring {
        fn backends(&self) -> Vec<Backend> {
            self.backends.clone()
        }
        fn set(&self, b: Backend, account: &str, secret: &str) -> std::result::Result<(), String> {
            self.check(b, "set")?;
            let key = (b, account.to_owned());
            self.entries.lock().unwrap().insert(key, secret.to_owned());
            Ok(())
        }
        fn get(&self, b: Backend, account: &str) -> std::result::Result<Option<String>, String> {
            self.check(b, "get")?;
            let key = (b, account.to_owned());
            Ok(self.entries.lock().unwrap().get(&key).cloned())
        }
        fn delete(&self, b: Backend, account: &str) -> std::result::Result<(), String> {
            self.check(b, "delete")?;
            let key = (b, account.to_owned());
            self.entries.lock().unwrap().remove(&key);
            Ok(())
        }
    }

    fn store(choice: StoreChoice, fake: &Arc<FakeKeyring>, dir: &tempfile::TempDir) -> TokenStore {
        TokenStore::with_keyring(
            choice,
            "http://127.0.0.1:8000",
            dir.path().join("access-token"),
            Arc::clone(fake) as Arc<dyn Keyring>,
            Duration::from_millis(200),
        )
    }

    fn fake(backends: &[Backend], working: &[Backend], hanging: &[Backend]) -> Arc<FakeKeyring> {
        Arc::new(FakeKeyring {
            backends: backends.to_vec(),
            working: working.iter().copied().collect(),
            hanging: hanging.iter().copied().collect(),
            ..FakeKeyring::default()
        })
    }

    const LINUX: [Backend; 2] = [Backend::SecretService, Backend::KernelKeyring];

    #[test]
    fn choice_parses_the_documented_values() {
        assert_eq!(StoreChoice::parse(None).unwrap(), StoreChoice::Auto);
        assert_eq!(StoreChoice::parse(Some("")).unwrap(), StoreChoice::Auto);
        assert_eq!(StoreChoice::parse(Some("auto")).unwrap(), StoreChoice::Auto);
        assert_eq!(
            StoreChoice::parse(Some("keyring")).unwrap(),
            StoreChoice::Keyring
        );
        assert_eq!(StoreChoice::parse(Some("file")).unwrap(), StoreChoice::File);
        let err = StoreChoice::parse(Some("vault")).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[tokio::test]
    async fn auto_prefers_the_first_working_keyring() {
        let dir = tempfile::tempdir().unwrap();
        let fake = fake(&LINUX, &[Backend::KernelKeyring], &[]);
        let tokens = store(StoreChoice::Auto, &fake, &dir);
        let saved = tokens.save(TOKEN, None).await.unwrap();
        assert_eq!(saved.backend, Backend::KernelKeyring);
        assert_eq!(saved.fallback_reason, None);
        assert!(!tokens.file_path().exists(), "no file when a keyring works");
        let loaded = tokens.load(Some(saved.backend)).await.unwrap();
        assert_eq!(loaded.token.as_deref(), Some(TOKEN));
        assert_eq!(tokens.clear(Some(saved.backend)).await.unwrap(), None);
        let loaded = tokens.load(Some(saved.backend)).await.unwrap();
        assert_eq!(loaded.token, None);
    }

    #[tokio::test]
    async fn auto_falls_back_to_a_private_file_and_says_why_once() {
        let dir = tempfile::tempdir().unwrap();
        let fake = fake(&LINUX, &[], &[Backend::SecretService]);
        let tokens = store(StoreChoice::Auto, &fake, &dir);
        let started = std::time::Instant::now();
        let saved = tokens.save(TOKEN, None).await.unwrap();
        // The hanging Secret Service was abandoned after the timeout.
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(saved.backend, Backend::File);
        let reason = saved.fallback_reason.expect("the fallback is announced");
        assert!(reason.contains("secret-service: no answer"), "{reason}");
        assert!(reason.contains("kernel-keyring: not available"), "{reason}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(tokens.file_path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        // Later saves stay in the file without probing (or announcing) again.
        let probes = fake.calls().len();
        let saved = tokens.save(TOKEN, Some(Backend::File)).await.unwrap();
        assert_eq!(
            saved,
            Saved {
                backend: Backend::File,
                fallback_reason: None
            }
        );
        assert_eq!(fake.calls().len(), probes);
        let loaded = tokens.load(Some(Backend::File)).await.unwrap();
        assert_eq!(loaded.token.as_deref(), Some(TOKEN));
    }

    #[tokio::test]
    async fn keyring_choice_fails_clearly_when_none_works() {
        let dir = tempfile::tempdir().unwrap();
        let fake = fake(&LINUX, &[], &[]);
        let tokens = store(StoreChoice::Keyring, &fake, &dir);
        let err = tokens.save(TOKEN, None).await.unwrap_err();
        assert!(matches!(err, ClientError::KeyringUnavailable(_)), "{err}");
        assert_eq!(err.exit_code(), 2);
        assert!(!tokens.file_path().exists(), "never a silent file");
    }

    #[tokio::test]
    async fn file_choice_never_touches_a_keyring() {
        let dir = tempfile::tempdir().unwrap();
        let fake = fake(&LINUX, &LINUX, &[]);
        let tokens = store(StoreChoice::File, &fake, &dir);
        let saved = tokens.save(TOKEN, None).await.unwrap();
        assert_eq!(saved.backend, Backend::File);
        let loaded = tokens.load(Some(Backend::File)).await.unwrap();
        assert_eq!(loaded.token.as_deref(), Some(TOKEN));
        tokens.clear(Some(Backend::File)).await.unwrap();
        assert!(!tokens.file_path().exists());
        assert!(fake.calls().is_empty());
    }

    #[tokio::test]
    async fn a_damaged_token_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let fake = fake(&[], &[], &[]);
        let tokens = store(StoreChoice::File, &fake, &dir);
        std::fs::write(tokens.file_path(), b"\xff\xfe not a token").unwrap();
        let err = tokens.load(Some(Backend::File)).await.unwrap_err();
        assert!(matches!(err, ClientError::CorruptStore { .. }), "{err}");
        assert!(err.to_string().contains("access-token"), "{err}");
        // Clearing still works: the way out.
        tokens.clear(Some(Backend::File)).await.unwrap();
        assert_eq!(
            tokens.load(Some(Backend::File)).await.unwrap(),
            Loaded::default()
        );
    }

    #[tokio::test]
    async fn an_unanswering_keyring_reads_as_no_token_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let fake = fake(&LINUX, &[], &[Backend::SecretService]);
        let tokens = store(StoreChoice::Auto, &fake, &dir);
        let loaded = tokens.load(Some(Backend::SecretService)).await.unwrap();
        assert_eq!(loaded.token, None);
        assert!(loaded.warning.unwrap().contains("secret-service"));
    }

    #[test]
    fn jwt_shape() {
        assert!(looks_like_jwt(TOKEN));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt("a..c"));
        assert!(!looks_like_jwt("a.b.c d"));
        assert!(!looks_like_jwt(""));
    }
}
