//! Strings from the server, made safe to show on a terminal.
//!
//! A name, an email, a message or a session's user agent comes from the
//! server, and so from whoever signed up or sent the request. Printed raw, a
//! control character can drive the terminal (ESC sequences move the cursor,
//! recolour or retitle the window), a bidi control can show text in another
//! order than it is stored (`\u{202e}` turns `gpj.exe` around), and a
//! zero-width character makes two different strings look the same. Human
//! output (the commands and the terminal app alike) shows every such
//! character as a visible escape, `\u{202e}`; JSON output stays exact.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as itself: C0 and C1 controls and
/// DEL, zero-width characters, bidi controls and marks, and the line and
/// paragraph separators.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Arabic letter mark (a bidi mark).
            '\u{061C}'
            // Zero width space, non-joiner, joiner; left-to-right and
            // right-to-left marks.
            | '\u{200B}'..='\u{200F}'
            // Line and paragraph separators.
            | '\u{2028}'..='\u{2029}'
            // Bidi embeddings and overrides (LRE, RLE, PDF, LRO, RLO).
            | '\u{202A}'..='\u{202E}'
            // Word joiner and the invisible operators.
            | '\u{2060}'..='\u{2064}'
            // Bidi isolates (LRI, RLI, FSI, PDI).
            | '\u{2066}'..='\u{2069}'
            // Zero width no-break space (the byte order mark).
            | '\u{FEFF}'
        )
}

/// `text` with every unsafe character written as `\u{..}` (lower-case hex,
/// Rust's notation). Borrows when there is nothing to escape, which is
/// nearly always.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for text in [
            "Ada Lovelace <ada@example.com>",
            "Zoë Ñúñez-Ø'Brien",
            "张伟",
            "محمد",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
            "emoji 🙂 and \\u{202e} typed out",
            "",
        ] {
            assert!(
                matches!(escape(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
    }

    #[test]
    fn controls_are_escaped() {
        assert_eq!(escape("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(escape("nul\0"), "nul\\u{0}");
        assert_eq!(escape("two\nlines\r"), "two\\u{a}lines\\u{d}");
        assert_eq!(escape("tab\t"), "tab\\u{9}");
        assert_eq!(escape("del\u{7f}"), "del\\u{7f}");
        // C1: the 8-bit CSI and the end of the C1 range.
        assert_eq!(escape("\u{9b}2J\u{9f}"), "\\u{9b}2J\\u{9f}");
    }

    #[test]
    fn bidi_and_invisible_characters_are_escaped() {
        for (c, escaped) in [
            ('\u{200B}', "\\u{200b}"),
            ('\u{200C}', "\\u{200c}"),
            ('\u{200D}', "\\u{200d}"),
            ('\u{200E}', "\\u{200e}"),
            ('\u{200F}', "\\u{200f}"),
            ('\u{2060}', "\\u{2060}"),
            ('\u{FEFF}', "\\u{feff}"),
            ('\u{202A}', "\\u{202a}"),
            ('\u{202E}', "\\u{202e}"),
            ('\u{2066}', "\\u{2066}"),
            ('\u{2069}', "\\u{2069}"),
            ('\u{2028}', "\\u{2028}"),
            ('\u{2029}', "\\u{2029}"),
            ('\u{061C}', "\\u{61c}"),
        ] {
            assert_eq!(escape(&format!("a{c}b")), format!("a{escaped}b"));
        }
        assert_eq!(
            escape("ad\u{200b}min \u{202e}gpj.exe"),
            "ad\\u{200b}min \\u{202e}gpj.exe"
        );
    }

    #[test]
    fn neighbours_of_the_ranges_stay() {
        // Just outside each range: ordinary (if rare) characters.
        for c in [
            '\u{A0}', '\u{200A}', '\u{2010}', '\u{2027}', '\u{202F}', '\u{2065}', '\u{206A}',
            '\u{FEFE}', '\u{FF00}',
        ] {
            let text = format!("a{c}b");
            assert_eq!(escape(&text), text.as_str(), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn escaped_text_holds_nothing_unsafe() {
        let nasty: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        assert!(!escape(&nasty).chars().any(is_unsafe));
    }
}
