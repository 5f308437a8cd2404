//! What goes to stderr when a command fails, and with which exit code:
//! the error, the advice on what to do about it, and the client's notices.
//! As JSON lines with `--json`.

use gatepass_common::ErrorCode;
use serde_json::json;

use crate::api::{self, ApiClient};
use crate::config;
use crate::display::escape;
use crate::error::{exit, AuthRequired, ClientError};

/// Clap's own errors exit 2 (help and version 0); as JSON with `--json`.
pub(super) fn clap_error(error: clap::Error, json: bool) -> i32 {
    use clap::error::ErrorKind;
    let is_info = matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    );
    if json && !is_info {
        let message = error
            .kind()
            .as_str()
            .unwrap_or("invalid arguments")
            .to_owned();
        let detail = error.to_string();
        let first = detail
            .lines()
            .next()
            .unwrap_or(&message)
            .trim_start_matches("error: ")
            .to_owned();
        eprintln!(
            "{}",
            json!({"error": "Usage error", "code": "usage", "feedback": first, "exitCode": exit::USAGE})
        );
        return exit::USAGE;
    }
    let _ = error.print();
    if is_info {
        exit::OK
    } else {
        exit::USAGE
    }
}

pub(super) fn report(error: &ClientError, json: bool) -> i32 {
    if json {
        let mut body = error.to_json();
        body.hint = advice(error);
        match serde_json::to_string(&body) {
            Ok(line) => eprintln!("{line}"),
            Err(_) => eprintln!("gatepass: {error}"),
        }
    } else {
        // The feedback can be the server's words: escaped like all its strings.
        eprintln!("gatepass: {}", escape(&error.to_string()));
        if let ClientError::Server { body, .. } = error {
            for field in &body.errors {
                eprintln!("  - {}: {}", escape(&field.param), escape(&field.msg));
            }
        }
        if let ClientError::Unreachable { detail, .. } = error {
            eprintln!("  {}", unreachable_hint(detail));
        }
        if let Some(advice) = advice(error) {
            eprintln!("  {advice}");
        }
    }
    error.exit_code()
}

/// What to do about an authentication error: the command line's advice,
/// which the library's errors leave out (the terminal app has its own).
fn advice(error: &ClientError) -> Option<String> {
    match error {
        ClientError::AuthRequired(reason) => Some(match reason {
            AuthRequired::NotSignedIn { .. }
            | AuthRequired::SessionEnded { .. }
            | AuthRequired::RefreshFailed => "Sign in with `gatepass login`.".to_owned(),
            AuthRequired::EnvTokenRefused { variable, .. } => format!(
                "Put a valid access token in {variable}, or unset it to use the session \
                 stored on this machine."
            ),
            AuthRequired::ApiTokenRefused { variable, .. } => format!(
                "Create a new personal access token with `gatepass tokens create --name NAME` \
                 (signed in with `gatepass login`, {variable} unset) and put it in {variable}."
            ),
        }),
        ClientError::Server { body, .. } if body.code == ErrorCode::SessionRequired => {
            Some(format!(
                "This command needs a signed-in session, which a personal access token is \
                 not: unset {} and sign in with `gatepass login`.",
                api::API_TOKEN_ENV
            ))
        }
        _ => None,
    }
}

/// What to try when the server cannot be reached.
fn unreachable_hint(cause: &str) -> String {
    if cause.starts_with("TLS") {
        return "Does the server speak https there, with a certificate this machine trusts?"
            .to_owned();
    }
    let file = config::config_path()
        .map(|path| path.display().to_string())
        .unwrap_or_else(|| config::CONFIG_FILE.to_owned());
    format!(
        "Is the server running at that address? Set --server, {} or server = \"…\" in {file}.",
        api::SERVER_ENV
    )
}

pub(super) fn print_notices(client: &ApiClient, json: bool) {
    for notice in client.take_notices() {
        if json {
            eprintln!("{}", json!({ "notice": notice }));
        } else {
            eprintln!("gatepass: {}", escape(&notice));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authentication_errors_come_with_the_command_lines_advice() {
        let ended = ClientError::AuthRequired(AuthRequired::SessionEnded {
            feedback: "Session revoked.".into(),
        });
        assert!(advice(&ended).unwrap().contains("gatepass login"));
        let refused = ClientError::AuthRequired(AuthRequired::ApiTokenRefused {
            variable: api::API_TOKEN_ENV,
            feedback: "The personal access token is unknown, expired or revoked.".into(),
        });
        assert!(advice(&refused).unwrap().contains("gatepass tokens create"));
        let session_required = ClientError::Server {
            status: 403,
            body: gatepass_common::ErrorBody {
                error: "Session required".into(),
                code: ErrorCode::SessionRequired,
                feedback: "A personal access token cannot do this.".into(),
                errors: vec![],
            },
        };
        let advice = advice(&session_required).unwrap();
        assert!(advice.contains(api::API_TOKEN_ENV), "{advice}");
        assert!(advice.contains("gatepass login"), "{advice}");
        assert_eq!(session_required.exit_code(), exit::AUTH_REQUIRED);
        assert!(self::advice(&ClientError::Usage("x".into())).is_none());
    }
}
