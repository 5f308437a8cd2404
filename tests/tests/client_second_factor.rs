//! `gatepass 2fa ...` and `gatepass login` with a second factor (issue 17),
//! the real binary against a real server, each test in its own temporary
//! home. Scripts enrol in two steps (`2fa enable --password-stdin --json`
//! prints the secret, `2fa confirm --code` finishes); codes come from the
//! tests' own authenticator (`tests/src/totp.rs`), at most two per account
//! and step, so nothing waits for the clock.

use gatepass_tests::cli::{Home, Run};
use gatepass_tests::totp::{code, now_step, Authenticator};
use gatepass_tests::{unique_email, Server, PASSWORD};
use serde_json::Value;

/// `gatepass --json 2fa enable --password-stdin`: the secret and the URI.
fn enable(home: &Home) -> (String, String) {
    let run = home.run_with_stdin(
        &["--json", "2fa", "enable", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    run.assert_code(0);
    let answer = run.json();
    let secret = answer["secret"].as_str().expect("secret").to_owned();
    let uri = answer["otpauthUri"]
        .as_str()
        .expect("otpauthUri")
        .to_owned();
    assert!(
        run.stderr.contains("gatepass 2fa confirm --code"),
        "says how to finish: {}",
        run.stderr
    );
    assert!(!run.stderr.contains(PASSWORD), "{}", run.stderr);
    (secret, uri)
}

/// `gatepass --json 2fa confirm --code CODE`: the recovery codes.
fn confirm(home: &Home, code: &str) -> Vec<String> {
    let run = home.run(&["--json", "2fa", "confirm", "--code", code]);
    run.assert_code(0);
    let answer = run.json();
    assert_eq!(answer["totp"], true);
    strings(&answer["recoveryCodes"])
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("an array: {value}"))
        .iter()
        .map(|c| c.as_str().expect("a string").to_owned())
        .collect()
}

fn status(home: &Home) -> Value {
    let run = home.run(&["--json", "2fa", "status"]);
    run.assert_code(0);
    run.json()
}

fn login(home: &Home, email: &str, extra: &[&str]) -> Run {
    let mut args = vec!["--json", "login", "--email", email, "--password-stdin"];
    args.extend_from_slice(extra);
    home.run_with_stdin(&args, &format!("{PASSWORD}\n"))
}

fn logout(home: &Home) {
    home.run(&["logout"]).assert_code(0);
}

/// The stored session works: `gatepass me` answers with the account.
#[track_caller]
fn assert_signed_in_as(home: &Home, email: &str) {
    let status = home.run(&["--json", "status"]);
    let status = status.assert_code(0).json();
    assert_eq!(status["accessTokenPresent"], true, "{status}");
    assert_eq!(status["refreshCookiePresent"], true, "{status}");
    assert_eq!(status["tokenStore"], "file", "{status}");
    let me = home.run(&["--json", "me"]);
    assert_eq!(me.assert_code(0).json()["user"]["email"], email);
}

#[tokio::test]
async fn a_script_enrols_in_two_steps_and_signs_in_with_a_code() {
    let server = Server::start();
    let home = Home::new(&server.base_url);
    let email = unique_email("cli2fa");
    home.signup(&email);

    let off = status(&home);
    assert_eq!(off["totp"], false, "{off}");
    assert_eq!(off["recoveryCodesLeft"], 0, "{off}");

    let (secret, uri) = enable(&home);
    assert!(uri.starts_with("otpauth://totp/gatepass:"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    // Set up, not on yet.
    assert_eq!(status(&home)["totp"], false);

    // A code of another time is refused; TOTP stays off.
    let wrong = home.run(&[
        "--json",
        "2fa",
        "confirm",
        "--code",
        &code(&secret, now_step() + 20),
    ]);
    wrong.assert_code(1);
    assert_eq!(wrong.error_json()["code"], "invalid_code");

    let mut app = Authenticator::new(&secret);
    let recovery = confirm(&home, &app.next_code().await);
    assert_eq!(recovery.len(), 10, "{recovery:?}");
    let on = status(&home);
    assert_eq!(on["totp"], true, "{on}");
    assert_eq!(on["recoveryCodesLeft"], 10, "{on}");
    // The session that enrolled goes on.
    assert_signed_in_as(&home, &email);

    logout(&home);
    // No terminal and no code: a usage error at once, naming the flag, and
    // nothing stored.
    let no_code = home.run_with_stdin(
        &["login", "--email", &email, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    no_code.assert_code(2);
    assert!(no_code.stderr.contains("--code"), "{}", no_code.stderr);
    assert!(
        no_code.stderr.contains("--recovery-code"),
        "{}",
        no_code.stderr
    );
    let no_code_json = login(&home, &email, &[]);
    no_code_json.assert_code(2);
    let error = no_code_json.error_json();
    assert_eq!(error["code"], "usage", "{error}");
    assert_eq!(error["exitCode"], 2, "{error}");
    assert!(
        error["feedback"].as_str().unwrap().contains("--code"),
        "{error}"
    );
    let signed_out = home.run(&["--json", "status"]);
    assert_eq!(signed_out.assert_code(4).json()["signedIn"], false);

    // With --code: signed in as by a login without a second factor.
    let signed_in = login(&home, &email, &["--code", &app.next_code().await]);
    signed_in.assert_code(0);
    assert_eq!(signed_in.json()["user"]["email"], email.as_str());
    assert_signed_in_as(&home, &email);
    // The token it stored is the server's.
    let token = home.run(&["token"]);
    let reply = server.api().me(token.assert_code(0).stdout.trim()).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[tokio::test]
async fn recovery_codes_sign_in_once_each_and_disable_turns_it_off() {
    let server = Server::start();
    let home = Home::new(&server.base_url);
    let email = unique_email("cli2fa-recovery");
    home.signup(&email);
    let (secret, _) = enable(&home);
    let mut app = Authenticator::new(&secret);
    let recovery = confirm(&home, &app.next_code().await);

    logout(&home);
    login(&home, &email, &["--recovery-code", &recovery[0]]).assert_code(0);
    assert_signed_in_as(&home, &email);
    let text = home.run(&["2fa", "status"]);
    assert_eq!(
        text.assert_code(0).stdout.trim(),
        "Two-factor sign-in: on (9 recovery codes left)."
    );

    logout(&home);
    let again = login(&home, &email, &["--recovery-code", &recovery[0]]);
    again.assert_code(1);
    assert_eq!(again.error_json()["code"], "invalid_code");
    login(&home, &email, &["--recovery-code", &recovery[1]]).assert_code(0);

    // New codes for a code; the text output shows them with the warning.
    let renewed = home.run(&["2fa", "recovery-codes", "--code", &app.next_code().await]);
    renewed.assert_code(0);
    assert!(
        renewed.stdout.contains("not shown again"),
        "{}",
        renewed.stdout
    );
    let fresh: Vec<&str> = renewed
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("  "))
        .collect();
    assert_eq!(fresh.len(), 10, "{}", renewed.stdout);
    assert!(fresh.iter().all(|c| !recovery.contains(&(*c).to_owned())));
    assert_eq!(status(&home)["recoveryCodesLeft"], 10);

    // Without a terminal, disable needs --code: said before the password is read.
    let no_code = home.run_with_stdin(
        &["2fa", "disable", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    no_code.assert_code(2);
    assert!(no_code.stderr.contains("--code"), "{}", no_code.stderr);
    // A recovery code does for the code.
    let off = home.run_with_stdin(
        &[
            "--json",
            "2fa",
            "disable",
            "--password-stdin",
            "--code",
            fresh[0],
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(off.assert_code(0).json()["totp"], false);
    assert_eq!(status(&home)["totp"], false);

    // The password alone signs in again.
    logout(&home);
    login(&home, &email, &[]).assert_code(0);
    assert_signed_in_as(&home, &email);
}

#[tokio::test]
async fn scripts_without_the_flags_fail_at_once_naming_them() {
    let server = Server::start();
    let home = Home::new(&server.base_url);
    let email = unique_email("cli2fa-flags");
    home.signup(&email);

    for (args, flag) in [
        (vec!["2fa", "enable"], "--password-stdin"),
        (vec!["2fa", "confirm"], "--code"),
        (vec!["2fa", "recovery-codes"], "--code"),
        (
            vec!["2fa", "disable", "--code", "123456"],
            "--password-stdin",
        ),
    ] {
        let run = home.run(&args);
        run.assert_code(2);
        assert!(run.stderr.contains(flag), "{args:?}: {}", run.stderr);
    }
    // Nothing was set up.
    assert_eq!(status(&home)["totp"], false);

    // Without --json, a script gets the secret and the URI as text (no QR
    // code: stdout is not a terminal) and the way to finish.
    let text = home.run_with_stdin(
        &["2fa", "enable", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    text.assert_code(0);
    let secret = text
        .stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("secret: "))
        .unwrap_or_else(|| panic!("a secret line: {}", text.stdout))
        .to_owned();
    assert!(
        text.stdout.contains("otpauth://totp/gatepass:"),
        "{}",
        text.stdout
    );
    assert!(!text.stdout.contains('▀'), "{}", text.stdout);
    let done = home.run(&["2fa", "confirm", "--code", &code(&secret, now_step())]);
    done.assert_code(0);
    assert!(done.stdout.contains("not shown again"), "{}", done.stdout);
}

/// On a terminal: `2fa enable` asks for the password, draws the QR code of
/// the server's URI, asks for a code and shows the recovery codes; `login`
/// asks for the code (or takes a recovery code at the same prompt).
#[tokio::test]
async fn on_a_terminal_enable_draws_the_qr_code_and_login_asks_for_the_code() {
    let server = Server::start();
    let home = Home::new(&server.base_url);
    let email = unique_email("cli2fa-tty");
    home.signup(&email);

    let Some(terminal) = home.in_terminal("cli2fa-enable", &["2fa", "enable"]) else {
        return;
    };
    terminal.wait_for_screen("Password:").await;
    terminal.type_line(PASSWORD);
    let screen = terminal
        .wait_for_screen("Code from your authenticator app:")
        .await;
    let field = |name: &str| {
        screen
            .lines()
            .find_map(|line| line.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} on the screen:\n{screen}"))
            .trim()
            .to_owned()
    };
    let secret = field("secret: ");
    // The URI, wrapped at the pane's width if long: up to the QR code.
    let uri: String = screen
        .lines()
        .skip_while(|line| !line.trim_start().starts_with("URI:"))
        .take_while(|line| !line.contains('█'))
        .collect::<String>()
        .trim()
        .trim_start_matches("URI:")
        .trim()
        .to_owned();
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    // The QR code on the screen is the drawing of the server's URI, whole,
    // as it fits the 120x30 pane (one line kept for the prompt).
    let drawing = gatepass_client::qr::draw_to_fit(&uri, 120, 29)
        .expect("drawn")
        .expect("fits the pane");
    let shown: Vec<&str> = screen
        .lines()
        .filter(|line| line.contains(['█', '▀', '▄']))
        .map(|line| line.trim_end())
        .collect();
    let expected: Vec<&str> = drawing.lines.iter().map(|l| l.trim_end()).collect();
    assert_eq!(shown, expected, "the screen:\n{screen}");
    // And on an ordinary 80x24 terminal it fits too (the quiet zone
    // narrowed when the address is long), whatever this run's email.
    let small = gatepass_client::qr::draw_to_fit(&uri, 80, 23)
        .expect("drawn")
        .expect("fits 80x24");
    assert!(
        small.height <= 23 && small.fits(80, 23),
        "{} lines",
        small.height
    );

    let mut app = Authenticator::new(&secret);
    terminal.type_line(&app.next_code().await);
    let screen = terminal.wait_for_screen("not shown again").await;
    assert!(screen.contains("Two-factor sign-in is on"), "{screen}");
    let (code_exit, _) = terminal.wait_for_exit().await;
    assert_eq!(code_exit, 0);
    drop(terminal);

    logout(&home);
    let Some(terminal) = home.in_terminal("cli2fa-login", &["login", "--email", &email]) else {
        return;
    };
    terminal.wait_for_screen("Password:").await;
    terminal.type_line(PASSWORD);
    terminal
        .wait_for_screen("Code from your authenticator app (or one of your recovery codes):")
        .await;
    terminal.type_line(&app.next_code().await);
    let (exit, screen) = terminal.wait_for_exit().await;
    assert_eq!(exit, 0, "{screen}");
    assert!(screen.contains(&format!("<{email}>")), "{screen}");
    assert_signed_in_as(&home, &email);
}
