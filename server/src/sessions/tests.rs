//! The session lifecycle on a temporary SQLite database: no HTTP, no
//! server process. The refresh state machine above all.

use std::time::Duration;

use super::*;
use crate::config::Config;
use crate::store::testing;

/// A store, and the state of a server on it (bcrypt at its cheapest).
pub(crate) struct World {
    _dir: tempfile::TempDir,
    pub store: Store,
    pub pool: sqlx::SqlitePool,
    pub state: AppState,
}

impl World {
    pub async fn new(settings: &[(&str, &str)]) -> World {
        let dir = tempfile::tempdir().unwrap();
        let (store, pool) = testing::store(dir.path()).await;
        let mut all = vec![("AUTH_BCRYPT_COST", "10")];
        all.extend_from_slice(settings);
        let config = Config::with_settings(dir.path(), &all).unwrap();
        let state = AppState::new(config).unwrap();
        // As the server does before it serves (signing_keys::stage).
        if state.config.tokens.access_token_alg == crate::config::AccessTokenAlg::EdDSA {
            crate::signing_keys::SigningKeys::new(&state.config)
                .sync(&store, &state.access_tokens)
                .await
                .unwrap();
        }
        World {
            _dir: dir,
            store,
            pool,
            state,
        }
    }

    pub fn sessions(&self) -> Sessions<'_> {
        Sessions::new(&self.store, &self.state)
    }

    /// A user row (the account flows are tested in `accounts/`).
    pub async fn user(&self, id: &str) {
        sqlx::query(
            "INSERT INTO users (id, first_name, last_name, email, password_hash, created_at)
             VALUES ($1, 'Ada', 'Lovelace', $1 || '@example.com', 'x', 0)",
        )
        .bind(id)
        .execute(&self.pool)
        .await
        .unwrap();
    }

    /// A new session of `user_id`.
    pub async fn start(&self, user_id: &str) -> Grant {
        let mut tx = self.store.transaction().await.unwrap();
        let grant = self
            .sessions()
            .start(&mut tx, user_id, &client())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        grant
    }

    /// Moves every retirement of `session_id` back by `by`, as if its
    /// rotations had happened that long ago.
    async fn age_retirements(&self, session_id: &str, by: Duration) {
        sqlx::query(
            "UPDATE retired_refresh_tokens SET retired_at = retired_at - $1 WHERE session_id = $2",
        )
        .bind(by.as_millis() as i64)
        .bind(session_id)
        .execute(&self.pool)
        .await
        .unwrap();
    }

    async fn audit_events(&self) -> Vec<String> {
        self.store.flush_audit().await;
        sqlx::query_scalar("SELECT event FROM audit_events ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }
}

pub(crate) fn client() -> ClientInfo {
    ClientInfo {
        ip: Some("192.0.2.7".parse().unwrap()),
        user_agent: Some("unit test".into()),
        request_id: None,
    }
}

fn token(grant: &Grant) -> String {
    grant.refresh_token.clone().expect("a refresh token")
}

fn rotated(refresh: Refresh) -> Grant {
    match refresh {
        Refresh::Rotated(grant) => grant,
        other => panic!("expected a rotation, got {other:?}"),
    }
}

// --- classify: the decision for a token that did not rotate --------------

fn lookup(retired_at: Option<i64>, ended_at: Option<i64>, expires_at: i64) -> RefreshLookup {
    RefreshLookup {
        session: SessionRecord {
            id: "s".into(),
            user_id: "u".into(),
            created_at: 0,
            last_used_at: 0,
            expires_at,
            ended_at,
            user_agent: None,
        },
        retired_at,
    }
}

const GRACE: Duration = Duration::from_secs(10);

#[test]
fn nothing_found_is_invalid() {
    assert_eq!(classify(None, 1_000, GRACE), Miss::Invalid);
}

#[test]
fn a_token_of_an_ended_or_expired_session_is_invalid_never_reused() {
    let ended = lookup(Some(0), Some(500), 100_000);
    assert_eq!(classify(Some(&ended), 60_000, GRACE), Miss::Invalid);
    let expired = lookup(Some(0), None, 50_000);
    assert_eq!(classify(Some(&expired), 60_000, GRACE), Miss::Invalid);
}

#[test]
fn a_token_retired_within_the_grace_window_raced_and_after_it_is_reused() {
    let now = 100_000;
    let just_retired = lookup(Some(now - 9_999), None, 200_000);
    assert_eq!(classify(Some(&just_retired), now, GRACE), Miss::Raced);
    let at_the_edge = lookup(Some(now - 10_000), None, 200_000);
    assert_eq!(classify(Some(&at_the_edge), now, GRACE), Miss::Reused);
    let long_ago = lookup(Some(0), None, 200_000);
    assert_eq!(classify(Some(&long_ago), now, GRACE), Miss::Reused);
    let current = lookup(None, None, 200_000);
    assert_eq!(classify(Some(&current), now, GRACE), Miss::Raced);
}

// --- the lifecycle on a database -----------------------------------------

#[rocket::async_test]
async fn a_refresh_rotates_and_the_old_token_within_the_grace_gets_the_current_one() {
    let world = World::new(&[]).await;
    world.user("u1").await;
    let first = world.start("u1").await;
    let sessions = world.sessions();

    let second = rotated(sessions.refresh(&token(&first), &client()).await.unwrap());
    assert_eq!(second.session_id, first.session_id);
    assert_ne!(token(&second), token(&first));
    assert_eq!(
        OpaqueTokens::refresh_session_id(&token(&second)),
        Some(first.session_id.as_str()),
        "a refresh token names its session"
    );

    // Another tab presents the token just rotated: it gets the current one,
    // unrotated.
    match sessions.refresh(&token(&first), &client()).await.unwrap() {
        Refresh::Raced(raced) => assert_eq!(raced.refresh_token, second.refresh_token),
        other => panic!("expected a race, got {other:?}"),
    }
    // And the current token still rotates.
    rotated(sessions.refresh(&token(&second), &client()).await.unwrap());
}

#[rocket::async_test]
async fn a_replay_after_the_grace_ends_the_session_and_is_audited() {
    let world = World::new(&[]).await;
    world.user("u1").await;
    let first = world.start("u1").await;
    let sessions = world.sessions();
    let second = rotated(sessions.refresh(&token(&first), &client()).await.unwrap());
    world
        .age_retirements(&first.session_id, Duration::from_secs(11))
        .await;

    assert!(matches!(
        sessions.refresh(&token(&first), &client()).await.unwrap(),
        Refresh::Reused
    ));
    // The session is over: its current token and its access tokens too.
    assert!(matches!(
        sessions.refresh(&token(&second), &client()).await.unwrap(),
        Refresh::Invalid
    ));
    assert!(matches!(
        sessions.live_user(&first.session_id, "u1").await,
        Err(ApiError::SessionRevoked)
    ));
    assert_eq!(world.audit_events().await, ["refreshed", "refresh_reused"]);
}

#[rocket::async_test]
async fn a_guessed_secret_for_a_known_session_is_invalid_and_ends_nothing() {
    let world = World::new(&[]).await;
    world.user("u1").await;
    let grant = world.start("u1").await;
    let sessions = world.sessions();
    // The session id is no secret (the access token's `sid` carries it).
    let guess = OpaqueTokens::generate_refresh(&grant.session_id);
    for presented in [guess.as_str(), "garbage", "", "no-session.abc"] {
        assert!(
            matches!(
                sessions.refresh(presented, &client()).await.unwrap(),
                Refresh::Invalid
            ),
            "{presented:?}"
        );
    }
    let user = sessions.live_user(&grant.session_id, "u1").await.unwrap();
    assert_eq!(user.id, "u1");
    rotated(sessions.refresh(&token(&grant), &client()).await.unwrap());
}

#[rocket::async_test]
async fn simultaneous_refreshes_of_one_token_rotate_it_once() {
    let world = World::new(&[]).await;
    world.user("u1").await;
    let grant = world.start("u1").await;
    let sessions = world.sessions();
    let presented = token(&grant);
    let client = client();
    let refreshes = (0..16).map(|_| sessions.refresh(&presented, &client));
    let outcomes = rocket::futures::future::join_all(refreshes).await;
    let mut winners = Vec::new();
    let mut raced = Vec::new();
    for outcome in outcomes {
        match outcome.unwrap() {
            Refresh::Rotated(grant) => winners.push(token(&grant)),
            Refresh::Raced(grant) => raced.push(grant.refresh_token),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "one rotation");
    assert!(
        raced
            .iter()
            .all(|t| t.as_deref() == Some(winners[0].as_str())),
        "every loser gets the winner's token"
    );
}

#[rocket::async_test]
async fn ending_a_session_takes_effect_at_once_despite_the_cache() {
    let world = World::new(&[("GATEPASS_SESSION_CACHE_TTL", "60s")]).await;
    world.user("u1").await;
    let grant = world.start("u1").await;
    let sessions = world.sessions();
    // Cached now.
    sessions.live_user(&grant.session_id, "u1").await.unwrap();
    sessions.live_user(&grant.session_id, "u1").await.unwrap();
    sessions
        .end("u1", &grant.session_id, &client())
        .await
        .unwrap();
    assert!(matches!(
        sessions.live_user(&grant.session_id, "u1").await,
        Err(ApiError::SessionRevoked)
    ));
    assert!(matches!(
        sessions.refresh(&token(&grant), &client()).await.unwrap(),
        Refresh::Invalid
    ));
}

#[rocket::async_test]
async fn ending_all_sessions_ends_the_users_and_no_one_elses() {
    let world = World::new(&[("GATEPASS_SESSION_CACHE_TTL", "60s")]).await;
    world.user("u1").await;
    world.user("u2").await;
    let a = world.start("u1").await;
    let b = world.start("u1").await;
    let other = world.start("u2").await;
    let sessions = world.sessions();
    sessions.live_user(&b.session_id, "u1").await.unwrap();
    sessions
        .end_all("u1", &a.session_id, &client())
        .await
        .unwrap();
    for grant in [&a, &b] {
        assert!(sessions.live_user(&grant.session_id, "u1").await.is_err());
    }
    sessions.live_user(&other.session_id, "u2").await.unwrap();
    assert_eq!(sessions.live("u1").await.unwrap().len(), 0);
    assert_eq!(sessions.live("u2").await.unwrap().len(), 1);
}

#[rocket::async_test]
async fn revoking_another_users_session_or_a_malformed_id_is_not_found() {
    let world = World::new(&[]).await;
    world.user("u1").await;
    world.user("u2").await;
    let mine = world.start("u1").await;
    let theirs = world.start("u2").await;
    let sessions = world.sessions();
    for id in [theirs.session_id.as_str(), "not-a-uuid", "a\0b"] {
        assert!(
            matches!(
                sessions.revoke("u1", id, &client()).await,
                Err(ApiError::SessionNotFound)
            ),
            "{id:?}"
        );
    }
    sessions.live_user(&theirs.session_id, "u2").await.unwrap();
    let upper = mine.session_id.to_uppercase();
    assert_eq!(
        sessions.revoke("u1", &upper, &client()).await.unwrap(),
        mine.session_id,
        "the id in its canonical form"
    );
    assert!(sessions.live_user(&mine.session_id, "u1").await.is_err());
}
