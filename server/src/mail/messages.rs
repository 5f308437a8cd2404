//! The messages gatepass sends, each with a plain-text and an HTML part.

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::Message;

use super::MailError;

fn build(
    from: &str,
    to: &str,
    subject: &str,
    text: String,
    html: String,
) -> Result<Message, MailError> {
    let from: Mailbox = from.parse()?;
    let to: Mailbox = to.parse()?;
    Ok(Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html),
                ),
        )?)
}

/// The reset-password mail with its single-use link.
pub fn reset_link(
    from: &str,
    to: &str,
    link: &str,
    valid_minutes: u64,
) -> Result<Message, MailError> {
    let text = format!(
        "Someone (hopefully you) asked to reset the password of your account.\n\n\
         Open this link to choose a new password. It works once, for {valid_minutes} minutes:\n\n\
         {link}\n\n\
         If you did not ask for this, ignore this mail: your password stays as it is.\n"
    );
    let href = escape_html(link);
    let html = format!(
        "<!doctype html><html><body>\
         <p>Someone (hopefully you) asked to reset the password of your account.</p>\
         <p><a href=\"{href}\">Choose a new password</a> (the link works once, for {valid_minutes} minutes).</p>\
         <p>If the button does not work, paste this address into your browser:<br>{href}</p>\
         <p>If you did not ask for this, ignore this mail: your password stays as it is.</p>\
         </body></html>"
    );
    build(from, to, "Reset your password", text, html)
}

/// The notice that the password was changed and every session ended.
pub fn password_changed(from: &str, to: &str) -> Result<Message, MailError> {
    let text =
        "The password of your account was just changed, and every session was signed out.\n\n\
                If this was not you, reset your password now and contact support.\n"
            .to_owned();
    let html = "<!doctype html><html><body>\
                <p>The password of your account was just changed, and every session was signed out.</p>\
                <p>If this was not you, reset your password now and contact support.</p>\
                </body></html>"
        .to_owned();
    build(from, to, "Your password was changed", text, html)
}

/// The notice that the account's two-factor sign-in changed: `what` says
/// how ("was turned on", ...), from this server's own fixed phrases.
pub fn second_factor_changed(from: &str, to: &str, what: &str) -> Result<Message, MailError> {
    let text = format!(
        "Two-factor sign-in of your account {what}.\n\n\
         If this was not you, change your password now and contact support.\n"
    );
    let what_html = escape_html(what);
    let html = format!(
        "<!doctype html><html><body>\
         <p>Two-factor sign-in of your account {what_html}.</p>\
         <p>If this was not you, change your password now and contact support.</p>\
         </body></html>"
    );
    build(from, to, "Your two-factor sign-in changed", text, html)
}

/// Escapes text for HTML, including inside a double-quoted attribute.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html(r#"http://x/"><script>alert('1')</script>&"#),
            "http://x/&quot;&gt;&lt;script&gt;alert(&#39;1&#39;)&lt;/script&gt;&amp;"
        );
    }

    #[test]
    fn reset_mail_has_both_parts_and_the_link() {
        let m = reset_link(
            "gatepass <no-reply@localhost>",
            "ada@example.com",
            "http://localhost:3000/change-pass/TOKEN",
            15,
        )
        .unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.contains("text/plain"));
        assert!(raw.contains("text/html"));
        assert!(raw.contains("TOKEN"));
        assert!(raw.contains("Subject: Reset your password"));
    }
}
