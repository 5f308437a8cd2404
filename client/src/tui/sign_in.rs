//! Sign in: email and password, and the ways to the other signed-out
//! screens; then, for an account with two-factor sign-in on, the code step
//! (a code from the authenticator app, or a recovery code).

use crossterm::event::{KeyCode, KeyEvent};
use gatepass_common::{ErrorCode, User};
use ratatui::layout::Rect;
use ratatui::Frame;

use super::app::{App, Command, Screen, Secret};
use super::form::{Field, Focused, Form};
use super::view::{self, Hint};
use crate::api::SecondFactor;
use crate::error::ClientError;

const SIGN_IN: usize = 0;
const SIGN_UP: usize = 1;
const FORGOT: usize = 2;
const RESET: usize = 3;

/// The code step's buttons.
const CODE_SIGN_IN: usize = 0;
const CODE_TOGGLE: usize = 1;

#[derive(Debug, Clone)]
pub struct SignIn {
    pub form: Form,
    /// The second step, once the password was right and the account asks
    /// for a code; `None` on the password step.
    pub code: Option<CodeStep>,
}

/// The code step: one field, for a code from the authenticator app or, after
/// the toggle, for a recovery code.
#[derive(Debug, Clone)]
pub struct CodeStep {
    /// The challenge the password step earned: single use, short-lived,
    /// and as good as the password until then (its `Debug` hides it).
    pub mfa_token: Secret,
    pub recovery: bool,
    pub form: Form,
}

impl CodeStep {
    fn new(mfa_token: Secret, recovery: bool) -> CodeStep {
        // The params are the server's names, so a 422 lands on the field.
        let (field, toggle) = if recovery {
            (
                // A recovery code lasts until used: masked like a password.
                Field::secret("Recovery code", "recoveryCode"),
                "Use a code from the app instead",
            )
        } else {
            (Field::text("Code", "code"), "Use a recovery code instead")
        };
        CodeStep {
            mfa_token,
            recovery,
            form: Form::new(vec![field], vec!["Sign in", toggle]),
        }
    }

    fn typed(&self) -> &str {
        self.form.fields[0].value().trim()
    }

    fn factor(&self) -> SecondFactor {
        let typed = self.typed().to_owned();
        if self.recovery {
            SecondFactor::RecoveryCode(typed)
        } else {
            SecondFactor::Code(typed)
        }
    }
}

impl SignIn {
    pub fn typing(&self) -> bool {
        match &self.code {
            Some(step) => step.form.typing(),
            None => self.form.typing(),
        }
    }

    pub fn paste(&mut self, text: &str) {
        match &mut self.code {
            Some(step) => step.form.paste(text),
            None => self.form.paste(text),
        }
    }

    /// Forgets the password and the code step's challenge.
    pub fn clear_secrets(&mut self) {
        self.form.clear_secrets();
        self.code = None;
    }
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
            code: None,
        }
    }
}

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    if app.sign_in.code.is_some() {
        return on_code_key(app, key);
    }
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

/// The password was right; the account asks for a second factor. The
/// password is not needed any more: forgotten.
pub fn on_code_required(app: &mut App, mfa_token: Secret) -> Vec<Command> {
    app.busy = None;
    app.sign_in.form.clear_secrets();
    app.sign_in.code = Some(CodeStep::new(mfa_token, false));
    app.note = None;
    Vec::new()
}

fn on_code_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Some(step) = &mut app.sign_in.code else {
        return Vec::new();
    };
    if step.form.navigate(key) || step.form.edit(key) {
        return Vec::new();
    }
    match (key.code, step.form.focused()) {
        (KeyCode::Enter, Focused::Field(_) | Focused::Button(CODE_SIGN_IN)) => submit_code(app),
        (KeyCode::Enter, Focused::Button(CODE_TOGGLE)) => {
            *step = CodeStep::new(step.mfa_token.clone(), !step.recovery);
            Vec::new()
        }
        (KeyCode::Esc, _) => {
            back_to_password(app);
            app.note = None;
            Vec::new()
        }
        _ => Vec::new(),
    }
}

fn back_to_password(app: &mut App) {
    app.sign_in.code = None;
    app.sign_in.form.focus_param("password");
}

fn submit_code(app: &mut App) -> Vec<Command> {
    let Some(step) = &mut app.sign_in.code else {
        return Vec::new();
    };
    step.form.clear_errors();
    if step.typed().is_empty() {
        let what = if step.recovery {
            "Type one of your recovery codes"
        } else {
            "Type the code your authenticator app shows"
        };
        step.form.fields[0].error = Some(what.to_owned());
        return Vec::new();
    }
    let command = Command::SignInSecondFactor {
        mfa_token: step.mfa_token.clone(),
        factor: step.factor(),
    };
    app.start("Checking the code", command)
}

pub fn on_second_factor_checked(app: &mut App, result: Result<User, ClientError>) -> Vec<Command> {
    app.busy = None;
    let error = match result {
        Ok(user) => {
            let greeting = format!("Signed in as {} {}.", user.first_name, user.last_name);
            return app.signed_in(user, greeting);
        }
        Err(error) => error,
    };
    match error.server_code() {
        // The challenge was used, or outlived its minutes: the password
        // step earns a new one.
        Some(ErrorCode::InvalidMfaToken) => {
            back_to_password(app);
            app.error("The code step expired or was already used: type your password again.");
        }
        // Wrong, used or of another time: said on the field, typed again.
        Some(ErrorCode::InvalidCode) => {
            if let Some(step) = &mut app.sign_in.code {
                step.form.fields[0].clear();
                step.form.fields[0].error = Some(super::app::describe(&error));
                step.form.focus = 0;
            }
        }
        _ => {
            let unmatched = app
                .sign_in
                .code
                .as_mut()
                .and_then(|step| step.form.apply_field_errors(&error));
            match unmatched {
                Some(unmatched) if unmatched.is_empty() => {}
                Some(unmatched) => app.error(unmatched.join(" ")),
                // Throttled (the wait is in the message), the server away.
                None => app.show_error(&error),
            }
        }
    }
    Vec::new()
}

pub fn hints(app: &App) -> Vec<Hint> {
    let mut hints = vec![("Tab/S-Tab", "move"), ("Enter", "select")];
    if app.sign_in.code.is_some() {
        hints.push(("Esc", "back to the password"));
    }
    hints.extend(view::global_hints(app));
    hints
}

pub fn view(app: &App, frame: &mut Frame, area: Rect) {
    if let Some(step) = &app.sign_in.code {
        let intro = if step.recovery {
            "Type one of your recovery codes (each works once)."
        } else {
            "Type the code from your authenticator app."
        };
        view::form_screen(
            frame,
            area,
            &["Two-factor sign-in is on for this account.", intro],
            &step.form,
            view::cursor_allowed(app),
        );
        return;
    }
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

    /// Password accepted; the account asks for a code.
    fn code_step() -> App {
        let mut app = signed_out_app();
        fill(&mut app);
        update(&mut app, key(KeyCode::Enter));
        let commands = update(
            &mut app,
            Message::CodeRequired {
                mfa_token: Secret::new("challenge-1"),
            },
        );
        assert!(commands.is_empty());
        assert!(app.busy.is_none());
        app
    }

    fn code_command(factor: SecondFactor) -> Vec<Command> {
        vec![Command::SignInSecondFactor {
            mfa_token: Secret::new("challenge-1"),
            factor,
        }]
    }

    #[test]
    fn the_code_step_follows_the_password_and_sends_the_code() {
        let mut app = code_step();
        assert_eq!(app.screen, Screen::SignIn);
        // The password is forgotten: the challenge stands for it now.
        assert_eq!(app.sign_in.form.value("password"), "");
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "Two-factor sign-in is on for this account.");
        assert_contains(&screen, "Type the code from your authenticator app.");
        assert_contains(&screen, "Use a recovery code instead");
        assert_contains(&screen, "Esc back to the password");
        assert!(app.typing());
        // An empty code is caught here.
        assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
        assert!(app.sign_in.code.as_ref().unwrap().form.has_errors());
        type_text(&mut app, " 123456 ");
        assert_eq!(
            update(&mut app, key(KeyCode::Enter)),
            code_command(SecondFactor::Code("123456".into()))
        );
        assert_eq!(app.busy.as_ref().unwrap().label, "Checking the code");
        let commands = update(&mut app, Message::SecondFactorChecked(Ok(ada())));
        assert_eq!(commands, vec![Command::LoadAccount]);
        assert_eq!(app.screen, Screen::Account);
        assert!(app.sign_in.code.is_none());
    }

    #[test]
    fn a_recovery_code_can_be_used_instead() {
        let mut app = code_step();
        app.sign_in
            .code
            .as_mut()
            .unwrap()
            .form
            .focus_button(CODE_TOGGLE);
        update(&mut app, key(KeyCode::Enter));
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "Type one of your recovery codes");
        assert_contains(&screen, "Recovery code");
        assert_contains(&screen, "Use a code from the app instead");
        assert!(app
            .sign_in
            .code
            .as_ref()
            .unwrap()
            .form
            .is_focused("recoveryCode"));
        type_text(&mut app, "abcde-fghij");
        assert_eq!(
            update(&mut app, key(KeyCode::Enter)),
            code_command(SecondFactor::RecoveryCode("abcde-fghij".into()))
        );
    }

    #[test]
    fn a_wrong_code_is_said_on_the_field_and_can_be_typed_again() {
        let mut app = code_step();
        type_text(&mut app, "000000");
        update(&mut app, key(KeyCode::Enter));
        let error = refusal(400, ErrorCode::InvalidCode, "The code is not valid.");
        update(&mut app, Message::SecondFactorChecked(Err(error)));
        let step = app.sign_in.code.as_ref().expect("still on the code step");
        assert_eq!(step.form.error("code"), Some("The code is not valid."));
        assert_eq!(step.form.value("code"), "");
        assert_contains(&render(&app, 80, 24), "✗ The code is not valid.");
        type_text(&mut app, "111111");
        assert_eq!(
            update(&mut app, key(KeyCode::Enter)),
            code_command(SecondFactor::Code("111111".into()))
        );
    }

    #[test]
    fn an_expired_challenge_returns_to_the_password_step() {
        let mut app = code_step();
        type_text(&mut app, "123456");
        update(&mut app, key(KeyCode::Enter));
        let error = refusal(
            400,
            ErrorCode::InvalidMfaToken,
            "The sign-in challenge is invalid or expired.",
        );
        update(&mut app, Message::SecondFactorChecked(Err(error)));
        assert!(app.sign_in.code.is_none());
        assert!(app.sign_in.form.is_focused("password"));
        assert_eq!(app.sign_in.form.value("email"), "ada@example.com ");
        let note = app.note.clone().unwrap();
        assert_eq!(note.kind, NoteKind::Error);
        assert_contains(&render(&app, 80, 24), "type your password again.");
    }

    #[test]
    fn throttled_codes_say_how_long_to_wait() {
        let mut app = code_step();
        type_text(&mut app, "123456");
        update(&mut app, key(KeyCode::Enter));
        let error = refusal(
            429,
            ErrorCode::TooManyAttempts,
            "Too many failed attempts; try again in 60 seconds",
        );
        update(&mut app, Message::SecondFactorChecked(Err(error)));
        assert!(app.sign_in.code.is_some());
        assert_contains(&render(&app, 80, 24), "try again in 60 seconds");
    }

    #[test]
    fn esc_on_the_code_step_returns_to_the_password() {
        let mut app = code_step();
        update(&mut app, key(KeyCode::Esc));
        assert!(app.sign_in.code.is_none());
        assert!(app.sign_in.form.is_focused("password"));
        assert_contains(&render(&app, 80, 24), "Sign in to your gatepass account.");
    }

    #[test]
    fn the_challenge_never_shows_in_debug_output() {
        let app = code_step();
        let debug = format!("{:?}", app.sign_in);
        assert!(!debug.contains("challenge-1"), "{debug}");
        let command = code_command(SecondFactor::Code("123456".into()));
        let debug = format!("{command:?}");
        assert!(
            !debug.contains("challenge-1") && !debug.contains("123456"),
            "{debug}"
        );
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
