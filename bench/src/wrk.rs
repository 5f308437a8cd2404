//! Drives load with wrk (Debian package `wrk`), one Lua script per scenario,
//! and reads back the summary the scripts print.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const COMMON: &str = include_str!("../lua/common.lua");
const ME: &str = include_str!("../lua/me.lua");
const REAUTH: &str = include_str!("../lua/reauth.lua");
const LOGIN: &str = include_str!("../lua/login.lua");

#[derive(Debug, Clone, Copy)]
pub enum Script {
    Me,
    Reauth,
    Login,
}

/// What one wrk run measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome {
    pub requests: u64,
    pub duration: Duration,
    /// Connect, read, write and timeout errors plus 4xx/5xx answers.
    pub errors: u64,
    pub p50: Duration,
    pub p99: Duration,
}

impl Outcome {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.duration.as_secs_f64().max(1e-9)
    }
}

/// One load run: `connections` over `threads`, for `duration`, against
/// `http://127.0.0.1:port`, each request built by `script` from the lines of
/// `data` (tokens or emails).
pub struct Run {
    pub script: Script,
    pub port: u16,
    pub data: PathBuf,
    pub threads: u32,
    pub connections: u32,
    pub duration: Duration,
    pub password: &'static str,
    pub scratch: PathBuf,
}

impl Run {
    fn script_path(&self) -> std::io::Result<PathBuf> {
        let (name, body) = match self.script {
            Script::Me => ("me.lua", ME),
            Script::Reauth => ("reauth.lua", REAUTH),
            Script::Login => ("login.lua", LOGIN),
        };
        let path = self.scratch.join(name);
        let text = format!("PASSWORD = {:?}\n{COMMON}\n{body}", self.password);
        std::fs::write(&path, text)?;
        Ok(path)
    }

    /// Starts wrk; [`finish`] waits for it and parses its summary.
    pub fn start(&self) -> Result<Child, String> {
        let script = self.script_path().map_err(|e| format!("lua script: {e}"))?;
        Command::new("wrk")
            .arg(format!("-t{}", self.threads))
            .arg(format!("-c{}", self.connections))
            .arg(format!("-d{}s", self.duration.as_secs().max(1)))
            .arg("--timeout")
            .arg("20s")
            .arg("-s")
            .arg(&script)
            .arg(format!("http://127.0.0.1:{}", self.port))
            .arg("--")
            .arg(&self.data)
            .arg(self.threads.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run wrk ({e}): install it with `apt-get install -y wrk`"))
    }

    pub fn run(&self) -> Result<Outcome, String> {
        finish(self.start()?)
    }
}

pub fn finish(child: Child) -> Result<Outcome, String> {
    let output = child.wait_with_output().map_err(|e| format!("wrk: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("WRK_RESULT "))
        .ok_or_else(|| {
            format!(
                "wrk printed no result (status {}): {}{}",
                output.status,
                stdout,
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    parse(line)
}

fn parse(line: &str) -> Result<Outcome, String> {
    let field = |name: &str| -> Result<u64, String> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("wrk result without {name}: {line}"))
    };
    Ok(Outcome {
        requests: field("requests")?,
        duration: Duration::from_micros(field("duration_us")?),
        errors: field("connect")?
            + field("read")?
            + field("write")?
            + field("status")?
            + field("timeout")?,
        p50: Duration::from_micros(field("p50_us")?),
        p99: Duration::from_micros(field("p99_us")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_script_summary() {
        let o = parse("requests=1000 duration_us=2000000 connect=0 read=1 write=0 status=2 timeout=3 p50_us=150 p99_us=900").unwrap();
        assert_eq!(o.requests, 1000);
        assert_eq!(o.errors, 6);
        assert_eq!(o.p99, Duration::from_micros(900));
        assert!((o.rate() - 500.0).abs() < 1e-6);
    }
}
