//! The status bar: server, who is signed in, when the access token expires,
//! where it is stored.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use time::OffsetDateTime;

use crate::api::Status;
use crate::display::escape;

/// The part of `api::Status` the status bar shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusInfo {
    pub server: String,
    pub signed_in: bool,
    pub email: Option<String>,
    pub expires_at: Option<OffsetDateTime>,
    /// `env`, `none`, `file` or a keyring's name.
    pub token_store: String,
    /// Why the token sits in a file although a keyring was wanted.
    pub fallback: Option<String>,
}

impl StatusInfo {
    /// Before the first answer from the client.
    pub fn unknown(server: &str) -> StatusInfo {
        StatusInfo {
            server: server.to_owned(),
            signed_in: false,
            email: None,
            expires_at: None,
            token_store: "none".to_owned(),
            fallback: None,
        }
    }

    /// Whether the app may refresh the token itself (not with `GATEPASS_ACCESS_TOKEN`).
    pub fn refreshable(&self) -> bool {
        self.signed_in && self.token_store != "env"
    }
}

impl From<Status> for StatusInfo {
    fn from(status: Status) -> StatusInfo {
        let expires_at = status.access_token_expires_at.as_deref().and_then(|at| {
            OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()
        });
        StatusInfo {
            server: status.server,
            signed_in: status.signed_in,
            email: status.user.map(|u| u.email),
            expires_at,
            token_store: status.token_store,
            fallback: status.token_store_fallback,
        }
    }
}

/// `1:54`, `expired`, or `-` when there is no token.
pub fn countdown(expires_at: Option<OffsetDateTime>, now: OffsetDateTime) -> String {
    match expires_at {
        None => "-".to_owned(),
        Some(at) if at <= now => "expired".to_owned(),
        Some(at) => {
            let seconds = (at - now).whole_seconds();
            if seconds >= 3600 {
                format!(
                    "{}:{:02}:{:02}",
                    seconds / 3600,
                    seconds / 60 % 60,
                    seconds % 60
                )
            } else {
                format!("{}:{:02}", seconds / 60, seconds % 60)
            }
        }
    }
}

/// The status bar's one line, at most `width` columns: the email gives way
/// first, since the rest is short and fixed.
pub fn line(status: &StatusInfo, now: OffsetDateTime, width: u16) -> Line<'static> {
    let bar = Style::new().bg(Color::DarkGray).fg(Color::White);
    let warn = Style::new()
        .bg(Color::DarkGray)
        .fg(Color::Yellow)
        .add_modifier(Modifier::BOLD);
    let who = match (&status.email, status.signed_in) {
        (Some(email), true) => escape(email).into_owned(),
        (None, true) => "signed in".to_owned(),
        (_, false) => "not signed in".to_owned(),
    };
    let token = if status.signed_in {
        format!("token {}", countdown(status.expires_at, now))
    } else {
        String::new()
    };
    let (store, store_style) = match (status.token_store.as_str(), &status.fallback) {
        ("file", Some(_)) => ("! token in a file: no keyring".to_owned(), warn),
        ("none", _) => (String::new(), bar),
        ("env", _) => (format!("token from {}", crate::api::ACCESS_TOKEN_ENV), bar),
        (crate::api::PERSONAL_TOKEN_STORE, _) => {
            (format!("token from {}", crate::api::API_TOKEN_ENV), bar)
        }
        (store, None) | (store, Some(_)) => (format!("store: {store}"), bar),
    };

    let separator = " │ ";
    let fixed: usize = [status.server.as_str(), token.as_str(), store.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().count() + separator.chars().count())
        .sum::<usize>()
        + 1;
    let room = (width as usize).saturating_sub(fixed);
    let who = shorten(&who, room);

    let mut spans = vec![
        Span::styled(format!(" {}", status.server), bar),
        Span::styled(separator, bar),
        Span::styled(who, bar.add_modifier(Modifier::BOLD)),
    ];
    for (text, style) in [(token, bar), (store, store_style)] {
        if !text.is_empty() {
            spans.push(Span::styled(separator, bar));
            spans.push(Span::styled(text, style));
        }
    }
    Line::from(spans).style(bar)
}

/// Cuts `text` to `max` characters, ending in `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::testing::*;

    #[test]
    fn the_countdown_reads_as_minutes_and_seconds() {
        let now = t0();
        assert_eq!(countdown(None, now), "-");
        assert_eq!(countdown(Some(now), now), "expired");
        assert_eq!(
            countdown(Some(now + time::Duration::seconds(114)), now),
            "1:54"
        );
        assert_eq!(
            countdown(Some(now + time::Duration::seconds(5)), now),
            "0:05"
        );
        assert_eq!(
            countdown(Some(now + time::Duration::seconds(3723)), now),
            "1:02:03"
        );
    }

    #[test]
    fn the_file_fallback_is_a_warning() {
        let mut status = signed_in_status();
        status.token_store = "file".into();
        status.fallback = Some("no secret service".into());
        let text = line(&status, t0(), 80).to_string();
        assert!(text.contains("! token in a file: no keyring"), "{text}");
        status.fallback = None;
        let text = line(&status, t0(), 80).to_string();
        assert!(text.contains("store: file"), "{text}");
    }

    #[test]
    fn a_token_from_the_environment_names_its_variable() {
        let mut status = signed_in_status();
        status.token_store = "env".into();
        let text = line(&status, t0(), 80).to_string();
        assert!(text.contains("token from GATEPASS_ACCESS_TOKEN"), "{text}");
        status.token_store = crate::api::PERSONAL_TOKEN_STORE.into();
        let text = line(&status, t0(), 80).to_string();
        assert!(text.contains("token from GATEPASS_API_TOKEN"), "{text}");
    }

    #[test]
    fn a_long_email_gives_way_at_80_columns() {
        let mut status = signed_in_status();
        status.email = Some(format!("{}@example.com", "a".repeat(60)));
        let text = line(&status, t0(), 80).to_string();
        assert!(text.chars().count() <= 80, "{text}");
        assert!(text.contains("token 1:54"), "{text}");
        assert!(text.contains("store: secret-service"), "{text}");
        assert!(text.contains('…'));
    }

    #[test]
    fn it_is_built_from_the_client_status() {
        let status = Status {
            server: SERVER.into(),
            signed_in: true,
            user: Some(ada()),
            token_store: "file".into(),
            token_store_fallback: Some("no keyring".into()),
            access_token_present: true,
            access_token_expires_at: Some("2030-01-01T12:00:00Z".into()),
            access_token_expired: Some(false),
            refresh_cookie_present: true,
            refresh_cookie_expires_at: None,
        };
        let info = StatusInfo::from(status);
        assert_eq!(info.email.as_deref(), Some("ada@example.com"));
        assert_eq!(info.expires_at.unwrap().year(), 2030);
        assert_eq!(info.fallback.as_deref(), Some("no keyring"));
    }
}
