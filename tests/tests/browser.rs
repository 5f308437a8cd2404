//! A real browser against a real server: the page in tests/web, served from
//! its own origin, drives the whole flow the way a single-page app does, in
//! headless Chromium (Debian's `chromium`, driven by npm's `playwright-core`
//! from tests/web/node_modules: `npm ci` there).
//!
//! Three origins: the page at `http://localhost:<A>` (allowed by CORS), the
//! same page at `http://127.0.0.1:<A>` (a different origin, not allowed), and
//! the API at `http://localhost:<B>`. The page reads its reset link from this
//! test's SMTP sink through `/__mailbox` on its own static server.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gatepass_tests::cli::{require_tools, settled_log};
use gatepass_tests::{Server, SmtpSink};

const NODE_TIMEOUT: Duration = Duration::from_secs(240);

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// Node, Chromium and playwright-core are there; else CI fails naming what
/// to install, and elsewhere the test says loudly that it skips.
fn browser_available() -> bool {
    if !require_tools(
        "browser",
        &[("node", "nodejs"), ("npm", "npm"), ("chromium", "chromium")],
    ) {
        return false;
    }
    let module = web_dir().join("node_modules/playwright-core/package.json");
    if module.is_file() {
        return true;
    }
    let message = format!(
        "browser needs playwright-core: run `npm ci` in {}",
        web_dir().display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message} (.ci/run)");
    }
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!! SKIPPED browser: {message} !!!!!!!!\n"
    );
    false
}

/// The test page's own web server: the files of tests/web, and the newest
/// reset token mailed to an address (`/__mailbox/reset-token?email=&base=`).
fn serve_page(listener: TcpListener, sink: Arc<SmtpSink>) {
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let sink = sink.clone();
            std::thread::spawn(move || {
                let _ = answer(stream, &sink);
            });
        }
    });
}

fn answer(mut stream: TcpStream, sink: &SmtpSink) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (status, content_type, body) = match path.rsplit('/').next().unwrap_or("") {
        "reset-token" if path.starts_with("/__mailbox/") => match reset_token(sink, query) {
            Some(token) => ("200 OK", "text/plain", token.into_bytes()),
            None => ("404 Not Found", "text/plain", b"no mail yet".to_vec()),
        },
        // A page under the cookie's path, to show scripts there cannot read it.
        "cookie-probe.html" => (
            "200 OK",
            "text/html",
            b"<!doctype html><title>probe</title>".to_vec(),
        ),
        name @ ("index.html" | "flow.js" | "client.js") => {
            let file = std::fs::read(web_dir().join(name))?;
            let kind = if name.ends_with(".js") {
                "text/javascript"
            } else {
                "text/html"
            };
            ("200 OK", kind, file)
        }
        _ => ("404 Not Found", "text/plain", b"not found".to_vec()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)?;
    stream.flush()
}

/// The token of the newest reset link under `base` mailed to `email`.
fn reset_token(sink: &SmtpSink, query: &str) -> Option<String> {
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| percent_decode(value))
    };
    let (email, base) = (param("email")?, param("base")?);
    sink.mails_to(&email).iter().rev().find_map(|mail| {
        let link = mail.link_starting_with(&format!("{base}/"))?;
        link.rsplit('/').next().map(str::to_owned)
    })
}

/// `application/x-www-form-urlencoded` decoding, enough for an address and a URL.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_single_page_app_on_another_origin_runs_the_whole_flow_in_chromium() {
    if !browser_available() {
        return;
    }
    let sink = Arc::new(SmtpSink::start());
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the page server");
    let page_port = listener.local_addr().expect("page server address").port();
    serve_page(listener, sink.clone());

    let page_origin = format!("http://localhost:{page_port}");
    let server = Server::builder()
        .smtp(&sink)
        .env("AUTH_CORS_ORIGINS", page_origin.clone())
        // Short enough to wait for twice, long enough for each step after a
        // refresh to see revocation rather than expiry.
        .env("AUTH_ACCESS_TOKEN_EXPIRY", "3s")
        .start();
    let api_port = server
        .base_url
        .rsplit(':')
        .next()
        .expect("the server URL has a port");
    let api = format!("http://localhost:{api_port}");
    let page = format!("{page_origin}/index.html?api={api}");
    let foreign = format!("http://127.0.0.1:{page_port}/index.html?api={api}");

    let mut node = tokio::process::Command::new("node");
    node.arg(web_dir().join("run.mjs"))
        .args([&page, &foreign, &api])
        .current_dir(web_dir())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(NODE_TIMEOUT, node.output())
        .await
        .unwrap_or_else(|_| panic!("the browser run took longer than {NODE_TIMEOUT:?}"))
        .expect("run node tests/web/run.mjs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("browser flow passed"),
        "the browser flow failed ({})\n--- stdout:\n{stdout}\n--- stderr:\n{stderr}\n--- server log:\n{}",
        output.status,
        server.log()
    );
    println!("{stdout}");
    for step in [
        "ok signup",
        "ok expired 401",
        "ok reauth",
        "ok single-flight refresh",
        "ok document.cookie cannot see refreshTkn",
        "ok foreign POST /api/users/reauth blocked",
        "ok reset",
        "ok reauth refused after sign out",
        "ok reauth refused after master-logout",
    ] {
        assert!(stdout.contains(step), "step {step:?} missing:\n{stdout}");
    }

    // The foreign page's /reauth reached the server and was refused there,
    // not only hidden from the page by the browser.
    let log = settled_log(&server).await;
    assert!(
        log.contains("POST /api/users/reauth 403"),
        "no refused reauth in the server log:\n{log}"
    );
}

#[test]
fn percent_decoding_handles_addresses_and_urls() {
    assert_eq!(percent_decode("a.b%40example.com"), "a.b@example.com");
    assert_eq!(
        percent_decode("http%3A%2F%2Flocalhost%3A1%2Freset"),
        "http://localhost:1/reset"
    );
    assert_eq!(percent_decode("50%"), "50%");
}
