//! Helpers for the TUI's unit and render tests: sample data, key presses,
//! and rendering to text with `TestBackend`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gatepass_common::{ErrorBody, ErrorCode, FieldError, SessionInfo, User};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use time::OffsetDateTime;

use super::account::Account;
use super::app::{update, AccountData, App, Message, Screen, ScreenId, ScreenState};
use super::forgot::Forgot;
use super::reset::Reset;
use super::sign_in::SignIn;
use super::sign_up::SignUp;
use super::status::StatusInfo;
use super::tokens::Tokens;
use super::two_factor::TwoFactor;
use crate::error::ClientError;

pub const SERVER: &str = "http://127.0.0.1:8000";

/// Every screen a user can reach after the start, for the tests that
/// check all of them (help, footer).
pub const SCREENS: [ScreenId; 7] = [
    ScreenId::SignIn,
    ScreenId::SignUp,
    ScreenId::Forgot,
    ScreenId::Reset,
    ScreenId::Account,
    ScreenId::Tokens,
    ScreenId::TwoFactor,
];

/// The tests' "now": 2030-01-01 12:00:00 UTC.
pub fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_893_499_200).expect("a valid timestamp")
}

pub fn ada() -> User {
    User {
        id: "11111111-0000-4000-8000-000000000001".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        email: "ada@example.com".into(),
        created_at: "2029-12-10T09:30:00Z".into(),
    }
}

pub fn account_data() -> AccountData {
    AccountData {
        user: ada(),
        sessions: vec![
            SessionInfo {
                id: "aaaaaaaa-0000-4000-8000-000000000001".into(),
                created_at: "2030-01-01T11:00:00Z".into(),
                last_used_at: "2030-01-01T11:59:30Z".into(),
                user_agent: Some("gatepass/0.1.0".into()),
                current: true,
            },
            SessionInfo {
                id: "22222222-0000-4000-8000-000000000002".into(),
                created_at: "2029-12-31T08:00:00Z".into(),
                last_used_at: "2029-12-31T20:15:00Z".into(),
                user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".into()),
                current: false,
            },
        ],
    }
}

pub fn signed_in_status() -> StatusInfo {
    StatusInfo {
        server: SERVER.into(),
        signed_in: true,
        email: Some("ada@example.com".into()),
        expires_at: Some(t0() + time::Duration::seconds(114)),
        token_store: "secret-service".into(),
        fallback: None,
    }
}

/// Sign in, idle, nobody signed in.
pub fn signed_out_app() -> App {
    let (mut app, _) = App::new(SERVER, t0());
    update(&mut app, Message::Started(Ok(None)));
    app
}

/// Account, idle, Ada signed in with two sessions.
pub fn account_app() -> App {
    let (mut app, _) = App::new(SERVER, t0());
    update(&mut app, Message::Started(Ok(Some(account_data()))));
    app.status = signed_in_status();
    assert_eq!(app.screen.id(), ScreenId::Account);
    app
}

/// `screen`, fresh, in front of `app`'s account (for the panels).
pub fn fresh_screen(app: &App, screen: ScreenId) -> Screen {
    let account = || app.screen.account().cloned().unwrap_or_default();
    match screen {
        ScreenId::Starting => Screen::Starting,
        ScreenId::SignIn => Screen::SignIn(SignIn::default()),
        ScreenId::SignUp => Screen::SignUp(SignUp::default()),
        ScreenId::Forgot => Screen::Forgot(Forgot::default()),
        ScreenId::Reset => Screen::Reset(Reset::default()),
        ScreenId::Account => Screen::Account(account()),
        ScreenId::Tokens => Screen::Tokens(Tokens::new(account())),
        ScreenId::TwoFactor => Screen::TwoFactor(TwoFactor::new(account())),
    }
}

/// The state of the screen showing, for the tests' asserts; panics on
/// another screen.
macro_rules! screen_state {
    ($get:ident, $get_mut:ident, $type:ty) => {
        #[track_caller]
        pub fn $get(&self) -> &$type {
            <$type>::of(&self.screen).expect(stringify!($type))
        }

        #[track_caller]
        pub fn $get_mut(&mut self) -> &mut $type {
            <$type>::of_mut(&mut self.screen).expect(stringify!($type))
        }
    };
}

impl App {
    screen_state!(sign_in, sign_in_mut, SignIn);
    screen_state!(sign_up, sign_up_mut, SignUp);
    screen_state!(forgot, forgot_mut, Forgot);
    screen_state!(reset, reset_mut, Reset);
    screen_state!(tokens, tokens_mut, Tokens);
    screen_state!(two_factor, two_factor_mut, TwoFactor);

    /// The account shown, or behind a panel.
    #[track_caller]
    pub fn account(&self) -> &Account {
        self.screen.account().expect("signed in")
    }

    #[track_caller]
    pub fn account_mut(&mut self) -> &mut Account {
        self.screen.account_mut().expect("signed in")
    }
}

pub fn press(code: KeyCode) -> KeyEvent {
    KeyEvent::from(code)
}

pub fn key(code: KeyCode) -> Message {
    Message::Key(press(code))
}

pub fn ctrl_key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

pub fn ctrl_key_message(c: char) -> Message {
    Message::Key(ctrl_key(c))
}

pub fn ctrl(c: char) -> Message {
    ctrl_key_message(c)
}

pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        update(app, key(KeyCode::Char(c)));
    }
}

/// The screen as text, one line per row, trailing spaces cut.
pub fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| super::view(app, frame))
        .expect("draw");
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..height {
        let mut line = String::new();
        for x in 0..width {
            if let Some(cell) = buffer.cell((x, y)) {
                line.push_str(cell.symbol());
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

#[track_caller]
pub fn assert_contains(screen: &str, text: &str) {
    assert!(
        screen.contains(text),
        "{text:?} is not on the screen:\n{screen}"
    );
}

pub fn validation(errors: &[(&str, &str)]) -> ClientError {
    ClientError::Server {
        status: 422,
        body: ErrorBody {
            error: "Validation failed".into(),
            code: ErrorCode::ValidationFailed,
            feedback: errors.first().map(|e| e.1).unwrap_or("").into(),
            errors: errors
                .iter()
                .map(|(param, msg)| FieldError::body(param, *msg))
                .collect(),
        },
    }
}

pub fn refusal(status: u16, code: ErrorCode, feedback: &str) -> ClientError {
    ClientError::Server {
        status,
        body: ErrorBody {
            error: "Refused".into(),
            code,
            feedback: feedback.into(),
            errors: Vec::new(),
        },
    }
}

pub fn unreachable() -> ClientError {
    ClientError::Unreachable {
        server: SERVER.into(),
        detail: "connection refused".into(),
    }
}
