//! Forgot password: ask for the reset email, then "check your email".

use crossterm::event::KeyEvent;
use gatepass_common::MessageResponse;
use ratatui::layout::Rect;
use ratatui::Frame;

use super::app::{App, Command, Screen};
use super::form::{buttons, fields, Action, Form};
use super::reset::Reset;
use super::sign_in::SignIn;
use super::view::{self, Hint};
use crate::error::ClientError;

fields! {
    pub enum ForgotField {
        Email = ("Email", "email"),
    }
}

buttons! {
    pub enum ForgotButton {
        Send = "Send the reset email",
        HaveLink = "I have a reset link",
        Back = "Back to sign in",
    }
}

#[derive(Debug, Clone)]
pub struct Forgot {
    pub form: Form<ForgotField, ForgotButton>,
    /// The server's answer once the email is on its way.
    pub sent: Option<String>,
}

impl Default for Forgot {
    fn default() -> Forgot {
        Forgot {
            form: Form::new(
                &[ForgotField::Email],
                &[
                    ForgotButton::Send,
                    ForgotButton::HaveLink,
                    ForgotButton::Back,
                ],
            ),
            sent: None,
        }
    }
}

impl Forgot {
    /// From Sign in, with the email typed there.
    pub fn with_email(email: &str) -> Forgot {
        let mut forgot = Forgot::default();
        forgot.form.set_value(ForgotField::Email, email);
        forgot
    }
}

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Some(state) = app.state::<Forgot>() else {
        return Vec::new();
    };
    let form = &mut state.form;
    match form.on_key(key) {
        Some(Action::Submit | Action::Press(ForgotButton::Send)) => {
            form.clear_errors();
            let command = Command::Forgot {
                email: form.value(ForgotField::Email).trim().to_owned(),
            };
            app.start("Asking for a reset email", command)
        }
        Some(Action::Press(ForgotButton::HaveLink)) => {
            let email = form.value(ForgotField::Email).to_owned();
            app.go(Screen::Reset(Reset::with_email(&email)));
            Vec::new()
        }
        Some(Action::Press(ForgotButton::Back) | Action::Back) => {
            let email = form.value(ForgotField::Email).to_owned();
            app.go(Screen::SignIn(SignIn::with_email(&email)));
            Vec::new()
        }
        None => Vec::new(),
    }
}

/// For the Forgot password screen only: elsewhere the answer is dropped.
pub fn on_sent(app: &mut App, result: Result<MessageResponse, ClientError>) -> Vec<Command> {
    app.busy = None;
    let Some(state) = app.state::<Forgot>() else {
        return Vec::new();
    };
    match result {
        Ok(answer) => {
            // The same answer for every address: it cannot say the email exists.
            state.sent = Some(answer.feedback.unwrap_or(answer.message));
            // Next step: paste the link from the email.
            state.form.focus_button(ForgotButton::HaveLink);
        }
        Err(error) => {
            if let Some(note) = state.form.take_error(&error) {
                app.error(note);
            }
        }
    }
    Vec::new()
}

pub fn hints(app: &App) -> Vec<Hint> {
    view::form_hints(app, "select", Some("back"))
}

pub fn view(state: &Forgot, app: &App, frame: &mut Frame, area: Rect) {
    let intro: Vec<&str> = match &state.sent {
        Some(answer) => vec!["✓ Check your email.", answer.as_str()],
        None => vec!["We will email you a link to set a new password."],
    };
    view::form_screen(frame, area, &intro, &state.form, view::cursor_allowed(app));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::ScreenId;
    use crate::tui::app::{update, Message};
    use crate::tui::testing::*;
    use crossterm::event::KeyCode;

    fn forgot_app() -> App {
        let mut app = signed_out_app();
        app.go(Screen::Forgot(Forgot::default()));
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
        assert!(app.forgot().sent.as_ref().unwrap().contains("on its way"));
        // Enter now leads to pasting the link.
        update(&mut app, key(KeyCode::Enter));
        assert_eq!(app.screen.id(), ScreenId::Reset);
    }

    #[test]
    fn an_invalid_email_shows_under_the_field() {
        let mut app = forgot_app();
        update(&mut app, key(KeyCode::Enter));
        update(
            &mut app,
            Message::ForgotSent(Err(validation(&[("email", "Email is invalid")]))),
        );
        assert_eq!(
            app.forgot().form.error(ForgotField::Email),
            Some("Email is invalid")
        );
        assert!(app.forgot().sent.is_none());
    }

    #[test]
    fn esc_goes_back_to_sign_in() {
        let mut app = forgot_app();
        update(&mut app, key(KeyCode::Esc));
        assert_eq!(app.screen.id(), ScreenId::SignIn);
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
