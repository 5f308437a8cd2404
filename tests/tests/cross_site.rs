//! Cross-site requests: a hostile page can send a form post or a no-cors
//! `fetch` that needs no preflight. JSON routes refuse bodies that are not
//! `application/json` (415), and every route that sets or clears the refresh
//! cookie or changes an account refuses a request whose `Origin` is not
//! allowed (403) before it acts. Requests without `Origin` (the terminal
//! client, curl) and the tutorial's front-end requests keep working.

use gatepass_common::{paths, REFRESH_COOKIE};
use gatepass_tests::http::RequestSpec;
use gatepass_tests::{unique_email, Api, Reply, Server, SmtpSink, PASSWORD};
use reqwest::Method;
use serde_json::json;

const EVIL: &str = "https://evil.example";
const FRONT_END: &str = "http://localhost:3000";

/// A request with a raw body and a chosen `Content-Type` (none for `None`).
async fn raw(
    api: &Api,
    path: &str,
    content_type: Option<&str>,
    body: &str,
    origin: Option<&str>,
) -> Reply {
    let mut request = reqwest::Client::new()
        .post(api.url(path))
        .body(body.to_owned());
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    Reply::read(request.send().await.expect("request reaches the server")).await
}

#[tokio::test]
async fn login_and_signup_need_a_json_content_type() {
    gatepass_tests::http::install_crypto();
    let server = Server::start();
    let api = server.api();
    let email = unique_email("csrf");
    api.signup(&email).await;
    let login = json!({"email": email, "password": PASSWORD}).to_string();
    let signup =
        json!({"firstName": "Mallory", "lastName": "Page", "email": unique_email("csrf-new"),
        "password": PASSWORD, "passwordConfirm": PASSWORD})
        .to_string();
    // The second step of a sign-in sets the cookie too.
    let second_step = json!({"mfaToken": "a-challenge", "code": "123456"}).to_string();

    // What an HTML form or a no-cors fetch can send: refused, no cookie.
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        for (path, body) in [
            (paths::LOGIN, &login),
            (paths::SIGNUP, &signup),
            (paths::LOGIN_SECOND_FACTOR, &second_step),
        ] {
            // From a hostile page the origin rule answers first.
            let reply = raw(&api, path, content_type, body, Some(EVIL)).await;
            reply.assert_error(403, "origin_not_allowed");
            assert!(
                reply.refresh_set_cookie().is_none(),
                "{path} {content_type:?} set a cookie"
            );
            // From an allowed page, or with no Origin, the media type alone
            // decides.
            for origin in [Some(FRONT_END), None] {
                let reply = raw(&api, path, content_type, body, origin).await;
                reply.assert_error(415, "unsupported_media_type");
                assert!(reply.refresh_set_cookie().is_none());
            }
        }
    }
    let created = server
        .sql_column("SELECT email FROM users WHERE first_name = 'Mallory'")
        .await;
    assert!(created.is_empty(), "a refused signup created {created:?}");

    // JSON with parameters, in any case, is JSON.
    for content_type in ["application/json; charset=utf-8", "Application/JSON"] {
        let reply = raw(&api, paths::LOGIN, Some(content_type), &login, None).await;
        assert_eq!(reply.status, 200, "{content_type}: {}", reply.text);
        assert!(reply.refresh_token().is_some());
    }
}

/// Sends `method path` as a page on `origin` would, with the session's
/// access token and refresh cookie.
async fn from_origin(
    api: &Api,
    origin: &str,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
    bearer: Option<&str>,
    refresh: Option<&str>,
) -> Reply {
    api.send(RequestSpec {
        method,
        path,
        body,
        bearer,
        refresh,
        headers: vec![("Origin", origin.to_owned())],
    })
    .await
}

#[tokio::test]
async fn a_page_on_another_origin_can_neither_set_nor_clear_the_cookie_nor_change_the_account() {
    let sink = SmtpSink::start();
    let server = Server::builder().smtp(&sink).start();
    let api = server.api();
    let email = unique_email("victim");
    let session = api.signup(&email).await;
    let other = api.login(&email, PASSWORD).await;
    let other_sid = {
        let list = api.get(paths::SESSIONS, Some(&session.access_token)).await;
        list.body["sessions"]
            .as_array()
            .expect("sessions")
            .iter()
            .find(|s| s["current"] == false)
            .expect("the second session")["id"]
            .as_str()
            .expect("id")
            .to_owned()
    };
    assert!(other.access_token().is_some());
    let new_password = "Another-horse-battery-7";
    let change = json!({"currentPassword": PASSWORD, "password": new_password, "passwordConfirm": new_password});

    let refused = [
        (
            Method::POST,
            paths::LOGIN.to_owned(),
            Some(json!({"email": email, "password": PASSWORD})),
        ),
        (
            Method::POST,
            paths::SIGNUP.to_owned(),
            Some(json!({"firstName": "M", "lastName": "P",
            "email": unique_email("evil"), "password": PASSWORD, "passwordConfirm": PASSWORD})),
        ),
        (Method::POST, paths::REAUTH.to_owned(), None),
        (Method::POST, paths::LOGOUT.to_owned(), None),
        (Method::POST, paths::MASTER_LOGOUT.to_owned(), None),
        (
            Method::POST,
            paths::CHANGE_PASSWORD.to_owned(),
            Some(change.clone()),
        ),
        (
            Method::DELETE,
            format!("{}/{other_sid}", paths::SESSIONS),
            None,
        ),
        (
            Method::PATCH,
            format!("{}/some-reset-token", paths::RESET_PASSWORD),
            Some(json!({"password": new_password, "passwordConfirm": new_password})),
        ),
        // The second factor and personal access tokens.
        (
            Method::POST,
            paths::LOGIN_SECOND_FACTOR.to_owned(),
            Some(json!({"mfaToken": "a-challenge", "code": "123456"})),
        ),
        (
            Method::POST,
            paths::TOTP_SETUP.to_owned(),
            Some(json!({"currentPassword": PASSWORD})),
        ),
        (
            Method::POST,
            paths::TOTP_CONFIRM.to_owned(),
            Some(json!({"code": "123456"})),
        ),
        (
            Method::POST,
            paths::RECOVERY_CODES.to_owned(),
            Some(json!({"code": "123456"})),
        ),
        (
            Method::DELETE,
            paths::TOTP.to_owned(),
            Some(json!({"currentPassword": PASSWORD, "code": "123456"})),
        ),
        (
            Method::POST,
            paths::TOKENS.to_owned(),
            Some(json!({"name": "evil"})),
        ),
        (
            Method::DELETE,
            paths::personal_token("00000000-0000-4000-8000-000000000000"),
            None,
        ),
    ];
    for (method, path, body) in refused {
        let reply = from_origin(
            &api,
            EVIL,
            method.clone(),
            &path,
            body,
            Some(&session.access_token),
            Some(&session.refresh_token),
        )
        .await;
        reply.assert_error(403, "origin_not_allowed");
        assert!(
            reply.refresh_set_cookie().is_none(),
            "{method} {path} touched the cookie"
        );
        assert_eq!(reply.header("access-control-allow-origin"), None);
    }
    // Nothing happened: both sessions live, the password unchanged, no new user.
    assert_eq!(api.me(&session.access_token).await.status, 200);
    assert_eq!(api.me(&other.access_token().unwrap()).await.status, 200);
    assert_eq!(api.login(&email, PASSWORD).await.status, 200);
    assert!(server
        .sql_column("SELECT id FROM users WHERE first_name = 'M'")
        .await
        .is_empty());
    for table in ["totp_factors", "personal_tokens"] {
        assert_eq!(
            server
                .sql_column(&format!("SELECT COUNT(*) FROM {table}"))
                .await,
            ["0"],
            "{table}"
        );
    }

    // The same requests from the allowed front-end work.
    let ok = from_origin(
        &api,
        FRONT_END,
        Method::POST,
        paths::CHANGE_PASSWORD,
        Some(change),
        Some(&session.access_token),
        None,
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let ok = from_origin(
        &api,
        FRONT_END,
        Method::POST,
        paths::LOGIN,
        Some(json!({"email": email, "password": new_password})),
        None,
        None,
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(ok.refresh_token().is_some());
}

/// The tutorial's front-end sends no body and no `Content-Type` on `/reauth`
/// and `/logout`, with its allowed `Origin` and the cookie.
#[tokio::test]
async fn the_tutorial_front_end_refreshes_and_signs_out_with_bare_requests() {
    gatepass_tests::http::install_crypto();
    let server = Server::start();
    let api = server.api();
    let session = api.signup(&unique_email("tutorial")).await;
    let http = reqwest::Client::new();
    let bare = |path: &str, bearer: Option<String>, refresh: &str| {
        let mut request = http
            .post(api.url(path))
            .header("Origin", FRONT_END)
            .header("Cookie", format!("{REFRESH_COOKIE}={refresh}"));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let refreshed = Reply::read(
        bare(paths::REAUTH, None, &session.refresh_token)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(refreshed.status, 201, "{}", refreshed.text);
    let access = refreshed.access_token().expect("access token");
    let cookie = refreshed.refresh_token().expect("rotated cookie");
    let out = Reply::read(
        bare(paths::LOGOUT, Some(access.clone()), &cookie)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(out.status, 205, "{}", out.text);
    assert_eq!(api.me(&access).await.status, 401);
}
