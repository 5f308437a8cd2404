//! PostgreSQL over TLS with the server's certificate verified, as the README
//! tells operators to connect: `DATABASE_URL=postgres://…?sslmode=verify-full
//! &sslrootcert=/path/ca.pem`.
//!
//! Runs when the suite is on PostgreSQL (`GATEPASS_TEST_POSTGRES_URL`, as in
//! `.ci/run`'s second pass). It makes its own throwaway cluster that takes TCP
//! connections over TLS only (`.ci/postgres start DIR --tls CERT KEY`), with a
//! CA and a certificate for 127.0.0.1 and localhost made by the `openssl`
//! command. When the cluster cannot be made, CI (`CI=true`) fails; elsewhere
//! the test says so on the terminal, past the harness's output capture.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use gatepass_tests::{binary, database, unique_email, wait_for, Server, PASSWORD};
use tempfile::TempDir;

/// A CA, a server certificate it signed, and a second CA that signed nothing
/// the cluster serves.
struct Certificates {
    dir: TempDir,
}

impl Certificates {
    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }
    fn other_ca(&self) -> PathBuf {
        self.dir.path().join("other-ca.pem")
    }
    fn server_cert(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }
    fn server_key(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }
}

/// A cluster started by `.ci/postgres`; stopped when dropped.
struct TlsCluster {
    dir: TempDir,
    /// `postgres://gatepass@127.0.0.1:PORT/postgres`
    url: String,
}

impl Drop for TlsCluster {
    fn drop(&mut self) {
        let _ = Command::new(ci_postgres())
            .arg("stop")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A server process that must not outlive a failed assertion.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ci_postgres() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/postgres")
}

/// Runs `openssl ARGS` in `dir`.
fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn make_certificates() -> Result<Certificates, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path();
    let new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    for (name, subject) in [("ca", "gatepass test CA"), ("other-ca", "another CA")] {
        let (key, cert, subject) = (
            format!("{name}.key"),
            format!("{name}.pem"),
            format!("/CN={subject}"),
        );
        let mut args = vec!["req", "-x509", "-new", "-nodes", "-days", "2"];
        args.extend(new_key);
        args.extend(["-keyout", &key, "-out", &cert, "-subj", &subject]);
        openssl(path, &args)?;
    }
    let mut args = vec!["req", "-new", "-nodes"];
    args.extend(new_key);
    args.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(path, &args)?;
    // What rustls's verifier wants of a server certificate: the name it is
    // reached by in subjectAltName, and not a CA.
    std::fs::write(
        path.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n\
         basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| e.to_string())?;
    openssl(
        path,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "1",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    )?;
    Ok(Certificates { dir })
}

fn start_cluster(certificates: &Certificates) -> Result<TlsCluster, String> {
    // A folder of its own: `.ci/postgres` hands it to the postgres user when
    // run as root, and the certificates' folder stays private.
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let output = Command::new(ci_postgres())
        .arg("start")
        .arg(dir.path())
        .arg("--tls")
        .arg(certificates.server_cert())
        .arg(certificates.server_key())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run .ci/postgres: {e}"))?;
    let url = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || !url.starts_with("postgres://") {
        // Stop whatever did start before the folder goes.
        drop(TlsCluster {
            dir,
            url: String::new(),
        });
        return Err(format!(
            ".ci/postgres start --tls: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(TlsCluster { dir, url })
}

/// The certificates and a TLS-only cluster, or `None` when the suite is on
/// SQLite or (outside CI, said loudly) this machine cannot make them.
fn tls_cluster() -> Option<(Certificates, TlsCluster)> {
    if !database::on_postgres() {
        return None;
    }
    let made = make_certificates()
        .and_then(|certificates| Ok((start_cluster(&certificates)?, certificates)));
    match made {
        Ok((cluster, certificates)) => Some((certificates, cluster)),
        Err(why) if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("CI must run the PostgreSQL TLS test, but no TLS cluster could be made: {why}")
        }
        Err(why) => {
            // Straight to the terminal: a skipped test must not look passed.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** postgres_tls: NOT RUN: no TLS cluster could be made on this machine \
                 (CI would fail here): {why}\n"
            );
            None
        }
    }
}

/// The `DATABASE_URL` an operator writes: verify the certificate against `ca`
/// and the host name.
fn verify_full(cluster: &TlsCluster, ca: &Path) -> String {
    format!(
        "{}?sslmode=verify-full&sslrootcert={}",
        cluster.url,
        ca.display()
    )
}

#[tokio::test]
async fn verify_full_with_the_cluster_s_ca_serves_signup_and_login() {
    let Some((certificates, cluster)) = tls_cluster() else {
        return;
    };
    // The cluster refuses TCP connections without TLS (`hostssl`): a server
    // that serves at all reached it encrypted.
    let server = Server::builder()
        .env("DATABASE_URL", verify_full(&cluster, &certificates.ca()))
        .start();
    let api = server.api();
    let email = unique_email("tls");
    let session = api.signup(&email).await;
    let login = api.login(&email, PASSWORD).await;
    assert_eq!(login.status, 200, "login: {}", login.text);
    let me = api
        .me(&login.access_token().expect("an access token"))
        .await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["user"], session.user);
}

#[tokio::test]
async fn verify_full_with_another_ca_refuses_to_start_and_names_the_database() {
    let Some((certificates, cluster)) = tls_cluster() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let mut server = KillOnDrop(
        Command::new(binary("gatepass-server"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .current_dir(data.path())
            .env("ROCKET_ADDRESS", "127.0.0.1")
            .env("ROCKET_PORT", "0")
            .env("GATEPASS_DATA_DIR", data.path())
            .env("GATEPASS_LOG", "info")
            .env("AUTH_BCRYPT_COST", "10")
            .env(
                "DATABASE_URL",
                verify_full(&cluster, &certificates.other_ca()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(data.path().join("server.log")).unwrap(),
            ))
            .spawn()
            .expect("start gatepass-server"),
    );
    let status = wait_for("the server to give up", Duration::from_secs(60), || {
        let exited = server.0.try_wait().expect("wait for the server");
        async move { exited }
    })
    .await;
    let log = std::fs::read_to_string(data.path().join("server.log")).unwrap();
    assert!(!status.success(), "{status}; its log:\n{log}");
    assert!(
        !log.contains("gatepass listening on"),
        "served with an unverified database connection:\n{log}"
    );
    // The operator learns which database, and why.
    let database = cluster
        .url
        .strip_prefix("postgres://gatepass@")
        .expect("the cluster's URL");
    assert!(log.contains(database), "{database} not named:\n{log}");
    assert!(
        log.to_lowercase().contains("certificate"),
        "no word of the certificate:\n{log}"
    );
}
