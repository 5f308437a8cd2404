//! The command line's grammar: the flags and subcommands clap parses, and
//! the help texts that go with them. A command group with a module of its
//! own (`tokens`, `second_factor`) defines its subcommands there.

use clap::{Parser, Subcommand};

use super::second_factor::{TwoFactorAction, TWO_FACTOR_HELP};
use super::tokens::{self, TokensAction};
use crate::api;

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
        // A token is base64url: one in 64 begins with `-`, and is a token.
        #[arg(allow_hyphen_values = true)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

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
    fn a_reset_token_that_begins_with_a_hyphen_is_a_token_not_a_flag() {
        let token = |args: &[&str]| match Cli::try_parse_from(args).unwrap().command {
            Some(Command::Reset {
                token_or_link,
                password_stdin,
                ..
            }) => (token_or_link, password_stdin),
            other => panic!("{other:?}"),
        };
        let expected = (Some("-Bx7_q".to_owned()), true);
        assert_eq!(
            token(&["gatepass", "reset", "-Bx7_q", "--password-stdin"]),
            expected
        );
        assert_eq!(
            token(&["gatepass", "reset", "--password-stdin", "-Bx7_q"]),
            expected
        );
        // The flags are still flags.
        assert_eq!(
            token(&["gatepass", "reset", "--password-stdin"]),
            (None, true)
        );
        let cli = Cli::try_parse_from(["gatepass", "reset", "--token-stdin", "--password-stdin"]);
        assert!(matches!(
            cli.unwrap().command,
            Some(Command::Reset {
                token_or_link: None,
                token_stdin: true,
                password_stdin: true
            })
        ));
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
}
