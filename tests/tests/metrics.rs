//! Prometheus metrics on their own listener (`GATEPASS_METRICS_ADDRESS`):
//! the counters move after logins and a refresh, requests are labelled by
//! route template, no label names an email, a token or an id, `/metrics` is
//! not served on the API's port, and the API's own address is refused.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use gatepass_common::paths;
use gatepass_tests::{binary, unique_email, wait_for, Server, PASSWORD};

/// A port that was free a moment ago (bound, read, released).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

/// `GET url`, its status and body; `None` while nothing listens there.
async fn fetch(url: &str) -> Option<(u16, String)> {
    gatepass_tests::http::install_crypto();
    let client = reqwest::Client::builder().no_proxy().build().ok()?;
    let response = client.get(url).send().await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}

/// The value of the sample `name{labels}` in a scrape (0 when absent: a
/// counter not yet incremented has no sample).
fn sample(text: &str, name: &str, labels: &str) -> f64 {
    let prefix = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map_or(0.0, |value| value.trim().parse().expect("a number"))
}

/// Every label value of every sample in a scrape.
fn label_values(text: &str) -> BTreeSet<String> {
    let mut values = BTreeSet::new();
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let Some(labels) = line
            .split_once('{')
            .and_then(|(_, rest)| rest.rsplit_once('}'))
            .map(|(labels, _)| labels)
        else {
            continue;
        };
        for pair in labels.split("\",") {
            if let Some((_, value)) = pair.split_once("=\"") {
                values.insert(value.trim_end_matches('"').to_owned());
            }
        }
    }
    values
}

#[tokio::test]
async fn metrics_count_logins_refreshes_and_routes_on_their_own_address_only() {
    let metrics_address = format!("127.0.0.1:{}", free_port());
    let server = Server::builder()
        .env("GATEPASS_METRICS_ADDRESS", &metrics_address)
        .env("AUTH_SIGNUP_ADDRESS_LIMIT", "1/15m")
        .start();
    let scrape_url = format!("http://{metrics_address}/metrics");
    let scrape = || async {
        match fetch(&scrape_url).await {
            Some((200, text)) => Some(text),
            _ => None,
        }
    };
    // The listener starts once the API is up.
    let before = wait_for("the metrics listener", Duration::from_secs(30), scrape).await;

    let api = server.api();
    let email = unique_email("metrics");
    let user = api.signup(&email).await;
    let ok = api.login(&email, PASSWORD).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let refresh_token = ok.refresh_token().expect("a refresh cookie");
    let access_token = ok.access_token().expect("an access token");
    api.login(&email, "not-the-password-1")
        .await
        .assert_error(400, "invalid_credentials");
    let refreshed = api.reauth(&refresh_token).await;
    assert_eq!(refreshed.status, 201, "{}", refreshed.text);
    let new_refresh_token = refreshed.refresh_token().expect("a new refresh cookie");
    assert_eq!(
        api.get(&paths::user(user.id()), Some(&access_token))
            .await
            .status,
        200
    );

    // A second signup from this address is past its limit (1 here).
    api.signup_as("Ada", "Lovelace", &unique_email("metrics-2"), PASSWORD)
        .await
        .assert_error(429, "too_many_attempts");

    let after = scrape().await.expect("a scrape");
    let moved =
        |name: &str, labels: &str| sample(&after, name, labels) - sample(&before, name, labels);
    let event = |name: &str| format!("event=\"{name}\"");
    assert_eq!(
        moved("gatepass_throttle_refusals_total", "limit=\"signup\""),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved("gatepass_auth_events_total", &event("login_succeeded")),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved("gatepass_auth_events_total", &event("login_failed")),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved("gatepass_auth_events_total", &event("refreshed")),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved("gatepass_auth_events_total", &event("signup")),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved("gatepass_refreshes_total", "outcome=\"rotated\""),
        1.0,
        "{after}"
    );
    let requests = |route: &str, status: u16| {
        moved(
            "gatepass_http_requests_total",
            &format!("method=\"POST\",route=\"{route}\",status=\"{status}\""),
        )
    };
    assert_eq!(requests(paths::LOGIN, 200), 1.0, "{after}");
    assert_eq!(requests(paths::LOGIN, 400), 1.0, "{after}");
    assert_eq!(requests(paths::REAUTH, 201), 1.0, "{after}");
    assert_eq!(
        moved(
            "gatepass_http_request_duration_seconds_count",
            "method=\"POST\",route=\"/api/users/login\""
        ),
        2.0,
        "{after}"
    );
    assert!(
        after.contains("gatepass_http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/users/login\",le=\"0.5\"}"),
        "a latency histogram by route: {after}"
    );
    // A path with an id is counted by its template.
    assert_eq!(
        moved(
            "gatepass_http_requests_total",
            "method=\"GET\",route=\"/api/users/<id>\",status=\"200\""
        ),
        1.0,
        "{after}"
    );
    assert!(after.contains("# TYPE gatepass_password_hash_queue_depth gauge"));
    assert!(after.contains("gatepass_db_pool_connections{state=\"in_use\"}"));

    let secrets = [
        email.as_str(),
        user.id(),
        refresh_token.as_str(),
        new_refresh_token.as_str(),
        access_token.as_str(),
    ];
    for value in label_values(&after) {
        assert!(!value.contains('@'), "an email in a label: {value}");
        for secret in secrets {
            assert!(!value.contains(secret), "{secret} in a label: {value}");
        }
    }
    for secret in secrets {
        assert!(!after.contains(secret), "{secret} in the scrape");
    }

    // Not on the API's port.
    assert_eq!(api.get("/metrics", None).await.status, 404);
}

#[test]
fn the_apis_own_address_is_refused_as_the_metrics_address() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(binary("gatepass-server"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(dir.path())
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_PORT", "8123")
        .env("GATEPASS_METRICS_ADDRESS", "127.0.0.1:8123")
        .arg("check-config")
        .output()
        .expect("run gatepass-server");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("GATEPASS_METRICS_ADDRESS is invalid: must not be the API's own address"),
        "{stderr}"
    );
}
