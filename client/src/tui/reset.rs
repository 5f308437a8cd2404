//! Reset password: paste the link (or the token) from the email, choose a
//! new password. The link holds a secret, so it is masked like a password.

use crossterm::event::KeyEvent;
use gatepass_common::{ErrorCode, MessageResponse};
use ratatui::layout::Rect;
use ratatui::Frame;

use super::app::{describe, App, Command, Note, NoteKind, Screen, Secret};
use super::form::{buttons, fields, Action, Form};
use super::sign_in::{SignIn, SignInField};
use super::view::{self, Hint};
use crate::api;
use crate::error::ClientError;

fields! {
    pub enum ResetField {
        /// The link from the email, or the token in it.
        Token = ("Link or token", "token", masked),
        Password = ("New password", "password", masked),
        Confirm = ("Confirm", "passwordConfirm", masked),
    }
}

buttons! {
    pub enum ResetButton {
        Set = "Set the new password",
        Back = "Back to sign in",
    }
}

#[derive(Debug, Clone)]
pub struct Reset {
    pub form: Form<ResetField, ResetButton>,
    /// The email typed on the way here, for Sign in on the way back.
    pub email: String,
}

impl Default for Reset {
    fn default() -> Reset {
        Reset {
            form: Form::new(
                &[ResetField::Token, ResetField::Password, ResetField::Confirm],
                &[ResetButton::Set, ResetButton::Back],
            ),
            email: String::new(),
        }
    }
}

impl Reset {
    /// From Sign in or Forgot password, keeping the email typed there.
    pub fn with_email(email: &str) -> Reset {
        Reset {
            email: email.to_owned(),
            ..Reset::default()
        }
    }
}

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Some(state) = app.state::<Reset>() else {
        return Vec::new();
    };
    match state.form.on_key(key) {
        Some(Action::Submit | Action::Press(ResetButton::Set)) => submit(app),
        Some(Action::Press(ResetButton::Back) | Action::Back) => {
            let sign_in = SignIn::with_email(&state.email);
            app.go(Screen::SignIn(sign_in));
            Vec::new()
        }
        None => Vec::new(),
    }
}

fn submit(app: &mut App) -> Vec<Command> {
    let Some(state) = app.state::<Reset>() else {
        return Vec::new();
    };
    let form = &mut state.form;
    form.clear_errors();
    // The client sends the password twice itself, so the two typed here are
    // compared here; a link that holds no token is caught before the call.
    if api::reset_token(form.value(ResetField::Token)).is_err() {
        form.set_error(
            ResetField::Token,
            "Paste the link from the email, or the token in it",
        );
    }
    if form.value(ResetField::Password) != form.value(ResetField::Confirm) {
        form.set_error(ResetField::Confirm, "Passwords do not match");
    }
    if form.focus_first_error() {
        return Vec::new();
    }
    let command = Command::Reset {
        token_or_link: Secret::new(form.value(ResetField::Token)),
        password: Secret::new(form.value(ResetField::Password)),
    };
    app.start("Setting the new password", command)
}

/// On the Reset screen: a success signs out (every session ended with the
/// reset); elsewhere it is only said, and a refusal is dropped.
pub fn on_done(app: &mut App, result: Result<MessageResponse, ClientError>) -> Vec<Command> {
    app.busy = None;
    let done = |answer: MessageResponse| {
        format!(
            "{} Sign in with the new password.",
            answer.message.trim_end_matches('.').to_owned() + "."
        )
    };
    let Some(state) = app.state::<Reset>() else {
        if let Ok(answer) = result {
            app.info(done(answer));
        }
        return Vec::new();
    };
    match result {
        Ok(answer) => {
            // Every session ended with the reset, this one included; the
            // secrets typed here go with the screen.
            let email = std::mem::take(&mut state.email);
            app.signed_out(Note {
                kind: NoteKind::Info,
                text: done(answer),
            });
            // Nobody was signed in: the email typed before is the one.
            if let Some(sign_in) = app.state::<SignIn>() {
                if sign_in.form.value(SignInField::Email).is_empty() {
                    sign_in.form.set_value(SignInField::Email, &email);
                }
            }
        }
        Err(error) if error.server_code() == Some(ErrorCode::InvalidResetToken) => {
            state.form.set_error(ResetField::Token, describe(&error));
            state.form.focus_field(ResetField::Token);
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
    view::form_hints(app, "set", Some("back"))
}

pub fn view(state: &Reset, app: &App, frame: &mut Frame, area: Rect) {
    view::form_screen(
        frame,
        area,
        &["Paste the whole link from the reset email (or just its token)."],
        &state.form,
        view::cursor_allowed(app),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::ScreenId;
    use crate::tui::app::{update, Message};
    use crate::tui::sign_in::{SignInButton, SignInField};
    use crate::tui::testing::*;
    use crossterm::event::KeyCode;

    const LINK: &str = "http://localhost:3000/reset/AbC123_xyz";

    fn reset_app() -> App {
        let mut app = signed_out_app();
        app.go(Screen::Reset(Reset::default()));
        app
    }

    fn fill(app: &mut App, password: &str, confirm: &str) {
        update(app, Message::Paste(format!("{LINK}\n")));
        update(app, key(KeyCode::Tab));
        type_text(app, password);
        update(app, key(KeyCode::Tab));
        type_text(app, confirm);
    }

    #[test]
    fn a_pasted_link_and_matching_passwords_are_sent() {
        let mut app = reset_app();
        fill(&mut app, "new-pass-1", "new-pass-1");
        let commands = update(&mut app, key(KeyCode::Enter));
        assert_eq!(
            commands,
            vec![Command::Reset {
                token_or_link: Secret::new(LINK),
                password: Secret::new("new-pass-1"),
            }]
        );
    }

    #[test]
    fn mismatched_passwords_and_junk_links_are_caught_before_the_call() {
        let mut app = reset_app();
        type_text(&mut app, "not a link");
        update(&mut app, key(KeyCode::Tab));
        type_text(&mut app, "new-pass-1");
        update(&mut app, key(KeyCode::Tab));
        type_text(&mut app, "new-pass-2");
        assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
        assert!(app.busy.is_none());
        assert!(app.reset().form.error(ResetField::Token).is_some());
        assert_eq!(
            app.reset().form.error(ResetField::Confirm),
            Some("Passwords do not match")
        );
        assert!(app.reset().form.is_focused(ResetField::Token));
    }

    #[test]
    fn an_expired_link_is_flagged_on_the_link() {
        let mut app = reset_app();
        fill(&mut app, "new-pass-1", "new-pass-1");
        update(&mut app, key(KeyCode::Enter));
        let error = refusal(
            400,
            ErrorCode::InvalidResetToken,
            "This reset link is invalid or has expired",
        );
        update(&mut app, Message::ResetDone(Err(error)));
        assert_eq!(
            app.reset().form.error(ResetField::Token),
            Some("This reset link is invalid or has expired")
        );
    }

    #[test]
    fn a_weak_password_is_flagged_on_the_password() {
        let mut app = reset_app();
        fill(&mut app, "password", "password");
        update(&mut app, key(KeyCode::Enter));
        update(
            &mut app,
            Message::ResetDone(Err(validation(&[("password", "Password is too common")]))),
        );
        assert_eq!(
            app.reset().form.error(ResetField::Password),
            Some("Password is too common")
        );
    }

    #[test]
    fn success_returns_to_sign_in_and_forgets_the_secrets() {
        let mut app = reset_app();
        fill(&mut app, "new-pass-1", "new-pass-1");
        update(&mut app, key(KeyCode::Enter));
        let answer = MessageResponse {
            success: true,
            message: "Password updated".into(),
            feedback: None,
        };
        update(&mut app, Message::ResetDone(Ok(answer)));
        assert_eq!(app.screen.id(), ScreenId::SignIn);
        assert_eq!(
            app.note.as_ref().unwrap().text,
            "Password updated. Sign in with the new password."
        );
        // The Reset screen went, the secrets with it: a new one is empty.
        assert_eq!(app.sign_in().form.value(SignInField::Password), "");
        assert_eq!(app.sign_in().form.value(SignInField::Email), "");
        app.sign_in_mut().form.focus_button(SignInButton::Reset);
        update(&mut app, key(KeyCode::Enter));
        assert_eq!(app.reset().form.value(ResetField::Token), "");
        assert_eq!(app.reset().form.value(ResetField::Password), "");
    }

    #[test]
    fn esc_goes_back() {
        let mut app = reset_app();
        update(&mut app, key(KeyCode::Esc));
        assert_eq!(app.screen.id(), ScreenId::SignIn);
    }

    #[test]
    fn the_email_typed_before_comes_back_to_sign_in() {
        let mut app = signed_out_app();
        type_text(&mut app, "ada@example.com");
        app.sign_in_mut().form.focus_button(SignInButton::Reset);
        update(&mut app, key(KeyCode::Enter));
        update(&mut app, key(KeyCode::Esc));
        assert_eq!(
            app.sign_in().form.value(SignInField::Email),
            "ada@example.com"
        );
        assert!(app.sign_in().form.is_focused(SignInField::Password));
    }

    #[test]
    fn it_renders_masked_with_errors_and_spinner_at_80x24() {
        let mut app = reset_app();
        fill(&mut app, "new-pass-1", "new-pass-1");
        update(&mut app, key(KeyCode::Enter));
        let screen = render(&app, 80, 24);
        assert!(!screen.contains("AbC123"), "the token shows:\n{screen}");
        assert!(!screen.contains("new-pass-1"), "{screen}");
        assert_contains(&screen, "⠋ Setting the new password…");
        update(
            &mut app,
            Message::ResetDone(Err(refusal(
                400,
                ErrorCode::InvalidResetToken,
                "This reset link is invalid or has expired",
            ))),
        );
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "Link or token");
        assert_contains(&screen, "✗ This reset link is invalid or has expired");
        assert_contains(&screen, "Enter set");
    }
}
