//! Password hashing (bcrypt) and the password policy.
//!
//! bcrypt is deliberately slow, so it never runs on an async worker: every hash
//! and verify goes to a pool of hashing threads, one per core, at a lower CPU
//! priority. So a login flood queues instead of starving the rest of the
//! server: with spare CPU, hashing gets all of it; when requests need the
//! cores, the async workers go first (measured: the `/me` p99 during a login
//! flood, see BENCHMARKS.md).

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use rocket::tokio::sync::oneshot;

use crate::error::{ApiError, ApiResult};

/// bcrypt reads at most 72 bytes; longer passwords are refused, never truncated.
pub const MAX_PASSWORD_BYTES: usize = 72;
pub const MIN_PASSWORD_CHARS: usize = 8;

pub struct Passwords {
    cost: u32,
    /// Verified against when the account does not exist, so an unknown email
    /// costs the same time as a wrong password.
    dummy_hash: String,
    hashers: mpsc::Sender<Job>,
}

/// One hash or verify, run on a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// How much lower than the rest of the server the hashing threads run
/// (`nice`; CFS then gives them about a tenth of a contended core's time).
const HASHING_NICENESS: i32 = 10;

/// Starts `threads` hashing threads taking jobs from one queue.
fn start_hashers(threads: usize) -> mpsc::Sender<Job> {
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    for n in 0..threads {
        let queue = queue.clone();
        std::thread::Builder::new()
            .name(format!("bcrypt-{n}"))
            .spawn(move || {
                lower_this_threads_priority();
                loop {
                    let job = match queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    match job {
                        // A panic fails that one request (its answer channel
                        // drops), not the thread.
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => return, // the server is gone
                    }
                }
            })
            .expect("start a hashing thread");
    }
    jobs
}

/// Linux: `nice` is per thread. Elsewhere (and if refused) hashing runs at
/// normal priority, still bounded to one thread per core.
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread; no memory is shared.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        if libc::setpriority(libc::PRIO_PROCESS, tid, HASHING_NICENESS) != 0 {
            log::warn!(target: "gatepass::auth", "hashing threads run at normal priority: setpriority refused");
        }
    }
}

impl Passwords {
    pub fn new(cost: u32) -> Result<Passwords, bcrypt::BcryptError> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Passwords {
            cost,
            dummy_hash: bcrypt::hash("gatepass-dummy-password", cost)?,
            hashers: start_hashers(cores),
        })
    }

    pub async fn hash(&self, password: &str) -> ApiResult<String> {
        let password = password.to_owned();
        let cost = self.cost;
        self.run(move || bcrypt::hash(password, cost)).await
    }

    /// Checks `password` against `hash`, or against a dummy hash when there is
    /// no account, taking the same time either way.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> ApiResult<bool> {
        let known = hash.is_some();
        let hash = hash.unwrap_or(&self.dummy_hash).to_owned();
        let password = password.to_owned();
        let matches = self.run(move || bcrypt::verify(password, &hash)).await?;
        Ok(known && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, bcrypt::BcryptError> + Send + 'static,
    ) -> ApiResult<T> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.hashers
            .send(job)
            .map_err(|_| ApiError::internal("password hashing threads gone"))?;
        result
            .await
            .map_err(|_| ApiError::internal("a password hashing job was dropped"))?
            .map_err(|e| ApiError::internal(format!("bcrypt: {e}")))
    }
}

/// The password policy of NIST SP 800-63B: length, no composition rules, and
/// no common or guessable password (zxcvbn's dictionaries, which include the
/// most common passwords, plus the user's own name and email).
/// Returns the message for the 422, if any.
pub fn policy_violation(password: &str, user_inputs: &[&str]) -> Option<String> {
    if password.is_empty() {
        return Some("Password is required".into());
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Some(format!(
            "Password must be at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Some(format!(
            "Password must be at most {MAX_PASSWORD_BYTES} bytes (this one is {})",
            password.len()
        ));
    }
    let inputs: Vec<&str> = user_inputs
        .iter()
        .flat_map(|input| input.split(['@', '.', ' ', '_', '-', '+']))
        .chain(user_inputs.iter().copied())
        .filter(|s| s.len() >= 3)
        .collect();
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if (estimate.score() as u8) < 3 {
        let mut msg = String::from("Password is too easy to guess");
        if let Some(feedback) = estimate.feedback() {
            if let Some(warning) = feedback.warning() {
                msg = format!("{msg}: {}", warning.to_string().trim_end_matches('.'));
            }
            if let Some(suggestion) = feedback.suggestions().first() {
                msg = format!("{msg}. {suggestion}");
            }
        }
        if !msg.ends_with('.') {
            msg.push('.');
        }
        return Some(msg);
    }
    // zxcvbn weighs a name plus a year as a few guesses more than the name;
    // what matters is what is left once the personal parts are known.
    let remainder = without_personal_parts(password, &inputs);
    if remainder.len() < password.len() && (zxcvbn::zxcvbn(&remainder, &[]).score() as u8) < 3 {
        return Some("Password is too close to your name or email address.".into());
    }
    None
}

/// The password, lower-cased, with every name or email part taken out.
fn without_personal_parts(password: &str, parts: &[&str]) -> String {
    let mut parts: Vec<String> = parts.iter().map(|p| p.to_lowercase()).collect();
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    let mut rest = password.to_lowercase();
    for part in &parts {
        rest = rest.replace(part.as_str(), "");
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `job` on a one-thread hashing pool and waits for its answer.
    fn on_hasher<T: Send + 'static>(
        hashers: &mpsc::Sender<Job>,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (done, answer) = std::sync::mpsc::channel();
        hashers
            .send(Box::new(move || {
                let _ = done.send(job());
            }))
            .unwrap();
        answer.recv().ok()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn hashing_threads_run_at_a_lower_priority_and_survive_a_panic() {
        let hashers = start_hashers(1);
        // SAFETY: plain syscalls on the calling thread.
        let niceness = || unsafe {
            libc::getpriority(
                libc::PRIO_PROCESS,
                libc::syscall(libc::SYS_gettid) as libc::id_t,
            )
        };
        let ours = niceness();
        let theirs = on_hasher(&hashers, niceness).unwrap();
        assert_eq!(theirs, (ours + HASHING_NICENESS).min(19));
        assert_eq!(on_hasher(&hashers, || -> u8 { panic!("a bad job") }), None);
        assert_eq!(on_hasher(&hashers, || 7), Some(7), "the thread lives on");
    }

    #[test]
    fn length_limits_count_characters_and_bytes() {
        assert!(policy_violation("", &[]).unwrap().contains("required"));
        assert!(policy_violation("short", &[])
            .unwrap()
            .contains("at least 8"));
        // 24 three-byte characters: 24 characters but 72 bytes is allowed...
        let at_limit = "€".repeat(24);
        assert!(!policy_violation(&at_limit, &[])
            .unwrap_or_default()
            .contains("at most"));
        // ...and one byte more is refused, not truncated.
        let over = format!("{at_limit}x");
        assert!(policy_violation(&over, &[])
            .unwrap()
            .contains("at most 72 bytes"));
    }

    #[test]
    fn common_and_personal_passwords_are_refused() {
        assert!(policy_violation("password", &[]).is_some());
        assert!(policy_violation("password123", &[]).is_some());
        assert!(policy_violation("qwertyuiop", &[]).is_some());
        assert!(
            policy_violation("lovelace1815", &["Ada", "Lovelace", "ada@example.com"]).is_some()
        );
        assert!(policy_violation("correct horse battery staple", &[]).is_none());
        assert!(policy_violation("tY7#mQ2v!pLx", &[]).is_none());
    }

    #[rocket::async_test]
    async fn hash_and_verify_round_trip() {
        let passwords = Passwords::new(4.max(bcrypt::DEFAULT_COST - 8)).unwrap();
        let hash = passwords.hash("tY7#mQ2v!pLx").await.unwrap();
        assert!(hash.starts_with("$2"));
        assert!(passwords.verify("tY7#mQ2v!pLx", Some(&hash)).await.unwrap());
        assert!(!passwords.verify("wrong", Some(&hash)).await.unwrap());
        // No account: never true, even for the dummy's own password.
        assert!(!passwords
            .verify("gatepass-dummy-password", None)
            .await
            .unwrap());
    }
}
