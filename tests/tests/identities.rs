//! Identities: an account is one email however it is spelled (case,
//! fullwidth and other compatibility forms, an IDN domain in Unicode or in
//! ASCII), invisible, control and bidi characters are refused in emails and
//! names, and another user's profile shows public data only.

use std::collections::BTreeSet;

use gatepass_common::paths;
use gatepass_tests::cli::Home;
use gatepass_tests::database::on_postgres;
use gatepass_tests::{unique_email, Api, Reply, Server, PASSWORD};
use serde_json::json;

/// The fullwidth twin of every printable ASCII character (`a` is `ａ`, `@`
/// is `＠`, `.` is `．`): looks the same, is a different string.
fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            other => other,
        })
        .collect()
}

#[track_caller]
fn assert_refused(reply: &Reply, param: &str, msg: &str) {
    reply.assert_error(422, "validation_failed");
    assert_eq!(reply.body["errors"][0]["param"], param, "{}", reply.text);
    assert_eq!(reply.body["errors"][0]["msg"], msg, "{}", reply.text);
}

async fn signup_named(api: &Api, first: &str, last: &str, email: &str) -> Reply {
    api.signup_as(first, last, email, PASSWORD).await
}

#[tokio::test]
async fn emails_with_invisible_or_bidi_characters_are_refused() {
    let server = Server::start();
    let api = server.api();
    let plain = unique_email("admin");
    for c in [
        '\u{200b}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{202e}', '\u{2066}',
    ] {
        let spoof = format!("ad{c}{}", &plain[2..]);
        let reply = signup_named(&api, "Ada", "Lovelace", &spoof).await;
        assert_refused(
            &reply,
            "email",
            "Email must not contain invisible, control or bidi characters",
        );
        // Login says no more than it does for any malformed address.
        let login = api.login(&spoof, PASSWORD).await;
        assert_refused(
            &login,
            "email",
            "Email must not contain invisible, control or bidi characters",
        );
    }
    // The plain address was never taken by any of them.
    api.signup(&plain).await;
}

#[tokio::test]
async fn names_with_invisible_control_bidi_or_separator_characters_are_refused() {
    let server = Server::start();
    let api = server.api();
    for c in ['\u{202e}', '\u{200b}', '\u{0007}', '\u{2028}'] {
        let reply = signup_named(&api, &format!("Ad{c}a"), "Lovelace", &unique_email("n")).await;
        assert_refused(
            &reply,
            "firstName",
            "First name must not contain invisible, control or bidi characters",
        );
        let reply = signup_named(&api, "Ada", &format!("Love{c}lace"), &unique_email("n")).await;
        assert_refused(
            &reply,
            "lastName",
            "Last name must not contain invisible, control or bidi characters",
        );
    }
    // Letters of any script are welcome.
    let reply = signup_named(&api, "Zoë", "山田", &unique_email("n")).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body["user"]["firstName"], "Zoë");
}

#[tokio::test]
async fn a_look_alike_of_a_taken_email_is_the_same_account() {
    let server = Server::start();
    let api = server.api();
    let email = unique_email("twin");
    let ada = api.signup(&email).await;

    for twin in [fullwidth(&email), email.to_uppercase()] {
        let reply = signup_named(&api, "Eve", "Mallory", &twin).await;
        assert_refused(&reply, "email", "Email is already in use");
        // And the same account signs in by it.
        let login = api.login(&twin, PASSWORD).await;
        assert_eq!(login.status, 200, "{twin}: {}", login.text);
        assert_eq!(login.body["user"]["id"], ada.id());
        assert_eq!(login.body["user"]["email"], email.as_str());
    }
}

#[tokio::test]
async fn an_idn_domain_is_one_account_in_unicode_and_in_ascii() {
    let server = Server::start();
    let api = server.api();
    let local = unique_email("idn").replace("@example.com", "");
    let unicode = format!("{local}@Bücher.example");
    let ascii = format!("{local}@xn--bcher-kva.example");

    let signed_up = signup_named(&api, "Ada", "Lovelace", &unicode).await;
    assert_eq!(signed_up.status, 201, "{}", signed_up.text);
    // Stored, and shown, in the form it is compared in.
    assert_eq!(signed_up.body["user"]["email"], ascii.as_str());
    let id = signed_up.body["user"]["id"].clone();

    for typed in [ascii.to_uppercase(), unicode.to_lowercase()] {
        let login = api.login(&typed, PASSWORD).await;
        assert_eq!(login.status, 200, "{typed}: {}", login.text);
        assert_eq!(login.body["user"]["id"], id);
    }
    let twin = signup_named(&api, "Eve", "Mallory", &ascii).await;
    assert_refused(&twin, "email", "Email is already in use");
}

#[tokio::test]
async fn another_users_profile_is_public_data_only() {
    let server = Server::start();
    let api = server.api();
    let ada = api.signup(&unique_email("ada")).await;
    let bob = signup_named(&api, "Bob", "Byron", &unique_email("bob")).await;
    assert_eq!(bob.status, 201, "{}", bob.text);
    let bob_user = &bob.body["user"];

    let seen = api
        .get(
            &paths::user(bob_user["id"].as_str().unwrap()),
            Some(&ada.access_token),
        )
        .await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert_eq!(seen.body["success"], true);
    let keys: BTreeSet<&str> = seen.body["user"]
        .as_object()
        .expect("a user object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["id", "firstName", "lastName", "createdAt"]),
        "{}",
        seen.text
    );
    assert!(!seen.text.contains('@'), "no email anywhere: {}", seen.text);
    assert_eq!(
        seen.body["user"],
        json!({
            "id": bob_user["id"],
            "firstName": "Bob",
            "lastName": "Byron",
            "createdAt": bob_user["createdAt"],
        })
    );

    // One's own id is the full user, as /me answers it.
    let own = api
        .get(&paths::user(ada.id()), Some(&ada.access_token))
        .await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.body["user"], ada.user);
    assert_eq!(own.body["user"]["email"], ada.email.as_str());
    // The id is compared as a UUID, not as typed.
    let upper = api
        .get(
            &paths::user(&ada.id().to_uppercase()),
            Some(&ada.access_token),
        )
        .await;
    assert_eq!(upper.body["user"], ada.user);
}

/// Emails stored before they were normalised (an IDN domain in Unicode, a
/// fullwidth twin of another account) are rewritten at the next start, and
/// a twin that would collide is left alone and named in the log.
#[tokio::test]
async fn emails_stored_before_normalisation_are_rewritten_at_start() {
    let server = Server::start();
    let api = server.api();
    let legacy = api.signup(&unique_email("legacy")).await;
    let taken = api.signup(&unique_email("taken")).await;
    let twin = api.signup(&unique_email("twin")).await;

    // What the previous release stored: trimmed and lower-cased only.
    let local = unique_email("legacy").replace("@example.com", "");
    let unicode = format!("{local}@bücher.example");
    let quote = |s: &str| s.replace('\'', "''");
    server
        .sql(&format!(
            "UPDATE users SET email = '{}' WHERE id = '{}'",
            quote(&unicode),
            legacy.id()
        ))
        .await;
    let fullwidth_twin = fullwidth(&taken.email);
    server
        .sql(&format!(
            "UPDATE users SET email = '{}' WHERE id = '{}'",
            quote(&fullwidth_twin),
            twin.id()
        ))
        .await;
    // The rows migration 20261129000006 lists, by its own predicate.
    let non_ascii = if on_postgres() {
        "email ~ '[^ -~]'"
    } else {
        "email GLOB '*[^ -~]*'"
    };
    let listed = server
        .sql(&format!(
            "INSERT INTO email_renormalization (user_id) SELECT id FROM users WHERE {non_ascii}"
        ))
        .await;
    assert_eq!(listed, 2, "the Unicode domain and the fullwidth twin");

    let data = server.stop();
    let server = Server::builder().data_dir(data).start();
    let api = server.api();

    let ascii = format!("{local}@xn--bcher-kva.example");
    for typed in [&ascii, &unicode] {
        let login = api.login(typed, PASSWORD).await;
        assert_eq!(login.status, 200, "{typed}: {}", login.text);
        assert_eq!(login.body["user"]["id"], legacy.id());
        assert_eq!(login.body["user"]["email"], ascii.as_str());
    }
    // The twin kept its old email, so the real owner still signs in by
    // theirs, and an operator is told.
    let login = api.login(&fullwidth_twin, PASSWORD).await;
    assert_eq!(login.body["user"]["id"], taken.id(), "{}", login.text);
    let log = server.log();
    assert!(
        log.contains(&format!(
            "user {}: the normalised form of their email belongs to another account",
            twin.id()
        )),
        "{log}"
    );
    assert_eq!(
        server
            .sql_column("SELECT COUNT(*) FROM email_renormalization")
            .await,
        ["0"]
    );
}

/// The terminal client shows another user's profile without an email, in
/// human and JSON output, and one's own with it.
#[tokio::test]
async fn the_client_shows_another_users_profile_without_an_email() {
    let server = Server::start();
    let api = server.api();
    let bob = signup_named(&api, "Bob", "Byron", &unique_email("bob")).await;
    assert_eq!(bob.status, 201, "{}", bob.text);
    let bob_id = bob.body["user"]["id"].as_str().unwrap().to_owned();
    let home = Home::new(&server.base_url);
    let email = unique_email("ada");
    home.signup(&email);
    let ada_id = home.run(&["--json", "me"]).json()["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let shown = home.run(&["user", &bob_id]);
    shown.assert_code(0);
    assert!(shown.stdout.contains("Bob Byron"), "{}", shown.stdout);
    assert!(shown.stdout.contains(&bob_id), "{}", shown.stdout);
    assert!(!shown.stdout.contains('@'), "{}", shown.stdout);
    let json = home.run(&["--json", "user", &bob_id]);
    json.assert_code(0);
    let mut public = bob.body["user"].clone();
    public.as_object_mut().unwrap().remove("email");
    assert_eq!(json.json()["user"], public);

    let own = home.run(&["user", &ada_id]);
    own.assert_code(0);
    assert!(own.stdout.contains(&email), "{}", own.stdout);
}
