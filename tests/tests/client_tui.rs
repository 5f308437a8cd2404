//! The terminal app, for real: the `gatepass` binary in a tmux pseudo-
//! terminal against a real server, driven by keys and read back from the
//! screen. Every wait polls the screen; none is a fixed sleep.
//!
//! Needs tmux (Debian package `tmux`). Without it the test fails under CI
//! and is skipped, loudly, elsewhere.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use gatepass_tests::cli::Home;
use gatepass_tests::{binary, unique_email, wait_for, Server, SmtpSink, PASSWORD};

const SCREEN_WAIT: Duration = Duration::from_secs(30);
const EXIT_MARKER: &str = "[gatepass exited with";

/// One tmux server on a socket of its own, holding one session running the
/// app. Killed when dropped, whatever the test's outcome.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn available() -> bool {
        Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        // No user configuration; not nested in the developer's own tmux.
        command
            .args(["-f", "/dev/null", "-L", &self.socket])
            .env_remove("TMUX");
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        let output = self.command().args(args).output().expect("run tmux");
        assert!(
            output.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Starts `shell_command` in a `width` x `height` pane. The pane
    /// outlives the app (a marker with its exit code, then a long sleep),
    /// so the screen after exit can be read too.
    fn start(tag: &str, width: u16, height: u16, shell_command: &str) -> Tmux {
        let tmux = Tmux {
            socket: format!("gatepass-{tag}-{}", std::process::id()),
        };
        let script = format!("{shell_command}; echo \"{EXIT_MARKER} $?]\"; sleep 600");
        tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "app",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            &script,
        ]);
        tmux
    }

    /// Types text as it is (no key names).
    fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "app", "-l", text]);
    }

    /// Presses keys by tmux name (`Tab`, `Enter`, `C-c`).
    fn press(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "app"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "app"]).stdout).into_owned()
    }

    /// The app's process id: the child of the pane's shell.
    fn app_pid(&self) -> u32 {
        let out = self.run(&["display-message", "-p", "-t", "app", "#{pane_pid}"]);
        let shell: u32 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("pane pid");
        std::fs::read_dir("/proc")
            .expect("/proc")
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .find(|pid| {
                // `pid (comm) state ppid ...`; comm may hold spaces, so split after ')'.
                std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                    stat.rsplit_once(')')
                        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                        .and_then(|ppid| ppid.parse::<u32>().ok())
                        == Some(shell)
                })
            })
            .expect("the app runs under the pane's shell")
    }

    /// Waits until every one of `texts` is on the screen; returns the screen.
    async fn wait_for_screen(&self, texts: &[&str]) -> String {
        let what = format!("{texts:?} on the screen");
        let found = tokio::time::timeout(
            SCREEN_WAIT + Duration::from_secs(1),
            wait_for(&what, SCREEN_WAIT, || async {
                let screen = self.screen();
                texts.iter().all(|t| screen.contains(t)).then_some(screen)
            }),
        )
        .await;
        match found {
            Ok(screen) => screen,
            Err(_) => panic!(
                "timed out waiting for {what}; the screen:\n{}",
                self.screen()
            ),
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").output();
    }
}

/// Quotes a word for `sh`.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// `env -i ... gatepass tui` in an isolated home: the tmux server's own
/// environment (whoever started it first) does not leak in.
fn app_command(home: &Path, server: &str) -> String {
    let vars = [
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("HOME", home.display().to_string()),
        ("XDG_DATA_HOME", home.join("data").display().to_string()),
        ("XDG_CONFIG_HOME", home.join("config").display().to_string()),
        ("XDG_CACHE_HOME", home.join("cache").display().to_string()),
        ("XDG_RUNTIME_DIR", home.join("run").display().to_string()),
        ("TERM", "screen-256color".to_owned()),
        ("LANG", "C.UTF-8".to_owned()),
        ("GATEPASS_SERVER", server.to_owned()),
        // No keyring in a test: the token goes to a file in the temp home.
        ("GATEPASS_TOKEN_STORE", "file".to_owned()),
    ];
    let mut words = vec!["env".to_owned(), "-i".to_owned()];
    words.extend(vars.iter().map(|(k, v)| quote(&format!("{k}={v}"))));
    words.push(quote(&binary("gatepass").display().to_string()));
    words.push("tui".to_owned());
    words.join(" ")
}

/// Whether the test can run; without tmux it fails under CI and is
/// skipped, loudly, elsewhere.
fn tmux_or_skip() -> bool {
    if Tmux::available() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("tmux is missing: install the Debian package `tmux` (apt-get install -y tmux)");
    }
    // Straight to stderr: the test harness captures eprintln! of a passing test.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "\n!!! SKIPPED client_tui: tmux is not installed (Debian package `tmux`).\n\
         !!! The terminal app's end-to-end test did not run.\n"
    );
    false
}

/// `kill <pid>` (SIGTERM) on the running app: it gives the shell its
/// terminal back and exits 143, as a shell reports a process SIGTERM killed.
#[tokio::test]
async fn sigterm_gives_the_terminal_back() {
    if !tmux_or_skip() {
        return;
    }
    let server = Server::start();
    let home = tempfile::tempdir().expect("temp home");
    let tmux = Tmux::start(
        "sigterm",
        100,
        30,
        &app_command(home.path(), &server.base_url),
    );
    tmux.wait_for_screen(&["Sign in to your gatepass account."])
        .await;

    let pid = tmux.app_pid();
    let killed = Command::new("sh")
        .args(["-c", &format!("kill -TERM {pid}")])
        .status()
        .expect("run kill");
    assert!(killed.success());

    let screen = tmux
        .wait_for_screen(&[&format!("{EXIT_MARKER} 143]")])
        .await;
    assert!(
        !screen.contains("Sign in to your gatepass account."),
        "the app's screen is still up after SIGTERM:\n{screen}"
    );
    assert!(screen.contains("stopped by SIGTERM"), "{screen}");
    // Raw mode is off again: the shell's output starts its lines at the
    // left edge (in raw mode a newline does not return the carriage).
    let marker_line = screen
        .lines()
        .find(|line| line.contains(EXIT_MARKER))
        .unwrap();
    assert!(marker_line.starts_with(EXIT_MARKER), "{screen}");
}

#[tokio::test]
async fn sign_up_see_the_account_sign_out_in_a_real_terminal() {
    if !tmux_or_skip() {
        return;
    }
    let server = Server::start();
    let home = tempfile::tempdir().expect("temp home");
    let email = unique_email("tui");
    let tmux = Tmux::start(
        "signup",
        100,
        30,
        &app_command(home.path(), &server.base_url),
    );

    // No session yet: Sign in, with the server in the status bar.
    tmux.wait_for_screen(&[
        "Sign in to your gatepass account.",
        &server.base_url,
        "not signed in",
    ])
    .await;

    // Email, Password, [Sign in], [Create an account].
    tmux.press(&["Tab", "Tab", "Tab", "Enter"]);
    tmux.wait_for_screen(&["Create a gatepass account."]).await;
    for (i, text) in ["Ada", "Lovelace", email.as_str(), PASSWORD, PASSWORD]
        .iter()
        .enumerate()
    {
        if i > 0 {
            tmux.press(&["Tab"]);
        }
        tmux.type_text(text);
    }
    let typed = tmux.screen();
    assert!(
        !typed.contains(PASSWORD),
        "the password shows on the screen:\n{typed}"
    );
    tmux.press(&["Enter"]);

    // The account: the user's name, this device's session, the status bar.
    let screen = tmux
        .wait_for_screen(&["Ada Lovelace", "Sessions (1)", "this device", "store: file"])
        .await;
    assert!(screen.contains(&email), "{screen}");
    assert!(screen.contains("token "), "no expiry countdown:\n{screen}");
    assert!(!screen.contains(PASSWORD), "{screen}");

    // Sign out: back to Sign in, the email kept for next time.
    tmux.press(&["s"]);
    let screen = tmux
        .wait_for_screen(&[
            "Signed out.",
            "Sign in to your gatepass account.",
            "not signed in",
        ])
        .await;
    assert!(screen.contains(&email), "{screen}");

    // Ctrl-C quits with 0 and gives the shell its screen back.
    tmux.press(&["C-c"]);
    let screen = tmux.wait_for_screen(&[&format!("{EXIT_MARKER} 0]")]).await;
    assert!(
        !screen.contains("Sign in to your gatepass account."),
        "the app's screen is still up after exit:\n{screen}"
    );
}

/// Pasting the reset link is how the Reset screen is used: a bracketed
/// paste goes into the field whole, its trailing newline does not submit
/// the form, and the arrow keys move the cursor to fix a typo inside it.
#[tokio::test]
async fn paste_a_reset_link_and_fix_a_typo_with_the_cursor() {
    if !tmux_or_skip() {
        return;
    }
    let sink = SmtpSink::start();
    let reset_base = "http://localhost:3000/change-pass";
    let server = Server::builder()
        .smtp(&sink)
        .env("AUTH_RESET_URL", reset_base)
        .start();
    let email = unique_email("tuipaste");
    let cli = Home::new(&server.base_url);
    cli.signup(&email);
    cli.run(&["forgot", "--email", &email]).assert_code(0);
    let link = sink
        .wait_for_mails_to(&email, 1, Duration::from_secs(20))
        .last()
        .and_then(|mail| mail.link_starting_with(&format!("{reset_base}/")))
        .expect("a reset link in the mail");
    // A stray character four from the end, and the newline a copied line
    // ends with.
    let split = link.len() - 4;
    let typo = format!("{}X{}\n", &link[..split], &link[split..]);

    let home = tempfile::tempdir().expect("temp home");
    let tmux = Tmux::start(
        "paste",
        100,
        30,
        &app_command(home.path(), &server.base_url),
    );
    tmux.wait_for_screen(&["Sign in to your gatepass account."])
        .await;
    // Email, Password, [Sign in], [Create], [Forgot], [I have a reset link].
    tmux.press(&["Tab", "Tab", "Tab", "Tab", "Tab", "Enter"]);
    tmux.wait_for_screen(&["Paste the whole link from the reset email"])
        .await;

    // `paste-buffer -p` wraps the text in the bracketed-paste markers,
    // as a terminal does, when the app has asked for them.
    tmux.run(&["set-buffer", "-b", "link", &typo]);
    tmux.run(&["paste-buffer", "-p", "-d", "-b", "link", "-t", "app"]);
    // The newline did not submit: no complaint about the token yet.
    tmux.press(&["Left", "Left", "Left", "Left", "BSpace", "End", "Tab"]);
    tmux.type_text(NEW_PASSWORD);
    tmux.press(&["Tab"]);
    tmux.type_text(NEW_PASSWORD);
    let typed = tmux.screen();
    assert!(
        !typed.contains(&link),
        "the link shows on the screen:\n{typed}"
    );
    assert!(!typed.contains("✗"), "an error before submitting:\n{typed}");
    tmux.press(&["Enter"]);
    tmux.wait_for_screen(&["Sign in with the new password."])
        .await;

    // The fixed link was the right one: the new password signs in.
    cli.run_with_stdin(
        &["login", "--email", &email, "--password-stdin"],
        &format!("{NEW_PASSWORD}\n"),
    )
    .assert_code(0);
    tmux.press(&["C-c"]);
    tmux.wait_for_screen(&[&format!("{EXIT_MARKER} 0]")]).await;
}

const NEW_PASSWORD: &str = "N3w-horse-battery-staple!";
