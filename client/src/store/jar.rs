//! The persisted cookie jar: the refresh cookie survives between `gatepass`
//! runs as a JSON file (cookie_store's format), mode 0600, written atomically.
//!
//! Why no special handling of `Secure` on plain http: cookie_store 0.22 treats
//! `http://localhost`, `http://127.0.0.0/8` and `http://[::1]` as secure
//! contexts, as browsers do, so the refresh cookie flows to a local server,
//! while a remote plain-http server never gets it back (see the tests below).

use std::io::BufReader;
use std::path::Path;

use cookie_store::{CookieExpiration, CookieStore};
use gatepass_common::REFRESH_COOKIE;
use time::OffsetDateTime;

use super::{read_optional, write_atomic};
use crate::error::{ClientError, Result};

/// Reads the jar; a missing file is an empty jar. Expired cookies are dropped.
pub fn load(path: &Path) -> Result<CookieStore> {
    let Some(bytes) = read_optional(path)? else {
        return Ok(CookieStore::default());
    };
    cookie_store::serde::json::load(BufReader::new(bytes.as_slice())).map_err(|e| {
        ClientError::CorruptStore {
            what: "the cookie jar",
            location: path.display().to_string(),
            // cookie_store's errors name the problem, not the cookie's value.
            detail: e.to_string(),
        }
    })
}

/// Writes the jar atomically. Only persistent, unexpired cookies are kept,
/// which is right for the refresh cookie: it has `Max-Age`, and a cleared one
/// (`Max-Age=0`) disappears.
pub fn save(path: &Path, store: &CookieStore) -> Result<()> {
    let mut json = Vec::new();
    cookie_store::serde::json::save(store, &mut json)
        .map_err(|e| ClientError::Protocol(format!("cannot encode the cookie jar: {e}")))?;
    write_atomic(path, &json)
}

/// The refresh cookie's expiry, if the jar holds a live one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshCookie {
    /// `None` for a session cookie (the server never sends one).
    pub expires_at: Option<OffsetDateTime>,
}

pub fn refresh_cookie(store: &CookieStore) -> Option<RefreshCookie> {
    store
        .iter_unexpired()
        .find(|cookie| cookie.name() == REFRESH_COOKIE)
        .map(|cookie| RefreshCookie {
            expires_at: match cookie.expires {
                CookieExpiration::AtUtc(at) => Some(at),
                CookieExpiration::SessionEnd => None,
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::Url;

    const SET_COOKIE: &str =
        "refreshTkn=opaque-value; HttpOnly; Secure; SameSite=None; Path=/api/users; Max-Age=600";

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn sent(store: &CookieStore, to: &str) -> Vec<String> {
        store
            .get_request_values(&url(to))
            .map(|(name, value)| format!("{name}={value}"))
            .collect()
    }

    #[test]
    fn secure_refresh_cookie_flows_to_loopback_over_http() {
        for base in [
            "http://127.0.0.1:8000",
            "http://localhost:8000",
            "http://[::1]:8000",
        ] {
            let mut store = CookieStore::default();
            store
                .parse(SET_COOKIE, &url(&format!("{base}/api/users/login")))
                .unwrap();
            assert_eq!(
                sent(&store, &format!("{base}/api/users/reauth")),
                vec!["refreshTkn=opaque-value"],
                "{base}"
            );
            // Path=/api/users keeps it away from everything else.
            assert!(sent(&store, &format!("{base}/health")).is_empty());
        }
    }

    #[test]
    fn secure_refresh_cookie_never_goes_to_a_remote_host_over_http() {
        let mut store = CookieStore::default();
        let _ = store.parse(SET_COOKIE, &url("http://auth.example.com/api/users/login"));
        assert!(sent(&store, "http://auth.example.com/api/users/reauth").is_empty());

        let mut store = CookieStore::default();
        store
            .parse(SET_COOKIE, &url("https://auth.example.com/api/users/login"))
            .unwrap();
        assert_eq!(
            sent(&store, "https://auth.example.com/api/users/reauth"),
            vec!["refreshTkn=opaque-value"]
        );
    }

    #[test]
    fn jar_round_trips_through_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cookies.json");
        assert!(refresh_cookie(&load(&path).unwrap()).is_none());

        let mut store = CookieStore::default();
        let login = url("http://127.0.0.1:8000/api/users/login");
        store.parse(SET_COOKIE, &login).unwrap();
        save(&path, &store).unwrap();

        let loaded = load(&path).unwrap();
        let cookie = refresh_cookie(&loaded).expect("refresh cookie kept");
        let expires = cookie.expires_at.expect("Max-Age gives an expiry");
        assert!(expires > OffsetDateTime::now_utc());
        assert_eq!(
            sent(&loaded, "http://127.0.0.1:8000/api/users/reauth"),
            vec!["refreshTkn=opaque-value"]
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        // The server clears the cookie with Max-Age=0: the saved jar drops it.
        let mut store = loaded;
        store
            .parse(
                "refreshTkn=; HttpOnly; Secure; SameSite=None; Path=/api/users; Max-Age=0",
                &login,
            )
            .unwrap();
        save(&path, &store).unwrap();
        assert!(refresh_cookie(&load(&path).unwrap()).is_none());
    }

    #[test]
    fn a_corrupt_jar_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cookies.json");
        std::fs::write(&path, b"\x00 garbage {").unwrap();
        let err = load(&path).unwrap_err();
        assert!(matches!(err, ClientError::CorruptStore { .. }), "{err}");
        assert!(err.to_string().contains("cookies.json"), "{err}");
        assert!(err.to_string().contains("gatepass logout"), "{err}");
    }
}
