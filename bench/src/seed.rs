//! A benchmark database: the server's migrations, then users and sessions
//! written directly with SQL in one transaction (no API, no per-user bcrypt:
//! every user shares one precomputed hash).

use std::path::Path;
use std::time::Duration;

use gatepass_server::auth::opaque::{OpaqueTokens, Purpose};
use gatepass_server::auth::tokens::AccessTokens;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, QueryBuilder, Sqlite, SqliteConnection};

/// The keys the server under test is started with.
pub struct Keys {
    pub opaque: OpaqueTokens,
    pub access: AccessTokens,
    pub refresh_ttl: Duration,
}

/// What the load scripts need.
pub struct Seeded {
    /// Access tokens of live sessions (one session each).
    pub access_tokens: Vec<String>,
    /// Refresh tokens of live sessions, each never used (one per session).
    pub refresh_tokens: Vec<String>,
    /// Emails of accounts whose password is the bench password.
    pub emails: Vec<String>,
}

pub struct Plan {
    pub users: u64,
    /// How many accounts, spread evenly over the table, get sessions and logins.
    pub accounts: usize,
    pub access_sessions: usize,
    pub refresh_sessions: usize,
}

fn sql_err(what: &'static str) -> impl Fn(sqlx::Error) -> String {
    move |e| format!("seeding ({what}): {e}")
}

pub async fn seed(
    path: &Path,
    plan: &Plan,
    password_hash: &str,
    keys: &Keys,
) -> Result<Seeded, String> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(sql_err("open"))?;
    sqlx::migrate!("../server/migrations/sqlite")
        .run(&mut conn)
        .await
        .map_err(|e| format!("seeding (migrations): {e}"))?;

    let now = gatepass_server::store::now_ms();
    let mut tx = conn.begin().await.map_err(sql_err("begin"))?;
    // One statement for all the users: SQLite generates the rows itself, so a
    // million cost seconds, not a million round trips. Ids are random UUID v4.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO users (id, first_name, last_name, email, password_hash, created_at)
         SELECT lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
                  || substr(lower(hex(randomblob(2))), 2) || '-'
                  || substr('89ab', 1 + abs(random()) % 4, 1)
                  || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
                'Bench', 'User' || i, 'user' || i || '@bench.test', ?2, ?3
           FROM n",
    )
    .bind(plan.users as i64)
    .bind(password_hash)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(sql_err("users"))?;

    let step = (plan.users / plan.accounts.max(1) as u64).max(1) as i64;
    let accounts: Vec<(String, String)> =
        sqlx::query_as("SELECT id, email FROM users WHERE rowid % ?1 = 0 ORDER BY rowid LIMIT ?2")
            .bind(step)
            .bind(plan.accounts as i64)
            .fetch_all(&mut *tx)
            .await
            .map_err(sql_err("accounts"))?;
    if accounts.is_empty() {
        return Err("seeding: no accounts".into());
    }

    let expires_at = now + keys.refresh_ttl.as_millis() as i64;
    let mut access_tokens = Vec::with_capacity(plan.access_sessions);
    let mut refresh_tokens = Vec::with_capacity(plan.refresh_sessions);
    let total = plan.access_sessions + plan.refresh_sessions;
    let mut rows = Vec::with_capacity(1000);
    for n in 0..total {
        let (user_id, _) = &accounts[n % accounts.len()];
        let session_id = uuid::Uuid::new_v4().to_string();
        let refresh = OpaqueTokens::generate_refresh(&session_id);
        let hash = keys.opaque.hash(Purpose::Refresh, &refresh);
        let sealed = keys.opaque.seal(&session_id, &refresh);
        if n < plan.access_sessions {
            let token = keys
                .access
                .issue(user_id, &session_id)
                .map_err(|e| format!("seeding (access token): {e:?}"))?;
            access_tokens.push(token);
        } else {
            refresh_tokens.push(refresh);
        }
        rows.push((session_id, user_id.clone(), hash, sealed));
        if rows.len() == 1000 || n + 1 == total {
            let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at,
                                       user_agent, current_hash, current_sealed) ",
            );
            insert.push_values(rows.drain(..), |mut row, (id, user, hash, sealed)| {
                row.push_bind(id)
                    .push_bind(user)
                    .push_bind(now)
                    .push_bind(now)
                    .push_bind(expires_at)
                    .push_bind("gatepass-bench")
                    .push_bind(hash)
                    .push_bind(sealed);
            });
            insert
                .build()
                .execute(&mut *tx)
                .await
                .map_err(sql_err("sessions"))?;
        }
    }
    tx.commit().await.map_err(sql_err("commit"))?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await
        .map_err(sql_err("checkpoint"))?;
    conn.close().await.map_err(sql_err("close"))?;
    Ok(Seeded {
        access_tokens,
        refresh_tokens,
        emails: accounts.into_iter().map(|(_, email)| email).collect(),
    })
}
