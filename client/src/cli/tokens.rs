//! `gatepass tokens create|list|revoke`: personal access tokens for scripts
//! and CI (`GATEPASS_API_TOKEN`). Only a signed-in session may manage them.

use std::io::IsTerminal;

use clap::Subcommand;
use gatepass_common::{CreatedTokenResponse, ErrorCode, PersonalToken};
use serde_json::json;

use super::print::{out, out_json};
use super::prompt::prompt_line;
use crate::api::{ApiClient, API_TOKEN_ENV};
use crate::display::escape;
use crate::error::{ClientError, Result};

pub const TOKENS_HELP: &str = "\
A personal access token lets a script or a CI job use the API without a
password: put it in GATEPASS_API_TOKEN and every command exchanges it for
short-lived access tokens, kept in memory only (nothing is written).
  gatepass tokens create --name ci --expires 90d   prints the token, once
  GATEPASS_API_TOKEN=gp_pat_... gatepass me --json
  curl -H \"Authorization: Bearer $(gatepass token)\" ...
Making, listing and revoking tokens needs a signed-in session (`gatepass
login`), not a token. Signing out everywhere and changing the password do
not revoke tokens: revoke them here.";

#[derive(Debug, Subcommand)]
pub enum TokensAction {
    /// Make a token; it is printed this once.
    Create {
        /// What the token is for, e.g. the pipeline that uses it.
        #[arg(long)]
        name: String,
        /// How long it lives: 30d, 12h, ... (at most 365d) [default: the
        /// server's, 90d].
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        /// With two-factor sign-in on: the code from your authenticator app
        /// (otherwise it is asked for on the terminal).
        #[arg(long, value_name = "CODE")]
        code: Option<String>,
    },
    /// List your tokens (never their secrets); what `gatepass tokens` alone does.
    List,
    /// Revoke a token: it, and the access tokens it got, stop working at once.
    Revoke {
        /// The token's id, as `gatepass tokens list` shows it.
        id: String,
    },
}

/// `gatepass tokens ...`.
pub(super) async fn tokens(client: &ApiClient, action: TokensAction, json: bool) -> Result<()> {
    match action {
        TokensAction::Create {
            name,
            expires,
            code,
        } => {
            let created = create(client, &name, expires.as_deref(), code).await?;
            print_created(&created, json);
        }
        TokensAction::List => {
            let tokens = client.personal_tokens().await?;
            if json {
                out_json(json!({ "tokens": tokens }));
            } else if tokens.is_empty() {
                eprintln!("gatepass: no personal access tokens");
            } else {
                for line in table(&tokens) {
                    out(line);
                }
            }
        }
        TokensAction::Revoke { id } => {
            client.revoke_personal_token(&id).await?;
            if json {
                out_json(json!({ "revoked": id }));
            } else {
                out(format!(
                    "Personal access token {} revoked: it and its access tokens no longer work.",
                    escape(&id)
                ));
            }
        }
    }
    Ok(())
}

/// `POST /tokens`; with two-factor sign-in on and no `--code`, the server
/// answers 403 `mfa_required`: the code is asked for on a terminal (a
/// script passes `--code`), and the request sent again.
async fn create(
    client: &ApiClient,
    name: &str,
    expires: Option<&str>,
    code: Option<String>,
) -> Result<CreatedTokenResponse> {
    let first = client
        .create_personal_token(name, expires, code.as_deref())
        .await;
    match first {
        Err(e) if code.is_none() && e.server_code() == Some(ErrorCode::MfaRequired) => {
            if !std::io::stdin().is_terminal() {
                return Err(ClientError::Usage(
                    "this account has two-factor sign-in and there is no terminal to ask for \
                     the code on: pass --code CODE"
                        .to_owned(),
                ));
            }
            let code = prompt_line("Code from your authenticator app: ", "code")?;
            client
                .create_personal_token(name, expires, Some(&code))
                .await
        }
        result => result,
    }
}

/// The token alone on stdout (for `> file` or a secret store); what it is
/// on stderr. With `--json`, the whole object, token included.
fn print_created(created: &CreatedTokenResponse, json: bool) {
    if json {
        out_json(json!({
            "id": created.id,
            "name": created.name,
            "createdAt": created.created_at,
            "expiresAt": created.expires_at,
            "token": created.token,
        }));
        return;
    }
    // A real token has nothing to escape; a hostile one loses its controls.
    out(escape(&created.token));
    eprintln!(
        "gatepass: personal access token {:?} (id {}) made; it expires at {}. Store it now \
         (a CI secret, a password manager): it is not shown again. Scripts use it as \
         {API_TOKEN_ENV}.",
        escape(&created.name),
        escape(&created.id),
        escape(&created.expires_at),
    );
}

/// The tokens as aligned columns under a header.
fn table(tokens: &[PersonalToken]) -> Vec<String> {
    let rows: Vec<[String; 5]> = tokens
        .iter()
        .map(|t| {
            [
                &t.id,
                &t.name,
                &t.created_at,
                &t.expires_at,
                t.last_used_at.as_deref().unwrap_or("never"),
            ]
            .map(|cell| escape(cell).into_owned())
        })
        .collect();
    let header = ["ID", "NAME", "CREATED", "EXPIRES", "LAST USED"].map(str::to_owned);
    let mut widths = [0usize; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    std::iter::once(&header)
        .chain(&rows)
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_aligns_columns_and_escapes_the_servers_strings() {
        let tokens = vec![
            PersonalToken {
                id: "tok1".into(),
                name: "ci".into(),
                created_at: "2026-01-01T00:00:00Z".into(),
                expires_at: "2026-04-01T00:00:00Z".into(),
                last_used_at: None,
            },
            PersonalToken {
                id: "tok22".into(),
                name: "deploy\u{1b}[2J".into(),
                created_at: "2026-01-02T00:00:00Z".into(),
                expires_at: "2026-04-02T00:00:00Z".into(),
                last_used_at: Some("2026-01-03T00:00:00Z".into()),
            },
        ];
        let lines = table(&tokens);
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("ID     NAME"), "{lines:?}");
        assert!(lines[1].starts_with("tok1   ci "), "{lines:?}");
        assert!(lines[1].ends_with("never"), "{lines:?}");
        assert!(!lines[2].contains('\u{1b}'), "{lines:?}");
        let expires = lines[0].find("EXPIRES").unwrap();
        assert_eq!(&lines[1][expires..expires + 10], "2026-04-01");
    }
}
