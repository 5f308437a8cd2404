//! Reset password: paste the link (or the token) from the email, choose a
//! new password. The link holds a secret, so it is masked like a password.

use crossterm::event::{KeyCode, KeyEvent};
use gatepass_common::{ErrorCode, MessageResponse};
use ratatui::layout::Rect;
use ratatui::Frame;

use super::app::{App, Command, Note, NoteKind, Screen, Secret};
use super::form::{Field, Focused, Form};
use super::view::{self, Hint};
use crate::api;
use crate::error::ClientError;

const SET: usize = 0;
const BACK: usize = 1;

#[derive(Debug, Clone)]
pub struct Reset {
    pub form: Form,
}

impl Default for Reset {
    fn default() -> Reset {
        Reset {
            form: Form::new(
                vec![
                    Field::secret("Link or token", "token"),
                    Field::secret("New password", "password"),
                    Field::secret("Confirm", "passwordConfirm"),
                ],
                vec!["Set the new password", "Back to sign in"],
            ),
        }
    }
}

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let form = &mut app.reset.form;
    if form.navigate(key) || form.edit(key) {
        return Vec::new();
    }
    match (key.code, form.focused()) {
        (KeyCode::Enter, Focused::Field(_) | Focused::Button(SET)) => submit(app),
        (KeyCode::Enter, Focused::Button(BACK)) | (KeyCode::Esc, _) => {
            app.go(Screen::SignIn);
            Vec::new()
        }
        _ => Vec::new(),
    }
}

fn submit(app: &mut App) -> Vec<Command> {
    let form = &mut app.reset.form;
    form.clear_errors();
    // The client sends the password twice itself, so the two typed here are
    // compared here; a link that holds no token is caught before the call.
    if api::reset_token(form.value("token")).is_err() {
        form.set_error("token", "Paste the link from the email, or the token in it");
    }
    if form.value("password") != form.value("passwordConfirm") {
        form.set_error("passwordConfirm", "Passwords do not match");
    }
    if form.has_errors() {
        if let Some(first) = form.fields.iter().position(|f| f.error.is_some()) {
            form.focus = first;
        }
        return Vec::new();
    }
    let command = Command::Reset {
        token_or_link: Secret::new(form.value("token")),
        password: Secret::new(form.value("password")),
    };
    app.start("Setting the new password", command)
}

pub fn on_done(app: &mut App, result: Result<MessageResponse, ClientError>) -> Vec<Command> {
    app.busy = None;
    match result {
        Ok(answer) => {
            app.reset = Reset::default();
            // Every session ended with the reset, this one included.
            app.signed_out(Note {
                kind: NoteKind::Info,
                text: format!(
                    "{} Sign in with the new password.",
                    answer.message.trim_end_matches('.').to_owned() + "."
                ),
            });
        }
        Err(error) if error.server_code() == Some(ErrorCode::InvalidResetToken) => {
            let message = super::app::describe(&error);
            app.reset.form.set_error("token", message);
            app.reset.form.focus_param("token");
        }
        Err(error) => match app.reset.form.apply_field_errors(&error) {
            Some(unmatched) if unmatched.is_empty() => {}
            Some(unmatched) => app.error(unmatched.join(" ")),
            None => app.show_error(&error),
        },
    }
    Vec::new()
}

pub fn hints(app: &App) -> Vec<Hint> {
    let mut hints = vec![("Tab/S-Tab", "move"), ("Enter", "set"), ("Esc", "back")];
    hints.extend(view::global_hints(app));
    hints
}

pub fn view(app: &App, frame: &mut Frame, area: Rect) {
    view::form_screen(
        frame,
        area,
        &["Paste the whole link from the reset email (or just its token)."],
        &app.reset.form,
        view::cursor_allowed(app),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::{update, Message};
    use crate::tui::testing::*;

    const LINK: &str = "http://localhost:3000/reset/AbC123_xyz";

    fn reset_app() -> App {
        let mut app = signed_out_app();
        app.go(Screen::Reset);
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
        assert!(app.reset.form.error("token").is_some());
        assert_eq!(
            app.reset.form.error("passwordConfirm"),
            Some("Passwords do not match")
        );
        assert!(app.reset.form.is_focused("token"));
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
            app.reset.form.error("token"),
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
            app.reset.form.error("password"),
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
        assert_eq!(app.screen, Screen::SignIn);
        assert_eq!(
            app.note.as_ref().unwrap().text,
            "Password updated. Sign in with the new password."
        );
        assert_eq!(app.reset.form.value("token"), "");
        assert_eq!(app.reset.form.value("password"), "");
    }

    #[test]
    fn esc_goes_back() {
        let mut app = reset_app();
        update(&mut app, key(KeyCode::Esc));
        assert_eq!(app.screen, Screen::SignIn);
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
