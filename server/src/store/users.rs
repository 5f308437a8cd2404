//! The `users` table.

use gatepass_common::User;

use super::{now_ms, rfc3339};
use crate::db::Db;

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
    pub async fn insert_user(
        &self,
        tx: &mut sqlx::SqliteConnection,
        new: NewUser<'_>,
    ) -> sqlx::Result<UserRecord> {
        let user = UserRecord {
            id: uuid::Uuid::new_v4().to_string(),
            first_name: new.first_name.to_owned(),
            last_name: new.last_name.to_owned(),
            email: new.email.to_owned(),
            password_hash: new.password_hash.to_owned(),
            created_at: now_ms(),
        };
        sqlx::query(
            "INSERT INTO users (id, first_name, last_name, email, password_hash, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&user.id)
        .bind(&user.first_name)
        .bind(&user.last_name)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(user.created_at)
        .execute(tx)
        .await?;
        Ok(user)
    }

    pub async fn user_by_email(&self, email: &str) -> sqlx::Result<Option<UserRecord>> {
        sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?"))
            .bind(email)
            .fetch_optional(&self.0)
            .await
    }

    pub async fn user_by_id(&self, id: &str) -> sqlx::Result<Option<UserRecord>> {
        sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.0)
            .await
    }

    /// Sets a new password hash (and forgets the user's cached sessions,
    /// which carry the old one).
    pub async fn set_password_hash(
        &self,
        tx: &mut sqlx::SqliteConnection,
        user_id: &str,
        password_hash: &str,
    ) -> sqlx::Result<()> {
        let done = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(user_id)
            .execute(tx)
            .await;
        self.0.sessions().invalidate_user(user_id);
        done?;
        Ok(())
    }
}
