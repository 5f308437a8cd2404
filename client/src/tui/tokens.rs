//! Personal tokens (Account → t): the personal access tokens scripts and CI
//! jobs sign in with, listed, revoked after a confirmation, and made with a
//! small form whose answer, the token, is shown this once.
//!
//! Signing out everywhere and changing the password leave these tokens
//! alone, so this is where a user who fears a leak ends them.

use crossterm::event::{KeyCode, KeyEvent};
use gatepass_common::{CreatedTokenResponse, ErrorCode, PersonalToken};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph};
use ratatui::Frame;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::account::{when, Account};
use super::app::{self, App, Command, Screen, Secret};
use super::confirm::Confirm;
use super::form::{buttons, fields, Action, Form};
use super::status::shorten;
use super::view::{self, wrap_words, Hint};
use crate::display::escape;
use crate::error::ClientError;

const LOADING: &str = "Loading your tokens";
/// The columns after the name: created, expires (a day each), last used.
const DAY_WIDTH: usize = 10;
const LAST_USED_WIDTH: usize = 20;
const GAP: &str = "  ";

/// A token just made: its secret, shown until the user presses a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownToken {
    pub name: String,
    pub expires_at: String,
    pub token: Secret,
}

impl From<CreatedTokenResponse> for ShownToken {
    fn from(created: CreatedTokenResponse) -> ShownToken {
        ShownToken {
            name: created.name,
            expires_at: created.expires_at,
            token: Secret::new(&created.token),
        }
    }
}

/// What the panel shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    List,
    /// The new-token form.
    Create,
    /// The token just made, this once.
    Shown(ShownToken),
}

fields! {
    pub enum TokenField {
        Name = ("Name", "name"),
        /// Like `30d`; empty: the server's default.
        ExpiresIn = ("Expires in", "expiresIn"),
        /// Only once the server asked for a second factor.
        Code = ("Code", "code", masked),
    }
}

buttons! {
    pub enum TokenButton {
        Create = "Create the token",
        Cancel = "Cancel",
    }
}

pub type TokenForm = Form<TokenField, TokenButton>;

#[derive(Debug, Clone)]
pub struct Tokens {
    /// The account the panel returns to.
    pub account: Account,
    /// `None` until loaded.
    pub list: Option<Vec<PersonalToken>>,
    pub selected: usize,
    pub mode: Mode,
    pub form: TokenForm,
}

fn new_form() -> TokenForm {
    Form::new(
        &[TokenField::Name, TokenField::ExpiresIn],
        &[TokenButton::Create, TokenButton::Cancel],
    )
}

impl Tokens {
    /// The panel in front of `account`, nothing loaded yet.
    pub fn new(account: Account) -> Tokens {
        Tokens {
            account,
            list: None,
            selected: 0,
            mode: Mode::List,
            form: new_form(),
        }
    }

    pub fn typing(&self) -> bool {
        self.mode == Mode::Create && self.form.typing()
    }

    pub fn paste(&mut self, text: &str) {
        if self.mode == Mode::Create {
            self.form.paste(text);
        }
    }

    fn set_list(&mut self, tokens: Vec<PersonalToken>) {
        self.selected = self.selected.min(tokens.len().saturating_sub(1));
        self.list = Some(tokens);
    }

    fn selected_token(&self) -> Option<&PersonalToken> {
        self.list.as_ref()?.get(self.selected)
    }

    /// The code field appears once the server asked for a second factor:
    /// the server, not the app, knows whether the account has one.
    fn ask_for_code(&mut self) {
        self.form.add_field(TokenField::Code);
        self.form.focus_field(TokenField::Code);
    }

    fn has_code_field(&self) -> bool {
        self.form.has_field(TokenField::Code)
    }
}

/// Account → t: the panel, loading its list.
pub fn open(app: &mut App, panel: Tokens) -> Vec<Command> {
    app.go(Screen::Tokens(panel));
    app.start(LOADING, Command::LoadTokens)
}

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Screen::Tokens(tokens) = &mut app.screen else {
        return Vec::new();
    };
    match tokens.mode {
        Mode::List => on_list_key(app, key),
        Mode::Create => on_form_key(app, key),
        Mode::Shown(_) => {
            // Any key: the secret leaves the app's memory with the box.
            tokens.mode = Mode::List;
            let commands = app.start(LOADING, Command::LoadTokens);
            app.info("The token is no longer shown. Revoke it here if it was not copied.");
            commands
        }
    }
}

fn on_list_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Screen::Tokens(tokens) = &mut app.screen else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Char('r') => app.start(LOADING, Command::LoadTokens),
        KeyCode::Down | KeyCode::Char('j') => {
            let count = tokens.list.as_ref().map_or(0, Vec::len);
            if tokens.selected + 1 < count {
                tokens.selected += 1;
            }
            Vec::new()
        }
        KeyCode::Up | KeyCode::Char('k') => {
            tokens.selected = tokens.selected.saturating_sub(1);
            Vec::new()
        }
        KeyCode::Char('d') | KeyCode::Delete => {
            if let Some(token) = tokens.selected_token() {
                app.confirm = Some(Confirm::revoke_token(token));
            }
            Vec::new()
        }
        KeyCode::Char('n') => {
            tokens.form = new_form();
            tokens.mode = Mode::Create;
            app.note = None;
            Vec::new()
        }
        KeyCode::Esc => {
            let account = std::mem::take(&mut tokens.account);
            app.go(Screen::Account(account));
            Vec::new()
        }
        _ => Vec::new(),
    }
}

fn on_form_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Screen::Tokens(tokens) = &mut app.screen else {
        return Vec::new();
    };
    match tokens.form.on_key(key) {
        Some(Action::Submit | Action::Press(TokenButton::Create)) => submit(app),
        Some(Action::Press(TokenButton::Cancel) | Action::Back) => {
            tokens.form = new_form();
            tokens.mode = Mode::List;
            app.note = None;
            Vec::new()
        }
        None => Vec::new(),
    }
}

/// The server checks the name and the lifetime; its messages land under
/// the fields.
fn submit(app: &mut App) -> Vec<Command> {
    let Screen::Tokens(tokens) = &mut app.screen else {
        return Vec::new();
    };
    let form = &mut tokens.form;
    form.clear_errors();
    let expires_in = form.value(TokenField::ExpiresIn).trim();
    let code = form.value(TokenField::Code).trim();
    let command = Command::CreateToken {
        name: form.value(TokenField::Name).trim().to_owned(),
        expires_in: (!expires_in.is_empty()).then(|| expires_in.to_owned()),
        code: (!code.is_empty()).then(|| Secret::new(code)),
    };
    app.start_shown_once("Creating the token", command)
}

/// The session ended (then Sign in) or the panel was left: either way the
/// answer has nowhere to go.
fn gone(app: &mut App, error: Option<&ClientError>) -> bool {
    error.is_some_and(|error| app::session_over(app, error)) || app.state::<Tokens>().is_none()
}

pub fn on_loaded(app: &mut App, result: Result<Vec<PersonalToken>, ClientError>) -> Vec<Command> {
    app.busy = None;
    if gone(app, result.as_ref().err()) {
        return Vec::new();
    }
    let Screen::Tokens(tokens) = &mut app.screen else {
        return Vec::new();
    };
    match result {
        Ok(list) => tokens.set_list(list),
        Err(error) => app.show_error(&error),
    }
    Vec::new()
}

pub fn on_created(app: &mut App, result: Result<ShownToken, ClientError>) -> Vec<Command> {
    app.busy = None;
    // The form could not be left while this was in flight (`shown_once`):
    // only an ended session (then Sign in) leaves no panel for it.
    if gone(app, result.as_ref().err()) {
        return Vec::new();
    }
    let Screen::Tokens(tokens) = &mut app.screen else {
        return Vec::new();
    };
    let error = match result {
        Ok(shown) => {
            tokens.form = new_form();
            tokens.mode = Mode::Shown(shown);
            return Vec::new();
        }
        Err(error) => error,
    };
    match error.server_code() {
        Some(ErrorCode::MfaRequired) => {
            tokens.ask_for_code();
            app.info("Two-factor sign-in is on: type a code from your authenticator app.");
        }
        Some(ErrorCode::InvalidCode) => {
            tokens.ask_for_code();
            tokens
                .form
                .set_error(TokenField::Code, app::describe(&error));
        }
        _ => {
            if let Some(note) = tokens.form.take_error(&error) {
                app.error(note);
            }
        }
    }
    Vec::new()
}

pub fn on_revoked(app: &mut App, result: Result<(), ClientError>) -> Vec<Command> {
    app.busy = None;
    if gone(app, result.as_ref().err()) {
        return Vec::new();
    }
    match result {
        Ok(()) => {
            let commands = app.start(LOADING, Command::LoadTokens);
            app.info("Token revoked: scripts using it can no longer sign in.");
            commands
        }
        Err(error) => {
            // Revoked or expired already: the list is stale.
            let commands = if error.server_code() == Some(ErrorCode::TokenNotFound) {
                app.start(LOADING, Command::LoadTokens)
            } else {
                Vec::new()
            };
            app.show_error(&error);
            commands
        }
    }
}

pub fn hints(tokens: &Tokens, app: &App) -> Vec<Hint> {
    let mut hints = match tokens.mode {
        Mode::List => vec![
            ("r", "reload"),
            ("↑↓", "select"),
            ("n", "new token"),
            ("d", "revoke"),
            ("Esc", "back"),
        ],
        Mode::Create => vec![
            ("Tab/S-Tab", "move"),
            ("Enter", "create"),
            ("Esc", "cancel"),
        ],
        Mode::Shown(_) => vec![("any key", "done")],
    };
    hints.extend(view::global_hints(app));
    hints
}

/// `2030-03-31T12:00:00Z` -> `2030-03-31`; anything else as it is.
fn day(rfc3339: &str) -> String {
    match OffsetDateTime::parse(rfc3339, &Rfc3339) {
        Ok(at) => {
            let at = at.to_offset(time::UtcOffset::UTC);
            format!("{}-{:02}-{:02}", at.year(), at.month() as u8, at.day())
        }
        Err(_) => escape(rfc3339).into_owned(),
    }
}

fn expired(token: &PersonalToken, now: OffsetDateTime) -> bool {
    OffsetDateTime::parse(&token.expires_at, &Rfc3339).is_ok_and(|at| at <= now)
}

/// `text` cut and padded to `width` columns.
fn column(text: &str, width: usize) -> String {
    let text = shorten(text, width);
    let pad = width.saturating_sub(Span::raw(text.as_str()).width());
    format!("{text}{}", " ".repeat(pad))
}

/// The room the name gets in a row of `width` columns.
fn name_width(width: usize) -> usize {
    width.saturating_sub(DAY_WIDTH * 2 + LAST_USED_WIDTH + GAP.len() * 3)
}

fn header_line(width: usize) -> Line<'static> {
    Line::styled(
        format!(
            "  {}{GAP}{}{GAP}{}{GAP}{}",
            column("Name", name_width(width)),
            column("Created", DAY_WIDTH),
            column("Expires", DAY_WIDTH),
            "Last used"
        ),
        Style::new().fg(Color::Gray).add_modifier(Modifier::BOLD),
    )
}

/// One token in `width` columns; the name gives way.
fn token_line(token: &PersonalToken, width: usize, now: OffsetDateTime) -> Line<'static> {
    let expires = if expired(token, now) {
        Span::styled(
            column("expired", DAY_WIDTH),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        )
    } else {
        Span::raw(column(&day(&token.expires_at), DAY_WIDTH))
    };
    let last_used = match &token.last_used_at {
        Some(at) => when(at),
        None => "never".to_owned(),
    };
    Line::from(vec![
        Span::raw(format!(
            "{}{GAP}{}{GAP}",
            column(&escape(&token.name), name_width(width)),
            column(&day(&token.created_at), DAY_WIDTH),
        )),
        expires,
        Span::raw(GAP),
        Span::styled(last_used, Style::new().fg(Color::Gray)),
    ])
}

pub fn view(tokens: &Tokens, app: &App, frame: &mut Frame, area: Rect) {
    match &tokens.mode {
        Mode::List => list_view(tokens, app, frame, area),
        Mode::Create => form_view(tokens, app, frame, area),
        Mode::Shown(shown) => shown_view(shown, frame, area),
    }
}

fn list_view(tokens: &Tokens, app: &App, frame: &mut Frame, area: Rect) {
    let about = [
        "A script or CI job signs in with a token set as GATEPASS_API_TOKEN.",
        "Signing out everywhere and changing the password do not revoke tokens: \
         revoke one here if it may have leaked.",
    ];
    let about_width = area.width.saturating_sub(2) as usize;
    let about_lines: Vec<Line> = about
        .iter()
        .flat_map(|text| wrap_words(text, about_width))
        .map(|line| Line::styled(format!(" {line}"), Style::new().fg(Color::Gray)))
        .collect();
    let [list_area, about_area] = Layout::vertical([
        Constraint::Min(4),
        Constraint::Length(about_lines.len() as u16),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(about_lines), about_area);

    let count = tokens.list.as_ref().map_or(0, Vec::len);
    let block = view::focus_block(&format!(" Personal access tokens ({count}) "), true);
    let inner = block.inner(list_area);
    frame.render_widget(block, list_area);
    let message = match &tokens.list {
        None if app.busy.is_some() => Some("Loading…"),
        None => Some("Not loaded: press r to try again."),
        Some(list) if list.is_empty() => {
            Some("No personal access tokens. Press n to make one for a script or a CI job.")
        }
        Some(_) => None,
    };
    if let Some(message) = message {
        let lines: Vec<Line> = wrap_words(message, inner.width.saturating_sub(2) as usize)
            .into_iter()
            .map(|line| Line::from(format!(" {line}")))
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    }
    let [header_area, rows_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    // Inside the highlight symbol.
    let width = inner.width.saturating_sub(2) as usize;
    frame.render_widget(header_line(width), header_area);
    let items: Vec<ListItem> = tokens
        .list
        .iter()
        .flatten()
        .map(|token| ListItem::new(token_line(token, width, app.now)))
        .collect();
    let list = List::new(items)
        .highlight_symbol("› ")
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut state = ListState::default().with_selected(Some(tokens.selected));
    frame.render_stateful_widget(list, rows_area, &mut state);
}

fn form_view(tokens: &Tokens, app: &App, frame: &mut Frame, area: Rect) {
    let mut intro = vec![
        "A new personal access token: a script or CI job signs in with it \
         (GATEPASS_API_TOKEN) instead of your password.",
        "Expires in: like 30d or 12h, at most 365d; left empty, 90 days.",
    ];
    if tokens.has_code_field() {
        intro.push("Two-factor sign-in is on: also a code from your authenticator app.");
    }
    view::form_screen(frame, area, &intro, &tokens.form, view::cursor_allowed(app));
}

/// The new token, on a row of its own from the first column and with no
/// border beside it, so selecting the row copies the token and nothing else.
fn shown_view(shown: &ShownToken, frame: &mut Frame, area: Rect) {
    let block = Block::new()
        .borders(Borders::TOP | Borders::BOTTOM)
        .border_style(Style::new().fg(Color::Yellow))
        .title(" Your new token ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width.saturating_sub(1) as usize;
    let text = |text: &str, style: Style| -> Vec<Line<'static>> {
        wrap_words(text, width)
            .into_iter()
            .map(|line| Line::styled(format!(" {line}"), style))
            .collect()
    };
    let mut lines = Vec::new();
    lines.extend(text(
        &format!(
            "Token \"{}\" created; it expires {}.",
            escape(&shown.name),
            when(&shown.expires_at)
        ),
        Style::new(),
    ));
    lines.extend(text(
        "Copy it now: it is not shown again.",
        Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
    ));
    lines.push(Line::from(""));
    lines.push(Line::styled(
        escape(shown.token.expose()).into_owned(),
        Style::new().add_modifier(Modifier::BOLD),
    ));
    lines.push(Line::from(""));
    lines.extend(text(
        "Scripts use it as GATEPASS_API_TOKEN. Press any key once it is copied.",
        Style::new().fg(Color::Gray),
    ));
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::ScreenId;
    use crate::tui::app::{update, Message};
    use crate::tui::testing::*;

    const TOKEN: &str = "gp_pat_3q2-7wE1uXyTbq9kQ0cP3lW3gq2bXxv1G6s0Jv9YcHk";

    fn token(id: &str, name: &str) -> PersonalToken {
        PersonalToken {
            id: id.into(),
            name: name.into(),
            created_at: "2029-12-01T10:00:00Z".into(),
            expires_at: "2030-03-01T10:00:00Z".into(),
            last_used_at: None,
        }
    }

    fn two_tokens() -> Vec<PersonalToken> {
        let mut deploy = token("t-1", "deploy pipeline");
        deploy.last_used_at = Some("2030-01-01T11:58:00Z".into());
        vec![deploy, token("t-2", "nightly backup")]
    }

    /// The panel, opened from Account, with `list` loaded.
    fn tokens_app(list: Vec<PersonalToken>) -> App {
        let mut app = account_app();
        assert_eq!(
            update(&mut app, key(KeyCode::Char('t'))),
            vec![Command::LoadTokens]
        );
        update(&mut app, Message::TokensLoaded(Ok(list)));
        app
    }

    fn created() -> ShownToken {
        ShownToken {
            name: "deploy pipeline".into(),
            expires_at: "2030-03-31T12:00:00Z".into(),
            token: Secret::new(TOKEN),
        }
    }

    #[test]
    fn t_opens_the_panel_and_esc_returns_to_account() {
        let mut app = tokens_app(two_tokens());
        assert_eq!(app.screen.id(), ScreenId::Tokens);
        assert!(app.busy.is_none());
        assert_eq!(app.tokens().list.as_ref().unwrap().len(), 2);
        assert_eq!(
            update(&mut app, key(KeyCode::Char('r'))),
            vec![Command::LoadTokens]
        );
        update(&mut app, Message::TokensLoaded(Ok(two_tokens())));
        update(&mut app, key(KeyCode::Esc));
        assert_eq!(app.screen.id(), ScreenId::Account);
    }

    #[test]
    fn a_list_that_arrives_after_the_panel_was_left_is_dropped() {
        let mut app = account_app();
        update(&mut app, key(KeyCode::Char('t')));
        // Back to Account before the list arrives.
        update(&mut app, key(KeyCode::Esc));
        assert_eq!(app.screen.id(), ScreenId::Account);
        assert!(update(&mut app, Message::TokensLoaded(Ok(two_tokens()))).is_empty());
        assert_eq!(app.screen.id(), ScreenId::Account);
        assert!(app.busy.is_none());
        assert_eq!(
            app.account().sessions.len(),
            2,
            "the account came back whole"
        );
        // An ended session still signs out, whichever screen asked.
        update(&mut app, key(KeyCode::Char('t')));
        update(&mut app, key(KeyCode::Esc));
        let error = ClientError::AuthRequired(crate::error::AuthRequired::SessionEnded {
            feedback: "Session revoked".into(),
        });
        update(&mut app, Message::TokensLoaded(Err(error)));
        assert_eq!(app.screen.id(), ScreenId::SignIn);
    }

    #[test]
    fn the_account_behind_the_panel_takes_a_late_reload() {
        let mut app = account_app();
        update(&mut app, key(KeyCode::Char('r')));
        app.busy = None;
        update(&mut app, key(KeyCode::Char('t')));
        let mut data = account_data();
        data.sessions.truncate(1);
        update(&mut app, Message::AccountLoaded(Ok(data)));
        assert_eq!(app.screen.id(), ScreenId::Tokens);
        update(&mut app, key(KeyCode::Esc));
        assert_eq!(app.account().sessions.len(), 1);
    }

    #[test]
    fn arrows_and_j_k_select_within_the_list() {
        let mut app = tokens_app(two_tokens());
        for code in [KeyCode::Down, KeyCode::Char('j'), KeyCode::Down] {
            update(&mut app, key(code));
        }
        assert_eq!(app.tokens().selected, 1);
        update(&mut app, key(KeyCode::Char('k')));
        update(&mut app, key(KeyCode::Up));
        assert_eq!(app.tokens().selected, 0);
        // A shorter list after a reload keeps the selection on it.
        update(&mut app, key(KeyCode::Down));
        update(
            &mut app,
            Message::TokensLoaded(Ok(vec![token("t-1", "deploy pipeline")])),
        );
        assert_eq!(app.tokens().selected, 0);
    }

    #[test]
    fn revoking_asks_first_naming_the_token_then_revokes_and_reloads() {
        let mut app = tokens_app(two_tokens());
        update(&mut app, key(KeyCode::Down));
        assert!(update(&mut app, key(KeyCode::Char('d'))).is_empty());
        let confirm = app.confirm.clone().expect("a confirmation");
        assert!(confirm.question.contains("nightly backup"), "{confirm:?}");
        assert!(
            confirm.detail.contains("stop working at once"),
            "{confirm:?}"
        );
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "Revoke the token \"nightly backup\"?");
        // n keeps it.
        assert!(update(&mut app, key(KeyCode::Char('n'))).is_empty());
        assert!(app.confirm.is_none());
        // Delete asks too; y revokes.
        update(&mut app, key(KeyCode::Delete));
        assert_eq!(
            update(&mut app, key(KeyCode::Char('y'))),
            vec![Command::RevokeToken { id: "t-2".into() }]
        );
        assert_eq!(
            update(&mut app, Message::TokenRevoked(Ok(()))),
            vec![Command::LoadTokens]
        );
        assert!(app.note.as_ref().unwrap().text.contains("Token revoked"));
    }

    #[test]
    fn a_token_revoked_elsewhere_reloads_the_list() {
        let mut app = tokens_app(two_tokens());
        update(&mut app, key(KeyCode::Char('d')));
        update(&mut app, key(KeyCode::Enter));
        let gone = refusal(404, ErrorCode::TokenNotFound, "No such token");
        assert_eq!(
            update(&mut app, Message::TokenRevoked(Err(gone))),
            vec![Command::LoadTokens]
        );
        assert_eq!(app.note.as_ref().unwrap().text, "No such token");
    }

    #[test]
    fn nothing_to_revoke_in_an_empty_list() {
        let mut app = tokens_app(Vec::new());
        assert!(update(&mut app, key(KeyCode::Char('d'))).is_empty());
        assert!(app.confirm.is_none());
    }

    #[test]
    fn n_opens_the_form_and_enter_sends_name_and_lifetime() {
        let mut app = tokens_app(two_tokens());
        update(&mut app, key(KeyCode::Char('n')));
        assert_eq!(app.tokens().mode, Mode::Create);
        assert!(app.typing(), "command keys are text in the form");
        type_text(&mut app, " ci deploy ");
        update(&mut app, key(KeyCode::Tab));
        type_text(&mut app, "30d");
        assert_eq!(
            update(&mut app, key(KeyCode::Enter)),
            vec![Command::CreateToken {
                name: "ci deploy".into(),
                expires_in: Some("30d".into()),
                code: None,
            }]
        );
        assert_eq!(app.busy.as_ref().unwrap().label, "Creating the token");
    }

    #[test]
    fn an_empty_lifetime_leaves_the_default_to_the_server() {
        let mut app = tokens_app(Vec::new());
        update(&mut app, key(KeyCode::Char('n')));
        type_text(&mut app, "ci");
        assert_eq!(
            update(&mut app, key(KeyCode::Enter)),
            vec![Command::CreateToken {
                name: "ci".into(),
                expires_in: None,
                code: None,
            }]
        );
    }

    #[test]
    fn esc_cancels_the_form_and_forgets_it() {
        let mut app = tokens_app(two_tokens());
        update(&mut app, key(KeyCode::Char('n')));
        type_text(&mut app, "half typed");
        update(&mut app, key(KeyCode::Esc));
        assert_eq!(app.tokens().mode, Mode::List);
        assert_eq!(app.screen.id(), ScreenId::Tokens);
        update(&mut app, key(KeyCode::Char('n')));
        assert_eq!(app.tokens().form.value(TokenField::Name), "");
    }

    #[test]
    fn the_servers_messages_land_under_their_fields() {
        let mut app = tokens_app(Vec::new());
        update(&mut app, key(KeyCode::Char('n')));
        type_text(&mut app, "ci");
        update(&mut app, key(KeyCode::Tab));
        type_text(&mut app, "forever");
        update(&mut app, key(KeyCode::Enter));
        let error = validation(&[("expiresIn", "expiresIn is invalid: unknown unit")]);
        update(&mut app, Message::TokenCreated(Err(error)));
        assert_eq!(app.tokens().mode, Mode::Create);
        assert_eq!(
            app.tokens().form.error(TokenField::ExpiresIn),
            Some("expiresIn is invalid: unknown unit")
        );
        assert!(app.tokens().form.is_focused(TokenField::ExpiresIn));
        assert_contains(&render(&app, 80, 24), "✗ expiresIn is invalid");
    }

    #[test]
    fn a_second_factor_asked_for_adds_the_code_field() {
        let mut app = tokens_app(Vec::new());
        update(&mut app, key(KeyCode::Char('n')));
        assert!(!app.tokens().has_code_field());
        type_text(&mut app, "ci");
        update(&mut app, key(KeyCode::Enter));
        let asked = refusal(403, ErrorCode::MfaRequired, "A code is required");
        update(&mut app, Message::TokenCreated(Err(asked)));
        assert!(app.tokens().form.is_focused(TokenField::Code));
        assert_contains(&render(&app, 80, 24), "Two-factor sign-in is on");
        type_text(&mut app, "123456");
        assert_eq!(
            update(&mut app, key(KeyCode::Enter)),
            vec![Command::CreateToken {
                name: "ci".into(),
                expires_in: None,
                code: Some(Secret::new("123456")),
            }]
        );
        let wrong = refusal(400, ErrorCode::InvalidCode, "That code is not valid");
        update(&mut app, Message::TokenCreated(Err(wrong)));
        assert_eq!(
            app.tokens().form.error(TokenField::Code),
            Some("That code is not valid")
        );
        // The code field shows dots, and Debug hides it.
        let screen = render(&app, 80, 24);
        assert!(!screen.contains("123456"), "{screen}");
        assert!(!format!("{:?}", app.tokens()).contains("123456"));
    }

    #[test]
    fn the_form_waits_for_the_token_it_asked_for() {
        let mut app = tokens_app(two_tokens());
        update(&mut app, key(KeyCode::Char('n')));
        type_text(&mut app, "deploy pipeline");
        update(&mut app, key(KeyCode::Enter));
        // Esc twice would have left the panel before the token came back.
        update(&mut app, key(KeyCode::Esc));
        update(&mut app, key(KeyCode::Esc));
        assert_eq!(app.screen.id(), ScreenId::Tokens);
        assert_eq!(app.tokens().mode, Mode::Create);
        assert_contains(&render(&app, 80, 24), "shows here in a moment");
        update(&mut app, Message::TokenCreated(Ok(created())));
        assert_contains(&render(&app, 80, 24), TOKEN);
        // Once answered, the panel can be left as before.
        update(&mut app, key(KeyCode::Enter));
        update(&mut app, Message::TokensLoaded(Ok(two_tokens())));
        update(&mut app, key(KeyCode::Char('n')));
        update(&mut app, key(KeyCode::Esc));
        assert_eq!(app.tokens().mode, Mode::List);
        update(&mut app, key(KeyCode::Esc));
        assert_eq!(app.screen.id(), ScreenId::Account);
    }

    #[test]
    fn the_created_token_is_shown_once_then_gone_from_the_state() {
        let mut app = tokens_app(two_tokens());
        update(&mut app, key(KeyCode::Char('n')));
        type_text(&mut app, "deploy pipeline");
        update(&mut app, key(KeyCode::Enter));
        update(&mut app, Message::TokenCreated(Ok(created())));
        assert!(app.busy.is_none());
        assert_eq!(
            app.tokens().form.value(TokenField::Name),
            "",
            "the form is forgotten"
        );
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "Copy it now: it is not shown again.");
        assert_contains(&screen, "Token \"deploy pipeline\" created");
        // The token alone on its row, from the first column.
        assert!(
            screen.lines().any(|line| line == TOKEN),
            "the token is not on a row of its own:\n{screen}"
        );
        assert!(!format!("{:?}", app.tokens()).contains(TOKEN));

        // Any key: the box goes, the list reloads, the secret is gone.
        assert_eq!(
            update(&mut app, key(KeyCode::Char('x'))),
            vec![Command::LoadTokens]
        );
        // `Mode::Shown` was the one place the secret was kept.
        assert_eq!(app.tokens().mode, Mode::List);
        assert!(!render(&app, 80, 24).contains(TOKEN));
    }

    #[test]
    fn it_renders_the_list_at_80x24_with_names_escaped_and_expiry_marked() {
        let mut list = two_tokens();
        list.push(token(
            "t-3",
            "\u{202e}evil\u{1b}[2J and a name far too long to fit in its column at all",
        ));
        list[1].expires_at = "2030-01-01T11:00:00Z".into(); // before t0
        let app = tokens_app(list);
        let screen = render(&app, 80, 24);
        assert!(!screen.contains(['\u{202e}', '\u{1b}']), "{screen}");
        for text in [
            "Personal tokens",
            "Personal access tokens (3)",
            "Name",
            "Last used",
            "deploy pipeline",
            "2029-12-01",
            "2030-03-01",
            "2030-01-01 11:58 UTC",
            "never",
            "expired",
            "\\u{202e}evil\\u{1b}[2J and a",
            "…",
            "do not revoke tokens",
            "n new token",
            "d revoke",
            "Esc back",
        ] {
            assert_contains(&screen, text);
        }
        assert!(screen.lines().all(|line| line.chars().count() <= 80));
    }

    #[test]
    fn an_empty_list_says_how_to_make_one() {
        let app = tokens_app(Vec::new());
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "Personal access tokens (0)");
        assert_contains(&screen, "No personal access tokens. Press n to make one");
    }

    #[test]
    fn an_ended_session_returns_to_sign_in_and_forgets_the_panel() {
        let mut app = tokens_app(two_tokens());
        update(&mut app, key(KeyCode::Char('r')));
        let error = ClientError::AuthRequired(crate::error::AuthRequired::SessionEnded {
            feedback: "Session revoked".into(),
        });
        update(&mut app, Message::TokensLoaded(Err(error)));
        assert_eq!(app.screen.id(), ScreenId::SignIn);
        // The panel went with its list; signed in again, it starts empty.
        assert!(app.screen.account().is_none());
        update(&mut app, Message::SignedIn(Ok(ada())));
        app.busy = None;
        update(&mut app, key(KeyCode::Char('t')));
        assert!(app.tokens().list.is_none());
    }

    #[test]
    fn a_load_that_fails_says_so_and_r_tries_again() {
        let mut app = account_app();
        update(&mut app, key(KeyCode::Char('t')));
        update(&mut app, Message::TokensLoaded(Err(unreachable())));
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "Not loaded: press r to try again.");
        assert_contains(&screen, "Server unreachable at");
    }
}
