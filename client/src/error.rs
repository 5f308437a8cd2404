//! One error type for the whole client, and the one place that maps it to the
//! documented exit codes.

use gatepass_common::{ErrorBody, ErrorCode};
use serde::Serialize;

/// The documented exit codes of the `gatepass` command.
pub mod exit {
    pub const OK: i32 = 0;
    /// The server refused the request (or answered something unexpected).
    pub const REFUSED: i32 = 1;
    /// Bad arguments, no terminal to prompt on, or a configuration that cannot work.
    pub const USAGE: i32 = 2;
    /// The server could not be reached.
    pub const UNREACHABLE: i32 = 3;
    /// Not signed in, the session ended, the stored credentials are unusable,
    /// the token in GATEPASS_API_TOKEN was refused, or the command needs a
    /// signed-in session rather than a personal access token.
    pub const AUTH_REQUIRED: i32 = 4;
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The command line or the environment asks for something impossible.
    #[error("{0}")]
    Usage(String),

    /// No connection, a timeout, or a broken connection. `detail` is the
    /// cause in a few words ("connection refused", "timed out", "TLS: …"),
    /// never a secret nor the request's URL (a reset token can be in it).
    #[error("cannot reach the server at {server} ({detail})")]
    Unreachable { server: String, detail: String },

    /// The server answered with an error body.
    #[error("{}", .body.feedback)]
    Server { status: u16, body: ErrorBody },

    /// The server answered something that is not the contract (not JSON, an
    /// unexpected status). Carries no body text: it could echo a secret.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),

    /// Not signed in, the session ended, or the credentials were refused.
    /// Carries why, never what to do about it: the `gatepass` command adds
    /// its advice when it prints (`cli::report::advice`), the terminal app its own.
    #[error("authentication required: {0}")]
    AuthRequired(AuthRequired),

    /// A stored credential file (cookie jar, token file, state file) cannot be
    /// read. `gatepass logout` removes it.
    #[error("{what} ({location}) is unreadable: {detail}; run `gatepass logout` to discard it, then sign in again")]
    CorruptStore {
        what: &'static str,
        /// A file path or the name of a keyring.
        location: String,
        detail: String,
    },

    /// `GATEPASS_TOKEN_STORE=keyring` but no OS keyring works.
    #[error("no OS keyring is available ({0}); unset GATEPASS_TOKEN_STORE or set it to `file`")]
    KeyringUnavailable(String),

    /// SIGTERM or SIGHUP stopped the terminal app, after it gave the shell its
    /// terminal back. Exits 128 + the signal's number, as a shell reports a
    /// process the signal killed.
    #[error("stopped by {name}")]
    Terminated { name: &'static str, signal: i32 },

    /// A local file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// Why a command needs someone to sign in (or a new credential).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthRequired {
    /// Nothing is stored for this server: no access token, no refresh cookie.
    #[error("not signed in to {server}")]
    NotSignedIn { server: String },
    /// The server ended the session (signed out, revoked, expired, a
    /// password change or reset); `feedback` is its reason.
    #[error("the session has ended ({feedback})")]
    SessionEnded { feedback: String },
    /// The refresh was refused with no reason the client could read.
    #[error("the session could not be refreshed")]
    RefreshFailed,
    /// The access token in `variable` (`GATEPASS_ACCESS_TOKEN`) was refused;
    /// it is never renewed.
    #[error("the token in {variable} was refused{}", reason(.feedback))]
    EnvTokenRefused {
        variable: &'static str,
        feedback: Option<String>,
    },
    /// The personal access token in `variable` (`GATEPASS_API_TOKEN`) was
    /// refused: unknown, expired or revoked.
    #[error("the personal access token in {variable} was refused: {feedback}")]
    ApiTokenRefused {
        variable: &'static str,
        feedback: String,
    },
}

fn reason(feedback: &Option<String>) -> String {
    feedback
        .as_deref()
        .map(|f| format!(": {f}"))
        .unwrap_or_default()
}

impl AuthRequired {
    /// The reason in the fewest words, for a screen that says "Signed out:
    /// …": the server's own sentence when it gave one.
    pub fn reason(&self) -> String {
        let reason = match self {
            AuthRequired::SessionEnded { feedback } => feedback.clone(),
            other => other.to_string(),
        };
        reason.trim_end_matches('.').to_owned()
    }
}

impl ClientError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ClientError::Io {
            context: context.into(),
            source,
        }
    }

    /// The process exit code this error ends `gatepass` with.
    pub fn exit_code(&self) -> i32 {
        match self {
            // A personal access token was used where a signed-in session is
            // needed: signing in is the cure, as for every code-4 error.
            ClientError::Server { body, .. } if body.code == ErrorCode::SessionRequired => {
                exit::AUTH_REQUIRED
            }
            ClientError::Usage(_) | ClientError::KeyringUnavailable(_) => exit::USAGE,
            ClientError::Unreachable { .. } => exit::UNREACHABLE,
            ClientError::AuthRequired(_) | ClientError::CorruptStore { .. } => exit::AUTH_REQUIRED,
            ClientError::Server { .. } | ClientError::Protocol(_) | ClientError::Io { .. } => {
                exit::REFUSED
            }
            ClientError::Terminated { signal, .. } => 128 + signal,
        }
    }

    /// A stable snake_case code for `--json` error output: the server's code
    /// when the server refused, else one of the client's own.
    pub fn code(&self) -> &'static str {
        match self {
            ClientError::Usage(_) => "usage",
            ClientError::Unreachable { .. } => "server_unreachable",
            ClientError::Server { body, .. } => body.code.as_str(),
            ClientError::Protocol(_) => "unexpected_response",
            ClientError::AuthRequired(_) => "authentication_required",
            ClientError::CorruptStore { .. } => "corrupt_store",
            ClientError::KeyringUnavailable(_) => "keyring_unavailable",
            ClientError::Io { .. } => "local_io",
            ClientError::Terminated { .. } => "terminated",
        }
    }

    /// The server's error code, if the server refused.
    pub fn server_code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Server { body, .. } => Some(body.code),
            _ => None,
        }
    }

    /// The error as the JSON object `gatepass --json` prints on stderr.
    pub fn to_json(&self) -> ErrorJson {
        let (status, errors) = match self {
            ClientError::Server { status, body } => (Some(*status), body.errors.clone()),
            _ => (None, Vec::new()),
        };
        let title = match self {
            ClientError::Server { body, .. } => body.error.clone(),
            ClientError::Usage(_) => "Usage error".to_owned(),
            ClientError::Unreachable { .. } => "Server unreachable".to_owned(),
            ClientError::Protocol(_) => "Unexpected response".to_owned(),
            ClientError::AuthRequired(_) => "Authentication required".to_owned(),
            ClientError::CorruptStore { .. } => "Unreadable credential store".to_owned(),
            ClientError::KeyringUnavailable(_) => "Keyring unavailable".to_owned(),
            ClientError::Io { .. } => "Local file error".to_owned(),
            ClientError::Terminated { .. } => "Terminated".to_owned(),
        };
        ErrorJson {
            error: title,
            code: self.code().to_owned(),
            feedback: self.to_string(),
            exit_code: self.exit_code(),
            status,
            errors: errors
                .into_iter()
                .map(|e| FieldErrorJson {
                    param: e.param,
                    msg: e.msg,
                })
                .collect(),
            hint: None,
        }
    }
}

/// `{"error", "code", "feedback", "exitCode", "status"?, "errors"?}`: the
/// server's error shape plus the exit code, so scripts can branch on either.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorJson {
    pub error: String,
    pub code: String,
    pub feedback: String,
    pub exit_code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldErrorJson>,
    /// What to do about it, in the `gatepass` command's words (`cli` sets it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FieldErrorJson {
    pub param: String,
    pub msg: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatepass_common::FieldError;

    fn server(status: u16, code: ErrorCode) -> ClientError {
        ClientError::Server {
            status,
            body: ErrorBody {
                error: "Nope".into(),
                code,
                feedback: "The server said no.".into(),
                errors: vec![FieldError::body("email", "Email is invalid")],
            },
        }
    }

    #[test]
    fn exit_codes_follow_the_documented_table() {
        assert_eq!(ClientError::Usage("x".into()).exit_code(), 2);
        assert_eq!(
            ClientError::Unreachable {
                server: "http://127.0.0.1:1".into(),
                detail: "connection refused".into()
            }
            .exit_code(),
            3
        );
        assert_eq!(server(400, ErrorCode::InvalidCredentials).exit_code(), 1);
        assert_eq!(server(404, ErrorCode::UserNotFound).exit_code(), 1);
        assert_eq!(server(429, ErrorCode::TooManyAttempts).exit_code(), 1);
        assert_eq!(ClientError::Protocol("x".into()).exit_code(), 1);
        let ended = ClientError::AuthRequired(AuthRequired::SessionEnded {
            feedback: "Session revoked.".into(),
        });
        assert_eq!(ended.exit_code(), 4);
        assert_eq!(
            ended.to_string(),
            "authentication required: the session has ended (Session revoked.)"
        );
        let session_required = server(403, ErrorCode::SessionRequired);
        assert_eq!(session_required.exit_code(), 4);
        assert_eq!(session_required.code(), "session_required");
        let terminated = ClientError::Terminated {
            name: "SIGTERM",
            signal: 15,
        };
        assert_eq!(terminated.exit_code(), 143);
        assert_eq!(terminated.code(), "terminated");
        let corrupt = ClientError::CorruptStore {
            what: "the cookie jar",
            location: "/tmp/jar.json".into(),
            detail: "bad json".into(),
        };
        assert_eq!(corrupt.exit_code(), 4);
        assert!(corrupt.to_string().contains("gatepass logout"));
        assert_eq!(ClientError::KeyringUnavailable("x".into()).exit_code(), 2);
    }

    #[test]
    fn json_errors_carry_the_server_code_and_field_errors() {
        let json =
            serde_json::to_value(server(422, ErrorCode::ValidationFailed).to_json()).unwrap();
        assert_eq!(json["code"], "validation_failed");
        assert_eq!(json["feedback"], "The server said no.");
        assert_eq!(json["exitCode"], 1);
        assert_eq!(json["status"], 422);
        assert_eq!(json["errors"][0]["param"], "email");

        let signed_out = ClientError::AuthRequired(AuthRequired::NotSignedIn {
            server: "http://x".into(),
        });
        let json = serde_json::to_value(signed_out.to_json()).unwrap();
        assert_eq!(json["code"], "authentication_required");
        assert_eq!(json["exitCode"], 4);
        assert!(json.get("status").is_none());
        assert!(json.get("errors").is_none());
    }

    #[test]
    fn the_reason_of_an_ended_session_is_the_servers_sentence() {
        let ended = AuthRequired::SessionEnded {
            feedback: "Session revoked.".into(),
        };
        assert_eq!(ended.reason(), "Session revoked");
        let signed_out = AuthRequired::NotSignedIn {
            server: "http://x".into(),
        };
        assert_eq!(signed_out.reason(), "not signed in to http://x");
        let refused = AuthRequired::EnvTokenRefused {
            variable: "GATEPASS_ACCESS_TOKEN",
            feedback: None,
        };
        assert_eq!(
            refused.to_string(),
            "the token in GATEPASS_ACCESS_TOKEN was refused"
        );
    }
}
