//! `gatepass-server backup DIR`: a consistent copy of the SQLite database,
//! taken while a server runs, and the generated secrets beside it.
//!
//! The copy is SQLite's `VACUUM INTO`: one statement that reads the database
//! in one read transaction (a snapshot: WAL lets the running server keep
//! writing meanwhile, and nothing it commits later is in the copy) and writes
//! a compact, self-contained file (no `-wal` to carry along). No unsafe call
//! into libsqlite3's online-backup API is needed for that. Its progress is the
//! size of the file written so far, polled, against the size of the pages in
//! use.
//!
//! Nothing is ever written under a final name half-way: both files are
//! written under temporary names in DIR, then linked to `secrets.json` and,
//! last, `gatepass.db` (a link fails on an existing name, so no backup is
//! ever overwritten). A DIR holding `gatepass.db` holds a whole backup.
//!
//! PostgreSQL has its own tools (`pg_dump`, `pg_restore`); the command says
//! so before connecting to anything.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::{Config, DatabaseUrl};
use crate::db::{self, Backend};

/// The names of a backup's files in its folder (the restored server's data
/// folder takes them as they are).
pub const DATABASE_FILE: &str = "gatepass.db";
pub const SECRETS_FILE: &str = "secrets.json";

/// The size of the pages in use (what `VACUUM INTO` writes, about).
const PAGES_IN_USE: &str = "SELECT (p.page_count - f.freelist_count) * s.page_size \
     FROM pragma_page_count() AS p, pragma_freelist_count() AS f, pragma_page_size() AS s";
/// The copy: one read transaction on the source, a new file at `$1`.
const VACUUM_INTO: &str = "VACUUM INTO $1";

/// How often the progress looks at the size of the copy.
const POLL_EVERY: Duration = Duration::from_millis(100);

/// What went wrong, and the exit code it is reported with.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Not this command's to do, or it would overwrite a backup: exit 2.
    #[error("{0}")]
    Refused(String),
    /// A file or the database failed: exit 1.
    #[error("{what} {}: {reason}", path.display())]
    Failed {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
}

impl BackupError {
    pub fn exit_code(&self) -> u8 {
        match self {
            BackupError::Refused(_) => 2,
            BackupError::Failed { .. } => 1,
        }
    }
}

fn failed<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> BackupError + 'a {
    move |e| BackupError::Failed {
        what,
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

fn database_failed(path: &Path) -> impl FnOnce(sqlx::Error) -> BackupError + '_ {
    move |e| BackupError::Failed {
        what: "cannot copy the database",
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

/// What a backup wrote.
#[derive(Debug)]
pub struct Report {
    /// The database the copy was taken from.
    pub source: PathBuf,
    /// Each file written, with its size in bytes.
    pub written: Vec<(PathBuf, u64)>,
    /// Whether the secrets file is among them (the keys were generated), or
    /// the keys are configured, and the operator keeps them.
    pub secrets_copied: bool,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "backup of {} written:", self.source.display())?;
        for (path, bytes) in &self.written {
            writeln!(f, "  {}  {}", path.display(), HumanBytes(*bytes))?;
        }
        if !self.secrets_copied {
            writeln!(
                f,
                "AUTH_ACCESS_TOKEN_SECRET and AUTH_REFRESH_TOKEN_SECRET are configured, not \
                 generated, so there is no secrets file to copy: keep them with this backup \
                 (without them its stored tokens are useless)"
            )?;
        }
        Ok(())
    }
}

/// Copies the configured SQLite database and, when the signing keys were
/// generated, the secrets file into `dir` (created 0700 if missing; files
/// 0600). `progress`: show a progress bar on stderr (a terminal).
pub async fn backup(config: &Config, dir: &Path, progress: bool) -> Result<Report, BackupError> {
    let source = match &config.database.url {
        DatabaseUrl::Postgres(_) => {
            return Err(BackupError::Refused(
                "the database is PostgreSQL: back it up with pg_dump (and restore it with \
                 pg_restore); `backup` copies SQLite databases"
                    .to_owned(),
            ))
        }
        DatabaseUrl::Sqlite { path, options } => {
            if path.as_os_str() == ":memory:" || options.contains("mode=memory") {
                return Err(BackupError::Refused(
                    "the database is in memory: there is nothing on disk to back up".to_owned(),
                ));
            }
            path.clone()
        }
    };
    // Opening it as the server does would create an empty database.
    match std::fs::metadata(&source) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => {
            return Err(failed("cannot back up", &source)(std::io::Error::other(
                "not a file",
            )))
        }
        Err(e) => return Err(failed("cannot open the database", &source)(e)),
    }
    let secrets = config
        .generated_secrets_file()
        .map_err(|e| BackupError::Failed {
            what: "cannot read the secrets file",
            path: config.server.data_dir.join(SECRETS_FILE),
            reason: e.to_string(),
        })?;

    prepare_dir(dir)?;
    let database_target = dir.join(DATABASE_FILE);
    let secrets_target = dir.join(SECRETS_FILE);
    for target in [&database_target, &secrets_target] {
        if target.symlink_metadata().is_ok() {
            return Err(already_there(target));
        }
    }

    let mut partial = Partial::default();
    let mut written = Vec::new();

    // The secrets first: they do not change, and a failure here costs no copy.
    let secrets_partial = match &secrets {
        Some(path) => {
            let bytes =
                std::fs::read(path).map_err(failed("cannot read the secrets file", path))?;
            let temp = partial.name(dir, SECRETS_FILE);
            write_new(&temp, &bytes)?;
            Some((temp, bytes.len() as u64))
        }
        None => None,
    };

    let database_partial = partial.name(dir, DATABASE_FILE);
    let size = copy_database(config, &source, &database_partial, progress).await?;
    seal(&database_partial)?;

    // Published: secrets.json, then gatepass.db (a folder with gatepass.db
    // holds a whole backup).
    if let Some((temp, bytes)) = secrets_partial {
        publish(&temp, &secrets_target)?;
        partial.published.push(secrets_target.clone());
        written.push((secrets_target, bytes));
    }
    publish(&database_partial, &database_target)?;
    partial.published.clear();
    written.insert(0, (database_target, size));
    sync_dir(dir)?;
    drop(partial);

    Ok(Report {
        source,
        written,
        secrets_copied: secrets.is_some(),
    })
}

fn already_there(target: &Path) -> BackupError {
    BackupError::Refused(format!(
        "{} already exists: a backup is never overwritten; choose a new or empty folder",
        target.display()
    ))
}

/// Creates `dir` for this user alone when it is missing.
fn prepare_dir(dir: &Path) -> Result<(), BackupError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(failed("cannot create the backup folder", dir))?;
    if !dir.is_dir() {
        return Err(failed("cannot write into", dir)(std::io::Error::other(
            "not a folder",
        )));
    }
    Ok(())
}

/// The temporary files of one backup, removed unless published (also on an
/// error or a panic), and the final names published so far, removed when
/// the backup does not complete.
#[derive(Default)]
struct Partial {
    files: Vec<PathBuf>,
    published: Vec<PathBuf>,
}

impl Partial {
    /// A temporary name for `name` in `dir`, hidden, unique to this process.
    fn name(&mut self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(format!(".{name}.{}.partial", std::process::id()));
        // One left by an earlier run of the same process id (a crash).
        let _ = std::fs::remove_file(&path);
        self.files.push(path.clone());
        path
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        for path in self.files.iter().chain(&self.published) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Writes a new file, 0600, and waits for the disk.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(failed("cannot create", path))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(failed("cannot write", path))
}

/// Makes the copy 0600 (SQLite created it under the process's mask) and
/// waits for the disk (`VACUUM INTO` does not).
fn seal(path: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(failed("cannot restrict", path))?;
    }
    std::fs::File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(failed("cannot write", path))
}

/// Gives `temp` its final name, which must not exist yet; `temp` goes.
fn publish(temp: &Path, target: &Path) -> Result<(), BackupError> {
    match std::fs::hard_link(temp, target) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(already_there(target))
        }
        // A file system without links: the check above is all there is.
        Err(_) if target.symlink_metadata().is_err() => {
            std::fs::rename(temp, target).map_err(failed("cannot write", target))?;
            return Ok(());
        }
        Err(_) => return Err(already_there(target)),
    }
    std::fs::remove_file(temp).map_err(failed("cannot remove", temp))
}

/// The folder's entries reach the disk.
fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(failed("cannot write", dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// `VACUUM INTO` the database at `target`, showing the bytes written so far;
/// returns the copy's size.
async fn copy_database(
    config: &Config,
    source: &Path,
    target: &Path,
    progress: bool,
) -> Result<u64, BackupError> {
    let backend = db::connect(&config.database)
        .await
        .map_err(database_failed(source))?;
    let Backend::Sqlite { pool, .. } = &backend else {
        unreachable!("a sqlite: URL opens SQLite");
    };
    let copied = async {
        let estimate: i64 = sqlx::query_scalar(PAGES_IN_USE)
            .fetch_one(pool)
            .await
            .map_err(database_failed(source))?;
        let bar = progress_bar(progress, estimate.max(0) as u64);
        let target_text = target.to_str().ok_or_else(|| BackupError::Failed {
            what: "cannot write",
            path: target.to_owned(),
            reason: "the path is not UTF-8".to_owned(),
        })?;
        let vacuum = sqlx::query(VACUUM_INTO).bind(target_text).execute(pool);
        let mut vacuum = std::pin::pin!(vacuum);
        let mut ticks = rocket::tokio::time::interval(POLL_EVERY);
        let done = loop {
            rocket::tokio::select! {
                done = &mut vacuum => break done,
                _ = ticks.tick() => {
                    let size = std::fs::metadata(target).map_or(0, |m| m.len());
                    bar.set_position(size.min(bar.length().unwrap_or(size)));
                }
            }
        };
        bar.finish_and_clear();
        done.map_err(database_failed(source))?;
        Ok(())
    }
    .await;
    backend.close().await;
    copied?;
    Ok(std::fs::metadata(target)
        .map_err(failed("cannot read", target))?
        .len())
}

/// A bar on stderr, or nothing when `show` is off (not a terminal).
fn progress_bar(show: bool, estimate: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(estimate), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} copying the database: {bytes} of about {total_bytes} [{wide_bar}] {elapsed}",
    )
    .expect("a valid template")
    .progress_chars("#>-");
    bar.set_style(style);
    bar.enable_steady_tick(POLL_EVERY);
    bar
}
