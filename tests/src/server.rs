//! Starts the real server binary.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tempfile::TempDir;

/// The path of a workspace binary, built by `cargo test` (the server and
/// client packages have integration tests, so cargo builds their binaries).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current test executable");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test executable lives in target/<profile>/deps");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the whole suite with `cargo test` from the workspace root, which builds it",
        path.display()
    );
    path
}

pub struct ServerBuilder {
    settings: Vec<(String, String)>,
    args: Vec<String>,
    data_dir: Option<TempDir>,
}

impl ServerBuilder {
    /// Sets a configuration variable (e.g. `AUTH_ACCESS_TOKEN_EXPIRY`).
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.settings.retain(|(n, _)| n != name);
        self.settings.push((name.to_owned(), value.into()));
        self
    }

    /// Adds a command-line argument (e.g. `serve`).
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    /// Sends mail to this sink.
    pub fn smtp(self, sink: &crate::SmtpSink) -> Self {
        self.env("SMTP_HOST", "127.0.0.1")
            .env("SMTP_PORT", sink.port().to_string())
            .env("SMTP_TLS", "none")
    }

    /// Settings for one of several server processes on one database: the
    /// refresh secret they must share (it makes the token hashes and seals
    /// the signing keys), and, on SQLite, no session cache, whose ending of a
    /// session another process would see only after its lifetime (it is off by
    /// default only on PostgreSQL; see the README).
    pub fn beside_others(self, refresh_secret: &str) -> Self {
        let builder = self.env("AUTH_REFRESH_TOKEN_SECRET", refresh_secret);
        if crate::database::on_postgres() {
            builder
        } else {
            builder.env("GATEPASS_SESSION_CACHE_TTL", "0s")
        }
    }

    /// Uses `other`'s database (a second server process beside it). Secrets
    /// are not shared by this: set them on both.
    pub fn database_of(self, other: &Server) -> Self {
        self.env("DATABASE_URL", other.database_url())
    }

    /// Reuses a data folder (to start a second server on the same database).
    pub fn data_dir(mut self, dir: TempDir) -> Self {
        self.data_dir = Some(dir);
        self
    }

    pub fn start(self) -> Server {
        let data_dir = self
            .data_dir
            .unwrap_or_else(|| tempfile::tempdir().expect("temp dir"));
        let log_path = data_dir.path().join("server.log");
        let database_url = crate::database::url_for(data_dir.path());
        let mut command = Command::new(binary("gatepass-server"));
        // A clean environment: nothing from the developer's shell or .env.
        command
            .env_clear()
            .current_dir(data_dir.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("ROCKET_ADDRESS", "127.0.0.1")
            .env("ROCKET_PORT", "0")
            .env("ROCKET_WORKERS", "4")
            .env("GATEPASS_DATA_DIR", data_dir.path())
            .env("DATABASE_URL", &database_url)
            .env("GATEPASS_LOG", "info")
            .env("AUTH_BCRYPT_COST", "10")
            .env("AUTH_CORS_ORIGINS", "http://localhost:3000")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in &self.settings {
            command.env(name, value);
        }
        command.args(&self.args);
        let mut child = command.spawn().expect("start gatepass-server");

        // Copy the log to a file and watch it for the bound address.
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        let log_file_path = log_path.clone();
        std::thread::spawn(move || {
            let mut file = std::fs::File::create(&log_file_path).expect("log file");
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = writeln!(file, "{line}");
                let _ = file.flush();
                if let Some(at) = line.find("gatepass listening on ") {
                    if let Some(tx) = tx.take() {
                        // The URL ends the text line, or the JSON line's
                        // message (GATEPASS_LOG_FORMAT=json).
                        let rest = &line[at + "gatepass listening on ".len()..];
                        let _ = tx.send(rest.split('"').next().unwrap_or(rest).trim().to_owned());
                    }
                }
            }
        });
        let base_url = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("gatepass-server did not start; its log:\n{log}");
            }
        };
        let database_url = self
            .settings
            .iter()
            .find(|(name, _)| name == "DATABASE_URL")
            .map_or(database_url, |(_, url)| url.clone());
        Server {
            child,
            base_url,
            data_dir,
            log_path,
            database_url,
        }
    }
}

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    pub base_url: String,
    data_dir: TempDir,
    log_path: PathBuf,
    database_url: String,
}

impl Server {
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            settings: Vec::new(),
            args: Vec::new(),
            data_dir: None,
        }
    }

    /// A server with the defaults of the test suite.
    pub fn start() -> Server {
        Server::builder().start()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn api(&self) -> crate::Api {
        crate::Api::new(&self.base_url)
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// The server's process id (to send it a signal).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's exit status once it has exited (poll it with `wait_for`).
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Runs one SQL statement on the server's database (to age a row rather
    /// than wait for it).
    pub async fn sql(&self, statement: &str) -> u64 {
        let mut conn = self.database().await;
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .expect("run the statement")
            .rows_affected()
    }

    /// The first column of every row of a query, as text (for checks on
    /// what the server stored).
    pub async fn sql_column(&self, query: &str) -> Vec<String> {
        use sqlx::Row;
        let mut conn = self.database().await;
        sqlx::query(query)
            .fetch_all(&mut conn)
            .await
            .expect("run the query")
            .iter()
            .map(|row| {
                row.try_get::<String, _>(0)
                    .or_else(|_| row.try_get::<i64, _>(0).map(|n| n.to_string()))
                    .unwrap_or_default()
            })
            .collect()
    }

    /// The `DATABASE_URL` the server was started with.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    async fn database(&self) -> sqlx::AnyConnection {
        crate::database::connect(&self.database_url).await
    }

    /// Stops the server and hands back its data folder.
    pub fn stop(mut self) -> TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.data_dir, tempfile::tempdir().expect("temp dir"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
