//! `gatepass-server audit export [--since TIME] [--user EMAIL|ID]`: the audit
//! events as JSON lines on stdout, oldest first, read a page at a time.
//! serde_json escapes every control character a stored string holds (a user
//! agent is whatever a client sent), so each event is one line.

use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{configured, failed, open, AdminError, UserRef};
use crate::config::{parse_duration, Config};
use crate::store::{now_ms, rfc3339, AuditQuery, AuditRecord, Store};

/// Events read per query.
const PAGE: i64 = 1000;

/// One exported event: the stored row, its time in RFC 3339 as well.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Line<'a> {
    id: i64,
    at: String,
    at_ms: i64,
    event: &'a str,
    user_id: Option<&'a str>,
    session_id: Option<&'a str>,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    operator: Option<&'a str>,
}

impl<'a> From<&'a AuditRecord> for Line<'a> {
    fn from(row: &'a AuditRecord) -> Line<'a> {
        Line {
            id: row.id,
            at: rfc3339(row.at),
            at_ms: row.at,
            event: &row.event,
            user_id: row.user_id.as_deref(),
            session_id: row.session_id.as_deref(),
            ip: row.ip.as_deref(),
            user_agent: row.user_agent.as_deref(),
            operator: row.operator.as_deref(),
        }
    }
}

pub(super) async fn run(
    since: Option<String>,
    user: Option<String>,
    start: impl FnOnce() -> Result<Config, ExitCode>,
) -> Result<(), AdminError> {
    let since = match since {
        Some(text) => since_ms(&text, now_ms())?,
        None => i64::MIN,
    };
    let user = user.map(|text| UserRef::parse(&text).map(|r| (r, text)));
    let user = user.transpose()?;
    let config = configured(start)?;
    let store = open(&config).await?;
    let done = export(&store, since, user).await;
    store.close().await;
    done
}

async fn export(
    store: &Store,
    since: i64,
    user: Option<(UserRef, String)>,
) -> Result<(), AdminError> {
    let user_id = match user {
        None => None,
        // An id as given: a deleted user's events are still theirs.
        Some((UserRef::Id(id), _)) => Some(id),
        Some((UserRef::Email(email), text)) => Some(
            store
                .user_by_email(&email)
                .await
                .map_err(failed)?
                .ok_or_else(|| {
                    AdminError::Usage(format!(
                        "no user {} (a deleted user's events are found by their id)",
                        super::printable(&text)
                    ))
                })?
                .id,
        ),
    };
    // Not locked across the queries' awaits: a lock guard is not Send.
    let mut out = std::io::BufWriter::new(std::io::stdout());
    let mut after_id = 0;
    loop {
        let query = AuditQuery {
            after_id,
            since,
            user_id: user_id.as_deref(),
        };
        let page = store.audit_events(query, PAGE).await.map_err(failed)?;
        for row in &page {
            let line = serde_json::to_string(&Line::from(row)).expect("an event serialises");
            if let Err(e) = writeln!(out, "{line}") {
                return output_failed(e);
            }
        }
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => after_id = last.id,
            _ => break,
        }
    }
    out.flush().or_else(output_failed)
}

/// A reader that stopped reading (`| head`) ends the export, quietly.
fn output_failed(e: std::io::Error) -> Result<(), AdminError> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return Ok(());
    }
    Err(AdminError::Failed(format!("cannot write the export: {e}")))
}

/// `--since`: an RFC 3339 time, or a duration back from `now` (Unix ms).
fn since_ms(text: &str, now: i64) -> Result<i64, AdminError> {
    if let Ok(at) = OffsetDateTime::parse(text.trim(), &Rfc3339) {
        return Ok((at.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    match parse_duration(text) {
        Ok(back) => Ok(now.saturating_sub(back.as_millis().min(i64::MAX as u128) as i64)),
        Err(_) => Err(AdminError::Usage(format!(
            "--since {:?}: neither an RFC 3339 time (2026-12-01T00:00:00Z) nor a duration \
             back from now (24h, 7d)",
            text
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_a_time_or_a_duration_back() {
        let now = 1_800_000_000_000;
        assert_eq!(since_ms("24h", now).unwrap(), now - 86_400_000);
        assert_eq!(since_ms("90s", now).unwrap(), now - 90_000);
        assert_eq!(
            since_ms("2023-11-14T22:13:20.123Z", now).unwrap(),
            1_700_000_000_123
        );
        assert_eq!(
            since_ms("2023-11-14T23:13:20+01:00", now).unwrap(),
            1_700_000_000_000
        );
        for bad in ["yesterday", "2023-11-14", "-5h", ""] {
            let e = since_ms(bad, now).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().starts_with("--since"), "{e}");
        }
    }

    #[test]
    fn control_characters_come_out_escaped_on_one_line() {
        let row = AuditRecord {
            id: 7,
            at: 1_700_000_000_123,
            event: "login_failed".into(),
            user_id: None,
            session_id: None,
            ip: Some("192.0.2.1".into()),
            user_agent: Some("evil\n{\"event\":\"forged\"}\u{1b}[2J\u{7}".into()),
            operator: None,
        };
        let line = serde_json::to_string(&Line::from(&row)).unwrap();
        assert!(!line.contains('\n') && !line.contains('\u{1b}') && !line.contains('\u{7}'));
        assert!(
            line.contains(r#"evil\n{\"event\":\"forged\"}\u001b[2J\u0007"#),
            "{line}"
        );
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["userAgent"], row.user_agent.clone().unwrap().as_str());
        assert_eq!(back["at"], "2023-11-14T22:13:20.123Z");
        assert_eq!(back["userId"], serde_json::Value::Null);
    }
}
