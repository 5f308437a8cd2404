//! `view`: draws the whole app from its state. Top to bottom: a title line,
//! the screen, the message line (spinner, notices, errors), the status bar
//! and the footer with the keys that work right now. Dialogs go on top.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::app::{App, NoteKind, Screen, ScreenId};
use super::form::{ButtonId, FieldId, Form};
use super::{
    account, confirm, forgot, help, reset, sign_in, sign_up, status, theme, tokens, two_factor,
};
use crate::display::escape;

/// One footer entry: (key, what it does).
pub type Hint = (&'static str, &'static str);

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const HINT_SEPARATOR: &str = " · ";
/// The message area never takes more than this from the screen.
const MAX_MESSAGE_LINES: usize = 4;

pub fn view(app: &App, frame: &mut Frame) {
    // The enrolment QR code needs every row there is (issue 17).
    if two_factor::wants_whole_screen(app) {
        two_factor::view_whole_screen(app, frame);
        overlays(app, frame);
        return;
    }
    let area = frame.area();
    let hints = hints(app);
    let footer = footer_lines(&hints, area.width);
    let messages = message_lines(app, area.width);
    let [title_area, body_area, message_area, status_area, footer_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(messages.len() as u16),
        Constraint::Length(1),
        Constraint::Length(footer.len() as u16),
    ])
    .areas(area);

    frame.render_widget(title(app), title_area);
    match &app.screen {
        Screen::Starting => starting(app, frame, body_area),
        Screen::SignIn(state) => sign_in::view(state, app, frame, body_area),
        Screen::SignUp(state) => sign_up::view(state, app, frame, body_area),
        Screen::Forgot(state) => forgot::view(state, app, frame, body_area),
        Screen::Reset(state) => reset::view(state, app, frame, body_area),
        Screen::Account(state) => account::view(state, app, frame, body_area),
        Screen::Tokens(state) => tokens::view(state, app, frame, body_area),
        Screen::TwoFactor(state) => two_factor::view(state, app, frame, body_area),
    }
    frame.render_widget(Paragraph::new(messages), message_area);
    frame.render_widget(status::line(&app.status, app.now, area.width), status_area);
    frame.render_widget(Paragraph::new(footer), footer_area);
    overlays(app, frame);
}

/// The dialogs on top, then the colours off if asked.
fn overlays(app: &App, frame: &mut Frame) {
    if let Some(dialog) = &app.confirm {
        confirm::view(dialog, frame);
    } else if app.help {
        help::view(app, frame);
    }
    if !app.colors {
        theme::strip_colors(frame.buffer_mut());
    }
}

/// The text cursor shows in the focused field unless a dialog covers it.
pub fn cursor_allowed(app: &App) -> bool {
    app.confirm.is_none() && !app.help
}

fn screen_name(screen: ScreenId) -> &'static str {
    match screen {
        ScreenId::Starting => "Starting",
        ScreenId::SignIn => "Sign in",
        ScreenId::SignUp => "Sign up",
        ScreenId::Forgot => "Forgot password",
        ScreenId::Reset => "Reset password",
        ScreenId::Account => "Account",
        ScreenId::Tokens => "Personal tokens",
        ScreenId::TwoFactor => "Account › Two-factor sign-in",
    }
}

fn title(app: &App) -> Line<'static> {
    Line::from(vec![
        Span::styled(
            " gatepass ",
            Style::new()
                .bg(Color::Cyan)
                .fg(Color::Black)
                .add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            format!(" {}", screen_name(app.screen.id())),
            Style::new().add_modifier(Modifier::BOLD),
        ),
    ])
}

fn starting(app: &App, frame: &mut Frame, area: Rect) {
    let text = format!("Connecting to {}…", app.status.server);
    let area = area.centered(Constraint::Percentage(100), Constraint::Length(1));
    frame.render_widget(Line::from(text).centered(), area);
}

/// The keys of the current screen (or dialog) for the footer.
pub fn hints(app: &App) -> Vec<Hint> {
    if app.confirm.is_some() {
        return vec![("y/Enter", "yes"), ("n/Esc", "no"), ("Ctrl-C", "quit")];
    }
    if app.help {
        return vec![("Esc", "close help"), ("Ctrl-C", "quit")];
    }
    match &app.screen {
        Screen::Starting => vec![("Ctrl-C", "quit")],
        Screen::SignIn(state) => sign_in::hints(state, app),
        Screen::SignUp(_) => sign_up::hints(app),
        Screen::Forgot(_) => forgot::hints(app),
        Screen::Reset(_) => reset::hints(app),
        Screen::Account(state) => account::hints(state, app),
        Screen::Tokens(state) => tokens::hints(state, app),
        Screen::TwoFactor(state) => two_factor::hints(state, app),
    }
}

/// Help and quit, on every screen. In a text field `?` is a character, so
/// the footer says F1 there.
pub fn global_hints(app: &App) -> Vec<Hint> {
    let help = if app.typing() { "F1" } else { "?" };
    vec![(help, "help"), ("Ctrl-C", "quit")]
}

/// A form screen's keys: move, Enter (`enter`), Esc (`esc`, if it does
/// anything), then the global ones.
pub fn form_hints(app: &App, enter: &'static str, esc: Option<&'static str>) -> Vec<Hint> {
    let mut hints = vec![("Tab/S-Tab", "move"), ("Enter", enter)];
    hints.extend(esc.map(|what| ("Esc", what)));
    hints.extend(global_hints(app));
    hints
}

/// Lays the hints out in as few lines as `width` allows, never splitting one.
pub fn footer_lines(hints: &[Hint], width: u16) -> Vec<Line<'static>> {
    let width = width as usize;
    let key_style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    let mut lines = Vec::new();
    let mut spans: Vec<Span> = vec![Span::raw(" ")];
    let mut used = 1;
    for (key, what) in hints {
        let len = key.chars().count() + 1 + what.chars().count();
        let first = spans.len() == 1;
        let needed = if first {
            len
        } else {
            HINT_SEPARATOR.chars().count() + len
        };
        if !first && used + needed > width {
            lines.push(Line::from(std::mem::replace(
                &mut spans,
                vec![Span::raw(" ")],
            )));
            used = 1;
        }
        if spans.len() > 1 {
            spans.push(Span::styled(
                HINT_SEPARATOR,
                Style::new().fg(Color::DarkGray),
            ));
            used += HINT_SEPARATOR.chars().count();
        }
        spans.push(Span::styled(*key, key_style));
        spans.push(Span::raw(format!(" {what}")));
        used += len;
    }
    lines.push(Line::from(spans));
    lines
}

/// Splits `text` into lines of at most `width` columns at spaces (a word
/// longer than a line is cut).
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: String = word.to_owned();
        loop {
            let line_len = line.chars().count();
            let word_len = word.chars().count();
            let gap = usize::from(line_len > 0);
            if line_len + gap + word_len <= width {
                if gap == 1 {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if line_len > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A single word wider than the line.
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The spinner, a client notice and the note, wrapped; at least one line.
pub fn message_lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let inner = (width as usize).saturating_sub(2);
    let mut lines = Vec::new();
    if let Some(busy) = app.busy.as_ref().filter(|b| !b.quiet) {
        let frame = SPINNER[app.spinner % SPINNER.len()];
        lines.push(Line::styled(
            format!(" {frame} {}…", busy.label),
            Style::new().fg(Color::Cyan),
        ));
    }
    if let Some(warning) = &app.warning {
        for line in wrap_words(&escape(warning), inner) {
            lines.push(Line::styled(
                format!(" {line}"),
                Style::new().fg(Color::Yellow),
            ));
        }
    }
    if let Some(note) = &app.note {
        let style = match note.kind {
            NoteKind::Info => Style::new().fg(Color::Green),
            NoteKind::Error => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        };
        // Notes carry the server's feedback and the user's name.
        for line in wrap_words(&escape(&note.text), inner) {
            lines.push(Line::styled(format!(" {line}"), style));
        }
    }
    // The newest (the note) matters most: keep the last lines.
    if lines.len() > MAX_MESSAGE_LINES {
        lines.drain(..lines.len() - MAX_MESSAGE_LINES);
    }
    if lines.is_empty() {
        lines.push(Line::from(""));
    }
    lines
}

/// A bordered block whose border is bright when it has the focus.
pub fn focus_block(title: &str, focused: bool) -> Block<'static> {
    let style = if focused {
        Style::new().fg(Color::Cyan)
    } else {
        Style::new().fg(Color::DarkGray)
    };
    Block::bordered()
        .title(title.to_owned())
        .border_style(style)
}

/// A signed-out screen: a box with a short introduction, then the form.
pub fn form_screen<F: FieldId, B: ButtonId>(
    frame: &mut Frame,
    area: Rect,
    intro: &[&str],
    form: &Form<F, B>,
    cursor: bool,
) {
    let block = Block::bordered().border_style(Style::new().fg(Color::DarkGray));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let inner = Rect {
        x: inner.x + 1,
        width: inner.width.saturating_sub(2),
        ..inner
    };
    let mut intro_lines: Vec<Line> = Vec::new();
    for text in intro {
        // An intro can hold the server's answer (Forgot password).
        for line in wrap_words(&escape(text), inner.width as usize) {
            intro_lines.push(Line::from(line));
        }
    }
    let intro_height = intro_lines.len() as u16;
    let [intro_area, _, form_area] = Layout::vertical([
        Constraint::Length(intro_height),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(intro_lines), intro_area);
    form.render(frame, form_area, cursor);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::testing::*;

    #[test]
    fn words_wrap_at_spaces_and_long_words_are_cut() {
        assert_eq!(wrap_words("a bb ccc", 4), vec!["a bb", "ccc"]);
        assert_eq!(wrap_words("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert!(wrap_words("", 10).is_empty());
    }

    #[test]
    fn footer_hints_are_never_split() {
        let hints = [
            ("Tab/S-Tab", "move"),
            ("Enter", "select"),
            ("Ctrl-C", "quit"),
        ];
        let lines = footer_lines(&hints, 20);
        let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        assert_eq!(
            text,
            vec![" Tab/S-Tab move", " Enter select", " Ctrl-C quit"]
        );
        let lines = footer_lines(&hints, 80);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].width() <= 80);
    }

    #[test]
    fn the_starting_screen_shows_where_it_connects() {
        let (app, _) = App::new(SERVER, t0());
        let screen = render(&app, 80, 24);
        assert_contains(&screen, &format!("Connecting to {SERVER}…"));
        assert_contains(&screen, "⠋ Connecting…");
        assert_contains(&screen, "Ctrl-C quit");
    }

    #[test]
    fn every_screen_keeps_its_footer_and_status_whole_from_80x24_up() {
        for (width, height) in [(80, 24), (100, 30), (200, 50)] {
            for screen in SCREENS {
                let mut app = account_app();
                app.screen = fresh_screen(&app, screen);
                let rendered = render(&app, width, height);
                for (key, what) in hints(&app) {
                    assert_contains(&rendered, &format!("{key} {what}"));
                }
                assert_contains(&rendered, SERVER);
                assert_contains(&rendered, "ada@example.com");
                assert_contains(&rendered, "token 1:54");
            }
        }
    }

    /// Every string the server hands the app, with a bidi override, a
    /// zero-width space and an ESC in it: on screen each shows escaped.
    #[test]
    fn server_strings_show_their_controls_escaped() {
        use crate::tui::app::{update, Message};
        use crate::tui::confirm::Confirm;

        let hostile = "\u{202e}evil\u{200b}\u{1b}[2J";
        let escaped = "\\u{202e}evil\\u{200b}\\u{1b}[2J";
        let mut data = account_data();
        data.user.first_name = hostile.to_owned();
        data.user.email = format!("{hostile}@example.com");
        data.sessions[1].user_agent = Some(hostile.to_owned());
        let (mut app, _) = App::new(SERVER, t0());
        update(&mut app, Message::Started(Ok(Some(data))));
        app.status = signed_in_status();
        app.status.email = Some(format!("{hostile}@example.com"));
        app.error(format!("The server says {hostile}"));

        let mut screens = vec![render(&app, 120, 30)];
        app.confirm = Some(Confirm::revoke(&app.account().sessions[1].clone()));
        screens.push(render(&app, 120, 30));
        app.confirm = None;
        app.screen = Screen::Forgot(crate::tui::forgot::Forgot::default());
        app.forgot_mut().sent = Some(hostile.to_owned());
        app.forgot_mut()
            .form
            .set_error(crate::tui::forgot::ForgotField::Email, hostile);
        screens.push(render(&app, 120, 30));

        for screen in &screens {
            assert!(
                !screen.contains(['\u{202e}', '\u{200b}', '\u{1b}']),
                "a raw control reached the screen:\n{screen}"
            );
        }
        let account = &screens[0];
        assert_contains(account, &format!("{escaped} Lovelace"));
        assert_contains(account, &format!("{escaped}@example.com"));
        assert_contains(account, &format!("The server says {escaped}"));
        assert_contains(account, "\\u{202e}evil"); // the user agent, shortened
        assert_contains(&screens[1], &format!("The device using it ({escaped})"));
        assert_contains(&screens[2], &format!("✗ {escaped}"));
        assert_contains(&screens[2], escaped);
    }

    #[test]
    fn long_errors_wrap_instead_of_being_cut() {
        let mut app = signed_out_app();
        let long = "zebra ".repeat(30);
        app.error(long.trim());
        let rendered = render(&app, 80, 24);
        let words = rendered.matches("zebra").count();
        assert_eq!(words, 30, "{rendered}");
    }
}
