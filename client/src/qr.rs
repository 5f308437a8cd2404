//! The enrolment QR code, drawn in the terminal with half blocks (`▀ ▄ █`,
//! two modules a character cell), with its quiet zone, so an authenticator
//! app can scan it from an ordinary 80x24 terminal: an `otpauth://` URI of a
//! usual length is a version 5 code: 45 columns and 23 lines with the
//! standard four-module quiet zone. A longer one (version 6, a longer
//! address) gets a two-module quiet zone to stay within 23 lines.
//!
//! The light modules are drawn as ink (the blocks) and the dark ones as the
//! background, as `qrencode -t UTF8` does: on a dark terminal, the usual
//! kind, the code comes out dark on light as a scanner expects.

use qrcode::render::unicode::Dense1x2;
use qrcode::render::Renderer;
use qrcode::{EcLevel, QrCode};

use crate::error::{ClientError, Result};

/// A drawn QR code: its lines, and its size in character cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drawing {
    pub lines: Vec<String>,
    /// Columns (characters per line).
    pub width: usize,
    /// Lines.
    pub height: usize,
}

impl Drawing {
    /// Whether it fits in a `columns` x `rows` area.
    pub fn fits(&self, columns: usize, rows: usize) -> bool {
        self.width <= columns && self.height <= rows
    }
}

/// The quiet zone the standard asks for, in modules.
pub const QUIET_ZONE: u32 = 4;
/// The narrower quiet zone [`draw_to_fit`] falls back to: phones read a
/// code on a screen with it.
pub const NARROW_QUIET_ZONE: u32 = 2;

/// Draws `data` (an `otpauth://` URI) as the smallest QR code that holds it
/// (error correction L: a screen is not a crumpled label), with the
/// standard quiet zone.
pub fn draw(data: &str) -> Result<Drawing> {
    draw_with_quiet_zone(data, QUIET_ZONE)
}

/// The drawing that fits `columns` x `rows`: with the standard quiet zone
/// if it fits, else with the narrow one (so an address of up to about 50
/// characters fits 80x23); `None` when neither fits (say so, and show the
/// secret for typing in by hand).
pub fn draw_to_fit(data: &str, columns: usize, rows: usize) -> Result<Option<Drawing>> {
    for quiet_zone in [QUIET_ZONE, NARROW_QUIET_ZONE] {
        let drawing = draw_with_quiet_zone(data, quiet_zone)?;
        if drawing.fits(columns, rows) {
            return Ok(Some(drawing));
        }
    }
    Ok(None)
}

fn draw_with_quiet_zone(data: &str, quiet_zone: u32) -> Result<Drawing> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::L)
        .map_err(|e| ClientError::Protocol(format!("cannot draw the QR code: {e}")))?;
    let colors = code.to_colors();
    let text = Renderer::<Dense1x2>::new(&colors, code.width(), quiet_zone)
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build();
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let height = lines.len();
    Ok(Drawing {
        lines,
        width,
        height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the server hands out (`tests/tests/second_factor.rs`): a
    /// 20-byte secret in base32, the address percent-encoded.
    const URI: &str = "otpauth://totp/gatepass:ada.lovelace%40example.com?secret=\
                       JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=gatepass";

    #[test]
    fn a_usual_otpauth_uri_fits_an_80x24_terminal_with_a_line_to_spare() {
        let drawing = draw(URI).unwrap();
        assert!(drawing.fits(80, 23), "{}x{}", drawing.width, drawing.height);
        // Square: every line as wide as the code and its quiet zone.
        assert!(drawing
            .lines
            .iter()
            .all(|l| l.chars().count() == drawing.width));
        let modules = QrCode::with_error_correction_level(URI, EcLevel::L)
            .unwrap()
            .width();
        assert_eq!(drawing.width, modules + 8, "a four-module quiet zone");
        assert_eq!(
            drawing.height,
            (modules + 8).div_ceil(2),
            "two modules a line"
        );
    }

    #[test]
    fn a_longer_address_fits_with_the_narrow_quiet_zone() {
        let long = URI.replace("ada.lovelace", "augusta.ada.king.countess.lovelace");
        let standard = draw(&long).unwrap();
        assert!(
            !standard.fits(80, 23),
            "{}x{}",
            standard.width,
            standard.height
        );
        let fitted = draw_to_fit(&long, 80, 23).unwrap().expect("fits");
        assert_eq!(
            fitted,
            draw_with_quiet_zone(&long, NARROW_QUIET_ZONE).unwrap()
        );
        assert!(fitted.fits(80, 23), "{}x{}", fitted.width, fitted.height);
        // The usual one keeps the standard quiet zone.
        assert_eq!(draw_to_fit(URI, 80, 23).unwrap(), Some(draw(URI).unwrap()));
        // Too small for either: none.
        assert_eq!(draw_to_fit(URI, 40, 20).unwrap(), None);
    }

    #[test]
    fn it_is_drawn_with_half_blocks_and_a_blank_quiet_zone() {
        let drawing = draw(URI).unwrap();
        let text = drawing.lines.concat();
        assert!(text.contains('▀') && text.contains('▄'), "{text}");
        assert!(
            text.chars().all(|c| matches!(c, ' ' | '▀' | '▄' | '█')),
            "only half blocks, full blocks and spaces"
        );
        // The quiet zone (light) is drawn as ink: the first line (two
        // module rows of it) is all full blocks.
        assert!(
            drawing.lines[0].chars().all(|c| c == '█'),
            "{}",
            drawing.lines[0]
        );
        // The top-left finder pattern from module (4, 4): the third line
        // holds module rows 4 (its dark top edge) and 5 (dark, five light,
        // dark), after four cells of quiet zone.
        let third: Vec<char> = drawing.lines[2].chars().collect();
        assert_eq!(&third[..4], &['█'; 4]);
        assert_eq!(
            &third[4..11],
            &[' ', '▄', '▄', '▄', '▄', '▄', ' '],
            "{}",
            drawing.lines[2]
        );
    }

    #[test]
    fn the_modules_are_those_of_the_code() {
        for quiet_zone in [QUIET_ZONE, NARROW_QUIET_ZONE] {
            read_back(quiet_zone);
        }
    }

    /// Reads the drawing back into modules and compares them with the
    /// crate's own, and the quiet zone with light modules.
    fn read_back(quiet_zone: u32) {
        let code = QrCode::with_error_correction_level(URI, EcLevel::L).unwrap();
        let modules = code.width();
        let colors = code.to_colors();
        let drawing = draw_with_quiet_zone(URI, quiet_zone).unwrap();
        let qz = quiet_zone as usize;
        let size = modules + 2 * qz;
        assert_eq!(drawing.width, size);
        assert_eq!(drawing.height, size.div_ceil(2));
        let mut read = vec![vec![false; size]; drawing.height * 2];
        for (row, line) in drawing.lines.iter().enumerate() {
            for (column, cell) in line.chars().enumerate() {
                // Ink is a light module.
                let (top, bottom) = match cell {
                    '█' => (true, true),
                    '▀' => (true, false),
                    '▄' => (false, true),
                    _ => (false, false),
                };
                read[row * 2][column] = top;
                read[row * 2 + 1][column] = bottom;
            }
        }
        for y in 0..size {
            for x in 0..size {
                let inside = (qz..qz + modules).contains(&x) && (qz..qz + modules).contains(&y);
                let dark = inside && colors[(y - qz) * modules + (x - qz)] == qrcode::Color::Dark;
                assert_eq!(read[y][x], !dark, "module ({x}, {y}), quiet zone {qz}");
            }
        }
    }
}
