//! The life of the Ed25519 signing keys (`AUTH_ACCESS_TOKEN_ALG=EdDSA`),
//! shared through the database by every server on it.
//!
//! - There is always one **current** key (signs new tokens) and one **next**
//!   key (published in the JWKS, signing nothing yet), so that a verifier's
//!   cached key set already holds the key that signs after a rotation.
//! - A **rotation** retires the current key, which keeps verifying until the
//!   last token it signed has expired (access-token lifetime plus
//!   [`RETIRED_GRACE`]), makes the next key current and publishes a new
//!   next key. Refresh tokens are not keys' business: nobody signs in again.
//!   It is one compare-and-swap on both kids (`store/signing_keys.rs`), so of
//!   servers deciding at the same moment exactly one rotates.
//! - **Retiring** a key at once (a leak) stops it verifying on every server
//!   within [`SYNC_INTERVAL`]: clients refresh and get tokens of another key.
//! - Each server reads the table every [`SYNC_INTERVAL`] ([`stage`]), so a
//!   `gatepass-server keys` command or another server's rotation is seen
//!   within seconds; and rotates by itself when `AUTH_SIGNING_KEY_ROTATION`
//!   says it is time ([`due`]).

pub mod command;

use std::sync::Arc;
use std::time::Duration;

use rocket::fairing::{self, AdHoc};
use rocket::{Build, Rocket};
use rocket_db_pools::Database;

use crate::auth::keys::{Ed25519Pair, KeySeal, EDDSA};
use crate::auth::tokens::{AccessTokens, VerifyingKey};
use crate::config::{AccessTokenAlg, Config, KeyRotation};
use crate::state::AppState;
use crate::store::signing_keys::{KeyState, NewSigningKey, SigningKeyRecord};
use crate::store::{now_ms, Db, Store};

/// How often every server reads the keys (and checks the schedule).
pub const SYNC_INTERVAL: Duration = Duration::from_secs(2);

/// How long past the access-token lifetime a key retired by a rotation
/// keeps verifying: other servers sign with it until they notice the
/// rotation ([`SYNC_INTERVAL`]), and their tokens must not be cut short.
pub const RETIRED_GRACE: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no signing key {0}")]
    UnknownKid(String),
    #[error("{0}")]
    Failed(String),
}

impl From<sqlx::Error> for KeyError {
    fn from(e: sqlx::Error) -> KeyError {
        KeyError::Failed(format!("the signing keys in the database: {e}"))
    }
}

/// What a current key whose private half does not open (another
/// `AUTH_REFRESH_TOKEN_SECRET`) leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unreadable {
    /// A starting server retires it at once and makes a new one (the secret
    /// was changed on purpose).
    Replace,
    /// A command refuses: an operator's shell with the wrong secret must not
    /// retire the key every server signs with.
    Refuse,
}

/// One rotation, as done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The key that signed until now; it verifies until `verifies_until`.
    pub retired: String,
    pub verifies_until: i64,
    /// The key that signs from now on.
    pub current: String,
    /// When `current` was first published (Unix ms).
    pub current_published_at: i64,
    /// The key published now to sign at the next rotation.
    pub next: String,
}

/// One key retired at once, as done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retirement {
    pub kid: String,
    /// What the key was.
    pub was: KeyState,
    /// The rotation that retiring the current key needed first.
    pub rotation: Option<Rotation>,
}

/// The keys' policy: the seal of private keys, the tokens' lifetime and the
/// schedule.
#[derive(Clone)]
pub struct SigningKeys {
    seal: KeySeal,
    access_ttl: Duration,
    rotation: KeyRotation,
    publish_ahead: Duration,
}

impl SigningKeys {
    pub fn new(config: &Config) -> SigningKeys {
        SigningKeys {
            seal: KeySeal::new(&config.tokens.refresh_token_secret),
            access_ttl: config.tokens.access_token_ttl,
            rotation: config.tokens.signing_key_rotation,
            publish_ahead: config.tokens.jwks_max_age,
        }
    }

    /// Every key that may verify a live token, oldest first.
    pub async fn list(&self, store: &Store) -> Result<Vec<SigningKeyRecord>, KeyError> {
        Ok(store
            .signing_keys(now_ms())
            .await?
            .into_iter()
            .filter(|k| k.algorithm == EDDSA && k.public_key.len() == 32)
            .collect())
    }

    /// Gives `tokens` the keys of the database, unless it has them already:
    /// true if they changed. Makes the current or next key when missing.
    pub async fn sync(&self, store: &Store, tokens: &AccessTokens) -> Result<bool, KeyError> {
        let stored = self.list(store).await?;
        if has_both(&stored) && installed(tokens) == wanted(&stored) {
            return Ok(false);
        }
        let (pair, stored) = self.ensure(store, Unreadable::Replace).await?;
        let others: Vec<VerifyingKey> = stored
            .iter()
            .filter(|k| k.kid != pair.kid())
            .filter_map(|k| {
                Some(VerifyingKey {
                    kid: k.kid.clone(),
                    public: k.public_key.as_slice().try_into().ok()?,
                })
            })
            .collect();
        tokens
            .install_ed25519(&pair, &others)
            .map_err(KeyError::Failed)?;
        Ok(true)
    }

    /// The current key pair and the stored keys, after making the current
    /// and next keys when missing. Each round either finds both or changes
    /// the table (stores a key, or retires an unreadable one), so a few
    /// rounds settle even against servers starting at the same time.
    async fn ensure(
        &self,
        store: &Store,
        unreadable: Unreadable,
    ) -> Result<(Ed25519Pair, Vec<SigningKeyRecord>), KeyError> {
        let mut replaced_unreadable = false;
        for _ in 0..6 {
            let stored = self.list(store).await?;
            let Some(current) = find(&stored, KeyState::Current) else {
                self.store_new(store, KeyState::Current).await?;
                continue;
            };
            let Some(pair) = self.open(current) else {
                if unreadable == Unreadable::Refuse || replaced_unreadable {
                    return Err(KeyError::Failed(format!(
                        "the current signing key {} does not open under this \
                         AUTH_REFRESH_TOKEN_SECRET: do all servers on this database share it?",
                        current.kid
                    )));
                }
                log::warn!(target: "gatepass::keys", "the signing key {} does not open under AUTH_REFRESH_TOKEN_SECRET (was it changed?): retired at once, a new key is made; tokens it signed stop verifying", current.kid);
                store.retire_signing_key(&current.kid, now_ms()).await?;
                replaced_unreadable = true;
                continue;
            };
            match find(&stored, KeyState::Next) {
                None => {
                    self.store_new(store, KeyState::Next).await?;
                    continue;
                }
                // Sealed under another secret, it could never sign here; it
                // has signed nothing yet, so replacing it costs nothing.
                Some(next) if unreadable == Unreadable::Replace && self.open(next).is_none() => {
                    log::warn!(target: "gatepass::keys", "the next signing key {} does not open under AUTH_REFRESH_TOKEN_SECRET: replaced", next.kid);
                    store.retire_signing_key(&next.kid, now_ms()).await?;
                    continue;
                }
                Some(_) => return Ok((pair, stored)),
            }
        }
        Err(KeyError::Failed(
            "no current and next signing keys could be stored or read".into(),
        ))
    }

    /// A new key in `state`, unless another process stored one first.
    async fn store_new(&self, store: &Store, state: KeyState) -> Result<(), KeyError> {
        let pair = Ed25519Pair::generate();
        let kid = pair.kid();
        let key = NewSigningKey {
            sealed_private_key: self.seal.seal(&kid, pair.seed()),
            kid,
            algorithm: EDDSA.to_owned(),
            public_key: pair.public().to_vec(),
            state,
        };
        if store.insert_signing_key_if_none(&key).await? {
            log::info!(target: "gatepass::keys", "generated the {} signing key {} (Ed25519)", state.as_str(), key.kid);
        }
        Ok(())
    }

    /// The key pair of a stored key, if its seal opens under this server's
    /// secret and matches its public half.
    fn open(&self, key: &SigningKeyRecord) -> Option<Ed25519Pair> {
        self.seal
            .unseal(&key.kid, &key.sealed_private_key)
            .filter(|pair| pair.public().as_slice() == key.public_key)
    }

    /// Rotates now: the next key signs from now on. `None` when another
    /// process rotated between the reading and the writing.
    pub async fn rotate(&self, store: &Store) -> Result<Option<Rotation>, KeyError> {
        let (_, stored) = self.ensure(store, Unreadable::Refuse).await?;
        self.rotate_from(store, &stored).await
    }

    async fn rotate_from(
        &self,
        store: &Store,
        stored: &[SigningKeyRecord],
    ) -> Result<Option<Rotation>, KeyError> {
        let (Some(current), Some(next)) = (
            find(stored, KeyState::Current),
            find(stored, KeyState::Next),
        ) else {
            return Err(KeyError::Failed("no current and next key to rotate".into()));
        };
        if self.open(next).is_none() {
            return Err(KeyError::Failed(format!(
                "the next signing key {} does not open under this AUTH_REFRESH_TOKEN_SECRET: \
                 do all servers on this database share it?",
                next.kid
            )));
        }
        let pair = Ed25519Pair::generate();
        let kid = pair.kid();
        let new_next = NewSigningKey {
            sealed_private_key: self.seal.seal(&kid, pair.seed()),
            kid,
            algorithm: EDDSA.to_owned(),
            public_key: pair.public().to_vec(),
            state: KeyState::Next,
        };
        let verifies_until = now_ms() + (self.access_ttl + RETIRED_GRACE).as_millis() as i64;
        if !store
            .rotate_signing_keys(&current.kid, &next.kid, &new_next, verifies_until)
            .await?
        {
            return Ok(None);
        }
        log::info!(target: "gatepass::keys", "rotated the signing keys: {} signs now, {} is the next key, {} verifies until its tokens expire", next.kid, new_next.kid, current.kid);
        Ok(Some(Rotation {
            retired: current.kid.clone(),
            verifies_until,
            current: next.kid.clone(),
            current_published_at: next.created_at,
            next: new_next.kid,
        }))
    }

    /// Rotates if the schedule says it is time (and no other server did).
    pub async fn rotate_if_due(&self, store: &Store) -> Result<Option<Rotation>, KeyError> {
        let KeyRotation::Every(every) = self.rotation else {
            return Ok(None);
        };
        let stored = self.list(store).await?;
        let (Some(current), Some(next)) = (
            find(&stored, KeyState::Current),
            find(&stored, KeyState::Next),
        ) else {
            return Ok(None);
        };
        if !due(current, next, now_ms(), every, self.publish_ahead) {
            return Ok(None);
        }
        self.rotate_from(store, &stored).await
    }

    /// Makes the operator's key pair `pair` the next key, in place of the
    /// generated one (which has signed nothing): published from now on, it
    /// signs from the next rotation. Its kid is returned.
    pub async fn import_next(&self, store: &Store, pair: &Ed25519Pair) -> Result<String, KeyError> {
        let kid = pair.kid();
        let (_, stored) = self.ensure(store, Unreadable::Refuse).await?;
        if stored.iter().any(|k| k.kid == kid) {
            return Err(KeyError::Failed(format!("the key {kid} is stored already")));
        }
        let next = find(&stored, KeyState::Next)
            .ok_or_else(|| KeyError::Failed("no next key to replace".into()))?;
        let key = NewSigningKey {
            sealed_private_key: self.seal.seal(&kid, pair.seed()),
            kid: kid.clone(),
            algorithm: EDDSA.to_owned(),
            public_key: pair.public().to_vec(),
            state: KeyState::Next,
        };
        if !store.replace_next_signing_key(&next.kid, &key).await? {
            return Err(KeyError::Failed(
                "the next key changed meanwhile (a rotation?): try again".into(),
            ));
        }
        log::info!(target: "gatepass::keys", "the operator's key {kid} is the next signing key, in place of {}", next.kid);
        Ok(kid)
    }

    /// Stops the key `kid` from verifying at once (a leak). The current key
    /// is first rotated away, so that something signs; a next key is
    /// replaced by a new one.
    pub async fn retire_now(&self, store: &Store, kid: &str) -> Result<Retirement, KeyError> {
        let stored = self.list(store).await?;
        let key = stored
            .iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| KeyError::UnknownKid(kid.to_owned()))?;
        let was = key
            .key_state()
            .ok_or_else(|| KeyError::Failed(format!("{kid} is in an unknown state")))?;
        let rotation = match was {
            KeyState::Current => self.rotate(store).await?,
            KeyState::Next | KeyState::Retired => None,
        };
        store.retire_signing_key(kid, now_ms()).await?;
        log::warn!(target: "gatepass::keys", "retired the signing key {kid} at once: tokens it signed are refused from now on");
        // A new next key when the retired one was the next (or a rotation lost a race).
        self.ensure(store, Unreadable::Refuse).await?;
        Ok(Retirement {
            kid: kid.to_owned(),
            was,
            rotation,
        })
    }
}

/// Whether the schedule rotates now: the current key has signed for `every`
/// and the next key has been published for at least `publish_ahead` (the
/// JWKS cache lifetime), so every verifier's cached key set holds it.
pub fn due(
    current: &SigningKeyRecord,
    next: &SigningKeyRecord,
    now: i64,
    every: Duration,
    publish_ahead: Duration,
) -> bool {
    let since = current.activated_at.unwrap_or(current.created_at);
    since + every.as_millis() as i64 <= now
        && next.created_at + publish_ahead.as_millis() as i64 <= now
}

fn find(stored: &[SigningKeyRecord], state: KeyState) -> Option<&SigningKeyRecord> {
    stored.iter().find(|k| k.key_state() == Some(state))
}

fn has_both(stored: &[SigningKeyRecord]) -> bool {
    find(stored, KeyState::Current).is_some() && find(stored, KeyState::Next).is_some()
}

/// The signing kid and every verifying kid, sorted: what `tokens` holds.
fn installed(tokens: &AccessTokens) -> (Option<String>, Vec<String>) {
    let mut kids: Vec<String> = tokens.published().into_iter().map(|k| k.kid).collect();
    kids.sort();
    (tokens.current_kid(), kids)
}

/// The same, of the stored keys.
fn wanted(stored: &[SigningKeyRecord]) -> (Option<String>, Vec<String>) {
    let mut kids: Vec<String> = stored.iter().map(|k| k.kid.clone()).collect();
    kids.sort();
    let current = find(stored, KeyState::Current).map(|k| k.kid.clone());
    (current, kids)
}

/// With EdDSA: loads the keys before the server serves (a start fails
/// without them), then once serving, reads them every [`SYNC_INTERVAL`] and
/// rotates on schedule. Nothing with HS256.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Signing keys", |rocket| async {
        rocket
            .attach(AdHoc::try_on_ignite("Signing keys: load", load))
            .attach(AdHoc::on_liftoff("Signing keys: sync", |rocket| {
                Box::pin(async move {
                    let (Some(state), Some(db)) = (rocket.state::<AppState>(), Db::fetch(rocket))
                    else {
                        return;
                    };
                    if state.config.tokens.access_token_alg == AccessTokenAlg::EdDSA {
                        rocket::tokio::spawn(sync_forever(
                            SigningKeys::new(&state.config),
                            db.0.clone(),
                            state.access_tokens.clone(),
                        ));
                    }
                })
            }))
    })
}

async fn load(rocket: Rocket<Build>) -> fairing::Result {
    let (Some(state), Some(db)) = (rocket.state::<AppState>(), Db::fetch(&rocket)) else {
        return Err(rocket);
    };
    if state.config.tokens.access_token_alg != AccessTokenAlg::EdDSA {
        return Ok(rocket);
    }
    let keys = SigningKeys::new(&state.config);
    match keys.sync(&db.0, &state.access_tokens).await {
        Ok(_) => {
            let kid = state.access_tokens.current_kid().unwrap_or_default();
            log::info!(target: "gatepass::keys", "access tokens are signed with the Ed25519 key {kid}");
            Ok(rocket)
        }
        Err(e) => {
            log::error!(target: "gatepass::keys", "cannot load the signing keys: {e}");
            Err(rocket)
        }
    }
}

async fn sync_forever(keys: SigningKeys, store: Store, tokens: Arc<AccessTokens>) {
    let mut ticks = rocket::tokio::time::interval(SYNC_INTERVAL);
    loop {
        ticks.tick().await;
        if let Err(e) = keys.rotate_if_due(&store).await {
            log::warn!(target: "gatepass::keys", "scheduled rotation failed: {e}");
        }
        match keys.sync(&store, &tokens).await {
            Ok(true) => {
                let kid = tokens.current_kid().unwrap_or_default();
                log::info!(target: "gatepass::keys", "signing keys reloaded: access tokens are signed with {kid}");
            }
            Ok(false) => {}
            Err(e) => log::warn!(target: "gatepass::keys", "reading the signing keys failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests;
