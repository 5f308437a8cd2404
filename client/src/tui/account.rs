//! Account: the signed-in user's profile and live sessions, looking up a
//! user by id, ending a session, signing out here or everywhere.

use crossterm::event::{KeyCode, KeyEvent};
use gatepass_common::{ErrorCode, SessionInfo, User, UserView};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph};
use ratatui::Frame;

use super::app::{self, AccountData, App, Command, Note, NoteKind, Screen};
use super::confirm::Confirm;
use super::form::{marked_lines, Field, LABEL_WIDTH};
use super::status::shorten;
use super::tokens::Tokens;
use super::two_factor::{self, TwoFactor};
use super::view::{self, Hint};
use crate::api::LogoutOutcome;
use crate::display::escape;
use crate::error::ClientError;

/// Where the keys go on this screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccountFocus {
    /// Keys are commands (r, s, a, d, ...).
    #[default]
    Sessions,
    /// Keys type a user id.
    LookUp,
}

#[derive(Debug, Clone)]
pub struct Account {
    /// `None` until loaded (or when the server could not be reached at start).
    pub user: Option<User>,
    pub sessions: Vec<SessionInfo>,
    pub selected: usize,
    pub focus: AccountFocus,
    pub lookup: Field,
    /// The user found, or why not.
    pub lookup_result: Option<Result<UserView, String>>,
}

impl Default for Account {
    fn default() -> Account {
        Account {
            user: None,
            sessions: Vec::new(),
            selected: 0,
            focus: AccountFocus::Sessions,
            lookup: Field::text("User id"),
            lookup_result: None,
        }
    }
}

impl Account {
    pub fn with_user(user: User) -> Account {
        Account {
            user: Some(user),
            ..Account::default()
        }
    }

    pub fn loaded(data: AccountData) -> Account {
        let mut account = Account::with_user(data.user);
        account.set_sessions(data.sessions);
        account
    }

    fn set_sessions(&mut self, sessions: Vec<SessionInfo>) {
        self.sessions = sessions;
        self.selected = self.selected.min(self.sessions.len().saturating_sub(1));
    }

    pub fn typing(&self) -> bool {
        self.focus == AccountFocus::LookUp
    }

    pub fn paste(&mut self, text: &str) {
        if self.typing() {
            self.lookup.paste(text);
        }
    }
}

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    match app.state::<Account>().map(|account| account.focus) {
        Some(AccountFocus::LookUp) => on_lookup_key(app, key),
        Some(AccountFocus::Sessions) => on_command_key(app, key),
        None => Vec::new(),
    }
}

fn on_lookup_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Some(account) = app.state::<Account>() else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Tab | KeyCode::BackTab | KeyCode::Esc => {
            account.focus = AccountFocus::Sessions;
            Vec::new()
        }
        KeyCode::Enter => {
            let id = account.lookup.value().trim().to_owned();
            if id.is_empty() {
                account.lookup.error = Some("Type or paste a user id".to_owned());
                return Vec::new();
            }
            account.lookup_result = None;
            app.start("Looking up the user", Command::LookUp { id })
        }
        _ => {
            account.lookup.edit(key);
            Vec::new()
        }
    }
}

/// What `s` and `a` say with a credential from the environment: it is not
/// this app's to end, and signing in would be refused while it is set.
pub fn env_sign_out_note(variable: &str) -> String {
    format!(
        "Signed in with {variable} from the environment: nothing to sign out here; \
         unset it to sign in with a password."
    )
}

fn on_command_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    // The screen's field only: the dialogs and the message line are the app's.
    let Screen::Account(account) = &mut app.screen else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Char('r') => app.start("Refreshing", Command::LoadAccount),
        KeyCode::Down | KeyCode::Char('j') => {
            if account.selected + 1 < account.sessions.len() {
                account.selected += 1;
            }
            Vec::new()
        }
        KeyCode::Up | KeyCode::Char('k') => {
            account.selected = account.selected.saturating_sub(1);
            Vec::new()
        }
        KeyCode::Char('d') | KeyCode::Delete => {
            match account.sessions.get(account.selected) {
                Some(session) if session.current => {
                    app.info("That is this device's session: press s to sign out here.");
                }
                Some(session) => {
                    app.confirm = Some(Confirm::revoke(session));
                }
                None => {}
            }
            Vec::new()
        }
        KeyCode::Char('s' | 'a') if app.env_credential.is_some() => {
            let note = env_sign_out_note(app.env_credential.unwrap_or_default());
            app.info(note);
            Vec::new()
        }
        KeyCode::Char('s') => app.start("Signing out", Command::SignOut { all: false }),
        KeyCode::Char('a') => {
            let email = account
                .user
                .as_ref()
                .map(|u| u.email.clone())
                .unwrap_or_default();
            app.confirm = Some(Confirm::sign_out_all(&email));
            Vec::new()
        }
        KeyCode::Tab | KeyCode::BackTab | KeyCode::Char('l') | KeyCode::Char('/') => {
            account.focus = AccountFocus::LookUp;
            Vec::new()
        }
        KeyCode::Char('t') => {
            let panel = Tokens::new(std::mem::take(account));
            super::tokens::open(app, panel)
        }
        KeyCode::Char('2') => {
            let panel = TwoFactor::new(std::mem::take(account));
            two_factor::open(app, panel)
        }
        KeyCode::Char('q') => vec![Command::Quit],
        KeyCode::Esc => {
            app.note = None;
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// The profile and sessions go to the account, on Account or behind one
/// of its panels; signed out meanwhile, they are dropped.
pub fn on_loaded(app: &mut App, result: Result<AccountData, ClientError>) -> Vec<Command> {
    app.busy = None;
    match result {
        Ok(data) => {
            if let Some(account) = app.screen.account_mut() {
                account.user = Some(data.user);
                account.set_sessions(data.sessions);
            }
        }
        Err(error) => {
            if !app::session_over(app, &error) {
                app.show_error(&error);
            }
        }
    }
    Vec::new()
}

/// For the look-up box on Account; dropped once the user left it.
pub fn on_looked_up(app: &mut App, result: Result<UserView, ClientError>) -> Vec<Command> {
    app.busy = None;
    let result = match result {
        Ok(user) => Ok(user),
        Err(error) if error.server_code() == Some(ErrorCode::UserNotFound) => {
            Err(app::describe(&error))
        }
        Err(error) => {
            if !app::session_over(app, &error) {
                app.show_error(&error);
            }
            return Vec::new();
        }
    };
    if let Some(account) = app.state::<Account>() {
        account.lookup_result = Some(result);
    }
    Vec::new()
}

pub fn on_revoked(app: &mut App, result: Result<(), ClientError>) -> Vec<Command> {
    app.busy = None;
    match result {
        Ok(()) => {
            let commands = app.start("Loading your sessions", Command::LoadAccount);
            app.info("Session ended.");
            commands
        }
        Err(error) => {
            if app::session_over(app, &error) {
                return Vec::new();
            }
            // Ended already (elsewhere)? Then the list is stale.
            let commands = if error.server_code() == Some(ErrorCode::SessionNotFound) {
                app.start("Loading your sessions", Command::LoadAccount)
            } else {
                Vec::new()
            };
            app.show_error(&error);
            commands
        }
    }
}

pub fn on_signed_out(
    app: &mut App,
    all: bool,
    result: Result<LogoutOutcome, ClientError>,
) -> Vec<Command> {
    app.busy = None;
    // Whatever the server said, nothing is stored here any more.
    let note = match result {
        Ok(LogoutOutcome::Ended) if all => Note {
            kind: NoteKind::Info,
            text: "Signed out of every device.".to_owned(),
        },
        Ok(LogoutOutcome::Ended | LogoutOutcome::NotSignedIn) => Note {
            kind: NoteKind::Info,
            text: "Signed out.".to_owned(),
        },
        Ok(LogoutOutcome::AlreadyEnded) => Note {
            kind: NoteKind::Info,
            text: "Signed out (the session had already ended).".to_owned(),
        },
        Err(error @ ClientError::Unreachable { .. }) => Note {
            kind: NoteKind::Error,
            text: format!(
                "Signed out here, but the server was not told: the session stays valid there \
                 until it expires. {}",
                app::describe(&error)
            ),
        },
        Err(error) => Note {
            kind: NoteKind::Error,
            text: format!("Signed out here. {}", app::describe(&error)),
        },
    };
    app.signed_out(note);
    Vec::new()
}

pub fn hints(account: &Account, app: &App) -> Vec<Hint> {
    let mut hints = match account.focus {
        AccountFocus::Sessions => vec![
            ("r", "refresh"),
            ("↑↓", "select"),
            ("d", "end session"),
            ("Tab", "look up"),
            ("s", "sign out"),
            ("a", "sign out everywhere"),
            ("t", "tokens"),
            ("2", "two-factor"),
            ("q", "quit"),
        ],
        AccountFocus::LookUp => vec![("Enter", "look up"), ("Tab/Esc", "back")],
    };
    hints.extend(view::global_hints(app));
    hints
}

/// `2024-05-01T12:03:04.123Z` -> `2024-05-01 12:03 UTC`; anything else as it is.
pub(super) fn when(rfc3339: &str) -> String {
    match time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339) {
        Ok(at) => {
            let at = at.to_offset(time::UtcOffset::UTC);
            format!(
                "{}-{:02}-{:02} {:02}:{:02} UTC",
                at.year(),
                at.month() as u8,
                at.day(),
                at.hour(),
                at.minute()
            )
        }
        Err(_) => escape(rfc3339).into_owned(),
    }
}

/// One session in at most `width` columns; the user agent gives way.
fn session_line(session: &SessionInfo, width: usize) -> Line<'static> {
    let short_id: String = escape(&session.id).chars().take(8).collect();
    let head = format!("{short_id}  last used {}  ", when(&session.last_used_at));
    let tag = if session.current { "this device  " } else { "" };
    let room = width.saturating_sub(head.chars().count() + tag.chars().count());
    let agent = escape(session.user_agent.as_deref().unwrap_or("-"));
    Line::from(vec![
        Span::raw(head),
        Span::styled(
            tag,
            Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
        ),
        Span::styled(shorten(&agent, room), Style::new().fg(Color::Gray)),
    ])
}

pub fn view(account: &Account, app: &App, frame: &mut Frame, area: Rect) {
    // The look-up box grows with its message: a long one wraps, up to
    // four rows, instead of being cut at the window's edge.
    let message_width = area.width.saturating_sub(2 + LABEL_WIDTH) as usize;
    let result_lines = lookup_result_lines(account, message_width);
    let message_rows = match &account.lookup.error {
        Some(error) => marked_lines("✗", &escape(error), message_width).len(),
        None => result_lines.len(),
    }
    .clamp(1, 4) as u16;
    let [profile_area, sessions_area, lookup_area] = Layout::vertical([
        Constraint::Length(6),
        Constraint::Min(3),
        Constraint::Length(3 + message_rows),
    ])
    .areas(area);

    let label = |text: &str| {
        Span::styled(
            format!("  {text:<width$}", width = LABEL_WIDTH as usize - 2),
            Style::new().fg(Color::Gray),
        )
    };
    let profile: Vec<Line> = match &account.user {
        Some(user) => vec![
            Line::from(vec![
                label("Name"),
                Span::styled(
                    format!("{} {}", escape(&user.first_name), escape(&user.last_name)),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
            ]),
            Line::from(vec![
                label("Email"),
                Span::raw(escape(&user.email).into_owned()),
            ]),
            Line::from(vec![
                label("User id"),
                Span::raw(escape(&user.id).into_owned()),
            ]),
            Line::from(vec![
                label("Member since"),
                Span::raw(when(&user.created_at)),
            ]),
        ],
        None => vec![Line::from("  Not loaded yet: press r to try again.")],
    };
    frame.render_widget(
        Paragraph::new(profile).block(Block::bordered().title(" Profile ")),
        profile_area,
    );

    let sessions_focused = account.focus == AccountFocus::Sessions;
    // Inside the borders and the highlight symbol.
    let line_width = sessions_area.width.saturating_sub(4) as usize;
    let items: Vec<ListItem> = account
        .sessions
        .iter()
        .map(|s| ListItem::new(session_line(s, line_width)))
        .collect();
    let title = format!(" Sessions ({}) ", account.sessions.len());
    let mut list = List::new(items)
        .block(view::focus_block(&title, sessions_focused))
        .highlight_symbol("› ");
    if sessions_focused {
        list = list.highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    }
    let mut state = ListState::default().with_selected(Some(account.selected));
    frame.render_stateful_widget(list, sessions_area, &mut state);

    let lookup_focused = account.focus == AccountFocus::LookUp;
    let block = view::focus_block(" Look up a user by id ", lookup_focused);
    let inner = block.inner(lookup_area);
    frame.render_widget(block, lookup_area);
    let mut field = account.lookup.clone();
    if !lookup_focused && field.value().is_empty() {
        field.set_value("(Tab to type one)");
    }
    if inner.height > 1 {
        field.render(
            frame,
            inner,
            inner.y,
            lookup_focused,
            view::cursor_allowed(app),
        );
    }
    if account.lookup.error.is_none() {
        for (row, line) in result_lines.into_iter().enumerate() {
            let y = inner.y + 1 + row as u16;
            if y >= inner.y + inner.height {
                break;
            }
            frame.render_widget(
                line,
                Rect::new(
                    inner.x + LABEL_WIDTH,
                    y,
                    inner.width.saturating_sub(LABEL_WIDTH),
                    1,
                ),
            );
        }
    }
}

/// The look-up's answer, wrapped to `width` columns: the user found, or why not.
fn lookup_result_lines(account: &Account, width: usize) -> Vec<Line<'static>> {
    let Some(result) = &account.lookup_result else {
        return Vec::new();
    };
    let (mark, text, style) = match result {
        Ok(user) => (
            "✓",
            format!(
                "{} {}{}, since {}",
                escape(user.first_name()),
                escape(user.last_name()),
                // Only one's own profile shows an email.
                user.email()
                    .map(|email| format!(" <{}>", escape(email)))
                    .unwrap_or_default(),
                when(user.created_at())
            ),
            Style::new(),
        ),
        Err(why) => ("✗", escape(why).into_owned(), Style::new().fg(Color::Red)),
    };
    let mark_style = match result {
        Ok(_) => Style::new().fg(Color::Green),
        Err(_) => style,
    };
    marked_lines(mark, &text, width)
        .into_iter()
        .enumerate()
        .map(|(i, line)| match line.strip_prefix(mark) {
            Some(rest) if i == 0 => Line::from(vec![
                Span::styled(mark, mark_style),
                Span::styled(rest.to_owned(), style),
            ]),
            _ => Line::styled(line, style),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::ScreenId;
    use crate::tui::app::{update, Message};
    use crate::tui::sign_in::SignInField;
    use crate::tui::testing::*;

    #[test]
    fn r_reloads_and_the_list_follows() {
        let mut app = account_app();
        assert_eq!(
            update(&mut app, key(KeyCode::Char('r'))),
            vec![Command::LoadAccount]
        );
        let mut data = account_data();
        data.sessions.truncate(1);
        update(&mut app, Message::AccountLoaded(Ok(data)));
        assert!(app.busy.is_none());
        assert_eq!(app.account().sessions.len(), 1);
    }

    #[test]
    fn arrows_select_sessions_within_the_list() {
        let mut app = account_app();
        update(&mut app, key(KeyCode::Down));
        update(&mut app, key(KeyCode::Down));
        assert_eq!(app.account().selected, 1);
        update(&mut app, key(KeyCode::Up));
        update(&mut app, key(KeyCode::Up));
        assert_eq!(app.account().selected, 0);
    }

    #[test]
    fn ending_another_session_asks_first_then_reloads() {
        let mut app = account_app();
        update(&mut app, key(KeyCode::Down));
        assert!(update(&mut app, key(KeyCode::Char('d'))).is_empty());
        assert!(app.confirm.is_some());
        let commands = update(&mut app, key(KeyCode::Char('y')));
        assert_eq!(
            commands,
            vec![Command::Revoke {
                id: "22222222-0000-4000-8000-000000000002".into()
            }]
        );
        assert!(app.confirm.is_none());
        let commands = update(&mut app, Message::Revoked(Ok(())));
        assert_eq!(commands, vec![Command::LoadAccount]);
        assert_eq!(app.note.as_ref().unwrap().text, "Session ended.");
    }

    #[test]
    fn this_devices_session_is_ended_with_sign_out() {
        let mut app = account_app();
        assert!(update(&mut app, key(KeyCode::Char('d'))).is_empty());
        assert!(app.confirm.is_none());
        assert!(app.note.as_ref().unwrap().text.contains("press s"));
    }

    #[test]
    fn sign_out_returns_to_sign_in() {
        let mut app = account_app();
        let commands = update(&mut app, key(KeyCode::Char('s')));
        assert_eq!(commands, vec![Command::SignOut { all: false }]);
        update(
            &mut app,
            Message::SignedOut {
                all: false,
                result: Ok(LogoutOutcome::Ended),
            },
        );
        assert_eq!(app.screen.id(), ScreenId::SignIn);
        assert_eq!(app.note.as_ref().unwrap().text, "Signed out.");
        // The account went with its screen.
        assert!(app.screen.account().is_none());
        assert_eq!(
            app.sign_in().form.value(SignInField::Email),
            "ada@example.com"
        );
    }

    #[test]
    fn with_a_credential_from_the_environment_sign_out_says_why_not() {
        let mut app = account_app();
        app.env_credential = Some(crate::api::API_TOKEN_ENV);
        for c in ['s', 'a'] {
            assert!(update(&mut app, key(KeyCode::Char(c))).is_empty());
            assert_eq!(app.screen.id(), ScreenId::Account);
            assert!(app.confirm.is_none());
            let note = app.note.clone().unwrap();
            assert_eq!(note.kind, NoteKind::Info);
            assert_eq!(
                note.text,
                "Signed in with GATEPASS_API_TOKEN from the environment: nothing to sign \
                 out here; unset it to sign in with a password."
            );
        }
        assert_contains(
            &render(&app, 80, 24),
            "GATEPASS_API_TOKEN from the environment",
        );
    }

    #[test]
    fn sign_out_everywhere_needs_confirmation() {
        let mut app = account_app();
        assert!(update(&mut app, key(KeyCode::Char('a'))).is_empty());
        assert!(app.confirm.is_some());
        // n cancels.
        assert!(update(&mut app, key(KeyCode::Char('n'))).is_empty());
        assert!(app.confirm.is_none());
        assert_eq!(app.screen.id(), ScreenId::Account);
        // Enter confirms.
        update(&mut app, key(KeyCode::Char('a')));
        let commands = update(&mut app, key(KeyCode::Enter));
        assert_eq!(commands, vec![Command::SignOut { all: true }]);
        update(
            &mut app,
            Message::SignedOut {
                all: true,
                result: Ok(LogoutOutcome::Ended),
            },
        );
        assert_eq!(app.screen.id(), ScreenId::SignIn);
        assert_eq!(
            app.note.as_ref().unwrap().text,
            "Signed out of every device."
        );
    }

    #[test]
    fn sign_out_with_the_server_away_still_signs_out_here() {
        let mut app = account_app();
        update(&mut app, key(KeyCode::Char('s')));
        update(
            &mut app,
            Message::SignedOut {
                all: false,
                result: Err(unreachable()),
            },
        );
        assert_eq!(app.screen.id(), ScreenId::SignIn);
        let note = app.note.unwrap();
        assert_eq!(note.kind, NoteKind::Error);
        assert!(note.text.contains("the server was not told"));
        assert!(note.text.contains(SERVER));
    }

    #[test]
    fn looking_up_a_user_types_into_the_field() {
        let mut app = account_app();
        update(&mut app, key(KeyCode::Tab));
        assert!(app.typing());
        // Command keys are text here.
        type_text(&mut app, "sq");
        assert_eq!(app.account().lookup.value(), "sq");
        assert_eq!(app.screen.id(), ScreenId::Account);
        update(&mut app, ctrl_key_message('u'));
        // An empty id is caught here.
        assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
        assert!(app.account().lookup.error.is_some());
        type_text(&mut app, "1234");
        let commands = update(&mut app, key(KeyCode::Enter));
        assert_eq!(commands, vec![Command::LookUp { id: "1234".into() }]);
        update(&mut app, Message::LookedUp(Ok(UserView::Full(ada()))));
        assert_eq!(app.account().lookup_result, Some(Ok(UserView::Full(ada()))));
        update(&mut app, key(KeyCode::Esc));
        assert!(!app.typing());
    }

    #[test]
    fn another_users_profile_is_shown_without_an_email() {
        let mut app = account_app();
        app.account_mut().focus = AccountFocus::LookUp;
        type_text(&mut app, "someone");
        update(&mut app, key(KeyCode::Enter));
        let bob = gatepass_common::PublicProfile {
            id: "2".into(),
            first_name: "Bob".into(),
            last_name: "Byron".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
        };
        update(&mut app, Message::LookedUp(Ok(UserView::Public(bob))));
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "✓ Bob Byron, since");
        assert!(!screen.contains("Bob Byron <"), "{screen}");
    }

    #[test]
    fn an_unknown_user_is_said_in_the_look_up_box() {
        let mut app = account_app();
        app.account_mut().focus = AccountFocus::LookUp;
        type_text(&mut app, "nope");
        update(&mut app, key(KeyCode::Enter));
        let error = refusal(404, ErrorCode::UserNotFound, "No user with that id");
        update(&mut app, Message::LookedUp(Err(error)));
        assert_eq!(
            app.account().lookup_result,
            Some(Err("No user with that id".to_owned()))
        );
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "✗ No user with that id");
    }

    #[test]
    fn a_long_look_up_answer_wraps_in_a_taller_box() {
        let mut app = account_app();
        app.account_mut().focus = AccountFocus::LookUp;
        type_text(&mut app, "nope");
        update(&mut app, key(KeyCode::Enter));
        let long = "No user with that id; ids are the long ones that \
                    `gatepass me` and the sessions list show, copy one whole";
        let error = refusal(404, ErrorCode::UserNotFound, long);
        update(&mut app, Message::LookedUp(Err(error)));
        let screen = render(&app, 80, 24);
        for text in ["✗ No user with that id;", "copy one whole"] {
            assert_contains(&screen, text);
        }
    }

    #[test]
    fn an_ended_session_while_loading_returns_to_sign_in() {
        let mut app = account_app();
        update(&mut app, key(KeyCode::Char('r')));
        let error = ClientError::AuthRequired(crate::error::AuthRequired::SessionEnded {
            feedback: "Session revoked".into(),
        });
        update(&mut app, Message::AccountLoaded(Err(error)));
        assert_eq!(app.screen.id(), ScreenId::SignIn);
        assert!(app.note.unwrap().text.contains("Session revoked"));
    }

    #[test]
    fn q_quits() {
        let mut app = account_app();
        assert_eq!(
            update(&mut app, key(KeyCode::Char('q'))),
            vec![Command::Quit]
        );
    }

    #[test]
    fn it_renders_the_profile_sessions_status_and_footer_at_80x24() {
        let app = account_app();
        let screen = render(&app, 80, 24);
        for text in [
            "Account",
            "Ada Lovelace",
            "ada@example.com",
            "11111111-0000-4000-8000-000000000001",
            "Member since",
            "Sessions (2)",
            "this device",
            "last used 2030-01-01 11:59 UTC",
            "Look up a user by id",
            "Mozilla/5.0 (X11; Linux x86_64) F…",
            // Status bar, whole.
            SERVER,
            "token 1:54",
            "store: secret-service",
            // Footer, whole.
            "r refresh",
            "d end session",
            "s sign out",
            "a sign out everywhere",
            "? help",
            "Ctrl-C quit",
        ] {
            assert_contains(&screen, text);
        }
    }

    #[test]
    fn it_renders_the_spinner_and_the_confirmation() {
        let mut app = account_app();
        update(&mut app, key(KeyCode::Char('r')));
        assert_contains(&render(&app, 80, 24), "⠋ Refreshing…");
        app.busy = None;
        update(&mut app, key(KeyCode::Char('a')));
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "Sign out of every device?");
        assert_contains(&screen, "y/Enter yes");
        assert_contains(&screen, "n/Esc no");
    }

    #[test]
    fn it_renders_a_server_away_at_start() {
        let (mut app, _) = App::new(SERVER, t0());
        update(&mut app, Message::Started(Err(unreachable())));
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "Not loaded yet: press r to try again.");
        assert_contains(&screen, &format!("Server unreachable at {SERVER}"));
    }
}

#[cfg(test)]
mod capture {
    use crate::tui::testing::*;

    /// The README's picture of the Account screen:
    /// `cargo test -p gatepass-client account_screen_capture -- --nocapture`.
    #[test]
    fn account_screen_capture() {
        let mut app = account_app();
        app.info("Signed in as Ada Lovelace.");
        let screen = render(&app, 80, 24);
        println!("{screen}");
        assert_eq!(screen.lines().count(), 24);
        assert!(screen.lines().all(|line| line.chars().count() <= 80));
    }
}
