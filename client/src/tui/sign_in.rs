//! Sign in: email and password, and the ways to the other signed-out screens.

use crossterm::event::{KeyCode, KeyEvent};
use gatepass_common::User;
use ratatui::layout::Rect;
use ratatui::Frame;

use super::app::{App, Command, Screen, Secret};
use super::form::{Field, Focused, Form};
use super::view::{self, Hint};
use crate::error::ClientError;

const SIGN_IN: usize = 0;
const SIGN_UP: usize = 1;
const FORGOT: usize = 2;
const RESET: usize = 3;

#[derive(Debug, Clone)]
pub struct SignIn {
    pub form: Form,
}

impl Default for SignIn {
    fn default() -> SignIn {
        SignIn {
            form: Form::new(
                vec![
                    Field::text("Email", "email"),
                    Field::secret("Password", "password"),
                ],
                vec![
                    "Sign in",
                    "Create an account",
                    "Forgot your password?",
                    "I have a reset link",
                ],
            ),
        }
    }
}

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let form = &mut app.sign_in.form;
    if form.navigate(key) || form.edit(key) {
        return Vec::new();
    }
    match (key.code, form.focused()) {
        (KeyCode::Enter, Focused::Field(_) | Focused::Button(SIGN_IN)) => submit(app),
        (KeyCode::Enter, Focused::Button(SIGN_UP)) => {
            // Whatever email was typed here is probably the one to sign up with.
            let email = form.value("email").to_owned();
            if app.sign_up.form.value("email").is_empty() {
                app.sign_up.form.set_value("email", &email);
            }
            app.go(Screen::SignUp);
            Vec::new()
        }
        (KeyCode::Enter, Focused::Button(FORGOT)) => {
            let email = form.value("email").to_owned();
            app.forgot.open(&email);
            app.go(Screen::Forgot);
            Vec::new()
        }
        (KeyCode::Enter, Focused::Button(RESET)) => {
            app.go(Screen::Reset);
            Vec::new()
        }
        (KeyCode::Esc, _) => {
            app.note = None;
            Vec::new()
        }
        _ => Vec::new(),
    }
}

fn submit(app: &mut App) -> Vec<Command> {
    let form = &mut app.sign_in.form;
    form.clear_errors();
    let command = Command::SignIn {
        email: form.value("email").trim().to_owned(),
        password: Secret::new(form.value("password")),
    };
    app.start("Signing in", command)
}

pub fn on_signed_in(app: &mut App, result: Result<User, ClientError>) -> Vec<Command> {
    app.busy = None;
    match result {
        Ok(user) => {
            let greeting = format!("Signed in as {} {}.", user.first_name, user.last_name);
            app.signed_in(user, greeting)
        }
        Err(error) => {
            match app.sign_in.form.apply_field_errors(&error) {
                Some(unmatched) if unmatched.is_empty() => {}
                Some(unmatched) => app.error(unmatched.join(" ")),
                // Wrong email or password: say it on the message line and
                // let the user fix the password.
                None => {
                    app.show_error(&error);
                    app.sign_in.form.focus_param("password");
                }
            }
            Vec::new()
        }
    }
}

pub fn hints(app: &App) -> Vec<Hint> {
    let mut hints = vec![("Tab/S-Tab", "move"), ("Enter", "select")];
    hints.extend(view::global_hints(app));
    hints
}

pub fn view(app: &App, frame: &mut Frame, area: Rect) {
    view::form_screen(
        frame,
        area,
        &["Sign in to your gatepass account."],
        &app.sign_in.form,
        view::cursor_allowed(app),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::{update, Message, NoteKind};
    use crate::tui::testing::*;
    use gatepass_common::ErrorCode;

    fn fill(app: &mut App) {
        type_text(app, "ada@example.com ");
        update(app, key(KeyCode::Tab));
        type_text(app, "correct horse");
    }

    #[test]
    fn enter_in_a_field_signs_in_with_the_trimmed_email() {
        let mut app = signed_out_app();
        fill(&mut app);
        let commands = update(&mut app, key(KeyCode::Enter));
        assert_eq!(
            commands,
            vec![Command::SignIn {
                email: "ada@example.com".into(),
                password: Secret::new("correct horse"),
            }]
        );
        assert_eq!(app.busy.as_ref().unwrap().label, "Signing in");
        // The form stays editable while the call is in flight.
        type_text(&mut app, "!");
        assert_eq!(app.sign_in.form.value("password"), "correct horse!");
        // A second Enter does not send a second sign-in.
        assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    }

    #[test]
    fn success_opens_the_account_and_forgets_the_password() {
        let mut app = signed_out_app();
        fill(&mut app);
        update(&mut app, key(KeyCode::Enter));
        let commands = update(&mut app, Message::SignedIn(Ok(ada())));
        assert_eq!(commands, vec![Command::LoadAccount]);
        assert_eq!(app.screen, Screen::Account);
        assert_eq!(app.sign_in.form.value("password"), "");
        assert_eq!(
            app.note.as_ref().unwrap().text,
            "Signed in as Ada Lovelace."
        );
        assert_eq!(app.account.user.as_ref().unwrap().email, "ada@example.com");
    }

    #[test]
    fn wrong_credentials_show_on_the_message_line() {
        let mut app = signed_out_app();
        fill(&mut app);
        update(&mut app, key(KeyCode::Enter));
        let error = refusal(
            400,
            ErrorCode::InvalidCredentials,
            "Incorrect email or password",
        );
        assert!(update(&mut app, Message::SignedIn(Err(error))).is_empty());
        assert_eq!(app.screen, Screen::SignIn);
        assert!(app.busy.is_none());
        let note = app.note.clone().unwrap();
        assert_eq!(note.kind, NoteKind::Error);
        assert_eq!(note.text, "Incorrect email or password");
        assert!(app.sign_in.form.is_focused("password"));
    }

    #[test]
    fn validation_errors_go_under_the_fields() {
        let mut app = signed_out_app();
        update(&mut app, key(KeyCode::Enter));
        let error = validation(&[
            ("email", "Email is required"),
            ("password", "Password is required"),
        ]);
        update(&mut app, Message::SignedIn(Err(error)));
        assert_eq!(app.sign_in.form.error("email"), Some("Email is required"));
        assert_eq!(
            app.sign_in.form.error("password"),
            Some("Password is required")
        );
        assert!(app.note.is_none());
    }

    #[test]
    fn the_buttons_lead_to_the_other_screens() {
        for (button, screen) in [
            (SIGN_UP, Screen::SignUp),
            (FORGOT, Screen::Forgot),
            (RESET, Screen::Reset),
        ] {
            let mut app = signed_out_app();
            type_text(&mut app, "ada@example.com");
            app.sign_in.form.focus_button(button);
            assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
            assert_eq!(app.screen, screen);
        }
        // The email typed here follows to Sign up and Forgot password.
        let mut app = signed_out_app();
        type_text(&mut app, "ada@example.com");
        app.sign_in.form.focus_button(FORGOT);
        update(&mut app, key(KeyCode::Enter));
        assert_eq!(app.forgot.form.value("email"), "ada@example.com");
    }

    #[test]
    fn the_sign_in_button_submits_too() {
        let mut app = signed_out_app();
        fill(&mut app);
        app.sign_in.form.focus_button(SIGN_IN);
        assert_eq!(update(&mut app, key(KeyCode::Enter)).len(), 1);
    }

    #[test]
    fn it_renders_at_80x24_with_the_password_masked() {
        let mut app = signed_out_app();
        fill(&mut app);
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "Sign in to your gatepass account.");
        assert_contains(&screen, "ada@example.com");
        assert_contains(&screen, "•••••••••••••");
        assert!(!screen.contains("correct horse"), "{screen}");
        assert_contains(&screen, "Create an account");
        assert_contains(&screen, "I have a reset link");
        // Footer and status bar, whole.
        assert_contains(&screen, "Tab/S-Tab move");
        assert_contains(&screen, "Enter select");
        assert_contains(&screen, "F1 help");
        assert_contains(&screen, "Ctrl-C quit");
        assert_contains(&screen, SERVER);
        assert_contains(&screen, "not signed in");
    }

    #[test]
    fn it_renders_errors_and_the_spinner() {
        let mut app = signed_out_app();
        update(&mut app, key(KeyCode::Enter));
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "⠋ Signing in…");
        update(
            &mut app,
            Message::SignedIn(Err(validation(&[("email", "Email is invalid")]))),
        );
        update(
            &mut app,
            Message::SignedIn(Err(refusal(
                429,
                ErrorCode::TooManyAttempts,
                "Too many failed attempts; try again in 60 seconds",
            ))),
        );
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "✗ Email is invalid");
        assert_contains(&screen, "Too many failed attempts; try again in 60 seconds");
    }
}
