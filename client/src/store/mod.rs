//! Everything the client keeps on disk or in the OS keyring, one folder per
//! server so two servers never mix:
//!
//! ```text
//! <data dir>/gatepass/servers/<server>/
//!     cookies.json   the refresh cookie (the persisted cookie jar), mode 0600
//!     cookies.lock   held while a process reads, refreshes and rewrites the jar
//!     access-token   the access token, only when no OS keyring works, mode 0600
//!     state.json     which token store holds the token, and who signed in
//! ```
//!
//! Every file is written atomically (temp file + rename) with mode 0600 in a
//! folder of mode 0700, so a crash or a second process never sees half a file.

pub mod jar;
pub mod state;
pub mod token;

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{ClientError, Result};

/// The client's data folder: `$XDG_DATA_HOME/gatepass` (or
/// `~/.local/share/gatepass`) on Linux, the platform's equivalent elsewhere.
pub fn default_data_dir() -> Result<PathBuf> {
    dirs::data_dir()
        .map(|dir| dir.join("gatepass"))
        .ok_or_else(|| {
            ClientError::Usage(
                "cannot find a data folder for gatepass: set HOME (or XDG_DATA_HOME)".to_owned(),
            )
        })
}

/// The folder of one server's files.
#[derive(Debug, Clone)]
pub struct ServerDir {
    root: PathBuf,
    /// The highest folder this process created on the way to `root` (the
    /// data folder itself on a first run), so `tidy` can take back what a
    /// run that stored nothing made.
    created: Arc<Mutex<Option<PathBuf>>>,
}

impl ServerDir {
    /// `server` is the normalised server URL (see `ApiClient`).
    pub fn new(data_dir: &Path, server: &str) -> ServerDir {
        ServerDir {
            root: data_dir.join("servers").join(folder_name(server)),
            created: Arc::default(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn jar_path(&self) -> PathBuf {
        self.root.join("cookies.json")
    }

    pub fn lock_path(&self) -> PathBuf {
        self.root.join("cookies.lock")
    }

    pub fn token_path(&self) -> PathBuf {
        self.root.join("access-token")
    }

    pub fn state_path(&self) -> PathBuf {
        self.root.join("state.json")
    }

    /// Creates the folder (and its parents) with mode 0700, remembering the
    /// highest one that did not exist.
    pub fn create(&self) -> Result<()> {
        let missing = self
            .root
            .ancestors()
            .take_while(|dir| !dir.as_os_str().is_empty() && !dir.exists())
            .last()
            .map(Path::to_owned);
        create_private_dir(&self.root)
            .map_err(|e| ClientError::io(format!("cannot create {}", self.root.display()), e))?;
        if let Some(top) = missing {
            let mut created = self.created.lock().unwrap_or_else(|p| p.into_inner());
            // The first creation made the most; a later one remakes part of it.
            created.get_or_insert(top);
        }
        Ok(())
    }

    /// Takes the exclusive lock that serialises "read jar -> refresh -> write
    /// jar" across processes. Blocks; call it off the async workers. Released
    /// when the returned guard drops.
    pub fn lock_blocking(&self) -> Result<JarLock> {
        let path = self.lock_path();
        let mut attempts = 0;
        loop {
            attempts += 1;
            self.create()?;
            let file = match open_private(&path, false) {
                Ok(file) => file,
                // Another process's `tidy` removed the folder in between.
                Err(e) if e.kind() == io::ErrorKind::NotFound && attempts < 100 => continue,
                Err(e) => {
                    return Err(ClientError::io(
                        format!("cannot open {}", path.display()),
                        e,
                    ))
                }
            };
            // fs4 rather than std's File::lock: the workspace's MSRV (1.85)
            // predates std's (1.89). flock locks belong to the open file, so two
            // ApiClients in one process exclude each other as well.
            fs4::FileExt::lock(&file)
                .map_err(|e| ClientError::io(format!("cannot lock {}", path.display()), e))?;
            // `tidy` removes the lock file while holding it: a lock taken on
            // the removed file locks nothing, so take it again on the new one.
            if is_still_at(&file, &path) {
                return Ok(JarLock { _file: file });
            }
        }
    }

    /// Removes the folder when it holds nothing but the lock file (a run that
    /// stored nothing: the server was never reached, or every credential is
    /// gone), and the folders this process created above it when they are
    /// empty. Skipped while another process holds the lock.
    pub fn tidy(&self) {
        let path = self.lock_path();
        let only_the_lock = std::fs::read_dir(&self.root).is_ok_and(|entries| {
            entries
                .filter_map(|entry| entry.ok())
                .all(|entry| entry.path() == path)
        });
        if !only_the_lock {
            return;
        }
        #[cfg(unix)]
        {
            let Ok(file) = OpenOptions::new().read(true).open(&path) else {
                return;
            };
            if fs4::FileExt::try_lock(&file).is_err() || !is_still_at(&file, &path) {
                return;
            }
            let _ = std::fs::remove_file(&path);
            drop(file);
        }
        // Elsewhere an open file cannot be removed, nor its lock told from a
        // new one's: the lock file stays.
        if std::fs::remove_dir(&self.root).is_err() {
            return;
        }
        let top = self
            .created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(top) = top else { return };
        for dir in self.root.ancestors().skip(1) {
            if !dir.starts_with(&top) || std::fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
}

/// Whether `file` is still the file at `path` (not removed or replaced).
#[cfg(unix)]
fn is_still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn is_still_at(_file: &File, _path: &Path) -> bool {
    true
}

/// Holds the jar lock until dropped (closing the file releases it).
#[derive(Debug)]
pub struct JarLock {
    _file: File,
}

/// A file-system-safe, injective name for a server URL: ASCII letters, digits,
/// `.` and `-` stay, every other byte becomes `_XX` (hex).
fn folder_name(server: &str) -> String {
    let mut name = String::with_capacity(server.len() * 2);
    for byte in server.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'-' {
            name.push(byte as char);
        } else {
            name.push_str(&format!("_{byte:02X}"));
        }
    }
    name
}

fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Opens (creating with mode 0600) a file for writing.
fn open_private(path: &Path, create_new: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(false);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Writes `bytes` to `path` atomically: a private temp file in the same
/// folder, flushed to disk, then renamed over the target.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    create_private_dir(dir)
        .map_err(|e| ClientError::io(format!("cannot create {}", dir.display()), e))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = open_private(&temp, true)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(ClientError::io(
            format!("cannot write {}", path.display()),
            e,
        ));
    }
    Ok(())
}

/// Reads a file, `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ClientError::io(
            format!("cannot read {}", path.display()),
            e,
        )),
    }
}

/// Removes a file; a missing file is fine.
pub fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ClientError::io(
            format!("cannot remove {}", path.display()),
            e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_are_safe_and_distinct() {
        let a = folder_name("http://127.0.0.1:8000");
        let b = folder_name("http://127.0.0.1:8001");
        let c = folder_name("https://auth.example.com/a_b");
        let d = folder_name("https://auth.example.com/a/b");
        assert_eq!(a, "http_3A_2F_2F127.0.0.1_3A8000");
        assert_ne!(a, b);
        assert_ne!(c, d);
        for name in [a, b, c, d] {
            assert!(name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
        }
    }

    #[test]
    fn atomic_write_replaces_the_file_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("file.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        // No temp files are left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("file.json")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dir_mode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dir_mode & 0o777, 0o700);
        }
    }

    #[test]
    fn a_folder_holding_only_the_lock_is_removed_with_the_folders_it_made() {
        let home = tempfile::tempdir().unwrap();
        let data = home.path().join("data").join("gatepass");
        let server = ServerDir::new(&data, "http://127.0.0.1:1");
        drop(server.lock_blocking().unwrap());
        assert!(server.lock_path().exists());
        server.tidy();
        assert!(!home.path().join("data").exists(), "every folder it made");
        assert!(home.path().exists(), "not one it did not make");

        // Folders that were there before stay, even empty.
        std::fs::create_dir_all(data.join("servers")).unwrap();
        let server = ServerDir::new(&data, "http://127.0.0.1:1");
        drop(server.lock_blocking().unwrap());
        server.tidy();
        assert!(!server.root().exists());
        assert!(data.join("servers").exists());
    }

    #[test]
    fn a_folder_with_credentials_or_a_held_lock_stays() {
        let data = tempfile::tempdir().unwrap();
        let server = ServerDir::new(data.path(), "http://127.0.0.1:1");
        drop(server.lock_blocking().unwrap());
        write_atomic(&server.jar_path(), b"{}").unwrap();
        server.tidy();
        assert!(server.jar_path().exists());
        assert!(server.lock_path().exists());

        remove_if_present(&server.jar_path()).unwrap();
        let held = server.lock_blocking().unwrap();
        server.tidy();
        assert!(server.lock_path().exists(), "another holder is using it");
        drop(held);
        server.tidy();
        assert!(!server.root().exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_lock_on_a_removed_lock_file_is_taken_again_on_the_new_one() {
        let data = tempfile::tempdir().unwrap();
        let server = ServerDir::new(data.path(), "http://127.0.0.1:1");
        let old = {
            server.create().unwrap();
            open_private(&server.lock_path(), false).unwrap()
        };
        std::fs::remove_file(server.lock_path()).unwrap();
        assert!(!is_still_at(&old, &server.lock_path()));
        // The lock is taken on a file that exists, not on the removed one.
        let held = server.lock_blocking().unwrap();
        let other = open_private(&server.lock_path(), false).unwrap();
        assert!(fs4::FileExt::try_lock(&other).is_err());
        assert!(
            fs4::FileExt::try_lock(&old).is_ok(),
            "the old file locks nothing"
        );
        drop(held);
    }

    #[test]
    fn the_jar_lock_excludes_a_second_holder() {
        let dir = tempfile::tempdir().unwrap();
        let server = ServerDir::new(dir.path(), "http://127.0.0.1:1");
        let held = server.lock_blocking().unwrap();
        let other = open_private(&server.lock_path(), false).unwrap();
        assert!(
            fs4::FileExt::try_lock(&other).is_err(),
            "lock should be held"
        );
        drop(held);
        assert!(
            fs4::FileExt::try_lock(&other).is_ok(),
            "lock should be free"
        );
    }
}
