//! `cargo run --release -p bench -- --seconds 10`
//!
//! Builds the release `gatepass-server`, starts it on temporary databases
//! (1,000 and 1,000,000 users, seeded with SQL), drives it with wrk over
//! loopback, and prints one table: requests/s, p50, p99, errors and the
//! server's peak RSS per scenario, each as a ratio to a ceiling measured in
//! the same run (a bare Rocket JWT route per signing algorithm, EdDSA and
//! HS256; one bcrypt hash). See BENCHMARKS.md.

mod ceiling;
mod process;
mod seed;
mod wrk;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gatepass_server::auth::keys::Ed25519Pair;
use gatepass_server::auth::opaque::OpaqueTokens;
use gatepass_server::auth::tokens::AccessTokens;
use gatepass_server::config::Config;

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
    /// The signing algorithms whose ceiling and /me are measured, in this
    /// order; the other scenarios run with the first.
    algs: Vec<Alg>,
}

/// How the server signs access tokens (`AUTH_ACCESS_TOKEN_ALG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alg {
    /// Ed25519, the server's default.
    EdDSA,
    Hs256,
}

impl Alg {
    /// The JWS name, as `AUTH_ACCESS_TOKEN_ALG` takes it.
    fn name(self) -> &'static str {
        match self {
            Alg::EdDSA => "EdDSA",
            Alg::Hs256 => "HS256",
        }
    }

    fn parse_list(list: &str) -> Result<Vec<Alg>, String> {
        let mut algs = Vec::new();
        for name in list.split(',').map(str::trim) {
            let more: &[Alg] = match name.to_ascii_lowercase().as_str() {
                "both" => &[Alg::EdDSA, Alg::Hs256],
                "eddsa" | "ed25519" => &[Alg::EdDSA],
                "hs256" => &[Alg::Hs256],
                _ => return Err(format!("--alg: {name:?} is not eddsa, hs256 or both")),
            };
            for alg in more {
                if !algs.contains(alg) {
                    algs.push(*alg);
                }
            }
        }
        Ok(algs)
    }
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
         [--server PATH] [--only reauth,login,flood,large] [--alg eddsa|hs256|both (both)]"
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
        algs: vec![Alg::EdDSA, Alg::Hs256],
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
            "--alg" => options.algs = Alg::parse_list(&value())?,
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

/// The configuration the server under test reads from the settings that
/// [`start_server`] gives it (the rest at their defaults), for the bench's
/// own use of the server's code: the seal of the signing keys, the tokens'
/// issuer and lifetime.
fn server_config(data_dir: &Path, secrets: &Secrets) -> Result<Config, String> {
    Config::with_settings(
        data_dir,
        &[
            ("AUTH_ACCESS_TOKEN_SECRET", &secrets.access),
            ("AUTH_REFRESH_TOKEN_SECRET", &secrets.refresh),
            ("AUTH_ACCESS_TOKEN_EXPIRY", ACCESS_TOKEN_EXPIRY),
        ],
    )
    .map_err(|e| format!("configuration: {e}"))
}

const ACCESS_TOKEN_EXPIRY: &str = "1h";

fn start_server(
    binary: &Path,
    data_dir: &Path,
    secrets: &Secrets,
    alg: Alg,
    issuer: &str,
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
        // The bench mints its seeded sessions' access tokens with the server's
        // own code (seed.rs): under this secret for HS256; for EdDSA with the
        // key it stored in the database, sealed under the refresh secret.
        .env("AUTH_ACCESS_TOKEN_ALG", alg.name())
        .env("AUTH_ACCESS_TOKEN_SECRET", &secrets.access)
        .env("AUTH_REFRESH_TOKEN_SECRET", &secrets.refresh)
        .env("AUTH_ACCESS_TOKEN_EXPIRY", ACCESS_TOKEN_EXPIRY)
        // The tokens' `iss`, as the seeded tokens and the ceiling have it.
        .env("GATEPASS_PUBLIC_URL", issuer)
        .env("AUTH_LOGIN_ACCOUNT_LIMIT", unlimited)
        .env("AUTH_LOGIN_ADDRESS_LIMIT", unlimited)
        .env("AUTH_SIGNUP_ADDRESS_LIMIT", unlimited)
        .env("AUTH_REAUTH_ADDRESS_LIMIT", unlimited)
        .env("AUTH_FORGOT_ADDRESS_LIMIT", unlimited);
    // Server tuning knobs pass through from the bench's environment.
    for (name, value) in std::env::vars() {
        if name.starts_with("GATEPASS_")
            && !["GATEPASS_DATA_DIR", "GATEPASS_LOG", "GATEPASS_PUBLIC_URL"]
                .contains(&name.as_str())
            || name.starts_with("ROCKET_") && name != "ROCKET_PORT" && name != "ROCKET_ADDRESS"
        {
            command.env(name, value);
        }
    }
    Served::start(command, port, "/health", Some(&data_dir.join("server.log")))
}

/// The bare JWT route, verifying the tokens of `signer` (its current key).
fn start_ceiling(
    alg: Alg,
    signer: &AccessTokens,
    secrets: &Secrets,
    issuer: &str,
) -> Result<Served, String> {
    let port = process::free_port()?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut command = Command::new(exe);
    let kid = signer.current_kid().ok_or("no signing key")?;
    command
        .arg("--serve-ceiling")
        .arg(port.to_string())
        .env(ceiling::ALG_ENV, alg.name())
        .env(ceiling::KID_ENV, &kid)
        .env(ceiling::ISSUER_ENV, issuer);
    match alg {
        Alg::Hs256 => command.env(ceiling::SECRET_ENV, &secrets.access),
        Alg::EdDSA => {
            let published = signer.published();
            let key = published
                .iter()
                .find(|k| k.kid == kid)
                .ok_or("the current key is not published")?;
            command.env(ceiling::PUBLIC_KEY_ENV, &key.x)
        }
    };
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
    usage: Usage,
    /// Against the row's ceiling: (value, what it is relative to).
    vs_ceiling: Option<(f64, String)>,
    /// The issue's target: (value, comparison, bound, label).
    target: Option<(f64, Cmp, f64, String)>,
}

#[derive(Clone, Copy)]
enum Cmp {
    AtLeast,
    AtMost,
}

/// What the process under test used during one scenario.
#[derive(Debug, Clone, Copy)]
struct Usage {
    /// Peak resident set size, in bytes.
    rss: Option<u64>,
    /// CPU time, all threads.
    cpu: Option<Duration>,
}

/// One measured scenario: peak RSS reset before, read after; CPU time read
/// before and after.
fn measure<T>(
    served: &Served,
    run: impl FnOnce() -> Result<T, String>,
) -> Result<(T, Usage), String> {
    served.reset_peak_rss();
    let cpu_before = served.cpu_time();
    let outcome = run()?;
    let cpu = served
        .cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    Ok((
        outcome,
        Usage {
            rss: served.peak_rss(),
            cpu,
        },
    ))
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

/// The signer of one algorithm's seeded tokens: the server's own token code,
/// with the key the server will sign with.
struct Signer {
    alg: Alg,
    tokens: AccessTokens,
}

/// The bare JWT route of `signer`'s algorithm under wrk: one row.
fn measure_ceiling(
    signer: &Signer,
    secrets: &Secrets,
    issuer: &str,
    tokens: &[String],
    access_file: &Path,
    load: &dyn Fn(Script, u16, &Path, u32, Duration) -> Run,
    options: &Options,
) -> Result<(Outcome, Row), String> {
    let alg = signer.alg;
    let ceiling = start_ceiling(alg, &signer.tokens, secrets, issuer)?;
    let bearer = format!("Bearer {}", tokens[0]);
    check(
        &format!("ceiling /me ({})", alg.name()),
        http(
            ceiling.port,
            "GET",
            "/api/users/me",
            &[("Authorization", &bearer)],
            None,
        ),
        200,
    )?;
    let warmup = Duration::from_secs(options.warmup);
    if !warmup.is_zero() {
        load(
            Script::Me,
            ceiling.port,
            access_file,
            options.connections,
            warmup,
        )
        .run()?;
    }
    let (outcome, usage) = measure(&ceiling, || {
        load(
            Script::Me,
            ceiling.port,
            access_file,
            options.connections,
            Duration::from_secs(options.seconds),
        )
        .run()
    })?;
    Ok((
        outcome,
        Row {
            name: format!("ceiling: bare Rocket JWT route, {}", alg.name()),
            outcome,
            usage,
            vs_ceiling: Some((1.0, "itself".into())),
            target: None,
        },
    ))
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
    let primary = *options.algs.first().ok_or("--alg names no algorithm")?;
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
    let small_dir = scratch.path().join("small");
    std::fs::create_dir_all(&small_dir).map_err(|e| e.to_string())?;
    let config = server_config(&small_dir, &secrets)?;
    let issuer = config.issuer.clone();
    let keys = seed::Keys {
        opaque: OpaqueTokens::new(config.tokens.refresh_token_secret.clone()),
        refresh_ttl: Duration::from_secs(24 * 3600),
    };
    // One Ed25519 key pair, stored as the current key of every database the
    // EdDSA server runs on.
    let pair = options
        .algs
        .contains(&Alg::EdDSA)
        .then(Ed25519Pair::generate);
    let signers = options
        .algs
        .iter()
        .map(|&alg| {
            let ttl = config.tokens.access_token_ttl;
            let tokens = match (alg, &pair) {
                (Alg::Hs256, _) => {
                    AccessTokens::new(&config.tokens.access_token_secret, ttl, &issuer)
                        .map_err(|e| format!("access token key: {e}"))?
                }
                (Alg::EdDSA, pair) => {
                    let tokens = AccessTokens::ed25519(ttl, &issuer);
                    tokens.install_ed25519(pair.as_ref().ok_or("no key pair")?, &[])?;
                    tokens
                }
            };
            Ok(Signer { alg, tokens })
        })
        .collect::<Result<Vec<_>, String>>()?;

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
        &signers.iter().map(|s| &s.tokens).collect::<Vec<_>>(),
    ))?;
    if let Some(pair) = &pair {
        rt.block_on(seed::store_signing_key(&config, pair))?;
    }
    progress(
        started,
        &format!("seeded {SMALL_USERS} users, {ACCESS_SESSIONS} + {refresh_sessions} sessions"),
    );
    let access_files = signers
        .iter()
        .zip(&small.access_tokens)
        .map(|(signer, tokens)| {
            let file = scratch
                .path()
                .join(format!("access-{}.txt", signer.alg.name()));
            write_lines(&file, tokens).map(|()| file)
        })
        .collect::<Result<Vec<_>, String>>()?;
    let refresh_file = scratch.path().join("refresh.txt");
    let emails_file = scratch.path().join("emails.txt");
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

    // Per algorithm, one after the other so that each pair shares the
    // machine's load: ceiling 1, the bare JWT route; then 1., the read path.
    let mut ceilings = Vec::new();
    let mut mes = Vec::new();
    for ((signer, tokens), access_file) in
        signers.iter().zip(&small.access_tokens).zip(&access_files)
    {
        let alg = signer.alg;
        let (jwt, row) = measure_ceiling(
            signer,
            &secrets,
            &issuer,
            tokens,
            access_file,
            &load,
            options,
        )?;
        progress(
            started,
            &format!(
                "ceiling: bare JWT route, {} {:.0} req/s",
                alg.name(),
                jwt.rate()
            ),
        );
        ceilings.push((jwt, row.usage));
        rows.push(row);

        let server = start_server(&binary, &small_dir, &secrets, alg, &issuer, options)?;
        let bearer = format!("Bearer {}", tokens[0]);
        check(
            &format!("GET /me ({})", alg.name()),
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
                access_file,
                options.connections,
                warmup,
            )
            .run()?;
        }
        let (me, usage) = measure(&server, || {
            load(
                Script::Me,
                server.port,
                access_file,
                options.connections,
                secs,
            )
            .run()
        })?;
        progress(
            started,
            &format!("1. GET /me, {} {:.0} req/s", alg.name(), me.rate()),
        );
        let route = format!("{} route", alg.name());
        rows.push(Row {
            name: format!("1. GET /me (1,000 users), {}", alg.name()),
            outcome: me,
            usage,
            vs_ceiling: Some((me.rate() / jwt.rate(), route.clone())),
            target: Some((
                me.rate() / jwt.rate(),
                Cmp::AtLeast,
                0.7,
                format!("x {route}"),
            )),
        });
        mes.push(me);
    }
    // The other scenarios run with the first algorithm, against its ceiling
    // and its /me.
    let (jwt, me) = (ceilings[0].0, mes[0]);
    let route = format!("{} route", primary.name());
    let tag = primary.name();
    let access_file = &access_files[0];

    let mut login_rate = None;
    if options.runs("reauth") || options.runs("login") || options.runs("flood") {
        let server = start_server(&binary, &small_dir, &secrets, primary, &issuer, options)?;
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

        if options.runs("reauth") {
            // 2. The write path: one rotation (and one new access token) per
            // request.
            let (reauth, usage) = measure(&server, || {
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
                name: format!("2. POST /reauth (distinct sessions), {tag}"),
                outcome: reauth,
                usage,
                vs_ceiling: Some((reauth.rate() / jwt.rate(), route.clone())),
                target: Some((
                    reauth.rate() / me.rate(),
                    Cmp::AtLeast,
                    0.25,
                    "x /me".into(),
                )),
            });
        }

        let login = if options.runs("login") {
            // 3. The bcrypt path.
            let (login, usage) = measure(&server, || {
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
                name: format!("3. POST /login, {tag}"),
                outcome: login,
                usage,
                vs_ceiling: Some((login.rate() / login_limit, "bcrypt limit".into())),
                target: Some((
                    login.rate() / login_limit,
                    Cmp::AtLeast,
                    0.85,
                    "x bcrypt limit".into(),
                )),
            });
            Some(login)
        } else {
            None
        };
        login_rate = login.map(|l| l.rate());

        if options.runs("flood") {
            // 4. The read path during a login flood: the flood starts first and
            // ends after, so every /me request meets it.
            let ((flooded, flood), usage) = measure(&server, || {
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
                    access_file,
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
                    "4. GET /me during login flood ({:.1} logins/s), {tag}",
                    flood.rate()
                ),
                outcome: flooded,
                usage,
                vs_ceiling: Some((flooded.rate() / jwt.rate(), route.clone())),
                target: Some((
                    flooded.p99.as_secs_f64() / me.p99.as_secs_f64().max(1e-9),
                    Cmp::AtMost,
                    3.0,
                    "x p99 of /me".into(),
                )),
            });
        }
        drop(server);
    }

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
            &[&signers[0].tokens],
        ))?;
        if let (Alg::EdDSA, Some(pair)) = (primary, &pair) {
            rt.block_on(seed::store_signing_key(
                &server_config(&large_dir, &secrets)?,
                pair,
            ))?;
        }
        progress(started, &format!("seeded {} users", options.large_users));
        let large_access = scratch.path().join("large-access.txt");
        let large_emails = scratch.path().join("large-emails.txt");
        write_lines(&large_access, &large.access_tokens[0])?;
        write_lines(&large_emails, &large.emails)?;
        let server = start_server(&binary, &large_dir, &secrets, primary, &issuer, options)?;
        let bearer = format!("Bearer {}", large.access_tokens[0][0]);
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
        let (large_me, usage) = measure(&server, || {
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
            name: format!(
                "5. GET /me ({} users), {tag}",
                thousands(options.large_users)
            ),
            outcome: large_me,
            usage,
            vs_ceiling: Some((large_me.rate() / jwt.rate(), route.clone())),
            target: Some((
                large_me.rate() / me.rate(),
                Cmp::AtLeast,
                0.9,
                "x /me, 1,000 users".into(),
            )),
        });
        let (large_login, usage) = measure(&server, || {
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
            name: format!(
                "5b. POST /login ({} users), {tag}",
                thousands(options.large_users)
            ),
            outcome: large_login,
            usage,
            vs_ceiling: Some((large_login.rate() / login_limit, "bcrypt limit".into())),
            target: Some((
                large_login.rate() / login_rate.unwrap_or(f64::NAN),
                Cmp::AtLeast,
                0.9,
                "x login, 1,000 users".into(),
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
    let routes: Vec<String> = signers
        .iter()
        .zip(&ceilings)
        .map(|(s, (c, _))| format!("{} {:.0} req/s", s.alg.name(), c.rate()))
        .collect();
    println!(
        "ceilings: bare JWT route {}; bcrypt {:.1} ms per hash -> login limit {:.1}/s ({cores} cores)",
        routes.join(", "),
        hash_time.as_secs_f64() * 1000.0,
        login_limit
    );
    if let (Some(ed), Some(hs)) = (
        signers.iter().position(|s| s.alg == Alg::EdDSA),
        signers.iter().position(|s| s.alg == Alg::Hs256),
    ) {
        // The two routes differ only in the signature check: what one
        // Ed25519 verification costs over one HMAC-SHA256 shows in their
        // rates and, unskewed by other work on the machine, in the CPU time
        // the route's process spent per request.
        let per_request = |(outcome, usage): &(Outcome, Usage)| {
            usage
                .cpu
                .map(|cpu| cpu.as_secs_f64() / outcome.requests.max(1) as f64)
        };
        let cpu = match (per_request(&ceilings[ed]), per_request(&ceilings[hs])) {
            (Some(e), Some(h)) => format!(
                "; CPU per request {:.0} µs vs {:.0} µs: {:.0} µs more per token",
                e * 1e6,
                h * 1e6,
                (e - h) * 1e6
            ),
            _ => String::new(),
        };
        println!(
            "EdDSA route / HS256 route: {:.2}x the rate{cpu}",
            ceilings[ed].0.rate() / ceilings[hs].0.rate()
        );
        // The server remembers verified tokens, so its EdDSA /me is held to
        // the cheaper route too.
        println!(
            "GET /me, EdDSA / HS256 route: {:.2}x",
            mes[ed].rate() / ceilings[hs].0.rate()
        );
    }
    println!("scenarios 2-5 run with {}", primary.name());
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
    println!(
        "| scenario | req/s | p50 | p99 | errors | peak RSS | CPU per request | vs ceiling | target |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|---|");
    for row in rows {
        let o = &row.outcome;
        let rate = if o.rate() < 100.0 {
            format!("{:.1}", o.rate())
        } else {
            format!("{:.0}", o.rate())
        };
        let rss = row.usage.rss.map_or("?".into(), |b| {
            let mib = b as f64 / MIB;
            format!("{mib:.1} MiB{}", if mib < 64.0 { "" } else { " (over 64)" })
        });
        let cpu = row.usage.cpu.map_or("?".into(), |cpu| {
            let per_request = cpu.as_secs_f64() / (o.requests.max(1) as f64);
            if per_request < 0.01 {
                format!("{:.0} µs", per_request * 1e6)
            } else {
                format!("{:.0} ms", per_request * 1e3)
            }
        });
        let vs = row
            .vs_ceiling
            .as_ref()
            .map_or(String::new(), |(v, of)| format!("{v:.2}x {of}"));
        let target = row
            .target
            .as_ref()
            .map_or("-".into(), |(v, cmp, bound, label)| {
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
            "| {} | {rate} | {} | {} | {} | {rss} | {cpu} | {vs} | {target} |",
            row.name,
            ms(o.p50),
            ms(o.p99),
            o.errors
        );
    }
}
