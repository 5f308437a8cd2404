//! Runs the real `gatepass` binary in a temporary home (HOME and the XDG
//! folders point into a temp dir), with a clean environment, against a test
//! server. Also runs a series of commands inside a wrapper (`keyctl session -`,
//! `dbus-run-session`) for the keyring tests.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;

/// One finished run of a command.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from_output(output: Output) -> Run {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts the exit code, showing both streams on failure.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "exit code\n--- stdout:\n{}\n--- stderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Stdout as JSON (for `--json` commands).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// The last stderr line as JSON (the error of a `--json` command).
    #[track_caller]
    pub fn error_json(&self) -> Value {
        let line = self.stderr.lines().last().unwrap_or("");
        serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stderr does not end in JSON ({e}):\n{}", self.stderr))
    }
}

/// A temporary home for `gatepass`, bound to one server URL.
pub struct Home {
    dir: TempDir,
    server: String,
    env: Vec<(String, String)>,
}

impl Home {
    /// A home that keeps the access token in a file (`GATEPASS_TOKEN_STORE=file`),
    /// so tests do not depend on the keyrings of the machine.
    pub fn new(server: &str) -> Home {
        Home::bare(server).env("GATEPASS_TOKEN_STORE", "file")
    }

    /// A home with no token-store setting at all.
    pub fn bare(server: &str) -> Home {
        Home {
            dir: tempfile::tempdir().expect("temp home"),
            server: server.to_owned(),
            env: Vec::new(),
        }
    }

    /// Sets an environment variable for every command run from this home.
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Home {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.to_owned(), value.into()));
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    /// `$XDG_DATA_HOME/gatepass`.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data").join("gatepass")
    }

    /// The folder of this home's server (jar, token file, state).
    pub fn server_dir(&self) -> PathBuf {
        let servers = self.data_dir().join("servers");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&servers)
            .unwrap_or_else(|e| panic!("{}: {e}", servers.display()))
            .map(|entry| entry.expect("dir entry").path())
            .collect();
        assert_eq!(dirs.len(), 1, "one server folder expected: {dirs:?}");
        dirs.remove(0)
    }

    pub fn jar_path(&self) -> PathBuf {
        self.server_dir().join("cookies.json")
    }

    pub fn token_path(&self) -> PathBuf {
        self.server_dir().join("access-token")
    }

    /// The environment every command gets (on top of an empty one).
    fn vars(&self) -> Vec<(String, String)> {
        let home = self.dir.path();
        let mut vars = vec![
            ("PATH".to_owned(), std::env::var("PATH").unwrap_or_default()),
            ("HOME".to_owned(), home.display().to_string()),
            (
                "XDG_DATA_HOME".to_owned(),
                home.join("data").display().to_string(),
            ),
            (
                "XDG_CONFIG_HOME".to_owned(),
                home.join("config").display().to_string(),
            ),
            (
                "XDG_CACHE_HOME".to_owned(),
                home.join("cache").display().to_string(),
            ),
            (
                "XDG_RUNTIME_DIR".to_owned(),
                home.join("run").display().to_string(),
            ),
            ("GATEPASS_SERVER".to_owned(), self.server.clone()),
        ];
        vars.extend(self.env.iter().cloned());
        vars
    }

    /// A `gatepass` command in this home, with stdin closed and output piped.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(crate::binary("gatepass"));
        command
            .args(args)
            .env_clear()
            .envs(self.vars())
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs `gatepass ARGS` and waits for it.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from_output(self.command(args).output().expect("run gatepass"))
    }

    /// Runs `gatepass ARGS` with `input` on stdin.
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Run {
        let child = self.spawn_with_stdin(args, input);
        Run::from_output(child.wait_with_output().expect("gatepass finishes"))
    }

    /// Starts `gatepass ARGS` without waiting (for concurrent runs).
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).spawn().expect("start gatepass")
    }

    fn spawn_with_stdin(&self, args: &[&str], input: &str) -> Child {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .spawn()
            .expect("start gatepass");
        let mut stdin = child.stdin.take().expect("piped stdin");
        match stdin.write_all(input.as_bytes()) {
            // The command may end before it reads its input (a refusal).
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            written => written.expect("write stdin"),
        }
        drop(stdin);
        child
    }

    /// `gatepass signup` with the suite's password; asserts success.
    pub fn signup(&self, email: &str) -> Run {
        let run = self.run_with_stdin(
            &[
                "signup",
                "--first-name",
                "Ada",
                "--last-name",
                "Lovelace",
                "--email",
                email,
                "--password-stdin",
            ],
            &format!("{}\n", crate::PASSWORD),
        );
        run.assert_code(0);
        run
    }

    /// `gatepass login` with the suite's password; asserts success.
    pub fn login(&self, email: &str) -> Run {
        let run = self.run_with_stdin(
            &["login", "--email", email, "--password-stdin"],
            &format!("{}\n", crate::PASSWORD),
        );
        run.assert_code(0);
        run
    }

    /// Runs `steps` one after the other in ONE process tree started by
    /// `wrapper` (e.g. `["keyctl", "session", "-"]`), after the shell lines
    /// of `preamble`. In a step, the program `gatepass` is the binary under
    /// test. Returns each step's result by name.
    pub fn run_steps_under(
        &self,
        wrapper: &[&str],
        preamble: &str,
        steps: &[Step],
    ) -> HashMap<String, Run> {
        let out = self.dir.path().join("steps");
        std::fs::create_dir_all(&out).expect("steps folder");
        let gatepass = crate::binary("gatepass");
        let mut script = String::from("set -u\n");
        script.push_str(preamble);
        script.push('\n');
        for step in steps {
            let argv: Vec<String> = step
                .argv
                .iter()
                .map(|arg| {
                    if arg == "gatepass" {
                        quote(&gatepass.display().to_string())
                    } else {
                        quote(arg)
                    }
                })
                .collect();
            let base = out.join(&step.name).display().to_string();
            let stdin = match &step.stdin {
                Some(input) => {
                    let path = format!("{base}.in");
                    std::fs::write(&path, input).expect("step input");
                    quote(&path)
                }
                None => "/dev/null".to_owned(),
            };
            script.push_str(&format!(
                "{} <{stdin} >{} 2>{}; echo $? >{}\n",
                argv.join(" "),
                quote(&format!("{base}.out")),
                quote(&format!("{base}.err")),
                quote(&format!("{base}.code")),
            ));
        }
        let script_path = self.dir.path().join("steps.sh");
        std::fs::write(&script_path, script).expect("write the script");

        let (program, wrapper_args) = wrapper.split_first().expect("a wrapper program");
        let output = Command::new(program)
            .args(wrapper_args)
            .arg("sh")
            .arg(&script_path)
            .env_clear()
            .envs(self.vars())
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {program}: {e}"));
        let wrapper_run = Run::from_output(output);

        let mut runs = HashMap::new();
        for step in steps {
            let read = |ext: &str| {
                std::fs::read_to_string(out.join(format!("{}.{ext}", step.name)))
                    .unwrap_or_default()
            };
            let code = read("code").trim().parse::<i32>().ok();
            assert!(
                code.is_some(),
                "step {} did not run; the wrapper said:\n{}\n{}",
                step.name,
                wrapper_run.stdout,
                wrapper_run.stderr
            );
            runs.insert(
                step.name.clone(),
                Run {
                    code,
                    stdout: read("out"),
                    stderr: read("err"),
                },
            );
        }
        runs
    }
}

impl Home {
    /// Starts `gatepass ARGS` on a real terminal (a 120 x 30 tmux pane),
    /// for what only shows on one: prompts, and what comes before them. `None` when tmux is missing outside CI (see
    /// `require_tools`).
    pub fn in_terminal(&self, tag: &str, args: &[&str]) -> Option<Terminal> {
        if !require_tools(tag, &[("tmux", "tmux")]) {
            return None;
        }
        let mut words = vec!["env".to_owned(), "-i".to_owned()];
        let mut vars = self.vars();
        vars.push(("TERM".to_owned(), "screen-256color".to_owned()));
        vars.push(("LANG".to_owned(), "C.UTF-8".to_owned()));
        words.extend(vars.iter().map(|(k, v)| quote(&format!("{k}={v}"))));
        words.push(quote(&crate::binary("gatepass").display().to_string()));
        words.extend(args.iter().map(|a| quote(a)));
        Some(Terminal::start(tag, &words.join(" ")))
    }
}

/// What `Terminal` prints when the command ends: `[exit N]`.
pub const EXIT_MARKER: &str = "[exit ";

/// A command running in a tmux pane on a socket of its own; the tmux server
/// is killed when this is dropped, whatever the test's outcome.
pub struct Terminal {
    socket: String,
}

impl Terminal {
    fn start(tag: &str, shell_command: &str) -> Terminal {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let terminal = Terminal {
            socket: format!(
                "gatepass-{tag}-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ),
        };
        // The pane outlives the command, so its last screen can be read.
        let script = format!("{shell_command}; echo \"{EXIT_MARKER}$?]\"; sleep 600");
        terminal.tmux(&[
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
        terminal
    }

    fn tmux(&self, args: &[&str]) -> Output {
        let output = Command::new("tmux")
            // No user configuration; not nested in the developer's tmux.
            .args(["-f", "/dev/null", "-L", &self.socket])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux");
        assert!(
            output.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Types `text` as it is, then Enter.
    pub fn type_line(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "app", "-l", text]);
        self.tmux(&["send-keys", "-t", "app", "Enter"]);
    }

    /// Types `text` as it is, without Enter.
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "app", "-l", text]);
    }

    /// Presses keys by their tmux names (`t`, `Tab`, `Down`, `Enter`,
    /// `Escape`, `C-c`), no Enter after.
    pub fn press(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "app"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Resizes the window, as a user dragging its corner would (the
    /// command gets SIGWINCH).
    pub fn resize(&self, width: u16, height: u16) {
        self.tmux(&[
            "resize-window",
            "-t",
            "app",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
    }

    /// The pane's text.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "app"]).stdout)
            .into_owned()
    }

    /// Waits until `text` is on the screen; returns the screen. Only what
    /// is above `text` is sure to be of the same frame: a capture may come
    /// in the middle of one. To read more, use `wait_for_screen_where`.
    pub async fn wait_for_screen(&self, text: &str) -> String {
        self.wait_for_screen_where(&format!("{text:?} on the screen"), |screen| {
            screen.contains(text).then(|| screen.to_owned())
        })
        .await
    }

    /// Waits until `read` finds what it looks for on the screen, and
    /// returns that. The terminal may be captured while a frame is half
    /// drawn, so `read` returns `None` for a screen it cannot read whole.
    pub async fn wait_for_screen_where<T>(
        &self,
        what: &str,
        read: impl Fn(&str) -> Option<T>,
    ) -> T {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if let Some(found) = read(&screen) {
                return found;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Waits for the command to end; returns its exit code and the screen.
    pub async fn wait_for_exit(&self) -> (i32, String) {
        let screen = self.wait_for_screen(EXIT_MARKER).await;
        let code = screen
            .rsplit(EXIT_MARKER)
            .next()
            .and_then(|rest| rest.split(']').next())
            .and_then(|code| code.trim().parse().ok())
            .unwrap_or_else(|| panic!("no exit code on the screen:\n{screen}"));
        (code, screen)
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-f", "/dev/null", "-L", &self.socket, "kill-server"])
            .env_remove("TMUX")
            .output();
    }
}

/// One command of `Home::run_steps_under`.
pub struct Step {
    pub name: String,
    pub argv: Vec<String>,
    pub stdin: Option<String>,
}

impl Step {
    pub fn new(name: &str, argv: &[&str]) -> Step {
        Step {
            name: name.to_owned(),
            argv: argv.iter().map(|s| (*s).to_owned()).collect(),
            stdin: None,
        }
    }

    pub fn stdin(mut self, input: &str) -> Step {
        self.stdin = Some(input.to_owned());
        self
    }
}

/// Single-quotes a word for sh.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Whether `program` is on PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

/// For tests that need system tools: true when they are all there. When one
/// is missing, CI (env CI set) fails naming the Debian package; elsewhere a
/// loud notice is printed and the caller skips.
pub fn require_tools(test: &str, tools: &[(&str, &str)]) -> bool {
    let missing: Vec<String> = tools
        .iter()
        .filter(|(program, _)| !on_path(program))
        .map(|(program, package)| format!("{program} (Debian package {package})"))
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!("{test} needs {}", missing.join(", "));
    if std::env::var_os("CI").is_some() {
        panic!("{message}: install it in CI (.ci/run)");
    }
    // Straight to the stderr handle: libtest captures eprintln! of passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!! SKIPPED {test}: {message} !!!!!!!!\n"
    );
    false
}

/// The server's log once every request made so far is in it: the harness
/// copies the log asynchronously, so a line can trail the response. A
/// request to a unique path marks the end; lines arrive in order.
pub async fn settled_log(server: &crate::Server) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let marker = format!(
        "log-marker-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let path = format!("{}/{marker}", gatepass_common::paths::USERS);
    server.api().get(&path, None).await;
    crate::wait_for(
        "the server log to catch up",
        std::time::Duration::from_secs(20),
        || async {
            let log = server.log();
            log.contains(&marker).then_some(log)
        },
    )
    .await
}

/// How many requests to /reauth the server has logged (one line per
/// request, `POST /api/users/reauth 201 3.1ms`; the route table printed at
/// launch has no status after the path).
pub async fn reauth_count(server: &crate::Server) -> usize {
    let needle = format!("POST {} ", gatepass_common::paths::REAUTH);
    settled_log(server)
        .await
        .lines()
        .filter_map(|line| line.find(&needle).map(|at| &line[at + needle.len()..]))
        .filter(|rest| rest.len() >= 3 && rest.as_bytes()[..3].iter().all(u8::is_ascii_digit))
        .count()
}
