//! What every handler shares: the configuration and the services built from
//! it once at start.

use std::sync::Arc;

use rocket::Request;

use crate::auth::opaque::OpaqueTokens;
use crate::auth::password::Passwords;
use crate::auth::tokens::AccessTokens;
use crate::cache::SessionCache;
use crate::config::{AccessTokenAlg, Config};
use crate::error::ApiError;
use crate::mail::Mailer;

pub struct AppState {
    pub config: Config,
    /// Shared with the task that keeps the signing keys in step with the
    /// database (`signing_keys::stage`).
    pub access_tokens: Arc<AccessTokens>,
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
            // Its keys are in the database: see `signing_keys::stage`.
            AccessTokenAlg::EdDSA => {
                AccessTokens::ed25519(config.tokens.access_token_ttl, &config.issuer)
            }
        };
        let passwords = Passwords::new(config.tokens.bcrypt_cost, config.tokens.hash_queue_timeout)
            .map_err(|e| format!("bcrypt: {e}"))?;
        let mailer = Mailer::new(&config).map_err(|e| format!("mail: {e}"))?;
        Ok(AppState {
            opaque: OpaqueTokens::new(config.tokens.refresh_token_secret.clone()),
            access_tokens: Arc::new(access_tokens),
            passwords,
            mailer,
            session_cache: SessionCache::new(
                config.database.session_cache_ttl,
                crate::cache::DEFAULT_CAPACITY,
            ),
            config,
        })
    }

    /// The state, from a request guard.
    pub fn of<'r>(request: &'r Request<'_>) -> Result<&'r AppState, ApiError> {
        request
            .rocket()
            .state::<AppState>()
            .ok_or_else(|| ApiError::internal("application state missing"))
    }
}
