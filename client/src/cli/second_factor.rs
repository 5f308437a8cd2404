//! `gatepass 2fa status|enable|confirm|disable|recovery-codes`, and the
//! code a two-factor sign-in asks for.

use std::io::IsTerminal;

use clap::Subcommand;
use gatepass_common::ErrorCode;
use serde_json::json;

use super::print::{out, out_json};
use super::prompt::{prompt_line, read_password};
use crate::api::{ApiClient, SecondFactor};
use crate::display::escape;
use crate::error::{ClientError, Result};

pub const TWO_FACTOR_HELP: &str = "\
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

/// `gatepass 2fa ...`.
pub(super) async fn two_factor(
    client: &ApiClient,
    action: TwoFactorAction,
    json: bool,
) -> Result<()> {
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

/// The second step of a sign-in, asked for on the terminal: a code from the
/// authenticator app, or a recovery code (told apart by their shape: six
/// digits, or letters and a dash). Without a terminal it fails at once.
pub(super) fn prompt_second_factor() -> Result<SecondFactor> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
