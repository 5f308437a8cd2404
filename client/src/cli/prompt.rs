//! What the commands read: passwords, codes and reset tokens, from standard
//! input when a flag says so, else typed on the terminal. Without a
//! terminal, whatever is not on stdin is a usage error, never a wait.

use std::io::{BufRead, IsTerminal, Write};

use crate::error::{ClientError, Result};

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
pub(super) fn read_reset_token(from_stdin: bool, password_stdin: bool) -> Result<String> {
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

/// One visible line typed on the terminal after `prompt` (on stderr); `what`
/// names it in errors. Call only when stdin is a terminal.
pub(super) fn prompt_line(prompt: &str, what: &str) -> Result<String> {
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
pub(super) fn read_password(from_stdin: bool, confirm: bool) -> Result<String> {
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
