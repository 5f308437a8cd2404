//! Brute-force and abuse limits, counted in the database so every server
//! process on it shares them (OWASP ASVS V2.2.1).
//!
//! Logins: failures are counted per account (by the normalised email, whether
//! or not it exists, so a 429 tells nothing about existence) and per client
//! address. A bucket that reaches its limit is locked for `lockout_base`,
//! doubling with each further failure. A locked login is refused *before* the
//! password is checked, so the right password during a lockout is a 429 too.
//!
//! Signup, forgot-password and reauth: plain per-address rate limits, as
//! request guards ([`PerAddress`]).

use std::marker::PhantomData;
use std::time::Duration;

use rocket::request::{FromRequest, Outcome, Request};

use crate::auth::ClientInfo;
use crate::config::{Limit, Limits};
use crate::db::Db;
use crate::error::{remember, ApiError, ApiResult};
use crate::state::AppState;
use crate::store::now_ms;

/// The longest lockout, however many failures.
const MAX_LOCKOUT: Duration = Duration::from_secs(24 * 3600);

fn retry_after_secs(until_ms: i64, now_ms: i64) -> u64 {
    (((until_ms - now_ms).max(0) + 999) / 1000).max(1) as u64
}

/// The lockout after the `hits`-th failure of a bucket whose limit is `max`.
pub fn lockout(base: Duration, hits: i64, max: u32) -> Duration {
    let doublings = (hits - max as i64).clamp(0, 20) as u32;
    base.saturating_mul(1 << doublings).min(MAX_LOCKOUT)
}

/// The login throttle for one attempt.
pub struct LoginThrottle<'a> {
    db: &'a Db,
    limits: &'a Limits,
    account: String,
    address: String,
}

impl<'a> LoginThrottle<'a> {
    pub fn new(db: &'a Db, limits: &'a Limits, email: &str, client: &ClientInfo) -> Self {
        LoginThrottle {
            db,
            limits,
            account: format!("login:account:{email}"),
            address: format!("login:address:{}", client.address()),
        }
    }

    /// 429 while the account or the address is locked.
    pub async fn check(&self) -> ApiResult<()> {
        let until = self
            .db
            .throttle_locked_until(&[&self.account, &self.address])
            .await?;
        let now = now_ms();
        if until > now {
            return Err(ApiError::TooManyAttempts {
                retry_after_secs: retry_after_secs(until, now),
            });
        }
        Ok(())
    }

    /// Counts a failure; locks what reached its limit.
    pub async fn failed(&self) -> ApiResult<()> {
        for (bucket, limit) in [
            (&self.account, self.limits.login_account),
            (&self.address, self.limits.login_address),
        ] {
            let state = self.db.throttle_hit(bucket, limit.window_ms()).await?;
            if state.hits >= limit.max as i64 {
                let lock = lockout(self.limits.lockout_base, state.hits, limit.max);
                self.db
                    .throttle_lock(bucket, now_ms() + lock.as_millis() as i64)
                    .await?;
            }
        }
        Ok(())
    }

    /// A success forgives the account's failures (not the address's).
    pub async fn succeeded(&self) -> ApiResult<()> {
        self.db.throttle_clear(&self.account).await?;
        Ok(())
    }
}

/// A kind of request limited per client address.
pub trait Limited: Send + Sync + 'static {
    const NAME: &'static str;
    fn limit(limits: &Limits) -> Limit;
}

pub struct Signup;
pub struct Forgot;
pub struct Reauth;

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

/// A request guard that counts the request against its address's limit and
/// answers 429 (with `Retry-After`) past it.
pub struct PerAddress<L: Limited>(PhantomData<L>);

#[rocket::async_trait]
impl<'r, L: Limited> FromRequest<'r> for PerAddress<L> {
    type Error = ApiError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ApiError> {
        match count(request, L::NAME, |limits| L::limit(limits)).await {
            Ok(()) => Outcome::Success(PerAddress(PhantomData)),
            Err(e) => Outcome::Error(remember(request, e)),
        }
    }
}

async fn count(
    request: &Request<'_>,
    name: &str,
    limit: impl Fn(&Limits) -> Limit,
) -> ApiResult<()> {
    let state = AppState::of(request)?;
    let limit = limit(&state.config.limits);
    let db = request
        .guard::<&Db>()
        .await
        .success_or_else(|| ApiError::internal("database pool missing"))?;
    let address = ClientInfo::of(request).address();
    let hit = db
        .throttle_hit(&format!("{name}:address:{address}"), limit.window_ms())
        .await?;
    if hit.hits > limit.max as i64 {
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
    fn lockouts_double_and_are_capped() {
        let base = Duration::from_secs(60);
        assert_eq!(lockout(base, 5, 5), Duration::from_secs(60));
        assert_eq!(lockout(base, 6, 5), Duration::from_secs(120));
        assert_eq!(lockout(base, 8, 5), Duration::from_secs(480));
        assert_eq!(lockout(base, 500, 5), MAX_LOCKOUT);
    }

    #[test]
    fn retry_after_rounds_up_and_is_at_least_one() {
        assert_eq!(retry_after_secs(10_001, 0), 11);
        assert_eq!(retry_after_secs(10_000, 0), 10);
        assert_eq!(retry_after_secs(5, 10), 1);
    }
}
