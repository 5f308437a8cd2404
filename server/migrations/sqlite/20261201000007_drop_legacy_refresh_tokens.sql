-- Refresh tokens that name no session (`legacy_token`, migration 000004)
-- were only issued in the hours before the first release. Their sessions end
-- here (their users sign in again), and with them the second lookup path:
-- the partial index, the second table of retired tokens, and the trigger's
-- second branch. Every refresh token now names its session.

DROP TRIGGER sessions_retire_refresh_token;
DROP INDEX sessions_legacy_current_hash;
DROP TABLE legacy_retired_refresh_tokens;
DELETE FROM sessions WHERE legacy_token = 1;
ALTER TABLE sessions DROP COLUMN legacy_token;

-- A rotation is one UPDATE of sessions.current_hash; this trigger files the
-- old hash in the same statement, so the two can never disagree.
CREATE TRIGGER sessions_retire_refresh_token
AFTER UPDATE OF current_hash ON sessions
WHEN OLD.current_hash <> NEW.current_hash
BEGIN
    INSERT INTO retired_refresh_tokens (session_id, hash, retired_at)
    VALUES (OLD.id, OLD.current_hash, NEW.last_used_at);
END;
