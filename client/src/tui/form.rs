//! A form: text fields, then buttons, one focus that Tab moves through all
//! of them. Every screen but Account is one of these.

use crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::Frame;
use tui_input::backend::crossterm::to_input_request;
use tui_input::{Input, InputRequest};

use super::view::wrap_words;
use crate::display::escape;
use crate::error::ClientError;

/// The width of the label column.
pub const LABEL_WIDTH: u16 = 18;
const MASK: char = '•';

/// One text field. `param` is the name the server uses for it in a 422.
/// The text and its cursor are a `tui_input::Input`: the editing keys
/// every terminal app has, without an editor of our own.
#[derive(Clone)]
pub struct Field {
    pub label: &'static str,
    pub param: &'static str,
    input: Input,
    /// Shown as dots: passwords and reset tokens.
    pub masked: bool,
    pub error: Option<String>,
}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.masked { "***" } else { self.value() };
        f.debug_struct("Field")
            .field("param", &self.param)
            .field("value", &value)
            .field("error", &self.error)
            .finish()
    }
}

impl Field {
    pub fn text(label: &'static str, param: &'static str) -> Field {
        Field {
            label,
            param,
            input: Input::default(),
            masked: false,
            error: None,
        }
    }

    pub fn secret(label: &'static str, param: &'static str) -> Field {
        Field {
            masked: true,
            ..Field::text(label, param)
        }
    }

    pub fn value(&self) -> &str {
        self.input.value()
    }

    /// Replaces the text; the cursor goes to its end.
    pub fn set_value(&mut self, value: &str) {
        self.input = Input::new(value.to_owned());
    }

    /// The cursor, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.input.cursor()
    }

    /// What the screen shows of `text`: dots for a masked field, control
    /// characters escaped (a value can come from a paste or the server).
    fn shown<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        if self.masked {
            std::borrow::Cow::Owned(std::iter::repeat_n(MASK, text.chars().count()).collect())
        } else {
            escape(text)
        }
    }

    /// The editing keys (tui-input's crossterm mapping): typing, Backspace,
    /// Delete, Left/Right, Home/End, Ctrl-A/Ctrl-E, Ctrl-W and Alt-Backspace
    /// (word), Ctrl-U (clear). Returns whether the key was an editing key;
    /// Enter, Esc, Tab and the arrows Up/Down are left to the screen.
    pub fn edit(&mut self, key: KeyEvent) -> bool {
        let Some(request) = to_input_request(&Event::Key(key)) else {
            return false;
        };
        let changed = self.input.handle(request).is_some_and(|c| c.value);
        if changed {
            // The message was about the old value.
            self.error = None;
        }
        true
    }

    /// A paste goes in at the cursor, minus line breaks (a link copied
    /// with its newline; every field is one line).
    pub fn paste(&mut self, text: &str) {
        for c in text.chars().filter(|c| !matches!(c, '\n' | '\r')) {
            self.input.handle(InputRequest::InsertChar(c));
        }
        self.error = None;
    }

    pub fn clear(&mut self) {
        self.input.reset();
    }

    /// The error, wrapped to `width` columns; none without an error.
    fn error_lines(&self, width: usize) -> Vec<String> {
        match &self.error {
            // The error is the server's message: it must not drive the terminal.
            Some(error) => marked_lines("✗", &escape(error), width),
            None => Vec::new(),
        }
    }
}

/// `text` wrapped to `width` columns after a one-column `mark`; the
/// following lines indented to the text.
pub fn marked_lines(mark: &str, text: &str, width: usize) -> Vec<String> {
    wrap_words(text, width.saturating_sub(2))
        .into_iter()
        .enumerate()
        .map(|(i, line)| match i {
            0 => format!("{mark} {line}"),
            _ => format!("  {line}"),
        })
        .collect()
}

/// What has the focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focused {
    Field(usize),
    Button(usize),
}

#[derive(Debug, Clone)]
pub struct Form {
    pub fields: Vec<Field>,
    pub buttons: Vec<&'static str>,
    /// Fields first, then buttons.
    pub focus: usize,
}

impl Form {
    pub fn new(fields: Vec<Field>, buttons: Vec<&'static str>) -> Form {
        Form {
            fields,
            buttons,
            focus: 0,
        }
    }

    pub fn focused(&self) -> Focused {
        if self.focus < self.fields.len() {
            Focused::Field(self.focus)
        } else {
            Focused::Button(self.focus - self.fields.len())
        }
    }

    pub fn typing(&self) -> bool {
        matches!(self.focused(), Focused::Field(_))
    }

    fn stops(&self) -> usize {
        self.fields.len() + self.buttons.len()
    }

    /// Tab, Shift-Tab, Down and Up move the focus, wrapping around.
    pub fn navigate(&mut self, key: KeyEvent) -> bool {
        let stops = self.stops();
        match key.code {
            KeyCode::Tab | KeyCode::Down => self.focus = (self.focus + 1) % stops,
            KeyCode::BackTab | KeyCode::Up => self.focus = (self.focus + stops - 1) % stops,
            _ => return false,
        }
        true
    }

    /// Edits the focused field, if a field has the focus.
    pub fn edit(&mut self, key: KeyEvent) -> bool {
        match self.focused() {
            Focused::Field(i) => self.fields[i].edit(key),
            Focused::Button(_) => false,
        }
    }

    pub fn paste(&mut self, text: &str) {
        if let Focused::Field(i) = self.focused() {
            self.fields[i].paste(text);
        }
    }

    fn index(&self, param: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.param == param)
    }

    pub fn value(&self, param: &str) -> &str {
        self.index(param)
            .map(|i| self.fields[i].value())
            .unwrap_or("")
    }

    pub fn set_value(&mut self, param: &str, value: &str) {
        if let Some(i) = self.index(param) {
            self.fields[i].set_value(value);
        }
    }

    pub fn is_focused(&self, param: &str) -> bool {
        self.index(param) == Some(self.focus)
    }

    pub fn focus_param(&mut self, param: &str) {
        if let Some(i) = self.index(param) {
            self.focus = i;
        }
    }

    pub fn focus_button(&mut self, button: usize) {
        if button < self.buttons.len() {
            self.focus = self.fields.len() + button;
        }
    }

    pub fn error(&self, param: &str) -> Option<&str> {
        self.index(param)
            .and_then(|i| self.fields[i].error.as_deref())
    }

    pub fn set_error(&mut self, param: &str, message: impl Into<String>) {
        if let Some(i) = self.index(param) {
            self.fields[i].error = Some(message.into());
        }
    }

    pub fn has_errors(&self) -> bool {
        self.fields.iter().any(|f| f.error.is_some())
    }

    pub fn clear_errors(&mut self) {
        for field in &mut self.fields {
            field.error = None;
        }
    }

    /// Forgets passwords and tokens, e.g. once they have been used.
    pub fn clear_secrets(&mut self) {
        for field in self.fields.iter_mut().filter(|f| f.masked) {
            field.clear();
        }
    }

    pub fn clear(&mut self) {
        for field in &mut self.fields {
            field.clear();
            field.error = None;
        }
        self.focus = 0;
    }

    /// Puts a 422's messages under their fields and focuses the first one.
    /// `None` when the error is not about fields; otherwise the messages
    /// for fields this form does not have.
    pub fn apply_field_errors(&mut self, error: &ClientError) -> Option<Vec<String>> {
        let ClientError::Server { body, .. } = error else {
            return None;
        };
        if body.errors.is_empty() {
            return None;
        }
        self.clear_errors();
        let mut unmatched = Vec::new();
        for field_error in &body.errors {
            match self.index(&field_error.param) {
                // The first message per field is the one to fix first.
                Some(i) if self.fields[i].error.is_none() => {
                    self.fields[i].error = Some(field_error.msg.clone());
                }
                Some(_) => {}
                None => unmatched.push(field_error.msg.clone()),
            }
        }
        if let Some(first) = self.fields.iter().position(|f| f.error.is_some()) {
            self.focus = first;
        }
        Some(unmatched)
    }

    /// Draws the form from the top of `area`; puts the cursor in the
    /// focused field when `cursor` (not under a dialog).
    pub fn render(&self, frame: &mut Frame, area: Rect, cursor: bool) {
        let mut y = area.y;
        let bottom = area.y + area.height;
        let value_width = area.width.saturating_sub(LABEL_WIDTH + 1) as usize;
        for (i, field) in self.fields.iter().enumerate() {
            if y + 1 >= bottom {
                break;
            }
            let focused = self.focus == i;
            // A value can come from the server (the last user's email), an
            // error is the server's message: neither drives the terminal.
            // The text before the cursor and after it, as shown. A long
            // value scrolls so that the cursor stays in view, with a
            // column to spare for it.
            let value = field.value();
            let split = value
                .char_indices()
                .nth(field.cursor())
                .map_or(value.len(), |(i, _)| i);
            let before = field.shown(&value[..split]);
            let after = field.shown(&value[split..]);
            let mut before: &str = &before;
            while Span::raw(before).width() > value_width.saturating_sub(1) {
                let mut chars = before.chars();
                chars.next();
                before = chars.as_str();
            }
            let visible = format!("{before}{after}");
            let padding = value_width.saturating_sub(Span::raw(visible.as_str()).width());
            let marker = if focused { "› " } else { "  " };
            let label_style = if focused {
                Style::new().add_modifier(Modifier::BOLD).fg(Color::Cyan)
            } else {
                Style::new()
            };
            let value_style = if focused {
                Style::new().add_modifier(Modifier::UNDERLINED)
            } else {
                Style::new().fg(Color::Gray)
            };
            let label = format!("{marker}{}", field.label);
            let line = Line::from(vec![
                Span::styled(
                    format!("{label:<width$}", width = LABEL_WIDTH as usize),
                    label_style,
                ),
                Span::styled(format!("{visible}{}", " ".repeat(padding)), value_style),
            ]);
            frame.render_widget(line, Rect::new(area.x, y, area.width, 1));
            if focused && cursor {
                let x = area.x + LABEL_WIDTH + Span::raw(before).width() as u16;
                frame.set_cursor_position(Position::new(x.min(area.x + area.width - 1), y));
            }
            // The error row stays even when empty, so fields do not jump;
            // a long message (the server's password advice) wraps onto
            // more rows rather than being cut at the window's edge.
            let error_width = area.width.saturating_sub(LABEL_WIDTH);
            let error_lines = field.error_lines(error_width as usize);
            for (row, text) in error_lines.iter().enumerate() {
                let row_y = y + 1 + row as u16;
                if row_y >= bottom {
                    break;
                }
                frame.render_widget(
                    Line::styled(text.clone(), Style::new().fg(Color::Red)),
                    Rect::new(area.x + LABEL_WIDTH, row_y, error_width, 1),
                );
            }
            y += 1 + error_lines.len().max(1) as u16;
        }
        y += 1;
        for (i, button) in self.buttons.iter().enumerate() {
            if y >= bottom {
                break;
            }
            let focused = self.focus == self.fields.len() + i;
            let line = if focused {
                Line::from(Span::styled(
                    format!("▸ {button} "),
                    Style::new()
                        .add_modifier(Modifier::REVERSED | Modifier::BOLD)
                        .fg(Color::Cyan),
                ))
            } else {
                Line::from(format!("  {button}"))
            };
            frame.render_widget(line, Rect::new(area.x, y, area.width, 1));
            y += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::testing::*;

    fn form() -> Form {
        Form::new(
            vec![
                Field::text("Email", "email"),
                Field::secret("Password", "password"),
            ],
            vec!["Go", "Back"],
        )
    }

    #[test]
    fn tab_and_shift_tab_wrap_around_fields_and_buttons() {
        let mut form = form();
        for expected in [1, 2, 3, 0] {
            assert!(form.navigate(press(KeyCode::Tab)));
            assert_eq!(form.focus, expected);
        }
        assert!(form.navigate(press(KeyCode::BackTab)));
        assert_eq!(form.focused(), Focused::Button(1));
    }

    #[test]
    fn typing_edits_only_the_focused_field_and_clears_its_error() {
        let mut form = form();
        form.set_error("email", "Email is invalid");
        for c in "ab".chars() {
            form.edit(press(KeyCode::Char(c)));
        }
        assert_eq!(form.value("email"), "ab");
        assert!(form.error("email").is_none());
        form.edit(press(KeyCode::Backspace));
        assert_eq!(form.value("email"), "a");
        form.edit(ctrl_key('u'));
        assert_eq!(form.value("email"), "");
        form.focus_button(0);
        assert!(!form.edit(press(KeyCode::Char('x'))));
    }

    #[test]
    fn masked_fields_show_dots_and_debug_hides_them() {
        let mut field = Field::secret("Password", "password");
        field.paste("s3cret\n");
        assert_eq!(field.value(), "s3cret");
        assert_eq!(field.shown(field.value()), "••••••");
        assert!(!format!("{field:?}").contains("s3cret"));
    }

    #[test]
    fn field_errors_go_under_their_fields() {
        let mut form = form();
        form.focus_button(0);
        let unmatched = form
            .apply_field_errors(&validation(&[
                ("password", "Password is too short"),
                ("password", "Password is too common"),
                ("firstName", "First name is required"),
            ]))
            .unwrap();
        assert_eq!(form.error("password"), Some("Password is too short"));
        assert_eq!(form.error("email"), None);
        assert_eq!(unmatched, vec!["First name is required".to_owned()]);
        assert!(form.is_focused("password"));
        assert!(form.apply_field_errors(&unreachable()).is_none());
    }

    fn alt_key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, crossterm::event::KeyModifiers::ALT)
    }

    fn typed(field: &mut Field, text: &str) {
        for c in text.chars() {
            assert!(field.edit(press(KeyCode::Char(c))));
        }
    }

    #[test]
    fn the_cursor_moves_and_typing_goes_in_at_the_cursor() {
        let mut field = Field::text("Email", "email");
        typed(&mut field, "ad@example.com");
        // Left eleven times: back to just after "ad".
        for _ in 0.."@example.com".len() {
            assert!(field.edit(press(KeyCode::Left)));
        }
        typed(&mut field, "a");
        assert_eq!(field.value(), "ada@example.com");
        assert_eq!(field.cursor(), 3);
        field.edit(press(KeyCode::Home));
        typed(&mut field, "<");
        field.edit(press(KeyCode::End));
        typed(&mut field, ">");
        assert_eq!(field.value(), "<ada@example.com>");
        field.edit(ctrl_key('a'));
        assert!(field.edit(press(KeyCode::Delete)));
        field.edit(ctrl_key('e'));
        field.edit(press(KeyCode::Backspace));
        assert_eq!(field.value(), "ada@example.com");
        field.edit(press(KeyCode::Left));
        field.edit(press(KeyCode::Right));
        field.edit(press(KeyCode::Right));
        assert_eq!(field.cursor(), "ada@example.com".len());
        // Keys that are not for editing are left to the screen.
        for key in [KeyCode::Enter, KeyCode::Esc, KeyCode::Tab] {
            assert!(!field.edit(press(key)));
        }
    }

    #[test]
    fn moving_the_cursor_keeps_the_error_and_editing_clears_it() {
        let mut field = Field::text("Email", "email");
        field.set_value("ada@example");
        field.error = Some("Email is invalid".into());
        field.edit(press(KeyCode::Home));
        assert!(field.error.is_some());
        field.edit(press(KeyCode::Delete));
        assert!(field.error.is_none());
    }

    #[test]
    fn ctrl_w_and_alt_backspace_delete_the_word_before_the_cursor() {
        let mut field = Field::text("Name", "firstName");
        typed(&mut field, "Ada King Lovelace");
        assert!(field.edit(ctrl_key('w')));
        assert_eq!(field.value(), "Ada King ");
        assert!(field.edit(alt_key(KeyCode::Backspace)));
        assert_eq!(field.value(), "Ada ");
        // In the middle: only the word before the cursor goes.
        field.set_value("Ada King Lovelace");
        field.edit(ctrl_key('a'));
        for _ in 0.."Ada King".len() {
            field.edit(press(KeyCode::Right));
        }
        field.edit(ctrl_key('w'));
        assert_eq!(field.value(), "Ada  Lovelace");
        field.edit(ctrl_key('u'));
        assert_eq!(field.value(), "");
    }

    #[test]
    fn a_paste_goes_in_at_the_cursor_without_line_breaks() {
        let mut field = Field::secret("Token", "token");
        typed(&mut field, "http://x/reset?token=");
        field.paste("abc\r\ndef\n");
        assert_eq!(field.value(), "http://x/reset?token=abcdef");
        field.edit(press(KeyCode::Home));
        field.paste("\n");
        assert_eq!(field.value(), "http://x/reset?token=abcdef");
        field.paste("A");
        assert_eq!(field.value(), "Ahttp://x/reset?token=abcdef");
        assert_eq!(field.cursor(), 1);
    }

    /// Draws `form` in a `width` × `height` terminal: the text and the cursor.
    fn draw(form: &Form, width: u16, height: u16) -> (String, Position) {
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height))
                .expect("test terminal");
        terminal
            .draw(|frame| form.render(frame, frame.area(), true))
            .expect("draw");
        let buffer = terminal.backend().buffer().clone();
        let mut text = String::new();
        for y in 0..height {
            for x in 0..width {
                text.push_str(buffer.cell((x, y)).map_or("", |cell| cell.symbol()));
            }
            text.push('\n');
        }
        let cursor = terminal.get_cursor_position().expect("cursor");
        (text, cursor)
    }

    #[test]
    fn the_terminal_cursor_follows_the_field_cursor() {
        let mut form = form();
        for c in "ada@example.com".chars() {
            form.edit(press(KeyCode::Char(c)));
        }
        let x0 = LABEL_WIDTH;
        let (screen, cursor) = draw(&form, 60, 8);
        assert_contains(&screen, "ada@example.com");
        assert_eq!(cursor, Position::new(x0 + 15, 0));
        form.edit(ctrl_key('a'));
        form.edit(press(KeyCode::Right));
        assert_eq!(draw(&form, 60, 8).1, Position::new(x0 + 1, 0));

        // A password keeps its dots wherever the cursor is.
        form.focus_param("password");
        for c in "secret".chars() {
            form.edit(press(KeyCode::Char(c)));
        }
        form.edit(press(KeyCode::Left));
        form.edit(press(KeyCode::Left));
        form.edit(press(KeyCode::Char('X')));
        assert_eq!(form.value("password"), "secrXet");
        let (screen, cursor) = draw(&form, 60, 8);
        assert_contains(&screen, "•••••••");
        assert!(!screen.contains("secr"));
        assert_eq!(cursor, Position::new(x0 + 5, 2));
    }

    #[test]
    fn a_long_value_scrolls_to_keep_the_cursor_in_view() {
        let mut form = form();
        let link = format!("http://127.0.0.1:8000/reset?token={}", "x".repeat(60));
        form.paste(&link);
        let width = 50;
        let (screen, cursor) = draw(&form, width, 8);
        // The end is in view, the cursor on the value's last column (one
        // column of the row is kept free after the value).
        assert!(screen.lines().next().unwrap_or("").contains("xxxx"));
        assert!(!screen.contains("http"));
        assert_eq!(cursor, Position::new(width - 2, 0));
        // At the start, the start is in view.
        form.edit(press(KeyCode::Home));
        let (screen, cursor) = draw(&form, width, 8);
        assert_contains(&screen, "http://127.0.0.1");
        assert_eq!(cursor, Position::new(LABEL_WIDTH, 0));
    }
}
