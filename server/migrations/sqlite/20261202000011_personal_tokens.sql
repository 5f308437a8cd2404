-- Personal access tokens: what scripts and CI jobs use instead of a password.
-- A token (gp_pat_…) is shown once and stored only as its HMAC; it is
-- exchanged at POST /api/users/token for short-lived access tokens whose sid
-- names it ('pat-' and the id). Times are Unix milliseconds (UTC).
CREATE TABLE personal_tokens (
    id           TEXT PRIMARY KEY NOT NULL,                 -- a UUID
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE UNIQUE INDEX personal_tokens_hash ON personal_tokens (token_hash);
CREATE INDEX personal_tokens_user ON personal_tokens (user_id);
