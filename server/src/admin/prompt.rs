//! The password of `users create`: asked for on the terminal without echo,
//! or read from standard input (`--password-stdin`).

use std::io::{BufRead, IsTerminal, Read, Write};

use super::AdminError;

/// Where the password comes from, decided before anything else happens.
pub enum Source {
    /// Asked for, twice, on the terminal.
    Terminal,
    /// Standard input: what a script pipes in.
    Stdin,
}

impl Source {
    /// `--password-stdin`, or the terminal; with neither (a CI job, a
    /// service), exit 2 at once, naming the flag, rather than wait.
    pub fn choose(password_stdin: bool) -> Result<Source, AdminError> {
        if password_stdin {
            Ok(Source::Stdin)
        } else if std::io::stdin().is_terminal() {
            Ok(Source::Terminal)
        } else {
            Err(AdminError::Usage(
                "standard input is not a terminal, so the password cannot be asked for: \
                 pass it on standard input with --password-stdin"
                    .to_owned(),
            ))
        }
    }

    /// The password and its confirmation (the same text from stdin).
    pub fn read(&self, email: &str) -> Result<(String, String), AdminError> {
        match self {
            Source::Stdin => {
                let mut text = String::new();
                std::io::stdin()
                    .lock()
                    .read_to_string(&mut text)
                    .map_err(|e| {
                        AdminError::Usage(format!("cannot read the password from stdin: {e}"))
                    })?;
                let password = without_newline(text);
                Ok((password.clone(), password))
            }
            Source::Terminal => {
                let password = ask_hidden(&format!("Password for {email}: "))?;
                let confirm = ask_hidden("The same password again: ")?;
                Ok((password, confirm))
            }
        }
    }
}

/// The text without the one line ending a pipe or `echo` adds.
fn without_newline(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

/// Prints `prompt` on stderr and reads a line from the terminal on stdin
/// with its echo off.
fn ask_hidden(prompt: &str) -> Result<String, AdminError> {
    let failed = |e: std::io::Error| AdminError::Failed(format!("cannot read the password: {e}"));
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "{prompt}");
    let _ = stderr.flush();
    let echo_off = EchoOff::new().map_err(failed)?;
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    drop(echo_off);
    read.map_err(failed)?;
    Ok(without_newline(line))
}

/// The terminal's echo, off until dropped (the newline still shows).
struct EchoOff {
    #[cfg(unix)]
    saved: libc::termios,
}

impl EchoOff {
    #[cfg(unix)]
    fn new() -> std::io::Result<EchoOff> {
        // SAFETY: all-zero is a valid termios, filled in by tcgetattr before
        // any use.
        let mut settings: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: fd 0 and a termios we own, for the duration of the call.
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut settings) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let saved = settings;
        settings.c_lflag &= !libc::ECHO;
        settings.c_lflag |= libc::ECHONL;
        // SAFETY: as above.
        if unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &settings) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(EchoOff { saved })
    }

    #[cfg(not(unix))]
    fn new() -> std::io::Result<EchoOff> {
        Ok(EchoOff {})
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: restores the settings read in `new`, on fd 0.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_ending_is_taken_off() {
        assert_eq!(without_newline("pw\n".into()), "pw");
        assert_eq!(without_newline("pw\r\n".into()), "pw");
        assert_eq!(without_newline("pw".into()), "pw");
        assert_eq!(without_newline("pw \n\n".into()), "pw \n");
        assert_eq!(without_newline(String::new()), "");
    }
}
