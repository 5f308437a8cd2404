-- Login lockouts grow per lockout *event*, not per request: `lockout_ms` is
-- the length of the bucket's latest lockout (0: none yet), doubled by the next
-- one. Counters now count attempts before the password is checked.
ALTER TABLE throttles ADD COLUMN lockout_ms BIGINT NOT NULL DEFAULT 0;
