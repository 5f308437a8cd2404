//! A thin HTTP helper over reqwest for the API tests. It keeps no cookie jar:
//! tests pass the refresh token explicitly, so they can replay old ones and
//! inspect every `Set-Cookie`.

use gatepass_common::{paths, REFRESH_COOKIE, RESET_BASE_HEADER};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

/// Installs rustls' ring provider once (reqwest is built without a default).
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body's `code` (for errors).
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// The raw `Set-Cookie` for the refresh cookie, if the response set one.
    pub fn refresh_set_cookie(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{REFRESH_COOKIE}=")))
            .map(str::to_owned)
    }

    /// The refresh token the response set (`None` if unset or cleared).
    pub fn refresh_token(&self) -> Option<String> {
        let cookie = self.refresh_set_cookie()?;
        let value = cookie
            .split(';')
            .next()?
            .trim_start_matches(&format!("{REFRESH_COOKIE}="))
            .to_owned();
        (!value.is_empty()).then_some(value)
    }

    pub fn access_token(&self) -> Option<String> {
        self.body["accessToken"].as_str().map(str::to_owned)
    }

    /// Asserts the status and an error `code`, showing the body on failure.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "body: {}",
            self.text
        );
        assert!(
            self.body["error"].is_string(),
            "error title missing: {}",
            self.text
        );
        assert!(
            self.body["feedback"].is_string(),
            "feedback missing: {}",
            self.text
        );
    }
}

/// A signed-in user as a test sees them.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: Value,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

impl SignedIn {
    pub fn id(&self) -> &str {
        self.user["id"].as_str().expect("user id")
    }
}

pub struct RequestSpec<'a> {
    pub method: Method,
    pub path: &'a str,
    pub body: Option<Value>,
    pub bearer: Option<&'a str>,
    pub refresh: Option<&'a str>,
    pub headers: Vec<(&'a str, String)>,
}

impl Api {
    pub fn new(base: &str) -> Api {
        install_crypto();
        Api {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("reqwest client"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(&self, spec: RequestSpec<'_>) -> Reply {
        let mut request = self.http.request(spec.method, self.url(spec.path));
        if let Some(body) = spec.body {
            request = request.json(&body);
        }
        if let Some(token) = spec.bearer {
            request = request.bearer_auth(token);
        }
        if let Some(refresh) = spec.refresh {
            request = request.header("Cookie", format!("{REFRESH_COOKIE}={refresh}"));
        }
        for (name, value) in spec.headers {
            request = request.header(name, value);
        }
        let response = request.send().await.expect("request reaches the server");
        Reply::read(response).await
    }

    /// Sends a raw body (for malformed and oversized requests).
    pub async fn send_raw(&self, method: Method, path: &str, body: Vec<u8>) -> Reply {
        let response = self
            .http
            .request(method, self.url(path))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request reaches the server");
        Reply::read(response).await
    }

    /// A request with the usual parts and no extra headers.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        bearer: Option<&str>,
        refresh: Option<&str>,
    ) -> Reply {
        self.send(RequestSpec {
            method,
            path,
            body,
            bearer,
            refresh,
            headers: vec![],
        })
        .await
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Reply {
        self.call(Method::GET, path, None, bearer, None).await
    }

    pub async fn post(
        &self,
        path: &str,
        body: Option<Value>,
        bearer: Option<&str>,
        refresh: Option<&str>,
    ) -> Reply {
        self.call(Method::POST, path, body, bearer, refresh).await
    }

    pub async fn delete(&self, path: &str, bearer: Option<&str>) -> Reply {
        self.call(Method::DELETE, path, None, bearer, None).await
    }

    pub async fn signup_as(&self, first: &str, last: &str, email: &str, password: &str) -> Reply {
        let body = json!({"firstName": first, "lastName": last, "email": email, "password": password, "passwordConfirm": password});
        self.post(paths::SIGNUP, Some(body), None, None).await
    }

    /// Signs up a new user and returns their tokens; panics unless 201.
    pub async fn signup(&self, email: &str) -> SignedIn {
        let reply = self
            .signup_as("Ada", "Lovelace", email, crate::PASSWORD)
            .await;
        assert_eq!(reply.status, 201, "signup: {}", reply.text);
        SignedIn::from_reply(&reply, email)
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post(
            paths::LOGIN,
            Some(json!({"email": email, "password": password})),
            None,
            None,
        )
        .await
    }

    pub async fn me(&self, access_token: &str) -> Reply {
        self.get(paths::ME, Some(access_token)).await
    }

    pub async fn reauth(&self, refresh_token: &str) -> Reply {
        self.post(paths::REAUTH, None, None, Some(refresh_token))
            .await
    }

    /// `POST /forgotpass` for `email`.
    pub async fn forgot(&self, email: &str) -> Reply {
        self.forgot_with_base(email, None).await
    }

    /// `POST /forgotpass`, asking for reset links under `base` (the
    /// `X-reset-base` header) if given.
    pub async fn forgot_with_base(&self, email: &str, base: Option<&str>) -> Reply {
        self.send(RequestSpec {
            method: Method::POST,
            path: paths::FORGOT_PASSWORD,
            body: Some(json!({ "email": email })),
            bearer: None,
            refresh: None,
            headers: base
                .map(|base| (RESET_BASE_HEADER, base.to_owned()))
                .into_iter()
                .collect(),
        })
        .await
    }

    /// `PATCH /resetpass/<token>` with a new password and its confirmation.
    pub async fn reset(&self, token: &str, password: &str, confirm: &str) -> Reply {
        self.send(RequestSpec {
            method: Method::PATCH,
            path: &paths::reset_password(token),
            body: Some(json!({ "password": password, "passwordConfirm": confirm })),
            bearer: None,
            refresh: None,
            headers: vec![],
        })
        .await
    }
}

impl SignedIn {
    pub fn from_reply(reply: &Reply, email: &str) -> SignedIn {
        SignedIn {
            user: reply.body["user"].clone(),
            email: email.to_owned(),
            access_token: reply.access_token().expect("accessToken in body"),
            refresh_token: reply.refresh_token().expect("refresh cookie set"),
        }
    }
}

impl Reply {
    pub async fn read(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            body,
        }
    }
}
