//! `gatepass-server keys list | rotate | retire KID`: the signing keys by
//! hand, on the configured database, with servers running or not (they see
//! the change within [`SYNC_INTERVAL`](super::SYNC_INTERVAL)).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use super::{KeyError, Retirement, Rotation, SigningKeys};
use crate::auth::keys::Ed25519Pair;
use crate::config::{AccessTokenAlg, Config};
use crate::db;
use crate::store::signing_keys::{KeyState, SigningKeyRecord};
use crate::store::{now_ms, rfc3339, Store};

#[derive(Debug, Clone, Subcommand)]
pub enum KeysAction {
    /// Lists the keys that may verify a live token: the current one (signs),
    /// the next one (published, signs after the next rotation) and retired
    /// ones until their last tokens expire.
    List {
        /// One JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Rotates now: the next key signs from now on, a new next key is
    /// published, and the old key verifies until its tokens expire. Nobody
    /// is signed out.
    Rotate {
        /// The outcome as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Makes your own Ed25519 key the next key: published from now on, it
    /// signs from the next rotation (`keys rotate` for now). FILE holds a
    /// PKCS#8 private key in PEM, as `openssl genpkey -algorithm ed25519`
    /// writes it; the database keeps it sealed like the generated keys.
    Import {
        /// The PEM file (`-` for standard input).
        file: PathBuf,
        /// The outcome as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Stops the key KID from verifying at once, as after a leak. Access
    /// tokens it signed are refused from now on (clients refresh and stay
    /// signed in); the current key is first rotated away.
    Retire {
        /// The key's id, as `keys list` and the JWKS show it.
        // A kid is a base64url thumbprint, so one in 64 begins with `-`.
        #[arg(allow_hyphen_values = true)]
        kid: String,
        /// The outcome as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `action`: exit 0 when done, 1 when the database fails, 2 for a kid
/// that names no key or a server that signs with HS256.
pub async fn run(config: &Config, action: KeysAction) -> ExitCode {
    if config.tokens.access_token_alg != AccessTokenAlg::EdDSA {
        eprintln!(
            "gatepass-server: AUTH_ACCESS_TOKEN_ALG is HS256: tokens are signed with \
             AUTH_ACCESS_TOKEN_SECRET, there are no signing keys to manage"
        );
        return ExitCode::from(2);
    }
    // A bad key file is the operator's to fix (exit 2), found before the
    // database is opened.
    let imported = match &action {
        KeysAction::Import { file, .. } => match read_key(file) {
            Ok(pair) => Some(pair),
            Err(e) => {
                eprintln!("gatepass-server: {}: {e}", file.display());
                return ExitCode::from(2);
            }
        },
        _ => None,
    };
    let store = match open(config).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("gatepass-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let keys = SigningKeys::new(config);
    let outcome = match action {
        KeysAction::List { json } => keys.list(&store).await.map(|list| print_list(&list, json)),
        KeysAction::Rotate { json } => keys
            .rotate(&store)
            .await
            .map(|rotation| print_rotation(config, rotation.as_ref(), json)),
        KeysAction::Import { json, .. } => {
            let pair = imported.expect("read above");
            keys.import_next(&store, &pair).await.map(|kid| {
                if json {
                    println!("{}", json!({ "next": kid }));
                } else {
                    println!(
                        "{kid} is the next key: published now, it signs from the next rotation \
                         (`gatepass-server keys rotate` to make it sign now)"
                    );
                }
            })
        }
        KeysAction::Retire { kid, json } => keys
            .retire_now(&store, &kid)
            .await
            .map(|retirement| print_retirement(config, &retirement, json)),
    };
    store.close().await;
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ KeyError::UnknownKid(_)) => {
            eprintln!("gatepass-server: {e} (see `gatepass-server keys list`)");
            ExitCode::from(2)
        }
        Err(e) => {
            log::error!(target: "gatepass::keys", "{e}");
            eprintln!("gatepass-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The operator's key pair from `file` (`-`: standard input).
fn read_key(file: &Path) -> Result<Ed25519Pair, String> {
    let mut pem = String::new();
    let read = if file == Path::new("-") {
        std::io::stdin().read_to_string(&mut pem)
    } else {
        std::fs::File::open(file).and_then(|mut f| f.read_to_string(&mut pem))
    };
    read.map_err(|e| format!("cannot read it: {e}"))?;
    Ed25519Pair::from_pkcs8_pem(&pem)
}

/// The configured database, which must be migrated already.
async fn open(config: &Config) -> Result<Store, String> {
    let database = config.database.url.redacted();
    let backend = db::connect(&config.database)
        .await
        .map_err(|e| format!("cannot open the database {database}: {e}"))?;
    let store = Store::new(backend);
    match store.migrations_applied().await {
        Ok(true) => Ok(store),
        Ok(false) => {
            store.close().await;
            Err(format!(
                "the database {database} is not migrated: run `gatepass-server migrate` (or start the server) first"
            ))
        }
        Err(e) => {
            store.close().await;
            Err(format!("cannot read the database {database}: {e}"))
        }
    }
}

fn time(ms: Option<i64>) -> String {
    ms.map(rfc3339).unwrap_or_else(|| "-".to_owned())
}

fn print_list(keys: &[SigningKeyRecord], as_json: bool) {
    if as_json {
        let list: Vec<_> = keys
            .iter()
            .map(|k| {
                json!({
                    "kid": k.kid,
                    "algorithm": k.algorithm,
                    "state": k.state,
                    "publishedAt": rfc3339(k.created_at),
                    "signingSince": k.activated_at.map(rfc3339),
                    "retiredAt": k.retired_at.map(rfc3339),
                    "verifiesUntil": k.verify_until.map(rfc3339),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(list));
        return;
    }
    println!(
        "{:<44}  {:<8}  {:<24}  {:<24}  VERIFIES UNTIL",
        "KID", "STATE", "PUBLISHED", "SIGNING SINCE"
    );
    for k in keys {
        println!(
            "{:<44}  {:<8}  {:<24}  {:<24}  {}",
            k.kid,
            k.state,
            rfc3339(k.created_at),
            time(k.activated_at),
            match k.key_state() {
                Some(KeyState::Retired) => time(k.verify_until),
                _ => "-".to_owned(),
            }
        );
    }
}

fn rotation_json(rotation: &Rotation) -> serde_json::Value {
    json!({
        "current": rotation.current,
        "next": rotation.next,
        "retired": rotation.retired,
        "retiredVerifiesUntil": rfc3339(rotation.verifies_until),
    })
}

fn print_rotation(config: &Config, rotation: Option<&Rotation>, as_json: bool) {
    let Some(rotation) = rotation else {
        // Another server or command rotated between our reading and writing.
        if as_json {
            println!("{}", json!({ "rotated": false }));
        } else {
            println!("another process rotated the keys at the same moment: nothing more done");
        }
        return;
    };
    if as_json {
        let mut out = rotation_json(rotation);
        out["rotated"] = json!(true);
        println!("{out}");
    } else {
        println!(
            "{} signs new access tokens now\n{} is published as the next key\n{} verifies until {} (its last tokens expire); nobody is signed out",
            rotation.current,
            rotation.next,
            rotation.retired,
            rfc3339(rotation.verifies_until)
        );
    }
    warn_if_published_late(config, rotation);
}

/// A key that signs before verifiers' cached key sets can hold it: they
/// must fetch the key set again when they meet its kid (most libraries do).
fn warn_if_published_late(config: &Config, rotation: &Rotation) {
    let max_age = config.tokens.jwks_max_age;
    let published_for = now_ms() - rotation.current_published_at;
    if published_for < max_age.as_millis() as i64 {
        eprintln!(
            "note: {} was published {}s ago, less than AUTH_JWKS_MAX_AGE ({}s): services \
             whose cached key set predates it must fetch the key set again when they meet its kid",
            rotation.current,
            published_for / 1000,
            max_age.as_secs()
        );
    }
}

fn print_retirement(config: &Config, retirement: &Retirement, as_json: bool) {
    if as_json {
        let out = json!({
            "retired": retirement.kid,
            "was": retirement.was.as_str(),
            "rotation": retirement.rotation.as_ref().map(rotation_json),
        });
        println!("{out}");
    } else {
        if let Some(rotation) = &retirement.rotation {
            println!(
                "{} signs new access tokens now; {} is published as the next key",
                rotation.current, rotation.next
            );
        }
        println!(
            "retired {} (was {}) at once: this server and every server on the database refuse \
             its tokens within seconds; clients refresh and stay signed in. Services that cached \
             the key set may accept its tokens for up to AUTH_JWKS_MAX_AGE ({}s) more.",
            retirement.kid,
            retirement.was.as_str(),
            config.tokens.jwks_max_age.as_secs()
        );
    }
    if let Some(rotation) = &retirement.rotation {
        warn_if_published_late(config, rotation);
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::KeysAction;

    #[derive(Parser)]
    struct Keys {
        #[command(subcommand)]
        action: KeysAction,
    }

    #[test]
    fn a_kid_that_begins_with_a_hyphen_is_a_kid_not_a_flag() {
        for args in [
            ["keys", "retire", "-Bx7", "--json"],
            ["keys", "retire", "--json", "-Bx7"],
        ] {
            match Keys::try_parse_from(args).map(|k| k.action) {
                Ok(KeysAction::Retire { kid, json }) => {
                    assert_eq!((kid.as_str(), json), ("-Bx7", true))
                }
                other => panic!("{args:?}: {:?}", other.err()),
            }
        }
    }
}
