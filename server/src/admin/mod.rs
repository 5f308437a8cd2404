//! The operator's commands of `gatepass-server`: `users ...` (list, show,
//! create, disable, enable, delete) and `audit export`. They work on the
//! configured database, beside a running server (SQLite in WAL mode takes a
//! second process; PostgreSQL takes many), through the same store and
//! domain layer as the server: what they change, a running server sees in
//! the database, at the latest once its session cache's entries are older
//! than `GATEPASS_SESSION_CACHE_TTL`.
//!
//! Exit codes, as `migrate`, `check-config` and `backup` give them: 0 done;
//! 1 a failure (the database cannot be opened, a query fails); 2 bad usage:
//! a bad argument or setting, an unknown user ("no user ..."), a refused
//! password.
//!
//! Every change is audited with the operator's OS user name ([`operator`]).

mod audit_export;
mod prompt;
mod users;

use std::process::ExitCode;

use clap::Subcommand;

use crate::config::{Config, DatabaseUrl};
use crate::db;
use crate::store::{Store, UserRecord};
use crate::validate;

/// `gatepass-server users ...`.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Lists every user: id, email, name, when created, and whether disabled.
    List {
        /// One JSON array of users.
        #[arg(long)]
        json: bool,
    },
    /// Shows one user, and how many live sessions they have.
    Show {
        /// The user's email or id.
        #[arg(allow_hyphen_values = true)]
        user: String,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Creates a user, validated as a signup is (name, email, password
    /// policy).
    ///
    /// The password is asked for twice on the terminal, or read from
    /// standard input with --password-stdin (one line; for scripts).
    Create {
        // An address may begin with `-`; it is still an address.
        #[arg(long, allow_hyphen_values = true)]
        email: String,
        #[arg(long)]
        first_name: String,
        #[arg(long)]
        last_name: String,
        /// Read the password from standard input instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disables a user: every session of theirs ends at once, and their
    /// logins fail as a wrong password does.
    Disable {
        /// The user's email or id.
        #[arg(allow_hyphen_values = true)]
        user: String,
    },
    /// Lets a disabled user log in again.
    Enable {
        /// The user's email or id.
        #[arg(allow_hyphen_values = true)]
        user: String,
    },
    /// Deletes a user with their sessions and reset links; the audit trail
    /// keeps their events, under their id.
    Delete {
        /// The user's email or id.
        #[arg(allow_hyphen_values = true)]
        user: String,
    },
}

/// `gatepass-server audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Prints the audit events as JSON lines (one object per line), oldest
    /// first.
    Export {
        /// Only events at or after this time: RFC 3339
        /// (2026-12-01T00:00:00Z) or a duration back from now (24h, 7d).
        #[arg(long)]
        since: Option<String>,
        /// Only the events of this user: an email, or an id (a deleted
        /// user's events are found by their id).
        #[arg(long, allow_hyphen_values = true)]
        user: Option<String>,
    },
}

/// Runs a `users` command; `start` reads the configuration (as `serve`
/// does), or gives the exit code of why it cannot.
pub async fn users(
    command: UsersCommand,
    start: impl FnOnce() -> Result<Config, ExitCode>,
) -> ExitCode {
    finish(users::run(command, start).await)
}

/// Runs an `audit` command; see [`users`].
pub async fn audit(
    command: AuditCommand,
    start: impl FnOnce() -> Result<Config, ExitCode>,
) -> ExitCode {
    finish(match command {
        AuditCommand::Export { since, user } => audit_export::run(since, user, start).await,
    })
}

fn finish(outcome: Result<(), AdminError>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(AdminError::Exit(code)) => code,
        Err(e) => {
            log::error!(target: "gatepass::admin", "{e}");
            eprintln!("gatepass-server: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Why a command failed, and its exit code.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Bad usage, an unknown user, a refused value: exit 2.
    #[error("{0}")]
    Usage(String),
    /// The database or the output failed: exit 1.
    #[error("{0}")]
    Failed(String),
    /// Already reported (a configuration error): this exit code.
    #[error("exit")]
    Exit(ExitCode),
}

impl AdminError {
    pub fn exit_code(&self) -> u8 {
        match self {
            AdminError::Usage(_) => 2,
            AdminError::Failed(_) | AdminError::Exit(_) => 1,
        }
    }
}

/// The OS user running this command: `USER`, else `LOGNAME`, else the
/// account name of the process's user id (what `id -un` says), else that id.
pub fn operator() -> String {
    for var in ["USER", "LOGNAME"] {
        if let Some(name) = std::env::var(var).ok().filter(|n| !n.trim().is_empty()) {
            return name;
        }
    }
    account_name().unwrap_or_else(|| format!("uid {}", current_uid()))
}

#[cfg(unix)]
fn current_uid() -> u32 {
    // SAFETY: getuid cannot fail and touches no memory of ours.
    unsafe { libc::getuid() }
}

#[cfg(not(unix))]
fn current_uid() -> u32 {
    0
}

/// The name of the process's user in the password database.
#[cfg(unix)]
fn account_name() -> Option<String> {
    let uid = current_uid();
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: all-zero is a valid `passwd` (null pointers, zero ids); it is
    // only read after getpwuid_r filled it in.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is to memory we own, valid for the call, with
    // the buffer's true length; the strings it fills point into `buffer`.
    let status = unsafe {
        libc::getpwuid_r(
            uid,
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        )
    };
    if status != 0 || found.is_null() || entry.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name is a NUL-terminated string inside `buffer`, alive here.
    let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) };
    Some(name.to_string_lossy().into_owned()).filter(|n| !n.is_empty())
}

#[cfg(not(unix))]
fn account_name() -> Option<String> {
    None
}

/// Reads the configuration through `start`.
fn configured(start: impl FnOnce() -> Result<Config, ExitCode>) -> Result<Config, AdminError> {
    start().map_err(AdminError::Exit)
}

/// The store on the configured database, which must exist and carry every
/// migration of this build (the server applies them when it starts, or
/// `gatepass-server migrate` does). Close it with [`Store::close`], which
/// stores the queued audit rows.
async fn open(config: &Config) -> Result<Store, AdminError> {
    let database = config.database.url.redacted();
    if let DatabaseUrl::Sqlite { path, options } = &config.database.url {
        // Opening a missing file would create an empty database.
        let in_memory = path.as_os_str() == ":memory:" || options.contains("mode=memory");
        if !in_memory && !path.is_file() {
            return Err(AdminError::Failed(format!(
                "cannot open the database {database}: no such file (start the server once, \
                 or run `gatepass-server migrate`)"
            )));
        }
    }
    let backend = db::connect(&config.database)
        .await
        .map_err(|e| AdminError::Failed(format!("cannot open the database {database}: {e}")))?;
    let store = Store::new(backend);
    match store.migrations_applied().await {
        Ok(true) => Ok(store),
        Ok(false) => {
            store.close().await;
            Err(AdminError::Failed(format!(
                "the database {database} lacks migrations of this version: run \
                 `gatepass-server migrate` (or start the server) first"
            )))
        }
        Err(e) => {
            store.close().await;
            Err(AdminError::Failed(format!(
                "cannot read the database {database}: {e}"
            )))
        }
    }
}

/// A database failure, for the exit code 1.
fn failed(e: impl std::fmt::Display) -> AdminError {
    AdminError::Failed(format!("database error: {e}"))
}

/// What an `EMAIL|ID` argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum UserRef {
    /// An email, in its stored form.
    Email(String),
    /// A user id, in its canonical form.
    Id(String),
}

impl UserRef {
    /// An id (a UUID) or an email; anything else names no user (exit 2).
    fn parse(text: &str) -> Result<UserRef, AdminError> {
        let text = text.trim();
        if let Ok(id) = uuid::Uuid::try_parse(text) {
            return Ok(UserRef::Id(id.hyphenated().to_string()));
        }
        if text.contains('@') {
            if let Ok(email) = validate::stored_email(text) {
                return Ok(UserRef::Email(email));
            }
        }
        Err(no_user(text))
    }
}

fn no_user(text: &str) -> AdminError {
    AdminError::Usage(format!("no user {}", printable(text)))
}

/// The user `text` (an email or an id) names, or "no user" (exit 2).
async fn find_user(store: &Store, text: &str) -> Result<UserRecord, AdminError> {
    let found = match UserRef::parse(text)? {
        UserRef::Email(email) => store.user_by_email(&email).await,
        UserRef::Id(id) => store.user_by_id(&id).await,
    };
    found.map_err(failed)?.ok_or_else(|| no_user(text))
}

/// `text` with its control characters escaped, for a terminal.
fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(char::is_control) {
        text.escape_debug().to_string().into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_is_named_by_id_or_email() {
        let id = "0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9";
        assert_eq!(
            UserRef::parse(id).unwrap(),
            UserRef::Id(id.to_ascii_lowercase())
        );
        assert_eq!(
            UserRef::parse(" Ada@Example.COM ").unwrap(),
            UserRef::Email("ada@example.com".into())
        );
        for nothing in ["ada", "", "12345", "@"] {
            let e = UserRef::parse(nothing).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert_eq!(e.to_string(), format!("no user {}", nothing.trim()));
        }
        // Shown escaped, not sent to the terminal as they are.
        let e = UserRef::parse("x\u{1b}[2J").unwrap_err();
        assert_eq!(e.to_string(), "no user x\\u{1b}[2J");
    }

    #[test]
    fn an_address_that_begins_with_a_hyphen_is_an_address_not_a_flag() {
        #[derive(clap::Parser)]
        struct Users {
            #[command(subcommand)]
            command: UsersCommand,
        }
        use clap::Parser;
        for args in [
            ["users", "show", "-ada@example.com", "--json"],
            ["users", "show", "--json", "-ada@example.com"],
        ] {
            match Users::try_parse_from(args).map(|u| u.command) {
                Ok(UsersCommand::Show { user, json }) => {
                    assert_eq!((user.as_str(), json), ("-ada@example.com", true))
                }
                other => panic!("{args:?}: {:?}", other.err()),
            }
        }
        let args = ["users", "disable", "-ada@example.com"];
        assert!(matches!(
            Users::try_parse_from(args).map(|u| u.command),
            Ok(UsersCommand::Disable { user }) if user == "-ada@example.com"
        ));
        let args = [
            "users",
            "create",
            "--email",
            "-ada@example.com",
            "--first-name",
            "Ada",
        ];
        let create = Users::try_parse_from([&args[..], &["--last-name", "L"]].concat());
        assert!(matches!(
            create.map(|u| u.command),
            Ok(UsersCommand::Create { email, .. }) if email == "-ada@example.com"
        ));
    }

    #[test]
    fn the_operator_is_the_os_user() {
        let name = operator();
        assert!(!name.trim().is_empty());
        // The account name is what `id -un` says, where it says something.
        let id = std::process::Command::new("id").arg("-un").output();
        if let Some(id) = id.ok().filter(|out| out.status.success()) {
            let expected = String::from_utf8_lossy(&id.stdout).trim().to_owned();
            assert_eq!(account_name().as_deref(), Some(expected.as_str()));
        }
    }
}
