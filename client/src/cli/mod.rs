//! The scripted `gatepass` commands: parse, call `ApiClient`, print. Data
//! goes to stdout (JSON with `--json`), everything else to stderr.

use std::ffi::OsString;
use std::io::{BufRead, IsTerminal, Write};

use clap::{CommandFactory, Parser, Subcommand};
use gatepass_common::{ErrorCode, SessionInfo, SignupRequest, User, UserView};
use serde_json::json;

mod tokens;

use crate::api::{
    self, ApiClient, ClientConfig, Login, LogoutOutcome, SecondFactor, Status, Trace,
};
use crate::config::{self, FileConfig};
use crate::display::escape;
use crate::error::{exit, AuthRequired, ClientError, Result};
use tokens::TokensAction;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the server refused the request
  2  usage error (bad arguments, no terminal to prompt for a password,
     plain http:// to another host without --allow-http, a bad config file)
  3  the server could not be reached
  4  authentication required (not signed in, session ended, unreadable credentials,
     GATEPASS_API_TOKEN refused, or a command that a personal access token
     may not run: it needs a signed-in session)

Environment:
  GATEPASS_SERVER        the server URL (like --server)
  GATEPASS_ALLOW_HTTP    1: like --allow-http
  GATEPASS_DEBUG         1: like --verbose
  GATEPASS_API_TOKEN     a personal access token (gp_pat_..., `gatepass tokens create`):
                         every command exchanges it for access tokens, kept in
                         memory only; nothing is stored and `login` is not needed
  GATEPASS_ACCESS_TOKEN  use this access token for every command; store nothing
  GATEPASS_TOKEN_STORE   where to keep the access token: auto (default), keyring, file
  GATEPASS_CONFIG_DIR    the folder of config.toml (default $XDG_CONFIG_HOME/gatepass)
  GATEPASS_DATA_DIR      the folder of the credentials (default $XDG_DATA_HOME/gatepass)

Config file (config.toml in the config folder):
  server = \"https://auth.example.com\"   the default server
  token_store = \"file\"                  like GATEPASS_TOKEN_STORE
A flag wins over its environment variable, which wins over the file.";

const RESET_HELP: &str = "\
Where the token and the new password come from:
  gatepass reset                                   both asked for on the terminal, not echoed
  gatepass reset --password-stdin                  the token asked for on the terminal;
                                                   the password is the first line of stdin
  gatepass reset --token-stdin --password-stdin    the token is the first line of stdin,
                                                   the password the second
  gatepass reset --token-stdin                     the token from stdin, the password asked
                                                   for on the terminal (stdin is a terminal)
  gatepass reset LINK                              the password asked for; the link shows
                                                   in `ps` and in your shell history
Without a terminal, whatever is not given on stdin is a usage error (exit 2),
never a wait for input.";

const LOGIN_HELP: &str = "\
Two-factor sign-in: when the account asks for a code, it is asked for on the
terminal (an authenticator code, or a recovery code instead). In a script,
give it with --code CODE (or --recovery-code CODE); without a terminal and
without either flag such a sign-in is a usage error (exit 2).";

const TWO_FACTOR_HELP: &str = "\
On a terminal:
  gatepass 2fa enable          password, QR code, a code from the app, recovery codes
In a script, in two steps (the second within a few minutes, with a code
computed from the secret the first printed):
  gatepass --json 2fa enable --password-stdin   prints {\"secret\", \"otpauthUri\"}
  gatepass --json 2fa confirm --code CODE       prints {\"totp\": true, \"recoveryCodes\": [...]}
  gatepass 2fa disable --password-stdin --code CODE   (CODE may be a recovery code)
  gatepass 2fa recovery-codes --code CODE
Without a terminal, a code not given with --code (or a password not given
with --password-stdin) is a usage error (exit 2), never a wait for input.";

#[derive(Debug, Parser)]
#[command(
    name = "gatepass",
    version,
    about = "Sign in to a gatepass server and use its API from the terminal or a script.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// The server's URL [default: `server` in config.toml, else
    /// http://127.0.0.1:8000].
    #[arg(long, global = true, env = api::SERVER_ENV, value_name = "URL")]
    pub server: Option<String>,

    /// Print data, and errors (on stderr), as JSON.
    #[arg(long, global = true)]
    pub json: bool,

    /// Send passwords and tokens over plain http:// to a host that is not
    /// this machine (loopback). Anyone on the network path can read them;
    /// without this flag such a server is refused before anything is asked
    /// or sent.
    #[arg(
        long,
        global = true,
        env = api::ALLOW_HTTP_ENV,
        value_parser = opt_in
    )]
    pub allow_http: bool,

    /// Print each HTTP request and response (method, URL, status, time) on
    /// stderr; tokens, cookies, passwords and bodies are never shown. Not in
    /// the terminal app.
    #[arg(
        long,
        short = 'v',
        global = true,
        env = DEBUG_ENV,
        value_parser = opt_in
    )]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an account and sign in.
    Signup {
        /// Your first name, as other users see it.
        #[arg(long)]
        first_name: String,
        /// Your last name, as other users see it.
        #[arg(long)]
        last_name: String,
        /// The email address to sign in with and get reset links at.
        #[arg(long)]
        email: String,
        /// Read the password from standard input (one line) instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Sign in (with a code too when the account has two-factor sign-in).
    #[command(after_help = LOGIN_HELP)]
    Login {
        /// The account's email address.
        #[arg(long)]
        email: String,
        /// Read the password from standard input (one line) instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
        /// The code from your authenticator app, if the account asks for one
        /// (otherwise it is asked for on the terminal).
        #[arg(long, value_name = "CODE", conflicts_with = "recovery_code")]
        code: Option<String>,
        /// One of the account's recovery codes instead of an authenticator
        /// code (each works once).
        #[arg(long, value_name = "CODE")]
        recovery_code: Option<String>,
    },
    /// Show the signed-in user.
    Me,
    /// Show a user by id.
    User {
        /// The user's id (`gatepass me` shows yours); someone else's profile
        /// comes without the email.
        id: String,
    },
    /// Print a valid access token (refreshed, or got with GATEPASS_API_TOKEN,
    /// if needed), for `curl -H "Authorization: Bearer $(gatepass token)"`.
    Token,
    /// Show the server, the user, where the token is kept and when things expire.
    Status,
    /// Get a new access token now.
    Refresh,
    /// Sign out here (and with --all, on every device).
    Logout {
        /// End every session of the user, on every device.
        #[arg(long)]
        all: bool,
    },
    /// Ask for a password-reset email.
    Forgot {
        /// The account's email address; the link goes there.
        #[arg(long)]
        email: String,
    },
    /// Set a new password with the token or link from the reset email.
    #[command(after_help = RESET_HELP)]
    Reset {
        /// The reset token, or the whole link from the email. Given here, it
        /// is visible to every local user in the process list (`ps`) while
        /// the command runs, and stays in your shell history: leave it out
        /// to be asked for it, or use --token-stdin.
        token_or_link: Option<String>,
        /// Read the token (or link) from standard input: its first line.
        #[arg(long, conflicts_with = "token_or_link")]
        token_stdin: bool,
        /// Read the new password from standard input (one line; the second
        /// line with --token-stdin) instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List your live sessions, or end one.
    Sessions {
        #[command(subcommand)]
        action: Option<SessionsAction>,
    },
    /// Personal access tokens for scripts and CI (GATEPASS_API_TOKEN): make,
    /// list and revoke them.
    #[command(after_help = tokens::TOKENS_HELP)]
    Tokens {
        #[command(subcommand)]
        action: Option<TokensAction>,
    },
    /// Two-factor sign-in: a code from an authenticator app after the password.
    #[command(name = "2fa", after_help = TWO_FACTOR_HELP)]
    TwoFactor {
        #[command(subcommand)]
        action: Option<TwoFactorAction>,
    },
    /// Open the full-screen terminal app (what `gatepass` alone does on a terminal).
    Tui,
    /// Print a shell completion script, e.g. `gatepass completion bash >
    /// ~/.local/share/bash-completion/completions/gatepass`.
    Completion {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into a folder.
    #[command(hide = true)]
    Man {
        /// Write gatepass.1 and a page per command (gatepass-login.1, …) here
        /// instead of printing gatepass.1.
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TwoFactorAction {
    /// Whether sign-in asks for a code, and how many recovery codes are left
    /// (what `gatepass 2fa` alone shows).
    Status,
    /// Turn it on: asks for the password, shows the QR code, the otpauth://
    /// URI and the secret, asks for a code from the app, and prints the
    /// recovery codes. In a script (or with --json) it stops after the
    /// secret: finish with `gatepass 2fa confirm --code CODE`.
    Enable {
        /// Read the password from standard input (one line) instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Finish `enable`: a code from the app turns it on; prints the recovery codes.
    Confirm {
        /// The code the authenticator app shows now (asked for on a terminal).
        #[arg(long, value_name = "CODE")]
        code: Option<String>,
    },
    /// Turn it off (asks for the password and a code).
    Disable {
        /// Read the password from standard input (one line) instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
        /// A code from the authenticator app, or a recovery code (asked for
        /// on a terminal).
        #[arg(long, value_name = "CODE")]
        code: Option<String>,
    },
    /// Replace the recovery codes with ten new ones (asks for a code).
    RecoveryCodes {
        /// A code from the authenticator app (asked for on a terminal).
        #[arg(long, value_name = "CODE")]
        code: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionsAction {
    /// End one session (by the id `gatepass sessions` shows).
    Revoke {
        /// The session's id, as `gatepass sessions` lists it.
        id: String,
    },
}

/// `1` (or `true`, `yes`, `on`): like `--verbose`.
pub const DEBUG_ENV: &str = "GATEPASS_DEBUG";

/// `GATEPASS_ALLOW_HTTP`'s values (clap hands the flag itself in as
/// `true`): the usual yes and no words; empty is unset. Anything else is a
/// usage error rather than a guess either way.
fn opt_in(value: &str) -> std::result::Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "on" => Ok(true),
        "" | "0" | "false" | "no" | "n" | "off" => Ok(false),
        _ => Err("use 1 or 0 (true or false)".to_owned()),
    }
}

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
    // Generated from the definitions above; need no settings or server.
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

/// Clap's own errors exit 2 (help and version 0); as JSON with `--json`.
fn clap_error(error: clap::Error, json: bool) -> i32 {
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

fn report(error: &ClientError, json: bool) -> i32 {
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

fn print_notices(client: &ApiClient, json: bool) {
    for notice in client.take_notices() {
        if json {
            eprintln!("{}", json!({ "notice": notice }));
        } else {
            eprintln!("gatepass: {}", escape(&notice));
        }
    }
}

/// Prints one line of data to stdout; a closed pipe is not an error worth a panic.
fn out(line: impl std::fmt::Display) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

fn out_json(value: serde_json::Value) {
    out(value);
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
                let expires = crate::jwt::expires_at(&token).and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                });
                out_json(json!({ "accessToken": token, "expiresAt": expires }));
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
            let expires = crate::jwt::expires_at(&token).and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            });
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

/// `gatepass 2fa ...`.
async fn two_factor(client: &ApiClient, action: TwoFactorAction, json: bool) -> Result<()> {
    match action {
        TwoFactorAction::Status => {
            let status = client.second_factor_status().await?;
            if json {
                out_json(json!({
                    "totp": status.totp,
                    "recoveryCodesLeft": status.recovery_codes_left,
                }));
            } else if status.totp {
                out(format!(
                    "Two-factor sign-in: on ({} recovery code{} left).",
                    status.recovery_codes_left,
                    if status.recovery_codes_left == 1 {
                        ""
                    } else {
                        "s"
                    }
                ));
            } else {
                out("Two-factor sign-in: off.");
            }
        }
        TwoFactorAction::Enable { password_stdin } => {
            let password = read_password(password_stdin, false)?;
            let setup = client.totp_setup(&password).await?;
            // A person at a terminal goes on to the code; a script (or
            // --json) takes the secret and confirms in a second command.
            let interactive = !json && std::io::stdin().is_terminal();
            if json {
                out_json(json!({ "secret": setup.secret, "otpauthUri": setup.otpauth_uri }));
            } else {
                print_enrolment(&setup.secret, &setup.otpauth_uri, interactive)?;
            }
            if !interactive {
                eprintln!(
                    "gatepass: two-factor sign-in is not on yet: finish with \
                     `gatepass 2fa confirm --code CODE` (a code from the app)"
                );
                return Ok(());
            }
            let mut attempts = 0;
            let codes = loop {
                let code = prompt_line("Code from your authenticator app: ", "code")?;
                match client.totp_confirm(&code).await {
                    Err(e) if e.server_code() == Some(ErrorCode::InvalidCode) && attempts < 2 => {
                        attempts += 1;
                        eprintln!(
                            "gatepass: {} Is the phone's clock right? Try the next code.",
                            escape(&e.to_string())
                        );
                    }
                    result => break result?,
                }
            };
            print_recovery_codes(&codes, true, json);
        }
        TwoFactorAction::Confirm { code } => {
            let code = code_from(code)?;
            let codes = client.totp_confirm(&code).await?;
            print_recovery_codes(&codes, true, json);
        }
        TwoFactorAction::Disable {
            password_stdin,
            code,
        } => {
            // Both are checked before anything is read or sent.
            need_code(&code)?;
            let password = read_password(password_stdin, false)?;
            let code = code_from(code)?;
            client.totp_disable(&password, &code).await?;
            if json {
                out_json(json!({ "totp": false }));
            } else {
                out("Two-factor sign-in is off: signing in takes the password alone.");
            }
        }
        TwoFactorAction::RecoveryCodes { code } => {
            let code = code_from(code)?;
            let codes = client.regenerate_recovery_codes(&code).await?;
            print_recovery_codes(&codes, false, json);
        }
    }
    Ok(())
}

/// Without `--code` a code is asked for on the terminal; without a terminal
/// either, that is a usage error now, before anything is read or sent.
fn need_code(given: &Option<String>) -> Result<()> {
    if given.is_none() && !std::io::stdin().is_terminal() {
        return Err(ClientError::Usage(
            "no terminal to ask for the code on: pass it with --code CODE".to_owned(),
        ));
    }
    Ok(())
}

/// The code from `--code`, else asked for on the terminal.
fn code_from(given: Option<String>) -> Result<String> {
    need_code(&given)?;
    match given {
        Some(code) if code.trim().is_empty() => {
            Err(ClientError::Usage("--code: no code given".to_owned()))
        }
        Some(code) => Ok(code),
        None => prompt_line("Code from your authenticator app: ", "code"),
    }
}

/// What the authenticator app needs: the QR code (on a terminal, when it
/// fits), the secret and the URI. The QR code comes last, right above the
/// prompt for the code, so the whole of it stays on an 80x24 screen.
fn print_enrolment(secret: &str, uri: &str, interactive: bool) -> Result<()> {
    out("Add gatepass to your authenticator app: scan the QR code below, or enter the");
    out("secret by hand (time-based, 6 digits, 30 seconds).");
    out(format!("  secret: {}", escape(secret)));
    out(format!("  URI:    {}", escape(uri)));
    if !interactive || !std::io::stdout().is_terminal() {
        return Ok(());
    }
    // One line under it for the prompt. A terminal of unknown size is taken
    // for 80x24.
    let (columns, rows) = crossterm::terminal::size().unwrap_or((80, 24));
    let (columns, rows) = (usize::from(columns), usize::from(rows));
    match crate::qr::draw_to_fit(uri, columns, rows.saturating_sub(1))? {
        Some(drawing) => {
            for line in &drawing.lines {
                out(line);
            }
        }
        None => {
            let needed = crate::qr::draw_to_fit(uri, usize::MAX, usize::MAX)?
                .map(|d| (d.width, d.height + 1))
                .unwrap_or((0, 0));
            out(format!(
                "The QR code needs a terminal of at least {} columns and {} lines (this one \
                 is {columns}x{rows}): enlarge the window and run this again, or enter the \
                 secret by hand.",
                needed.0, needed.1
            ));
        }
    }
    Ok(())
}

fn print_recovery_codes(codes: &[String], enabled: bool, json: bool) {
    if json {
        if enabled {
            out_json(json!({ "totp": true, "recoveryCodes": codes }));
        } else {
            out_json(json!({ "recoveryCodes": codes }));
        }
        return;
    }
    if enabled {
        out("Two-factor sign-in is on: signing in now asks for a code from the app.");
    } else {
        out("New recovery codes; the old ones no longer work.");
    }
    out("Recovery codes (each works once, in place of a code, if you lose the phone):");
    for code in codes {
        out(format!("  {}", escape(code)));
    }
    out("Store them somewhere safe now (a password manager, or on paper): they are not shown again.");
}

/// The next line of standard input, without its line end; `what` and
/// `flag` name it in errors. Successive calls read successive lines (std's
/// stdin buffer is shared).
fn read_stdin_line(what: &str, flag: &str) -> Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        ClientError::Usage(format!("cannot read the {what} from standard input: {e}"))
    })?;
    let value = line.trim_end_matches(['\n', '\r']).to_owned();
    if value.is_empty() {
        return Err(ClientError::Usage(format!(
            "{flag}: standard input held no {what}"
        )));
    }
    Ok(value)
}

/// The reset token (or link) when it is not an argument: the first line of
/// standard input with `--token-stdin`, else a no-echo prompt on the
/// terminal (a reset token is as good as a password until it is used).
/// Without a terminal it fails at once rather than wait (CI).
fn read_reset_token(from_stdin: bool, password_stdin: bool) -> Result<String> {
    if from_stdin {
        return read_stdin_line("reset token", "--token-stdin");
    }
    if !std::io::stdin().is_terminal() {
        let hint = if password_stdin {
            "put it on the first line of standard input with --token-stdin (the password \
             on the second)"
        } else {
            "pass it on standard input with --token-stdin"
        };
        return Err(ClientError::Usage(format!(
            "no reset token given and no terminal to ask for it on: {hint}"
        )));
    }
    let token = rpassword::prompt_password("Reset link or token (not shown): ")
        .map_err(|e| ClientError::Usage(format!("cannot read the reset token: {e}")))?;
    let token = token.trim().to_owned();
    if token.is_empty() {
        return Err(ClientError::Usage("no reset token given".to_owned()));
    }
    Ok(token)
}

/// The second step of a sign-in, asked for on the terminal: a code from the
/// authenticator app, or a recovery code (told apart by their shape: six
/// digits, or letters and a dash). Without a terminal it fails at once.
fn prompt_second_factor() -> Result<SecondFactor> {
    if !std::io::stdin().is_terminal() {
        return Err(ClientError::Usage(
            "this account has two-factor sign-in and there is no terminal to ask for the code \
             on: pass --code CODE (or --recovery-code CODE)"
                .to_owned(),
        ));
    }
    let typed = prompt_line(
        "Code from your authenticator app (or one of your recovery codes): ",
        "code",
    )?;
    Ok(classify_code(&typed))
}

/// Six digits (spaces allowed) are an authenticator code; anything else is
/// taken for a recovery code.
fn classify_code(typed: &str) -> SecondFactor {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
        SecondFactor::Code(digits)
    } else {
        SecondFactor::RecoveryCode(typed.trim().to_owned())
    }
}

/// One visible line typed on the terminal after `prompt` (on stderr); `what`
/// names it in errors. Call only when stdin is a terminal.
fn prompt_line(prompt: &str, what: &str) -> Result<String> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| ClientError::Usage(format!("cannot read the {what}: {e}")))?;
    let value = line.trim().to_owned();
    if value.is_empty() {
        return Err(ClientError::Usage(format!("no {what} given")));
    }
    Ok(value)
}

/// A password from `--password-stdin` (one line) or a no-echo prompt on the
/// terminal; never from the command line. Without a terminal it fails at
/// once rather than wait for input that will not come (CI).
fn read_password(from_stdin: bool, confirm: bool) -> Result<String> {
    if from_stdin {
        return read_stdin_line("password", "--password-stdin");
    }
    if !std::io::stdin().is_terminal() {
        return Err(ClientError::Usage(
            "no terminal to prompt for the password on: pass it on standard input with --password-stdin"
                .to_owned(),
        ));
    }
    let prompt_error =
        |e: std::io::Error| ClientError::Usage(format!("cannot read the password: {e}"));
    let password = rpassword::prompt_password("Password: ").map_err(prompt_error)?;
    if confirm {
        let again = rpassword::prompt_password("Password again: ").map_err(prompt_error)?;
        if again != password {
            return Err(ClientError::Usage("the two passwords differ".to_owned()));
        }
    }
    Ok(password)
}

fn print_signed_in(user: &User, json: bool) {
    if json {
        out_json(json!({ "user": user }));
    } else {
        out(format!(
            "Signed in as {} {} <{}>.",
            escape(&user.first_name),
            escape(&user.last_name),
            escape(&user.email)
        ));
    }
}

fn print_user(user: &User, json: bool) {
    if json {
        out_json(json!({ "user": user }));
    } else {
        out(format!(
            "{} {} <{}>",
            escape(&user.first_name),
            escape(&user.last_name),
            escape(&user.email)
        ));
        out(format!("id:      {}", escape(&user.id)));
        out(format!("created: {}", escape(&user.created_at)));
    }
}

/// `GET /:id`: someone else's profile has no email.
fn print_user_view(user: &UserView, json: bool) {
    match user {
        UserView::Full(user) => print_user(user, json),
        UserView::Public(_) if json => out_json(json!({ "user": user })),
        UserView::Public(profile) => {
            out(format!(
                "{} {}",
                escape(&profile.first_name),
                escape(&profile.last_name)
            ));
            out(format!("id:      {}", escape(&profile.id)));
            out(format!("created: {}", escape(&profile.created_at)));
        }
    }
}

/// Like `gh auth status`, a script can ask "am I signed in?" by the exit
/// code alone: 4, the code of every command that needs a session, when
/// not. The output is the same either way.
fn status_exit_code(status: &Status) -> i32 {
    if status.signed_in {
        exit::OK
    } else {
        exit::AUTH_REQUIRED
    }
}

/// `refusal`: why the personal access token in GATEPASS_API_TOKEN did not
/// work (then `status.signed_in` is false).
fn print_status(status: &Status, refusal: Option<&AuthRequired>, json: bool) {
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
        (Some(u), true) => format!(
            "yes, as {} {} <{}>",
            escape(&u.first_name),
            escape(&u.last_name),
            escape(&u.email)
        ),
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

fn print_sessions(sessions: &[SessionInfo]) {
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

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn passwords_are_never_arguments() {
        for args in [
            vec!["gatepass", "login", "--email", "a@b.c", "--password", "x"],
            vec!["gatepass", "login", "--email", "a@b.c", "x"],
        ] {
            assert!(Cli::try_parse_from(args).is_err());
        }
    }

    #[test]
    fn the_opt_in_takes_yes_and_no_words_and_nothing_else() {
        for yes in ["1", "true", "YES", "on", " y "] {
            assert_eq!(opt_in(yes), Ok(true), "{yes}");
        }
        for no in ["", "0", "false", "No", "off", "n"] {
            assert_eq!(opt_in(no), Ok(false), "{no}");
        }
        for junk in ["2", "maybe", "allow"] {
            assert!(opt_in(junk).is_err(), "{junk}");
        }
        let cli = Cli::try_parse_from(["gatepass", "me", "--allow-http"]).unwrap();
        assert!(cli.allow_http, "a global flag, after the command too");
    }

    #[test]
    fn the_reset_token_is_an_argument_or_comes_from_stdin_never_both() {
        let cli = Cli::try_parse_from(["gatepass", "reset"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Reset {
                token_or_link: None,
                token_stdin: false,
                ..
            })
        ));
        let cli = Cli::try_parse_from(["gatepass", "reset", "abc"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Reset { token_or_link: Some(t), .. }) if t == "abc"
        ));
        assert!(Cli::try_parse_from(["gatepass", "reset", "abc", "--token-stdin"]).is_err());
    }

    #[test]
    fn six_digits_are_a_code_anything_else_a_recovery_code() {
        assert_eq!(
            classify_code(" 123 456 "),
            SecondFactor::Code("123456".into())
        );
        assert_eq!(
            classify_code("k7dq2-x9mfp"),
            SecondFactor::RecoveryCode("k7dq2-x9mfp".into())
        );
        assert_eq!(
            classify_code("12345"),
            SecondFactor::RecoveryCode("12345".into())
        );
    }

    #[test]
    fn a_login_code_is_a_code_or_a_recovery_code_never_both() {
        let cli =
            Cli::try_parse_from(["gatepass", "login", "--email", "a@b.c", "--code", "123456"])
                .unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Login { code: Some(c), recovery_code: None, .. }) if c == "123456"
        ));
        assert!(Cli::try_parse_from([
            "gatepass",
            "login",
            "--email",
            "a@b.c",
            "--code",
            "1",
            "--recovery-code",
            "2"
        ])
        .is_err());
    }

    #[test]
    fn bad_arguments_exit_2_and_help_exits_0() {
        assert_eq!(run(["gatepass", "frobnicate"]), 2);
        assert_eq!(run(["gatepass", "login"]), 2);
        assert_eq!(run(["gatepass", "--help"]), 0);
        assert_eq!(run(["gatepass", "--json", "user"]), 2);
    }
}
