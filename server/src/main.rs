//! `gatepass-server`: reads the command line, then the configuration,
//! reports it, and serves; or applies the migrations (`migrate`), or checks
//! and prints the configuration (`check-config`), or copies the database
//! and the generated secrets (`backup`), or runs an operator's command on
//! the accounts or the audit trail (`users`, `audit`: see `admin/`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gatepass_server::config::{SettingDoc, SETTINGS};
use gatepass_server::db::{self, Backend};
use gatepass_server::signing_keys::{self, command::KeysAction};
use gatepass_server::{logging, Config};

/// The version and the commit it was built from (server/build.rs), in
/// semver's build-metadata form, as the health bodies give it.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+", env!("GATEPASS_GIT_COMMIT"));

/// The gatepass authentication server.
///
/// Its settings come from the environment and a `.env` file (see the README),
/// not from the command line.
#[derive(Parser)]
#[command(name = "gatepass-server", version = VERSION)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the API (what `gatepass-server` alone does).
    Serve,
    /// Applies the database migrations of this version, then exits.
    ///
    /// Safe while a server runs on the same database: on SQLite each
    /// migration waits for the write lock, on PostgreSQL for sqlx's
    /// migration lock.
    Migrate,
    /// Checks every setting and prints the effective configuration, secrets
    /// redacted; exits 2 naming the first bad setting.
    ///
    /// Creates nothing: not the data folder, not the secrets file, not the
    /// database.
    CheckConfig {
        /// One JSON object, setting name to value.
        #[arg(long)]
        json: bool,
    },
    /// Lists, shows, creates, disables, enables and deletes user accounts on
    /// the configured database (beside a running server); each change is
    /// audited with the operator's OS user name.
    Users {
        #[command(subcommand)]
        command: gatepass_server::admin::UsersCommand,
    },
    /// Reads the audit trail.
    Audit {
        #[command(subcommand)]
        command: gatepass_server::admin::AuditCommand,
    },
    /// Copies the SQLite database, consistent while a server runs on it, to
    /// DIR/gatepass.db, and the generated secrets to DIR/secrets.json.
    ///
    /// Never overwrites a backup (exit 2 when DIR holds one). On PostgreSQL,
    /// use pg_dump instead (exit 2). The README's "Backups and restore"
    /// section says how to restore.
    Backup {
        /// The folder to write into; created (mode 0700) if missing.
        dir: PathBuf,
    },
    /// Manages the Ed25519 keys that sign access tokens (EdDSA), on the
    /// configured database; running servers see a change within seconds.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[rocket::main]
async fn main() -> ExitCode {
    // First, before any folder or secret is created: `--help`, `--version`
    // and a mistyped argument (exit 2, clap's message) end here.
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Migrate => migrate().await,
        Command::CheckConfig { json } => check_config(json),
        Command::Users { command } => gatepass_server::admin::users(command, start).await,
        Command::Audit { command } => gatepass_server::admin::audit(command, start).await,
        Command::Backup { dir } => backup(&dir).await,
        Command::Keys { action } => match start() {
            Ok(config) => signing_keys::command::run(&config, action).await,
            Err(code) => code,
        },
    }
}

/// Prints a configuration error as every command does, and its exit code.
fn configuration_error(e: impl std::fmt::Display) -> ExitCode {
    log::error!(target: "gatepass::config", "configuration error: {e}");
    eprintln!("gatepass-server: configuration error: {e}");
    ExitCode::from(2)
}

/// What `serve` and `migrate` do first: the file mask, the log, and the
/// configuration (which creates the data folder and, if needed, the
/// secrets); exit 2 on a bad setting.
fn start() -> Result<Config, ExitCode> {
    // Before anything is created: nothing the server writes is for other
    // local users (the database with its password hashes and emails, the
    // generated secrets, mailed reset links). The mask also covers the files
    // SQLite creates later by itself (`-wal`, `-shm`), which no open call of
    // ours could give a mode: files 0600, folders 0700.
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
    logging::init().map_err(configuration_error)?;
    let config = Config::load().map_err(configuration_error)?;
    for notice in &config.notices {
        log::warn!(target: "gatepass::config", "{notice}");
    }
    Ok(config)
}

async fn serve() -> ExitCode {
    let config = match start() {
        Ok(config) => config,
        Err(code) => return code,
    };
    log::info!(
        target: "gatepass::config",
        "data folder {}, access tokens live {:?}, refresh tokens {:?}",
        config.server.data_dir.display(),
        config.tokens.access_token_ttl,
        config.tokens.refresh_token_ttl
    );
    let server = match gatepass_server::build(config) {
        Ok(server) => server,
        Err(e) => {
            log::error!(target: "gatepass::config", "cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(state) = server.state::<gatepass_server::state::AppState>() {
        log::info!(target: "gatepass::mail", "{}", state.mailer.describe(&state.config));
    }
    match server.launch().await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!(target: "gatepass::launch", "server failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Applies the migrations the database lacks and says which (or that it was
/// already current); exit 1, naming the database (never its password), when
/// it cannot be opened or migrated.
async fn migrate() -> ExitCode {
    let config = match start() {
        Ok(config) => config,
        Err(code) => return code,
    };
    let database = config.database.url.redacted();
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        log::error!(target: "gatepass::db", "{what} {database}: {e}");
        eprintln!("gatepass-server: {what} {database}: {e}");
        ExitCode::FAILURE
    };
    let backend = match db::connect(&config.database).await {
        Ok(backend) => backend,
        Err(e) => return failed("cannot open the database", &e),
    };
    let before = applied_versions(&backend).await;
    let prepared = db::prepare(&backend).await;
    let after = applied_versions(&backend).await;
    backend.close().await;
    if let Err(e) = prepared {
        return failed("cannot migrate the database", &e);
    }
    let migrator = backend.migrator();
    let mut applied = 0;
    // Those applied meanwhile: by this run (or by a server starting beside it).
    for migration in migrator.iter() {
        if !before.contains(&migration.version) && after.contains(&migration.version) {
            println!("applied {} {}", migration.version, migration.description);
            applied += 1;
        }
    }
    let total = migrator.iter().count();
    if applied == 0 {
        println!("{database}: already current ({total} migrations)");
    } else {
        println!("{database}: current ({total} migrations, {applied} applied now)");
    }
    ExitCode::SUCCESS
}

/// The versions of the migrations applied to the database (none when it
/// cannot tell: the comparison then reports every migration as applied now).
async fn applied_versions(backend: &Backend) -> Vec<i64> {
    backend.applied_migrations().await.unwrap_or_default()
}

/// Copies the database and the generated secrets into `dir`, with a
/// progress bar when stderr is a terminal, and says what it wrote.
async fn backup(dir: &Path) -> ExitCode {
    let config = match start() {
        Ok(config) => config,
        Err(code) => return code,
    };
    let progress = std::io::stderr().is_terminal();
    match gatepass_server::backup::backup(&config, dir, progress).await {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            log::error!(target: "gatepass::backup", "backup failed: {e}");
            eprintln!("gatepass-server: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Reads the configuration as `serve` would, without creating anything, and
/// prints every setting with its effective value, secrets redacted.
fn check_config(json: bool) -> ExitCode {
    if let Err(e) = logging::init() {
        return configuration_error(e);
    }
    // As the logger read them: from the environment, before `.env` is loaded.
    let log_filter = std::env::var("GATEPASS_LOG")
        .ok()
        .and_then(|filter| logging::parse_filter(&filter).ok());
    let log_format = std::env::var("GATEPASS_LOG_FORMAT")
        .ok()
        .map(|format| format.trim().to_ascii_lowercase());
    let checked = match Config::check() {
        Ok(checked) => checked,
        Err(e) => return configuration_error(e),
    };
    for notice in checked.notices() {
        log::warn!(target: "gatepass::config", "{notice}");
    }
    let mut values = checked.describe();
    // The settings read elsewhere (the log's), in the README's order.
    for setting in SETTINGS.iter().filter(|s| !s.read_here) {
        let value = match setting.name {
            "GATEPASS_LOG" => log_filter.clone(),
            "GATEPASS_LOG_FORMAT" => log_format.clone(),
            _ => None,
        };
        values.push((setting.name, value.unwrap_or_else(|| default_text(setting))));
    }
    if json {
        let object: serde_json::Map<String, serde_json::Value> = values
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.into()))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&object).expect("strings serialise")
        );
    } else {
        let width = values.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
        for (name, value) in values {
            println!("{name:<width$}  {value}");
        }
    }
    ExitCode::SUCCESS
}

/// A setting's default as the README gives it.
fn default_text(setting: &SettingDoc) -> String {
    match setting.default {
        gatepass_server::config::DefaultDoc::Value(value) => value.to_owned(),
        gatepass_server::config::DefaultDoc::Text(text) => text.to_owned(),
    }
}
