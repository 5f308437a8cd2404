//! The served OpenAPI description and Swagger UI, from the outside: a
//! front-end (or its client generator) finds every route of the contract
//! there, and the docs page works without anything fetched from elsewhere.

use gatepass_common::paths;
use gatepass_tests::http::RequestSpec;
use gatepass_tests::Server;
use reqwest::Method;

#[tokio::test]
async fn the_description_is_served_and_names_every_route_of_the_contract() {
    let server = Server::start();
    let api = server.api();
    let reply = api
        .send(RequestSpec {
            method: Method::GET,
            path: "/api/openapi.json",
            body: None,
            bearer: None,
            refresh: None,
            headers: vec![("Origin", "http://localhost:3000".to_owned())],
        })
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json")));
    // A front-end on an allowed origin may fetch it to generate its client.
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    let doc = &reply.body;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));

    let operations = [
        ("post", paths::SIGNUP.to_owned()),
        ("post", paths::LOGIN.to_owned()),
        ("post", paths::LOGOUT.to_owned()),
        ("post", paths::MASTER_LOGOUT.to_owned()),
        ("post", paths::REAUTH.to_owned()),
        ("post", paths::FORGOT_PASSWORD.to_owned()),
        ("patch", paths::reset_password("{token}")),
        ("post", paths::CHANGE_PASSWORD.to_owned()),
        ("get", paths::ME.to_owned()),
        ("get", paths::user("{id}")),
        ("get", paths::SESSIONS.to_owned()),
        ("delete", paths::session("{id}")),
        ("get", paths::HEALTH.to_owned()),
        ("get", "/health/alive".to_owned()),
        ("get", "/health/ready".to_owned()),
        ("get", "/.well-known/jwks.json".to_owned()),
        ("get", "/.well-known/openid-configuration".to_owned()),
        ("post", paths::LOGIN_SECOND_FACTOR.to_owned()),
        ("get", paths::SECOND_FACTOR.to_owned()),
        ("post", paths::TOTP_SETUP.to_owned()),
        ("post", paths::TOTP_CONFIRM.to_owned()),
        ("post", paths::RECOVERY_CODES.to_owned()),
        ("delete", paths::TOTP.to_owned()),
        ("post", paths::TOKENS.to_owned()),
        ("get", paths::TOKENS.to_owned()),
        ("delete", paths::personal_token("{id}")),
        ("post", paths::TOKEN.to_owned()),
    ];
    for (method, path) in &operations {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not described"
        );
    }
    let described: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(described, operations.len());

    // The cookie, the bearer token and the error body are all there.
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["refreshCookie"]["in"], "cookie");
    assert_eq!(schemes["refreshCookie"]["name"], "refreshTkn");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert!(doc["components"]["schemas"]["ErrorBody"]["properties"]["errors"].is_object());
    assert_eq!(
        doc["paths"][paths::SIGNUP]["post"]["responses"]["201"]["$ref"],
        "#/components/responses/SignedIn"
    );
    assert!(doc["components"]["responses"]["SignedIn"]["headers"]["Set-Cookie"].is_object());
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() {
    let server = Server::start();
    let api = server.api();
    // `/api/docs` redirects to `/api/docs/` (reqwest follows it).
    let page = api.get("/api/docs", None).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    let init = api.get("/api/docs/swagger-initializer.js", None).await;
    assert_eq!(init.status, 200);
    assert!(init.text.contains("/api/openapi.json"), "{}", init.text);
    let bundle = api.get("/api/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(bundle.status, 200);
    assert!(bundle.text.len() > 100_000, "the vendored bundle is served");
}
