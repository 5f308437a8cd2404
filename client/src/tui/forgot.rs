//! Forgot password: ask for the reset email, then "check your email".

use crossterm::event::{KeyCode, KeyEvent};
use gatepass_common::MessageResponse;
use ratatui::layout::Rect;
use ratatui::Frame;

use super::app::{App, Command, Screen};
use super::form::{Field, Focused, Form};
use super::view::{self, Hint};
use crate::error::ClientError;

const SEND: usize = 0;
const HAVE_LINK: usize = 1;
const BACK: usize = 2;

#[derive(Debug, Clone)]
pub struct Forgot {
    pub form: Form,
    /// The server's answer once the email is on its way.
    pub sent: Option<String>,
}

impl Default for Forgot {
    fn default() -> Forgot {
        Forgot {
            form: Form::new(
                vec![Field::text("Email", "email")],
                vec![
                    "Send the reset email",
                    "I have a reset link",
                    "Back to sign in",
                ],
            ),
            sent: None,
        }
    }
}

impl Forgot {
    /// Opens the screen afresh, with the email from Sign in if there is one.
    pub fn open(&mut self, email: &str) {
        *self = Forgot::default();
        self.form.set_value("email", email);
    }
}

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let form = &mut app.forgot.form;
    if form.navigate(key) || form.edit(key) {
        return Vec::new();
    }
    match (key.code, form.focused()) {
        (KeyCode::Enter, Focused::Field(_) | Focused::Button(SEND)) => {
            form.clear_errors();
            let command = Command::Forgot {
                email: form.value("email").trim().to_owned(),
            };
            app.start("Asking for a reset email", command)
        }
        (KeyCode::Enter, Focused::Button(HAVE_LINK)) => {
            app.go(Screen::Reset);
            Vec::new()
        }
        (KeyCode::Enter, Focused::Button(BACK)) | (KeyCode::Esc, _) => {
            app.go(Screen::SignIn);
            Vec::new()
        }
        _ => Vec::new(),
    }
}

pub fn on_sent(app: &mut App, result: Result<MessageResponse, ClientError>) -> Vec<Command> {
    app.busy = None;
    match result {
        Ok(answer) => {
            // The same answer for every address: it cannot say the email exists.
            app.forgot.sent = Some(answer.feedback.unwrap_or(answer.message));
            // Next step: paste the link from the email.
            app.forgot.form.focus_button(HAVE_LINK);
        }
        Err(error) => match app.forgot.form.apply_field_errors(&error) {
            Some(unmatched) if unmatched.is_empty() => {}
            Some(unmatched) => app.error(unmatched.join(" ")),
            None => app.show_error(&error),
        },
    }
    Vec::new()
}

pub fn hints(app: &App) -> Vec<Hint> {
    let mut hints = vec![("Tab/S-Tab", "move"), ("Enter", "select"), ("Esc", "back")];
    hints.extend(view::global_hints(app));
    hints
}

pub fn view(app: &App, frame: &mut Frame, area: Rect) {
    let intro: Vec<&str> = match &app.forgot.sent {
        Some(answer) => vec!["✓ Check your email.", answer.as_str()],
        None => vec!["We will email you a link to set a new password."],
    };
    view::form_screen(
        frame,
        area,
        &intro,
        &app.forgot.form,
        view::cursor_allowed(app),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::{update, Message};
    use crate::tui::testing::*;

    fn forgot_app() -> App {
        let mut app = signed_out_app();
        app.forgot.open("");
        app.go(Screen::Forgot);
        app
    }

    fn answer() -> MessageResponse {
        MessageResponse {
            success: true,
            message: "Reset email sent".into(),
            feedback: Some(
                "If an account exists for that address, a reset link is on its way.".into(),
            ),
        }
    }

    #[test]
    fn enter_asks_for_the_email_then_says_check_your_email() {
        let mut app = forgot_app();
        type_text(&mut app, " ada@example.com");
        let commands = update(&mut app, key(KeyCode::Enter));
        assert_eq!(
            commands,
            vec![Command::Forgot {
                email: "ada@example.com".into()
            }]
        );
        update(&mut app, Message::ForgotSent(Ok(answer())));
        assert!(app.busy.is_none());
        assert!(app.forgot.sent.as_ref().unwrap().contains("on its way"));
        // Enter now leads to pasting the link.
        update(&mut app, key(KeyCode::Enter));
        assert_eq!(app.screen, Screen::Reset);
    }

    #[test]
    fn an_invalid_email_shows_under_the_field() {
        let mut app = forgot_app();
        update(&mut app, key(KeyCode::Enter));
        update(
            &mut app,
            Message::ForgotSent(Err(validation(&[("email", "Email is invalid")]))),
        );
        assert_eq!(app.forgot.form.error("email"), Some("Email is invalid"));
        assert!(app.forgot.sent.is_none());
    }

    #[test]
    fn esc_goes_back_to_sign_in() {
        let mut app = forgot_app();
        update(&mut app, key(KeyCode::Esc));
        assert_eq!(app.screen, Screen::SignIn);
    }

    #[test]
    fn it_renders_the_form_the_spinner_and_the_answer_at_80x24() {
        let mut app = forgot_app();
        type_text(&mut app, "ada@example.com");
        update(&mut app, key(KeyCode::Enter));
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "We will email you a link");
        assert_contains(&screen, "⠋ Asking for a reset email…");
        update(&mut app, Message::ForgotSent(Ok(answer())));
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "✓ Check your email.");
        assert_contains(&screen, "a reset link is on its way.");
        assert_contains(&screen, "I have a reset link");
        assert_contains(&screen, "Esc back");
        update(&mut app, Message::ForgotSent(Err(unreachable())));
        let screen = render(&app, 80, 24);
        assert_contains(&screen, &format!("Server unreachable at {SERVER}"));
    }
}
