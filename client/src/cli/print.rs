//! The data the commands print on stdout: users, the status and sessions,
//! as text or, with `--json`, as JSON.

use std::io::Write;

use gatepass_common::{SessionInfo, User, UserView};
use serde_json::json;

use crate::api::{self, Status};
use crate::display::escape;
use crate::error::{exit, AuthRequired};

/// Prints one line of data to stdout; a closed pipe is not an error worth a panic.
pub(super) fn out(line: impl std::fmt::Display) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

pub(super) fn out_json(value: serde_json::Value) {
    out(value);
}

pub(super) fn print_signed_in(user: &User, json: bool) {
    if json {
        out_json(json!({ "user": user }));
    } else {
        out(format!("Signed in as {}.", name_and_email(user)));
    }
}

pub(super) fn print_user(user: &User, json: bool) {
    if json {
        out_json(json!({ "user": user }));
    } else {
        print_profile(name_and_email(user), &user.id, &user.created_at);
    }
}

/// `GET /:id`: someone else's profile has no email.
pub(super) fn print_user_view(user: &UserView, json: bool) {
    match user {
        UserView::Full(user) => print_user(user, json),
        UserView::Public(_) if json => out_json(json!({ "user": user })),
        UserView::Public(profile) => print_profile(
            format!(
                "{} {}",
                escape(&profile.first_name),
                escape(&profile.last_name)
            ),
            &profile.id,
            &profile.created_at,
        ),
    }
}

/// How every line that shows a user names them: `First Last <email>`.
fn name_and_email(user: &User) -> String {
    format!(
        "{} {} <{}>",
        escape(&user.first_name),
        escape(&user.last_name),
        escape(&user.email)
    )
}

/// A user's profile: `heading` (the name, with the email when it is
/// shown), then the id and when the account was made.
fn print_profile(heading: String, id: &str, created_at: &str) {
    out(heading);
    out(format!("id:      {}", escape(id)));
    out(format!("created: {}", escape(created_at)));
}

/// Like `gh auth status`, a script can ask "am I signed in?" by the exit
/// code alone: 4, the code of every command that needs a session, when
/// not. The output is the same either way.
pub(super) fn status_exit_code(status: &Status) -> i32 {
    if status.signed_in {
        exit::OK
    } else {
        exit::AUTH_REQUIRED
    }
}

/// `refusal`: why the personal access token in GATEPASS_API_TOKEN did not
/// work (then `status.signed_in` is false).
pub(super) fn print_status(status: &Status, refusal: Option<&AuthRequired>, json: bool) {
    if json {
        match serde_json::to_value(status) {
            Ok(mut value) => {
                if let Some(refusal) = refusal {
                    value["refusal"] = refusal.to_string().into();
                }
                out_json(value)
            }
            Err(e) => eprintln!("gatepass: cannot encode the status: {e}"),
        }
        return;
    }
    out(format!("server:         {}", status.server));
    if status.token_store == api::PERSONAL_TOKEN_STORE {
        out(match refusal {
            None => format!(
                "signed in:      yes, with the personal access token in {}",
                api::API_TOKEN_ENV
            ),
            Some(refusal) => format!("signed in:      no: {}", escape(&refusal.to_string())),
        });
        out(format!(
            "token store:    none ({} is used; access tokens are kept in memory only)",
            api::API_TOKEN_ENV
        ));
        let access = match &status.access_token_expires_at {
            Some(at) => format!("valid until {at}"),
            None => "none".to_owned(),
        };
        out(format!("access token:   {access}"));
        return;
    }
    let who = match (&status.user, status.signed_in) {
        (Some(u), true) => format!("yes, as {}", name_and_email(u)),
        (None, true) => "yes".to_owned(),
        (_, false) => "no".to_owned(),
    };
    out(format!("signed in:      {who}"));
    let store = match &status.token_store_fallback {
        Some(reason) => format!(
            "{} (no OS keyring available: {})",
            status.token_store,
            escape(reason)
        ),
        None => status.token_store.clone(),
    };
    out(format!("token store:    {store}"));
    let access = match (&status.access_token_expires_at, status.access_token_expired) {
        (Some(at), Some(true)) => format!("expired at {at} (the next command refreshes it)"),
        (Some(at), _) => format!("valid until {at}"),
        (None, _) if status.access_token_present => "present (expiry unknown)".to_owned(),
        (None, _) => "none".to_owned(),
    };
    out(format!("access token:   {access}"));
    let cookie = match (
        &status.refresh_cookie_expires_at,
        status.refresh_cookie_present,
    ) {
        (Some(at), _) => format!("valid until {at}"),
        (None, true) => "present".to_owned(),
        (None, false) => "none".to_owned(),
    };
    out(format!("refresh cookie: {cookie}"));
}

pub(super) fn print_sessions(sessions: &[SessionInfo]) {
    for session in sessions {
        out(format!(
            "{} {}  created {}  last used {}  {}",
            if session.current { "*" } else { " " },
            escape(&session.id),
            escape(&session.created_at),
            escape(&session.last_used_at),
            escape(session.user_agent.as_deref().unwrap_or("-"))
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_exits_4_when_not_signed_in() {
        let mut status = Status {
            server: "http://127.0.0.1:8000".into(),
            signed_in: false,
            user: None,
            token_store: "none".into(),
            token_store_fallback: None,
            access_token_present: false,
            access_token_expires_at: None,
            access_token_expired: None,
            refresh_cookie_present: false,
            refresh_cookie_expires_at: None,
        };
        assert_eq!(status_exit_code(&status), exit::AUTH_REQUIRED);
        status.signed_in = true;
        status.refresh_cookie_present = true;
        assert_eq!(status_exit_code(&status), exit::OK);
    }
}
