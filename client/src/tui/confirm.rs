//! A yes/no dialog in front of the actions that end sessions elsewhere or
//! revoke a personal access token.

use crossterm::event::{KeyCode, KeyEvent};
use gatepass_common::{PersonalToken, SessionInfo};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Padding, Paragraph};
use ratatui::Frame;

use super::app::{App, Command, Secret};
use super::status::shorten;
use super::two_factor;
use super::view::wrap_words;
use crate::display::escape;

/// The dialog's widest, with its border and padding.
const WIDTH: u16 = 60;
/// The longest token name the question quotes whole.
const NAME_CHARS: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmAction {
    SignOutAll,
    Revoke {
        id: String,
    },
    RevokeToken {
        id: String,
    },
    /// Two-factor sign-in off, with what the panel's form holds.
    TurnOffTwoFactor {
        password: Secret,
        code: Secret,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub question: String,
    pub detail: String,
    pub action: ConfirmAction,
}

impl Confirm {
    pub fn sign_out_all(email: &str) -> Confirm {
        Confirm {
            question: "Sign out of every device?".to_owned(),
            detail: format!(
                "This ends every session of {email}, here and on every other device. \
                 Each will have to sign in again. Personal access tokens are not revoked: \
                 press t to see them."
            ),
            action: ConfirmAction::SignOutAll,
        }
    }

    pub fn revoke(session: &SessionInfo) -> Confirm {
        let short_id: String = session.id.chars().take(8).collect();
        Confirm {
            question: format!("End session {short_id}?"),
            detail: format!(
                "The device using it ({}) will have to sign in again.",
                session.user_agent.as_deref().unwrap_or("unknown client")
            ),
            action: ConfirmAction::Revoke {
                id: session.id.clone(),
            },
        }
    }

    pub fn revoke_token(token: &PersonalToken) -> Confirm {
        Confirm {
            question: format!("Revoke the token \"{}\"?", shorten(&token.name, NAME_CHARS)),
            detail: "Scripts and jobs using it stop working at once: its access tokens too."
                .to_owned(),
            action: ConfirmAction::RevokeToken {
                id: token.id.clone(),
            },
        }
    }
}

impl Confirm {
    pub fn turn_off_two_factor(password: Secret, code: Secret) -> Confirm {
        Confirm {
            question: "Turn off two-factor sign-in?".to_owned(),
            detail: "Signing in will take the password alone, and the recovery codes stop \
                     working."
                .to_owned(),
            action: ConfirmAction::TurnOffTwoFactor { password, code },
        }
    }
}

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    match key.code {
        KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
            let Some(confirm) = app.confirm.take() else {
                return Vec::new();
            };
            match confirm.action {
                ConfirmAction::SignOutAll => {
                    app.start("Signing out everywhere", Command::SignOut { all: true })
                }
                ConfirmAction::Revoke { id } => {
                    app.start("Ending the session", Command::Revoke { id })
                }
                ConfirmAction::RevokeToken { id } => {
                    app.start("Revoking the token", Command::RevokeToken { id })
                }
                ConfirmAction::TurnOffTwoFactor { password, code } => app.start(
                    "Turning two-factor sign-in off",
                    Command::TwoFactor(two_factor::Request::Disable { password, code }),
                ),
            }
        }
        KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
            app.confirm = None;
            Vec::new()
        }
        _ => Vec::new(),
    }
}

pub fn view(confirm: &Confirm, frame: &mut Frame) {
    // Wrapped here, so the dialog is as tall as its text.
    let width = WIDTH.min(frame.area().width).saturating_sub(4) as usize;
    let wrapped = |text: &str, style: Style| -> Vec<Line<'static>> {
        // Both can quote the server: an email, a session's user agent, a
        // token's name.
        wrap_words(&escape(text), width)
            .into_iter()
            .map(|line| Line::styled(line, style))
            .collect()
    };
    let mut text = wrapped(&confirm.question, Style::new().add_modifier(Modifier::BOLD));
    text.push(Line::from(""));
    text.extend(wrapped(&confirm.detail, Style::new()));
    text.push(Line::from(""));
    text.push(Line::styled(
        "y/Enter yes   n/Esc no",
        Style::new().fg(Color::Cyan),
    ));
    let area: Rect = frame.area().centered(
        Constraint::Max(WIDTH),
        Constraint::Length(text.len() as u16 + 2),
    );
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(text).block(
            Block::bordered()
                .padding(Padding::horizontal(1))
                .title(" Confirm ")
                .border_style(Style::new().fg(Color::Yellow)),
        ),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::update;
    use crate::tui::app::ScreenId;
    use crate::tui::testing::*;

    #[test]
    fn esc_cancels_and_other_keys_do_nothing() {
        let mut app = account_app();
        app.confirm = Some(Confirm::sign_out_all("ada@example.com"));
        assert!(update(&mut app, key(KeyCode::Char('s'))).is_empty());
        assert!(
            app.confirm.is_some(),
            "keys do not leak to the screen behind"
        );
        assert!(update(&mut app, key(KeyCode::Esc)).is_empty());
        assert!(app.confirm.is_none());
        assert_eq!(app.screen.id(), ScreenId::Account);
    }

    #[test]
    fn the_dialog_fits_80x24() {
        let mut app = account_app();
        app.confirm = Some(Confirm::sign_out_all("ada@example.com"));
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "Sign out of every device?");
        assert_contains(&screen, "This ends every session of ada@example.com,");
        assert_contains(
            &screen,
            "Personal access tokens are not revoked: press t to see",
        );
        assert_contains(&screen, "y/Enter yes   n/Esc no");
    }
}
