//! Brute-force and abuse limits, counted in the database so every server
//! process on it shares them (OWASP ASVS V2.2.1).
//!
//! Logins: every attempt is counted per account (by the normalised email,
//! whether or not it exists, so a 429 tells nothing about existence) and per
//! client address *before* its password is checked, atomically (see
//! `store::count_attempts`), and refused with 429 past either limit: however
//! many arrive at once, at most a limit's worth of passwords are checked. The
//! attempt past a limit locks its bucket for `lockout_base`, doubling with
//! each further lockout (never with each request). A success forgives the
//! account's count and gives the address back its own attempt, so the
//! address limit counts failures. Wrong current passwords on
//! `/change-password` count against the account's login limit too.
//!
//! Signup, forgot-password and reauth: plain per-address rate limits
//! ([`count_per_address`], run by the `PerAddress` request guard).

use std::time::Duration;

use crate::auth::ClientInfo;
use crate::config::{Limit, Limits};
use crate::error::{ApiError, ApiResult};
use crate::metrics;
use crate::store::{now_ms, Attempt, LockoutRule, Store, Verdict};

/// The longest lockout, however many lockouts came before.
const MAX_LOCKOUT: Duration = Duration::from_secs(24 * 3600);

fn retry_after_secs(until_ms: i64, now_ms: i64) -> u64 {
    (((until_ms - now_ms).max(0) + 999) / 1000).max(1) as u64
}

fn too_many(until_ms: i64) -> ApiError {
    ApiError::TooManyAttempts {
        retry_after_secs: retry_after_secs(until_ms, now_ms()),
    }
}

fn lockout_rule(limit: Limit, base: Duration) -> LockoutRule {
    LockoutRule {
        max: limit.max as i64,
        window_ms: limit.window_ms(),
        base_ms: base.as_millis() as i64,
        cap_ms: MAX_LOCKOUT.as_millis() as i64,
    }
}

/// The login throttle for one attempt: its account's bucket and, for a
/// login, its address's.
pub struct LoginThrottle<'a> {
    store: &'a Store,
    account: String,
    /// `None` for a re-check of a signed-in user's password.
    address: Option<String>,
    buckets: Vec<(String, LockoutRule)>,
}

impl<'a> LoginThrottle<'a> {
    /// A login attempt for `email` from `client`.
    pub fn login(store: &'a Store, limits: &Limits, email: &str, client: &ClientInfo) -> Self {
        let account = account_bucket(email);
        let address = format!("login:address:{}", client.address());
        LoginThrottle {
            store,
            buckets: vec![
                (
                    account.clone(),
                    lockout_rule(limits.login_account, limits.lockout_base),
                ),
                (
                    address.clone(),
                    lockout_rule(limits.login_address, limits.lockout_base),
                ),
            ],
            account,
            address: Some(address),
        }
    }

    /// A check of a signed-in user's current password (`/change-password`):
    /// the account's login limit, so a stolen access token is no password
    /// oracle.
    pub fn password_check(store: &'a Store, limits: &Limits, email: &str) -> Self {
        let account = account_bucket(email);
        LoginThrottle {
            store,
            buckets: vec![(
                account.clone(),
                lockout_rule(limits.login_account, limits.lockout_base),
            )],
            account,
            address: None,
        }
    }

    /// Counts this attempt before its password is checked: 429 when a bucket
    /// is past its limit or locked.
    pub async fn attempt(&self) -> ApiResult<()> {
        // A locked bucket refuses without a write: a flood against a lockout
        // costs reads only.
        let names: Vec<&str> = self.buckets.iter().map(|(n, _)| n.as_str()).collect();
        let until = self.store.throttle_locked_until(&names).await?;
        if until > now_ms() {
            metrics::throttle_refusal("login");
            return Err(too_many(until));
        }
        let attempt = Attempt {
            buckets: self.buckets.clone(),
        };
        match self.store.throttle_attempt(attempt).await? {
            Verdict::Allowed => Ok(()),
            Verdict::Refused { until } => {
                metrics::throttle_refusal("login");
                Err(too_many(until))
            }
        }
    }

    /// The password was right: the account's count is forgiven, and the
    /// address gets this attempt back (it counts failures).
    pub async fn succeeded(&self) -> ApiResult<()> {
        self.store.throttle_clear(&self.account).await?;
        if let Some(address) = &self.address {
            self.store.throttle_refund(address).await?;
        }
        Ok(())
    }
}

/// The account's bucket: one per normalised email, known or not.
fn account_bucket(email: &str) -> String {
    format!("login:account:{email}")
}

/// A kind of request limited per client address.
pub trait Limited: Send + Sync + 'static {
    const NAME: &'static str;
    fn limit(limits: &Limits) -> Limit;
}

pub struct Signup;
pub struct Forgot;
pub struct Reauth;
/// Personal-access-token exchanges, per address (and per token: see
/// [`count_per_token`]).
pub struct TokenExchange;

impl Limited for TokenExchange {
    const NAME: &'static str = "token";
    fn limit(limits: &Limits) -> Limit {
        limits.token_exchange
    }
}

impl Limited for Signup {
    const NAME: &'static str = "signup";
    fn limit(limits: &Limits) -> Limit {
        limits.signup_address
    }
}

impl Limited for Forgot {
    const NAME: &'static str = "forgot";
    fn limit(limits: &Limits) -> Limit {
        limits.forgot_address
    }
}

impl Limited for Reauth {
    const NAME: &'static str = "reauth";
    fn limit(limits: &Limits) -> Limit {
        limits.reauth_address
    }
}

/// Counts one request of kind `L` from `address` against its limit: 429
/// (with `Retry-After`) past it.
pub async fn count_per_address<L: Limited>(
    store: &Store,
    limits: &Limits,
    address: &str,
) -> ApiResult<()> {
    count(
        store,
        L::NAME,
        L::limit(limits),
        &format!("{}:address:{address}", L::NAME),
    )
    .await
}

/// Counts one exchange of the personal token whose hash begins with
/// `token_id` (a hex prefix: the bucket names no secret) against the
/// exchange limit, known token or not.
pub async fn count_per_token(store: &Store, limits: &Limits, token_id: &str) -> ApiResult<()> {
    count(
        store,
        "token_exchange",
        limits.token_exchange,
        &format!("token:{token_id}"),
    )
    .await
}

/// `name` labels a refusal in the metrics (never the bucket: it may hold an
/// address).
async fn count(store: &Store, name: &'static str, limit: Limit, bucket: &str) -> ApiResult<()> {
    let hit = store.throttle_hit(bucket, limit.window_ms()).await?;
    if hit.hits > limit.max as i64 {
        metrics::throttle_refusal(name);
        let until = hit.window_start + limit.window_ms();
        return Err(ApiError::TooManyAttempts {
            retry_after_secs: retry_after_secs(until, now_ms()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_and_is_at_least_one() {
        assert_eq!(retry_after_secs(10_001, 0), 11);
        assert_eq!(retry_after_secs(10_000, 0), 10);
        assert_eq!(retry_after_secs(5, 10), 1);
    }
}
