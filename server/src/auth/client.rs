//! Who is calling: the client's address (from the socket, or from the
//! trusted proxy's header) and user agent, for sessions, the audit trail and
//! the per-address limits.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use rocket::request::Request;

use crate::config::TrustedProxy;

#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// The request's id (`X-Request-Id`), so the audit line of what the
    /// client did names the request line it belongs to.
    pub request_id: Option<String>,
}

impl ClientInfo {
    /// The client of `request`, behind `proxy` if the server trusts one.
    pub fn of(request: &Request<'_>, proxy: Option<&TrustedProxy>) -> ClientInfo {
        let user_agent = request
            .headers()
            .get_one("User-Agent")
            .map(|ua| ua.chars().filter(|c| !c.is_control()).take(256).collect());
        let socket = request.remote().map(|remote| remote.ip());
        let ip = match proxy {
            None => socket,
            Some(proxy) => forwarded_client(proxy, request.headers().get(&proxy.header)).or(socket),
        };
        let request_id = Some(crate::logging::request_id(request).to_owned());
        ClientInfo {
            ip,
            user_agent,
            request_id,
        }
    }

    /// The address as a throttle key. An IPv6 client is keyed by its /64:
    /// one subscriber usually holds a whole /64, and could otherwise pick a
    /// fresh bucket for every request.
    pub fn address(&self) -> String {
        match self.ip.map(canonical) {
            None => "unknown".to_owned(),
            Some(IpAddr::V4(v4)) => v4.to_string(),
            Some(IpAddr::V6(v6)) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", Ipv6Addr::from(prefix))
            }
        }
    }
}

/// An IPv4 client reached over IPv6 (`::ffff:192.0.2.1`) is that IPv4 client.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The client address the trusted proxy wrote: the `hops`-th entry from the
/// right of the header's list, all of its lines read as one list (in order,
/// as HTTP joins repeated fields). Entries to the left of it are the
/// client's own words and are never read. `None` when the list is shorter or
/// that entry is no address; the caller then uses the socket's address.
pub fn forwarded_client<'h>(
    proxy: &TrustedProxy,
    lines: impl Iterator<Item = &'h str>,
) -> Option<IpAddr> {
    let entries: Vec<&str> = lines.flat_map(|line| line.split(',')).collect();
    let index = entries.len().checked_sub(proxy.hops)?;
    parse_address(entries[index].trim())
}

/// `192.0.2.1`, `2001:db8::1`, and the forms some proxies add a port to:
/// `192.0.2.1:4711`, `[2001:db8::1]:4711`, `[2001:db8::1]`.
fn parse_address(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .or_else(|_| {
            entry
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .unwrap_or("")
                .parse::<IpAddr>()
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(hops: usize) -> TrustedProxy {
        TrustedProxy {
            header: "X-Forwarded-For".to_owned(),
            hops,
        }
    }

    fn client(hops: usize, lines: &[&str]) -> Option<String> {
        forwarded_client(&proxy(hops), lines.iter().copied()).map(|ip| ip.to_string())
    }

    #[test]
    fn the_right_most_entry_is_the_one_the_proxy_appended() {
        assert_eq!(client(1, &["203.0.113.7"]).as_deref(), Some("203.0.113.7"));
        assert_eq!(
            client(1, &["10.0.0.1, 203.0.113.7"]).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            client(1, &[" 1.1.1.1 ,2.2.2.2,  203.0.113.7 "]).as_deref(),
            Some("203.0.113.7")
        );
    }

    #[test]
    fn a_second_header_line_from_the_client_does_not_win() {
        // The client sent the first line; the proxy appended the second.
        assert_eq!(
            client(1, &["6.6.6.6", "203.0.113.7"]).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            client(1, &["6.6.6.6, 7.7.7.7", "203.0.113.7"]).as_deref(),
            Some("203.0.113.7")
        );
    }

    #[test]
    fn hops_count_trusted_proxies_from_the_right() {
        let lines = ["6.6.6.6, 203.0.113.7, 10.0.0.2"];
        assert_eq!(client(2, &lines).as_deref(), Some("203.0.113.7"));
        assert_eq!(client(3, &lines).as_deref(), Some("6.6.6.6"));
        // Fewer entries than trusted hops: the request did not come through
        // the chain, so nothing in it is trusted.
        assert_eq!(client(4, &lines), None);
        assert_eq!(client(1, &[]), None);
    }

    #[test]
    fn garbage_and_ports_and_brackets() {
        assert_eq!(client(1, &["1.1.1.1, unknown"]), None);
        assert_eq!(client(1, &["1.1.1.1, "]), None);
        assert_eq!(
            client(1, &["203.0.113.7:4711"]).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            client(1, &["[2001:db8::1]:4711"]).as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(
            client(1, &["[2001:db8::1]"]).as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(client(1, &["2001:db8::1"]).as_deref(), Some("2001:db8::1"));
    }

    fn key(ip: &str) -> String {
        ClientInfo {
            ip: Some(ip.parse().unwrap()),
            user_agent: None,
            request_id: None,
        }
        .address()
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff::1"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::1"), "::/64");
    }
}
