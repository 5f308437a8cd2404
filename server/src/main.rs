//! `gatepass-server`: reads the command line, then the configuration,
//! reports it, and serves.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
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
}

#[rocket::main]
async fn main() -> ExitCode {
    // First, before any folder or secret is created: `--help`, `--version`
    // and a mistyped argument (exit 2, clap's message) end here.
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
    }
}

async fn serve() -> ExitCode {
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
    if let Err(e) = logging::init() {
        log::error!(target: "gatepass::config", "configuration error: {e}");
        eprintln!("gatepass-server: configuration error: {e}");
        return ExitCode::from(2);
    }
    let config = match Config::load() {
        Ok(config) => config,
        Err(e) => {
            log::error!(target: "gatepass::config", "configuration error: {e}");
            eprintln!("gatepass-server: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    for notice in &config.notices {
        log::warn!(target: "gatepass::config", "{notice}");
    }
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
