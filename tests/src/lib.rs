//! The black-box test harness: a real `gatepass-server` process on an
//! ephemeral port with a temporary data folder, a real SMTP sink on
//! 127.0.0.1, and a small HTTP helper that handles the refresh cookie by hand
//! so tests can replay old tokens.

pub mod cli;
pub mod database;
pub mod http;
pub mod server;
pub mod smtp;
pub mod totp;

pub use http::{Api, Reply, SignedIn};
pub use server::{binary, Server, ServerBuilder};
pub use smtp::{Mail, SmtpSink};

use std::time::{Duration, Instant};

/// A password that passes the server's policy.
pub const PASSWORD: &str = "tY7#mQ2v!pLx-gatepass";

/// A fresh, unique email address.
pub fn unique_email(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{tag}.{}.{n}@example.com", std::process::id())
}

/// Polls `check` until it yields a value or `timeout` passes: tests wait on
/// conditions, never on fixed sleeps.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
