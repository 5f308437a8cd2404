//! The operator's commands (`users ...`, `audit export`) run as an operator
//! runs them, on a temporary data folder: their output, their exit codes,
//! and their audit events. Their effect on a running server is a black-box
//! test (tests/tests/admin_commands.rs).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{recorded_migrations, run, server};
use serde_json::Value;

const PASSWORD: &str = "tY7#mQ2v!pLx-gatepass";

/// A migrated data folder in a temporary folder, and the commands on it.
struct Setup {
    dir: tempfile::TempDir,
    data: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let setup = Setup { dir, data };
        let (code, stdout, stderr) = run(&mut setup.command(&["migrate"]));
        assert_eq!(code, Some(0), "{stdout}\n{stderr}");
        let every = gatepass_server::db::SQLITE_MIGRATIONS.iter().count();
        assert_eq!(recorded_migrations(&setup.database()), every as i64);
        setup
    }

    /// The binary with `args`, as the operator `ops-alice`, at the lowest
    /// bcrypt cost allowed.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = server(self.dir.path(), &self.data);
        command
            .env("USER", "ops-alice")
            .env("AUTH_BCRYPT_COST", "10")
            .args(args);
        command
    }

    fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        run(&mut self.command(args))
    }

    /// Runs `args`, giving it `input` on stdin.
    fn run_with_stdin(&self, args: &[&str], input: &str) -> (Option<i32>, String, String) {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    }

    /// `users create` with the password on stdin; the new user's id.
    fn create(&self, email: &str) -> String {
        let (code, stdout, stderr) = self.run_with_stdin(
            &[
                "users",
                "create",
                "--email",
                email,
                "--first-name",
                "Ada",
                "--last-name",
                "Lovelace",
                "--password-stdin",
            ],
            &format!("{PASSWORD}\n"),
        );
        assert_eq!(code, Some(0), "{stdout}\n{stderr}");
        let id = stdout
            .strip_prefix("created user ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("{stdout}"));
        id.to_owned()
    }

    /// A command that must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let (code, stdout, stderr) = self.run(args);
        assert_eq!(code, Some(0), "{args:?}: {stdout}\n{stderr}");
        stdout
    }

    fn json(&self, args: &[&str]) -> Value {
        let stdout = self.ok(args);
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }

    /// `audit export ARGS`, each line parsed.
    fn export(&self, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["audit", "export"];
        all.extend_from_slice(args);
        self.ok(&all)
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    fn database(&self) -> PathBuf {
        self.data.join("gatepass.db")
    }
}

/// Runs `statement` on the SQLite database at `path`.
fn sql(path: &Path, statement: &str) {
    let url = format!("sqlite://{}?mode=rwc", path.display());
    rocket::tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::query(statement).execute(&pool).await.unwrap();
            pool.close().await;
        })
}

fn events(lines: &[Value]) -> Vec<&str> {
    lines.iter().map(|l| l["event"].as_str().unwrap()).collect()
}

#[test]
fn users_are_created_listed_disabled_enabled_and_deleted_each_audited() {
    let setup = Setup::new();
    let (code, stdout, _) = setup.run(&["users", "list"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("0 user(s)"), "{stdout}");
    assert_eq!(
        setup.json(&["users", "list", "--json"]),
        Value::Array(vec![])
    );

    let id = setup.create("Ada@Example.com");
    let bob = setup.create("bob@example.com");
    let listed = setup.json(&["users", "list", "--json"]);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(
        listed[0]["email"], "ada@example.com",
        "stored as signup stores it"
    );
    assert_eq!(listed[0]["firstName"], "Ada");
    assert_eq!(listed[0]["disabled"], false);
    assert_eq!(listed[0]["disabledAt"], Value::Null);
    assert!(listed[0].get("passwordHash").is_none() && !listed[0].to_string().contains("$2"));
    let text = setup.ok(&["users", "list"]);
    assert!(text.contains(&id) && text.contains("ada@example.com") && text.contains("active"));

    // By email (any case) or by id.
    for name in ["ADA@example.com", id.as_str()] {
        let shown = setup.json(&["users", "show", name, "--json"]);
        assert_eq!(shown["id"], id.as_str());
        assert_eq!(shown["liveSessions"], 0);
    }
    assert!(setup
        .ok(&["users", "show", &id])
        .contains("status         active"));

    // A taken email and a weak password are refused as signup refuses them.
    let (code, _, stderr) = setup.run_with_stdin(
        &[
            "users",
            "create",
            "--email",
            "ada@example.com",
            "--first-name",
            "A",
            "--last-name",
            "B",
            "--password-stdin",
        ],
        PASSWORD,
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--email: Email is already in use"),
        "{stderr}"
    );
    let (code, _, stderr) = setup.run_with_stdin(
        &[
            "users",
            "create",
            "--email",
            "carol@example.com",
            "--first-name",
            "Carol",
            "--last-name",
            "",
            "--password-stdin",
        ],
        "password\n",
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("the password: "), "{stderr}");
    assert!(
        stderr.contains("--last-name: Last name is required"),
        "{stderr}"
    );

    let stdout = setup.ok(&["users", "disable", "ada@example.com"]);
    assert!(
        stdout.contains(&format!("user {id} ada@example.com disabled")),
        "{stdout}"
    );
    let shown = setup.json(&["users", "show", &id, "--json"]);
    assert_eq!(shown["disabled"], true);
    assert!(shown["disabledAt"].is_string());
    assert!(setup.ok(&["users", "list"]).contains("disabled 20"));
    assert!(setup
        .ok(&["users", "disable", &id])
        .contains("was already disabled"));

    assert!(setup.ok(&["users", "enable", &id]).contains("enabled"));
    assert!(setup
        .ok(&["users", "enable", &id])
        .contains("was not disabled"));
    assert_eq!(
        setup.json(&["users", "show", &id, "--json"])["disabled"],
        false
    );

    assert!(setup
        .ok(&["users", "delete", "ada@example.com"])
        .contains(&format!("deleted user {id}")));
    let (code, _, stderr) = setup.run(&["users", "show", &id]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(&format!("no user {id}")), "{stderr}");
    let listed = setup.json(&["users", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "bob is left");
    assert_eq!(listed[0]["id"], bob.as_str());

    // The trail keeps the deleted user's events, found by id; each names
    // the operator.
    let trail = setup.export(&["--user", &id]);
    assert_eq!(
        events(&trail),
        [
            "user_created",
            "user_disabled",
            "user_enabled",
            "user_deleted"
        ],
        "only changes are audited: {trail:?}"
    );
    for line in &trail {
        assert_eq!(line["userId"], id.as_str());
        assert_eq!(line["operator"], "ops-alice");
        assert!(line["at"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(events(&setup.export(&[])).len(), 5, "bob's creation too");
    let (code, _, stderr) = setup.run(&["audit", "export", "--user", "ada@example.com"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no user ada@example.com"), "{stderr}");
}

#[test]
fn create_with_no_terminal_and_no_flag_fails_at_once_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // stdin is /dev/null: no terminal to ask on.
    let (code, stdout, stderr) = run(server(dir.path(), &data).args([
        "users",
        "create",
        "--email",
        "ada@example.com",
        "--first-name",
        "Ada",
        "--last-name",
        "Lovelace",
    ]));
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("--password-stdin"), "{stderr}");
    assert!(!data.exists(), "before the configuration or the database");
}

#[test]
fn unknown_users_and_bad_arguments_exit_2_and_a_missing_database_1() {
    let setup = Setup::new();
    for args in [
        &["users", "show", "nobody@example.com"][..],
        &["users", "disable", "nobody@example.com"],
        &["users", "enable", "nobody@example.com"],
        &["users", "delete", "nobody@example.com"],
        &["audit", "export", "--user", "nobody@example.com"],
    ] {
        let (code, _, stderr) = setup.run(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("no user nobody@example.com"), "{stderr}");
    }
    let (code, _, stderr) = setup.run(&["users", "disable", "not-an-id"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no user not-an-id"), "{stderr}");
    let (code, _, stderr) = setup.run(&["audit", "export", "--since", "yesterday"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--since \"yesterday\""), "{stderr}");
    let (code, _, stderr) = setup.run(&["users", "frobnicate"]);
    assert_eq!(code, Some(2), "{stderr}");

    // A database that is not there is not created.
    let missing = setup.dir.path().join("elsewhere/gatepass.db");
    let (code, _, stderr) = run(setup
        .command(&["users", "list"])
        .env("DATABASE_URL", format!("sqlite://{}", missing.display())));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("cannot open the database"), "{stderr}");
    assert!(!missing.exists());
    // A PostgreSQL server that does not answer: named, password hidden.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, _, stderr) = run(setup.command(&["audit", "export"]).env(
        "DATABASE_URL",
        format!("postgres://gatepass:pg-pass-s3cret@127.0.0.1:{port}/gatepass"),
    ));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot open the database postgres://gatepass:***@"),
        "{stderr}"
    );
    assert!(!stderr.contains("pg-pass-s3cret"), "{stderr}");

    // A database without this version's migrations is not written to.
    let fresh = tempfile::tempdir().unwrap();
    let old = fresh.path().join("old.db");
    sql(&old, "CREATE TABLE t (x INTEGER)");
    let (code, _, stderr) = run(setup
        .command(&["users", "list"])
        .env("DATABASE_URL", format!("sqlite://{}", old.display())));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("gatepass-server migrate"), "{stderr}");
}

#[test]
fn the_export_is_json_lines_with_control_characters_escaped() {
    let setup = Setup::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let two_days_ago = now - 2 * 86_400_000;
    let evil = "evil\n{\"event\":\"forged\"}\u{1b}[2J\u{7}\r\t";
    sql(
        &setup.database(),
        &format!(
            "INSERT INTO audit_events (at, event, user_id, session_id, ip, user_agent) VALUES
             ({two_days_ago}, 'login_failed', NULL, NULL, '192.0.2.1', 'old agent'),
             ({now}, 'login_failed', 'u1', 's1', '192.0.2.2', '{}')",
            evil.replace('\'', "''")
        ),
    );
    let (code, stdout, stderr) = setup.run(&["audit", "export"]);
    assert_eq!(code, Some(0), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "one line per event: {stdout:?}");
    for line in &lines {
        assert!(
            !line.chars().any(char::is_control),
            "no raw control character: {line:?}"
        );
    }
    let newest: Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(newest["userAgent"], evil, "escaped, and read back whole");
    assert_eq!(newest["event"], "login_failed");
    assert_eq!(newest["userId"], "u1");
    assert_eq!(newest["sessionId"], "s1");
    assert_eq!(newest["ip"], "192.0.2.2");
    assert_eq!(newest["operator"], Value::Null);
    assert_eq!(newest["atMs"], now);

    // --since: a duration back, or a time.
    assert_eq!(setup.export(&["--since", "24h"]).len(), 1);
    assert_eq!(setup.export(&["--since", "3d"]).len(), 2);
    assert_eq!(setup.export(&["--since", "2000-01-01T00:00:00Z"]).len(), 2);
    assert_eq!(
        setup
            .export(&["--since", "2999-01-01T00:00:00+02:00"])
            .len(),
        0
    );
}

/// With neither USER nor LOGNAME, the operator is the account the process
/// runs as.
#[test]
fn the_operator_is_the_os_account_without_user_or_logname() {
    let Some(account) = Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    else {
        eprintln!("no `id -un` here: nothing to compare the operator with");
        return;
    };
    let setup = Setup::new();
    let id = setup.create("ada@example.com");
    let (code, _, stderr) = run(setup
        .command(&["users", "disable", &id])
        .env_remove("USER")
        .env_remove("LOGNAME"));
    assert_eq!(code, Some(0), "{stderr}");
    let trail = setup.export(&["--user", &id]);
    assert_eq!(events(&trail), ["user_created", "user_disabled"]);
    assert_eq!(trail[0]["operator"], "ops-alice");
    assert_eq!(trail[1]["operator"], account.as_str());
}

/// A tmux server of its own, killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .args(["-f", "/dev/null", "-L", &self.socket])
            .args(args)
            .env_remove("TMUX")
            .output()
            .unwrap();
        assert!(output.status.success(), "tmux {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Polls the pane until it shows `text` (30 s at most); the screen.
    fn wait_for(&self, text: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let screen = self.run(&["capture-pane", "-p", "-t", "app"]);
            if screen.contains(text) {
                return screen;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{text:?} never showed; the screen:\n{screen}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    fn type_line(&self, text: &str) {
        self.run(&["send-keys", "-t", "app", "-l", text]);
        self.run(&["send-keys", "-t", "app", "Enter"]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-f", "/dev/null", "-L", &self.socket, "kill-server"])
            .output();
    }
}

/// On a terminal, `users create` asks for the password twice, and what is
/// typed does not show.
#[test]
fn create_asks_for_the_password_on_a_terminal_without_echoing_it() {
    let has_tmux = Command::new("tmux").arg("-V").output().is_ok();
    if !has_tmux {
        assert!(std::env::var_os("CI").is_none(), "CI must have tmux");
        eprintln!("tmux is missing: the terminal prompt is not tested here");
        return;
    }
    let setup = Setup::new();
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let command = [
        "env".to_owned(),
        "-i".to_owned(),
        quote(&format!("GATEPASS_DATA_DIR={}", setup.data.display())),
        "USER=ops-alice".to_owned(),
        "AUTH_BCRYPT_COST=10".to_owned(),
        quote(env!("CARGO_BIN_EXE_gatepass-server")),
        "users create --email ada@example.com --first-name Ada --last-name Lovelace".to_owned(),
    ]
    .join(" ");
    let tmux = Tmux {
        socket: format!("gatepass-admin-{}", std::process::id()),
    };
    // The pane outlives the command, so its last screen can be read.
    let script = format!(
        "cd {} && {command}; echo \"[exit $?]\"; sleep 600",
        quote(&setup.dir.path().display().to_string())
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "app",
        "-x",
        "120",
        "-y",
        "30",
        &script,
    ]);
    tmux.wait_for("Password for ada@example.com:");
    tmux.type_line(PASSWORD);
    tmux.wait_for("The same password again:");
    tmux.type_line(PASSWORD);
    let screen = tmux.wait_for("[exit ");
    assert!(screen.contains("[exit 0]"), "{screen}");
    assert!(screen.contains("created user "), "{screen}");
    assert!(!screen.contains(PASSWORD), "the password showed: {screen}");
    let listed = setup.json(&["users", "list", "--json"]);
    assert_eq!(listed[0]["email"], "ada@example.com");
}
