-- PostgreSQL twin of migrations/sqlite/20261129000001_init.sql: the same
-- tables, columns and names, so every query of the store runs on both.
-- Times are Unix milliseconds (UTC). Tokens are stored only as HMAC-SHA256.

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,      -- UUID v4
    first_name    TEXT NOT NULL,
    last_name     TEXT NOT NULL,
    email         TEXT NOT NULL,                  -- trimmed and lower-cased
    password_hash TEXT NOT NULL,                  -- bcrypt
    created_at    BIGINT NOT NULL
);
-- The unique constraint, not a prior lookup, decides a signup race.
CREATE UNIQUE INDEX users_email ON users (email);

CREATE TABLE sessions (
    id             TEXT PRIMARY KEY NOT NULL,     -- UUID v4, the JWT's `sid`
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,               -- of the current refresh token
    ended_at       BIGINT,                        -- NULL while the session lives
    user_agent     TEXT,
    current_hash   BYTEA NOT NULL,                -- HMAC of the current refresh token
    current_sealed BYTEA NOT NULL                 -- the current token, sealed (see auth/opaque.rs)
);
CREATE UNIQUE INDEX sessions_current_hash ON sessions (current_hash);
CREATE INDEX sessions_user ON sessions (user_id, ended_at);

-- Every refresh token a rotation replaced, so a replayed one is recognised:
-- within the grace window it is a benign race, after it a theft.
CREATE TABLE retired_refresh_tokens (
    hash       BYTEA PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    retired_at BIGINT NOT NULL
);
CREATE INDEX retired_refresh_tokens_session ON retired_refresh_tokens (session_id);

-- A rotation is one UPDATE of sessions.current_hash; this trigger files the
-- old hash in the same statement (and so the same transaction), so the two
-- can never disagree. Two servers racing on one token: the second UPDATE
-- waits for the first's row lock, then finds current_hash changed and
-- matches no row, so there is exactly one rotation.
CREATE FUNCTION retire_refresh_token() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO retired_refresh_tokens (hash, session_id, retired_at)
    VALUES (OLD.current_hash, OLD.id, NEW.last_used_at);
    RETURN NULL;
END
$$;

CREATE TRIGGER sessions_retire_refresh_token
AFTER UPDATE OF current_hash ON sessions
FOR EACH ROW
WHEN (OLD.current_hash IS DISTINCT FROM NEW.current_hash)
EXECUTE FUNCTION retire_refresh_token();
