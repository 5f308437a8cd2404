//! What the server reads from a request before it trusts it: session ids and
//! refresh-token locators are parsed before any query (a NUL byte is the
//! ordinary 4xx, never a 500, on either backend), and per-address limits key
//! on the right address: the trusted proxy's own entry of a forwarded list,
//! and an IPv6 client's /64.

use gatepass_common::{paths, REFRESH_COOKIE};
use gatepass_tests::http::RequestSpec;
use gatepass_tests::{unique_email, Api, Reply, Server};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn nul_bytes_in_a_cookie_or_a_session_id_are_ordinary_client_errors() {
    let server = Server::start();
    let api = server.api();
    let session = api.signup(&unique_email("nul")).await;

    for cookie in ["abc%00def.xyz", "%00.%00", "abc%00def", "%00"] {
        let reply = api
            .send(RequestSpec {
                method: Method::POST,
                path: paths::REAUTH,
                body: None,
                bearer: None,
                refresh: None,
                headers: vec![("Cookie", format!("{REFRESH_COOKIE}={cookie}"))],
            })
            .await;
        reply.assert_error(401, "invalid_refresh_token");
    }
    for id in [
        "%00",
        "abc%00def",
        "%00%00%00%00-0000-4000-8000-000000000000",
    ] {
        api.delete(
            &format!("{}/{id}", paths::SESSIONS),
            Some(&session.access_token),
        )
        .await
        .assert_error(404, "session_not_found");
        api.get(
            &format!("{}/{id}", paths::USERS),
            Some(&session.access_token),
        )
        .await
        .assert_error(404, "user_not_found");
    }
    assert!(
        !server.log().contains("internal_error") && !server.log().contains("ERROR"),
        "{}",
        server.log()
    );
}

#[tokio::test]
async fn nul_bytes_in_json_strings_are_ordinary_client_errors() {
    let server = Server::start();
    let api = server.api();
    let email = "nul\u{0}byte@example.com";
    let reply = api.login(email, "Wrong-horse-battery-1").await;
    assert!(
        [400, 422].contains(&reply.status),
        "login: {} {}",
        reply.status,
        reply.text
    );
    api.signup_as(
        "Nul\u{0}",
        "Byte",
        &unique_email("nul-name"),
        "tY7#mQ2v!pLx-gatepass",
    )
    .await
    .assert_error(422, "validation_failed");
    api.signup_as("Nul", "Byte", email, "tY7#mQ2v!pLx-gatepass")
        .await
        .assert_error(422, "validation_failed");
    let forgot = api.forgot(email).await;
    assert!(
        [200, 422].contains(&forgot.status),
        "forgot: {}",
        forgot.text
    );
    // And the background job of a forgot request did not fail on it either.
    assert!(!server.log().contains("ERROR"), "{}", server.log());
}

async fn fail_login_via(api: &Api, header: &str, values: &[&str]) -> Reply {
    api.send(RequestSpec {
        method: Method::POST,
        path: paths::LOGIN,
        body: Some(json!({"email": unique_email("fwd"), "password": "Wrong-horse-battery-1"})),
        bearer: None,
        refresh: None,
        headers: values
            .iter()
            .map(|v| (leak(header), (*v).to_owned()))
            .collect(),
    })
    .await
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

fn limited(header: &str, hops: &str) -> Server {
    Server::builder()
        .env("GATEPASS_TRUSTED_PROXY_HEADER", header)
        .env("GATEPASS_TRUSTED_PROXY_HOPS", hops)
        .env("AUTH_LOGIN_ADDRESS_LIMIT", "3/15m")
        .start()
}

#[tokio::test]
async fn the_right_most_forwarded_entry_is_the_client() {
    let server = limited("X-Forwarded-For", "1");
    let api = server.api();
    // The client writes whatever it likes on the left; the proxy appended
    // 203.0.113.7, as a list or as a second header line.
    let sent: [&[&str]; 3] = [
        &["10.0.0.1, 203.0.113.7"],
        &["10.0.0.2", "203.0.113.7"],
        &["1.2.3.4, 5.6.7.8, 203.0.113.7"],
    ];
    for values in sent {
        fail_login_via(&api, "X-Forwarded-For", values)
            .await
            .assert_error(400, "invalid_credentials");
    }
    fail_login_via(&api, "X-Forwarded-For", &["9.9.9.9, 203.0.113.7"])
        .await
        .assert_error(429, "too_many_attempts");
    // Another client behind the same proxy is not refused.
    fail_login_via(&api, "X-Forwarded-For", &["203.0.113.7, 198.51.100.1"])
        .await
        .assert_error(400, "invalid_credentials");
    let locked = server
        .sql_column("SELECT bucket FROM throttles WHERE locked_until > 0")
        .await;
    assert_eq!(locked, ["login:address:203.0.113.7"]);
}

#[tokio::test]
async fn hops_name_the_entry_of_the_outermost_trusted_proxy() {
    let server = limited("X-Forwarded-For", "2");
    let api = server.api();
    for left in ["1.1.1.1", "2.2.2.2", "3.3.3.3"] {
        let list = format!("{left}, 203.0.113.7, 10.0.0.9");
        fail_login_via(&api, "X-Forwarded-For", &[&list])
            .await
            .assert_error(400, "invalid_credentials");
    }
    fail_login_via(&api, "X-Forwarded-For", &["4.4.4.4, 203.0.113.7, 10.0.0.9"])
        .await
        .assert_error(429, "too_many_attempts");
}

#[tokio::test]
async fn an_ipv6_client_is_one_bucket_per_64() {
    let server = limited("X-Real-IP", "1");
    let api = server.api();
    for host in ["1", "2", "ffff:ffff:3"] {
        fail_login_via(&api, "X-Real-IP", &[&format!("2001:db8:1:2::{host}")])
            .await
            .assert_error(400, "invalid_credentials");
    }
    fail_login_via(&api, "X-Real-IP", &["2001:db8:1:2:abcd::4"])
        .await
        .assert_error(429, "too_many_attempts");
    // The neighbouring /64 is someone else.
    fail_login_via(&api, "X-Real-IP", &["2001:db8:1:3::1"])
        .await
        .assert_error(400, "invalid_credentials");
}
