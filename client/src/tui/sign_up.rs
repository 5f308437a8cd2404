//! Sign up: name, email, password twice. The server checks everything
//! (including that the passwords match) and its messages land under the
//! fields.

use crossterm::event::KeyEvent;
use gatepass_common::User;
use ratatui::layout::Rect;
use ratatui::Frame;

use super::app::{App, Command, Screen, Secret};
use super::form::{buttons, fields, Action, Form};
use super::sign_in::SignIn;
use super::view::{self, Hint};
use crate::error::ClientError;

fields! {
    pub enum SignUpField {
        FirstName = ("First name", "firstName"),
        LastName = ("Last name", "lastName"),
        Email = ("Email", "email"),
        Password = ("Password", "password", masked),
        Confirm = ("Confirm", "passwordConfirm", masked),
    }
}

buttons! {
    pub enum SignUpButton {
        Create = "Create the account",
        Back = "Back to sign in",
    }
}

#[derive(Debug, Clone)]
pub struct SignUp {
    pub form: Form<SignUpField, SignUpButton>,
}

impl Default for SignUp {
    fn default() -> SignUp {
        use SignUpField::*;
        SignUp {
            form: Form::new(
                &[FirstName, LastName, Email, Password, Confirm],
                &[SignUpButton::Create, SignUpButton::Back],
            ),
        }
    }
}

impl SignUp {
    /// From Sign in, with the email typed there.
    pub fn with_email(email: &str) -> SignUp {
        let mut sign_up = SignUp::default();
        sign_up.form.set_value(SignUpField::Email, email);
        sign_up
    }

    /// Left for Sign in: what stays for the way back. The passwords go,
    /// so they are not kept in memory behind another screen.
    fn draft(&self) -> SignUp {
        let mut draft = SignUp::default();
        for id in [SignUpField::FirstName, SignUpField::LastName] {
            draft.form.set_value(id, self.form.value(id));
        }
        draft
    }

    /// Back from Sign in with `email`, the names as they were.
    pub fn again(mut self, email: &str) -> SignUp {
        self.form.set_value(SignUpField::Email, email);
        self
    }
}

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Some(state) = app.state::<SignUp>() else {
        return Vec::new();
    };
    match state.form.on_key(key) {
        Some(Action::Submit | Action::Press(SignUpButton::Create)) => submit(app),
        Some(Action::Press(SignUpButton::Back) | Action::Back) => {
            let email = state.form.value(SignUpField::Email).to_owned();
            let mut sign_in = SignIn::with_email(&email);
            sign_in.sign_up_draft = Some(state.draft());
            app.go(Screen::SignIn(sign_in));
            Vec::new()
        }
        None => Vec::new(),
    }
}

fn submit(app: &mut App) -> Vec<Command> {
    let Some(state) = app.state::<SignUp>() else {
        return Vec::new();
    };
    let form = &mut state.form;
    form.clear_errors();
    let value = |id| form.value(id).trim().to_owned();
    let command = Command::SignUp {
        first_name: value(SignUpField::FirstName),
        last_name: value(SignUpField::LastName),
        email: value(SignUpField::Email),
        password: Secret::new(form.value(SignUpField::Password)),
        confirm: Secret::new(form.value(SignUpField::Confirm)),
    };
    app.start("Creating your account", command)
}

/// A success signs in wherever the user went meanwhile (the account
/// exists); a refusal is for the Sign up screen only.
pub fn on_signed_up(app: &mut App, result: Result<User, ClientError>) -> Vec<Command> {
    app.busy = None;
    match result {
        Ok(user) => {
            let greeting = format!("Welcome, {}! Your account is ready.", user.first_name);
            app.signed_in(user, greeting)
        }
        Err(error) => {
            if let Some(note) = app
                .state::<SignUp>()
                .and_then(|state| state.form.take_error(&error))
            {
                app.error(note);
            }
            Vec::new()
        }
    }
}

pub fn hints(app: &App) -> Vec<Hint> {
    view::form_hints(app, "create", Some("back"))
}

pub fn view(state: &SignUp, app: &App, frame: &mut Frame, area: Rect) {
    view::form_screen(
        frame,
        area,
        &["Create a gatepass account. Passwords: at least 8 characters."],
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

    fn sign_up_app() -> App {
        let mut app = signed_out_app();
        app.go(Screen::SignUp(SignUp::default()));
        app
    }

    fn fill(app: &mut App) {
        for (i, text) in ["Ada", "Lovelace", "ada@example.com", "pw-one-1", "pw-two-2"]
            .iter()
            .enumerate()
        {
            if i > 0 {
                update(app, key(KeyCode::Tab));
            }
            type_text(app, text);
        }
    }

    #[test]
    fn enter_sends_every_field() {
        let mut app = sign_up_app();
        fill(&mut app);
        let commands = update(&mut app, key(KeyCode::Enter));
        assert_eq!(
            commands,
            vec![Command::SignUp {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                email: "ada@example.com".into(),
                password: Secret::new("pw-one-1"),
                confirm: Secret::new("pw-two-2"),
            }]
        );
        assert_eq!(app.busy.as_ref().unwrap().label, "Creating your account");
    }

    #[test]
    fn the_servers_messages_land_under_their_fields() {
        let mut app = sign_up_app();
        fill(&mut app);
        update(&mut app, key(KeyCode::Enter));
        let error = validation(&[
            ("email", "Email is already in use"),
            ("passwordConfirm", "Passwords do not match"),
        ]);
        assert!(update(&mut app, Message::SignedUp(Err(error))).is_empty());
        assert_eq!(app.screen.id(), ScreenId::SignUp);
        let form = &app.sign_up().form;
        assert_eq!(
            form.error(SignUpField::Email),
            Some("Email is already in use")
        );
        assert_eq!(
            form.error(SignUpField::Confirm),
            Some("Passwords do not match")
        );
        assert!(form.is_focused(SignUpField::Email));
        // Fixing a field clears its message only.
        type_text(&mut app, "x");
        assert_eq!(app.sign_up().form.error(SignUpField::Email), None);
        assert!(app.sign_up().form.error(SignUpField::Confirm).is_some());
    }

    #[test]
    fn success_opens_the_account_and_empties_the_form() {
        let mut app = sign_up_app();
        fill(&mut app);
        update(&mut app, key(KeyCode::Enter));
        let commands = update(&mut app, Message::SignedUp(Ok(ada())));
        assert_eq!(commands, vec![Command::LoadAccount]);
        assert_eq!(app.screen.id(), ScreenId::Account);
        assert!(app.note.as_ref().unwrap().text.contains("Welcome, Ada!"));
        // The Sign up screen went with what was typed: signed out and back
        // on Sign up, the form is empty but for the last email.
        app.session_ended("test");
        app.sign_in_mut().form.focus_button(SignInButton::SignUp);
        update(&mut app, key(KeyCode::Enter));
        assert_eq!(app.sign_up().form.value(SignUpField::Password), "");
        assert_eq!(app.sign_up().form.value(SignUpField::FirstName), "");
    }

    #[test]
    fn esc_and_the_back_button_return_to_sign_in() {
        let mut app = sign_up_app();
        update(&mut app, key(KeyCode::Esc));
        assert_eq!(app.screen.id(), ScreenId::SignIn);
        let mut app = sign_up_app();
        app.sign_up_mut().form.focus_button(SignUpButton::Back);
        update(&mut app, key(KeyCode::Enter));
        assert_eq!(app.screen.id(), ScreenId::SignIn);
    }

    #[test]
    fn the_names_wait_on_sign_in_and_the_passwords_do_not() {
        let mut app = sign_up_app();
        fill(&mut app);
        update(&mut app, key(KeyCode::Esc));
        assert_eq!(
            app.sign_in().form.value(SignInField::Email),
            "ada@example.com"
        );
        let draft = &app.sign_in().sign_up_draft.as_ref().expect("a draft").form;
        assert_eq!(draft.value(SignUpField::Password), "");
        assert_eq!(draft.value(SignUpField::Confirm), "");
        // A corrected email on Sign in goes back with the names.
        app.sign_in_mut()
            .form
            .set_value(SignInField::Email, "ada@example.org");
        app.sign_in_mut().form.focus_button(SignInButton::SignUp);
        update(&mut app, key(KeyCode::Enter));
        let form = &app.sign_up().form;
        assert_eq!(form.value(SignUpField::FirstName), "Ada");
        assert_eq!(form.value(SignUpField::LastName), "Lovelace");
        assert_eq!(form.value(SignUpField::Email), "ada@example.org");
        assert_eq!(form.value(SignUpField::Password), "");
        assert_eq!(form.value(SignUpField::Confirm), "");
    }

    #[test]
    fn an_unreachable_server_is_named() {
        let mut app = sign_up_app();
        fill(&mut app);
        update(&mut app, key(KeyCode::Enter));
        update(&mut app, Message::SignedUp(Err(unreachable())));
        let screen = render(&app, 80, 24);
        assert_contains(&screen, &format!("Server unreachable at {SERVER}"));
    }

    #[test]
    fn it_renders_every_field_and_its_error_at_80x24() {
        let mut app = sign_up_app();
        fill(&mut app);
        update(&mut app, key(KeyCode::Enter));
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "⠋ Creating your account…");
        update(
            &mut app,
            Message::SignedUp(Err(validation(&[
                ("firstName", "First name is required"),
                ("lastName", "Last name is required"),
                ("email", "Email is invalid"),
                ("password", "Password is too common"),
                ("passwordConfirm", "Passwords do not match"),
            ]))),
        );
        let screen = render(&app, 80, 24);
        for text in [
            "First name",
            "Last name",
            "Confirm",
            "✗ First name is required",
            "✗ Last name is required",
            "✗ Email is invalid",
            "✗ Password is too common",
            "✗ Passwords do not match",
            "Create the account",
            "Back to sign in",
            "Esc back",
            "Ctrl-C quit",
            SERVER,
        ] {
            assert_contains(&screen, text);
        }
        assert!(!screen.contains("pw-one-1"), "{screen}");
    }

    /// Every line of `screen` joined, its box borders and indentation gone:
    /// a wrapped message reads as one sentence again.
    fn unwrapped(screen: &str) -> String {
        screen
            .lines()
            .map(|line| line.trim_matches(|c: char| c == '│' || c.is_whitespace()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn the_password_advice_wraps_under_its_field_at_100_columns() {
        let advice = "This is similar to a commonly used password. Add another word or two. \
                      Uncommon words are better. Avoid sequences like abc or 6543.";
        let mut app = sign_up_app();
        fill(&mut app);
        update(&mut app, key(KeyCode::Enter));
        update(
            &mut app,
            Message::SignedUp(Err(validation(&[
                ("password", advice),
                ("passwordConfirm", "Passwords do not match"),
            ]))),
        );
        let screen = render(&app, 100, 30);
        // Whole: every word, in order, on rows of its own under the field.
        let error_rows: Vec<&str> = screen
            .lines()
            .filter(|line| {
                ["similar", "Uncommon", "Avoid", "abc"]
                    .iter()
                    .any(|word| line.contains(word))
            })
            .collect();
        assert!(error_rows.len() >= 2, "{screen}");
        assert_contains(
            &unwrapped(&screen),
            &format!(
                "✗ {}",
                advice.split_whitespace().collect::<Vec<_>>().join(" ")
            ),
        );
        // The fields and buttons below still show.
        for text in [
            "✗ Passwords do not match",
            "Create the account",
            "Back to sign in",
        ] {
            assert_contains(&screen, text);
        }
    }
}
