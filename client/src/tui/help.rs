//! The help overlay: every key of the current screen, and the global ones.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Constraint;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::app::{App, ScreenId};

/// Any of these closes the help.
pub fn on_key(app: &mut App, key: KeyEvent) {
    if matches!(
        key.code,
        KeyCode::Esc | KeyCode::Enter | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::F(1)
    ) {
        app.help = false;
    }
}

/// The key table of a screen: (keys, what they do).
pub fn keys(screen: ScreenId) -> Vec<(&'static str, &'static str)> {
    let form = vec![
        ("Tab, Down", "next field or button"),
        ("Shift-Tab, Up", "previous field or button"),
        ("Enter", "submit the form, or press the button"),
        ("Left/Right", "move the cursor in the text"),
        ("Home/End", "start or end of the text (Ctrl-A, Ctrl-E)"),
        ("Backspace, Delete", "delete before or after the cursor"),
        ("Ctrl-W", "delete a word (Alt-Backspace too)"),
        ("Ctrl-U", "clear the field"),
    ];
    let mut keys = match screen {
        ScreenId::Starting => Vec::new(),
        ScreenId::SignIn => form,
        ScreenId::SignUp | ScreenId::Forgot | ScreenId::Reset => {
            let mut keys = form;
            keys.push(("Esc", "back to Sign in"));
            keys
        }
        ScreenId::Account => vec![
            ("r", "reload the profile and sessions"),
            ("Up/Down, k/j", "select a session"),
            ("d, Delete", "end the selected session"),
            ("Tab, l", "look up a user by id (Esc: back)"),
            ("s", "sign out on this device"),
            ("a", "sign out of every device"),
            ("t", "personal access tokens (scripts, CI)"),
            ("2", "two-factor sign-in: state, turn on or off"),
            ("q", "quit"),
        ],
        ScreenId::TwoFactor => vec![
            ("e", "turn two-factor sign-in on (when off)"),
            ("c", "ten new recovery codes (when on)"),
            ("x", "turn two-factor sign-in off (when on)"),
            ("r", "reload the state"),
            ("Tab, Enter", "in a form: next field, continue"),
            ("Esc", "cancel the form; back to Account"),
            ("q", "quit"),
        ],
        ScreenId::Tokens => vec![
            ("r", "reload the tokens"),
            ("Up/Down, k/j", "select a token"),
            ("n", "make a new token"),
            ("d, Delete", "revoke the selected token"),
            ("Esc", "back to Account (and out of the form)"),
        ],
    };
    keys.push(("?, F1", "this help (in a text field, F1)"));
    keys.push(("Ctrl-C", "quit, from anywhere"));
    keys
}

pub fn view(app: &App, frame: &mut Frame) {
    let keys = keys(app.screen.id());
    let height = keys.len() as u16 + 4;
    let area = frame
        .area()
        .centered(Constraint::Max(64), Constraint::Length(height));
    let mut lines: Vec<Line> = keys
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!(" {keys:<18}"), Style::new().fg(Color::Cyan)),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::styled(
        " Esc closes this help.",
        Style::new().fg(Color::Gray),
    ));
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(" Keys ")
                .title_style(Style::new().add_modifier(Modifier::BOLD)),
        ),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::update;
    use crate::tui::testing::*;

    #[test]
    fn help_swallows_keys_until_closed() {
        let mut app = account_app();
        update(&mut app, key(KeyCode::Char('?')));
        assert!(app.help);
        // `s` does not sign out behind the overlay.
        assert!(update(&mut app, key(KeyCode::Char('s'))).is_empty());
        assert!(app.help);
        update(&mut app, key(KeyCode::Char('?')));
        assert!(!app.help);
    }

    #[test]
    fn every_screens_help_fits_80x24() {
        for screen in SCREENS {
            let mut app = account_app();
            app.screen = fresh_screen(&app, screen);
            app.help = true;
            let rendered = render(&app, 80, 24);
            assert_contains(&rendered, "Esc closes this help.");
            for (keys, what) in keys(screen) {
                assert_contains(&rendered, keys);
                assert_contains(&rendered, what);
            }
        }
    }
}
