-- Outstanding password-reset tokens: at most one per user (a new request
-- replaces the old), stored only as HMAC-SHA256, deleted when used.
CREATE TABLE password_resets (
    user_id    TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX password_resets_token_hash ON password_resets (token_hash);
