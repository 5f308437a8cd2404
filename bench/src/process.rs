//! The processes under test (the release server, the ceiling route), their
//! readiness, their peak memory, and a tiny HTTP client for sanity checks.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (bound, read, released: the child binds it next).
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// A child process serving HTTP on `port`, killed when dropped.
pub struct Served {
    child: Child,
    pub port: u16,
    pub log: Option<std::path::PathBuf>,
}

impl Served {
    /// Starts `command` (already given its port) and waits until `ready_path`
    /// answers 200.
    pub fn start(
        mut command: Command,
        port: u16,
        ready_path: &str,
        log: Option<&Path>,
    ) -> Result<Served, String> {
        command.stdin(Stdio::null()).stdout(Stdio::null());
        match log {
            Some(path) => {
                let file = std::fs::File::create(path).map_err(|e| format!("log file: {e}"))?;
                command.stderr(file);
            }
            None => {
                command.stderr(Stdio::null());
            }
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
        let mut served = Served {
            child,
            port,
            log: log.map(Path::to_path_buf),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((200, _)) = http(port, "GET", ready_path, &[], None) {
                return Ok(served);
            }
            if let Ok(Some(status)) = served.child.try_wait() {
                return Err(format!(
                    "{:?} exited ({status}) before it was ready{}",
                    command.get_program(),
                    served.log_tail()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!("not ready after 60 s{}", served.log_tail()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_tail(&self) -> String {
        self.log
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|text| {
                let lines: Vec<&str> = text.lines().collect();
                format!(": {}", lines[lines.len().saturating_sub(10)..].join("\n"))
            })
            .unwrap_or_default()
    }

    /// Forgets the peak resident set size so far (Linux `clear_refs` 5), so
    /// the next [`peak_rss`](Self::peak_rss) covers only what follows.
    pub fn reset_peak_rss(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").is_ok()
    }

    /// Peak resident set size (VmHWM), in bytes.
    pub fn peak_rss(&self) -> Option<u64> {
        status_kib(self.pid(), "VmHWM:").map(|kib| kib * 1024)
    }

    /// The CPU time the process has used so far, all threads, user and
    /// system (`/proc/PID/stat`, in clock ticks of 10 ms).
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        // The fields after the command name, which is in parentheses and may
        // hold spaces: state is field 3, utime 14 and stime 15.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        // USER_HZ: 100 on every Linux architecture this runs on.
        Some(Duration::from_millis(ticks * 10))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// One HTTP/1.1 request on a fresh connection: the status and the body.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or("");
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {response:.80}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}
