-- The second factor (TOTP, RFC 6238) and its recovery codes, and the
-- challenges a right password opens for an account that has one. Shared by
-- every server on the database. Times are Unix milliseconds (UTC).

-- One authenticator per user. The secret is stored only sealed
-- (XChaCha20-Poly1305 under a key derived from AUTH_REFRESH_TOKEN_SECRET, the
-- user id as associated data): never in clear beside the password hashes.
CREATE TABLE totp_factors (
    user_id        TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sealed_secret  BYTEA NOT NULL,
    created_at     BIGINT NOT NULL,
    confirmed_at   BIGINT,            -- NULL: set up, not on yet
    last_used_step BIGINT             -- the latest 30-second step accepted: no code twice
);

-- Single-use recovery codes, as HMACs; a used code is deleted.
CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BYTEA NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- What /login answers a right password with when a code must follow: the
-- token's HMAC, single use, short-lived.
CREATE TABLE mfa_challenges (
    token_hash BYTEA PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
CREATE INDEX mfa_challenges_expiry ON mfa_challenges (expires_at);
