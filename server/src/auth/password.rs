//! Password hashing (bcrypt) and the password policy.
//!
//! bcrypt is deliberately slow, so it never runs on an async worker: every hash
//! and verify goes to a pool of hashing threads, one per core, at a lower CPU
//! priority. So a login flood queues instead of starving the rest of the
//! server: with spare CPU, hashing gets all of it; when requests need the
//! cores, the async workers go first (measured: the `/me` p99 during a login
//! flood, see BENCHMARKS.md).
//!
//! The queue is bounded in time: a job that has waited longer than
//! `AUTH_HASH_QUEUE_TIMEOUT` is answered 503 `server_busy` without being
//! hashed, and a job whose client has hung up (see [`Connection`]) is dropped
//! unhashed. So after a flood whose clients gave up, the next login waits for
//! at most the hashes already running, not for the whole backlog.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocket::tokio::sync::oneshot;

use crate::error::{ApiError, ApiResult};
use crate::metrics;

mod connection;

pub use connection::Connection;

/// bcrypt reads at most 72 bytes; longer passwords are refused, never truncated.
pub const MAX_PASSWORD_BYTES: usize = 72;
pub const MIN_PASSWORD_CHARS: usize = 8;

pub struct Passwords {
    cost: u32,
    /// Verified against when the account does not exist, so an unknown email
    /// costs the same time as a wrong password.
    dummy_hash: String,
    /// How long a job may wait for a hashing thread before it is answered 503.
    queue_timeout: Duration,
    hashers: mpsc::Sender<Job>,
}

/// One hash or verify, run on a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// Why a queued job was answered without being run.
enum Skipped {
    /// It waited longer than the queue timeout.
    TooLate,
    /// Its client hung up.
    ClientGone,
}

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
                            metrics::hash_queue(-1);
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

/// Takes a queued job for whoever asks first: a hashing thread about to run
/// it, or the request giving up on it at the queue timeout. Only the first
/// gets `true`, so a job is never both answered 503 and hashed.
fn claim(job: &AtomicBool) -> bool {
    !job.swap(true, Ordering::AcqRel)
}

impl Passwords {
    /// Hashing at `cost` on one thread per core; a job waits at most
    /// `queue_timeout` for its thread.
    pub fn new(cost: u32, queue_timeout: Duration) -> Result<Passwords, bcrypt::BcryptError> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Passwords::with_threads(cost, queue_timeout, cores)
    }

    fn with_threads(
        cost: u32,
        queue_timeout: Duration,
        threads: usize,
    ) -> Result<Passwords, bcrypt::BcryptError> {
        Ok(Passwords {
            cost,
            dummy_hash: bcrypt::hash("gatepass-dummy-password", cost)?,
            queue_timeout,
            hashers: start_hashers(threads),
        })
    }

    pub async fn hash(&self, password: &str) -> ApiResult<String> {
        let password = password.to_owned();
        let cost = self.cost;
        self.run(&Connection::UNKNOWN, move || bcrypt::hash(password, cost))
            .await
    }

    /// Checks `password` against `hash`, or against a dummy hash when there is
    /// no account, taking the same time either way.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> ApiResult<bool> {
        self.verify_for(&Connection::UNKNOWN, password, hash).await
    }

    /// [`Passwords::verify`] for a request on `connection`: if its client
    /// hangs up while the job waits for a hashing thread, the job is dropped
    /// unhashed.
    pub async fn verify_for(
        &self,
        connection: &Connection,
        password: &str,
        hash: Option<&str>,
    ) -> ApiResult<bool> {
        // bcrypt reads only the first 72 bytes, so checking a longer password
        // against the account would accept any suffix to the right 72. Such a
        // password never matches; it is checked against the dummy all the
        // same, so the refusal takes the time of any other failure.
        let checkable = password.len() <= MAX_PASSWORD_BYTES;
        let known = hash.is_some() && checkable;
        let hash = match hash {
            Some(hash) if checkable => hash,
            _ => &self.dummy_hash,
        }
        .to_owned();
        let password = password.to_owned();
        let matches = self
            .run(connection, move || bcrypt::verify(password, &hash))
            .await?;
        Ok(known && matches)
    }

    /// The answer to a job shed from the queue. The queue drains in at most
    /// the queue timeout, so that is when to come back.
    fn busy(&self) -> ApiError {
        ApiError::ServerBusy {
            retry_after_secs: self.queue_timeout.as_millis().div_ceil(1000).max(1) as u64,
        }
    }

    /// Queues `work` for a hashing thread and waits for its answer, or for
    /// the queue timeout if no thread has taken it by then.
    async fn run<T: Send + 'static>(
        &self,
        connection: &Connection,
        work: impl FnOnce() -> Result<T, bcrypt::BcryptError> + Send + 'static,
    ) -> ApiResult<T> {
        let (done, mut answer) = oneshot::channel();
        let claimed = Arc::new(AtomicBool::new(false));
        let queued_at = Instant::now();
        let queue_timeout = self.queue_timeout;
        let connection = *connection;
        let job: Job = {
            let claimed = claimed.clone();
            Box::new(move || {
                // The request stopped waiting: its future was dropped, or it
                // was answered 503 at the queue timeout.
                if done.is_closed() || !claim(&claimed) {
                    return;
                }
                // The request's own timer may not have fired yet (a busy
                // runtime): the limit holds all the same.
                if queued_at.elapsed() > queue_timeout {
                    let _ = done.send(Err(Skipped::TooLate));
                } else if connection.is_closed(queued_at) {
                    let _ = done.send(Err(Skipped::ClientGone));
                } else {
                    let _ = done.send(Ok(work()));
                }
            })
        };
        metrics::hash_queue(1);
        if self.hashers.send(job).is_err() {
            metrics::hash_queue(-1);
            return Err(ApiError::internal("password hashing threads gone"));
        }
        let answer = match rocket::tokio::time::timeout(queue_timeout, &mut answer).await {
            Ok(answer) => answer,
            // Still queued: no thread will run it now.
            Err(_) if claim(&claimed) => return Err(self.busy()),
            // Already running: the answer is at most one hash away.
            Err(_) => answer.await,
        };
        match answer {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(e))) => Err(ApiError::internal(format!("bcrypt: {e}"))),
            // A client that hung up gets nothing; the 503 only shows in the
            // request log.
            Ok(Err(Skipped::TooLate | Skipped::ClientGone)) => Err(self.busy()),
            Err(_) => Err(ApiError::internal("a password hashing job was dropped")),
        }
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
        let passwords = Passwords::new(4, Duration::from_secs(60)).unwrap();
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

    /// A one-thread pool whose thread is held busy until the returned sender
    /// sends (or drops), and a hashing job that counts its runs.
    fn held_pool(
        queue_timeout: Duration,
    ) -> (
        Passwords,
        mpsc::Sender<()>,
        Arc<std::sync::atomic::AtomicUsize>,
    ) {
        let passwords = Passwords::with_threads(4, queue_timeout, 1).unwrap();
        let (release, held) = mpsc::channel::<()>();
        passwords
            .hashers
            .send(Box::new(move || {
                let _ = held.recv();
            }))
            .unwrap();
        (passwords, release, Arc::default())
    }

    fn counted(
        runs: &Arc<std::sync::atomic::AtomicUsize>,
    ) -> impl FnOnce() -> Result<(), bcrypt::BcryptError> + Send + 'static {
        let runs = runs.clone();
        move || {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    /// Polls `future` once (enough to queue its job), then hands it back.
    async fn queue<F: std::future::Future + Unpin>(mut future: F) -> F {
        std::future::poll_fn(|cx| {
            assert!(std::pin::Pin::new(&mut future).poll(cx).is_pending());
            std::task::Poll::Ready(())
        })
        .await;
        future
    }

    /// Waits until every job queued so far has left the queue: a job queued
    /// after them has run.
    async fn drain(passwords: &Passwords) {
        passwords
            .run(&Connection::UNKNOWN, || Ok(()))
            .await
            .unwrap();
    }

    #[rocket::async_test]
    async fn a_job_queued_past_the_timeout_is_answered_busy_and_never_run() {
        let (passwords, release, runs) = held_pool(Duration::from_millis(200));
        let started = Instant::now();
        let answer = passwords.run(&Connection::UNKNOWN, counted(&runs)).await;
        // Answered at the timeout, while the only thread is still busy.
        assert!(
            matches!(
                answer,
                Err(ApiError::ServerBusy {
                    retry_after_secs: 1
                })
            ),
            "{answer:?}"
        );
        assert!(started.elapsed() >= Duration::from_millis(200));
        release.send(()).unwrap();
        drain(&passwords).await;
        assert_eq!(runs.load(Ordering::SeqCst), 0, "a shed job was hashed");
    }

    #[rocket::async_test]
    async fn a_thread_never_runs_a_job_that_waited_too_long() {
        // The request's own timer has not fired (its future is not polled),
        // yet the thread that finally takes the job sheds it.
        let (passwords, release, runs) = held_pool(Duration::from_millis(100));
        let waiting = queue(Box::pin(
            passwords.run(&Connection::UNKNOWN, counted(&runs)),
        ))
        .await;
        std::thread::sleep(Duration::from_millis(150));
        release.send(()).unwrap();
        drain(&passwords).await;
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        assert!(matches!(
            waiting.await,
            Err(ApiError::ServerBusy {
                retry_after_secs: 1
            })
        ));
    }

    #[rocket::async_test]
    async fn a_job_nobody_waits_for_is_never_run() {
        let (passwords, release, runs) = held_pool(Duration::from_secs(60));
        let waiting = queue(Box::pin(
            passwords.run(&Connection::UNKNOWN, counted(&runs)),
        ))
        .await;
        drop(waiting); // the request's future is dropped: its answer channel closes
        release.send(()).unwrap();
        drain(&passwords).await;
        assert_eq!(runs.load(Ordering::SeqCst), 0);
    }

    #[cfg(target_os = "linux")]
    #[rocket::async_test]
    async fn a_job_whose_client_hung_up_is_never_run() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_ours, peer) = listener.accept().unwrap();
        let connection = Connection::new(listener.local_addr().unwrap().port(), peer);

        let (passwords, release, runs) = held_pool(Duration::from_secs(60));
        let live = queue(Box::pin(passwords.run(&connection, counted(&runs)))).await;
        release.send(()).unwrap();
        live.await.unwrap();
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "a connected client is served"
        );

        drop(client);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !connection.is_closed(Instant::now()) {
            assert!(Instant::now() < deadline, "the hang-up was never seen");
            rocket::tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let answer = passwords.run(&connection, counted(&runs)).await;
        assert!(matches!(answer, Err(ApiError::ServerBusy { .. })));
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "a gone client's job was run"
        );
    }

    #[rocket::async_test]
    async fn a_password_over_72_bytes_never_matches() {
        let passwords = Passwords::new(4, Duration::from_secs(60)).unwrap();
        let at_limit = "Tr0ub4dor&3-".repeat(6); // 72 bytes
        assert_eq!(at_limit.len(), MAX_PASSWORD_BYTES);
        let hash = passwords.hash(&at_limit).await.unwrap();
        let longer = format!("{at_limit}x");
        // bcrypt's own check reads 72 bytes and would let it in...
        assert!(bcrypt::verify(&longer, &hash).unwrap());
        // ...ours refuses it, and still takes the 72 bytes themselves.
        assert!(!passwords.verify(&longer, Some(&hash)).await.unwrap());
        assert!(passwords.verify(&at_limit, Some(&hash)).await.unwrap());
    }
}
