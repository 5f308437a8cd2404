-- PostgreSQL twin of migrations/sqlite/20261129000004_refresh_tokens_name_their_session.sql:
-- refresh tokens name their session, so rotations find it by primary key;
-- sessions whose current token predates that are marked `legacy_token` and
-- found by hash through a partial index until their first rotation.

ALTER TABLE retired_refresh_tokens RENAME TO legacy_retired_refresh_tokens;
ALTER INDEX retired_refresh_tokens_session RENAME TO legacy_retired_refresh_tokens_session;

CREATE TABLE retired_refresh_tokens (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    hash       BYTEA NOT NULL,
    retired_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, hash)
);

-- 1: the current token predates tokens that name their session. An integer,
-- as on SQLite, so that the store's queries read the same on both.
ALTER TABLE sessions ADD COLUMN legacy_token INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET legacy_token = 1;
DROP INDEX sessions_current_hash;
CREATE UNIQUE INDEX sessions_legacy_current_hash ON sessions (current_hash) WHERE legacy_token = 1;

CREATE OR REPLACE FUNCTION retire_refresh_token() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.legacy_token = 1 THEN
        INSERT INTO legacy_retired_refresh_tokens (hash, session_id, retired_at)
        VALUES (OLD.current_hash, OLD.id, NEW.last_used_at);
    ELSE
        INSERT INTO retired_refresh_tokens (session_id, hash, retired_at)
        VALUES (OLD.id, OLD.current_hash, NEW.last_used_at);
    END IF;
    RETURN NULL;
END
$$;
