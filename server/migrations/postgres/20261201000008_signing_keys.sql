-- The key pairs that sign access tokens (AUTH_ACCESS_TOKEN_ALG=EdDSA), shared
-- by every server on the database. Times are Unix milliseconds (UTC).
--
-- A key's life: 'next' (published in the JWKS, not yet signing), 'current'
-- (signs new tokens; at most one), 'retired' (signs nothing, published and
-- verifying until verify_until, when the last token it signed has expired).
-- The private key is stored only sealed (XChaCha20-Poly1305 under a key
-- derived from AUTH_REFRESH_TOKEN_SECRET, the kid as associated data).
CREATE TABLE signing_keys (
    kid                TEXT PRIMARY KEY NOT NULL,  -- RFC 7638 thumbprint of the public key
    algorithm          TEXT NOT NULL,              -- JWS name: 'EdDSA'
    public_key         BYTEA NOT NULL,              -- Ed25519: the 32-byte point
    sealed_private_key BYTEA NOT NULL,              -- nonce, ciphertext and tag
    state              TEXT NOT NULL CHECK (state IN ('next', 'current', 'retired')),
    created_at         BIGINT NOT NULL,
    activated_at       BIGINT,                       -- when it became current
    retired_at         BIGINT,                       -- when it stopped signing
    verify_until       BIGINT                        -- retired: when it stops verifying
);
-- At most one current and one next key: with several servers starting on an
-- empty table, one insert wins and every server reads the winner back.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (state) WHERE state = 'current';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (state) WHERE state = 'next';
