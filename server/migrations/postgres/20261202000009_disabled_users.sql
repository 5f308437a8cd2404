-- Operators' commands (`gatepass-server users disable|enable|delete|create`):
-- a disabled account keeps its row and its audit trail but cannot sign in
-- (its login answers as a wrong password does); `disabled_at` is when it was
-- disabled, NULL while it may sign in. Times are Unix milliseconds (UTC).
ALTER TABLE users ADD COLUMN disabled_at BIGINT;

-- The OS user who ran the command, on the audit events an operator's command
-- made; NULL on events a request made.
ALTER TABLE audit_events ADD COLUMN operator TEXT;
