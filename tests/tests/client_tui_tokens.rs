//! The terminal app's personal tokens panel (issue 18), for real: the
//! `gatepass` binary in a tmux pane against a real server. A token revoked
//! from Account → t stops working at once while the other goes on, and a
//! token made there is read off the screen and works. Every wait polls the
//! screen; none is a fixed sleep.
//!
//! Needs tmux (Debian package `tmux`): fails under CI without it, and is
//! skipped, loudly, elsewhere.

use gatepass_common::paths;
use gatepass_tests::cli::Home;
use gatepass_tests::{unique_email, Api, Reply, Server};
use serde_json::json;

/// `gp_pat_` and 256 random bits in base64url (43 characters).
const TOKEN_LEN: usize = 7 + 43;

/// Makes a token through the API; returns it.
async fn create(api: &Api, access_token: &str, name: &str) -> String {
    let made = api
        .post(
            paths::TOKENS,
            Some(json!({"name": name})),
            Some(access_token),
            None,
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    made.body["token"].as_str().expect("the token").to_owned()
}

/// `POST /token` with `Authorization: Bearer <personal token>`, no body.
async fn exchange(api: &Api, token: &str) -> Reply {
    api.post(paths::TOKEN, None, Some(token), None).await
}

#[tokio::test]
async fn tokens_are_revoked_and_made_from_the_account_screen() {
    let server = Server::start();
    let api = server.api();
    let email = unique_email("tui-tokens");
    let user = api.signup(&email).await;
    let names = ["deploy pipeline", "nightly backup"];
    let mut made = Vec::new();
    for name in names {
        made.push((name, create(&api, &user.access_token, name).await));
    }
    let home = Home::new(&server.base_url);
    home.login(&email);
    let Some(app) = home.in_terminal("tui-tokens", &["tui"]) else {
        return;
    };
    app.wait_for_screen("Sessions (").await;
    app.press(&["t"]);
    // The second row: which token it is depends on the list's order.
    let second_row = app
        .wait_for_screen_where("the two tokens' rows", |screen| {
            let mut rows = screen
                .lines()
                .filter(|line| names.iter().any(|name| line.contains(name)));
            let (_, second) = (rows.next()?, rows.next()?);
            let listed = screen.contains("Personal access tokens (2)");
            listed.then(|| second.to_owned())
        })
        .await;
    let (revoked, revoked_token) = made
        .iter()
        .find(|(name, _)| second_row.contains(name))
        .expect("a token on the second row");
    app.press(&["Down"]);
    app.wait_for_screen(&format!("› {revoked}")).await;
    let (_, kept_token) = made
        .iter()
        .find(|(name, _)| name != revoked)
        .expect("the other token");
    app.press(&["d"]);
    app.wait_for_screen(&format!("Revoke the token \"{revoked}\"?"))
        .await;
    app.wait_for_screen("stop working at once").await;
    app.press(&["y"]);
    app.wait_for_screen("Token revoked").await;
    app.wait_for_screen_where("the list without the revoked token", |screen| {
        (screen.contains("Personal access tokens (1)") && !screen.contains(revoked)).then_some(())
    })
    .await;

    exchange(&api, revoked_token)
        .await
        .assert_error(401, "invalid_api_token");
    let kept = exchange(&api, kept_token).await;
    assert_eq!(kept.status, 200, "{}", kept.text);

    // A new one: the name, Enter (the server's default lifetime).
    app.press(&["n"]);
    app.wait_for_screen("Expires in").await;
    app.type_line("ci from the app");
    // On a row of its own, whole, so a selection copies only the token.
    let token = app
        .wait_for_screen_where("the new token on a row of its own", |screen| {
            let row = screen
                .lines()
                .map(str::trim_end)
                .find(|line| line.starts_with("gp_pat_") && line.len() == TOKEN_LEN)?;
            screen
                .contains("Copy it now: it is not shown again.")
                .then(|| row.to_owned())
        })
        .await;
    let exchanged = exchange(&api, &token).await;
    assert_eq!(exchanged.status, 200, "{}", exchanged.text);
    assert!(exchanged.access_token().is_some(), "{}", exchanged.text);

    // Any key: the token goes, the list has the new one.
    app.press(&["Enter"]);
    app.wait_for_screen_where("the list with the new token, and no secret", |screen| {
        let listed =
            screen.contains("Personal access tokens (2)") && screen.contains("ci from the app");
        (listed && !screen.contains(&token)).then_some(())
    })
    .await;

    app.press(&["Escape"]);
    app.wait_for_screen("Sessions (").await;
    app.press(&["q"]);
    let (code, _) = app.wait_for_exit().await;
    assert_eq!(code, 0);
}
