-- PostgreSQL twin of migrations/sqlite/20261129000006_email_normal_form.sql.
-- Emails are now stored in a normal form computed in Rust
-- (validate::stored_email: NFKC, lower case, the domain in ASCII per UTS 46),
-- so that look-alike addresses are one account under the unique index.
-- Rows written before were trimmed and lower-cased only: for an all-ASCII
-- address that is already the normal form. The others are listed here and
-- rewritten at the next start by Db::renormalize_emails, as SQL can compute
-- neither NFKC nor punycode.
CREATE TABLE email_renormalization (
    user_id TEXT PRIMARY KEY NOT NULL
);
INSERT INTO email_renormalization (user_id)
SELECT id FROM users WHERE email ~ '[^ -~]';
