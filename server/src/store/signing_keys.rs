//! The `signing_keys` table: the key pairs that sign access tokens, shared by
//! every server on the database. The store keeps rows; what a key is and how
//! its private half is sealed is `auth/keys.rs`'s business.

use super::{now_ms, Store};
use crate::db::{on_conn, on_tx};

/// A key's place in its life (the `state` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not yet signing.
    Next,
    /// Signs new tokens; at most one.
    Current,
    /// Signs nothing; verifies (and is published) until `verify_until`.
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Current => "current",
            KeyState::Retired => "retired",
        }
    }

    fn parse(text: &str) -> Option<KeyState> {
        match text {
            "next" => Some(KeyState::Next),
            "current" => Some(KeyState::Current),
            "retired" => Some(KeyState::Retired),
            _ => None,
        }
    }
}

/// One stored key.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SigningKeyRecord {
    pub kid: String,
    /// The JWS algorithm name (`EdDSA`).
    pub algorithm: String,
    pub public_key: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
    pub state: String,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retired_at: Option<i64>,
    pub verify_until: Option<i64>,
}

impl SigningKeyRecord {
    /// The row's state; `None` for a value this build does not know.
    pub fn key_state(&self) -> Option<KeyState> {
        KeyState::parse(&self.state)
    }
}

/// A key to store.
#[derive(Debug, Clone)]
pub struct NewSigningKey {
    pub kid: String,
    pub algorithm: String,
    pub public_key: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
    /// `Current` or `Next`.
    pub state: KeyState,
}

impl Store {
    /// Stores `key` unless a key already holds its state (one current, one
    /// next: the unique indexes decide a race between servers). True if this
    /// call stored it; either way, read the keys back to learn the winner.
    pub async fn insert_signing_key_if_none(&self, key: &NewSigningKey) -> sqlx::Result<bool> {
        let now = now_ms();
        let activated = (key.state == KeyState::Current).then_some(now);
        let stored = on_conn!(self.backend.writer().await, |pool| {
            sqlx::query(
            "INSERT INTO signing_keys
                    (kid, algorithm, public_key, sealed_private_key, state, created_at, activated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT DO NOTHING",
        )
        .bind(&key.kid)
        .bind(&key.algorithm)
        .bind(&key.public_key)
        .bind(&key.sealed_private_key)
        .bind(key.state.as_str())
        .bind(now)
        .bind(activated)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        })?;
        Ok(stored == 1)
    }

    /// Every key that may verify a token at `now_ms`: the current and next
    /// ones, and retired ones before their `verify_until`; oldest first.
    pub async fn signing_keys(&self, now_ms: i64) -> sqlx::Result<Vec<SigningKeyRecord>> {
        on_conn!(self.backend.reader(), |pool| sqlx::query_as(
            "SELECT kid, algorithm, public_key, sealed_private_key, state,
                    created_at, activated_at, retired_at, verify_until
               FROM signing_keys
              WHERE state <> 'retired' OR verify_until > $1
              ORDER BY created_at, kid",
        )
        .bind(now_ms)
        .fetch_all(pool)
        .await)
    }

    /// Retires the key `kid`: it signs nothing from now on and verifies until
    /// `verify_until_ms` (now, for a key that must stop at once). A key
    /// already retired only has its `verify_until` brought forward, never
    /// pushed back. True if this call changed the key.
    pub async fn retire_signing_key(&self, kid: &str, verify_until_ms: i64) -> sqlx::Result<bool> {
        let done = on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "UPDATE signing_keys
                SET state = 'retired',
                    retired_at = COALESCE(retired_at, $2),
                    verify_until = $3
              WHERE kid = $1 AND (state <> 'retired' OR verify_until > $3)",
        )
        .bind(kid)
        .bind(now_ms())
        .bind(verify_until_ms)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// One rotation, whole or not at all: the key `current` (if still the
    /// current one) is retired, verifying until `retired_verify_until_ms`;
    /// the key `next` (if still the next one) becomes current; `new_next` is
    /// published as the next (unless a server that found no next key has
    /// just stored one: then that one is). False, with nothing changed, when another
    /// process rotated first (the compare-and-swap on both kids: on SQLite
    /// the transaction holds the write lock, on PostgreSQL the second
    /// updater waits for the first's row lock and then finds the state
    /// changed).
    pub async fn rotate_signing_keys(
        &self,
        current: &str,
        next: &str,
        new_next: &NewSigningKey,
        retired_verify_until_ms: i64,
    ) -> sqlx::Result<bool> {
        let now = now_ms();
        let mut tx = self.transaction().await?;
        let retired = on_tx!(&mut tx, |conn| sqlx::query(
            "UPDATE signing_keys
                SET state = 'retired', retired_at = $2, verify_until = $3
              WHERE kid = $1 AND state = 'current'",
        )
        .bind(current)
        .bind(now)
        .bind(retired_verify_until_ms)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        if retired != 1 {
            return Ok(false);
        }
        let promoted = on_tx!(&mut tx, |conn| sqlx::query(
            "UPDATE signing_keys SET state = 'current', activated_at = $2
              WHERE kid = $1 AND state = 'next'",
        )
        .bind(next)
        .bind(now)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        if promoted != 1 {
            return Ok(false);
        }
        on_tx!(&mut tx, |conn| sqlx::query(
            "INSERT INTO signing_keys
                    (kid, algorithm, public_key, sealed_private_key, state, created_at)
             VALUES ($1, $2, $3, $4, 'next', $5)
             ON CONFLICT DO NOTHING",
        )
        .bind(&new_next.kid)
        .bind(&new_next.algorithm)
        .bind(&new_next.public_key)
        .bind(&new_next.sealed_private_key)
        .bind(now)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        tx.commit().await?;
        Ok(true)
    }

    /// Puts `key` in the next key's place, whole or not at all: the next key
    /// `replaced` (if still the next one; it has signed nothing) stops
    /// verifying now. False, with nothing changed, when the next key is no
    /// longer `replaced`.
    pub async fn replace_next_signing_key(
        &self,
        replaced: &str,
        key: &NewSigningKey,
    ) -> sqlx::Result<bool> {
        let now = now_ms();
        let mut tx = self.transaction().await?;
        let retired = on_tx!(&mut tx, |conn| sqlx::query(
            "UPDATE signing_keys SET state = 'retired', retired_at = $2, verify_until = $2
              WHERE kid = $1 AND state = 'next'",
        )
        .bind(replaced)
        .bind(now)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        if retired != 1 {
            return Ok(false);
        }
        on_tx!(&mut tx, |conn| sqlx::query(
            "INSERT INTO signing_keys
                    (kid, algorithm, public_key, sealed_private_key, state, created_at)
             VALUES ($1, $2, $3, $4, 'next', $5)",
        )
        .bind(&key.kid)
        .bind(&key.algorithm)
        .bind(&key.public_key)
        .bind(&key.sealed_private_key)
        .bind(now)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        tx.commit().await?;
        Ok(true)
    }
}
