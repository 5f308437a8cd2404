-- PostgreSQL twin of migrations/sqlite/20261201000007_drop_legacy_refresh_tokens.sql:
-- sessions whose refresh token names no session end, and the second lookup
-- path (partial index, second table of retired tokens, the trigger
-- function's second branch) goes.

CREATE OR REPLACE FUNCTION retire_refresh_token() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO retired_refresh_tokens (session_id, hash, retired_at)
    VALUES (OLD.id, OLD.current_hash, NEW.last_used_at);
    RETURN NULL;
END
$$;

DROP INDEX sessions_legacy_current_hash;
DROP TABLE legacy_retired_refresh_tokens;
DELETE FROM sessions WHERE legacy_token = 1;
ALTER TABLE sessions DROP COLUMN legacy_token;
