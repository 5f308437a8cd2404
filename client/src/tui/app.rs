//! The state of the terminal app, the messages that change it and the
//! commands it asks the runner to carry out. `update` is pure: no terminal,
//! no network, no clock (time arrives in `Message::Tick`), so every
//! transition is a unit test.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use gatepass_common::{MessageResponse, PersonalToken, SessionInfo, User, UserView};
use time::OffsetDateTime;

use super::account::{self, Account};
use super::confirm::{self, Confirm};
use super::forgot::{self, Forgot};
use super::help;
use super::reset::{self, Reset};
use super::sign_in::{self, SignIn};
use super::sign_up::{self, SignUp};
use super::status::StatusInfo;
use super::tokens::{self, Tokens};
use super::two_factor::{self, TwoFactor};
use crate::api::{LogoutOutcome, SecondFactor};
use crate::error::{AuthRequired, ClientError};

/// Which screen is showing, with its state: a screen's state lives and
/// goes with it, and a screen opens another by building that one's state.
#[derive(Debug)]
pub enum Screen {
    /// The first moments: reading the stored session and asking the server
    /// whether it still holds.
    Starting,
    SignIn(SignIn),
    SignUp(SignUp),
    Forgot(Forgot),
    Reset(Reset),
    Account(Account),
    /// Account → t: personal access tokens (tokens.rs); holds the account
    /// to return to.
    Tokens(Tokens),
    /// Account → Two-factor: the second factor's state, enrolment, new
    /// recovery codes, turning it off (issue 17); holds the account to
    /// return to.
    TwoFactor(TwoFactor),
}

/// A screen's state, found in `Screen` while that screen shows.
pub trait ScreenState: Sized {
    fn of(screen: &Screen) -> Option<&Self>;
    fn of_mut(screen: &mut Screen) -> Option<&mut Self>;
}

macro_rules! screen_states {
    ($($variant:ident),+) => {$(
        impl ScreenState for $variant {
            fn of(screen: &Screen) -> Option<&$variant> {
                match screen {
                    Screen::$variant(state) => Some(state),
                    _ => None,
                }
            }

            fn of_mut(screen: &mut Screen) -> Option<&mut $variant> {
                match screen {
                    Screen::$variant(state) => Some(state),
                    _ => None,
                }
            }
        }
    )+};
}

screen_states!(SignIn, SignUp, Forgot, Reset, Account, Tokens, TwoFactor);

/// Which screen, without its state: for titles, help and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenId {
    Starting,
    SignIn,
    SignUp,
    Forgot,
    Reset,
    Account,
    Tokens,
    TwoFactor,
}

impl Screen {
    pub fn id(&self) -> ScreenId {
        match self {
            Screen::Starting => ScreenId::Starting,
            Screen::SignIn(_) => ScreenId::SignIn,
            Screen::SignUp(_) => ScreenId::SignUp,
            Screen::Forgot(_) => ScreenId::Forgot,
            Screen::Reset(_) => ScreenId::Reset,
            Screen::Account(_) => ScreenId::Account,
            Screen::Tokens(_) => ScreenId::Tokens,
            Screen::TwoFactor(_) => ScreenId::TwoFactor,
        }
    }

    /// The signed-in account: the one shown, or the one a panel returns
    /// to. `None` while signed out.
    pub fn account(&self) -> Option<&Account> {
        match self {
            Screen::Account(account) => Some(account),
            Screen::Tokens(tokens) => Some(&tokens.account),
            Screen::TwoFactor(panel) => Some(&panel.account),
            _ => None,
        }
    }

    pub fn account_mut(&mut self) -> Option<&mut Account> {
        match self {
            Screen::Account(account) => Some(account),
            Screen::Tokens(tokens) => Some(&mut tokens.account),
            Screen::TwoFactor(panel) => Some(&mut panel.account),
            _ => None,
        }
    }

    /// Whether keys go into a text field (then `?` is typed, not help).
    pub fn typing(&self) -> bool {
        match self {
            Screen::Starting => false,
            Screen::SignIn(state) => state.typing(),
            Screen::SignUp(state) => state.form.typing(),
            Screen::Forgot(state) => state.form.typing(),
            Screen::Reset(state) => state.form.typing(),
            Screen::Account(state) => state.typing(),
            Screen::Tokens(state) => state.typing(),
            Screen::TwoFactor(state) => state.typing(),
        }
    }

    fn paste(&mut self, text: &str) {
        match self {
            Screen::Starting => {}
            Screen::SignIn(state) => state.paste(text),
            Screen::SignUp(state) => state.form.paste(text),
            Screen::Forgot(state) => state.form.paste(text),
            Screen::Reset(state) => state.form.paste(text),
            Screen::Account(state) => state.paste(text),
            Screen::Tokens(state) => state.paste(text),
            Screen::TwoFactor(state) => state.paste(text),
        }
    }
}

/// A password, code or token on its way to the server: the client's one
/// secret type, whose `Debug` never shows the value.
pub use crate::api::Secret;

/// What `update` asks the runner to do. Every variant but `Quit` is one
/// network task that answers with one `Message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Read the stored session; if there is one, load the account.
    Start,
    SignIn {
        email: String,
        password: Secret,
    },
    /// The sign-in's second step: the challenge from the password step and
    /// a code or a recovery code.
    SignInSecondFactor {
        mfa_token: Secret,
        factor: SecondFactor,
    },
    SignUp {
        first_name: String,
        last_name: String,
        email: String,
        password: Secret,
        confirm: Secret,
    },
    Forgot {
        email: String,
    },
    Reset {
        token_or_link: Secret,
        password: Secret,
    },
    /// The profile and the session list.
    LoadAccount,
    LookUp {
        id: String,
    },
    Revoke {
        id: String,
    },
    /// Get a new access token before anyone needs it.
    Refresh,
    SignOut {
        all: bool,
    },
    // Personal access tokens (tokens.rs).
    LoadTokens,
    CreateToken {
        name: String,
        /// `None`: the server's default lifetime.
        expires_in: Option<String>,
        /// The second factor, once the server asked for it.
        code: Option<Secret>,
    },
    RevokeToken {
        id: String,
    },
    /// A call of the Two-factor panel.
    TwoFactor(two_factor::Request),
    Quit,
}

/// The signed-in user and their live sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountData {
    pub user: User,
    pub sessions: Vec<SessionInfo>,
}

/// Everything that can happen to the app. Deliberately not `Debug`: a key
/// or a paste may be part of a password.
pub enum Message {
    Key(KeyEvent),
    Paste(String),
    Resize,
    /// The input thread stopped (the terminal went away): nothing can be typed any more.
    InputClosed,
    Tick(OffsetDateTime),
    /// What is stored for the server after a command, and notices from the client.
    Status {
        status: Option<StatusInfo>,
        notices: Vec<String>,
    },
    Started(Result<Option<AccountData>, ClientError>),
    SignedIn(Result<User, ClientError>),
    /// The password was right; the account asks for a second factor.
    CodeRequired {
        mfa_token: Secret,
    },
    /// The answer to the sign-in's code step.
    SecondFactorChecked(Result<User, ClientError>),
    SignedUp(Result<User, ClientError>),
    ForgotSent(Result<MessageResponse, ClientError>),
    ResetDone(Result<MessageResponse, ClientError>),
    AccountLoaded(Result<AccountData, ClientError>),
    LookedUp(Result<UserView, ClientError>),
    Revoked(Result<(), ClientError>),
    Refreshed(Result<(), ClientError>),
    SignedOut {
        all: bool,
        result: Result<LogoutOutcome, ClientError>,
    },
    // Personal access tokens (tokens.rs).
    TokensLoaded(Result<Vec<PersonalToken>, ClientError>),
    TokenCreated(Result<tokens::ShownToken, ClientError>),
    TokenRevoked(Result<(), ClientError>),
    /// An answer to a call of the Two-factor panel.
    TwoFactor(two_factor::Answer),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    Info,
    Error,
}

/// The one-line message under the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub kind: NoteKind,
    pub text: String,
}

/// The network call in flight. One at a time: a second Enter while one runs
/// would sign in twice or race a refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy {
    pub label: String,
    /// The automatic refresh shows no spinner: the user should not notice it.
    pub quiet: bool,
    /// The answer holds a secret shown only once (a new token, recovery
    /// codes): the screen that asked cannot be left until it arrives, or the
    /// secret would be made and never seen.
    pub shown_once: bool,
}

/// After an automatic refresh, wait at least this long before the next
/// (guards against a loop when the clocks disagree).
const REFRESH_PAUSE: time::Duration = time::Duration::seconds(10);
/// After an automatic refresh failed for another reason than the session
/// ending (server down), try again after this long.
const REFRESH_RETRY: time::Duration = time::Duration::seconds(15);

pub struct App {
    pub screen: Screen,
    /// The time of the last tick; views count down from it.
    pub now: OffsetDateTime,
    pub status: StatusInfo,
    pub busy: Option<Busy>,
    /// Advances on every tick while busy.
    pub spinner: usize,
    pub note: Option<Note>,
    /// Notices from the client (a keyring fallback); shown until a key is pressed.
    pub warning: Option<String>,
    pub help: bool,
    pub confirm: Option<Confirm>,
    /// `GATEPASS_API_TOKEN` or `GATEPASS_ACCESS_TOKEN` when a credential from
    /// the environment is in charge (the runner says so at start): there is
    /// then no signing in or out here.
    pub env_credential: Option<&'static str>,
    /// No automatic refresh before this time.
    pub refresh_not_before: Option<OffsetDateTime>,
    /// False with `NO_COLOR` set: the runner decides, the view obeys.
    pub colors: bool,
}

impl App {
    /// The app as it opens, and the command that finds out where to start.
    pub fn new(server: &str, now: OffsetDateTime) -> (App, Vec<Command>) {
        let mut app = App {
            screen: Screen::Starting,
            now,
            status: StatusInfo::unknown(server),
            busy: None,
            spinner: 0,
            note: None,
            warning: None,
            help: false,
            confirm: None,
            env_credential: None,
            refresh_not_before: None,
            colors: true,
        };
        let commands = app.start("Connecting", Command::Start);
        (app, commands)
    }

    /// Starts a network call unless one is in flight.
    pub fn start(&mut self, label: &str, command: Command) -> Vec<Command> {
        self.start_call(label, command, false)
    }

    /// Starts a call whose answer is a secret shown only once: Esc and
    /// Enter wait for it (Ctrl-C still quits).
    pub fn start_shown_once(&mut self, label: &str, command: Command) -> Vec<Command> {
        self.start_call(label, command, true)
    }

    fn start_call(&mut self, label: &str, command: Command, shown_once: bool) -> Vec<Command> {
        if let Some(busy) = &self.busy {
            if !busy.quiet {
                self.note = Some(Note {
                    kind: NoteKind::Info,
                    text: format!("{} is still in progress: one moment.", busy.label),
                });
                return Vec::new();
            }
            // The quiet refresh is about to end; queueing behind it in the
            // client is fine (its refresh is single-flight).
        }
        self.busy = Some(Busy {
            label: label.to_owned(),
            quiet: false,
            shown_once,
        });
        self.note = None;
        vec![command]
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.note = Some(Note {
            kind: NoteKind::Info,
            text: text.into(),
        });
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.note = Some(Note {
            kind: NoteKind::Error,
            text: text.into(),
        });
    }

    /// Shows an error that belongs to no field.
    pub fn show_error(&mut self, error: &ClientError) {
        let text = describe(error);
        self.error(text);
    }

    /// Whether keys go into a text field (then `?` is typed, not help).
    pub fn typing(&self) -> bool {
        self.screen.typing()
    }

    /// The state of screen `S` if it is the one showing: an answer from
    /// the server can arrive after the user moved on.
    pub fn state<S: ScreenState>(&mut self) -> Option<&mut S> {
        S::of_mut(&mut self.screen)
    }

    /// Signed in (by sign-in or sign-up): on to the account. The sign-in
    /// screen goes, and the passwords typed on the way with it.
    pub fn signed_in(&mut self, user: User, greeting: String) -> Vec<Command> {
        self.screen = Screen::Account(Account::with_user(user));
        self.refresh_not_before = None;
        let commands = self.start("Loading your sessions", Command::LoadAccount);
        self.info(greeting);
        commands
    }

    /// Back to Sign in, with the reason on the message line. The last
    /// user's email stays in the form, so signing in again is one password.
    /// The account and its panels go (a token on show, recovery codes).
    pub fn signed_out(&mut self, note: Note) {
        let email = self
            .screen
            .account()
            .and_then(|account| account.user.as_ref())
            .map(|u| u.email.clone())
            .or_else(|| self.status.email.clone());
        self.confirm = None;
        self.screen = Screen::SignIn(SignIn::with_email(email.as_deref().unwrap_or("")));
        self.note = Some(note);
    }

    /// The session ended under us (a failed refresh, a revoked session).
    pub fn session_ended(&mut self, reason: &str) {
        self.signed_out(Note {
            kind: NoteKind::Error,
            text: format!("Signed out: {reason}."),
        });
    }

    /// Opens `screen`, with the message line cleared.
    pub fn go(&mut self, screen: Screen) {
        self.screen = screen;
        self.note = None;
    }
}

/// One line for an error, for people: the server's feedback, or which URL
/// could not be reached.
pub fn describe(error: &ClientError) -> String {
    match error {
        ClientError::Unreachable { server, detail } => {
            format!("Server unreachable at {server} ({detail})")
        }
        ClientError::AuthRequired(reason) => auth_reason(reason),
        ClientError::Server { body, .. } => body.feedback.clone(),
        other => other.to_string(),
    }
}

/// The reason inside `ClientError::AuthRequired`, in the fewest words.
pub fn auth_reason(reason: &AuthRequired) -> String {
    reason.reason()
}

/// Handles the error of a call that needed the session. Returns whether it
/// was handled here (the session is over); otherwise the caller shows it.
pub fn session_over(app: &mut App, error: &ClientError) -> bool {
    if let ClientError::AuthRequired(reason) = error {
        app.session_ended(&auth_reason(reason));
        true
    } else {
        false
    }
}

/// An answer can arrive after the user left the screen that asked: each
/// handler applies it only to its screen if that one still shows, and
/// drops it otherwise, except what holds wherever the user is (a sign-in
/// that worked, an ended session, the account behind a panel).
pub fn update(app: &mut App, message: Message) -> Vec<Command> {
    match message {
        Message::Key(key) => on_key(app, key),
        Message::Paste(text) => {
            on_paste(app, &text);
            Vec::new()
        }
        Message::Resize => Vec::new(),
        Message::InputClosed => vec![Command::Quit],
        Message::Tick(now) => on_tick(app, now),
        Message::Status { status, notices } => {
            if let Some(status) = status {
                app.status = status;
            }
            if !notices.is_empty() {
                app.warning = Some(notices.join(" "));
            }
            Vec::new()
        }
        Message::Started(result) => on_started(app, result),
        Message::SignedIn(result) => sign_in::on_signed_in(app, result),
        Message::CodeRequired { mfa_token } => sign_in::on_code_required(app, mfa_token),
        Message::SecondFactorChecked(result) => sign_in::on_second_factor_checked(app, result),
        Message::SignedUp(result) => sign_up::on_signed_up(app, result),
        Message::ForgotSent(result) => forgot::on_sent(app, result),
        Message::ResetDone(result) => reset::on_done(app, result),
        Message::AccountLoaded(result) => account::on_loaded(app, result),
        Message::LookedUp(result) => account::on_looked_up(app, result),
        Message::Revoked(result) => account::on_revoked(app, result),
        Message::SignedOut { all, result } => account::on_signed_out(app, all, result),
        Message::Refreshed(result) => on_refreshed(app, result),
        Message::TokensLoaded(result) => tokens::on_loaded(app, result),
        Message::TokenCreated(result) => tokens::on_created(app, result),
        Message::TokenRevoked(result) => tokens::on_revoked(app, result),
        Message::TwoFactor(answer) => two_factor::on_answer(app, answer),
    }
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    // Release events (Windows) would type every letter twice.
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return vec![Command::Quit];
    }
    app.warning = None;
    if app.confirm.is_some() {
        return confirm::on_key(app, key);
    }
    if app.help {
        help::on_key(app, key);
        return Vec::new();
    }
    // `?` is a character a password or an email may hold: inside a text
    // field it is typed, and F1 opens the help.
    if key.code == KeyCode::F(1) || (key.code == KeyCode::Char('?') && !app.typing()) {
        app.help = true;
        return Vec::new();
    }
    if let Some(busy) = app.busy.as_ref().filter(|busy| busy.shown_once) {
        if matches!(key.code, KeyCode::Esc | KeyCode::Enter) {
            let text = format!("{}: it shows here in a moment, this once.", busy.label);
            app.info(text);
            return Vec::new();
        }
    }
    match app.screen {
        Screen::Starting => Vec::new(),
        Screen::SignIn(_) => sign_in::on_key(app, key),
        Screen::SignUp(_) => sign_up::on_key(app, key),
        Screen::Forgot(_) => forgot::on_key(app, key),
        Screen::Reset(_) => reset::on_key(app, key),
        Screen::Account(_) => account::on_key(app, key),
        Screen::Tokens(_) => tokens::on_key(app, key),
        Screen::TwoFactor(_) => two_factor::on_key(app, key),
    }
}

fn on_paste(app: &mut App, text: &str) {
    if app.confirm.is_some() || app.help {
        return;
    }
    app.screen.paste(text);
}

fn on_tick(app: &mut App, now: OffsetDateTime) -> Vec<Command> {
    app.now = now;
    if app.busy.is_some() {
        app.spinner = app.spinner.wrapping_add(1);
        return Vec::new();
    }
    // The transparent refresh: once the access token has expired, get a new
    // one while the user reads, so the next action does not wait for it and
    // a session ended elsewhere shows up here, not at the next keypress.
    let due = app.screen.account().is_some()
        && app.status.refreshable()
        && app.status.expires_at.is_some_and(|at| at <= now)
        && app.refresh_not_before.is_none_or(|at| at <= now);
    if due {
        app.busy = Some(Busy {
            label: "Refreshing the session".to_owned(),
            quiet: true,
            shown_once: false,
        });
        return vec![Command::Refresh];
    }
    Vec::new()
}

fn on_refreshed(app: &mut App, result: Result<(), ClientError>) -> Vec<Command> {
    // A call the user started meanwhile is still in flight: keep its spinner.
    if app.busy.as_ref().is_some_and(|busy| busy.quiet) {
        app.busy = None;
    }
    match result {
        Ok(()) => {
            app.refresh_not_before = Some(app.now + REFRESH_PAUSE);
        }
        Err(error) => {
            if !session_over(app, &error) {
                app.refresh_not_before = Some(app.now + REFRESH_RETRY);
                app.error(format!(
                    "Could not refresh the session: {}",
                    describe(&error)
                ));
            }
        }
    }
    Vec::new()
}

fn on_started(app: &mut App, result: Result<Option<AccountData>, ClientError>) -> Vec<Command> {
    app.busy = None;
    match result {
        Ok(Some(data)) => app.go(Screen::Account(Account::loaded(data))),
        Ok(None) => app.go(Screen::SignIn(SignIn::default())),
        Err(error @ ClientError::AuthRequired(_)) => {
            session_over(app, &error);
        }
        // Signed in, but the server is away: the account screen can retry.
        Err(error @ ClientError::Unreachable { .. }) => {
            app.go(Screen::Account(Account::default()));
            app.show_error(&error);
        }
        // A damaged store or the like: signing in again replaces it.
        Err(error) => {
            app.go(Screen::SignIn(SignIn::default()));
            app.show_error(&error);
        }
    }
    Vec::new()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tui::sign_in::{SignInButton, SignInField};
    use crate::tui::testing::*;
    use gatepass_common::{ErrorBody, ErrorCode};

    #[test]
    fn it_starts_by_asking_where_to_start() {
        let (app, commands) = App::new(SERVER, t0());
        assert_eq!(app.screen.id(), ScreenId::Starting);
        assert_eq!(commands, vec![Command::Start]);
        assert!(app.busy.is_some());
    }

    #[test]
    fn a_valid_session_opens_the_account() {
        let (mut app, _) = App::new(SERVER, t0());
        update(&mut app, Message::Started(Ok(Some(account_data()))));
        assert_eq!(app.screen.id(), ScreenId::Account);
        assert_eq!(app.account().user.as_ref().unwrap().first_name, "Ada");
        assert_eq!(app.account().sessions.len(), 2);
        assert!(app.busy.is_none());
    }

    #[test]
    fn no_session_opens_sign_in() {
        let (mut app, _) = App::new(SERVER, t0());
        update(&mut app, Message::Started(Ok(None)));
        assert_eq!(app.screen.id(), ScreenId::SignIn);
        assert!(app.note.is_none());
    }

    #[test]
    fn an_ended_session_opens_sign_in_with_the_reason() {
        let (mut app, _) = App::new(SERVER, t0());
        let error = ClientError::AuthRequired(AuthRequired::SessionEnded {
            feedback: "Session revoked".into(),
        });
        update(&mut app, Message::Started(Err(error)));
        assert_eq!(app.screen.id(), ScreenId::SignIn);
        let note = app.note.unwrap();
        assert_eq!(note.kind, NoteKind::Error);
        assert_eq!(note.text, "Signed out: Session revoked.");
    }

    #[test]
    fn an_unreachable_server_at_start_names_the_url() {
        let (mut app, _) = App::new(SERVER, t0());
        update(&mut app, Message::Started(Err(unreachable())));
        assert_eq!(app.screen.id(), ScreenId::Account);
        let note = app.note.unwrap();
        assert!(note.text.contains(SERVER), "{}", note.text);
        assert!(note.text.contains("(connection refused)"), "{}", note.text);
    }

    #[test]
    fn ctrl_c_quits_from_anywhere_even_dialogs() {
        let (mut app, _) = App::new(SERVER, t0());
        assert_eq!(update(&mut app, ctrl('c')), vec![Command::Quit]);
        app.screen = fresh_screen(&app, ScreenId::SignUp);
        app.help = true;
        assert_eq!(update(&mut app, ctrl('c')), vec![Command::Quit]);
        app.help = false;
        app.screen = fresh_screen(&app, ScreenId::Account);
        app.confirm = Some(Confirm::sign_out_all("ada@example.com"));
        assert_eq!(update(&mut app, ctrl('c')), vec![Command::Quit]);
    }

    #[test]
    fn question_mark_is_help_except_inside_a_text_field() {
        let mut app = signed_out_app();
        // Focus is in the email field: `?` is typed.
        update(&mut app, key(KeyCode::Char('?')));
        assert!(!app.help);
        assert_eq!(app.sign_in().form.value(SignInField::Email), "?");
        // F1 opens the help from a field; Esc closes it.
        update(&mut app, key(KeyCode::F(1)));
        assert!(app.help);
        update(&mut app, key(KeyCode::Esc));
        assert!(!app.help);
        // On a button, `?` is help.
        app.sign_in_mut().form.focus_button(SignInButton::SignIn);
        update(&mut app, key(KeyCode::Char('?')));
        assert!(app.help);
    }

    #[test]
    fn key_releases_are_ignored() {
        let mut app = signed_out_app();
        let mut release = KeyEvent::from(KeyCode::Char('a'));
        release.kind = KeyEventKind::Release;
        update(&mut app, Message::Key(release));
        assert_eq!(app.sign_in().form.value(SignInField::Email), "");
    }

    #[test]
    fn ticks_spin_the_spinner_only_while_busy() {
        let (mut app, _) = App::new(SERVER, t0());
        update(
            &mut app,
            Message::Tick(t0() + time::Duration::milliseconds(100)),
        );
        assert_eq!(app.spinner, 1);
        app.busy = None;
        update(
            &mut app,
            Message::Tick(t0() + time::Duration::milliseconds(200)),
        );
        assert_eq!(app.spinner, 1);
    }

    #[test]
    fn an_expired_token_is_refreshed_quietly_once() {
        let mut app = account_app();
        app.status.expires_at = Some(t0() + time::Duration::seconds(30));
        // Not yet due.
        assert!(update(&mut app, Message::Tick(t0())).is_empty());
        let later = t0() + time::Duration::seconds(31);
        assert_eq!(
            update(&mut app, Message::Tick(later)),
            vec![Command::Refresh]
        );
        assert!(app.busy.as_ref().unwrap().quiet);
        // In flight: no second refresh.
        assert!(update(&mut app, Message::Tick(later)).is_empty());
        // The new token arrives with the status, then the answer.
        let mut status = app.status.clone();
        status.expires_at = Some(later + time::Duration::seconds(120));
        update(
            &mut app,
            Message::Status {
                status: Some(status),
                notices: vec![],
            },
        );
        assert!(update(&mut app, Message::Refreshed(Ok(()))).is_empty());
        assert!(app.busy.is_none());
        assert!(app.note.is_none(), "a refresh goes unnoticed");
        assert!(update(&mut app, Message::Tick(later)).is_empty());
    }

    #[test]
    fn a_call_started_during_the_quiet_refresh_keeps_its_spinner() {
        let mut app = account_app();
        app.status.expires_at = Some(t0());
        assert_eq!(
            update(&mut app, Message::Tick(t0())),
            vec![Command::Refresh]
        );
        // The user does not wait for a refresh they cannot see.
        assert_eq!(
            update(&mut app, key(KeyCode::Char('r'))),
            vec![Command::LoadAccount]
        );
        update(&mut app, Message::Refreshed(Ok(())));
        assert_eq!(app.busy.as_ref().unwrap().label, "Refreshing");
        update(&mut app, Message::AccountLoaded(Ok(account_data())));
        assert!(app.busy.is_none());
    }

    #[test]
    fn a_failed_refresh_returns_to_sign_in_with_a_reason() {
        let mut app = account_app();
        app.busy = Some(Busy {
            label: "Refreshing the session".into(),
            quiet: true,
            shown_once: false,
        });
        let error = ClientError::AuthRequired(AuthRequired::SessionEnded {
            feedback: "The refresh token is not valid. Sign in again.".into(),
        });
        update(&mut app, Message::Refreshed(Err(error)));
        assert_eq!(app.screen.id(), ScreenId::SignIn);
        let note = app.note.clone().unwrap();
        assert_eq!(note.kind, NoteKind::Error);
        assert_eq!(
            note.text,
            "Signed out: The refresh token is not valid. Sign in again."
        );
        // One line at 80 columns.
        assert_contains(&render(&app, 80, 24), &note.text);
        // The email is kept; the password is next.
        assert_eq!(
            app.sign_in().form.value(SignInField::Email),
            "ada@example.com"
        );
        assert!(app.sign_in().form.is_focused(SignInField::Password));
    }

    #[test]
    fn a_refresh_that_cannot_reach_the_server_waits_and_retries() {
        let mut app = account_app();
        app.status.expires_at = Some(t0());
        assert_eq!(
            update(&mut app, Message::Tick(t0())),
            vec![Command::Refresh]
        );
        update(&mut app, Message::Refreshed(Err(unreachable())));
        assert_eq!(app.screen.id(), ScreenId::Account);
        assert!(app.note.as_ref().unwrap().text.contains(SERVER));
        assert!(update(&mut app, Message::Tick(t0() + time::Duration::seconds(5))).is_empty());
        assert_eq!(
            update(&mut app, Message::Tick(t0() + time::Duration::seconds(16))),
            vec![Command::Refresh]
        );
    }

    #[test]
    fn an_env_token_is_never_refreshed() {
        let mut app = account_app();
        app.status.token_store = "env".into();
        app.status.expires_at = Some(t0());
        assert!(update(&mut app, Message::Tick(t0())).is_empty());
    }

    #[test]
    fn notices_show_until_a_key_is_pressed() {
        let mut app = signed_out_app();
        update(
            &mut app,
            Message::Status {
                status: None,
                notices: vec!["no OS keyring is available".into()],
            },
        );
        assert_eq!(app.warning.as_deref(), Some("no OS keyring is available"));
        update(&mut app, key(KeyCode::Char('a')));
        assert!(app.warning.is_none());
    }

    #[test]
    fn a_second_call_waits_for_the_first() {
        let mut app = signed_out_app();
        app.busy = Some(Busy {
            label: "Signing in".into(),
            quiet: false,
            shown_once: false,
        });
        let commands = app.start("Signing in", Command::LoadAccount);
        assert!(commands.is_empty());
        assert!(app.note.unwrap().text.contains("still in progress"));
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let command = Command::SignIn {
            email: "ada@example.com".into(),
            password: Secret::new("hunter2hunter2"),
        };
        let debug = format!("{command:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("ada@example.com"));
    }

    #[test]
    fn errors_read_as_one_human_line() {
        let server = ClientError::Server {
            status: 400,
            body: ErrorBody {
                error: "Bad".into(),
                code: ErrorCode::InvalidCredentials,
                feedback: "Incorrect email or password".into(),
                errors: vec![],
            },
        };
        assert_eq!(describe(&server), "Incorrect email or password");
        assert_eq!(
            describe(&unreachable()),
            format!("Server unreachable at {SERVER} (connection refused)")
        );
        assert_eq!(
            auth_reason(&AuthRequired::NotSignedIn {
                server: "http://x".into()
            }),
            "not signed in to http://x"
        );
    }
}
