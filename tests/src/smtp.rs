//! A real SMTP server for the tests: the `mailin` protocol engine on a
//! 127.0.0.1 socket, keeping every message it receives.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use mailin::{Action, Handler, Response, SessionBuilder};

/// One received message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (headers and MIME parts, transfer-encoded).
    pub raw: String,
}

impl Mail {
    /// The message with quoted-printable soft breaks and escapes undone, so a
    /// link can be searched for whole.
    pub fn decoded(&self) -> String {
        decode_quoted_printable(&self.raw)
    }

    pub fn subject(&self) -> Option<String> {
        self.raw
            .lines()
            .find_map(|l| l.strip_prefix("Subject: ").map(str::to_owned))
    }

    /// The first URL in the text that starts with `prefix`, up to whitespace.
    pub fn link_starting_with(&self, prefix: &str) -> Option<String> {
        let text = self.decoded();
        let at = text.find(prefix)?;
        let link: String = text[at..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
            .collect();
        Some(link)
    }
}

#[derive(Default)]
struct Inbox {
    mails: Mutex<Vec<Mail>>,
    arrived: Condvar,
    /// How many of the next messages to refuse with a temporary failure.
    refuse_next: AtomicUsize,
}

#[derive(Clone)]
struct Collector {
    inbox: Arc<Inbox>,
    current: Option<Mail>,
}

impl Handler for Collector {
    // Refusals happen at MAIL FROM: mailin keeps a session that refused at the
    // end of DATA in its data state, which no client expects.
    fn mail(&mut self, _ip: IpAddr, _domain: &str, _from: &str) -> Response {
        let refused = self
            .inbox
            .refuse_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if refused {
            mailin::response::INTERNAL_ERROR
        } else {
            mailin::response::OK
        }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(Mail {
            from: from.to_owned(),
            to: to.to_vec(),
            raw: String::new(),
        });
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(mail) = &mut self.current {
            mail.raw.push_str(&String::from_utf8_lossy(buf));
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(mail) = self.current.take() {
            self.inbox.mails.lock().unwrap().push(mail);
            self.inbox.arrived.notify_all();
        }
        mailin::response::OK
    }
}

/// The sink; it serves until the test process ends.
pub struct SmtpSink {
    port: u16,
    inbox: Arc<Inbox>,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SMTP sink");
        let port = listener.local_addr().expect("local addr").port();
        let inbox = Arc::new(Inbox::default());
        let collector = Collector {
            inbox: inbox.clone(),
            current: None,
        };
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let handler = collector.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, handler);
                });
            }
        });
        SmtpSink { port, inbox }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Refuses the next `count` messages with `451` (a temporary failure),
    /// as a mail server under load would.
    pub fn refuse_next(&self, count: usize) {
        self.inbox.refuse_next.store(count, Ordering::SeqCst);
    }

    /// Every message received so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.inbox.mails.lock().unwrap().clone()
    }

    /// Messages to `address` so far.
    pub fn mails_to(&self, address: &str) -> Vec<Mail> {
        self.mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// Waits until `count` messages to `address` have arrived and returns them.
    pub fn wait_for_mails_to(&self, address: &str, count: usize, timeout: Duration) -> Vec<Mail> {
        let deadline = Instant::now() + timeout;
        let mut mails = self.inbox.mails.lock().unwrap();
        loop {
            let matching: Vec<Mail> = mails
                .iter()
                .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
                .cloned()
                .collect();
            if matching.len() >= count {
                return matching;
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "timed out waiting for {count} mail(s) to {address}; got {}",
                matching.len()
            );
            mails = self
                .inbox
                .arrived
                .wait_timeout(mails, deadline - now)
                .unwrap()
                .0;
        }
    }
}

fn serve(stream: TcpStream, handler: Collector) -> std::io::Result<()> {
    let remote = stream
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = BufWriter::new(stream);
    let mut session = SessionBuilder::new("gatepass-test-sink").build(remote, handler);
    session.greeting().write_to(&mut writer)?;
    writer.flush()?;
    let mut line = Vec::with_capacity(128);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let response = session.process(&line);
        match response.action {
            Action::Reply => {
                response.write_to(&mut writer)?;
                writer.flush()?;
            }
            Action::Close | Action::UpgradeTls => {
                response.write_to(&mut writer)?;
                writer.flush()?;
                return Ok(());
            }
            Action::NoReply => {}
        }
    }
}

fn decode_quoted_printable(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoted_printable_is_undone() {
        assert_eq!(super::decode_quoted_printable("a=3Db=\r\nc"), "a=bc");
        assert_eq!(super::decode_quoted_printable("x=\n=41"), "xA");
    }
}
