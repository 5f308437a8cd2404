//! `gatepass-server users list|show|create|disable|enable|delete`.

use std::process::ExitCode;

use gatepass_common::SignupRequest;
use serde_json::{json, Value};

use super::prompt::Source;
use super::{configured, failed, find_user, open, operator, printable, AdminError, UsersCommand};
use crate::accounts::Operator;
use crate::auth::password::Passwords;
use crate::config::Config;
use crate::error::ApiError;
use crate::store::{rfc3339, Store, UserRecord};

pub(super) async fn run(
    command: UsersCommand,
    start: impl FnOnce() -> Result<Config, ExitCode>,
) -> Result<(), AdminError> {
    // Decided before the configuration and the database: a create with no
    // way to read its password fails at once.
    let source = match &command {
        UsersCommand::Create { password_stdin, .. } => Some(Source::choose(*password_stdin)?),
        _ => None,
    };
    let config = configured(start)?;
    let store = open(&config).await?;
    let done = on_store(&store, &config, command, source).await;
    // Stores the queued audit rows.
    store.close().await;
    done
}

async fn on_store(
    store: &Store,
    config: &Config,
    command: UsersCommand,
    source: Option<Source>,
) -> Result<(), AdminError> {
    let who = operator();
    let operator = Operator::new(store, &who);
    match command {
        UsersCommand::List { json } => {
            let users = store.list_users().await.map_err(failed)?;
            if json {
                let all: Vec<Value> = users.iter().map(user_json).collect();
                println!("{}", pretty(&Value::Array(all)));
            } else {
                list(&users);
            }
        }
        UsersCommand::Show { user, json } => {
            let user = find_user(store, &user).await?;
            let sessions = store.live_sessions(&user.id).await.map_err(failed)?.len();
            if json {
                let mut shown = user_json(&user);
                shown["liveSessions"] = sessions.into();
                println!("{}", pretty(&shown));
            } else {
                show(&user, sessions);
            }
        }
        UsersCommand::Create {
            email,
            first_name,
            last_name,
            password_stdin: _,
        } => {
            let source = source.expect("chosen for a create");
            let (password, confirm) = source.read(&email)?;
            let passwords =
                Passwords::new(config.tokens.bcrypt_cost, config.tokens.hash_queue_timeout)
                    .map_err(|e| AdminError::Failed(format!("bcrypt: {e}")))?;
            let request = SignupRequest {
                first_name,
                last_name,
                email,
                password,
                password_confirm: Some(confirm),
            };
            let user = operator
                .create(&passwords, &request)
                .await
                .map_err(refused)?;
            println!("created user {} {}", user.id, printable(&user.email));
        }
        UsersCommand::Disable { user } => {
            let user = find_user(store, &user).await?;
            let disabled = operator.disable(&user).await.map_err(refused)?;
            let state = if disabled.changed {
                "disabled"
            } else {
                "was already disabled"
            };
            println!(
                "user {} {} {state}; {} session(s) ended",
                user.id,
                printable(&user.email),
                disabled.sessions_ended
            );
        }
        UsersCommand::Enable { user } => {
            let user = find_user(store, &user).await?;
            let changed = operator.enable(&user).await.map_err(refused)?;
            let state = if changed {
                "enabled"
            } else {
                "was not disabled"
            };
            println!("user {} {} {state}", user.id, printable(&user.email));
        }
        UsersCommand::Delete { user } => {
            let user = find_user(store, &user).await?;
            if !operator.delete(&user).await.map_err(refused)? {
                // Deleted by someone else since it was found.
                return Err(super::no_user(&user.email));
            }
            println!(
                "deleted user {} {}; their audit events are kept",
                user.id,
                printable(&user.email)
            );
        }
    }
    Ok(())
}

/// A domain error as the command reports it: what the operator gave was
/// refused (exit 2), or something failed (exit 1).
fn refused(e: ApiError) -> AdminError {
    match e {
        ApiError::Validation(errors) => AdminError::Usage(
            errors
                .iter()
                .map(|e| format!("{}: {}", flag_of(&e.param), e.msg))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => AdminError::Failed(other.to_string()),
    }
}

/// The command-line flag of a signup field.
fn flag_of(field: &str) -> &str {
    match field {
        "firstName" => "--first-name",
        "lastName" => "--last-name",
        "email" => "--email",
        "passwordConfirm" => "the password again",
        "password" => "the password",
        other => other,
    }
}

/// A user as `--json` shows them: the API's fields, and whether disabled.
fn user_json(user: &UserRecord) -> Value {
    json!({
        "id": user.id,
        "email": user.email,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "createdAt": rfc3339(user.created_at),
        "disabled": user.is_disabled(),
        "disabledAt": user.disabled_at.map(rfc3339),
    })
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).expect("JSON values serialise")
}

fn status(user: &UserRecord) -> String {
    match user.disabled_at {
        Some(at) => format!("disabled {}", rfc3339(at)),
        None => "active".to_owned(),
    }
}

fn list(users: &[UserRecord]) {
    let rows: Vec<[String; 5]> = users
        .iter()
        .map(|u| {
            [
                u.id.clone(),
                printable(&u.email).into_owned(),
                printable(&format!("{} {}", u.first_name, u.last_name)).into_owned(),
                rfc3339(u.created_at),
                status(u),
            ]
        })
        .collect();
    let header = ["ID", "EMAIL", "NAME", "CREATED", "STATUS"].map(str::to_owned);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
    println!("{} user(s)", users.len());
}

fn show(user: &UserRecord, sessions: usize) {
    println!("id             {}", user.id);
    println!("email          {}", printable(&user.email));
    println!("first name     {}", printable(&user.first_name));
    println!("last name      {}", printable(&user.last_name));
    println!("created        {}", rfc3339(user.created_at));
    println!("status         {}", status(user));
    println!("live sessions  {sessions}");
}
