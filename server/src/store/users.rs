//! The `users` table.

use gatepass_common::{PublicProfile, User};

use super::{is_unique_violation, now_ms, rfc3339, Store};
use crate::db::{on_conn, on_tx, Tx};
use crate::validate;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub password_hash: String,
    pub created_at: i64,
    /// When an operator disabled the account (`gatepass-server users
    /// disable`); `None` while it may sign in.
    pub disabled_at: Option<i64>,
}

impl UserRecord {
    /// What the API shows of a user: never the password hash.
    pub fn public(&self) -> User {
        User {
            id: self.id.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            email: self.email.clone(),
            created_at: rfc3339(self.created_at),
        }
    }

    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }

    /// What another signed-in user may see: no email.
    pub fn profile(&self) -> PublicProfile {
        PublicProfile {
            id: self.id.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            created_at: rfc3339(self.created_at),
        }
    }
}

pub struct NewUser<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    /// Already in its stored form ([`validate::stored_email`]): the unique
    /// index compares that form, so look-alike addresses are one account.
    pub email: &'a str,
    pub password_hash: &'a str,
}

/// Every column of [`UserRecord`], for `SELECT`s of `users` (named `u` in
/// joins: see [`USER_COLUMNS_U`]).
const USER_COLUMNS: &str =
    "id, first_name, last_name, email, password_hash, created_at, disabled_at";
/// [`USER_COLUMNS`] of the `users` table named `u`.
pub(super) const USER_COLUMNS_U: &str =
    "u.id, u.first_name, u.last_name, u.email, u.password_hash, u.created_at, u.disabled_at";

impl Store {
    /// Inserts a user; a taken email fails with a unique violation.
    pub async fn insert_user(&self, tx: &mut Tx, new: NewUser<'_>) -> sqlx::Result<UserRecord> {
        let user = UserRecord {
            id: uuid::Uuid::new_v4().to_string(),
            first_name: new.first_name.to_owned(),
            last_name: new.last_name.to_owned(),
            email: new.email.to_owned(),
            password_hash: new.password_hash.to_owned(),
            created_at: now_ms(),
            disabled_at: None,
        };
        on_tx!(tx, |conn| sqlx::query(
            "INSERT INTO users (id, first_name, last_name, email, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&user.id)
        .bind(&user.first_name)
        .bind(&user.last_name)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(user.created_at)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(user)
    }

    /// `email` in its stored form ([`validate::stored_email`]).
    pub async fn user_by_email(&self, email: &str) -> sqlx::Result<Option<UserRecord>> {
        let query = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        on_conn!(self.backend.reader(), |pool| sqlx::query_as(&query)
            .bind(email)
            .fetch_optional(pool)
            .await)
    }

    pub async fn user_by_id(&self, id: &str) -> sqlx::Result<Option<UserRecord>> {
        let query = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        on_conn!(self.backend.reader(), |pool| sqlx::query_as(&query)
            .bind(id)
            .fetch_optional(pool)
            .await)
    }

    /// Every user, oldest first.
    pub async fn list_users(&self) -> sqlx::Result<Vec<UserRecord>> {
        let query = format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id");
        on_conn!(self.backend.reader(), |pool| sqlx::query_as(&query)
            .fetch_all(pool)
            .await)
    }

    /// Marks the user disabled as of `at`. Returns whether they were enabled
    /// (false: already disabled, or no such user). Their sessions are the
    /// caller's to end, after this commits (see `accounts/admin.rs`).
    pub async fn disable_user(&self, user_id: &str, at: i64) -> sqlx::Result<bool> {
        let done = on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "UPDATE users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL"
        )
        .bind(at)
        .bind(user_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Lets a disabled user sign in again. Returns whether they were
    /// disabled (false: already enabled, or no such user).
    pub async fn enable_user(&self, user_id: &str) -> sqlx::Result<bool> {
        let done = on_conn!(self.backend.writer().await, |pool| sqlx::query(
            "UPDATE users SET disabled_at = NULL WHERE id = $1 AND disabled_at IS NOT NULL"
        )
        .bind(user_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Deletes the user and everything of theirs but their audit events:
    /// their sessions (and the refresh tokens those retired), their reset
    /// tokens. Returns whether the user was there.
    pub async fn delete_user(&self, tx: &mut Tx, user_id: &str) -> sqlx::Result<bool> {
        // The foreign keys cascade too; spelled out, so that the deletion
        // does not hang on a connection setting.
        for statement in [
            "DELETE FROM retired_refresh_tokens
              WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1)",
            "DELETE FROM sessions WHERE user_id = $1",
            "DELETE FROM password_resets WHERE user_id = $1",
            "DELETE FROM totp_factors WHERE user_id = $1",
            "DELETE FROM recovery_codes WHERE user_id = $1",
            "DELETE FROM mfa_challenges WHERE user_id = $1",
            "DELETE FROM personal_tokens WHERE user_id = $1",
            "DELETE FROM email_renormalization WHERE user_id = $1",
        ] {
            on_tx!(tx, |conn| sqlx::query(statement)
                .bind(user_id)
                .execute(conn)
                .await
                .map(|done| done.rows_affected()))?;
        }
        let done = on_tx!(tx, |conn| sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user_id)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Sets a new password hash. (Cached sessions carry the old one: the
    /// caller forgets them.)
    pub async fn set_password_hash(
        &self,
        tx: &mut Tx,
        user_id: &str,
        password_hash: &str,
    ) -> sqlx::Result<()> {
        let done = on_tx!(tx, |conn| sqlx::query(
            "UPDATE users SET password_hash = $1 WHERE id = $2"
        )
        .bind(password_hash)
        .bind(user_id)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()));
        done?;
        Ok(())
    }

    /// Rewrites into their stored form the emails written before emails were
    /// normalised beyond lower case (migration 20261129000006 lists them: the
    /// ones with a character outside printable ASCII, the only ones whose
    /// form changed). Called at every start; once the list is empty it costs
    /// one query. Idempotent, so several servers starting at once are fine.
    ///
    /// A row whose new form is taken by another account (two look-alike
    /// accounts made before this check) or that is no longer a valid address
    /// (an invisible character) keeps its old email and is named in the log,
    /// for an operator to decide: it can no longer sign in by that address.
    pub async fn renormalize_emails(&self) -> sqlx::Result<()> {
        let pending: Vec<(String, String)> = on_conn!(self.backend.reader(), |pool| {
            sqlx::query_as(
            "SELECT u.id, u.email FROM email_renormalization p JOIN users u ON u.id = p.user_id"
        )
        .fetch_all(pool)
        .await
        })?;
        for (user_id, email) in pending {
            match validate::stored_email(&email) {
                Ok(normal) if normal == email => {}
                Ok(normal) => {
                    let updated = on_conn!(self.backend.writer().await, |pool| sqlx::query(
                        "UPDATE users SET email = $1 WHERE id = $2 AND email = $3"
                    )
                    .bind(&normal)
                    .bind(&user_id)
                    .bind(&email)
                    .execute(pool)
                    .await
                    .map(|done| done.rows_affected()));
                    match updated {
                        // At start, before any session is cached.
                        Ok(_) => {}
                        Err(e) if is_unique_violation(&e) => log::warn!(
                            target: "gatepass::db",
                            "user {user_id}: the normalised form of their email belongs to \
                             another account; their email is left as it was"
                        ),
                        Err(e) => return Err(e),
                    }
                }
                Err(why) => log::warn!(
                    target: "gatepass::db",
                    "user {user_id}: their stored email is no longer accepted ({why}); \
                     it is left as it was"
                ),
            }
            on_conn!(self.backend.writer().await, |pool| sqlx::query(
                "DELETE FROM email_renormalization WHERE user_id = $1"
            )
            .bind(&user_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::testing::{migrate, open, store_on};

    /// The last migration before emails had their normal form.
    const BEFORE_NORMAL_FORM: i64 = 20261129000005;

    async fn emails(pool: &sqlx::SqlitePool) -> Vec<(String, String)> {
        sqlx::query_as("SELECT id, email FROM users ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    /// Rows from before the normal form: the migration lists the non-ASCII
    /// ones, and the start-up pass rewrites those it can, leaving a
    /// look-alike of a taken address and an invisible character alone.
    #[rocket::async_test]
    async fn emails_stored_before_the_normal_form_are_rewritten_once() {
        let dir = tempfile::tempdir().unwrap();
        let (pool, options) = open(dir.path()).await;
        migrate(&pool, Some(BEFORE_NORMAL_FORM)).await;
        let old_rows = [
            ("1", "ada@example.com"),
            ("2", "bob@bücher.example"),
            ("3", "ａｄａ@example.com"),
            ("4", "e\u{200b}ve@example.com"),
            ("5", "ｃａｒｏｌ@example.com"),
            ("6", "dan@example.com\t"),
        ];
        for (id, email) in old_rows {
            sqlx::query(
                "INSERT INTO users (id, first_name, last_name, email, password_hash, created_at)
                 VALUES ($1, 'A', 'B', $2, 'x', 0)",
            )
            .bind(id)
            .bind(email)
            .execute(&pool)
            .await
            .unwrap();
        }
        migrate(&pool, None).await;
        let listed: Vec<(String,)> =
            sqlx::query_as("SELECT user_id FROM email_renormalization ORDER BY user_id")
                .fetch_all(&pool)
                .await
                .unwrap();
        let listed: Vec<&str> = listed.iter().map(|(id,)| id.as_str()).collect();
        assert_eq!(listed, ["2", "3", "4", "5", "6"], "every non-ASCII row");

        let db = store_on(&pool, &options).await;
        db.renormalize_emails().await.unwrap();
        let expected = [
            ("1", "ada@example.com"),
            ("2", "bob@xn--bcher-kva.example"),
            ("3", "ａｄａ@example.com"), // would be ada's: left, and logged
            ("4", "e\u{200b}ve@example.com"), // refused now: left, and logged
            ("5", "carol@example.com"),
            ("6", "dan@example.com"),
        ]
        .map(|(id, email)| (id.to_owned(), email.to_owned()));
        assert_eq!(emails(&pool).await, expected);
        let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM email_renormalization")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(left, 0, "done once");
        // Later starts change nothing.
        db.renormalize_emails().await.unwrap();
        assert_eq!(emails(&pool).await, expected);
        assert!(db
            .user_by_email("bob@xn--bcher-kva.example")
            .await
            .unwrap()
            .is_some());
    }
}
