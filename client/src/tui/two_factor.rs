//! Account → Two-factor: whether sign-in asks for a code, and the ways to
//! change that. Turning it on takes the password, then shows the QR code
//! (with the secret and the URI as text) and takes a code; the ten recovery
//! codes are shown once, until the user says they are stored. When it is
//! on: ten new recovery codes for a code, or off for the password and a
//! code (after a confirmation).

use crossterm::event::{KeyCode, KeyEvent};
use gatepass_common::{ErrorCode, SecondFactorStatus};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Padding, Paragraph};
use ratatui::Frame;

use super::account::Account;
use super::app::{self, App, Command, Screen, Secret};
use super::confirm::Confirm;
use super::form::{buttons, fields, Action, Form};
use super::view::{self, wrap_words, Hint};
use crate::display::escape;
use crate::error::ClientError;
use crate::qr;

/// The narrowest the text beside the QR code gets: the 32-character secret
/// and the code field fit, and an 80-column window leaves 45 columns for the
/// code (a usual one with the standard quiet zone; a longer address's with
/// the narrow one).
const TEXT_WIDTH: u16 = 34;
/// Fewer rows squeeze the text beside the code: the size of an ordinary
/// terminal is the least to ask for.
const LEAST_ROWS: usize = 24;
/// Between the QR code and the text.
const GAP: u16 = 1;

/// A call of this panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Status,
    Setup { password: Secret },
    Confirm { code: Secret },
    RecoveryCodes { code: Secret },
    Disable { password: Secret, code: Secret },
}

/// The server's answer to a [`Request`].
pub enum Answer {
    Status(Result<SecondFactorStatus, ClientError>),
    SetUp(Result<Enrolment, ClientError>),
    Confirmed(Result<Vec<String>, ClientError>),
    RecoveryCodes(Result<Vec<String>, ClientError>),
    Disabled(Result<(), ClientError>),
}

impl Answer {
    fn error(&self) -> Option<&ClientError> {
        match self {
            Answer::Status(Err(error))
            | Answer::SetUp(Err(error))
            | Answer::Confirmed(Err(error))
            | Answer::RecoveryCodes(Err(error))
            | Answer::Disabled(Err(error)) => Some(error),
            _ => None,
        }
    }
}

/// What the authenticator app needs: the secret and its `otpauth://` URI.
/// Secrets both (whoever has them makes the codes): hidden from `Debug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub secret: Secret,
    pub uri: Secret,
}

fields! {
    pub enum TwoFactorField {
        /// The current password.
        Password = ("Password", "currentPassword", masked),
        /// A code from the authenticator app (turning off: or a recovery code).
        Code = ("Code", "code"),
    }
}

buttons! {
    /// Each of the panel's forms has one button: its action.
    pub enum TwoFactorButton {
        Continue = "Continue",
        TurnOn = "Turn on",
        MakeCodes = "Make new recovery codes",
        TurnOff = "Turn off",
    }
}

pub type TwoFactorForm = Form<TwoFactorField, TwoFactorButton>;

#[derive(Debug, Clone, Default)]
pub enum Step {
    /// The state and the keys that change it.
    #[default]
    Overview,
    /// Turning on, 1: the current password.
    Password(TwoFactorForm),
    /// Turning on, 2: the QR code, and a code to confirm the app has it.
    Scan {
        enrolment: Enrolment,
        form: TwoFactorForm,
    },
    /// Ten new recovery codes: a code first.
    Regenerate(TwoFactorForm),
    /// Turning off: the password and a code or a recovery code.
    Disable(TwoFactorForm),
    /// Recovery codes, shown this once, until the user says they are stored.
    Codes(Vec<Secret>),
}

#[derive(Debug, Clone)]
pub struct TwoFactor {
    /// The account the panel returns to.
    pub account: Account,
    /// `None` until loaded.
    pub status: Option<SecondFactorStatus>,
    pub step: Step,
}

impl TwoFactor {
    /// The panel in front of `account`, its state not loaded yet.
    pub fn new(account: Account) -> TwoFactor {
        TwoFactor {
            account,
            status: None,
            step: Step::Overview,
        }
    }

    fn form(&self) -> Option<&TwoFactorForm> {
        match &self.step {
            Step::Password(form) | Step::Regenerate(form) | Step::Disable(form) => Some(form),
            Step::Scan { form, .. } => Some(form),
            Step::Overview | Step::Codes(_) => None,
        }
    }

    fn form_mut(&mut self) -> Option<&mut TwoFactorForm> {
        match &mut self.step {
            Step::Password(form) | Step::Regenerate(form) | Step::Disable(form) => Some(form),
            Step::Scan { form, .. } => Some(form),
            Step::Overview | Step::Codes(_) => None,
        }
    }

    pub fn typing(&self) -> bool {
        self.form().is_some_and(TwoFactorForm::typing)
    }

    pub fn paste(&mut self, text: &str) {
        if let Some(form) = self.form_mut() {
            form.paste(text);
        }
    }

    fn is_on(&self) -> Option<bool> {
        self.status.as_ref().map(|status| status.totp)
    }
}

/// From Account (key `2`): the panel, with its state asked afresh.
pub fn open(app: &mut App, panel: TwoFactor) -> Vec<Command> {
    app.go(Screen::TwoFactor(panel));
    load(app)
}

fn load(app: &mut App) -> Vec<Command> {
    app.start(
        "Loading the two-factor state",
        Command::TwoFactor(Request::Status),
    )
}

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Screen::TwoFactor(panel) = &mut app.screen else {
        return Vec::new();
    };
    match panel.step {
        Step::Overview => on_overview_key(app, key),
        Step::Codes(_) => {
            if key.code == KeyCode::Enter {
                // Acknowledged: the codes are not kept, nor shown again.
                panel.step = Step::Overview;
                app.info("Recovery codes stored. Each signs in once.");
            } else {
                app.info(
                    "Press Enter once the recovery codes are stored: they are not shown again.",
                );
            }
            Vec::new()
        }
        Step::Password(_) | Step::Scan { .. } | Step::Regenerate(_) | Step::Disable(_) => {
            on_form_key(app, key)
        }
    }
}

fn on_overview_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    use TwoFactorField::{Code, Password};
    let Screen::TwoFactor(panel) = &mut app.screen else {
        return Vec::new();
    };
    let next = match (key.code, panel.is_on()) {
        (KeyCode::Char('e'), Some(false)) => {
            Step::Password(Form::new(&[Password], &[TwoFactorButton::Continue]))
        }
        (KeyCode::Char('c'), Some(true)) => {
            Step::Regenerate(Form::new(&[Code], &[TwoFactorButton::MakeCodes]))
        }
        // The code may be a recovery code, which lasts until used: masked
        // like the password.
        (KeyCode::Char('x'), Some(true)) => {
            Step::Disable(Form::new(&[Password, Code], &[TwoFactorButton::TurnOff]).masking(Code))
        }
        (KeyCode::Char('e'), Some(true)) => {
            app.info("Two-factor sign-in is on already.");
            return Vec::new();
        }
        (KeyCode::Char('c' | 'x'), Some(false)) => {
            app.info("Two-factor sign-in is off: press e to turn it on.");
            return Vec::new();
        }
        (KeyCode::Char('e' | 'c' | 'x'), None) => {
            app.info("The two-factor state is not loaded yet: press r to try again.");
            return Vec::new();
        }
        (KeyCode::Char('r'), _) => return load(app),
        (KeyCode::Esc, _) => {
            let account = std::mem::take(&mut panel.account);
            app.go(Screen::Account(account));
            return Vec::new();
        }
        (KeyCode::Char('q'), _) => return vec![Command::Quit],
        _ => return Vec::new(),
    };
    panel.step = next;
    app.note = None;
    Vec::new()
}

fn on_form_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Screen::TwoFactor(panel) = &mut app.screen else {
        return Vec::new();
    };
    let Some(form) = panel.form_mut() else {
        return Vec::new();
    };
    match form.on_key(key) {
        Some(Action::Submit | Action::Press(_)) => submit(app),
        Some(Action::Back) => {
            // Nothing changed on the server (an unconfirmed setup is
            // replaced by the next one).
            panel.step = Step::Overview;
            app.note = None;
            Vec::new()
        }
        None => Vec::new(),
    }
}

fn submit(app: &mut App) -> Vec<Command> {
    let Screen::TwoFactor(panel) = &mut app.screen else {
        return Vec::new();
    };
    let Some(form) = panel.form_mut() else {
        return Vec::new();
    };
    // Says on the empty fields what they need.
    let filled = form.check_filled(|id| match id {
        TwoFactorField::Password => "Type your current password",
        TwoFactorField::Code => "Type the code your authenticator app shows",
    });
    if !filled {
        return Vec::new();
    }
    let password = Secret::new(form.value(TwoFactorField::Password));
    let code = Secret::new(form.value(TwoFactorField::Code).trim());
    match &panel.step {
        Step::Password(_) => app.start(
            "Setting up two-factor sign-in",
            Command::TwoFactor(Request::Setup { password }),
        ),
        Step::Scan { .. } => app.start_shown_once(
            "Checking the code",
            Command::TwoFactor(Request::Confirm { code }),
        ),
        Step::Regenerate(_) => app.start_shown_once(
            "Making new recovery codes",
            Command::TwoFactor(Request::RecoveryCodes { code }),
        ),
        Step::Disable(_) => {
            app.confirm = Some(Confirm::turn_off_two_factor(password, code));
            Vec::new()
        }
        Step::Overview | Step::Codes(_) => Vec::new(),
    }
}

/// For the panel only: once the user went back to Account the answer is
/// dropped (but an ended session still signs out).
pub fn on_answer(app: &mut App, answer: Answer) -> Vec<Command> {
    app.busy = None;
    let Screen::TwoFactor(panel) = &mut app.screen else {
        if let Some(error) = answer.error() {
            app::session_over(app, error);
        }
        return Vec::new();
    };
    match answer {
        Answer::Status(Ok(status)) => {
            panel.status = Some(status);
            Vec::new()
        }
        Answer::SetUp(Ok(enrolment)) => {
            // The password did its work: the form that held it goes.
            panel.step = Step::Scan {
                enrolment,
                form: Form::new(&[TwoFactorField::Code], &[TwoFactorButton::TurnOn]),
            };
            Vec::new()
        }
        Answer::Confirmed(Ok(codes)) => {
            panel.step = codes_step(codes);
            let commands = load(app);
            app.info("Two-factor sign-in is on.");
            commands
        }
        Answer::RecoveryCodes(Ok(codes)) => {
            panel.step = codes_step(codes);
            let commands = load(app);
            app.info("New recovery codes: the old ones no longer work.");
            commands
        }
        Answer::Disabled(Ok(())) => {
            panel.step = Step::Overview;
            let commands = load(app);
            app.info("Two-factor sign-in is off: signing in takes the password alone.");
            commands
        }
        Answer::Status(Err(error))
        | Answer::SetUp(Err(error))
        | Answer::Confirmed(Err(error))
        | Answer::RecoveryCodes(Err(error))
        | Answer::Disabled(Err(error)) => on_error(app, &error),
    }
}

fn codes_step(codes: Vec<String>) -> Step {
    Step::Codes(codes.iter().map(Secret::new).collect())
}

/// A wrong password or code goes on its field, to be typed again; a stale
/// state (on or off elsewhere meanwhile) reloads; the rest (a 429 and its
/// wait, the server away) goes on the message line.
fn on_error(app: &mut App, error: &ClientError) -> Vec<Command> {
    if app::session_over(app, error) {
        return Vec::new();
    }
    let Screen::TwoFactor(panel) = &mut app.screen else {
        return Vec::new();
    };
    let code = error.server_code();
    let field = match code {
        Some(ErrorCode::WrongPassword) => Some(TwoFactorField::Password),
        Some(ErrorCode::InvalidCode) => Some(TwoFactorField::Code),
        _ => None,
    };
    if let Some(form) = panel.form_mut() {
        if let Some(id) = field.filter(|id| form.has_field(*id)) {
            form.retype(id, app::describe(error));
            return Vec::new();
        }
        match form.apply_field_errors(error) {
            Some(unmatched) if unmatched.is_empty() => return Vec::new(),
            Some(unmatched) => {
                app.error(unmatched.join(" "));
                return Vec::new();
            }
            None => {}
        }
    }
    if matches!(
        code,
        Some(ErrorCode::TotpEnabled | ErrorCode::TotpNotEnabled)
    ) {
        panel.step = Step::Overview;
        let commands = load(app);
        app.show_error(error);
        return commands;
    }
    app.show_error(error);
    Vec::new()
}

pub fn hints(panel: &TwoFactor, app: &App) -> Vec<Hint> {
    let mut hints = match (&panel.step, panel.is_on()) {
        (Step::Overview, Some(false)) => vec![("e", "turn on")],
        (Step::Overview, Some(true)) => vec![("c", "new recovery codes"), ("x", "turn off")],
        (Step::Overview, None) => Vec::new(),
        (Step::Codes(_), _) => vec![("Enter", "I have stored them")],
        (Step::Scan { .. }, _) => vec![("Enter", "turn on"), ("Esc", "cancel")],
        _ => vec![("Tab", "move"), ("Enter", "continue"), ("Esc", "cancel")],
    };
    if matches!(panel.step, Step::Overview) {
        hints.extend([("r", "reload"), ("Esc", "back to Account"), ("q", "quit")]);
    }
    hints.extend(view::global_hints(app));
    hints
}

/// The scan step draws the whole screen (`view_whole_screen`), so that the
/// QR code fits an 80x24 terminal.
pub fn wants_whole_screen(app: &App) -> bool {
    matches!(&app.screen, Screen::TwoFactor(panel) if matches!(panel.step, Step::Scan { .. }))
}

pub fn view(panel: &TwoFactor, app: &App, frame: &mut Frame, area: Rect) {
    let cursor = view::cursor_allowed(app);
    match &panel.step {
        Step::Overview => overview(panel, app, frame, area),
        Step::Password(form) => view::form_screen(
            frame,
            area,
            &[
                "Turn on two-factor sign-in: signing in will also ask for a code from an \
                 authenticator app on your phone.",
                "First, your current password.",
            ],
            form,
            cursor,
        ),
        Step::Regenerate(form) => view::form_screen(
            frame,
            area,
            &[
                "Ten new recovery codes replace the ones you have (used or not).",
                "Type the code your authenticator app shows.",
            ],
            form,
            cursor,
        ),
        Step::Disable(form) => view::form_screen(
            frame,
            area,
            &[
                "Turn off two-factor sign-in: signing in will take the password alone.",
                "Your current password, and the code your authenticator app shows (or one \
                 of your recovery codes).",
            ],
            form,
            cursor,
        ),
        // Drawn by `view_whole_screen`.
        Step::Scan { .. } => {}
        Step::Codes(codes) => recovery_codes(frame, area, codes),
    }
}

fn overview(panel: &TwoFactor, app: &App, frame: &mut Frame, area: Rect) {
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut lines = Vec::new();
    match &panel.status {
        None if app.busy.is_some() => lines.push(Line::from("Loading…")),
        None => lines.push(Line::from("Not loaded yet: press r to try again.")),
        Some(status) if status.totp => {
            lines.push(Line::styled("Two-factor sign-in: on", bold));
            lines.push(Line::from(format!(
                "Recovery codes left: {}",
                status.recovery_codes_left
            )));
            lines.push(Line::from(""));
            lines.push(Line::from(
                "Signing in asks for the password, then a code from your authenticator app \
                 (or one of your recovery codes).",
            ));
            lines.push(Line::from(""));
            lines.push(Line::from(
                "c  ten new recovery codes (the old ones stop working)",
            ));
            lines.push(Line::from("x  turn it off"));
        }
        Some(_) => {
            lines.push(Line::styled("Two-factor sign-in: off", bold));
            lines.push(Line::from(""));
            lines.push(Line::from(
                "Signing in takes the password alone. With two-factor sign-in on, it also \
                 asks for a code from an authenticator app on your phone, so a stolen \
                 password is not enough.",
            ));
            lines.push(Line::from(""));
            lines.push(Line::from("e  turn it on"));
        }
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(ratatui::widgets::Wrap { trim: false })
            .block(
                Block::bordered()
                    .padding(Padding::horizontal(1))
                    .title(" Two-factor sign-in "),
            ),
        area,
    );
}

/// The smallest window that shows the QR code of `uri` (with the narrow
/// quiet zone) and the text beside it.
fn smallest_window(uri: &str) -> Option<(usize, usize)> {
    let standard = qr::draw(uri).ok()?;
    let narrow = standard.width - 2 * (qr::QUIET_ZONE - qr::NARROW_QUIET_ZONE) as usize;
    Some((
        narrow + (GAP + TEXT_WIDTH) as usize,
        narrow.div_ceil(2).max(LEAST_ROWS),
    ))
}

/// The scan step, on the whole screen: the QR code on the left, as tall as
/// the window; beside it the secret, the URI, the code field, then the
/// message line and the keys (there is no title or status bar to spare a
/// row for: a usual code is 23 rows high with its quiet zone).
pub fn view_whole_screen(app: &App, frame: &mut Frame) {
    let Screen::TwoFactor(TwoFactor {
        step: Step::Scan { enrolment, form },
        ..
    }) = &app.screen
    else {
        return;
    };
    let area = frame.area();
    let uri = enrolment.uri.expose();
    let qr_room = area.width.saturating_sub(GAP + TEXT_WIDTH) as usize;
    // The URI is the server's: a control character in it must not reach
    // the terminal, and then it is no QR code to offer.
    let drawing = match escape(uri) {
        std::borrow::Cow::Borrowed(_) => {
            qr::draw_to_fit(uri, qr_room, area.height as usize).unwrap_or(None)
        }
        std::borrow::Cow::Owned(_) => None,
    };
    let column = match &drawing {
        Some(drawing) => {
            let [qr_area, _, column] = Layout::horizontal([
                Constraint::Length(drawing.width as u16),
                Constraint::Length(GAP),
                Constraint::Min(0),
            ])
            .areas(area);
            let lines: Vec<Line> = drawing.lines.iter().map(|l| Line::raw(l.clone())).collect();
            frame.render_widget(Paragraph::new(lines), qr_area);
            column
        }
        None => area,
    };
    let messages = view::message_lines(app, column.width);
    let footer = view::footer_lines(&view::hints(app), column.width);
    let [text_area, message_area, footer_area] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(messages.len() as u16),
        Constraint::Length(footer.len() as u16),
    ])
    .areas(column);
    frame.render_widget(Paragraph::new(messages), message_area);
    frame.render_widget(Paragraph::new(footer), footer_area);
    let width = text_area.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    let plain = Style::new();
    match (&drawing, smallest_window(uri)) {
        (Some(_), _) => wrapped(
            &mut lines,
            "Scan the QR code with your authenticator app, or type the secret into it.",
            width,
            plain,
        ),
        (None, Some((columns, rows))) => wrapped(
            &mut lines,
            &format!(
                "Make the window at least {columns}×{rows} to see the QR code; or type the \
                 secret below into your authenticator app."
            ),
            width,
            Style::new().fg(Color::Yellow),
        ),
        (None, None) => wrapped(
            &mut lines,
            "Type the secret below into your authenticator app.",
            width,
            plain,
        ),
    }
    lines.push(Line::from(""));
    lines.push(Line::styled("Secret", Style::new().fg(Color::Gray)));
    lines.push(Line::styled(
        escape(enrolment.secret.expose()).into_owned(),
        Style::new().add_modifier(Modifier::BOLD),
    ));
    lines.push(Line::from(""));
    lines.push(Line::styled("URI", Style::new().fg(Color::Gray)));
    // No spaces in a URI: cut at the width, so its rows join back whole.
    let shown = escape(uri);
    let chars: Vec<char> = shown.chars().collect();
    for chunk in chars.chunks(width.max(1)) {
        lines.push(Line::raw(chunk.iter().collect::<String>()));
    }
    lines.push(Line::from(""));
    wrapped(
        &mut lines,
        "Then type the code the app shows.",
        width,
        plain,
    );
    let text_rows = lines.len() as u16;
    let [intro_area, form_area] =
        Layout::vertical([Constraint::Length(text_rows), Constraint::Min(0)]).areas(text_area);
    frame.render_widget(Paragraph::new(lines), intro_area);
    form.render(frame, form_area, view::cursor_allowed(app));
}

fn wrapped(lines: &mut Vec<Line<'static>>, text: &str, width: usize, style: Style) {
    for line in wrap_words(text, width) {
        lines.push(Line::styled(line, style));
    }
}

fn recovery_codes(frame: &mut Frame, area: Rect, codes: &[Secret]) {
    let block = Block::bordered()
        .title(" Recovery codes ")
        .border_style(Style::new().fg(Color::Yellow));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = Vec::new();
    for line in wrap_words(
        "Store these recovery codes now, in a password manager or on paper: each \
         signs in once when your phone is not at hand. They are not shown again.",
        width,
    ) {
        lines.push(Line::styled(
            format!(" {line}"),
            Style::new().add_modifier(Modifier::BOLD),
        ));
    }
    lines.push(Line::from(""));
    for code in codes {
        lines.push(Line::from(format!("   {}", escape(code.expose()))));
    }
    lines.push(Line::from(""));
    lines.push(Line::styled(
        " Press Enter once they are stored.",
        Style::new().fg(Color::Cyan),
    ));
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::ScreenId;
    use crate::tui::app::{update, Message, NoteKind};
    use crate::tui::testing::*;

    const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    const URI: &str = "otpauth://totp/gatepass:ada%40example.com?secret=\
                       JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=gatepass";

    fn status(totp: bool, left: u32) -> SecondFactorStatus {
        SecondFactorStatus {
            success: true,
            totp,
            recovery_codes_left: left,
        }
    }

    fn codes() -> Vec<String> {
        (0..10).map(|i| format!("abcd{i}-efgh{i}")).collect()
    }

    /// The panel open, its state loaded.
    fn panel(totp: bool) -> App {
        let mut app = account_app();
        let commands = update(&mut app, key(KeyCode::Char('2')));
        assert_eq!(commands, vec![Command::TwoFactor(Request::Status)]);
        assert_eq!(app.screen.id(), ScreenId::TwoFactor);
        update(
            &mut app,
            Message::TwoFactor(Answer::Status(Ok(status(totp, if totp { 7 } else { 0 })))),
        );
        assert!(app.busy.is_none());
        app
    }

    /// Enrolment up to the QR code.
    fn scanning() -> App {
        let mut app = panel(false);
        update(&mut app, key(KeyCode::Char('e')));
        type_text(&mut app, "correct horse");
        let commands = update(&mut app, key(KeyCode::Enter));
        assert_eq!(
            commands,
            vec![Command::TwoFactor(Request::Setup {
                password: Secret::new("correct horse")
            })]
        );
        update(
            &mut app,
            Message::TwoFactor(Answer::SetUp(Ok(Enrolment {
                secret: Secret::new(SECRET),
                uri: Secret::new(URI),
            }))),
        );
        assert!(matches!(app.two_factor().step, Step::Scan { .. }));
        app
    }

    #[test]
    fn two_opens_the_panel_and_esc_returns_to_account() {
        let mut app = panel(false);
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "Two-factor sign-in: off");
        assert_contains(&screen, "e turn on");
        assert_contains(&screen, "Esc back to Account");
        update(&mut app, key(KeyCode::Esc));
        assert_eq!(app.screen.id(), ScreenId::Account);
    }

    #[test]
    fn when_on_it_shows_the_codes_left_and_the_actions() {
        let app = panel(true);
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "Two-factor sign-in: on");
        assert_contains(&screen, "Recovery codes left: 7");
        assert_contains(&screen, "c new recovery codes");
        assert_contains(&screen, "x turn off");
    }

    #[test]
    fn enrolment_shows_the_qr_code_at_80x24_and_the_codes_once() {
        let mut app = scanning();
        let screen = render(&app, 80, 24);
        let drawing = qr::draw_to_fit(URI, (80 - GAP - TEXT_WIDTH) as usize, 24)
            .unwrap()
            .expect("fits 80x24");
        for line in &drawing.lines {
            assert_contains(&screen, line);
        }
        assert_contains(&screen, SECRET);
        assert_contains(&screen, "Then type the code the app shows.");
        assert!(!screen.contains("Make the window"), "{screen}");
        // The password is gone with its form.
        assert!(!format!("{:?}", app.two_factor()).contains("correct horse"));
        assert!(!format!("{:?}", app.two_factor()).contains(SECRET));

        // An empty code is caught here; a wrong one goes on the field.
        assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
        type_text(&mut app, "123456");
        let commands = update(&mut app, key(KeyCode::Enter));
        assert_eq!(
            commands,
            vec![Command::TwoFactor(Request::Confirm {
                code: Secret::new("123456")
            })]
        );
        let wrong = refusal(400, ErrorCode::InvalidCode, "The code is not valid.");
        update(&mut app, Message::TwoFactor(Answer::Confirmed(Err(wrong))));
        // Beside the QR code the message wraps.
        assert_contains(&render(&app, 80, 24), "✗ The code is");
        assert_eq!(
            app.two_factor().form().unwrap().error(TwoFactorField::Code),
            Some("The code is not valid.")
        );

        type_text(&mut app, "654321");
        update(&mut app, key(KeyCode::Enter));
        let commands = update(&mut app, Message::TwoFactor(Answer::Confirmed(Ok(codes()))));
        assert_eq!(commands, vec![Command::TwoFactor(Request::Status)]);
        let screen = render(&app, 80, 24);
        for code in codes() {
            assert_contains(&screen, &code);
        }
        assert_contains(&screen, "They are not shown again.");
        assert!(!format!("{:?}", app.two_factor()).contains("abcd0"));
        // The state arrives; the codes stay until acknowledged.
        update(
            &mut app,
            Message::TwoFactor(Answer::Status(Ok(status(true, 10)))),
        );
        update(&mut app, key(KeyCode::Esc));
        assert!(matches!(app.two_factor().step, Step::Codes(_)));
        update(&mut app, key(KeyCode::Enter));
        let screen = render(&app, 80, 24);
        assert!(!screen.contains("abcd0"), "{screen}");
        assert_contains(&screen, "Recovery codes left: 10");
    }

    #[test]
    fn a_small_window_says_how_big_instead_of_a_broken_code() {
        let app = scanning();
        let screen = render(&app, 60, 20);
        let (columns, rows) = smallest_window(URI).unwrap();
        assert_contains(
            &screen,
            &format!("Make the window at least {columns}×{rows} to see"),
        );
        assert!(!screen.contains('▀'), "{screen}");
        assert_contains(&screen, SECRET);
        // That size is enough.
        let screen = render(&app, columns as u16, rows as u16);
        assert!(!screen.contains("Make the window"), "{screen}");
        assert!(screen.contains('▀'), "{screen}");
    }

    #[test]
    fn the_whole_screen_step_obeys_no_color_too() {
        let mut app = scanning();
        app.colors = false;
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
        terminal.draw(|frame| view::view(&app, frame)).unwrap();
        let buffer = terminal.backend().buffer();
        assert!(buffer
            .content
            .iter()
            .all(|cell| cell.fg == Color::Reset && cell.bg == Color::Reset));
        assert!(buffer.content.iter().any(|cell| cell.symbol() == "▀"));
    }

    #[test]
    fn a_longer_address_still_fits_80x24() {
        // A version 6 code: with the narrow quiet zone, 45x23.
        let long = URI.replace("ada%40", "augusta.ada.king.lovelace%40");
        let mut app = scanning();
        if let Step::Scan { enrolment, .. } = &mut app.two_factor_mut().step {
            enrolment.uri = Secret::new(&long);
        }
        let screen = render(&app, 80, 24);
        let drawing = qr::draw_to_fit(&long, 45, 24).unwrap().expect("fits");
        assert_eq!(drawing.height, 23);
        for line in &drawing.lines {
            assert_contains(&screen, line);
        }
        assert_contains(&screen, "Then type the code the app shows.");
        assert_contains(&screen, "Enter turn on");
    }

    #[test]
    fn a_wrong_password_goes_on_its_field() {
        let mut app = panel(false);
        update(&mut app, key(KeyCode::Char('e')));
        type_text(&mut app, "wrong");
        update(&mut app, key(KeyCode::Enter));
        let error = refusal(
            400,
            ErrorCode::WrongPassword,
            "The current password is incorrect.",
        );
        update(&mut app, Message::TwoFactor(Answer::SetUp(Err(error))));
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "✗ The current password is incorrect.");
        assert!(matches!(app.two_factor().step, Step::Password(_)));
        // Throttled: the wait is on the message line.
        type_text(&mut app, "again");
        update(&mut app, key(KeyCode::Enter));
        let error = refusal(
            429,
            ErrorCode::TooManyAttempts,
            "Too many attempts; try again in 60 seconds",
        );
        update(&mut app, Message::TwoFactor(Answer::SetUp(Err(error))));
        let note = app.note.clone().unwrap();
        assert_eq!(note.kind, NoteKind::Error);
        assert_contains(&render(&app, 80, 24), "try again in 60 seconds");
        // Esc: back to the state.
        update(&mut app, key(KeyCode::Esc));
        assert!(matches!(app.two_factor().step, Step::Overview));
    }

    #[test]
    fn new_recovery_codes_take_a_code_and_show_once() {
        let mut app = panel(true);
        update(&mut app, key(KeyCode::Char('c')));
        type_text(&mut app, "111111");
        let commands = update(&mut app, key(KeyCode::Enter));
        assert_eq!(
            commands,
            vec![Command::TwoFactor(Request::RecoveryCodes {
                code: Secret::new("111111")
            })]
        );
        update(
            &mut app,
            Message::TwoFactor(Answer::RecoveryCodes(Ok(codes()))),
        );
        assert_contains(&render(&app, 80, 24), "abcd9-efgh9");
        update(&mut app, key(KeyCode::Enter));
        assert!(!render(&app, 80, 24).contains("abcd9"));
    }

    #[test]
    fn the_panel_waits_for_recovery_codes_it_asked_for() {
        // New codes end the old ones: leaving before they arrive would lose
        // every recovery code the account has.
        let mut app = panel(true);
        update(&mut app, key(KeyCode::Char('c')));
        type_text(&mut app, "111111");
        update(&mut app, key(KeyCode::Enter));
        for _ in 0..2 {
            assert!(update(&mut app, key(KeyCode::Esc)).is_empty());
        }
        assert_eq!(app.screen.id(), ScreenId::TwoFactor);
        assert!(matches!(app.two_factor().step, Step::Regenerate(_)));
        assert_contains(&render(&app, 80, 24), "shows here in a moment");
        update(
            &mut app,
            Message::TwoFactor(Answer::RecoveryCodes(Ok(codes()))),
        );
        assert_contains(&render(&app, 80, 24), "abcd9-efgh9");
        // Turning on is the same: its answer is the first ten codes.
        let mut app = scanning();
        type_text(&mut app, "222222");
        update(&mut app, key(KeyCode::Enter));
        update(&mut app, key(KeyCode::Esc));
        assert!(matches!(app.two_factor().step, Step::Scan { .. }));
        update(&mut app, Message::TwoFactor(Answer::Confirmed(Ok(codes()))));
        assert_contains(&render(&app, 80, 24), "abcd0-efgh0");
        // A refusal frees the keys again.
        let mut app = panel(true);
        update(&mut app, key(KeyCode::Char('c')));
        type_text(&mut app, "111111");
        update(&mut app, key(KeyCode::Enter));
        let wrong = refusal(400, ErrorCode::InvalidCode, "That code is not valid");
        update(
            &mut app,
            Message::TwoFactor(Answer::RecoveryCodes(Err(wrong))),
        );
        update(&mut app, key(KeyCode::Esc));
        assert!(matches!(app.two_factor().step, Step::Overview));
    }

    #[test]
    fn turning_off_asks_password_and_code_then_confirms() {
        let mut app = panel(true);
        update(&mut app, key(KeyCode::Char('x')));
        // Both are needed.
        assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
        assert_contains(&render(&app, 80, 24), "✗ Type your current password");
        type_text(&mut app, "correct horse");
        update(&mut app, key(KeyCode::Tab));
        type_text(&mut app, "abcde-fghij");
        assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
        assert_contains(&render(&app, 80, 24), "Turn off two-factor sign-in?");
        let commands = update(&mut app, key(KeyCode::Char('y')));
        assert_eq!(
            commands,
            vec![Command::TwoFactor(Request::Disable {
                password: Secret::new("correct horse"),
                code: Secret::new("abcde-fghij"),
            })]
        );
        let wrong = refusal(400, ErrorCode::InvalidCode, "The code is not valid.");
        update(&mut app, Message::TwoFactor(Answer::Disabled(Err(wrong))));
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "✗ The code is not valid.");
        assert_eq!(
            app.two_factor().form().unwrap().value(TwoFactorField::Code),
            ""
        );
        type_text(&mut app, "222222");
        update(&mut app, key(KeyCode::Enter));
        update(&mut app, key(KeyCode::Char('y')));
        let commands = update(&mut app, Message::TwoFactor(Answer::Disabled(Ok(()))));
        assert_eq!(commands, vec![Command::TwoFactor(Request::Status)]);
        assert!(matches!(app.two_factor().step, Step::Overview));
        assert!(app.note.as_ref().unwrap().text.contains("is off"));
    }

    #[test]
    fn signing_out_forgets_the_panel() {
        let mut app = scanning();
        let error = ClientError::AuthRequired(crate::error::AuthRequired::SessionEnded {
            feedback: "Session revoked".into(),
        });
        update(&mut app, key(KeyCode::Char('1')));
        update(&mut app, key(KeyCode::Enter));
        update(&mut app, Message::TwoFactor(Answer::Confirmed(Err(error))));
        assert_eq!(app.screen.id(), ScreenId::SignIn);
        // The panel went with its step; signed in again, it starts afresh.
        update(&mut app, Message::SignedIn(Ok(ada())));
        app.busy = None;
        update(&mut app, key(KeyCode::Char('2')));
        assert!(matches!(app.two_factor().step, Step::Overview));
        assert!(app.two_factor().status.is_none());
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let command = Command::TwoFactor(Request::Disable {
            password: Secret::new("hunter2hunter2"),
            code: Secret::new("abcde-fghij"),
        });
        let debug = format!("{command:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("abcde"),
            "{debug}"
        );
    }
}
