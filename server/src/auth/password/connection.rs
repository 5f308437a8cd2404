//! The TCP connection a request came on, so that a hashing thread can tell
//! that the client has hung up and skip its hash.
//!
//! The request cannot tell by itself: Rocket 0.5 runs each handler in a task
//! of its own, which lives on when the client disconnects (hyper drops only
//! its end of the exchange; Rocket logs "Remote left: client disconnect before
//! response started" once the handler is done). The kernel can: on Linux,
//! `/proc/net/tcp` and `tcp6` list every socket with its state, and a
//! connection that is no longer ESTABLISHED there (the client closed or reset
//! it, and hyper then closed our end) will never carry an answer.

// Only Linux reads the socket table; the parser is tested everywhere.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rocket::request::{FromRequest, Outcome, Request};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection {
    /// The server's port and the client's address, as the kernel sees them
    /// (the socket's peer, not an address a proxy reports).
    socket: Option<(u16, SocketAddr)>,
}

impl Connection {
    /// A connection of which nothing is known: never taken for closed.
    pub const UNKNOWN: Connection = Connection { socket: None };

    /// The connection from `peer` to this server's `local_port`.
    pub fn new(local_port: u16, peer: SocketAddr) -> Connection {
        Connection {
            socket: Some((local_port, peer)),
        }
    }

    pub fn of(request: &Request<'_>) -> Connection {
        match request.remote() {
            Some(peer) => Connection::new(request.rocket().config().port, peer),
            None => Connection::UNKNOWN,
        }
    }

    /// Whether the client is known to have hung up since `open_at`, a moment
    /// the connection was known to be open (when its job was queued).
    /// Anything unknown (no address, not Linux, `/proc/net` unreadable or not
    /// listing this server's own listening socket) counts as still
    /// connected, so a doubt never costs a client its answer.
    pub fn is_closed(&self, open_at: Instant) -> bool {
        match self.socket {
            #[cfg(target_os = "linux")]
            Some((local_port, peer)) => {
                SocketTable::read_since(open_at, |table| table.is_closed(local_port, peer))
            }
            _ => {
                let _ = open_at;
                false
            }
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Connection {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(Connection::of(request))
    }
}

/// TCP states as `/proc/net/tcp` prints them (include/net/tcp_states.h).
const ESTABLISHED: &str = "01";
const LISTEN: &str = "0A";

/// How long one reading of the socket tables serves. Reading them costs the
/// kernel a walk over every socket of the host (milliseconds with a few
/// thousand), so the hashing threads share a reading rather than make one
/// per job: skipping a flood's backlog takes one reading, not one each.
const FRESH_FOR: Duration = Duration::from_millis(50);

/// What the kernel's socket tables said at one moment.
struct SocketTable {
    taken: Instant,
    /// Local ports with a listening socket.
    listening: HashSet<u16>,
    /// Every ESTABLISHED connection: local port, remote address as
    /// `/proc/net/tcp` writes it.
    established: HashSet<(u16, String)>,
}

impl SocketTable {
    fn parse(text: &str, taken: Instant) -> SocketTable {
        let mut table = SocketTable {
            taken,
            listening: HashSet::new(),
            established: HashSet::new(),
        };
        // Each line: "sl local_address rem_address st ...", addresses HEX:PORT.
        for line in text.lines() {
            let mut fields = line.split_whitespace().skip(1);
            let (Some(local), Some(remote), Some(state)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let Some(port) = local
                .rsplit_once(':')
                .and_then(|(_, port)| u16::from_str_radix(port, 16).ok())
            else {
                continue;
            };
            if state == LISTEN {
                table.listening.insert(port);
            } else if state == ESTABLISHED {
                table
                    .established
                    .insert((port, remote.to_ascii_uppercase()));
            }
        }
        table
    }

    /// Closed if the table lists the listening socket on `local_port` (so it
    /// is this server's table) but no ESTABLISHED connection from `peer`.
    fn is_closed(&self, local_port: u16, peer: SocketAddr) -> bool {
        self.listening.contains(&local_port)
            && !proc_forms(peer)
                .into_iter()
                .any(|form| self.established.contains(&(local_port, form)))
    }

    /// Runs `check` on a reading taken after `open_at` (a connection open
    /// then and missing from it has closed; one opened after a reading
    /// would be missing from it, but is not what `check` asks about) and at
    /// most [`FRESH_FOR`] old.
    #[cfg(target_os = "linux")]
    fn read_since(open_at: Instant, check: impl FnOnce(&SocketTable) -> bool) -> bool {
        static LAST: Mutex<Option<SocketTable>> = Mutex::new(None);
        let Ok(mut last) = LAST.lock() else {
            return false;
        };
        let usable = last
            .as_ref()
            .is_some_and(|t| t.taken >= open_at && t.taken.elapsed() < FRESH_FOR);
        if !usable {
            let taken = Instant::now();
            let mut text = String::new();
            for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
                if let Ok(part) = std::fs::read_to_string(file) {
                    text.push_str(&part);
                }
            }
            *last = Some(SocketTable::parse(&text, taken));
        }
        last.as_ref().is_some_and(check)
    }
}

/// How `/proc/net/tcp{,6}` writes `address`: the address as 32-bit words in
/// the machine's byte order, then the port, in hex. An IPv4 client of a
/// dual-stack socket shows as `::ffff:a.b.c.d`, so both forms are given.
fn proc_forms(address: SocketAddr) -> Vec<String> {
    let port = address.port();
    let v4 = |ip: std::net::Ipv4Addr| format!("{:08X}:{port:04X}", u32::from_ne_bytes(ip.octets()));
    let v6 = |ip: std::net::Ipv6Addr| {
        let words: String = ip
            .octets()
            .chunks_exact(4)
            .map(|w| format!("{:08X}", u32::from_ne_bytes([w[0], w[1], w[2], w[3]])))
            .collect();
        format!("{words}:{port:04X}")
    };
    match address.ip() {
        IpAddr::V4(ip) => vec![v4(ip), v6(ip.to_ipv6_mapped())],
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(mapped) => vec![v6(ip), v4(mapped)],
            None => vec![v6(ip)],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_written_as_the_kernel_writes_them() {
        let forms = proc_forms("127.0.0.1:8000".parse().unwrap());
        if cfg!(target_endian = "little") {
            assert_eq!(forms[0], "0100007F:1F40");
            assert_eq!(forms[1], "0000000000000000FFFF00000100007F:1F40");
        }
        let forms = proc_forms("[::1]:443".parse().unwrap());
        assert_eq!(forms.len(), 1);
        if cfg!(target_endian = "little") {
            assert_eq!(forms[0], "00000000000000000000000001000000:01BB");
        }
    }

    #[test]
    fn a_table_without_our_listener_proves_nothing() {
        let peer: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let table = |text: &str| SocketTable::parse(text, Instant::now());
        let established = "  sl  local_address rem_address   st\n\
                           0: 0100007F:1F40 0100007F:C350 01 00000000:00000000\n";
        // Our listener on 8000 (1F40) is not listed: unknown, so open.
        assert!(!table(established).is_closed(8000, peer));
        let with_listener = format!("{established}   1: 0100007F:1F40 00000000:0000 0A 0\n");
        if cfg!(target_endian = "little") {
            assert!(!table(&with_listener).is_closed(8000, peer));
            let gone = with_listener.replace("C350 01", "C350 08"); // CLOSE_WAIT
            assert!(table(&gone).is_closed(8000, peer));
            let other_client = with_listener.replace(":C350", ":C351");
            assert!(table(&other_client).is_closed(8000, peer));
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_connection_is_closed_once_its_client_hangs_up() {
        use std::time::{Duration, Instant};

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_ours, peer) = listener.accept().unwrap();
        let connection = Connection::new(port, peer);
        let opened = Instant::now();
        assert!(!connection.is_closed(opened), "a live connection");

        drop(client);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !connection.is_closed(Instant::now()) {
            assert!(Instant::now() < deadline, "the hang-up was never seen");
            std::thread::sleep(Duration::from_millis(10));
        }

        // No listener on that port (closed here): nothing is known.
        drop(listener);
        assert!(!connection.is_closed(Instant::now()));
        assert!(!Connection::UNKNOWN.is_closed(Instant::now()));
    }
}
