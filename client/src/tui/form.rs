//! A form: text fields, then buttons, one focus that Tab moves through all
//! of them. Every screen but Account is one of these.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::display::escape;
use crate::error::ClientError;

/// The width of the label column.
pub const LABEL_WIDTH: u16 = 18;
const MASK: char = '•';

/// One text field. `param` is the name the server uses for it in a 422.
#[derive(Clone)]
pub struct Field {
    pub label: &'static str,
    pub param: &'static str,
    pub value: String,
    /// Shown as dots: passwords and reset tokens.
    pub masked: bool,
    pub error: Option<String>,
}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.masked { "***" } else { &self.value };
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
            value: String::new(),
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

    /// What the screen shows: dots for a masked field.
    pub fn shown(&self) -> String {
        if self.masked {
            std::iter::repeat_n(MASK, self.value.chars().count()).collect()
        } else {
            self.value.clone()
        }
    }

    /// Typing, Backspace, Ctrl-U (clear). Returns whether the key was used.
    pub fn edit(&mut self, key: KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let changed = match key.code {
            KeyCode::Char('u') if ctrl => {
                self.value.clear();
                true
            }
            KeyCode::Char(c) if !ctrl && !alt => {
                self.value.push(c);
                true
            }
            KeyCode::Backspace => {
                self.value.pop();
                true
            }
            _ => false,
        };
        if changed {
            // The message was about the old value.
            self.error = None;
        }
        changed
    }

    /// A paste goes in whole, minus line breaks (a link copied with its newline).
    pub fn paste(&mut self, text: &str) {
        self.value
            .extend(text.chars().filter(|c| !matches!(c, '\n' | '\r')));
        self.error = None;
    }
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
            .map(|i| self.fields[i].value.as_str())
            .unwrap_or("")
    }

    pub fn set_value(&mut self, param: &str, value: &str) {
        if let Some(i) = self.index(param) {
            self.fields[i].value = value.to_owned();
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
            field.value.clear();
        }
    }

    pub fn clear(&mut self) {
        for field in &mut self.fields {
            field.value.clear();
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

    /// Rows the form needs: two per field (value, error), a blank, one per button.
    pub fn height(&self) -> u16 {
        (self.fields.len() * 2 + 1 + self.buttons.len()) as u16
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
            let shown = field.shown();
            let shown = escape(&shown);
            // A long value scrolls: its end, where the cursor is, stays visible.
            let count = shown.chars().count();
            let visible: String = shown
                .chars()
                .skip(count.saturating_sub(value_width.saturating_sub(1)))
                .collect();
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
                Span::styled(
                    format!("{visible:<value_width$}", value_width = value_width),
                    value_style,
                ),
            ]);
            frame.render_widget(line, Rect::new(area.x, y, area.width, 1));
            if focused && cursor {
                let x = area.x + LABEL_WIDTH + visible.chars().count() as u16;
                frame.set_cursor_position(Position::new(x.min(area.x + area.width - 1), y));
            }
            if let Some(error) = &field.error {
                let line = Line::from(Span::styled(
                    format!("✗ {}", escape(error)),
                    Style::new().fg(Color::Red),
                ));
                frame.render_widget(
                    line,
                    Rect::new(
                        area.x + LABEL_WIDTH,
                        y + 1,
                        area.width.saturating_sub(LABEL_WIDTH),
                        1,
                    ),
                );
            }
            y += 2;
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
        assert_eq!(field.value, "s3cret");
        assert_eq!(field.shown(), "••••••");
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
}
