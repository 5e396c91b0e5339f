//! Which address a request comes from, for the per-IP login budget.
//!
//! The socket's peer address, unless that peer is a configured trusted
//! proxy: then `X-Forwarded-For` is read from the right, skipping trusted
//! proxies, and the first untrusted address is the client. A header sent by
//! anyone else is ignored, so a client cannot spoof its way out of the budget.

use std::net::IpAddr;

use ipnet::IpNet;
use poem::Request;

/// The client's address as decided here; read by the login route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

/// Decides the client address from the peer and `X-Forwarded-For`.
///
/// ```
/// use auth_api::client_ip::resolve;
/// let trusted = ["10.0.0.0/8".parse().unwrap()];
/// let peer = Some("10.0.0.2".parse().unwrap());
/// assert_eq!(resolve(peer, Some("203.0.113.5, 10.0.0.7"), &trusted), Some("203.0.113.5".parse().unwrap()));
/// // From an untrusted peer the header is ignored.
/// let outsider = Some("198.51.100.9".parse().unwrap());
/// assert_eq!(resolve(outsider, Some("203.0.113.5"), &trusted), outsider);
/// ```
pub fn resolve(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer?;
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let Some(header) = forwarded_for else {
        return Some(peer);
    };
    let mut client = peer;
    for hop in header.rsplit(',') {
        match parse_hop(hop.trim()) {
            Ok(ip) if is_trusted(&ip) => client = ip,
            Ok(ip) => return Some(ip),
            // A malformed entry: stop at the last address we could trust.
            Err(_) => return Some(client),
        }
    }
    Some(client)
}

/// An address as proxies write it: `203.0.113.5`, `2001:db8::1`, or with a
/// port, `203.0.113.5:4711` / `[2001:db8::1]:4711`. An IPv4-mapped IPv6
/// address (`::ffff:203.0.113.5`, what a dual-stack proxy may write) is the
/// IPv4 address it maps: one client, one budget, and it matches a trusted
/// IPv4 range.
fn parse_hop(hop: &str) -> Result<IpAddr, std::net::AddrParseError> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<std::net::SocketAddr>().map(|addr| addr.ip()))
        .map(|ip| ip.to_canonical())
}

/// Stores [`ClientIp`] and the use cases' [`auth_core::Client`] in the
/// request's data (a step of `edge.rs`).
pub fn attach_client(req: &mut Request, trusted: &[IpNet]) {
    let peer = req
        .remote_addr()
        .as_socket_addr()
        .map(|addr| addr.ip().to_canonical());
    // Several X-Forwarded-For headers are one list, in order. A value with
    // bytes that are not visible ASCII is read lossily, not skipped: a client
    // could otherwise put one such byte in its part of the header and make
    // the whole value, with the hop our proxy appended, disappear. Its own
    // entry then fails to parse, and `resolve` stops at the last trusted hop.
    let forwarded: Vec<String> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .collect();
    let forwarded = (!forwarded.is_empty()).then(|| forwarded.join(","));
    let ip = resolve(peer, forwarded.as_deref(), trusted);
    req.set_data(ClientIp(ip));
    let client = request_client(req, ip);
    req.set_data(client);
}

/// What the use cases are told of the client: its address, its device
/// cookie, its user agent, the request id (`telemetry::request_log` has
/// already checked or replaced `X-Request-Id`). An HTTP client keeps the
/// cookies it is given.
fn request_client(req: &Request, ip: Option<IpAddr>) -> auth_core::Client {
    let headers = req.headers();
    let text = |name: poem::http::HeaderName| {
        headers
            .get(name)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
    };
    auth_core::Client {
        ip,
        device: crate::cookie::device_token(headers),
        user_agent: text(poem::http::header::USER_AGENT)
            .as_deref()
            .and_then(auth_core::UserAgent::new),
        request_id: text(poem::http::HeaderName::from_static("x-request-id")),
        keeps_device_cookie: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv4_mapped_hops_are_their_ipv4_address() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // The mapped form of a trusted proxy is trusted; the client's mapped
        // form is its IPv4 address.
        assert_eq!(
            resolve(
                Some(ip("10.0.0.1")),
                Some("::ffff:203.0.113.5, ::ffff:10.0.0.2"),
                &trusted
            ),
            Some(ip("203.0.113.5"))
        );
    }

    #[test]
    fn a_non_ascii_entry_does_not_hide_the_hop_our_proxy_added() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let header = String::from_utf8_lossy(b"1.2.3.4\xff, 203.0.113.5").into_owned();
        assert_eq!(
            resolve(Some(ip("10.0.0.1")), Some(&header), &trusted),
            Some(ip("203.0.113.5"))
        );
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        assert_eq!(
            resolve(Some(ip("192.0.2.1")), Some("203.0.113.5"), &[]),
            Some(ip("192.0.2.1"))
        );
    }

    #[test]
    fn trusted_hops_are_skipped_from_the_right() {
        let trusted: Vec<IpNet> = vec![
            "10.0.0.0/8".parse().unwrap(),
            "127.0.0.1/32".parse().unwrap(),
        ];
        // client, spoofed-by-client, proxy chain
        let header = "1.1.1.1, 203.0.113.5, 10.1.1.1";
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), Some(header), &trusted),
            Some(ip("203.0.113.5"))
        );
        // Only trusted hops: the left-most one.
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), Some("10.0.0.9"), &trusted),
            Some(ip("10.0.0.9"))
        );
        // No header: the proxy itself.
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), None, &trusted),
            Some(ip("127.0.0.1"))
        );
        // Garbage: the last trusted address.
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), Some("nonsense, 10.0.0.3"), &trusted),
            Some(ip("10.0.0.3"))
        );
    }

    #[test]
    fn hops_with_ports_are_understood() {
        let trusted: Vec<IpNet> = vec!["127.0.0.1/32".parse().unwrap()];
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), Some("203.0.113.5:4711"), &trusted),
            Some(ip("203.0.113.5"))
        );
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), Some("[2001:db8::1]:80"), &trusted),
            Some(ip("2001:db8::1"))
        );
    }

    #[test]
    fn ipv6_and_unknown_peers() {
        let trusted: Vec<IpNet> = vec!["::1/128".parse().unwrap()];
        assert_eq!(
            resolve(Some(ip("::1")), Some("2001:db8::7"), &trusted),
            Some(ip("2001:db8::7"))
        );
        assert_eq!(resolve(None, Some("2001:db8::7"), &trusted), None);
    }
}
