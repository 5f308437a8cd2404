//! `cargo run --release -p bench -- --seconds 10`
//!
//! Builds the release `gatepass-server`, starts it on temporary databases
//! (1,000 and 1,000,000 users, seeded with SQL), drives it with wrk over
//! loopback, and prints one table: requests/s, p50, p99, errors and the
//! server's peak RSS per scenario, each as a ratio to a ceiling measured in
//! the same run (a bare Rocket JWT route; one bcrypt hash). See BENCHMARKS.md.

mod ceiling;
mod process;
mod seed;
mod wrk;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gatepass_server::auth::opaque::OpaqueTokens;
use gatepass_server::auth::tokens::AccessTokens;
use gatepass_server::config::Secret;

use process::{http, Served};
use wrk::{Outcome, Run, Script};

/// The password of every seeded account.
const PASSWORD: &str = "bench-Kx7#pQ2v!mLz";
const SMALL_USERS: u64 = 1_000;
/// Accounts with sessions and logins, spread over the table.
const ACCOUNTS: usize = 1_000;
/// Access tokens the read scenarios cycle through.
const ACCESS_SESSIONS: usize = 1_000;
/// Refresh tokens needed per second of the /reauth run (never reused).
const REFRESH_PER_SECOND: usize = 8_000;
const MIB: f64 = 1024.0 * 1024.0;

struct Options {
    seconds: u64,
    warmup: u64,
    bcrypt_cost: u32,
    large_users: u64,
    connections: u32,
    login_connections: u32,
    server: Option<PathBuf>,
    /// Scenarios to run besides the ceiling and /me (all when empty).
    only: Vec<String>,
}

impl Options {
    fn runs(&self, scenario: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == scenario)
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: bench [--seconds N (10)] [--warmup N (2)] [--bcrypt-cost N (12)] \
         [--large-users N (1000000)] [--connections N (32)] [--login-connections N (8)] \
         [--server PATH] [--only reauth,login,flood,large]"
    );
    std::process::exit(2)
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        seconds: 10,
        warmup: 2,
        bcrypt_cost: 12,
        large_users: 1_000_000,
        connections: 32,
        login_connections: 8,
        server: None,
        only: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        fn num<T: std::str::FromStr>(name: &str, v: String) -> Result<T, String> {
            v.parse()
                .map_err(|_| format!("{name}: {v:?} is not a number"))
        }
        match arg.as_str() {
            "--seconds" => options.seconds = num("--seconds", value())?,
            "--warmup" => options.warmup = num("--warmup", value())?,
            "--bcrypt-cost" => options.bcrypt_cost = num("--bcrypt-cost", value())?,
            "--large-users" => options.large_users = num("--large-users", value())?,
            "--connections" => options.connections = num("--connections", value())?,
            "--login-connections" => {
                options.login_connections = num("--login-connections", value())?
            }
            "--server" => options.server = Some(PathBuf::from(value())),
            "--only" => options.only = value().split(',').map(|s| s.trim().to_owned()).collect(),
            "--serve-ceiling" => {
                let port = num("--serve-ceiling", value())?;
                ceiling::serve(port)?;
                std::process::exit(0);
            }
            _ => usage(),
        }
    }
    if !(1..=120).contains(&options.seconds) {
        return Err("--seconds must be between 1 and 120".into());
    }
    if options.warmup > 10 {
        return Err("--warmup must be at most 10".into());
    }
    Ok(options)
}

fn main() {
    if let Err(e) = parse_args().and_then(|options| run(&options)) {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

fn progress(started: Instant, what: &str) {
    eprintln!("[{:>5.1}s] {what}", started.elapsed().as_secs_f64());
}

/// The release server binary: built now (a no-op when up to date) unless given.
fn server_binary(options: &Options) -> Result<PathBuf, String> {
    if let Some(path) = &options.server {
        return path
            .canonicalize()
            .map_err(|e| format!("{}: {e}", path.display()));
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace root")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "gatepass-server",
            "--bin",
            "gatepass-server",
        ])
        .current_dir(workspace)
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !status.success() {
        return Err(format!("building the release server failed ({status})"));
    }
    // <target>/<profile>/bench -> <target>/release/gatepass-server
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let target = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot locate the target folder")?;
    let path = target.join("release").join("gatepass-server");
    if !path.exists() {
        return Err(format!("{} is missing after the build", path.display()));
    }
    Ok(path)
}

struct Secrets {
    access: String,
    refresh: String,
}

fn start_server(
    binary: &Path,
    data_dir: &Path,
    secrets: &Secrets,
    options: &Options,
) -> Result<Served, String> {
    let port = process::free_port()?;
    let mut command = Command::new(binary);
    let unlimited = "1000000000/1m";
    command
        .env_clear()
        .current_dir(data_dir)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_PORT", port.to_string())
        .env("GATEPASS_DATA_DIR", data_dir)
        // Warnings only: the request log would write a line per request.
        .env("GATEPASS_LOG", "warn")
        .env("AUTH_BCRYPT_COST", options.bcrypt_cost.to_string())
        // The bench forges its seeded sessions' access tokens with this
        // secret (seed.rs) and its ceiling verifies HS256 (ceiling.rs), so the
        // server signs with HS256 too, not the EdDSA default.
        .env("AUTH_ACCESS_TOKEN_ALG", "HS256")
        .env("AUTH_ACCESS_TOKEN_SECRET", &secrets.access)
        .env("AUTH_REFRESH_TOKEN_SECRET", &secrets.refresh)
        .env("AUTH_ACCESS_TOKEN_EXPIRY", "1h")
        .env("AUTH_LOGIN_ACCOUNT_LIMIT", unlimited)
        .env("AUTH_LOGIN_ADDRESS_LIMIT", unlimited)
        .env("AUTH_SIGNUP_ADDRESS_LIMIT", unlimited)
        .env("AUTH_REAUTH_ADDRESS_LIMIT", unlimited)
        .env("AUTH_FORGOT_ADDRESS_LIMIT", unlimited);
    // Server tuning knobs pass through from the bench's environment.
    for (name, value) in std::env::vars() {
        if name.starts_with("GATEPASS_") && name != "GATEPASS_DATA_DIR" && name != "GATEPASS_LOG"
            || name.starts_with("ROCKET_") && name != "ROCKET_PORT" && name != "ROCKET_ADDRESS"
        {
            command.env(name, value);
        }
    }
    Served::start(command, port, "/health", Some(&data_dir.join("server.log")))
}

fn start_ceiling(secrets: &Secrets) -> Result<Served, String> {
    let port = process::free_port()?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut command = Command::new(exe);
    command
        .arg("--serve-ceiling")
        .arg(port.to_string())
        .env(ceiling::SECRET_ENV, &secrets.access);
    Served::start(command, port, "/health", None)
}

fn write_lines(path: &Path, lines: &[String]) -> Result<(), String> {
    std::fs::write(path, lines.join("\n") + "\n").map_err(|e| format!("{}: {e}", path.display()))
}

fn check(what: &str, got: std::io::Result<(u16, String)>, want: u16) -> Result<(), String> {
    match got {
        Ok((status, _)) if status == want => Ok(()),
        Ok((status, body)) => Err(format!(
            "{what}: expected {want}, got {status}: {body:.200}"
        )),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

/// One row of the table.
struct Row {
    name: String,
    outcome: Outcome,
    rss: Option<u64>,
    /// Against the row's ceiling: (value, what it is relative to).
    vs_ceiling: Option<(f64, &'static str)>,
    /// The issue's target: (value, comparison, bound, label).
    target: Option<(f64, Cmp, f64, &'static str)>,
}

#[derive(Clone, Copy)]
enum Cmp {
    AtLeast,
    AtMost,
}

/// One measured scenario: peak RSS reset before, read after.
fn measure<T>(
    served: &Served,
    run: impl FnOnce() -> Result<T, String>,
) -> Result<(T, Option<u64>), String> {
    served.reset_peak_rss();
    let outcome = run()?;
    Ok((outcome, served.peak_rss()))
}

fn bcrypt_ceiling(cost: u32) -> Result<(String, Duration), String> {
    let mut times = Vec::new();
    let mut first = None;
    let started = Instant::now();
    while times.len() < 3 || (times.len() < 9 && started.elapsed() < Duration::from_secs(3)) {
        let t = Instant::now();
        let hash = bcrypt::hash(PASSWORD, cost).map_err(|e| format!("bcrypt: {e}"))?;
        times.push(t.elapsed());
        first.get_or_insert(hash);
    }
    times.sort();
    Ok((first.unwrap_or_default(), times[times.len() / 2]))
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or("unknown".into(), |kib| {
            format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0)
        });
    format!("{cpus} cores (nproc), CPU {model}, memory {mem}")
}

/// The 1-minute load average: other work on the machine skews every figure.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn run(options: &Options) -> Result<(), String> {
    let started = Instant::now();
    let load_before = load_average();
    if cfg!(debug_assertions) {
        eprintln!("bench: warning: built without --release; the bcrypt ceiling will be off");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let secs = Duration::from_secs(options.seconds);
    let warmup = Duration::from_secs(options.warmup);
    let binary = server_binary(options)?;
    progress(started, &format!("server binary {}", binary.display()));
    // The clock of the bounded run starts once the server is built.
    let build_time = started.elapsed();
    let started = Instant::now();
    let scratch = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let secrets = Secrets {
        access: OpaqueTokens::generate(),
        refresh: OpaqueTokens::generate(),
    };
    let keys = seed::Keys {
        opaque: OpaqueTokens::new(Secret::new(secrets.refresh.clone().into_bytes())),
        access: AccessTokens::new(
            &Secret::new(secrets.access.clone().into_bytes()),
            Duration::from_secs(3600),
            "gatepass",
        )
        .map_err(|e| format!("access token key: {e}"))?,
        refresh_ttl: Duration::from_secs(24 * 3600),
    };

    // Ceiling 2: one bcrypt hash, single thread; its first hash is every
    // seeded user's password hash.
    let (password_hash, hash_time) = bcrypt_ceiling(options.bcrypt_cost)?;
    let login_limit = cores as f64 / hash_time.as_secs_f64();
    progress(
        started,
        &format!(
            "bcrypt cost {}: {:.1} ms per hash, login limit {login_limit:.1}/s on {cores} cores",
            options.bcrypt_cost,
            hash_time.as_secs_f64() * 1000.0
        ),
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let small_dir = scratch.path().join("small");
    std::fs::create_dir_all(&small_dir).map_err(|e| e.to_string())?;
    // One spare refresh token for the sanity check.
    let refresh_sessions = REFRESH_PER_SECOND * options.seconds as usize + 1;
    let small = rt.block_on(seed::seed(
        &small_dir.join("gatepass.db"),
        &seed::Plan {
            users: SMALL_USERS,
            accounts: ACCOUNTS,
            access_sessions: ACCESS_SESSIONS,
            refresh_sessions,
        },
        &password_hash,
        &keys,
    ))?;
    progress(
        started,
        &format!("seeded {SMALL_USERS} users, {ACCESS_SESSIONS} + {refresh_sessions} sessions"),
    );
    let access_file = scratch.path().join("access.txt");
    let refresh_file = scratch.path().join("refresh.txt");
    let emails_file = scratch.path().join("emails.txt");
    write_lines(&access_file, &small.access_tokens)?;
    write_lines(&refresh_file, &small.refresh_tokens[1..])?;
    write_lines(&emails_file, &small.emails)?;

    let scratch_path = scratch.path().to_owned();
    let load = |script, port, data: &Path, connections, duration| Run {
        script,
        port,
        data: data.to_owned(),
        threads: 1,
        connections,
        duration,
        password: PASSWORD,
        scratch: scratch_path.clone(),
    };
    let mut rows = Vec::new();

    // Ceiling 1: the bare JWT route.
    let jwt = {
        let ceiling = start_ceiling(&secrets)?;
        let bearer = format!("Bearer {}", small.access_tokens[0]);
        check(
            "ceiling /me",
            http(
                ceiling.port,
                "GET",
                "/api/users/me",
                &[("Authorization", &bearer)],
                None,
            ),
            200,
        )?;
        if !warmup.is_zero() {
            load(
                Script::Me,
                ceiling.port,
                &access_file,
                options.connections,
                warmup,
            )
            .run()?;
        }
        let (outcome, rss) = measure(&ceiling, || {
            load(
                Script::Me,
                ceiling.port,
                &access_file,
                options.connections,
                secs,
            )
            .run()
        })?;
        progress(
            started,
            &format!("ceiling: bare JWT route {:.0} req/s", outcome.rate()),
        );
        rows.push(Row {
            name: "ceiling: bare Rocket JWT route".into(),
            outcome,
            rss,
            vs_ceiling: Some((1.0, "itself")),
            target: None,
        });
        outcome
    };

    let server = start_server(&binary, &small_dir, &secrets, options)?;
    let bearer = format!("Bearer {}", small.access_tokens[0]);
    check(
        "GET /me",
        http(
            server.port,
            "GET",
            "/api/users/me",
            &[("Authorization", &bearer)],
            None,
        ),
        200,
    )?;
    let cookie = format!("refreshTkn={}", small.refresh_tokens[0]);
    check(
        "POST /reauth",
        http(
            server.port,
            "POST",
            "/api/users/reauth",
            &[("Cookie", &cookie)],
            None,
        ),
        201,
    )?;
    let login_body = format!(
        r#"{{"email":"{}","password":"{PASSWORD}"}}"#,
        small.emails[0]
    );
    check(
        "POST /login",
        http(
            server.port,
            "POST",
            "/api/users/login",
            &[("Content-Type", "application/json")],
            Some(&login_body),
        ),
        200,
    )?;

    // 1. The read path.
    if !warmup.is_zero() {
        load(
            Script::Me,
            server.port,
            &access_file,
            options.connections,
            warmup,
        )
        .run()?;
    }
    let (me, rss) = measure(&server, || {
        load(
            Script::Me,
            server.port,
            &access_file,
            options.connections,
            secs,
        )
        .run()
    })?;
    progress(started, &format!("1. GET /me {:.0} req/s", me.rate()));
    rows.push(Row {
        name: "1. GET /me (1,000 users)".into(),
        outcome: me,
        rss,
        vs_ceiling: Some((me.rate() / jwt.rate(), "JWT route")),
        target: Some((me.rate() / jwt.rate(), Cmp::AtLeast, 0.7, "x JWT route")),
    });

    if options.runs("reauth") {
        // 2. The write path: one rotation per request.
        let (reauth, rss) = measure(&server, || {
            load(
                Script::Reauth,
                server.port,
                &refresh_file,
                options.connections,
                secs,
            )
            .run()
        })?;
        progress(
            started,
            &format!("2. POST /reauth {:.0} req/s", reauth.rate()),
        );
        rows.push(Row {
            name: "2. POST /reauth (distinct sessions)".into(),
            outcome: reauth,
            rss,
            vs_ceiling: Some((reauth.rate() / jwt.rate(), "JWT route")),
            target: Some((reauth.rate() / me.rate(), Cmp::AtLeast, 0.25, "x /me")),
        });
    }

    let login = if options.runs("login") {
        // 3. The bcrypt path.
        let (login, rss) = measure(&server, || {
            load(
                Script::Login,
                server.port,
                &emails_file,
                options.login_connections,
                secs,
            )
            .run()
        })?;
        progress(
            started,
            &format!("3. POST /login {:.1} req/s", login.rate()),
        );
        rows.push(Row {
            name: "3. POST /login".into(),
            outcome: login,
            rss,
            vs_ceiling: Some((login.rate() / login_limit, "bcrypt limit")),
            target: Some((
                login.rate() / login_limit,
                Cmp::AtLeast,
                0.85,
                "x bcrypt limit",
            )),
        });
        Some(login)
    } else {
        None
    };

    if options.runs("flood") {
        // 4. The read path during a login flood: the flood starts first and ends
        // after, so every /me request meets it.
        let ((flooded, flood), rss) = measure(&server, || {
            let flood = load(
                Script::Login,
                server.port,
                &emails_file,
                options.login_connections,
                secs + Duration::from_secs(2),
            )
            .start()?;
            std::thread::sleep(Duration::from_secs(1));
            let flooded = load(
                Script::Me,
                server.port,
                &access_file,
                options.connections,
                secs,
            )
            .run();
            let flood = wrk::finish(flood)?;
            Ok((flooded?, flood))
        })?;
        progress(
            started,
            &format!(
                "4. GET /me during a login flood {:.0} req/s (flood {:.1} logins/s, {} errors)",
                flooded.rate(),
                flood.rate(),
                flood.errors
            ),
        );
        rows.push(Row {
            name: format!(
                "4. GET /me during login flood ({:.1} logins/s)",
                flood.rate()
            ),
            outcome: flooded,
            rss,
            vs_ceiling: Some((flooded.rate() / jwt.rate(), "JWT route")),
            target: Some((
                flooded.p99.as_secs_f64() / me.p99.as_secs_f64().max(1e-9),
                Cmp::AtMost,
                3.0,
                "x p99 of /me",
            )),
        });
    }
    drop(server);

    if options.runs("large") {
        // 5. The same reads and logins against a million users.
        let large_dir = scratch.path().join("large");
        std::fs::create_dir_all(&large_dir).map_err(|e| e.to_string())?;
        let large = rt.block_on(seed::seed(
            &large_dir.join("gatepass.db"),
            &seed::Plan {
                users: options.large_users,
                accounts: ACCOUNTS,
                access_sessions: ACCESS_SESSIONS,
                refresh_sessions: 0,
            },
            &password_hash,
            &keys,
        ))?;
        progress(started, &format!("seeded {} users", options.large_users));
        let large_access = scratch.path().join("large-access.txt");
        let large_emails = scratch.path().join("large-emails.txt");
        write_lines(&large_access, &large.access_tokens)?;
        write_lines(&large_emails, &large.emails)?;
        let server = start_server(&binary, &large_dir, &secrets, options)?;
        let bearer = format!("Bearer {}", large.access_tokens[0]);
        check(
            "GET /me (large)",
            http(
                server.port,
                "GET",
                "/api/users/me",
                &[("Authorization", &bearer)],
                None,
            ),
            200,
        )?;
        if !warmup.is_zero() {
            load(
                Script::Me,
                server.port,
                &large_access,
                options.connections,
                warmup,
            )
            .run()?;
        }
        let (large_me, rss) = measure(&server, || {
            load(
                Script::Me,
                server.port,
                &large_access,
                options.connections,
                secs,
            )
            .run()
        })?;
        progress(
            started,
            &format!("5. GET /me, 1M users {:.0} req/s", large_me.rate()),
        );
        rows.push(Row {
            name: format!("5. GET /me ({} users)", thousands(options.large_users)),
            outcome: large_me,
            rss,
            vs_ceiling: Some((large_me.rate() / jwt.rate(), "JWT route")),
            target: Some((
                large_me.rate() / me.rate(),
                Cmp::AtLeast,
                0.9,
                "x /me, 1,000 users",
            )),
        });
        let (large_login, rss) = measure(&server, || {
            load(
                Script::Login,
                server.port,
                &large_emails,
                options.login_connections,
                secs,
            )
            .run()
        })?;
        progress(
            started,
            &format!("5b. POST /login, 1M users {:.1} req/s", large_login.rate()),
        );
        rows.push(Row {
            name: format!("5b. POST /login ({} users)", thousands(options.large_users)),
            outcome: large_login,
            rss,
            vs_ceiling: Some((large_login.rate() / login_limit, "bcrypt limit")),
            target: Some((
                large_login.rate() / login.map_or(f64::NAN, |l| l.rate()),
                Cmp::AtLeast,
                0.9,
                "x login, 1,000 users",
            )),
        });
        drop(server);
    }

    println!();
    println!("gatepass bench: {}", machine());
    println!(
        "load average (1 min) {load_before} at the start, {} at the end",
        load_average()
    );
    println!(
        "wrk -t1, {} connections ({} for logins), {} s per scenario, bcrypt cost {}, \
         run {:.0} s (after {:.0} s building the server)",
        options.connections,
        options.login_connections,
        options.seconds,
        options.bcrypt_cost,
        started.elapsed().as_secs_f64(),
        build_time.as_secs_f64()
    );
    println!(
        "ceilings: bare JWT route {:.0} req/s; bcrypt {:.1} ms per hash -> login limit {:.1}/s ({cores} cores)",
        jwt.rate(),
        hash_time.as_secs_f64() * 1000.0,
        login_limit
    );
    println!();
    print_table(&rows);
    Ok(())
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

fn print_table(rows: &[Row]) {
    println!("| scenario | req/s | p50 | p99 | errors | peak RSS | vs ceiling | target |");
    println!("|---|---:|---:|---:|---:|---:|---|---|");
    for row in rows {
        let o = &row.outcome;
        let rate = if o.rate() < 100.0 {
            format!("{:.1}", o.rate())
        } else {
            format!("{:.0}", o.rate())
        };
        let rss = row.rss.map_or("?".into(), |b| {
            let mib = b as f64 / MIB;
            format!("{mib:.1} MiB{}", if mib < 64.0 { "" } else { " (over 64)" })
        });
        let vs = row
            .vs_ceiling
            .map_or(String::new(), |(v, of)| format!("{v:.2}x {of}"));
        let target = row.target.map_or("-".into(), |(v, cmp, bound, label)| {
            let (ok, sign) = match cmp {
                Cmp::AtLeast => (v >= bound, ">="),
                Cmp::AtMost => (v <= bound, "<="),
            };
            format!(
                "{v:.2}{label} ({sign} {bound}): {}",
                if ok { "met" } else { "MISSED" }
            )
        });
        println!(
            "| {} | {rate} | {} | {} | {} | {rss} | {vs} | {target} |",
            row.name,
            ms(o.p50),
            ms(o.p99),
            o.errors
        );
    }
}
