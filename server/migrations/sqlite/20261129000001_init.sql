-- Users, sessions and the refresh tokens a session has retired.
-- Times are Unix milliseconds (UTC). Tokens are stored only as HMAC-SHA256.

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,      -- UUID v4
    first_name    TEXT NOT NULL,
    last_name     TEXT NOT NULL,
    email         TEXT NOT NULL,                  -- trimmed and lower-cased
    password_hash TEXT NOT NULL,                  -- bcrypt
    created_at    INTEGER NOT NULL
);
-- The unique constraint, not a prior lookup, decides a signup race.
CREATE UNIQUE INDEX users_email ON users (email);

CREATE TABLE sessions (
    id             TEXT PRIMARY KEY NOT NULL,     -- UUID v4, the JWT's `sid`
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,              -- of the current refresh token
    ended_at       INTEGER,                       -- NULL while the session lives
    user_agent     TEXT,
    current_hash   BLOB NOT NULL,                 -- HMAC of the current refresh token
    current_sealed BLOB NOT NULL                  -- the current token, sealed (see auth/opaque.rs)
);
CREATE UNIQUE INDEX sessions_current_hash ON sessions (current_hash);
CREATE INDEX sessions_user ON sessions (user_id, ended_at);

-- Every refresh token a rotation replaced, so a replayed one is recognised:
-- within the grace window it is a benign race, after it a theft.
CREATE TABLE retired_refresh_tokens (
    hash       BLOB PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    retired_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX retired_refresh_tokens_session ON retired_refresh_tokens (session_id);

-- A rotation is one UPDATE of sessions.current_hash; this trigger files the
-- old hash in the same statement, so the two can never disagree.
CREATE TRIGGER sessions_retire_refresh_token
AFTER UPDATE OF current_hash ON sessions
WHEN OLD.current_hash <> NEW.current_hash
BEGIN
    INSERT INTO retired_refresh_tokens (hash, session_id, retired_at)
    VALUES (OLD.current_hash, OLD.id, NEW.last_used_at);
END;
