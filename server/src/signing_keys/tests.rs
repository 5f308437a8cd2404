use super::*;
use crate::store::testing;

fn record(
    kid: &str,
    state: KeyState,
    created_at: i64,
    activated_at: Option<i64>,
) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.into(),
        algorithm: EDDSA.into(),
        public_key: vec![0; 32],
        sealed_private_key: Vec::new(),
        state: state.as_str().into(),
        created_at,
        activated_at,
        retired_at: None,
        verify_until: None,
    }
}

#[test]
fn a_rotation_is_due_after_the_period_once_the_next_key_was_published_long_enough() {
    let day = Duration::from_secs(86_400);
    let ahead = Duration::from_secs(300);
    let ms = |d: Duration| d.as_millis() as i64;
    let current = record("c", KeyState::Current, 0, Some(1_000));
    let next = record("n", KeyState::Next, 1_000, None);
    assert!(!due(&current, &next, 1_000 + ms(day) - 1, day, ahead));
    assert!(due(&current, &next, 1_000 + ms(day), day, ahead));
    // A next key published just now waits its cache lifetime, however late.
    let young = record("n", KeyState::Next, 10 * ms(day), None);
    assert!(!due(
        &current,
        &young,
        10 * ms(day) + ms(ahead) - 1,
        day,
        ahead
    ));
    assert!(due(&current, &young, 10 * ms(day) + ms(ahead), day, ahead));
    // A current key that never recorded its activation counts from its creation.
    let old = record("c", KeyState::Current, 0, None);
    assert!(due(&old, &next, ms(day), day, ahead));
}

fn keys(secret: &str, rotation: KeyRotation, publish_ahead: Duration) -> SigningKeys {
    SigningKeys {
        seal: KeySeal::new(&crate::config::Secret::new(secret.as_bytes().to_vec())),
        access_ttl: Duration::from_secs(120),
        rotation,
        publish_ahead,
    }
}

const SECRET: &str = "refresh-secret-refresh-secret-refresh";

fn tokens() -> AccessTokens {
    AccessTokens::ed25519(Duration::from_secs(120), "http://localhost:8000")
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

fn published(tokens: &AccessTokens) -> Vec<String> {
    let mut kids: Vec<String> = tokens.published().into_iter().map(|k| k.kid).collect();
    kids.sort();
    kids
}

#[rocket::async_test]
async fn a_first_sync_makes_a_current_and_a_published_next_key() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = testing::store(dir.path()).await;
    let keys = keys(SECRET, KeyRotation::Off, Duration::from_secs(300));
    let tokens = tokens();
    assert!(keys.sync(&store, &tokens).await.unwrap());
    let listed = keys.list(&store).await.unwrap();
    let current = find(&listed, KeyState::Current).unwrap();
    let next = find(&listed, KeyState::Next).unwrap();
    assert_eq!(tokens.current_kid().as_deref(), Some(current.kid.as_str()));
    let mut both = vec![current.kid.clone(), next.kid.clone()];
    both.sort();
    assert_eq!(
        published(&tokens),
        both,
        "the next key is published before it signs"
    );
    assert_eq!(kid_of(&tokens.issue("u", "s").unwrap()), current.kid);
    // Nothing changed: nothing to install, nothing stored.
    assert!(!keys.sync(&store, &tokens).await.unwrap());
    assert_eq!(keys.list(&store).await.unwrap().len(), 2);
}

#[rocket::async_test]
async fn a_rotation_signs_with_the_next_key_and_keeps_the_old_tokens_valid() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = testing::store(dir.path()).await;
    let keys = keys(SECRET, KeyRotation::Off, Duration::from_secs(300));
    let tokens = tokens();
    keys.sync(&store, &tokens).await.unwrap();
    let before = tokens.issue("u", "s").unwrap();
    let listed = keys.list(&store).await.unwrap();
    let next = find(&listed, KeyState::Next).unwrap().kid.clone();

    let rotation = keys.rotate(&store).await.unwrap().expect("rotated");
    assert_eq!(rotation.current, next);
    assert_eq!(
        Some(rotation.retired.clone()),
        listed
            .iter()
            .find(|k| k.key_state() == Some(KeyState::Current))
            .map(|k| k.kid.clone())
    );
    let ttl_and_grace = (Duration::from_secs(120) + RETIRED_GRACE).as_millis() as i64;
    assert!(rotation.verifies_until >= now_ms() + ttl_and_grace - 5_000);

    assert!(keys.sync(&store, &tokens).await.unwrap());
    let after = tokens.issue("u", "s").unwrap();
    assert_eq!(kid_of(&after), next);
    assert!(tokens.verify(&before).is_ok(), "the old key still verifies");
    assert!(tokens.verify(&after).is_ok());
    assert_eq!(
        published(&tokens).len(),
        3,
        "retired, current and the new next"
    );
}

#[rocket::async_test]
async fn retiring_the_current_key_rotates_and_refuses_its_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = testing::store(dir.path()).await;
    let keys = keys(SECRET, KeyRotation::Off, Duration::from_secs(300));
    let tokens = tokens();
    keys.sync(&store, &tokens).await.unwrap();
    let leaked_kid = tokens.current_kid().unwrap();
    let leaked = tokens.issue("u", "s").unwrap();
    assert!(tokens.verify(&leaked).is_ok());

    let retirement = keys.retire_now(&store, &leaked_kid).await.unwrap();
    assert_eq!(retirement.was, KeyState::Current);
    let rotation = retirement
        .rotation
        .expect("the current key is rotated away first");
    keys.sync(&store, &tokens).await.unwrap();
    assert!(
        tokens.verify(&leaked).is_err(),
        "refused at once, remembered or not"
    );
    assert_eq!(tokens.current_kid().unwrap(), rotation.current);
    assert!(!published(&tokens).contains(&leaked_kid));

    // The next key: replaced by a new one.
    let next = rotation.next;
    let retirement = keys.retire_now(&store, &next).await.unwrap();
    assert_eq!(
        (retirement.was, retirement.rotation),
        (KeyState::Next, None)
    );
    let listed = keys.list(&store).await.unwrap();
    let new_next = find(&listed, KeyState::Next).unwrap();
    assert_ne!(new_next.kid, next);

    assert!(matches!(
        keys.retire_now(&store, "no-such-kid").await,
        Err(KeyError::UnknownKid(_))
    ));
}

#[rocket::async_test]
async fn the_schedule_rotates_only_once_the_next_key_was_published_long_enough() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = testing::store(dir.path()).await;
    let tokens = tokens();
    let patient = keys(
        SECRET,
        KeyRotation::Every(Duration::from_millis(1)),
        Duration::from_secs(3600),
    );
    patient.sync(&store, &tokens).await.unwrap();
    assert_eq!(
        patient.rotate_if_due(&store).await.unwrap(),
        None,
        "next key too young"
    );
    let off = keys(SECRET, KeyRotation::Off, Duration::ZERO);
    assert_eq!(
        off.rotate_if_due(&store).await.unwrap(),
        None,
        "schedule off"
    );
    let eager = keys(
        SECRET,
        KeyRotation::Every(Duration::from_millis(1)),
        Duration::ZERO,
    );
    let before = tokens.current_kid().unwrap();
    let rotation = eager.rotate_if_due(&store).await.unwrap().expect("due");
    assert_eq!(rotation.retired, before);
}

#[rocket::async_test]
async fn a_command_under_another_secret_refuses_instead_of_replacing_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = testing::store(dir.path()).await;
    let tokens = tokens();
    keys(SECRET, KeyRotation::Off, Duration::ZERO)
        .sync(&store, &tokens)
        .await
        .unwrap();
    let stored = keys(SECRET, KeyRotation::Off, Duration::ZERO)
        .list(&store)
        .await
        .unwrap();
    let wrong = keys(
        "another-secret-another-secret-another",
        KeyRotation::Off,
        Duration::ZERO,
    );
    let refused = wrong.rotate(&store).await.unwrap_err().to_string();
    assert!(refused.contains("AUTH_REFRESH_TOKEN_SECRET"), "{refused}");
    assert_eq!(wrong.list(&store).await.unwrap(), stored, "nothing changed");
}

#[rocket::async_test]
async fn an_operators_key_becomes_the_next_key_and_signs_after_a_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = testing::store(dir.path()).await;
    let keys = keys(SECRET, KeyRotation::Off, Duration::from_secs(300));
    let tokens = tokens();
    keys.sync(&store, &tokens).await.unwrap();
    let generated_next = find(&keys.list(&store).await.unwrap(), KeyState::Next)
        .unwrap()
        .kid
        .clone();

    let own = Ed25519Pair::generate();
    assert_eq!(keys.import_next(&store, &own).await.unwrap(), own.kid());
    let listed = keys.list(&store).await.unwrap();
    assert_eq!(find(&listed, KeyState::Next).unwrap().kid, own.kid());
    assert!(
        listed.iter().all(|k| k.kid != generated_next),
        "the generated next key, which signed nothing, is gone"
    );
    assert!(
        keys.import_next(&store, &own).await.is_err(),
        "a key is stored once"
    );

    keys.sync(&store, &tokens).await.unwrap();
    assert!(published(&tokens).contains(&own.kid()));
    keys.rotate(&store).await.unwrap().expect("rotated");
    keys.sync(&store, &tokens).await.unwrap();
    assert_eq!(kid_of(&tokens.issue("u", "s").unwrap()), own.kid());
}
