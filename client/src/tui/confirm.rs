//! A yes/no dialog in front of the actions that end sessions elsewhere.

use crossterm::event::{KeyCode, KeyEvent};
use gatepass_common::SessionInfo;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Padding, Paragraph, Wrap};
use ratatui::Frame;

use super::app::{App, Command, Secret};
use super::two_factor;
use crate::display::escape;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmAction {
    SignOutAll,
    Revoke {
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
                 Each will have to sign in again."
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
    let area: Rect = frame
        .area()
        .centered(Constraint::Max(60), Constraint::Length(9));
    let text = vec![
        // Both can quote the server: an email, a session's user agent.
        Line::styled(
            escape(&confirm.question).into_owned(),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Line::from(""),
        Line::from(escape(&confirm.detail).into_owned()),
        Line::from(""),
        Line::styled("y/Enter yes   n/Esc no", Style::new().fg(Color::Cyan)),
    ];
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: true }).block(
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
    use crate::tui::app::{update, Screen};
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
        assert_eq!(app.screen, Screen::Account);
    }

    #[test]
    fn the_dialog_fits_80x24() {
        let mut app = account_app();
        app.confirm = Some(Confirm::sign_out_all("ada@example.com"));
        let screen = render(&app, 80, 24);
        assert_contains(&screen, "Sign out of every device?");
        assert_contains(&screen, "This ends every session of ada@example.com,");
        assert_contains(&screen, "y/Enter yes   n/Esc no");
    }
}
