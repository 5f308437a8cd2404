//! The `users` table.

use gatepass_common::User;

use super::{now_ms, rfc3339};
use crate::db::{on_conn, on_tx, Db, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub password_hash: String,
    pub created_at: i64,
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
}

pub struct NewUser<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    /// Already normalised (trimmed, lower-cased).
    pub email: &'a str,
    pub password_hash: &'a str,
}

const USER_COLUMNS: &str = "id, first_name, last_name, email, password_hash, created_at";

impl Db {
    /// Inserts a user; a taken email fails with a unique violation.
    pub async fn insert_user(&self, tx: &mut Tx, new: NewUser<'_>) -> sqlx::Result<UserRecord> {
        let user = UserRecord {
            id: uuid::Uuid::new_v4().to_string(),
            first_name: new.first_name.to_owned(),
            last_name: new.last_name.to_owned(),
            email: new.email.to_owned(),
            password_hash: new.password_hash.to_owned(),
            created_at: now_ms(),
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

    pub async fn user_by_email(&self, email: &str) -> sqlx::Result<Option<UserRecord>> {
        let query = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        on_conn!(self.0.reader(), |pool| sqlx::query_as(&query)
            .bind(email)
            .fetch_optional(pool)
            .await)
    }

    pub async fn user_by_id(&self, id: &str) -> sqlx::Result<Option<UserRecord>> {
        let query = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        on_conn!(self.0.reader(), |pool| sqlx::query_as(&query)
            .bind(id)
            .fetch_optional(pool)
            .await)
    }

    /// Sets a new password hash (and forgets the user's cached sessions,
    /// which carry the old one).
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
        self.0.sessions().invalidate_user(user_id);
        done?;
        Ok(())
    }
}
