//! Colours on or off. The screens pick colours for emphasis, but every
//! meaning also has a mark or a modifier (›, ✗, bold, reversed,
//! underlined), so with `NO_COLOR` set the app drops the colours in this
//! one place, after drawing, and keeps the rest.
//! See <https://no-color.org>: any non-empty value turns colours off.

use std::ffi::OsStr;

use ratatui::buffer::Buffer;
use ratatui::style::Color;

/// Whether to draw in colour, given the value of `NO_COLOR`.
pub fn colors_wanted(no_color: Option<&OsStr>) -> bool {
    !matches!(no_color, Some(value) if !value.is_empty())
}

/// Resets every cell's foreground and background colour, keeping its
/// text and modifiers.
pub fn strip_colors(buffer: &mut Buffer) {
    for cell in &mut buffer.content {
        cell.fg = Color::Reset;
        cell.bg = Color::Reset;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::testing::*;
    use crate::tui::view;
    use ratatui::backend::TestBackend;
    use ratatui::style::Modifier;
    use ratatui::Terminal;

    #[test]
    fn any_non_empty_no_color_turns_colours_off() {
        assert!(colors_wanted(None));
        assert!(colors_wanted(Some(OsStr::new(""))));
        for value in ["1", "0", "true", "no"] {
            assert!(!colors_wanted(Some(OsStr::new(value))), "{value}");
        }
    }

    fn draw(app: &crate::tui::App) -> Buffer {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("test terminal");
        terminal.draw(|frame| view(app, frame)).expect("draw");
        terminal.backend().buffer().clone()
    }

    fn colored(buffer: &Buffer) -> usize {
        buffer
            .content
            .iter()
            .filter(|cell| cell.fg != Color::Reset || cell.bg != Color::Reset)
            .count()
    }

    #[test]
    fn without_colours_no_cell_has_one_and_the_text_and_emphasis_stay() {
        let mut app = signed_out_app();
        app.error("Wrong email or password");
        let with = draw(&app);
        assert!(colored(&with) > 0, "the default draws in colour");

        app.colors = false;
        let without = draw(&app);
        assert_eq!(colored(&without), 0);
        // Same text; the focused field's emphasis is a modifier, still there.
        let text = |buffer: &Buffer| -> String {
            buffer.content.iter().map(|cell| cell.symbol()).collect()
        };
        assert_eq!(text(&with), text(&without));
        assert!(without
            .content
            .iter()
            .any(|cell| cell.modifier.contains(Modifier::BOLD)));
    }
}
