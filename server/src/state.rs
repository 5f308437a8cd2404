//! What every handler shares: the configuration and the services built from
//! it once at start.

use rocket::Request;

use crate::auth::keys::{Ed25519Pair, KeySeal, EDDSA};
use crate::auth::opaque::OpaqueTokens;
use crate::auth::password::Passwords;
use crate::auth::tokens::{AccessTokens, VerifyingKey};
use crate::cache::SessionCache;
use crate::config::{AccessTokenAlg, Config};
use crate::error::ApiError;
use crate::mail::Mailer;
use crate::store::signing_keys::{KeyState, NewSigningKey, SigningKeyRecord};
use crate::store::{now_ms, Store};

pub struct AppState {
    pub config: Config,
    pub access_tokens: AccessTokens,
    /// Hashes refresh and reset tokens.
    pub opaque: OpaqueTokens,
    pub passwords: Passwords,
    pub mailer: Mailer,
    /// Live sessions seen lately (see `cache.rs`); kept right by `sessions/`.
    pub session_cache: SessionCache,
}

impl AppState {
    pub fn new(config: Config) -> Result<AppState, String> {
        let access_tokens = match config.tokens.access_token_alg {
            AccessTokenAlg::Hs256 => AccessTokens::new(
                &config.tokens.access_token_secret,
                config.tokens.access_token_ttl,
                &config.issuer,
            )
            .map_err(|e| format!("access token key: {e}"))?,
            // Its keys are in the database: see `load_signing_keys`.
            AccessTokenAlg::EdDSA => {
                AccessTokens::ed25519(config.tokens.access_token_ttl, &config.issuer)
            }
        };
        let passwords = Passwords::new(config.tokens.bcrypt_cost, config.tokens.hash_queue_timeout)
            .map_err(|e| format!("bcrypt: {e}"))?;
        let mailer = Mailer::new(&config).map_err(|e| format!("mail: {e}"))?;
        Ok(AppState {
            opaque: OpaqueTokens::new(config.tokens.refresh_token_secret.clone()),
            access_tokens,
            passwords,
            mailer,
            session_cache: SessionCache::new(
                config.database.session_cache_ttl,
                crate::cache::DEFAULT_CAPACITY,
            ),
            config,
        })
    }

    /// With EdDSA, gives the access tokens their keys from the database: the
    /// current key (made on the first start, by exactly one of the servers
    /// sharing the database), the next one and the retired ones still
    /// verifying. A current key whose private half does not open under this
    /// server's `AUTH_REFRESH_TOKEN_SECRET` (the secret was changed) is
    /// retired at once and replaced: tokens it signed stop verifying, and
    /// clients refresh. Nothing to do with HS256.
    pub async fn load_signing_keys(&self, store: &Store) -> Result<(), String> {
        if self.config.tokens.access_token_alg != AccessTokenAlg::EdDSA {
            return Ok(());
        }
        let seal = KeySeal::new(&self.config.tokens.refresh_token_secret);
        let failed = |e: sqlx::Error| format!("reading the signing keys: {e}");
        let mut replaced_unreadable = false;
        // Each round either finds a usable current key or changes the table
        // (stores the first key, or retires an unreadable one), so a few
        // rounds settle even against servers starting at the same time.
        for _ in 0..4 {
            let stored: Vec<SigningKeyRecord> = store
                .signing_keys(now_ms())
                .await
                .map_err(failed)?
                .into_iter()
                .filter(|k| k.algorithm == EDDSA && k.public_key.len() == 32)
                .collect();
            let Some(current) = stored
                .iter()
                .find(|k| k.key_state() == Some(KeyState::Current))
            else {
                let pair = Ed25519Pair::generate();
                let kid = pair.kid();
                let first = NewSigningKey {
                    sealed_private_key: seal.seal(&kid, pair.seed()),
                    kid,
                    algorithm: EDDSA.to_owned(),
                    public_key: pair.public().to_vec(),
                    state: KeyState::Current,
                };
                if store
                    .insert_signing_key_if_none(&first)
                    .await
                    .map_err(failed)?
                {
                    log::info!(target: "gatepass::keys", "generated the access-token signing key {} (Ed25519)", first.kid);
                }
                continue;
            };
            let Some(pair) = seal
                .unseal(&current.kid, &current.sealed_private_key)
                .filter(|pair| pair.public().as_slice() == current.public_key)
            else {
                if replaced_unreadable {
                    return Err(format!(
                        "the current signing key {} does not open under this server's \
                         AUTH_REFRESH_TOKEN_SECRET: do all servers on this database share it?",
                        current.kid
                    ));
                }
                log::warn!(target: "gatepass::keys", "the signing key {} does not open under AUTH_REFRESH_TOKEN_SECRET (was it changed?): retired at once, a new key is made; tokens it signed stop verifying", current.kid);
                store
                    .retire_signing_key(&current.kid, now_ms())
                    .await
                    .map_err(failed)?;
                replaced_unreadable = true;
                continue;
            };
            let others: Vec<VerifyingKey> = stored
                .iter()
                .filter(|k| k.kid != current.kid)
                .filter_map(|k| {
                    Some(VerifyingKey {
                        kid: k.kid.clone(),
                        public: k.public_key.as_slice().try_into().ok()?,
                    })
                })
                .collect();
            self.access_tokens.install_ed25519(&pair, &others)?;
            log::info!(target: "gatepass::keys", "access tokens are signed with the Ed25519 key {}", current.kid);
            return Ok(());
        }
        Err("no current signing key could be stored or read".into())
    }

    /// The state, from a request guard.
    pub fn of<'r>(request: &'r Request<'_>) -> Result<&'r AppState, ApiError> {
        request
            .rocket()
            .state::<AppState>()
            .ok_or_else(|| ApiError::internal("application state missing"))
    }
}
