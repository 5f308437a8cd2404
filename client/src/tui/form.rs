//! A form: text fields, then buttons, one focus that Tab moves through all
//! of them. Every screen but Account is one of these.
//!
//! A form is generic over its screen's field and button enums, so a screen
//! names `SignInField::Email`, not a string a typo would turn into `""`. The
//! server's names for the fields (in a 422) are mapped to the enum in one
//! place per form: [`FieldId::from_wire`].

use crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::Frame;
use tui_input::backend::crossterm::to_input_request;
use tui_input::{Input, InputRequest};

use super::app::describe;
use super::view::wrap_words;
use crate::display::escape;
use crate::error::ClientError;

/// The width of the label column.
pub const LABEL_WIDTH: u16 = 18;
const MASK: char = '•';

/// A form's fields: one enum per form.
pub trait FieldId: Copy + PartialEq + std::fmt::Debug {
    fn label(self) -> &'static str;
    /// Shown as dots (passwords, reset tokens, recovery codes), forgotten
    /// by `clear_secrets`.
    fn masked(self) -> bool {
        false
    }
    /// The field the server means by `name` in a 422's errors.
    fn from_wire(name: &str) -> Option<Self>;
}

/// A form's buttons: one enum per form.
pub trait ButtonId: Copy + PartialEq + std::fmt::Debug {
    fn label(self) -> &'static str;
}

/// Declares a form's field enum and its [`FieldId`]: for each field its
/// label, its name on the wire (in a 422's errors; the one place that
/// string is written) and `masked` for a secret.
macro_rules! fields {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = ($label:literal, $wire:literal $(, $masked:ident)?)),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $crate::tui::form::FieldId for $name {
            fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }

            fn masked(self) -> bool {
                match self {
                    $($name::$variant => $crate::tui::form::fields!(@masked $($masked)?)),+
                }
            }

            fn from_wire(name: &str) -> Option<$name> {
                match name {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
    (@masked masked) => {
        true
    };
    (@masked) => {
        false
    };
}
pub(crate) use fields;

/// Declares a form's button enum and its [`ButtonId`]: each button's label.
macro_rules! buttons {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $label:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $crate::tui::form::ButtonId for $name {
            fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }
        }
    };
}
pub(crate) use buttons;

/// One text field. The text and its cursor are a `tui_input::Input`: the
/// editing keys every terminal app has, without an editor of our own.
#[derive(Clone)]
pub struct Field {
    pub label: &'static str,
    input: Input,
    /// Shown as dots: passwords and reset tokens.
    pub masked: bool,
    pub error: Option<String>,
}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.masked { "***" } else { self.value() };
        f.debug_struct("Field")
            .field("label", &self.label)
            .field("value", &value)
            .field("error", &self.error)
            .finish()
    }
}

impl Field {
    pub fn text(label: &'static str) -> Field {
        Field {
            label,
            input: Input::default(),
            masked: false,
            error: None,
        }
    }

    pub fn secret(label: &'static str) -> Field {
        Field {
            masked: true,
            ..Field::text(label)
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

    /// Draws the field's row at `y` of `area`, and its error under it (the
    /// error row stays even when empty, so fields do not jump). Returns the
    /// rows used. The cursor goes in the field when `focused` and `cursor`.
    pub fn render(
        &self,
        frame: &mut Frame,
        area: Rect,
        y: u16,
        focused: bool,
        cursor: bool,
    ) -> u16 {
        let bottom = area.y + area.height;
        let value_width = area.width.saturating_sub(LABEL_WIDTH + 1) as usize;
        // The text before the cursor and after it, as shown. A long value
        // scrolls so that the cursor stays in view, with a column to spare
        // for it.
        let value = self.value();
        let split = value
            .char_indices()
            .nth(self.cursor())
            .map_or(value.len(), |(i, _)| i);
        let before = self.shown(&value[..split]);
        let after = self.shown(&value[split..]);
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
        let label = format!("{marker}{}", self.label);
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
        // A long message (the server's password advice) wraps onto more
        // rows rather than being cut at the window's edge.
        let error_width = area.width.saturating_sub(LABEL_WIDTH);
        let error_lines = self.error_lines(error_width as usize);
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
        1 + error_lines.len().max(1) as u16
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
pub enum Focused<F, B> {
    Field(F),
    Button(B),
}

/// What a key asks of the screen, once the form has taken the keys that
/// move the focus and edit the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<B> {
    /// Enter in a field: the form's main action.
    Submit,
    /// Enter on a button.
    Press(B),
    /// Esc.
    Back,
}

#[derive(Debug, Clone)]
pub struct Form<F, B> {
    fields: Vec<(F, Field)>,
    buttons: Vec<B>,
    /// Fields first, then buttons.
    focus: usize,
}

impl<F: FieldId, B: ButtonId> Form<F, B> {
    pub fn new(fields: &[F], buttons: &[B]) -> Form<F, B> {
        Form {
            fields: fields.iter().map(|&id| (id, new_field(id))).collect(),
            buttons: buttons.to_vec(),
            focus: 0,
        }
    }

    /// With `id` shown as dots although it is not a secret everywhere (a
    /// code field that also takes a recovery code).
    pub fn masking(mut self, id: F) -> Form<F, B> {
        if let Some(field) = self.field_mut(id) {
            field.masked = true;
        }
        self
    }

    pub fn focused(&self) -> Focused<F, B> {
        match self.fields.get(self.focus) {
            Some((id, _)) => Focused::Field(*id),
            None => Focused::Button(self.buttons[self.focus - self.fields.len()]),
        }
    }

    pub fn typing(&self) -> bool {
        self.focus < self.fields.len()
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
        match self.fields.get_mut(self.focus) {
            Some((_, field)) => field.edit(key),
            None => false,
        }
    }

    /// A key for the form: moves the focus or edits a field, and says what
    /// is left for the screen (Enter, Esc), if anything.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Action<B>> {
        if self.navigate(key) || self.edit(key) {
            return None;
        }
        match (key.code, self.focused()) {
            (KeyCode::Enter, Focused::Field(_)) => Some(Action::Submit),
            (KeyCode::Enter, Focused::Button(button)) => Some(Action::Press(button)),
            (KeyCode::Esc, _) => Some(Action::Back),
            _ => None,
        }
    }

    pub fn paste(&mut self, text: &str) {
        if let Some((_, field)) = self.fields.get_mut(self.focus) {
            field.paste(text);
        }
    }

    fn index(&self, id: F) -> Option<usize> {
        self.fields.iter().position(|(f, _)| *f == id)
    }

    pub fn has_field(&self, id: F) -> bool {
        self.index(id).is_some()
    }

    /// Adds a field after the others (a code the server asked for).
    pub fn add_field(&mut self, id: F) {
        if !self.has_field(id) {
            // The buttons keep the focus they had.
            if self.focus >= self.fields.len() {
                self.focus += 1;
            }
            self.fields.push((id, new_field(id)));
        }
    }

    pub fn field_mut(&mut self, id: F) -> Option<&mut Field> {
        self.fields
            .iter_mut()
            .find(|(f, _)| *f == id)
            .map(|(_, field)| field)
    }

    /// The text of `id`; `""` for a field this form does not have.
    pub fn value(&self, id: F) -> &str {
        self.index(id).map_or("", |i| self.fields[i].1.value())
    }

    pub fn set_value(&mut self, id: F, value: &str) {
        if let Some(field) = self.field_mut(id) {
            field.set_value(value);
        }
    }

    pub fn is_focused(&self, id: F) -> bool {
        self.index(id) == Some(self.focus)
    }

    pub fn focus_field(&mut self, id: F) {
        if let Some(i) = self.index(id) {
            self.focus = i;
        }
    }

    pub fn focus_button(&mut self, button: B) {
        if let Some(i) = self.buttons.iter().position(|b| *b == button) {
            self.focus = self.fields.len() + i;
        }
    }

    pub fn error(&self, id: F) -> Option<&str> {
        self.index(id)
            .and_then(|i| self.fields[i].1.error.as_deref())
    }

    pub fn set_error(&mut self, id: F, message: impl Into<String>) {
        if let Some(field) = self.field_mut(id) {
            field.error = Some(message.into());
        }
    }

    /// Empties `id`, says why under it and focuses it: a wrong password or
    /// code, to be typed again.
    pub fn retype(&mut self, id: F, message: impl Into<String>) {
        if let Some(i) = self.index(id) {
            self.fields[i].1.clear();
            self.fields[i].1.error = Some(message.into());
            self.focus = i;
        }
    }

    /// Says `message(id)` under every empty field; true when all are filled.
    pub fn check_filled(&mut self, message: impl Fn(F) -> &'static str) -> bool {
        self.clear_errors();
        for (id, field) in &mut self.fields {
            if field.value().trim().is_empty() {
                field.error = Some(message(*id).to_owned());
            }
        }
        !self.focus_first_error()
    }

    pub fn has_errors(&self) -> bool {
        self.fields.iter().any(|(_, f)| f.error.is_some())
    }

    /// Focuses the first field with an error; false when there is none.
    pub fn focus_first_error(&mut self) -> bool {
        match self.fields.iter().position(|(_, f)| f.error.is_some()) {
            Some(first) => {
                self.focus = first;
                true
            }
            None => false,
        }
    }

    pub fn clear_errors(&mut self) {
        for (_, field) in &mut self.fields {
            field.error = None;
        }
    }

    /// Forgets passwords and tokens, e.g. once they have been used.
    pub fn clear_secrets(&mut self) {
        for (_, field) in self.fields.iter_mut().filter(|(_, f)| f.masked) {
            field.clear();
        }
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
            let index = F::from_wire(&field_error.param).and_then(|id| self.index(id));
            match index {
                // The first message per field is the one to fix first.
                Some(i) if self.fields[i].1.error.is_none() => {
                    self.fields[i].1.error = Some(field_error.msg.clone());
                }
                Some(_) => {}
                None => unmatched.push(field_error.msg.clone()),
            }
        }
        self.focus_first_error();
        Some(unmatched)
    }

    /// The refusal of this form's call: a 422's messages go under their
    /// fields; returns what goes on the message line (messages for no field
    /// of the form, or the whole error when it is not about fields).
    pub fn take_error(&mut self, error: &ClientError) -> Option<String> {
        match self.apply_field_errors(error) {
            Some(unmatched) if unmatched.is_empty() => None,
            Some(unmatched) => Some(unmatched.join(" ")),
            None => Some(describe(error)),
        }
    }

    /// Draws the form from the top of `area`; puts the cursor in the
    /// focused field when `cursor` (not under a dialog).
    pub fn render(&self, frame: &mut Frame, area: Rect, cursor: bool) {
        let mut y = area.y;
        let bottom = area.y + area.height;
        for (i, (_, field)) in self.fields.iter().enumerate() {
            if y + 1 >= bottom {
                break;
            }
            y += field.render(frame, area, y, self.focus == i, cursor);
        }
        y += 1;
        for (i, button) in self.buttons.iter().enumerate() {
            if y >= bottom {
                break;
            }
            let focused = self.focus == self.fields.len() + i;
            let label = button.label();
            let line = if focused {
                Line::from(Span::styled(
                    format!("▸ {label} "),
                    Style::new()
                        .add_modifier(Modifier::REVERSED | Modifier::BOLD)
                        .fg(Color::Cyan),
                ))
            } else {
                Line::from(format!("  {label}"))
            };
            frame.render_widget(line, Rect::new(area.x, y, area.width, 1));
            y += 1;
        }
    }
}

fn new_field<F: FieldId>(id: F) -> Field {
    if id.masked() {
        Field::secret(id.label())
    } else {
        Field::text(id.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::testing::*;

    fields! {
        enum TestField {
            Email = ("Email", "email"),
            Password = ("Password", "password", masked),
        }
    }

    buttons! {
        enum TestButton {
            Go = "Go",
            Back = "Back",
        }
    }

    use TestButton::{Back, Go};
    use TestField::{Email, Password};

    fn form() -> Form<TestField, TestButton> {
        Form::new(&[Email, Password], &[Go, Back])
    }

    #[test]
    fn tab_and_shift_tab_wrap_around_fields_and_buttons() {
        let mut form = form();
        for expected in [
            Focused::Field(Password),
            Focused::Button(Go),
            Focused::Button(Back),
            Focused::Field(Email),
        ] {
            assert!(form.navigate(press(KeyCode::Tab)));
            assert_eq!(form.focused(), expected);
        }
        assert!(form.navigate(press(KeyCode::BackTab)));
        assert_eq!(form.focused(), Focused::Button(Back));
    }

    #[test]
    fn typing_edits_only_the_focused_field_and_clears_its_error() {
        let mut form = form();
        form.set_error(Email, "Email is invalid");
        for c in "ab".chars() {
            form.edit(press(KeyCode::Char(c)));
        }
        assert_eq!(form.value(Email), "ab");
        assert!(form.error(Email).is_none());
        form.edit(press(KeyCode::Backspace));
        assert_eq!(form.value(Email), "a");
        form.edit(ctrl_key('u'));
        assert_eq!(form.value(Email), "");
        form.focus_button(Go);
        assert!(!form.edit(press(KeyCode::Char('x'))));
    }

    #[test]
    fn masked_fields_show_dots_and_debug_hides_them() {
        let mut field = Field::secret("Password");
        field.paste("s3cret\n");
        assert_eq!(field.value(), "s3cret");
        assert_eq!(field.shown(field.value()), "••••••");
        assert!(!format!("{field:?}").contains("s3cret"));
    }

    #[test]
    fn field_errors_go_under_their_fields() {
        let mut form = form();
        form.focus_button(Go);
        let unmatched = form
            .apply_field_errors(&validation(&[
                ("password", "Password is too short"),
                ("password", "Password is too common"),
                ("firstName", "First name is required"),
            ]))
            .unwrap();
        assert_eq!(form.error(Password), Some("Password is too short"));
        assert_eq!(form.error(Email), None);
        assert_eq!(unmatched, vec!["First name is required".to_owned()]);
        assert!(form.is_focused(Password));
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
        let mut field = Field::text("Email");
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
        let mut field = Field::text("Email");
        field.set_value("ada@example");
        field.error = Some("Email is invalid".into());
        field.edit(press(KeyCode::Home));
        assert!(field.error.is_some());
        field.edit(press(KeyCode::Delete));
        assert!(field.error.is_none());
    }

    #[test]
    fn ctrl_w_and_alt_backspace_delete_the_word_before_the_cursor() {
        let mut field = Field::text("Name");
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
        let mut field = Field::secret("Token");
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
    fn draw(form: &Form<TestField, TestButton>, width: u16, height: u16) -> (String, Position) {
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
        form.focus_field(Password);
        for c in "secret".chars() {
            form.edit(press(KeyCode::Char(c)));
        }
        form.edit(press(KeyCode::Left));
        form.edit(press(KeyCode::Left));
        form.edit(press(KeyCode::Char('X')));
        assert_eq!(form.value(Password), "secrXet");
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
