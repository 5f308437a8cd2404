//! A benchmark database: the server's migrations, then users and sessions
//! written directly with SQL in one transaction (no API, no per-user bcrypt:
//! every user shares one precomputed hash); and, for EdDSA, the signing keys,
//! stored through the server's own store and key code.

use std::path::Path;
use std::time::Duration;

use gatepass_server::auth::keys::{Ed25519Pair, KeySeal, EDDSA};
use gatepass_server::auth::opaque::{OpaqueTokens, Purpose};
use gatepass_server::auth::tokens::AccessTokens;
use gatepass_server::config::Config;
use gatepass_server::db;
use gatepass_server::signing_keys::SigningKeys;
use gatepass_server::store::signing_keys::{KeyState, NewSigningKey};
use gatepass_server::store::Store;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, QueryBuilder, Sqlite, SqliteConnection};

/// The keys the server under test is started with.
pub struct Keys {
    pub opaque: OpaqueTokens,
    pub refresh_ttl: Duration,
}

/// What the load scripts need.
pub struct Seeded {
    /// Access tokens of live sessions (one session each), one list per
    /// signer given to [`seed`], in its order: the same sessions, each with
    /// a token of every signer.
    pub access_tokens: Vec<Vec<String>>,
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
    signers: &[&AccessTokens],
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
    let mut access_tokens = vec![Vec::with_capacity(plan.access_sessions); signers.len()];
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
            for (tokens, signer) in access_tokens.iter_mut().zip(signers) {
                let token = signer
                    .issue(user_id, &session_id)
                    .map_err(|e| format!("seeding (access token): {e:?}"))?;
                tokens.push(token);
            }
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

/// Stores `pair` as the current Ed25519 signing key of the database that
/// `config` names, as the server stores the keys it generates (sealed with
/// `KeySeal` under `AUTH_REFRESH_TOKEN_SECRET`, its kid the key's
/// thumbprint), then lets the server's own key code make the next key and
/// load them; fails unless it would sign with `pair`, so the server started
/// on this database does too.
pub async fn store_signing_key(config: &Config, pair: &Ed25519Pair) -> Result<(), String> {
    let err = |what: &'static str| move |e: sqlx::Error| format!("signing key ({what}): {e}");
    let backend = db::connect(&config.database).await.map_err(err("open"))?;
    db::prepare(&backend)
        .await
        .map_err(|e| format!("signing key (migrations): {e}"))?;
    let store = Store::new(backend);
    let kid = pair.kid();
    let key = NewSigningKey {
        sealed_private_key: KeySeal::new(&config.tokens.refresh_token_secret)
            .seal(&kid, pair.seed()),
        kid: kid.clone(),
        algorithm: EDDSA.to_owned(),
        public_key: pair.public().to_vec(),
        state: KeyState::Current,
    };
    let stored = store
        .insert_signing_key_if_none(&key)
        .await
        .map_err(err("insert"))?;
    let loaded = AccessTokens::ed25519(config.tokens.access_token_ttl, &config.issuer);
    let synced = SigningKeys::new(config)
        .sync(&store, &loaded)
        .await
        .map_err(|e| format!("signing key (next key): {e}"));
    store.close().await;
    synced?;
    if !stored || loaded.current_kid().as_deref() != Some(kid.as_str()) {
        return Err(format!(
            "signing key: the server would not sign with the bench's key {kid} (got {:?})",
            loaded.current_kid()
        ));
    }
    Ok(())
}
