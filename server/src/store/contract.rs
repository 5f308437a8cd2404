//! The store's contract: what every backend must keep, as cases written once
//! against the [`Store`] API and run on a fresh temporary SQLite store and,
//! when `GATEPASS_TEST_POSTGRES_URL` names a PostgreSQL server, on a fresh
//! database there. No HTTP, no server process, no domain layer.
//!
//! A case is an `async fn(&Store)`; it may look at a table directly (through
//! [`look`] and [`age`], on either backend) where the store has no reader
//! for what it checks. The concurrent cases start their calls together (a
//! [`Barrier`]) and count the winners: on SQLite they meet in the group
//! commit of the one writer, on PostgreSQL in row locks.

use std::future::Future;

use rocket::tokio::sync::Barrier;
use rocket::tokio::task::JoinHandle;
use rocket::tokio::{self};

use super::signing_keys::{KeyState, NewSigningKey};
use super::testing::{self, POSTGRES_URL_VAR};
use super::{
    is_unique_violation, now_ms, Attempt, AuditQuery, AuditRecord, AuditRow, LockoutRule, NewUser,
    Pruned, Store, UserRecord, Verdict,
};
use crate::db::on_conn;

const HOUR_MS: i64 = 3_600_000;

// --- the plumbing: every case on every backend -----------------------------

/// Runs `case` on a fresh SQLite store, then on a fresh PostgreSQL database
/// if [`POSTGRES_URL_VAR`] is set (and says that it is skipped if not). Each
/// run is a task of its own, so that its store is closed and its database
/// dropped even when the case panics; the panic then fails the test, naming
/// the backend.
async fn for_each_backend<F, Fut>(case: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let (store, _pool) = testing::store(dir.path()).await;
    let outcome = tokio::spawn(case(store.clone())).await;
    store.close().await;
    fail_if_panicked("SQLite", outcome);

    let Some(admin) = testing::postgres_admin_url() else {
        eprintln!("{POSTGRES_URL_VAR} is not set: the PostgreSQL half of this case is skipped");
        return;
    };
    let pg = testing::postgres_store(&admin).await;
    let outcome = tokio::spawn(case(pg.store.clone())).await;
    pg.drop_database().await;
    fail_if_panicked("PostgreSQL", outcome);
}

fn fail_if_panicked(backend: &str, outcome: Result<(), tokio::task::JoinError>) {
    if let Err(e) = outcome {
        panic!("the case failed on {backend} (its panic is above): {e}");
    }
}

/// One `#[rocket::async_test]` per case, each running it on every backend.
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod on_every_backend {
            $(
                #[rocket::async_test]
                async fn $case() {
                    super::for_each_backend(|store| async move { super::$case(&store).await })
                        .await;
                }
            )*
        }
    };
}

on_every_backend! {
    users_are_found_by_email_and_by_id,
    a_taken_email_is_a_unique_violation_and_changes_nothing,
    a_transaction_dropped_without_commit_leaves_nothing,
    a_session_rotates_and_files_its_old_token_as_retired,
    of_simultaneous_rotations_of_one_token_exactly_one_wins,
    sessions_end_one_at_a_time_or_all_but_one,
    a_reset_token_is_replaced_expires_and_is_used_once,
    of_simultaneous_uses_of_one_reset_token_exactly_one_succeeds,
    a_password_change_removes_the_outstanding_reset_tokens,
    a_burst_of_throttle_hits_counts_each_hit_once,
    a_burst_of_login_attempts_admits_exactly_the_limit,
    a_refund_gives_back_one_attempt_but_not_during_a_lockout,
    audit_rows_are_readable_once_flushed,
    prune_removes_what_is_over_and_keeps_what_lives,
    of_simultaneous_first_signing_keys_exactly_one_is_stored,
    a_retired_signing_key_is_listed_until_its_verify_until,
    of_simultaneous_rotations_of_the_signing_keys_exactly_one_happens,
    retiring_a_retired_signing_key_only_brings_its_end_forward,
    of_simultaneous_uses_of_one_second_factor_exactly_one_is_accepted,
    a_disabled_user_has_no_live_session_until_enabled,
    deleting_a_user_takes_their_sessions_and_tokens_but_not_their_audit_events,
    audit_events_read_back_in_order_since_a_time_and_of_one_user,
}

// --- helpers ---------------------------------------------------------------

/// A token hash (any bytes will do: the store compares them).
fn hash() -> Vec<u8> {
    uuid::Uuid::new_v4().as_bytes().to_vec()
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A committed user with `email`.
async fn user(store: &Store, email: &str) -> UserRecord {
    let mut tx = store.transaction().await.unwrap();
    let user = store
        .insert_user(
            &mut tx,
            NewUser {
                first_name: "Ada",
                last_name: "Lovelace",
                email,
                password_hash: "hash-1",
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    user
}

/// A committed session of `user_id` whose current refresh token has the
/// returned hash.
async fn session(store: &Store, user_id: &str, ttl_ms: i64) -> (String, Vec<u8>) {
    let id = new_id();
    let token = hash();
    let mut tx = store.transaction().await.unwrap();
    store
        .insert_session(
            &mut tx,
            &id,
            user_id,
            &token,
            b"sealed",
            Some("contract test"),
            ttl_ms,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (id, token)
}

/// The integer that `sql` (with `$1` = `arg`) selects, read directly.
async fn look(store: &Store, sql: &str, arg: &str) -> i64 {
    on_conn!(store.backend().reader(), |pool| {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(arg)
            .fetch_one(pool)
            .await
    })
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Runs the write `sql` (with `$1` = `arg`) directly: to make a row look
/// old, which the store's API cannot.
async fn age(store: &Store, sql: &str, arg: &str) {
    on_conn!(store.backend().writer().await, |conn| sqlx::query(sql)
        .bind(arg)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Starts `n` copies of `call` (given 0..n) released together by a barrier,
/// and gives their answers in that order.
async fn at_once<T, F, Fut>(store: &Store, n: usize, call: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Store, usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = std::sync::Arc::new(Barrier::new(n));
    let tasks: Vec<JoinHandle<T>> = (0..n)
        .map(|i| {
            let barrier = barrier.clone();
            let call = call(store.clone(), i);
            tokio::spawn(async move {
                barrier.wait().await;
                call.await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(n);
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

// --- users -----------------------------------------------------------------

async fn users_are_found_by_email_and_by_id(store: &Store) {
    let ada = user(store, "ada@example.com").await;
    let bob = user(store, "bob@example.com").await;
    assert_ne!(ada.id, bob.id);

    for found in [
        store.user_by_email("ada@example.com").await.unwrap(),
        store.user_by_id(&ada.id).await.unwrap(),
    ] {
        let found = found.expect("ada is found");
        assert_eq!(
            (
                &found.id,
                &found.first_name,
                &found.last_name,
                &found.email,
                &found.password_hash,
                found.created_at
            ),
            (
                &ada.id,
                &ada.first_name,
                &ada.last_name,
                &ada.email,
                &ada.password_hash,
                ada.created_at
            )
        );
    }
    assert_eq!(
        store.user_by_id(&bob.id).await.unwrap().unwrap().email,
        "bob@example.com"
    );
    assert!(store
        .user_by_email("carol@example.com")
        .await
        .unwrap()
        .is_none());
    assert!(store.user_by_id(&new_id()).await.unwrap().is_none());
    // The email is compared as stored: exactly.
    assert!(store
        .user_by_email("ADA@example.com")
        .await
        .unwrap()
        .is_none());

    let mut tx = store.transaction().await.unwrap();
    store
        .set_password_hash(&mut tx, &ada.id, "hash-2")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let ada_now = store.user_by_id(&ada.id).await.unwrap().unwrap();
    assert_eq!(ada_now.password_hash, "hash-2");
    let bob_now = store.user_by_id(&bob.id).await.unwrap().unwrap();
    assert_eq!(bob_now.password_hash, "hash-1", "only ada's changed");
}

async fn a_taken_email_is_a_unique_violation_and_changes_nothing(store: &Store) {
    let ada = user(store, "ada@example.com").await;

    let mut tx = store.transaction().await.unwrap();
    let taken = store
        .insert_user(
            &mut tx,
            NewUser {
                first_name: "Other",
                last_name: "Person",
                email: "ada@example.com",
                password_hash: "other",
            },
        )
        .await
        .expect_err("the email is taken");
    assert!(
        is_unique_violation(&taken),
        "a taken email is a unique violation: {taken:?}"
    );
    drop(tx);

    let found = store
        .user_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id.as_str(), found.first_name.as_str()),
        (ada.id.as_str(), "Ada")
    );

    // Other failures are not that error: a session of no user breaks a
    // foreign key.
    let mut tx = store.transaction().await.unwrap();
    let no_user = store
        .insert_session(&mut tx, &new_id(), &new_id(), &hash(), b"s", None, HOUR_MS)
        .await
        .expect_err("a session needs its user");
    assert!(
        !is_unique_violation(&no_user),
        "a broken foreign key is not a taken email: {no_user:?}"
    );
    drop(tx);

    // And the store goes on: another email is free.
    let bob = user(store, "bob@example.com").await;
    assert!(store.user_by_id(&bob.id).await.unwrap().is_some());
}

async fn a_transaction_dropped_without_commit_leaves_nothing(store: &Store) {
    let mut tx = store.transaction().await.unwrap();
    let ghost = store
        .insert_user(
            &mut tx,
            NewUser {
                first_name: "Ghost",
                last_name: "Writer",
                email: "ghost@example.com",
                password_hash: "x",
            },
        )
        .await
        .unwrap();
    drop(tx);

    // The next transaction starts after the rollback, and finds the email
    // free.
    let ada = user(store, "ghost@example.com").await;
    assert_ne!(ada.id, ghost.id);
    assert!(store.user_by_id(&ghost.id).await.unwrap().is_none());
    assert_eq!(
        store
            .user_by_email("ghost@example.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        ada.id
    );
}

// --- sessions --------------------------------------------------------------

async fn a_session_rotates_and_files_its_old_token_as_retired(store: &Store) {
    let ada = user(store, "ada@example.com").await;
    let sid = new_id();
    let first = hash();
    let mut tx = store.transaction().await.unwrap();
    let started = store
        .insert_session(
            &mut tx,
            &sid,
            &ada.id,
            &first,
            b"sealed-1",
            Some("agent/1"),
            HOUR_MS,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(started.is_live(now_ms()));
    assert_eq!(started.user_agent.as_deref(), Some("agent/1"));

    let (who, expires_at) = store
        .live_session_user(&sid, &ada.id)
        .await
        .unwrap()
        .expect("a live session");
    assert_eq!(
        (who.id.as_str(), expires_at),
        (ada.id.as_str(), started.expires_at)
    );
    assert!(
        store
            .live_session_user(&sid, &new_id())
            .await
            .unwrap()
            .is_none(),
        "not another user's"
    );

    let current = store
        .find_refresh_token(&sid, &first)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.session.id, sid);
    assert_eq!(current.retired_at, None, "the current token");
    assert_eq!(
        store.current_refresh_token(&sid).await.unwrap(),
        Some((first.clone(), b"sealed-1".to_vec()))
    );

    let second = hash();
    let rotated = store
        .rotate_refresh_token(&sid, &first, &second, b"sealed-2", 2 * HOUR_MS)
        .await
        .unwrap()
        .expect("the current token rotates");
    assert_eq!(rotated.id, sid);
    assert_eq!(rotated.user_id, ada.id);
    assert!(
        rotated.expires_at > started.expires_at,
        "the new token's ttl"
    );
    assert!(rotated.last_used_at >= started.last_used_at);
    assert_eq!(
        store.current_refresh_token(&sid).await.unwrap(),
        Some((second.clone(), b"sealed-2".to_vec()))
    );

    let retired = store
        .find_refresh_token(&sid, &first)
        .await
        .unwrap()
        .expect("a retired token is still found");
    assert_eq!(retired.retired_at, Some(rotated.last_used_at));
    assert_eq!(
        store
            .find_refresh_token(&sid, &second)
            .await
            .unwrap()
            .unwrap()
            .retired_at,
        None
    );

    // A retired token does not rotate again; nor does an unknown one.
    assert!(store
        .rotate_refresh_token(&sid, &first, &hash(), b"x", HOUR_MS)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .rotate_refresh_token(&sid, &hash(), &hash(), b"x", HOUR_MS)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.current_refresh_token(&sid).await.unwrap().unwrap().0,
        second
    );
    // A token is found only with its own session.
    assert!(store
        .find_refresh_token(&sid, &hash())
        .await
        .unwrap()
        .is_none());
    assert!(store
        .find_refresh_token(&new_id(), &second)
        .await
        .unwrap()
        .is_none());

    // An expired session is not live, and does not rotate.
    let (expired, expired_token) = session(store, &ada.id, -1_000).await;
    assert!(store
        .live_session_user(&expired, &ada.id)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .current_refresh_token(&expired)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .rotate_refresh_token(&expired, &expired_token, &hash(), b"x", HOUR_MS)
        .await
        .unwrap()
        .is_none());
    let live: Vec<String> = store
        .live_sessions(&ada.id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(live, [sid]);
}

async fn of_simultaneous_rotations_of_one_token_exactly_one_wins(store: &Store) {
    const AT_ONCE: usize = 8;
    let ada = user(store, "ada@example.com").await;
    let (sid, mut current) = session(store, &ada.id, HOUR_MS).await;
    let mut retired = Vec::new();
    for round in 0..4 {
        let new_hashes: Vec<Vec<u8>> = (0..AT_ONCE).map(|_| hash()).collect();
        let answers = at_once(store, AT_ONCE, |store, i| {
            let (sid, old, new) = (sid.clone(), current.clone(), new_hashes[i].clone());
            async move {
                store
                    .rotate_refresh_token(&sid, &old, &new, b"sealed", HOUR_MS)
                    .await
                    .unwrap()
            }
        })
        .await;
        let winners: Vec<usize> = (0..AT_ONCE).filter(|&i| answers[i].is_some()).collect();
        assert_eq!(winners.len(), 1, "round {round}: exactly one rotation wins");
        let winner = &new_hashes[winners[0]];
        assert_eq!(
            store.current_refresh_token(&sid).await.unwrap().unwrap().0,
            *winner,
            "round {round}: the session holds the winner's token"
        );
        for (i, lost) in new_hashes.iter().enumerate() {
            if i != winners[0] {
                assert!(
                    store
                        .find_refresh_token(&sid, lost)
                        .await
                        .unwrap()
                        .is_none(),
                    "round {round}: a losing rotation left no trace"
                );
            }
        }
        retired.push(std::mem::replace(&mut current, winner.clone()));
    }
    // Every token the winners replaced is filed as retired, once.
    for old in &retired {
        assert!(store
            .find_refresh_token(&sid, old)
            .await
            .unwrap()
            .unwrap()
            .retired_at
            .is_some());
    }
    assert_eq!(
        look(
            store,
            "SELECT COUNT(*) FROM retired_refresh_tokens WHERE session_id = $1",
            &sid
        )
        .await,
        retired.len() as i64
    );
}

async fn sessions_end_one_at_a_time_or_all_but_one(store: &Store) {
    let ada = user(store, "ada@example.com").await;
    let bob = user(store, "bob@example.com").await;
    let (a, a_token) = session(store, &ada.id, HOUR_MS).await;
    let (b, _) = session(store, &ada.id, HOUR_MS).await;
    let (bobs, _) = session(store, &bob.id, HOUR_MS).await;

    // One session: only by its own user, and once.
    assert!(!store.end_user_session(&bob.id, &a).await.unwrap());
    assert!(store
        .live_session_user(&a, &ada.id)
        .await
        .unwrap()
        .is_some());
    assert!(store.end_session(&a).await.unwrap());
    assert!(!store.end_session(&a).await.unwrap(), "already ended");
    assert!(store
        .live_session_user(&a, &ada.id)
        .await
        .unwrap()
        .is_none());
    assert!(store.current_refresh_token(&a).await.unwrap().is_none());
    assert!(store
        .rotate_refresh_token(&a, &a_token, &hash(), b"x", HOUR_MS)
        .await
        .unwrap()
        .is_none());
    let ended = store
        .find_refresh_token(&a, &a_token)
        .await
        .unwrap()
        .expect("an ended session's token is still recognised");
    assert!(ended.session.ended_at.is_some());
    assert!(!ended.session.is_live(now_ms()));

    assert!(store.end_user_session(&ada.id, &b).await.unwrap());
    assert!(!store.end_user_session(&ada.id, &b).await.unwrap());

    // All but one: the one kept, and the other user's, live on.
    let (c, c_token) = session(store, &ada.id, HOUR_MS).await;
    let (d, _) = session(store, &ada.id, HOUR_MS).await;
    let (e, _) = session(store, &ada.id, HOUR_MS).await;
    // Rotating c makes it the most recently used: the others are made an
    // hour older first, so no clock resolution decides the order.
    age(
        store,
        "UPDATE sessions SET last_used_at = last_used_at - 3600000 WHERE user_id = $1",
        &ada.id,
    )
    .await;
    store
        .rotate_refresh_token(&c, &c_token, &hash(), b"x", HOUR_MS)
        .await
        .unwrap()
        .unwrap();
    let live: Vec<String> = store
        .live_sessions(&ada.id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(live.len(), 3);
    assert_eq!(live[0], c, "most recently used first");
    assert!(live.contains(&d) && live.contains(&e));

    let mut tx = store.transaction().await.unwrap();
    let ended = store
        .end_all_sessions(&mut tx, &ada.id, Some(&c))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(ended, 2, "d and e (a and b had ended)");
    let live: Vec<String> = store
        .live_sessions(&ada.id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(live, [c.as_str()]);
    assert!(store
        .live_session_user(&bobs, &bob.id)
        .await
        .unwrap()
        .is_some());

    let mut tx = store.transaction().await.unwrap();
    assert_eq!(
        store
            .end_all_sessions(&mut tx, &ada.id, None)
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();
    assert!(store.live_sessions(&ada.id).await.unwrap().is_empty());
    assert_eq!(store.live_sessions(&bob.id).await.unwrap().len(), 1);
}

// --- password resets -------------------------------------------------------

async fn a_reset_token_is_replaced_expires_and_is_used_once(store: &Store) {
    let ada = user(store, "ada@example.com").await;
    let first = hash();
    store
        .put_reset_token(&ada.id, &first, HOUR_MS)
        .await
        .unwrap();
    assert_eq!(
        store.reset_token_user(&first).await.unwrap().unwrap().id,
        ada.id
    );

    // A new request replaces the earlier token.
    let second = hash();
    store
        .put_reset_token(&ada.id, &second, HOUR_MS)
        .await
        .unwrap();
    assert!(store.reset_token_user(&first).await.unwrap().is_none());
    let mut tx = store.transaction().await.unwrap();
    assert!(!store.consume_reset_token(&mut tx, &first).await.unwrap());
    drop(tx);

    // Used up in a transaction that rolls back: still there.
    let mut tx = store.transaction().await.unwrap();
    assert!(store.consume_reset_token(&mut tx, &second).await.unwrap());
    drop(tx);
    assert!(store.reset_token_user(&second).await.unwrap().is_some());

    // Used up for good: once.
    let mut tx = store.transaction().await.unwrap();
    assert!(store.consume_reset_token(&mut tx, &second).await.unwrap());
    tx.commit().await.unwrap();
    assert!(store.reset_token_user(&second).await.unwrap().is_none());
    let mut tx = store.transaction().await.unwrap();
    assert!(!store.consume_reset_token(&mut tx, &second).await.unwrap());
    drop(tx);

    // An expired token is neither shown nor used.
    let expired = hash();
    store
        .put_reset_token(&ada.id, &expired, -1_000)
        .await
        .unwrap();
    assert!(store.reset_token_user(&expired).await.unwrap().is_none());
    let mut tx = store.transaction().await.unwrap();
    assert!(!store.consume_reset_token(&mut tx, &expired).await.unwrap());
    drop(tx);
}

async fn of_simultaneous_uses_of_one_reset_token_exactly_one_succeeds(store: &Store) {
    const AT_ONCE: usize = 6;
    let ada = user(store, "ada@example.com").await;
    for round in 0..3 {
        let token = hash();
        store
            .put_reset_token(&ada.id, &token, HOUR_MS)
            .await
            .unwrap();
        let used = at_once(store, AT_ONCE, |store, _| {
            let token = token.clone();
            async move {
                let mut tx = store.transaction().await.unwrap();
                let used = store.consume_reset_token(&mut tx, &token).await.unwrap();
                tx.commit().await.unwrap();
                used
            }
        })
        .await;
        assert_eq!(
            used.iter().filter(|&&used| used).count(),
            1,
            "round {round}: exactly one use: {used:?}"
        );
        assert!(store.reset_token_user(&token).await.unwrap().is_none());
    }
}

async fn a_password_change_removes_the_outstanding_reset_tokens(store: &Store) {
    let ada = user(store, "ada@example.com").await;
    let bob = user(store, "bob@example.com").await;
    let (kept, _) = session(store, &ada.id, HOUR_MS).await;
    let (other, _) = session(store, &ada.id, HOUR_MS).await;
    let adas = hash();
    let bobs = hash();
    store
        .put_reset_token(&ada.id, &adas, HOUR_MS)
        .await
        .unwrap();
    store
        .put_reset_token(&bob.id, &bobs, HOUR_MS)
        .await
        .unwrap();

    // A change that rolls back changes nothing.
    let mut tx = store.transaction().await.unwrap();
    store
        .set_password_hash(&mut tx, &ada.id, "abandoned")
        .await
        .unwrap();
    assert_eq!(
        store.delete_reset_tokens(&mut tx, &ada.id).await.unwrap(),
        1
    );
    drop(tx);
    assert!(store.reset_token_user(&adas).await.unwrap().is_some());
    assert_eq!(
        store
            .user_by_id(&ada.id)
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "hash-1"
    );

    // The change as the password flows make it: one transaction.
    let mut tx = store.transaction().await.unwrap();
    store
        .set_password_hash(&mut tx, &ada.id, "hash-2")
        .await
        .unwrap();
    assert_eq!(
        store.delete_reset_tokens(&mut tx, &ada.id).await.unwrap(),
        1
    );
    assert_eq!(
        store
            .end_all_sessions(&mut tx, &ada.id, Some(&kept))
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();

    assert!(store.reset_token_user(&adas).await.unwrap().is_none());
    let mut tx = store.transaction().await.unwrap();
    assert!(
        !store.consume_reset_token(&mut tx, &adas).await.unwrap(),
        "a link mailed before the change is worthless"
    );
    drop(tx);
    assert_eq!(
        store
            .user_by_id(&ada.id)
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "hash-2"
    );
    assert!(store
        .live_session_user(&other, &ada.id)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .live_session_user(&kept, &ada.id)
        .await
        .unwrap()
        .is_some());
    // Bob's token is his own business.
    assert_eq!(
        store.reset_token_user(&bobs).await.unwrap().unwrap().id,
        bob.id
    );
}

// --- throttles -------------------------------------------------------------

async fn a_burst_of_throttle_hits_counts_each_hit_once(store: &Store) {
    const BURST: usize = 24;
    const LIMIT: i64 = 5;
    let states = at_once(store, BURST, |store, _| async move {
        store
            .throttle_hit("signup:address:192.0.2.1", 60_000)
            .await
            .unwrap()
    })
    .await;
    let mut counts: Vec<i64> = states.iter().map(|s| s.hits).collect();
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=BURST as i64).collect::<Vec<_>>(),
        "each hit sees its own count"
    );
    let admitted = states.iter().filter(|s| s.hits <= LIMIT).count();
    assert_eq!(admitted as i64, LIMIT, "a limit of {LIMIT} admits {LIMIT}");
    assert!(
        states
            .iter()
            .all(|s| s.window_start == states[0].window_start),
        "one window"
    );
    assert!(states.iter().all(|s| s.locked_until == 0));

    // Another bucket counts on its own.
    let other = store
        .throttle_hit("signup:address:192.0.2.2", 60_000)
        .await
        .unwrap();
    assert_eq!(other.hits, 1);
    let next = store
        .throttle_hit("signup:address:192.0.2.1", 60_000)
        .await
        .unwrap();
    assert_eq!(next.hits, BURST as i64 + 1);

    // A window that has passed starts again.
    let first = store.throttle_hit("short", 1).await.unwrap();
    // Its window (1 ms) made a second old, rather than waited out.
    age(
        store,
        "UPDATE throttles SET window_start = window_start - 1000 WHERE bucket = $1",
        "short",
    )
    .await;
    let again = store.throttle_hit("short", 1).await.unwrap();
    assert_eq!((first.hits, again.hits), (1, 1));
    assert!(again.window_start >= first.window_start);
}

const LOGIN_RULE: LockoutRule = LockoutRule {
    max: 3,
    window_ms: 900_000,
    base_ms: 60_000,
    cap_ms: 86_400_000,
};

async fn a_burst_of_login_attempts_admits_exactly_the_limit(store: &Store) {
    const BURST: usize = 16;
    let address = "login:address:192.0.2.9";
    let before = now_ms();
    let verdicts = at_once(store, BURST, |store, i| async move {
        store
            .throttle_attempt(Attempt {
                buckets: vec![
                    (format!("login:account:user{i}@example.com"), LOGIN_RULE),
                    (address.to_owned(), LOGIN_RULE),
                ],
            })
            .await
            .unwrap()
    })
    .await;
    let allowed = verdicts.iter().filter(|v| **v == Verdict::Allowed).count();
    assert_eq!(allowed as i64, LOGIN_RULE.max, "{verdicts:?}");
    let untils: Vec<i64> = verdicts
        .iter()
        .filter_map(|v| match v {
            Verdict::Refused { until } => Some(*until),
            Verdict::Allowed => None,
        })
        .collect();
    assert_eq!(untils.len(), BURST - allowed);
    assert!(
        untils.iter().all(|u| *u == untils[0]),
        "one lockout for the whole burst: {untils:?}"
    );
    let until = untils[0];
    assert!(until >= before + LOGIN_RULE.base_ms && until <= now_ms() + LOGIN_RULE.base_ms);
    assert_eq!(
        store.throttle_locked_until(&[address]).await.unwrap(),
        until
    );
    assert_eq!(
        look(
            store,
            "SELECT lockout_ms FROM throttles WHERE bucket = $1",
            address
        )
        .await,
        LOGIN_RULE.base_ms,
        "the burst is one lockout event"
    );
    // The refused attempts spent nothing of their accounts.
    let spent = look(
        store,
        "SELECT CAST(COALESCE(SUM(hits), 0) AS BIGINT) FROM throttles WHERE bucket LIKE $1",
        "login:account:%",
    )
    .await;
    assert_eq!(spent, LOGIN_RULE.max);
    assert_eq!(
        store
            .throttle_locked_until(&["login:account:user0@example.com", "unknown"])
            .await
            .unwrap(),
        0
    );

    // Cleared, the address may try again.
    store.throttle_clear(address).await.unwrap();
    assert_eq!(store.throttle_locked_until(&[address]).await.unwrap(), 0);
    assert_eq!(
        store
            .throttle_attempt(Attempt {
                buckets: vec![(address.to_owned(), LOGIN_RULE)],
            })
            .await
            .unwrap(),
        Verdict::Allowed
    );
}

async fn a_refund_gives_back_one_attempt_but_not_during_a_lockout(store: &Store) {
    let bucket = "login:account:ada@example.com";
    let attempt = || Attempt {
        buckets: vec![(bucket.to_owned(), LOGIN_RULE)],
    };
    let hits = || {
        look(
            store,
            "SELECT hits FROM throttles WHERE bucket = $1",
            bucket,
        )
    };
    for _ in 0..LOGIN_RULE.max {
        assert_eq!(
            store.throttle_attempt(attempt()).await.unwrap(),
            Verdict::Allowed
        );
    }
    assert_eq!(hits().await, LOGIN_RULE.max);
    store.throttle_refund(bucket).await.unwrap();
    assert_eq!(hits().await, LOGIN_RULE.max - 1);
    assert_eq!(
        store.throttle_attempt(attempt()).await.unwrap(),
        Verdict::Allowed,
        "the refunded attempt"
    );
    let Verdict::Refused { until } = store.throttle_attempt(attempt()).await.unwrap() else {
        panic!("past the limit");
    };
    assert_eq!(store.throttle_locked_until(&[bucket]).await.unwrap(), until);
    let during = hits().await;
    store.throttle_refund(bucket).await.unwrap();
    assert_eq!(hits().await, during, "nothing given back during a lockout");
    assert!(matches!(
        store.throttle_attempt(attempt()).await.unwrap(),
        Verdict::Refused { until: u } if u == until
    ));
}

// --- audit -----------------------------------------------------------------

type StoredAudit = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

async fn audit_rows_are_readable_once_flushed(store: &Store) {
    let now = now_ms();
    let full = AuditRow {
        at: now,
        event: "login_succeeded",
        user_id: Some("u1".into()),
        session_id: Some("s1".into()),
        ip: Some("192.0.2.1".into()),
        user_agent: Some("agent/1".into()),
        operator: None,
    };
    let bare = AuditRow {
        at: now + 1,
        event: "login_failed",
        user_id: None,
        session_id: None,
        ip: None,
        user_agent: None,
        operator: None,
    };
    store.insert_audit_event(full.clone()).await;
    store.insert_audit_event(bare.clone()).await;
    // And a burst from many requests at once.
    const BURST: usize = 40;
    at_once(store, BURST, |store, i| async move {
        store
            .insert_audit_event(AuditRow {
                at: now + 2,
                event: "refreshed",
                user_id: Some(format!("burst{i}")),
                session_id: None,
                ip: None,
                user_agent: None,
                operator: None,
            })
            .await
    })
    .await;
    store.flush_audit().await;

    let rows: Vec<StoredAudit> = on_conn!(store.backend().reader(), |pool| sqlx::query_as(
        "SELECT at, event, user_id, session_id, ip, user_agent FROM audit_events ORDER BY id"
    )
    .fetch_all(pool)
    .await)
    .unwrap();
    assert_eq!(rows.len(), 2 + BURST, "every row, once");
    let as_stored = |row: &AuditRow| -> StoredAudit {
        (
            row.at,
            row.event.to_owned(),
            row.user_id.clone(),
            row.session_id.clone(),
            row.ip.clone(),
            row.user_agent.clone(),
        )
    };
    assert_eq!(rows[0], as_stored(&full), "in the order submitted");
    assert_eq!(rows[1], as_stored(&bare));
    let mut burst: Vec<String> = rows[2..]
        .iter()
        .map(|row| {
            assert_eq!((row.0, row.1.as_str()), (now + 2, "refreshed"));
            row.2.clone().unwrap()
        })
        .collect();
    burst.sort();
    let mut expected: Vec<String> = (0..BURST).map(|i| format!("burst{i}")).collect();
    expected.sort();
    assert_eq!(burst, expected);
}

// --- operators' commands ---------------------------------------------------

async fn a_disabled_user_has_no_live_session_until_enabled(store: &Store) {
    let ada = user(store, "ada@example.com").await;
    let bob = user(store, "bob@example.com").await;
    assert_eq!(ada.disabled_at, None, "a new user may sign in");
    let (session, _) = session(store, &ada.id, HOUR_MS).await;
    assert!(store
        .live_session_user(&session, &ada.id)
        .await
        .unwrap()
        .is_some());

    let at = now_ms();
    assert!(store.disable_user(&ada.id, at).await.unwrap());
    assert!(
        !store.disable_user(&ada.id, at + 1).await.unwrap(),
        "disabled once"
    );
    assert!(!store.disable_user(&new_id(), at).await.unwrap(), "no user");
    for found in [
        store.user_by_email("ada@example.com").await.unwrap(),
        store.user_by_id(&ada.id).await.unwrap(),
    ] {
        assert_eq!(found.unwrap().disabled_at, Some(at), "kept from the first");
    }
    // Even before the session is ended, a disabled user's is not live.
    assert!(store
        .live_session_user(&session, &ada.id)
        .await
        .unwrap()
        .is_none());

    let listed: Vec<(String, Option<i64>)> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.email, u.disabled_at))
        .collect();
    assert_eq!(
        listed,
        [
            ("ada@example.com".to_owned(), Some(at)),
            ("bob@example.com".to_owned(), None)
        ],
        "every user, oldest first"
    );

    assert!(store.enable_user(&ada.id).await.unwrap());
    assert!(!store.enable_user(&ada.id).await.unwrap(), "enabled once");
    assert!(!store.enable_user(&bob.id).await.unwrap(), "never disabled");
    assert_eq!(
        store
            .user_by_id(&ada.id)
            .await
            .unwrap()
            .unwrap()
            .disabled_at,
        None
    );
    assert!(store
        .live_session_user(&session, &ada.id)
        .await
        .unwrap()
        .is_some());
}

async fn deleting_a_user_takes_their_sessions_and_tokens_but_not_their_audit_events(store: &Store) {
    let ada = user(store, "ada@example.com").await;
    let bob = user(store, "bob@example.com").await;
    let (ada_session, ada_token) = session(store, &ada.id, HOUR_MS).await;
    let (bob_session, _) = session(store, &bob.id, HOUR_MS).await;
    // A rotation files a retired token under the session.
    assert!(store
        .rotate_refresh_token(&ada_session, &ada_token, &hash(), b"sealed-2", HOUR_MS)
        .await
        .unwrap()
        .is_some());
    store
        .put_reset_token(&ada.id, &hash(), HOUR_MS)
        .await
        .unwrap();
    store
        .put_reset_token(&bob.id, &hash(), HOUR_MS)
        .await
        .unwrap();
    store
        .insert_audit_event(AuditRow {
            at: now_ms(),
            event: "login_succeeded",
            user_id: Some(ada.id.clone()),
            session_id: Some(ada_session.clone()),
            ip: None,
            user_agent: None,
            operator: None,
        })
        .await;
    store.flush_audit().await;

    let mut tx = store.transaction().await.unwrap();
    assert!(store.delete_user(&mut tx, &ada.id).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.transaction().await.unwrap();
    assert!(
        !store.delete_user(&mut tx, &ada.id).await.unwrap(),
        "deleted once"
    );
    drop(tx);

    assert!(store.user_by_id(&ada.id).await.unwrap().is_none());
    assert!(store
        .user_by_email("ada@example.com")
        .await
        .unwrap()
        .is_none());
    let (ada_id, bob_id) = (ada.id.as_str(), bob.id.as_str());
    let count = |table: &'static str| {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE user_id = $1");
        async move {
            (
                look(store, &sql, ada_id).await,
                look(store, &sql, bob_id).await,
            )
        }
    };
    assert_eq!(count("sessions").await, (0, 1));
    assert_eq!(count("password_resets").await, (0, 1));
    assert_eq!(
        look(
            store,
            "SELECT COUNT(*) FROM retired_refresh_tokens WHERE session_id = $1",
            &ada_session
        )
        .await,
        0
    );
    assert_eq!(count("audit_events").await.0, 1, "the trail stays");
    // Bob is untouched.
    assert!(store
        .live_session_user(&bob_session, &bob.id)
        .await
        .unwrap()
        .is_some());
    // And the email is free again.
    let again = user(store, "ada@example.com").await;
    assert_ne!(again.id, ada.id);
}

async fn audit_events_read_back_in_order_since_a_time_and_of_one_user(store: &Store) {
    let base = now_ms();
    let row = |at: i64, event: &'static str, user: Option<&str>, operator: Option<&str>| AuditRow {
        at,
        event,
        user_id: user.map(str::to_owned),
        session_id: None,
        ip: Some("192.0.2.1".into()),
        user_agent: Some("agent\n\u{1b}[2J\u{7}\t".into()),
        operator: operator.map(str::to_owned),
    };
    let rows = [
        row(base - 2 * HOUR_MS, "login_failed", Some("u1"), None),
        row(base - HOUR_MS, "user_disabled", Some("u1"), Some("ops")),
        row(base, "login_failed", None, None),
        row(base + 1, "user_enabled", Some("u1"), Some("ops")),
        row(base + 2, "signup", Some("u2"), None),
    ];
    for r in &rows {
        store.insert_audit_event(r.clone()).await;
    }
    store.flush_audit().await;

    let read = |after_id: i64, since: i64, user_id: Option<&'static str>, limit: i64| async move {
        store
            .audit_events(
                AuditQuery {
                    after_id,
                    since,
                    user_id,
                },
                limit,
            )
            .await
            .unwrap()
    };
    let all = read(0, i64::MIN, None, 100).await;
    assert_eq!(all.len(), rows.len());
    for (read, written) in all.iter().zip(&rows) {
        assert_eq!(
            (
                read.at,
                read.event.as_str(),
                &read.user_id,
                &read.ip,
                &read.user_agent,
                &read.operator
            ),
            (
                written.at,
                written.event,
                &written.user_id,
                &written.ip,
                &written.user_agent,
                &written.operator
            ),
            "stored as written, control characters and all"
        );
    }
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "in stored order");

    let events =
        |rows: Vec<AuditRecord>| -> Vec<String> { rows.into_iter().map(|r| r.event).collect() };
    assert_eq!(
        events(read(0, base, None, 100).await),
        ["login_failed", "user_enabled", "signup"],
        "since a time, that time included"
    );
    assert_eq!(
        events(read(0, i64::MIN, Some("u1"), 100).await),
        ["login_failed", "user_disabled", "user_enabled"]
    );
    assert_eq!(
        events(read(0, base - HOUR_MS, Some("u1"), 100).await),
        ["user_disabled", "user_enabled"]
    );
    // A page at a time.
    let first = read(0, i64::MIN, None, 2).await;
    assert_eq!(first.len(), 2);
    let rest = read(first[1].id, i64::MIN, None, 100).await;
    assert_eq!(rest.len(), 3);
    assert_eq!(rest[0].id, all[2].id);
    assert!(read(all[4].id, i64::MIN, None, 100).await.is_empty());
}

// --- prune -----------------------------------------------------------------

async fn prune_removes_what_is_over_and_keeps_what_lives(store: &Store) {
    let ada = user(store, "ada@example.com").await;
    let bob = user(store, "bob@example.com").await;

    // Sessions: one live (with a retired token), one ended (with one), one
    // expired.
    let (live, live_first) = session(store, &ada.id, HOUR_MS).await;
    let live_second = hash();
    store
        .rotate_refresh_token(&live, &live_first, &live_second, b"x", HOUR_MS)
        .await
        .unwrap()
        .unwrap();
    let (ended, ended_first) = session(store, &ada.id, HOUR_MS).await;
    let ended_second = hash();
    store
        .rotate_refresh_token(&ended, &ended_first, &ended_second, b"x", HOUR_MS)
        .await
        .unwrap()
        .unwrap();
    assert!(store.end_session(&ended).await.unwrap());
    let (expired, expired_token) = session(store, &bob.id, -1_000).await;

    // Reset tokens: one live, one expired.
    let live_reset = hash();
    let expired_reset = hash();
    store
        .put_reset_token(&ada.id, &live_reset, HOUR_MS)
        .await
        .unwrap();
    store
        .put_reset_token(&bob.id, &expired_reset, -1_000)
        .await
        .unwrap();

    // Throttles: a recent bucket, an idle one, and an idle one still locked.
    store.throttle_hit("recent", 60_000).await.unwrap();
    store.throttle_hit("idle", 60_000).await.unwrap();
    age(
        store,
        "UPDATE throttles SET window_start = window_start - 7200000 WHERE bucket = $1",
        "idle",
    )
    .await;
    let locking = LockoutRule {
        max: 0,
        ..LOGIN_RULE
    };
    assert!(matches!(
        store
            .throttle_attempt(Attempt {
                buckets: vec![("locked".to_owned(), locking)],
            })
            .await
            .unwrap(),
        Verdict::Refused { .. }
    ));
    age(
        store,
        "UPDATE throttles SET window_start = window_start - 7200000 WHERE bucket = $1",
        "locked",
    )
    .await;

    // Audit: one past the retention, one within.
    let now = now_ms();
    for (at, event) in [(now - 2 * HOUR_MS, "old"), (now, "new")] {
        store
            .insert_audit_event(AuditRow {
                at,
                event,
                user_id: None,
                session_id: None,
                ip: None,
                user_agent: None,
                operator: None,
            })
            .await;
    }
    store.flush_audit().await;

    let pruned = store.prune(HOUR_MS, HOUR_MS).await.unwrap();
    assert_eq!(
        pruned,
        Pruned {
            sessions: 2,
            resets: 1,
            throttles: 1,
            audit_events: 1,
        }
    );

    // What lives is untouched.
    assert!(store
        .live_session_user(&live, &ada.id)
        .await
        .unwrap()
        .is_some());
    assert!(store
        .find_refresh_token(&live, &live_first)
        .await
        .unwrap()
        .unwrap()
        .retired_at
        .is_some());
    assert_eq!(
        store
            .reset_token_user(&live_reset)
            .await
            .unwrap()
            .unwrap()
            .id,
        ada.id
    );
    assert_eq!(
        store.throttle_hit("recent", 60_000).await.unwrap().hits,
        2,
        "the recent bucket kept its count"
    );
    assert!(store.throttle_locked_until(&["locked"]).await.unwrap() > now);
    let audit: Vec<String> = on_conn!(store.backend().reader(), |pool| sqlx::query_scalar(
        "SELECT event FROM audit_events ORDER BY id"
    )
    .fetch_all(pool)
    .await)
    .unwrap();
    assert_eq!(audit, ["new"]);

    // What was over is gone, with the tokens its sessions retired.
    for (sid, token) in [
        (&ended, &ended_first),
        (&ended, &ended_second),
        (&expired, &expired_token),
    ] {
        assert!(store
            .find_refresh_token(sid, token)
            .await
            .unwrap()
            .is_none());
    }
    assert_eq!(
        look(
            store,
            "SELECT COUNT(*) FROM retired_refresh_tokens WHERE session_id = $1",
            &ended
        )
        .await,
        0
    );
    assert_eq!(
        look(
            store,
            "SELECT COUNT(*) FROM password_resets WHERE user_id = $1",
            &bob.id
        )
        .await,
        0
    );
    assert_eq!(
        look(
            store,
            "SELECT COUNT(*) FROM throttles WHERE bucket = $1",
            "idle"
        )
        .await,
        0
    );

    // And a second pass finds nothing more.
    assert_eq!(
        store.prune(HOUR_MS, HOUR_MS).await.unwrap(),
        Pruned::default()
    );
}

// --- signing keys ----------------------------------------------------------

fn signing_key(state: KeyState) -> NewSigningKey {
    NewSigningKey {
        kid: new_id(),
        algorithm: "EdDSA".into(),
        public_key: hash(),
        sealed_private_key: hash(),
        state,
    }
}

/// Several servers starting on an empty table each try to store their first
/// key: one wins, and all of them read the same current key back.
async fn of_simultaneous_first_signing_keys_exactly_one_is_stored(store: &Store) {
    const AT_ONCE: usize = 8;
    let keys: Vec<NewSigningKey> = (0..AT_ONCE)
        .map(|_| signing_key(KeyState::Current))
        .collect();
    let stored = at_once(store, AT_ONCE, |store, i| {
        let key = keys[i].clone();
        async move { store.insert_signing_key_if_none(&key).await.unwrap() }
    })
    .await;
    let winners: Vec<usize> = (0..AT_ONCE).filter(|&i| stored[i]).collect();
    assert_eq!(winners.len(), 1, "exactly one first key is stored");
    let listed = store.signing_keys(now_ms()).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let winner = &keys[winners[0]];
    assert_eq!(listed[0].kid, winner.kid);
    assert_eq!(listed[0].algorithm, "EdDSA");
    assert_eq!(listed[0].public_key, winner.public_key);
    assert_eq!(listed[0].sealed_private_key, winner.sealed_private_key);
    assert_eq!(listed[0].key_state(), Some(KeyState::Current));
    assert!(listed[0].activated_at.is_some());
    assert_eq!(listed[0].verify_until, None);

    // A next key has a place of its own, also at most one.
    assert!(store
        .insert_signing_key_if_none(&signing_key(KeyState::Next))
        .await
        .unwrap());
    assert!(!store
        .insert_signing_key_if_none(&signing_key(KeyState::Next))
        .await
        .unwrap());
    assert!(!store
        .insert_signing_key_if_none(&signing_key(KeyState::Current))
        .await
        .unwrap());
    let states: Vec<_> = store
        .signing_keys(now_ms())
        .await
        .unwrap()
        .iter()
        .map(|k| k.key_state())
        .collect();
    assert_eq!(states.len(), 2);
    assert!(states.contains(&Some(KeyState::Current)));
    assert!(states.contains(&Some(KeyState::Next)));
}

/// A retired key stops holding the current place at once, and is listed
/// (it still verifies) only until its `verify_until`.
async fn a_retired_signing_key_is_listed_until_its_verify_until(store: &Store) {
    let first = signing_key(KeyState::Current);
    assert!(store.insert_signing_key_if_none(&first).await.unwrap());
    let until = now_ms() + HOUR_MS;
    assert!(store.retire_signing_key(&first.kid, until).await.unwrap());
    assert!(
        !store.retire_signing_key(&first.kid, until).await.unwrap(),
        "a key is retired once"
    );

    // The current place is free again.
    let second = signing_key(KeyState::Current);
    assert!(store.insert_signing_key_if_none(&second).await.unwrap());

    let listed = store.signing_keys(now_ms()).await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let retired = listed.iter().find(|k| k.kid == first.kid).unwrap();
    assert_eq!(retired.key_state(), Some(KeyState::Retired));
    assert_eq!(retired.verify_until, Some(until));
    assert!(retired.retired_at.is_some());

    // After its verify_until, only the current key is listed.
    let later = store.signing_keys(until + 1).await.unwrap();
    assert_eq!(
        later.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
        [second.kid.as_str()]
    );

    // Retired at once (a leaked key): not listed even now.
    assert!(store
        .retire_signing_key(&second.kid, now_ms())
        .await
        .unwrap());
    assert!(store
        .signing_keys(now_ms() + 1)
        .await
        .unwrap()
        .iter()
        .all(|k| k.kid == first.kid));
}

/// Servers that find the rotation due at the same moment each try it: the
/// compare-and-swap on the current and next kids lets exactly one through,
/// and the table ends with one current, one next and the old key retired.
async fn of_simultaneous_rotations_of_the_signing_keys_exactly_one_happens(store: &Store) {
    const AT_ONCE: usize = 8;
    let current = signing_key(KeyState::Current);
    let next = signing_key(KeyState::Next);
    assert!(store.insert_signing_key_if_none(&current).await.unwrap());
    assert!(store.insert_signing_key_if_none(&next).await.unwrap());
    let new_nexts: Vec<NewSigningKey> = (0..AT_ONCE).map(|_| signing_key(KeyState::Next)).collect();
    let until = now_ms() + HOUR_MS;
    let rotated = at_once(store, AT_ONCE, |store, i| {
        let (current, next, new_next) =
            (current.kid.clone(), next.kid.clone(), new_nexts[i].clone());
        async move {
            store
                .rotate_signing_keys(&current, &next, &new_next, until)
                .await
                .unwrap()
        }
    })
    .await;
    let winners: Vec<usize> = (0..AT_ONCE).filter(|&i| rotated[i]).collect();
    assert_eq!(winners.len(), 1, "exactly one rotation: {rotated:?}");
    let listed = store.signing_keys(now_ms()).await.unwrap();
    assert_eq!(listed.len(), 3, "{listed:?}");
    let key = |kid: &str| listed.iter().find(|k| k.kid == kid).unwrap();
    assert_eq!(key(&current.kid).key_state(), Some(KeyState::Retired));
    assert_eq!(key(&current.kid).verify_until, Some(until));
    assert_eq!(key(&next.kid).key_state(), Some(KeyState::Current));
    assert!(key(&next.kid).activated_at.is_some());
    assert_eq!(
        key(&new_nexts[winners[0]].kid).key_state(),
        Some(KeyState::Next)
    );

    // A rotation from a state that has moved on changes nothing.
    assert!(!store
        .rotate_signing_keys(&current.kid, &next.kid, &signing_key(KeyState::Next), until)
        .await
        .unwrap());
    assert_eq!(store.signing_keys(now_ms()).await.unwrap().len(), 3);
}

/// A key retired by a rotation verifies until its tokens expire; retiring it
/// again at once (a leak) ends that now, and nothing pushes the end back.
async fn retiring_a_retired_signing_key_only_brings_its_end_forward(store: &Store) {
    let key = signing_key(KeyState::Current);
    assert!(store.insert_signing_key_if_none(&key).await.unwrap());
    let later = now_ms() + HOUR_MS;
    assert!(store.retire_signing_key(&key.kid, later).await.unwrap());
    assert!(
        !store
            .retire_signing_key(&key.kid, later + HOUR_MS)
            .await
            .unwrap(),
        "not pushed back"
    );
    let listed = store.signing_keys(now_ms()).await.unwrap();
    assert_eq!(listed[0].verify_until, Some(later));
    let now = now_ms();
    assert!(store.retire_signing_key(&key.kid, now).await.unwrap());
    assert!(
        store.signing_keys(now).await.unwrap().is_empty(),
        "no longer verifying"
    );
    assert!(!store.retire_signing_key("no-such-kid", now).await.unwrap());
}

// --- second factor ---------------------------------------------------------

/// One TOTP step, one recovery code and one challenge, each presented by 8
/// requests at once: exactly one of each is accepted, an older step never
/// after a newer one, and an expired challenge never.
async fn of_simultaneous_uses_of_one_second_factor_exactly_one_is_accepted(store: &Store) {
    const AT_ONCE: usize = 8;
    let user = user(store, "totp@example.com").await;
    assert!(store
        .put_unconfirmed_totp(&user.id, b"sealed")
        .await
        .unwrap());
    let mut tx = store.transaction().await.unwrap();
    assert!(store.confirm_totp(&mut tx, &user.id).await.unwrap());
    store
        .replace_recovery_codes(&mut tx, &user.id, &[b"code-1".to_vec(), b"code-2".to_vec()])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(
        !store
            .put_unconfirmed_totp(&user.id, b"other")
            .await
            .unwrap(),
        "no new setup over a confirmed one"
    );

    let id = user.id.clone();
    let steps = at_once(store, AT_ONCE, |store, _| {
        let id = id.clone();
        async move { store.use_totp_step(&id, 100).await.unwrap() }
    })
    .await;
    assert_eq!(steps.iter().filter(|&&used| used).count(), 1, "{steps:?}");
    assert!(
        !store.use_totp_step(&user.id, 99).await.unwrap(),
        "no older step"
    );
    assert!(store.use_totp_step(&user.id, 101).await.unwrap());

    let codes = at_once(store, AT_ONCE, |store, _| {
        let id = id.clone();
        async move { store.use_recovery_code(&id, b"code-1").await.unwrap() }
    })
    .await;
    assert_eq!(codes.iter().filter(|&&used| used).count(), 1, "{codes:?}");
    assert_eq!(store.recovery_codes_left(&user.id).await.unwrap(), 1);

    store
        .insert_mfa_challenge(b"challenge", &user.id, HOUR_MS)
        .await
        .unwrap();
    assert_eq!(
        store.mfa_challenge_user(b"challenge").await.unwrap(),
        Some(user.id.clone())
    );
    let closed = at_once(store, AT_ONCE, |store, _| async move {
        store.consume_mfa_challenge(b"challenge").await.unwrap()
    })
    .await;
    assert_eq!(closed.iter().filter(|&&c| c).count(), 1, "{closed:?}");
    assert_eq!(store.mfa_challenge_user(b"challenge").await.unwrap(), None);
    store
        .insert_mfa_challenge(b"expired", &user.id, -1)
        .await
        .unwrap();
    assert_eq!(store.mfa_challenge_user(b"expired").await.unwrap(), None);
    assert!(!store.consume_mfa_challenge(b"expired").await.unwrap());

    let mut tx = store.transaction().await.unwrap();
    store.delete_second_factor(&mut tx, &user.id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.totp_factor(&user.id).await.unwrap(), None);
    assert_eq!(store.recovery_codes_left(&user.id).await.unwrap(), 0);
}
