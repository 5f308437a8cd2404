//! The second factor's tables: `totp_factors` (one sealed TOTP secret per
//! user, with the last step accepted), `recovery_codes` (HMACs, deleted when
//! used) and `mfa_challenges` (what a right password opens when a code must
//! follow). What a code is, and the seal, are `auth/`'s business.

use super::{now_ms, Store};
use crate::db::{on_conn, on_tx, Tx};

/// A user's authenticator.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TotpRecord {
    pub user_id: String,
    pub sealed_secret: Vec<u8>,
    pub created_at: i64,
    /// `None` until a right code confirmed it: sign-in asks for no code yet.
    pub confirmed_at: Option<i64>,
    pub last_used_step: Option<i64>,
}

impl TotpRecord {
    pub fn is_on(&self) -> bool {
        self.confirmed_at.is_some()
    }
}

impl Store {
    pub async fn totp_factor(&self, user_id: &str) -> sqlx::Result<Option<TotpRecord>> {
        on_conn!(self.backend.reader(), |pool| sqlx::query_as(
            "SELECT user_id, sealed_secret, created_at, confirmed_at, last_used_step
               FROM totp_factors WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(pool)
        .await)
    }

    /// Stores a new, unconfirmed secret for `user_id`, in place of an
    /// unconfirmed one. False (nothing changed) when TOTP is on already.
    pub async fn put_unconfirmed_totp(&self, user_id: &str, sealed: &[u8]) -> sqlx::Result<bool> {
        let done = on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "INSERT INTO totp_factors (user_id, sealed_secret, created_at)
             VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE
                SET sealed_secret = excluded.sealed_secret,
                    created_at = excluded.created_at,
                    last_used_step = NULL
              WHERE totp_factors.confirmed_at IS NULL",
        )
        .bind(user_id)
        .bind(sealed)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Accepts the code of 30-second step `step` for `user_id`, once: true
    /// for exactly one caller, and only for a step later than every step
    /// accepted before (a code is never accepted twice, nor an older one
    /// after a newer).
    pub async fn use_totp_step(&self, user_id: &str, step: i64) -> sqlx::Result<bool> {
        let done = on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "UPDATE totp_factors SET last_used_step = $2
              WHERE user_id = $1 AND (last_used_step IS NULL OR last_used_step < $2)",
        )
        .bind(user_id)
        .bind(step)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Turns the set-up secret on. False if there was none unconfirmed.
    pub async fn confirm_totp(&self, tx: &mut Tx, user_id: &str) -> sqlx::Result<bool> {
        let done = on_tx!(tx, |conn| sqlx::query(
            "UPDATE totp_factors SET confirmed_at = $2
              WHERE user_id = $1 AND confirmed_at IS NULL",
        )
        .bind(user_id)
        .bind(now_ms())
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Replaces `user_id`'s recovery codes with `hashes`.
    pub async fn replace_recovery_codes(
        &self,
        tx: &mut Tx,
        user_id: &str,
        hashes: &[Vec<u8>],
    ) -> sqlx::Result<()> {
        on_tx!(tx, |conn| sqlx::query(
            "DELETE FROM recovery_codes WHERE user_id = $1"
        )
        .bind(user_id)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        for hash in hashes {
            on_tx!(tx, |conn| sqlx::query(
                "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)"
            )
            .bind(user_id)
            .bind(hash)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?;
        }
        Ok(())
    }

    /// Uses up one recovery code: true for exactly one caller.
    pub async fn use_recovery_code(&self, user_id: &str, hash: &[u8]) -> sqlx::Result<bool> {
        let done = on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "DELETE FROM recovery_codes WHERE user_id = $1 AND code_hash = $2"
        )
        .bind(user_id)
        .bind(hash)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    pub async fn recovery_codes_left(&self, user_id: &str) -> sqlx::Result<i64> {
        on_conn!(self.backend.reader(), |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1"
        )
        .bind(user_id)
        .fetch_one(pool)
        .await)
    }

    /// Turns the second factor off: the secret, the recovery codes and the
    /// open challenges go.
    pub async fn delete_second_factor(&self, tx: &mut Tx, user_id: &str) -> sqlx::Result<()> {
        for statement in [
            "DELETE FROM totp_factors WHERE user_id = $1",
            "DELETE FROM recovery_codes WHERE user_id = $1",
            "DELETE FROM mfa_challenges WHERE user_id = $1",
        ] {
            on_tx!(tx, |conn| sqlx::query(statement)
                .bind(user_id)
                .execute(conn)
                .await
                .map(|done| done.rows_affected()))?;
        }
        Ok(())
    }

    /// Opens a challenge for `user_id` that lives `ttl_ms`.
    pub async fn insert_mfa_challenge(
        &self,
        token_hash: &[u8],
        user_id: &str,
        ttl_ms: i64,
    ) -> sqlx::Result<()> {
        on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "INSERT INTO mfa_challenges (token_hash, user_id, expires_at) VALUES ($1, $2, $3)"
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now_ms() + ttl_ms)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The user of an open, unexpired challenge.
    pub async fn mfa_challenge_user(&self, token_hash: &[u8]) -> sqlx::Result<Option<String>> {
        on_conn!(self.backend.reader(), |pool| sqlx::query_scalar(
            "SELECT user_id FROM mfa_challenges WHERE token_hash = $1 AND expires_at > $2"
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(pool)
        .await)
    }

    /// Closes a challenge: true for exactly one caller, and only while it
    /// is unexpired.
    pub async fn consume_mfa_challenge(&self, token_hash: &[u8]) -> sqlx::Result<bool> {
        let done = on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "DELETE FROM mfa_challenges WHERE token_hash = $1 AND expires_at > $2"
        )
        .bind(token_hash)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }
}
