-- Refresh tokens now name their session ("<session id>.<secret>"), so a
-- rotation finds its session by primary key and files the old hash beside the
-- session's other retired ones. That drops the unique index on current_hash
-- and the second index on retired tokens: each was a random page written by
-- every rotation.
--
-- Tokens issued before keep working once: `legacy_token` marks a session
-- whose current token names no session. A partial index finds those by hash;
-- their first rotation hands out a new-style token and takes the row out of
-- that index. Their retired hashes stay in `legacy_retired_refresh_tokens`,
-- so a replay of one is still caught.

DROP TRIGGER sessions_retire_refresh_token;

ALTER TABLE retired_refresh_tokens RENAME TO legacy_retired_refresh_tokens;
DROP INDEX retired_refresh_tokens_session;
CREATE INDEX legacy_retired_refresh_tokens_session ON legacy_retired_refresh_tokens (session_id);

CREATE TABLE retired_refresh_tokens (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    hash       BLOB NOT NULL,
    retired_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, hash)
) WITHOUT ROWID;

-- 1: the current token predates tokens that name their session. 0 for every
-- session started or rotated since.
ALTER TABLE sessions ADD COLUMN legacy_token INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET legacy_token = 1;
DROP INDEX sessions_current_hash;
CREATE UNIQUE INDEX sessions_legacy_current_hash ON sessions (current_hash) WHERE legacy_token = 1;

-- A rotation is one UPDATE of sessions.current_hash; this trigger files the
-- old hash in the same statement, so the two can never disagree.
CREATE TRIGGER sessions_retire_refresh_token
AFTER UPDATE OF current_hash ON sessions
WHEN OLD.current_hash <> NEW.current_hash
BEGIN
    INSERT INTO retired_refresh_tokens (session_id, hash, retired_at)
    SELECT OLD.id, OLD.current_hash, NEW.last_used_at WHERE OLD.legacy_token = 0;
    INSERT INTO legacy_retired_refresh_tokens (hash, session_id, retired_at)
    SELECT OLD.current_hash, OLD.id, NEW.last_used_at WHERE OLD.legacy_token = 1;
END;
