//! The client's part of issue 14, with the real `gatepass` binary:
//! - plain http to a host that is not loopback is refused before any prompt
//!   or request, unless `--allow-http` / `GATEPASS_ALLOW_HTTP=1`, which warns
//!   before the prompt;
//! - `gatepass reset` takes its token from a prompt or standard input, so it
//!   need not sit in the process list and the shell history;
//! - the server's strings reach the terminal with their control and bidi
//!   characters escaped; JSON carries them exactly.
//!
//! No traffic leaves the machine. The "other host" is `0.0.0.0` with the
//! test server's port: no loopback address by the client's rule (nor by
//! any rule: it means "no address"), yet on Linux a connection to it lands
//! on the loopback interface, so even a client that failed to refuse would
//! only reach the local test server, whose log then shows whether anything
//! was sent.

use std::time::Duration;

use gatepass_tests::cli::{settled_log, Home};
use gatepass_tests::{unique_email, Server, SmtpSink, PASSWORD};

/// The test server's address as another host: `http://0.0.0.0:<port>`.
fn other_host(server: &Server) -> String {
    let port = server
        .base_url
        .rsplit(':')
        .next()
        .expect("the base URL has a port");
    format!("http://0.0.0.0:{port}")
}

/// The API requests the server has logged (method, path, status), the log
/// marker of `settled_log` left out.
async fn logged_requests(server: &Server) -> Vec<String> {
    settled_log(server)
        .await
        .lines()
        .filter(|line| line.contains(" /api/") && !line.contains("log-marker-"))
        .filter(|line| {
            // A request line has a status after the path; the route table
            // printed at launch has none.
            line.split_whitespace()
                .skip_while(|word| !word.starts_with("/api/"))
                .nth(1)
                .is_some_and(|status| {
                    status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit())
                })
        })
        .map(str::to_owned)
        .collect()
}

#[track_caller]
fn assert_refused(run: &gatepass_tests::cli::Run, host: &str) {
    run.assert_code(2);
    assert!(
        run.stderr
            .contains(&format!("refusing plain http to {host}")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--allow-http"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

/// Every command that talks to the server refuses plain http to another
/// host up front: exit 2, the reason and the way out, and not one request
/// reaches the server (its log stays empty).
#[tokio::test]
async fn plain_http_to_another_host_is_refused_before_any_request() {
    let server = Server::start();
    let home = Home::new(&other_host(&server));
    let email = unique_email("plainhttp");
    let password_line = format!("{PASSWORD}\n");

    let with_password: [&[&str]; 3] = [
        &["login", "--email", &email, "--password-stdin"],
        &[
            "signup",
            "--first-name",
            "Ada",
            "--last-name",
            "Lovelace",
            "--email",
            &email,
            "--password-stdin",
        ],
        &["reset", "abc_DEF-123", "--password-stdin"],
    ];
    for args in with_password {
        assert_refused(&home.run_with_stdin(args, &password_line), "0.0.0.0");
    }
    let reset_link = format!("abc_DEF-123\n{PASSWORD}\n");
    assert_refused(
        &home.run_with_stdin(&["reset", "--token-stdin", "--password-stdin"], &reset_link),
        "0.0.0.0",
    );
    for args in [
        &["me"][..],
        &["user", "00000000-0000-4000-8000-000000000000"],
        &["token"],
        &["refresh"],
        &["sessions"],
        &["sessions", "revoke", "00000000-0000-4000-8000-000000000000"],
        &["logout"],
        &["logout", "--all"],
        &["forgot", "--email", &email],
        &["tui"],
    ] {
        assert_refused(&home.run(args), "0.0.0.0");
    }
    // An access token from the environment would travel too.
    let with_env_token =
        Home::new(&other_host(&server)).env("GATEPASS_ACCESS_TOKEN", "abc.def.ghi");
    assert_refused(&with_env_token.run(&["me"]), "0.0.0.0");

    // --json: the usual error object on stderr.
    let json = home.run_with_stdin(
        &["--json", "login", "--email", &email, "--password-stdin"],
        &password_line,
    );
    json.assert_code(2);
    let error = json.error_json();
    assert_eq!(error["code"], "usage");
    assert_eq!(error["exitCode"], 2);
    let feedback = error["feedback"].as_str().expect("feedback");
    assert!(
        feedback.starts_with("refusing plain http to 0.0.0.0"),
        "{feedback}"
    );

    assert_eq!(logged_requests(&server).await, Vec::<String>::new());
}

/// On a terminal the refusal comes instead of the password prompt, not
/// after it; with the opt-in the warning comes before the prompt.
#[tokio::test]
async fn the_refusal_and_the_warning_come_before_the_password_prompt() {
    let server = Server::start();
    let email = unique_email("prompt");
    server.api().signup(&email).await;
    let home = Home::new(&other_host(&server));

    let Some(refused) = home.in_terminal("refused", &["login", "--email", &email]) else {
        return;
    };
    let (code, screen) = refused.wait_for_exit().await;
    assert_eq!(code, 2, "{screen}");
    assert!(
        screen.contains("refusing plain http to 0.0.0.0"),
        "{screen}"
    );
    assert!(!screen.contains("Password"), "a prompt appeared:\n{screen}");

    // The terminal app is refused before it opens.
    let Some(app) = home.in_terminal("refused-app", &["tui"]) else {
        return;
    };
    let (code, screen) = app.wait_for_exit().await;
    assert_eq!(code, 2, "{screen}");
    assert!(
        screen.contains("refusing plain http to 0.0.0.0"),
        "{screen}"
    );

    // --allow-http: the warning, then the prompt; the sign-in goes through.
    let Some(allowed) = home.in_terminal("allowed", &["--allow-http", "login", "--email", &email])
    else {
        return;
    };
    let screen = allowed.wait_for_screen("Password:").await;
    let warning = screen.find("warning: plain http to 0.0.0.0");
    let prompt = screen.find("Password:");
    assert!(
        warning.is_some() && warning < prompt,
        "the warning should come before the prompt:\n{screen}"
    );
    allowed.type_line(PASSWORD);
    let (code, screen) = allowed.wait_for_exit().await;
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("Signed in as Ada Lovelace"), "{screen}");
}

/// `GATEPASS_ALLOW_HTTP=1` opts in like the flag (and shows the warning
/// before anything else); `0` does not.
#[tokio::test]
async fn the_environment_opts_in_like_the_flag() {
    let server = Server::start();
    let email = unique_email("envoptin");
    let opted_in = Home::new(&other_host(&server)).env("GATEPASS_ALLOW_HTTP", "1");
    let signup = opted_in.signup(&email);
    let first = signup.stderr.lines().next().unwrap_or("");
    assert!(
        first.starts_with("gatepass: warning: plain http to 0.0.0.0"),
        "{}",
        signup.stderr
    );
    assert!(signup.stdout.contains("Signed in as"), "{}", signup.stdout);
    opted_in.run(&["me"]).assert_code(0);

    let opted_out = Home::new(&other_host(&server)).env("GATEPASS_ALLOW_HTTP", "0");
    assert_refused(&opted_out.run(&["me"]), "0.0.0.0");
}

/// http to loopback (the test server on 127.0.0.1, and `localhost`) works
/// as before, with no warning.
#[tokio::test]
async fn plain_http_to_loopback_keeps_working_without_a_warning() {
    let server = Server::start();
    let port = other_host(&server).rsplit(':').next().map(str::to_owned);
    let port = port.expect("port");
    for base in [server.base_url.clone(), format!("http://localhost:{port}")] {
        let home = Home::new(&base);
        let email = unique_email("loopback");
        let signup = home.signup(&email);
        assert!(!signup.stderr.contains("plain http"), "{}", signup.stderr);
        let me = home.run(&["me"]);
        me.assert_code(0);
        assert!(me.stderr.is_empty(), "{}", me.stderr);
    }
}

/// The link of the reset mail that `gatepass forgot` sends now (other mails,
/// such as a notice of a changed password, may arrive too).
fn reset_link(home: &Home, sink: &SmtpSink, email: &str, base: &str) -> String {
    let before = sink.mails_to(email).len();
    home.run(&["forgot", "--email", email]).assert_code(0);
    let mut count = before + 1;
    loop {
        // Waits (up to its timeout) for one more mail each round.
        let mails = sink.wait_for_mails_to(email, count, Duration::from_secs(20));
        let link = mails[before..]
            .iter()
            .find_map(|mail| mail.link_starting_with(&format!("{base}/")));
        if let Some(link) = link {
            return link;
        }
        count = mails.len() + 1;
    }
}

/// `gatepass reset --token-stdin --password-stdin`: the link on the first
/// line, the new password on the second; the reset works and neither shows
/// in the output. Without a token and without a terminal, exit 2 at once.
#[tokio::test]
async fn reset_reads_the_token_from_standard_input() {
    let sink = SmtpSink::start();
    let base = "http://localhost:3000/change-pass";
    let server = Server::builder()
        .smtp(&sink)
        .env("AUTH_RESET_URL", base)
        .start();
    let home = Home::new(&server.base_url);
    let email = unique_email("tokenstdin");
    home.signup(&email);

    // No token, no terminal (stdin is a pipe), no --token-stdin: a usage
    // error at once, not a wait.
    let no_token = home.run_with_stdin(&["reset", "--password-stdin"], &format!("{PASSWORD}\n"));
    no_token.assert_code(2);
    assert!(
        no_token.stderr.contains("--token-stdin"),
        "{}",
        no_token.stderr
    );
    // Both a token argument and --token-stdin: a usage error.
    home.run(&["reset", "abc", "--token-stdin"]).assert_code(2);
    // An empty first line is no token.
    let empty = home.run_with_stdin(&["reset", "--token-stdin", "--password-stdin"], "\nx\n");
    empty.assert_code(2);
    assert!(empty.stderr.contains("no reset token"), "{}", empty.stderr);

    let link = reset_link(&home, &sink, &email, base);
    let new_password = "N3w-horse-battery-staple!";
    let reset = home.run_with_stdin(
        &["reset", "--token-stdin", "--password-stdin"],
        &format!("{link}\n{new_password}\n"),
    );
    reset.assert_code(0);
    assert!(
        reset.stdout.contains("Sign in with the new password"),
        "{}",
        reset.stdout
    );
    for output in [&reset.stdout, &reset.stderr] {
        assert!(!output.contains(new_password), "{output}");
        let token = link.rsplit('/').next().expect("token");
        assert!(!output.contains(token), "{output}");
    }
    let login = home.run_with_stdin(
        &["login", "--email", &email, "--password-stdin"],
        &format!("{new_password}\n"),
    );
    login.assert_code(0);

    // The argument still works (with --json, the same answer as before).
    // Another account: one reset mail per account per cooldown.
    let email = unique_email("tokenarg");
    home.signup(&email);
    let link = reset_link(&home, &sink, &email, base);
    let reset = home.run_with_stdin(
        &["--json", "reset", &link, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    reset.assert_code(0);
    assert!(reset.json()["message"].is_string(), "{}", reset.stdout);
    home.login(&email);
}

/// On a terminal, `gatepass reset` with no argument asks for the link
/// without echoing it, then for the new password twice.
#[tokio::test]
async fn reset_asks_for_the_token_on_a_terminal_without_echo() {
    let sink = SmtpSink::start();
    let base = "http://localhost:3000/change-pass";
    let server = Server::builder()
        .smtp(&sink)
        .env("AUTH_RESET_URL", base)
        .start();
    let home = Home::new(&server.base_url);
    let email = unique_email("tokenprompt");
    home.signup(&email);
    let link = reset_link(&home, &sink, &email, base);

    let Some(terminal) = home.in_terminal("reset", &["reset"]) else {
        return;
    };
    terminal
        .wait_for_screen("Reset link or token (not shown):")
        .await;
    terminal.type_line(&link);
    terminal.wait_for_screen("Password:").await;
    let new_password = "An0ther-horse-battery!";
    terminal.type_line(new_password);
    terminal.wait_for_screen("Password again:").await;
    terminal.type_line(new_password);
    let (code, screen) = terminal.wait_for_exit().await;
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("Sign in with the new password"), "{screen}");
    let token = link.rsplit('/').next().expect("token");
    assert!(!screen.contains(token), "the token was echoed:\n{screen}");
    assert!(!screen.contains(new_password), "{screen}");
    home.run_with_stdin(
        &["login", "--email", &email, "--password-stdin"],
        &format!("{new_password}\n"),
    )
    .assert_code(0);
}

/// `gatepass reset --help` says what the argument exposes and where else
/// the token can come from.
#[test]
fn reset_help_says_what_the_argument_exposes() {
    let home = Home::new("http://127.0.0.1:9");
    let help = home.run(&["reset", "--help"]);
    help.assert_code(0);
    for text in ["process list", "shell history", "--token-stdin", "second"] {
        assert!(
            help.stdout.contains(text),
            "{text:?} missing:\n{}",
            help.stdout
        );
    }
}

/// A name with a bidi override, a zero-width space and an escape sequence
/// (put straight into the database: the server refuses such names at
/// signup): the human output shows them escaped, JSON exactly.
#[tokio::test]
async fn server_strings_reach_the_terminal_escaped_and_json_exactly() {
    let server = Server::start();
    let home = Home::new(&server.base_url);
    let email = unique_email("bidi");
    home.signup(&email);

    let hostile = "\u{202e}nimda\u{200b}\u{1b}[2J\u{7}";
    let changed = server
        .sql(&format!(
            "UPDATE users SET first_name = '{hostile}' WHERE email = '{email}'"
        ))
        .await;
    assert_eq!(changed, 1);
    let escaped = r"\u{202e}nimda\u{200b}\u{1b}[2J\u{7}";
    let raw = ['\u{202e}', '\u{200b}', '\u{1b}', '\u{7}'];

    let me = home.run(&["me"]);
    me.assert_code(0);
    assert!(
        me.stdout.contains(&format!("{escaped} Lovelace <{email}>")),
        "{}",
        me.stdout
    );
    assert!(
        !me.stdout.contains(raw),
        "a raw control reached the terminal: {:?}",
        me.stdout
    );

    let json = home.run(&["--json", "me"]);
    json.assert_code(0);
    assert_eq!(json.json()["user"]["firstName"], hostile);

    // Signing in greets with the stored name, escaped too.
    let login = home.login(&email);
    assert!(login.stdout.contains(escaped), "{}", login.stdout);
    assert!(!login.stdout.contains(raw), "{:?}", login.stdout);
    let status = home.run(&["status"]);
    status.assert_code(0);
    assert!(status.stdout.contains(escaped), "{}", status.stdout);
    assert!(!status.stdout.contains(raw), "{:?}", status.stdout);
}
