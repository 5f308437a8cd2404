//! Two-factor sign-in in the terminal app (issue 17), for real: the
//! `gatepass` binary in a tmux pane (120x30, `Home::in_terminal`, then
//! resized to 60x20 and to an ordinary 80x24) against a real server.
//! Enrolment reads the QR code back off the screen, as a phone would, and
//! uses the secret it carries; sign-in refuses a code of another time, then
//! takes a right one, then a recovery code; the panel renews the recovery
//! codes and turns two-factor sign-in off. Every wait polls the screen; none
//! is a fixed sleep (the tests' authenticator waits for the clock's next
//! step when it has used both that the server takes now).
//!
//! Needs tmux (Debian package `tmux`): without it the test fails under CI
//! and is skipped, loudly, elsewhere (`require_tools`).

use gatepass_tests::cli::{Home, Terminal};
use gatepass_tests::totp::{code, now_step, Authenticator};
use gatepass_tests::{unique_email, Server, PASSWORD};
use serde_json::Value;

/// What the half blocks are made of, and the blank between them.
const QR_CHARS: [char; 4] = ['█', '▀', '▄', ' '];

/// Reads the QR code on `screen` as a camera would see it: each character
/// cell is two pixels, one above the other (ink is a light module, as
/// `qr.rs` draws for a dark terminal), with a light margin around, scaled
/// up, then decoded with `rqrr`. `None` when there is no whole code on
/// the screen (yet: a capture may come in the middle of a frame).
fn scan_qr(screen: &str) -> Option<String> {
    let rows: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    // The top of the quiet zone: the first long run of full blocks.
    let (top, left, size) = rows.iter().enumerate().find_map(|(y, row)| {
        let start = row.iter().position(|&c| c == '█')?;
        let run = row[start..].iter().take_while(|&&c| c == '█').count();
        (run >= 21).then_some((y, start, run))
    })?;
    // Square: `size` modules (quiet zone included) each way, two a row.
    const MARGIN: usize = 4;
    const SCALE: usize = 6;
    let side = size + 2 * MARGIN;
    let mut light = vec![vec![true; side]; side];
    for y in 0..size {
        let row = rows.get(top + y / 2).map(Vec::as_slice).unwrap_or(&[]);
        for x in 0..size {
            let cell = row.get(left + x).copied().unwrap_or(' ');
            if !QR_CHARS.contains(&cell) {
                return None;
            }
            let (upper, lower) = match cell {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                _ => (false, false),
            };
            light[MARGIN + y][MARGIN + x] = if y % 2 == 0 { upper } else { lower };
        }
    }
    let pixels = side * SCALE;
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(pixels, pixels, |x, y| {
        if light[y / SCALE][x / SCALE] {
            255
        } else {
            0
        }
    });
    match image.detect_grids().as_slice() {
        [one] => one.decode().ok().map(|(_, text)| text),
        _ => None,
    }
}

/// Waits for a QR code that scans; returns its text and the screen.
/// `also` is a text the screen must show, and the too-small note must not.
async fn wait_for_qr(terminal: &Terminal, what: &str, also: &str) -> (String, String) {
    terminal
        .wait_for_screen_where(what, |screen| {
            if !screen.contains(also) || screen.contains("Make the window") {
                return None;
            }
            let scanned = scan_qr(screen)?;
            Some((scanned, screen.to_owned()))
        })
        .await
}

/// Waits for the ten recovery codes shown once; returns them.
async fn wait_for_recovery_codes(terminal: &Terminal) -> Vec<String> {
    terminal
        .wait_for_screen_where("ten recovery codes on the screen", |screen| {
            let codes = recovery_codes(screen);
            (screen.contains("They are not shown again.") && codes.len() == 10).then_some(codes)
        })
        .await
}

/// A line's text beside (or below) the QR code.
fn beside_qr(line: &str) -> &str {
    line.trim_start_matches(QR_CHARS).trim_end()
}

/// The rows of text under `label` on the enrolment screen, up to a blank one.
fn under(screen: &str, label: &str) -> Vec<String> {
    screen
        .lines()
        .map(beside_qr)
        .skip_while(|text| *text != label)
        .skip(1)
        .take_while(|text| !text.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The recovery codes on the screen (`xxxxx-xxxxx`, one a line in the box).
fn recovery_codes(screen: &str) -> Vec<String> {
    screen
        .lines()
        .map(|line| line.trim_matches(['│', ' ']))
        .filter(|text| {
            text.len() == 11
                && text.as_bytes()[5] == b'-'
                && text.chars().filter(|c| c.is_ascii_alphanumeric()).count() == 10
        })
        .map(str::to_owned)
        .collect()
}

fn status(home: &Home) -> Value {
    let run = home.run(&["--json", "2fa", "status"]);
    run.assert_code(0);
    run.json()
}

/// From Sign in with the email filled in: the password, then the code step.
async fn password_step(terminal: &Terminal) {
    terminal.type_line(PASSWORD);
    terminal
        .wait_for_screen("Type the code from your authenticator app.")
        .await;
}

#[tokio::test]
async fn enrol_by_scanning_the_screen_sign_in_with_codes_renew_them_and_turn_off() {
    let server = Server::start();
    let home = Home::new(&server.base_url);
    let email = unique_email("tui2fa");
    home.signup(&email);
    let Some(terminal) = home.in_terminal("tui2fa", &["tui"]) else {
        return;
    };

    // Account → 2: the panel says it is off.
    terminal.wait_for_screen("2 two-factor").await;
    terminal.type_text("2");
    terminal.wait_for_screen("Two-factor sign-in: off").await;
    terminal.type_text("e");
    terminal
        .wait_for_screen("First, your current password.")
        .await;
    terminal.type_line(PASSWORD);
    // The QR code scans into the URI the server issued: the one shown as
    // text, for this account, with the secret shown.
    let (scanned, screen) = wait_for_qr(
        &terminal,
        "the QR code",
        "Then type the code the app shows.",
    )
    .await;
    let shown_uri = under(&screen, "URI").concat();
    assert_eq!(scanned, shown_uri, "the screen:\n{screen}");
    let secret = under(&screen, "Secret").concat();
    assert_eq!(secret.len(), 32, "a 20-byte base32 secret: {secret:?}");
    let account = format!("otpauth://totp/gatepass:{}?", email.replace('@', "%40"));
    assert!(scanned.starts_with(&account), "{scanned}");
    assert!(scanned.contains(&format!("secret={secret}&")), "{scanned}");
    // Set up, not on yet.
    assert_eq!(status(&home)["totp"], false);

    // Too small a window says how large to make it, and draws no code.
    terminal.resize(60, 20);
    // (A frame is whole once the old code's last half block is gone.)
    let small = terminal
        .wait_for_screen_where("the too-small note and no QR code", |screen| {
            (screen.contains("Make the window at least") && !screen.contains('▀'))
                .then(|| screen.to_owned())
        })
        .await;
    assert!(small.contains(&secret), "{small}");
    // On an ordinary 80x24 terminal the code is drawn whole and scans.
    terminal.resize(80, 24);
    let (at_80x24, ordinary) =
        wait_for_qr(&terminal, "the QR code at 80x24", "Then type the code").await;
    assert!(ordinary.lines().count() <= 24 && ordinary.lines().all(|l| l.chars().count() <= 80));
    assert_eq!(at_80x24, scanned, "the screen:\n{ordinary}");

    // The secret as the phone read it makes the code that turns it on.
    let from_qr = scanned
        .split(['?', '&'])
        .find_map(|part| part.strip_prefix("secret="))
        .expect("a secret in the URI");
    let mut app = Authenticator::new(from_qr);
    terminal.type_line(&app.next_code().await);
    let codes = wait_for_recovery_codes(&terminal).await;
    let on = status(&home);
    assert_eq!(on["totp"], true, "{on}");
    assert_eq!(on["recoveryCodesLeft"], 10, "{on}");

    // Acknowledged: the codes go, the state stays.
    terminal.press(&["Enter"]);
    terminal
        .wait_for_screen_where("the state, and the codes gone", |screen| {
            (screen.contains("Recovery codes left: 10") && recovery_codes(screen).is_empty())
                .then_some(())
        })
        .await;

    // Signed out, then in again: the password, then a code.
    terminal.press(&["Escape"]);
    terminal.wait_for_screen("Sessions (").await;
    terminal.type_text("s");
    terminal
        .wait_for_screen("Sign in to your gatepass account.")
        .await;
    password_step(&terminal).await;
    // A code of another time is refused on the field; the step stays.
    terminal.type_line(&code(from_qr, now_step() + 20));
    terminal.wait_for_screen("✗").await;
    terminal.type_line(&app.next_code().await);
    terminal.wait_for_screen("Signed in as").await;
    // Loaded (and so not busy): the one session, this one.
    terminal.wait_for_screen("Sessions (1)").await;

    // And with a recovery code instead, which then is used up.
    terminal.type_text("s");
    terminal
        .wait_for_screen("Sign in to your gatepass account.")
        .await;
    password_step(&terminal).await;
    terminal.press(&["Tab", "Tab", "Enter"]);
    terminal
        .wait_for_screen("Type one of your recovery codes")
        .await;
    terminal.type_line(&codes[0]);
    terminal.wait_for_screen("Signed in as").await;
    terminal.wait_for_screen("Sessions (1)").await;
    assert_eq!(status(&home)["recoveryCodesLeft"], 9);

    // New recovery codes for a code; then off, with one of them.
    terminal.type_text("2");
    terminal.wait_for_screen("Recovery codes left: 9").await;
    terminal.type_text("c");
    terminal
        .wait_for_screen("Ten new recovery codes replace")
        .await;
    terminal.type_line(&app.next_code().await);
    let fresh = wait_for_recovery_codes(&terminal).await;
    assert!(fresh.iter().all(|c| !codes.contains(c)), "{fresh:?}");
    terminal.press(&["Enter"]);
    terminal.wait_for_screen("Recovery codes left: 10").await;
    terminal.type_text("x");
    terminal
        .wait_for_screen("Turn off two-factor sign-in:")
        .await;
    terminal.type_text(PASSWORD);
    terminal.press(&["Tab"]);
    terminal.type_line(&fresh[0]);
    terminal
        .wait_for_screen("Turn off two-factor sign-in?")
        .await;
    terminal.type_text("y");
    terminal.wait_for_screen("Two-factor sign-in: off").await;
    assert_eq!(status(&home)["totp"], false);
    terminal.press(&["Escape"]);
    terminal.wait_for_screen("Sessions (1)").await;

    terminal.type_text("q");
    let (exit, screen) = terminal.wait_for_exit().await;
    assert_eq!(exit, 0, "{screen}");
}
