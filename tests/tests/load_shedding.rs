//! Load shedding: the password-hashing queue is bounded in time
//! (`AUTH_HASH_QUEUE_TIMEOUT`), and a login whose client has hung up is not
//! hashed, so a flood whose clients gave up does not delay the next login.
//!
//! The floods are sized against the server's own measured hash time so that
//! the queue is many times longer than the limits under test, whatever the
//! machine's load; and they run one at a time (they share the CPU).

use std::time::{Duration, Instant};

use gatepass_common::paths;
use gatepass_tests::{unique_email, wait_for, Server, PASSWORD};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// One flood at a time in this file: a second one beside it would change the
/// hash time the first one measured.
static ONE_FLOOD_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// How many logins a flood sends: enough for about `backlog` of hashing on
/// this machine's cores at the measured login time (the server runs one
/// hashing thread per core), and never fewer than 100.
fn flood_size(login_time: Duration, backlog: Duration) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let size = cores as f64 * backlog.as_secs_f64() / login_time.as_secs_f64();
    (size.ceil() as usize).clamp(100, 300)
}

/// A server whose login limits stay out of the way (every flood login is a
/// distinct email from one address). Each login attempt is written before
/// its hash; on SQLite, `synchronous=normal` keeps those writes from waiting
/// for the disk, so what is measured is the hashing, not the fsyncs.
fn server(queue_timeout: &str) -> Server {
    Server::builder()
        .env("AUTH_HASH_QUEUE_TIMEOUT", queue_timeout)
        .env("GATEPASS_DB_SYNCHRONOUS", "normal")
        .env("AUTH_LOGIN_ADDRESS_LIMIT", "100000/15m")
        .env("AUTH_LOGIN_ACCOUNT_LIMIT", "100000/15m")
        .start()
}

/// The slowest of three logins on the idle server: one hash plus the rest
/// of a login, as this machine runs it now.
async fn idle_login_time(server: &Server, email: &str) -> Duration {
    let api = server.api();
    let mut slowest = Duration::ZERO;
    for _ in 0..3 {
        let started = Instant::now();
        let reply = api.login(email, PASSWORD).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        slowest = slowest.max(started.elapsed());
    }
    slowest
}

/// What a flood client got: nothing (it gave up), or a status with the
/// body's `code` and the `Retry-After` header.
#[derive(Debug)]
struct Answer {
    status: u16,
    code: String,
    retry_after: Option<String>,
}

/// `count` logins with wrong passwords, each for its own email, sent at
/// once from clients that give up after `patience`.
///
/// Each client writes its whole request before its patience starts, over a
/// plain TCP connection: a client that timed out while still connecting
/// would never reach the server, and the server's log could not account for
/// it. So every flood login is one the server received.
async fn flood(server: &Server, count: usize, patience: Duration) -> Vec<Option<Answer>> {
    let address = server
        .url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut logins = tokio::task::JoinSet::new();
    for _ in 0..count {
        let address = address.clone();
        let email = unique_email("flood");
        logins.spawn(async move {
            let body = json!({"email": email, "password": "Wrong-horse-battery-9"}).to_string();
            let request = format!(
                "POST {} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                paths::LOGIN,
                body.len()
            );
            let mut stream = TcpStream::connect(&address).await.expect("connect");
            stream
                .write_all(request.as_bytes())
                .await
                .expect("send the login");
            let mut response = Vec::new();
            tokio::time::timeout(patience, stream.read_to_end(&mut response))
                .await
                .ok()?
                .ok()?;
            Answer::parse(&response)
        });
    }
    logins.join_all().await
}

impl Answer {
    /// A whole HTTP/1.1 response (the connection was closed after it).
    fn parse(response: &[u8]) -> Option<Answer> {
        let text = std::str::from_utf8(response).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        let mut lines = head.lines();
        let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
        let retry_after = lines
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
            .map(|(_, value)| value.trim().to_owned());
        let body: Value = serde_json::from_str(body).ok()?;
        Some(Answer {
            status,
            code: body["code"].as_str().unwrap_or_default().to_owned(),
            retry_after,
        })
    }
}

/// The statuses of every login the server has answered so far, from its
/// request log (answered, whether or not the client was still there).
fn login_statuses(server: &Server) -> Vec<u16> {
    let marker = format!("gatepass::request: POST {} ", paths::LOGIN);
    server
        .log()
        .lines()
        .filter_map(|line| line.split_once(&marker))
        .filter_map(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .collect()
}

/// Waits until the server has answered `count` logins, and returns how many
/// of them had their password checked (400: wrong password) and how many
/// were shed (503).
async fn wait_for_answers(server: &Server, count: usize) -> (usize, usize) {
    // Long enough for the old behaviour too (every login hashed in turn), so
    // that it fails on the counts below rather than here.
    wait_for(
        "the server to answer every login",
        Duration::from_secs(300),
        || async {
            let statuses = login_statuses(server);
            (statuses.len() >= count).then(|| {
                let checked = statuses.iter().filter(|s| **s == 400).count();
                let shed = statuses.iter().filter(|s| **s == 503).count();
                (checked, shed)
            })
        },
    )
    .await
}

/// Clients that gave up are not hashed for: with a queue limit far longer
/// than the flood, only the logins that reached a hashing thread while their
/// client still waited are checked, and the login right after the flood
/// waits for the hashes already running, not for the backlog.
#[tokio::test]
async fn a_flood_whose_clients_gave_up_is_not_hashed_and_does_not_delay_the_next_login() {
    let _alone = ONE_FLOOD_AT_A_TIME.lock().await;
    let server = server("10m");
    let email = unique_email("after-flood");
    server.api().signup(&email).await;
    let login_time = idle_login_time(&server, &email).await;

    // A backlog of about ten seconds, far more than the clients' patience
    // and than the bound below.
    let size = flood_size(login_time, Duration::from_secs(10));
    let answers = flood(&server, size, Duration::from_secs(1)).await;
    let gave_up = answers.iter().filter(|a| a.is_none()).count();
    assert!(gave_up > size / 2, "most clients gave up: {answers:?}");

    let started = Instant::now();
    let reply = server.api().login(&email, PASSWORD).await;
    let after_flood = started.elapsed();
    assert_eq!(reply.status, 200, "{}", reply.text);
    // The hashes running when it arrived, then its own, with two seconds to
    // spare (for the rest of the flood's requests, skipped unhashed).
    let bound = login_time * 3 + Duration::from_secs(2);
    assert!(
        after_flood <= bound,
        "the login after the flood took {after_flood:?}; an idle one {login_time:?}"
    );

    // 3 idle logins, the flood, the one after (all answered, whether or not
    // anyone still listened). Every flood login was either checked or shed;
    // checked were those answered in time, and the few a hashing thread had
    // taken before their client hung up.
    let (checked, shed) = wait_for_answers(&server, 3 + size + 1).await;
    eprintln!(
        "idle login {login_time:?}; flood of {size}: {gave_up} gave up, {checked} hashed, \
         {shed} shed; the login after it {after_flood:?}"
    );
    assert_eq!(checked + shed, size);
    assert!(
        checked <= (size - gave_up) + 10,
        "{checked} of {size} flood logins were hashed; {gave_up} of their clients had given up"
    );
}

/// A login that waits in the queue longer than AUTH_HASH_QUEUE_TIMEOUT is
/// answered 503 `server_busy` with `Retry-After`, without its password being
/// checked.
#[tokio::test]
async fn a_login_queued_past_the_limit_is_answered_503_before_hashing() {
    let _alone = ONE_FLOOD_AT_A_TIME.lock().await;
    let server = server("1s");
    let email = unique_email("patient");
    server.api().signup(&email).await;
    let login_time = idle_login_time(&server, &email).await;

    // Clients that wait as long as it takes, for a backlog of many times
    // the limit.
    let size = flood_size(login_time, Duration::from_secs(6));
    let answers = flood(&server, size, Duration::from_secs(300)).await;
    let answers: Vec<Answer> = answers
        .into_iter()
        .map(|a| a.expect("a patient client gets an answer"))
        .collect();
    let mut busy = 0;
    for answer in &answers {
        match answer.status {
            400 => assert_eq!(answer.code, "invalid_credentials"),
            503 => {
                busy += 1;
                assert_eq!(answer.code, "server_busy");
                assert_eq!(answer.retry_after.as_deref(), Some("1"), "{answer:?}");
            }
            _ => panic!("unexpected answer {answer:?}"),
        }
    }
    // About six seconds of hashing against a limit of one: most logins
    // must have been shed.
    assert!(
        busy >= size / 2,
        "{busy} of {size} shed (an idle login takes {login_time:?})"
    );
    // Only the 400s were checked: the log agrees with what the clients saw.
    let (checked, shed) = wait_for_answers(&server, 3 + size).await;
    eprintln!("idle login {login_time:?}; flood of {size}: {checked} hashed, {shed} shed");
    assert_eq!((checked, shed), (size - busy, busy));

    // The queue drained with the flood: the next login is served.
    let reply = server.api().login(&email, PASSWORD).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

/// The measure: with the default-like limit, a login sent right
/// after a flood whose clients timed out answers (and signs in) within one
/// hash time plus the queue limit.
#[tokio::test]
async fn a_login_right_after_a_flood_answers_within_a_hash_time_and_the_queue_limit() {
    let _alone = ONE_FLOOD_AT_A_TIME.lock().await;
    let queue_limit = Duration::from_secs(2);
    let server = server("2s");
    let email = unique_email("right-after");
    server.api().signup(&email).await;
    let login_time = idle_login_time(&server, &email).await;

    let size = flood_size(login_time, Duration::from_secs(6));
    flood(&server, size, Duration::from_millis(500)).await;
    let started = Instant::now();
    let reply = server.api().login(&email, PASSWORD).await;
    let after_flood = started.elapsed();
    eprintln!("idle login {login_time:?}; flood of {size}; the login after it {after_flood:?}");
    assert_eq!(reply.status, 200, "{}", reply.text);
    let bound = login_time + queue_limit + Duration::from_secs(1);
    assert!(
        after_flood <= bound,
        "the login after the flood took {after_flood:?}, more than {bound:?}"
    );
}
