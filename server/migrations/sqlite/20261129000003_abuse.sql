-- Throttle counters (shared by every server process on this database) and the
-- audit trail of authentication events.

-- One row per bucket, e.g. 'login:account:ada@example.com' or
-- 'signup:address:203.0.113.7'. `hits` counts within the window that started
-- at `window_start`; `locked_until` is set when a login bucket trips.
CREATE TABLE throttles (
    bucket       TEXT PRIMARY KEY NOT NULL,
    hits         INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    locked_until INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    event      TEXT NOT NULL,     -- e.g. login_failed, refresh_reused
    user_id    TEXT,              -- when known (no foreign key: events outlive users)
    session_id TEXT,
    ip         TEXT,
    user_agent TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_user ON audit_events (user_id, at);
