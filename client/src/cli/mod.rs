//! The scripted `gatepass` commands: parse, call `ApiClient`, print. Data
//! goes to stdout (JSON with `--json`), everything else to stderr.
//!
//! `args` is the grammar, `execute` the dispatch; a command group has its
//! own module (`second_factor`, `tokens`), `prompt` reads what a command
//! asks for, `print` writes its data and `report` its errors.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};

use clap::{CommandFactory, Parser};
use gatepass_common::SignupRequest;
use serde_json::json;

mod args;
mod print;
mod prompt;
mod report;
mod second_factor;
mod tokens;

pub use args::{Cli, Command, SessionsAction, DEBUG_ENV};
pub use second_factor::TwoFactorAction;

use crate::api::{self, ApiClient, ClientConfig, Login, LogoutOutcome, SecondFactor, Trace};
use crate::config::FileConfig;
use crate::display::escape;
use crate::error::{exit, ClientError, Result};
use print::{
    out, out_json, print_sessions, print_signed_in, print_status, print_user, print_user_view,
    status_exit_code,
};
use prompt::{read_password, read_reset_token};
use report::{clap_error, print_notices, report};
use second_factor::{prompt_second_factor, two_factor};
use tokens::TokensAction;

/// Runs `gatepass` with the process's arguments; returns the exit code.
pub fn main() -> i32 {
    run(std::env::args_os())
}

pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return clap_error(e, args.iter().any(|a| a == "--json")),
    };
    let json = cli.json;
    let command = match cli.command {
        Some(command) => command,
        None if on_a_terminal() => Command::Tui,
        None => return no_command(),
    };
    // Generated from the definitions in `args`; need no settings or server.
    match command {
        Command::Completion { shell } => return completion(shell),
        Command::Man { dir } => return man(dir.as_deref(), json),
        _ => {}
    }
    let file = match FileConfig::load() {
        Ok(file) => file,
        Err(e) => return report(&e, json),
    };
    let server = resolve_server(cli.server.clone(), &file);
    // The terminal app owns the terminal: lines on stderr would tear its screen.
    let trace = (cli.verbose && !matches!(command, Command::Tui)).then(Trace::stderr);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return report(&ClientError::io("cannot start the async runtime", e), json);
        }
    };
    runtime.block_on(async move {
        // Building the client refuses plain http to another host, before
        // any prompt or request.
        let client = match ClientConfig::from_env(&server, cli.allow_http, &file)
            .and_then(|config| ApiClient::with_trace(config, trace))
        {
            Ok(client) => client,
            Err(e) => return report(&e, json),
        };
        // The plain-http warning goes out before any password is asked for;
        // the terminal app shows the client's notices itself.
        if !matches!(command, Command::Tui) {
            print_notices(&client, json);
        }
        let result = execute(&client, command, json).await;
        print_notices(&client, json);
        match result {
            Ok(code) => code,
            Err(e) => report(&e, json),
        }
    })
}

/// The server: `--server`, else `GATEPASS_SERVER` (clap reads both into
/// `flag_or_env`; empty counts as unset, like every variable here), else
/// the config file's, else the default.
fn resolve_server(flag_or_env: Option<String>, file: &FileConfig) -> String {
    flag_or_env
        .filter(|server| !server.trim().is_empty())
        .or_else(|| file.server.clone())
        .unwrap_or_else(|| api::DEFAULT_SERVER.to_owned())
}

fn on_a_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// No subcommand in a script (on a terminal it opens the app): a usage
/// error, never a wait for input.
fn no_command() -> i32 {
    let help = Cli::command().render_help();
    eprintln!("{help}");
    eprintln!("gatepass: no command given");
    exit::USAGE
}

/// `gatepass completion SHELL`: the script on stdout.
fn completion(shell: clap_complete::Shell) -> i32 {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "gatepass", &mut script);
    match std::io::stdout().write_all(&script) {
        Ok(()) => exit::OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
        Err(e) => report(&ClientError::io("cannot write the script", e), false),
    }
}

/// `gatepass man`: gatepass.1 on stdout, or every page into `dir`.
fn man(dir: Option<&std::path::Path>, json: bool) -> i32 {
    let command = Cli::command();
    let result = match dir {
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(command, dir))
            .map_err(|e| {
                ClientError::io(
                    format!("cannot write the man pages to {}", dir.display()),
                    e,
                )
            }),
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .and_then(|()| std::io::stdout().write_all(&page))
                .or_else(|e| match e.kind() {
                    std::io::ErrorKind::BrokenPipe => Ok(()),
                    _ => Err(e),
                })
                .map_err(|e| ClientError::io("cannot write the man page", e))
        }
    };
    match result {
        Ok(()) => exit::OK,
        Err(e) => report(&e, json),
    }
}

/// When an access token expires (RFC 3339), if it says.
fn expires_at(token: &str) -> Option<String> {
    crate::jwt::expires_at(token).and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    })
}

/// Runs one command; the exit code when it ran (0, or 4 for `status`
/// when not signed in).
async fn execute(client: &ApiClient, command: Command, json: bool) -> Result<i32> {
    match command {
        Command::Signup {
            first_name,
            last_name,
            email,
            password_stdin,
        } => {
            // Before any password is asked for.
            client.check_can_sign_in()?;
            let password = read_password(password_stdin, true)?;
            let request = SignupRequest {
                first_name,
                last_name,
                email,
                password: password.clone(),
                password_confirm: Some(password),
            };
            let user = client.signup(&request).await?;
            print_signed_in(&user, json);
        }
        Command::Login {
            email,
            password_stdin,
            code,
            recovery_code,
        } => {
            // Before any password is asked for.
            client.check_can_sign_in()?;
            let password = read_password(password_stdin, false)?;
            let user = match client.login(&email, &password).await? {
                Login::SignedIn(user) => user,
                Login::MfaRequired { mfa_token } => {
                    let factor = match (code, recovery_code) {
                        (Some(code), _) => SecondFactor::Code(code),
                        (None, Some(code)) => SecondFactor::RecoveryCode(code),
                        (None, None) => prompt_second_factor()?,
                    };
                    client.login_second_factor(&mfa_token, &factor).await?
                }
            };
            print_signed_in(&user, json);
        }
        Command::Me => print_user(&client.me().await?, json),
        Command::User { id } => print_user_view(&client.user(&id).await?, json),
        Command::Token => {
            let token = client.access_token().await?;
            if json {
                out_json(json!({ "accessToken": token, "expiresAt": expires_at(&token) }));
            } else {
                // A real token has nothing to escape; a hostile one loses its controls.
                out(escape(&token));
            }
        }
        Command::Status => {
            // A personal token is known to work only once it was exchanged:
            // try, and keep the refusal to show.
            let refusal = if client.uses_personal_token() {
                match client.access_token().await {
                    Ok(_) => None,
                    Err(ClientError::AuthRequired(reason)) => Some(reason),
                    Err(e) => return Err(e),
                }
            } else {
                None
            };
            let mut status = client.status().await?;
            status.signed_in &= refusal.is_none();
            print_status(&status, refusal.as_ref(), json);
            return Ok(status_exit_code(&status));
        }
        Command::Refresh => {
            let token = client.refresh().await?;
            let expires = expires_at(&token);
            if json {
                out_json(json!({ "accessTokenExpiresAt": expires }));
            } else {
                out(format!(
                    "Access token refreshed; it expires at {}.",
                    expires.as_deref().unwrap_or("an unknown time")
                ));
            }
        }
        Command::Logout { all } => {
            let outcome = match client.logout(all).await {
                Ok(outcome) => outcome,
                Err(e @ ClientError::Unreachable { .. }) if !client.uses_env_token() => {
                    // Local credentials are gone already; say what that means.
                    eprintln!(
                        "gatepass: signed out on this machine, but the server was not told: \
                         the session stays valid there until it expires"
                    );
                    return Err(e);
                }
                Err(e) => return Err(e),
            };
            if json {
                out_json(json!({ "outcome": outcome, "all": all }));
            } else if client.uses_personal_token() {
                out(format!(
                    "Nothing to sign out of: {} holds a personal access token, and the access \
                     tokens it gets are kept in memory only. The token itself works until it \
                     expires or is revoked (`gatepass tokens revoke ID`, signed in).",
                    api::API_TOKEN_ENV
                ));
            } else {
                out(match (outcome, all) {
                    (LogoutOutcome::Ended, true) => "Signed out of every session.",
                    (LogoutOutcome::Ended, false) => "Signed out.",
                    (LogoutOutcome::AlreadyEnded, _) => {
                        "Signed out (the session had already ended)."
                    }
                    (LogoutOutcome::NotSignedIn, _) => "Not signed in.",
                });
            }
        }
        Command::Forgot { email } => {
            let answer = client.forgot_password(&email).await?;
            if json {
                out_json(json!({ "message": answer.message, "feedback": answer.feedback }));
            } else {
                out(escape(&answer.feedback.unwrap_or(answer.message)));
            }
        }
        Command::Reset {
            token_or_link,
            token_stdin,
            password_stdin,
        } => {
            let token_or_link = match token_or_link {
                Some(given) => given,
                None => read_reset_token(token_stdin, password_stdin)?,
            };
            // Check the token before asking for a password.
            api::reset_token(&token_or_link)?;
            let password = read_password(password_stdin, true)?;
            let answer = client.reset_password(&token_or_link, &password).await?;
            if json {
                out_json(json!({ "message": answer.message }));
            } else {
                out(format!(
                    "{} Sign in with the new password.",
                    escape(&answer.message)
                ));
            }
        }
        Command::Sessions { action: None } => {
            let sessions = client.sessions().await?;
            if json {
                out_json(json!({ "sessions": sessions }));
            } else {
                print_sessions(&sessions);
            }
        }
        Command::Sessions {
            action: Some(SessionsAction::Revoke { id }),
        } => {
            client.revoke_session(&id).await?;
            if json {
                out_json(json!({ "revoked": id }));
            } else {
                out(format!("Session {} ended.", escape(&id)));
            }
        }
        Command::TwoFactor { action } => {
            two_factor(client, action.unwrap_or(TwoFactorAction::Status), json).await?;
        }
        Command::Tokens { action } => {
            tokens::tokens(client, action.unwrap_or(TokensAction::List), json).await?;
        }
        // Answered before any client exists (see `run`).
        Command::Completion { shell } => return Ok(completion(shell)),
        Command::Man { dir } => return Ok(man(dir.as_deref(), json)),
        Command::Tui => {
            if !on_a_terminal() {
                return Err(ClientError::Usage(
                    "the terminal app needs a terminal; scripts use the other commands".to_owned(),
                ));
            }
            crate::tui::run(client.clone()).await?;
        }
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_is_the_flag_or_env_then_the_file_then_the_default() {
        let file = FileConfig {
            server: Some("https://from.file".into()),
            ..FileConfig::default()
        };
        let given = Some("https://given".to_owned());
        assert_eq!(resolve_server(given.clone(), &file), "https://given");
        assert_eq!(resolve_server(None, &file), "https://from.file");
        assert_eq!(resolve_server(Some(" ".into()), &file), "https://from.file");
        assert_eq!(
            resolve_server(None, &FileConfig::default()),
            api::DEFAULT_SERVER
        );
        assert_eq!(
            resolve_server(given, &FileConfig::default()),
            "https://given"
        );
    }

    #[test]
    fn completions_are_generated_for_every_shell() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
            clap_complete::Shell::PowerShell,
            clap_complete::Shell::Elvish,
        ] {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "gatepass", &mut script);
            let script = String::from_utf8(script).unwrap();
            for word in ["revoke", "completion", "server", "verbose"] {
                assert!(script.contains(word), "{shell} lacks {word}");
            }
        }
    }

    #[test]
    fn bad_arguments_exit_2_and_help_exits_0() {
        assert_eq!(run(["gatepass", "frobnicate"]), 2);
        assert_eq!(run(["gatepass", "login"]), 2);
        assert_eq!(run(["gatepass", "--help"]), 0);
        assert_eq!(run(["gatepass", "--json", "user"]), 2);
    }
}
