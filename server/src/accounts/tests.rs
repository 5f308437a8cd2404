//! The account flows on a temporary SQLite database: no HTTP, no server
//! process.

use gatepass_common::{ChangePasswordRequest, ResetPasswordRequest};

use super::*;
use crate::auth::opaque::{OpaqueTokens, Purpose};
use crate::sessions::tests::{client, World};

const PASSWORD: &str = "Correct-horse-battery-9";
const NEW_PASSWORD: &str = "Another-staple-lantern-4";

fn accounts(world: &World) -> Accounts<'_> {
    Accounts::new(&world.store, &world.state)
}

fn signup_request(email: &str) -> SignupRequest {
    SignupRequest {
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        email: email.into(),
        password: PASSWORD.into(),
        password_confirm: Some(PASSWORD.into()),
    }
}

fn login_request(email: &str, password: &str) -> LoginRequest {
    LoginRequest {
        email: email.into(),
        password: password.into(),
    }
}

async fn login(world: &World, email: &str, password: &str) -> ApiResult<SignedIn> {
    accounts(world)
        .login(
            &login_request(email, password),
            &Connection::UNKNOWN,
            &client(),
        )
        .await
}

#[rocket::async_test]
async fn signup_creates_the_account_and_a_session_and_refuses_a_taken_email() {
    let world = World::new(&[]).await;
    let accounts = accounts(&world);
    let signed_in = accounts
        .signup(&signup_request("Ada@Example.com"), &client())
        .await
        .unwrap();
    assert_eq!(signed_in.user.email, "ada@example.com");
    assert!(signed_in.session.refresh_token.is_some());
    Sessions::new(&world.store, &world.state)
        .live_user(&signed_in.session.session_id, &signed_in.user.id)
        .await
        .unwrap();

    let again = accounts
        .signup(&signup_request("ada@example.com"), &client())
        .await;
    match again {
        Err(ApiError::Validation(fields)) => assert_eq!(fields[0].param, "email"),
        other => panic!("expected a 422 on email, got {other:?}"),
    }
}

#[rocket::async_test]
async fn login_answers_the_same_for_a_wrong_password_and_an_unknown_email() {
    let world = World::new(&[]).await;
    accounts(&world)
        .signup(&signup_request("ada@example.com"), &client())
        .await
        .unwrap();
    for (email, password) in [
        ("ada@example.com", "Wrong-horse-battery-9"),
        ("nobody@example.com", PASSWORD),
    ] {
        assert!(matches!(
            login(&world, email, password).await,
            Err(ApiError::InvalidCredentials)
        ));
    }
    let signed_in = login(&world, "ADA@example.com", PASSWORD).await.unwrap();
    assert_eq!(signed_in.user.email, "ada@example.com");
}

#[rocket::async_test]
async fn login_attempts_past_the_account_limit_are_refused_before_checking() {
    let world = World::new(&[("AUTH_LOGIN_ACCOUNT_LIMIT", "3/15m")]).await;
    accounts(&world)
        .signup(&signup_request("ada@example.com"), &client())
        .await
        .unwrap();
    for _ in 0..3 {
        assert!(matches!(
            login(&world, "ada@example.com", "Wrong-horse-battery-9").await,
            Err(ApiError::InvalidCredentials)
        ));
    }
    // Locked: even the right password is not checked.
    assert!(matches!(
        login(&world, "ada@example.com", PASSWORD).await,
        Err(ApiError::TooManyAttempts { .. })
    ));
}

#[rocket::async_test]
async fn a_password_change_ends_the_other_sessions_and_keeps_this_one() {
    let world = World::new(&[]).await;
    let accounts = accounts(&world);
    let first = accounts
        .signup(&signup_request("ada@example.com"), &client())
        .await
        .unwrap();
    let other = login(&world, "ada@example.com", PASSWORD).await.unwrap();
    let change = |current: &str| ChangePasswordRequest {
        current_password: current.into(),
        password: NEW_PASSWORD.into(),
        password_confirm: NEW_PASSWORD.into(),
        code: None,
    };

    let wrong = accounts
        .change_password(
            &first.user,
            &first.session.session_id,
            &change("nope-nope-nope"),
            &client(),
        )
        .await;
    assert!(matches!(wrong, Err(ApiError::WrongPassword)));

    accounts
        .change_password(
            &first.user,
            &first.session.session_id,
            &change(PASSWORD),
            &client(),
        )
        .await
        .unwrap();
    let sessions = Sessions::new(&world.store, &world.state);
    sessions
        .live_user(&first.session.session_id, &first.user.id)
        .await
        .unwrap();
    assert!(sessions
        .live_user(&other.session.session_id, &first.user.id)
        .await
        .is_err());
    assert!(login(&world, "ada@example.com", PASSWORD).await.is_err());
    login(&world, "ada@example.com", NEW_PASSWORD)
        .await
        .unwrap();
}

#[rocket::async_test]
async fn a_reset_token_works_once_and_ends_every_session() {
    let world = World::new(&[]).await;
    let accounts = accounts(&world);
    let signed_in = accounts
        .signup(&signup_request("ada@example.com"), &client())
        .await
        .unwrap();
    let token = OpaqueTokens::generate();
    let hash = world.state.opaque.hash(Purpose::Reset, &token);
    world
        .store
        .put_reset_token(&signed_in.user.id, &hash, 60_000)
        .await
        .unwrap();
    let request = ResetPasswordRequest {
        password: NEW_PASSWORD.into(),
        password_confirm: NEW_PASSWORD.into(),
    };
    accounts.reset(&token, &request, &client()).await.unwrap();
    assert!(matches!(
        accounts.reset(&token, &request, &client()).await,
        Err(ApiError::InvalidResetToken)
    ));
    assert!(Sessions::new(&world.store, &world.state)
        .live_user(&signed_in.session.session_id, &signed_in.user.id)
        .await
        .is_err());
    login(&world, "ada@example.com", NEW_PASSWORD)
        .await
        .unwrap();
}

#[rocket::async_test]
async fn a_user_sees_all_of_themselves_and_only_the_profile_of_others() {
    let world = World::new(&[]).await;
    let accounts = accounts(&world);
    let ada = accounts
        .signup(&signup_request("ada@example.com"), &client())
        .await
        .unwrap();
    let bob = accounts
        .signup(&signup_request("bob@example.com"), &client())
        .await
        .unwrap();
    assert!(matches!(
        accounts.view(&ada.user, &ada.user.id).await.unwrap(),
        UserView::Full(_)
    ));
    assert!(matches!(
        accounts.view(&ada.user, &bob.user.id).await.unwrap(),
        UserView::Public(_)
    ));
    assert!(matches!(
        accounts.view(&ada.user, "not-a-uuid").await,
        Err(ApiError::UserNotFound)
    ));
}

/// The events stored for `user_id`, with their operator, in order.
async fn trail(world: &World, user_id: &str) -> Vec<(String, Option<String>)> {
    world.store.flush_audit().await;
    sqlx::query_as("SELECT event, operator FROM audit_events WHERE user_id = $1 ORDER BY id")
        .bind(user_id)
        .fetch_all(&world.pool)
        .await
        .unwrap()
}

#[rocket::async_test]
async fn a_disabled_account_fails_login_as_a_wrong_password_does_until_enabled() {
    let world = World::new(&[("AUTH_LOGIN_ACCOUNT_LIMIT", "3/15m")]).await;
    let signed_in = accounts(&world)
        .signup(&signup_request("ada@example.com"), &client())
        .await
        .unwrap();
    let user = signed_in.user;
    let operator = Operator::new(&world.store, "ops");

    let disabled = operator.disable(&user).await.unwrap();
    assert_eq!(
        disabled,
        Disabled {
            changed: true,
            sessions_ended: 1
        }
    );
    assert!(matches!(
        world
            .sessions()
            .live_user(&signed_in.session.session_id, &user.id)
            .await,
        Err(ApiError::SessionRevoked)
    ));
    // The right password, refused as a wrong one, and counted as one.
    for _ in 0..3 {
        assert!(matches!(
            login(&world, "ada@example.com", PASSWORD).await,
            Err(ApiError::InvalidCredentials)
        ));
    }
    assert!(matches!(
        login(&world, "ada@example.com", PASSWORD).await,
        Err(ApiError::TooManyAttempts { .. })
    ));
    assert_eq!(
        operator.disable(&user).await.unwrap(),
        Disabled {
            changed: false,
            sessions_ended: 0
        }
    );

    let world_after = World::new(&[]).await;
    let user = accounts(&world_after)
        .signup(&signup_request("ada@example.com"), &client())
        .await
        .unwrap()
        .user;
    let operator = Operator::new(&world_after.store, "ops");
    operator.disable(&user).await.unwrap();
    assert!(operator.enable(&user).await.unwrap());
    assert!(!operator.enable(&user).await.unwrap(), "enabled once");
    login(&world_after, "ada@example.com", PASSWORD)
        .await
        .unwrap();
    assert_eq!(
        trail(&world_after, &user.id).await,
        [
            ("signup".into(), None),
            ("user_disabled".into(), Some("ops".into())),
            ("user_enabled".into(), Some("ops".into())),
            ("login_succeeded".into(), None),
        ]
    );
}

#[rocket::async_test]
async fn an_operator_creates_an_account_as_signup_would_and_deletes_it() {
    let world = World::new(&[]).await;
    let operator = Operator::new(&world.store, "ops");
    let passwords = &world.state.passwords;

    let weak = SignupRequest {
        password: "password".into(),
        password_confirm: Some("password".into()),
        ..signup_request("ada@example.com")
    };
    let Err(ApiError::Validation(errors)) = operator.create(passwords, &weak).await else {
        panic!("a common password is refused");
    };
    assert_eq!(errors[0].param, "password");

    let user = operator
        .create(passwords, &signup_request("Ada@Example.com"))
        .await
        .unwrap();
    assert_eq!(user.email, "ada@example.com");
    assert!(
        world
            .store
            .live_sessions(&user.id)
            .await
            .unwrap()
            .is_empty(),
        "no session"
    );
    let Err(ApiError::Validation(errors)) = operator
        .create(passwords, &signup_request("ada@example.com"))
        .await
    else {
        panic!("a taken email is refused");
    };
    assert_eq!(errors[0].param, "email");
    let signed_in = login(&world, "ada@example.com", PASSWORD).await.unwrap();

    assert!(operator.delete(&user).await.unwrap());
    assert!(!operator.delete(&user).await.unwrap(), "deleted once");
    assert!(world.store.user_by_id(&user.id).await.unwrap().is_none());
    assert!(matches!(
        world
            .sessions()
            .live_user(&signed_in.session.session_id, &user.id)
            .await,
        Err(ApiError::SessionRevoked)
    ));
    assert!(matches!(
        login(&world, "ada@example.com", PASSWORD).await,
        Err(ApiError::InvalidCredentials)
    ));
    assert_eq!(
        trail(&world, &user.id).await,
        [
            ("user_created".into(), Some("ops".into())),
            ("login_succeeded".into(), None),
            ("user_deleted".into(), Some("ops".into())),
        ],
        "the trail outlives the user"
    );
}
