//! Sign in: email and password, and the ways to the other signed-out
//! screens; then, for an account with two-factor sign-in on, the code step
//! (a code from the authenticator app, or a recovery code).

use crossterm::event::KeyEvent;
use gatepass_common::{ErrorCode, User};
use ratatui::layout::Rect;
use ratatui::Frame;

use super::app::{describe, App, Command, Screen, Secret};
use super::forgot::Forgot;
use super::form::{buttons, fields, Action, Form};
use super::reset::Reset;
use super::sign_up::SignUp;
use super::view::{self, Hint};
use crate::api::SecondFactor;
use crate::error::ClientError;

fields! {
    pub enum SignInField {
        Email = ("Email", "email"),
        Password = ("Password", "password", masked),
    }
}

buttons! {
    pub enum SignInButton {
        SignIn = "Sign in",
        SignUp = "Create an account",
        Forgot = "Forgot your password?",
        Reset = "I have a reset link",
    }
}

fields! {
    /// The code step's one field: a code from the app, or a recovery code.
    pub enum CodeField {
        Code = ("Code", "code"),
        /// Lasts until used: masked like a password.
        RecoveryCode = ("Recovery code", "recoveryCode", masked),
    }
}

buttons! {
    pub enum CodeButton {
        SignIn = "Sign in",
        /// From the app's code to a recovery code.
        UseRecoveryCode = "Use a recovery code instead",
        /// And back.
        UseAppCode = "Use a code from the app instead",
    }
}

#[derive(Debug, Clone)]
pub struct SignIn {
    pub form: Form<SignInField, SignInButton>,
    /// The second step, once the password was right and the account asks
    /// for a code; `None` on the password step.
    pub code: Option<CodeStep>,
    /// The sign-up form the user came back from, its passwords cleared:
    /// going there again finds the names as they were typed.
    pub sign_up_draft: Option<SignUp>,
}

/// The code step: one field, for a code from the authenticator app or, after
/// the toggle, for a recovery code.
#[derive(Debug, Clone)]
pub struct CodeStep {
    /// The challenge the password step earned: single use, short-lived,
    /// and as good as the password until then (its `Debug` hides it).
    pub mfa_token: Secret,
    pub recovery: bool,
    pub form: Form<CodeField, CodeButton>,
}

impl CodeStep {
    fn new(mfa_token: Secret, recovery: bool) -> CodeStep {
        let form = if recovery {
            Form::new(
                &[CodeField::RecoveryCode],
                &[CodeButton::SignIn, CodeButton::UseAppCode],
            )
        } else {
            Form::new(
                &[CodeField::Code],
                &[CodeButton::SignIn, CodeButton::UseRecoveryCode],
            )
        };
        CodeStep {
            mfa_token,
            recovery,
            form,
        }
    }

    fn field(&self) -> CodeField {
        if self.recovery {
            CodeField::RecoveryCode
        } else {
            CodeField::Code
        }
    }

    fn typed(&self) -> &str {
        self.form.value(self.field()).trim()
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
    /// Sign in with `email` filled in (the last user's, or the one typed on
    /// the screen left): the password is next.
    pub fn with_email(email: &str) -> SignIn {
        let mut sign_in = SignIn::default();
        if !email.is_empty() {
            sign_in.form.set_value(SignInField::Email, email);
            sign_in.form.focus_field(SignInField::Password);
        }
        sign_in
    }

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

    fn back_to_password(&mut self) {
        self.code = None;
        self.form.focus_field(SignInField::Password);
    }
}

impl Default for SignIn {
    fn default() -> SignIn {
        SignIn {
            form: Form::new(
                &[SignInField::Email, SignInField::Password],
                &[
                    SignInButton::SignIn,
                    SignInButton::SignUp,
                    SignInButton::Forgot,
                    SignInButton::Reset,
                ],
            ),
            code: None,
            sign_up_draft: None,
        }
    }
}

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Some(state) = app.state::<SignIn>() else {
        return Vec::new();
    };
    if state.code.is_some() {
        return on_code_key(app, key);
    }
    let action = state.form.on_key(key);
    // Whatever email was typed here is probably the one to go on with.
    let email = state.form.value(SignInField::Email).to_owned();
    match action {
        Some(Action::Submit | Action::Press(SignInButton::SignIn)) => submit(app),
        Some(Action::Press(SignInButton::SignUp)) => {
            let sign_up = match state.sign_up_draft.take() {
                Some(draft) => draft.again(&email),
                None => SignUp::with_email(&email),
            };
            app.go(Screen::SignUp(sign_up));
            Vec::new()
        }
        Some(Action::Press(SignInButton::Forgot)) => {
            app.go(Screen::Forgot(Forgot::with_email(&email)));
            Vec::new()
        }
        Some(Action::Press(SignInButton::Reset)) => {
            app.go(Screen::Reset(Reset::with_email(&email)));
            Vec::new()
        }
        Some(Action::Back) => {
            app.note = None;
            Vec::new()
        }
        None => Vec::new(),
    }
}

fn submit(app: &mut App) -> Vec<Command> {
    let Some(state) = app.state::<SignIn>() else {
        return Vec::new();
    };
    let form = &mut state.form;
    form.clear_errors();
    let command = Command::SignIn {
        email: form.value(SignInField::Email).trim().to_owned(),
        password: Secret::new(form.value(SignInField::Password)),
    };
    app.start("Signing in", command)
}

/// On to the account, by either step.
fn welcome(app: &mut App, user: User) -> Vec<Command> {
    let greeting = format!("Signed in as {} {}.", user.first_name, user.last_name);
    app.signed_in(user, greeting)
}

/// A success signs in wherever the user went meanwhile (the session is
/// real); a refusal is for the Sign in screen only.
pub fn on_signed_in(app: &mut App, result: Result<User, ClientError>) -> Vec<Command> {
    app.busy = None;
    let error = match result {
        Ok(user) => return welcome(app, user),
        Err(error) => error,
    };
    let Some(state) = app.state::<SignIn>() else {
        return Vec::new();
    };
    let note = match state.form.apply_field_errors(&error) {
        Some(unmatched) if unmatched.is_empty() => None,
        Some(unmatched) => Some(unmatched.join(" ")),
        // Wrong email or password: say it on the message line and let the
        // user fix the password.
        None => {
            state.form.focus_field(SignInField::Password);
            Some(describe(&error))
        }
    };
    if let Some(note) = note {
        app.error(note);
    }
    Vec::new()
}

/// The password was right; the account asks for a second factor. The
/// password is not needed any more: forgotten.
pub fn on_code_required(app: &mut App, mfa_token: Secret) -> Vec<Command> {
    app.busy = None;
    let Some(state) = app.state::<SignIn>() else {
        return Vec::new();
    };
    state.form.clear_secrets();
    state.code = Some(CodeStep::new(mfa_token, false));
    app.note = None;
    Vec::new()
}

fn on_code_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Some(state) = app.state::<SignIn>() else {
        return Vec::new();
    };
    let Some(step) = &mut state.code else {
        return Vec::new();
    };
    match step.form.on_key(key) {
        Some(Action::Submit | Action::Press(CodeButton::SignIn)) => submit_code(app),
        Some(Action::Press(CodeButton::UseRecoveryCode | CodeButton::UseAppCode)) => {
            // The same challenge, the other kind of code.
            *step = CodeStep::new(step.mfa_token.clone(), !step.recovery);
            Vec::new()
        }
        Some(Action::Back) => {
            state.back_to_password();
            app.note = None;
            Vec::new()
        }
        None => Vec::new(),
    }
}

fn submit_code(app: &mut App) -> Vec<Command> {
    let Some(step) = app.state::<SignIn>().and_then(|state| state.code.as_mut()) else {
        return Vec::new();
    };
    step.form.clear_errors();
    if step.typed().is_empty() {
        let what = if step.recovery {
            "Type one of your recovery codes"
        } else {
            "Type the code your authenticator app shows"
        };
        step.form.set_error(step.field(), what);
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
        Ok(user) => return welcome(app, user),
        Err(error) => error,
    };
    let Some(state) = app.state::<SignIn>() else {
        return Vec::new();
    };
    match error.server_code() {
        // The challenge was used, or outlived its minutes: the password
        // step earns a new one.
        Some(ErrorCode::InvalidMfaToken) => {
            state.back_to_password();
            app.error("The code step expired or was already used: type your password again.");
        }
        // Wrong, used or of another time: said on the field, typed again.
        Some(ErrorCode::InvalidCode) => {
            if let Some(step) = &mut state.code {
                step.form.retype(step.field(), describe(&error));
            }
        }
        // Throttled (the wait is in the message), the server away.
        _ => {
            let note = match &mut state.code {
                Some(step) => step.form.take_error(&error),
                None => Some(describe(&error)),
            };
            if let Some(note) = note {
                app.error(note);
            }
        }
    }
    Vec::new()
}

pub fn hints(state: &SignIn, app: &App) -> Vec<Hint> {
    let esc = state.code.as_ref().map(|_| "back to the password");
    view::form_hints(app, "select", esc)
}

pub fn view(state: &SignIn, app: &App, frame: &mut Frame, area: Rect) {
    if let Some(step) = &state.code {
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
        &state.form,
        view::cursor_allowed(app),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::ScreenId;
    use crate::tui::app::{update, Message, NoteKind};
    use crate::tui::forgot::ForgotField;
    use crate::tui::testing::*;
    use crossterm::event::KeyCode;
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
        assert_eq!(
            app.sign_in().form.value(SignInField::Password),
            "correct horse!"
        );
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
        assert_eq!(app.screen.id(), ScreenId::Account);
        assert_eq!(
            app.note.as_ref().unwrap().text,
            "Signed in as Ada Lovelace."
        );
        assert_eq!(
            app.account().user.as_ref().unwrap().email,
            "ada@example.com"
        );
        // The Sign in screen went, the password with it: signed out, the
        // form has the email and no password.
        app.session_ended("test");
        assert_eq!(app.sign_in().form.value(SignInField::Password), "");
        assert_eq!(
            app.sign_in().form.value(SignInField::Email),
            "ada@example.com"
        );
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
        assert_eq!(app.screen.id(), ScreenId::SignIn);
        assert!(app.busy.is_none());
        let note = app.note.clone().unwrap();
        assert_eq!(note.kind, NoteKind::Error);
        assert_eq!(note.text, "Incorrect email or password");
        assert!(app.sign_in().form.is_focused(SignInField::Password));
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
        assert_eq!(
            app.sign_in().form.error(SignInField::Email),
            Some("Email is required")
        );
        assert_eq!(
            app.sign_in().form.error(SignInField::Password),
            Some("Password is required")
        );
        assert!(app.note.is_none());
    }

    #[test]
    fn the_buttons_lead_to_the_other_screens() {
        for (button, screen) in [
            (SignInButton::SignUp, ScreenId::SignUp),
            (SignInButton::Forgot, ScreenId::Forgot),
            (SignInButton::Reset, ScreenId::Reset),
        ] {
            let mut app = signed_out_app();
            type_text(&mut app, "ada@example.com");
            app.sign_in_mut().form.focus_button(button);
            assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
            assert_eq!(app.screen.id(), screen);
        }
        // The email typed here follows to Sign up and Forgot password.
        let mut app = signed_out_app();
        type_text(&mut app, "ada@example.com");
        app.sign_in_mut().form.focus_button(SignInButton::Forgot);
        update(&mut app, key(KeyCode::Enter));
        assert_eq!(
            app.forgot().form.value(ForgotField::Email),
            "ada@example.com"
        );
    }

    #[test]
    fn the_sign_in_button_submits_too() {
        let mut app = signed_out_app();
        fill(&mut app);
        app.sign_in_mut().form.focus_button(SignInButton::SignIn);
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
        assert_eq!(app.screen.id(), ScreenId::SignIn);
        // The password is forgotten: the challenge stands for it now.
        assert_eq!(app.sign_in().form.value(SignInField::Password), "");
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "Two-factor sign-in is on for this account.");
        assert_contains(&screen, "Type the code from your authenticator app.");
        assert_contains(&screen, "Use a recovery code instead");
        assert_contains(&screen, "Esc back to the password");
        assert!(app.typing());
        // An empty code is caught here.
        assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
        assert!(app.sign_in().code.as_ref().unwrap().form.has_errors());
        type_text(&mut app, " 123456 ");
        assert_eq!(
            update(&mut app, key(KeyCode::Enter)),
            code_command(SecondFactor::Code("123456".into()))
        );
        assert_eq!(app.busy.as_ref().unwrap().label, "Checking the code");
        let commands = update(&mut app, Message::SecondFactorChecked(Ok(ada())));
        assert_eq!(commands, vec![Command::LoadAccount]);
        assert_eq!(app.screen.id(), ScreenId::Account);
        app.session_ended("test");
        assert!(app.sign_in().code.is_none());
    }

    #[test]
    fn a_recovery_code_can_be_used_instead() {
        let mut app = code_step();
        app.sign_in_mut()
            .code
            .as_mut()
            .unwrap()
            .form
            .focus_button(CodeButton::UseRecoveryCode);
        update(&mut app, key(KeyCode::Enter));
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "Type one of your recovery codes");
        assert_contains(&screen, "Recovery code");
        assert_contains(&screen, "Use a code from the app instead");
        assert!(app
            .sign_in()
            .code
            .as_ref()
            .unwrap()
            .form
            .is_focused(CodeField::RecoveryCode));
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
        let step = app.sign_in().code.as_ref().expect("still on the code step");
        assert_eq!(
            step.form.error(CodeField::Code),
            Some("The code is not valid.")
        );
        assert_eq!(step.form.value(CodeField::Code), "");
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
        assert!(app.sign_in().code.is_none());
        assert!(app.sign_in().form.is_focused(SignInField::Password));
        assert_eq!(
            app.sign_in().form.value(SignInField::Email),
            "ada@example.com "
        );
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
        assert!(app.sign_in().code.is_some());
        assert_contains(&render(&app, 80, 24), "try again in 60 seconds");
    }

    #[test]
    fn esc_on_the_code_step_returns_to_the_password() {
        let mut app = code_step();
        update(&mut app, key(KeyCode::Esc));
        assert!(app.sign_in().code.is_none());
        assert!(app.sign_in().form.is_focused(SignInField::Password));
        assert_contains(&render(&app, 80, 24), "Sign in to your gatepass account.");
    }

    #[test]
    fn the_challenge_never_shows_in_debug_output() {
        let app = code_step();
        let debug = format!("{:?}", app.sign_in());
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
