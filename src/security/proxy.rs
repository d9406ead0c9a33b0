//! Who is asking, and over what: the peer address and plain HTTP, unless the
//! peer is one of the proxies the operator named (`--trust-proxy CIDR,…`).
//! Only then do its `X-Forwarded-For` and `X-Forwarded-Proto` count.
//!
//! `X-Forwarded-For` is read the way Rails' `ActionDispatch::RemoteIp` reads
//! it: from the right, skipping the entries of trusted proxies, so the client
//! is the first address that no trusted proxy owns. Entries left of it were
//! written by the client and prove nothing. An entry that isn't an address
//! makes the client "unknown", a bucket of its own, never the proxy's
//! address (which would put everyone behind that proxy in one bucket).

use std::convert::Infallible;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::config::TrustedProxies;
use crate::cookies::ServedOverHttps;

/// Who a client is, for every per-client limit (the login throttle, the
/// login rate, the connection caps): an IPv4 address, an IPv6 /64 (one subscriber's network:
/// rotating addresses inside it gains nothing), or every client whose
/// forwarded address could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    V4(Ipv4Addr),
    /// The /64 prefix, the rest zero.
    V6(Ipv6Addr),
    Unknown,
}

impl From<IpAddr> for ClientKey {
    /// IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is read as IPv4 first.
    fn from(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => Self::V6(Ipv6Addr::from(u128::from(v6) & !(u128::from(u64::MAX)))),
        }
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V4(v4) => write!(f, "{v4}"),
            Self::V6(net) => write!(f, "{net}/64"),
            Self::Unknown => f.write_str("unknown"),
        }
    }
}

/// Who sent the request, as far as the server can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// The TCP peer, or the address a trusted proxy saw; IPv4-mapped IPv6
    /// addresses are IPv4.
    Addr(IpAddr),
    /// A trusted proxy forwarded an `X-Forwarded-For` entry that is not an
    /// address: all such requests share one throttle bucket.
    Unknown,
}

impl Client {
    /// What the login throttle counts: an IPv4 address, an IPv6 /64, or
    /// "unknown".
    pub fn throttle_key(self) -> ClientKey {
        match self {
            Self::Addr(ip) => ClientKey::from(ip),
            Self::Unknown => ClientKey::Unknown,
        }
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Addr(ip) => write!(f, "{ip}"),
            Self::Unknown => f.write_str("unknown"),
        }
    }
}

/// The request's client, as an extractor. `Unknown` if [`mark`] did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Client);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_of(&parts.extensions)))
    }
}

/// The client [`mark`] found: the one a trusted proxy named, else the
/// connection's peer, else `Unknown`.
pub fn client_of(extensions: &axum::http::Extensions) -> Client {
    if let Some(ClientAddr(client)) = extensions.get::<ClientAddr>() {
        return *client;
    }
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(Client::Unknown, |ConnectInfo(addr)| {
            Client::Addr(addr.ip().to_canonical())
        })
}

/// Marks the request with its client and, when a trusted proxy says so, as
/// served over HTTPS.
pub fn mark(trusted: &TrustedProxies, request: &mut Request) {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_canonical());
    // Only a proxy's word is recorded: the peer itself is read from
    // `ConnectInfo` when asked for (`client_of`), which spares every request
    // not behind a proxy an extension.
    if let Some(peer) = peer.filter(|&peer| trusted.contains(peer)) {
        let headers = request.headers();
        let client = forwarded_client(trusted, peer, headers);
        let https = forwarded_https(headers);
        request.extensions_mut().insert(ClientAddr(client));
        if https {
            request.extensions_mut().insert(ServedOverHttps);
        }
    }
}

/// The client behind trusted proxy `peer`: the rightmost `X-Forwarded-For`
/// entry that is not a trusted proxy; the leftmost entry when all are
/// trusted; `peer` itself without the header.
fn forwarded_client(trusted: &TrustedProxies, peer: IpAddr, headers: &HeaderMap) -> Client {
    let mut nearest = peer;
    // Several header lines are one comma-separated list, in order.
    for value in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(text) = value.to_str() else {
            unparseable(peer, "(not visible ASCII)");
            return Client::Unknown;
        };
        for entry in text.rsplit(',').map(str::trim) {
            let Some(ip) = parse_entry(entry) else {
                unparseable(peer, entry);
                return Client::Unknown;
            };
            if !trusted.contains(ip) {
                return Client::Addr(ip);
            }
            nearest = ip;
        }
    }
    Client::Addr(nearest)
}

/// Says which proxy sends entries that can't be read, so the operator can
/// fix its configuration. The entry is cut short and escaped.
fn unparseable(peer: IpAddr, entry: &str) {
    let shown: String = entry.chars().take(64).collect();
    tracing::warn!(
        proxy = %peer,
        entry = ?shown,
        "X-Forwarded-For entry is not an address: counting the client as \"unknown\""
    );
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678` (IIS, Azure),
/// `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:443`. The standard
/// library parses each form; this only tries them in turn. (An IPv6 address
/// with a port and no brackets can't be told from an address, and reads as
/// one.)
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let ip = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
        .or_else(|| {
            let inner = entry.strip_prefix('[')?.strip_suffix(']')?;
            inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
        })?;
    Some(ip.to_canonical())
}

/// The nearest proxy's `X-Forwarded-Proto`: the last value.
fn forwarded_https(headers: &HeaderMap) -> bool {
    headers
        .get_all("x-forwarded-proto")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;
    use crate::test_support::headers;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn trusted(value: &str) -> TrustedProxies {
        TrustedProxies::parse(value).unwrap()
    }

    /// The request as `mark` leaves it, from `peer` with `pairs` as headers.
    fn marked(
        trust: &TrustedProxies,
        peer: &str,
        pairs: &[(&'static str, &'static str)],
    ) -> (Client, bool) {
        let mut request = Request::new(Body::empty());
        *request.headers_mut() = headers(pairs);
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(ip(peer), 40_000)));
        mark(trust, &mut request);
        let client = client_of(request.extensions());
        (
            client,
            request.extensions().get::<ServedOverHttps>().is_some(),
        )
    }

    #[test]
    fn every_form_proxies_write_parses() {
        for (entry, expected) in [
            ("198.51.100.7", "198.51.100.7"),
            ("198.51.100.7:4444", "198.51.100.7"),
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("::ffff:198.51.100.7", "198.51.100.7"),
            ("[::ffff:198.51.100.7]:80", "198.51.100.7"),
        ] {
            assert_eq!(parse_entry(entry), Some(ip(expected)), "{entry}");
        }
        for garbage in [
            "",
            "garbage",
            "unknown",
            "_hidden",
            "1.2.3",
            "[1.2.3.4]",
            "[2001:db8::1",
            "1.2.3.4:",
        ] {
            assert_eq!(parse_entry(garbage), None, "{garbage:?}");
        }
    }

    #[test]
    fn an_untrusted_peers_forwarded_headers_are_ignored() {
        let trust = trusted("10.0.0.0/8");
        let (client, https) = marked(
            &trust,
            "192.0.2.9",
            &[
                ("x-forwarded-for", "203.0.113.1"),
                ("x-forwarded-proto", "https"),
            ],
        );
        assert_eq!(client, Client::Addr(ip("192.0.2.9")));
        assert!(!https, "X-Forwarded-Proto counts only from a trusted proxy");
        let (client, https) = marked(
            &TrustedProxies::none(),
            "10.0.0.1",
            &[
                ("x-forwarded-for", "203.0.113.1"),
                ("x-forwarded-proto", "https"),
            ],
        );
        assert_eq!(client, Client::Addr(ip("10.0.0.1")));
        assert!(!https);
    }

    #[test]
    fn the_client_is_the_rightmost_address_no_trusted_proxy_owns() {
        let trust = trusted("10.0.0.0/8, 2001:db8:ffff::/48");
        // The client's own claim (6.6.6.6) is left of what the proxies saw.
        let (client, https) = marked(
            &trust,
            "10.0.0.2",
            &[
                ("x-forwarded-for", "6.6.6.6, 198.51.100.7"),
                ("x-forwarded-for", "10.0.0.9:8080, [2001:db8:ffff::5]"),
                ("x-forwarded-proto", "https"),
            ],
        );
        assert_eq!(client, Client::Addr(ip("198.51.100.7")));
        assert!(https);
        // Every entry a trusted proxy: the furthest one is the client.
        let (client, _) = marked(
            &trust,
            "10.0.0.2",
            &[("x-forwarded-for", "10.1.1.1, 10.2.2.2")],
        );
        assert_eq!(client, Client::Addr(ip("10.1.1.1")));
        // No header: the proxy itself asked (a health check).
        let (client, _) = marked(&trust, "10.0.0.2", &[]);
        assert_eq!(client, Client::Addr(ip("10.0.0.2")));
    }

    #[test]
    fn an_entry_that_does_not_parse_makes_the_client_unknown_never_the_proxy() {
        let trust = trusted("127.0.0.1");
        for value in ["garbage", "198.51.100.7, ", "1.2.3.4, bogus, 127.0.0.1"] {
            let mut pairs = vec![("x-forwarded-for", value)];
            pairs.push(("x-forwarded-proto", "http"));
            let (client, _) = marked(&trust, "127.0.0.1", &pairs);
            assert_eq!(client, Client::Unknown, "{value:?}");
        }
        // A good entry right of the garbage is still read.
        let (client, _) = marked(
            &trust,
            "127.0.0.1",
            &[("x-forwarded-for", "garbage, 198.51.100.7")],
        );
        assert_eq!(client, Client::Addr(ip("198.51.100.7")));
    }

    #[test]
    fn ipv4_mapped_peers_and_entries_are_ipv4() {
        let trust = trusted("127.0.0.1/32");
        let (client, _) = marked(
            &trust,
            "::ffff:127.0.0.1",
            &[("x-forwarded-for", "::ffff:198.51.100.7")],
        );
        assert_eq!(client, Client::Addr(ip("198.51.100.7")));
        assert_eq!(client.throttle_key(), ClientKey::from(ip("198.51.100.7")));
    }

    #[test]
    fn trust_proxy_takes_addresses_and_refuses_a_bare_switch() {
        assert_eq!(
            trusted("127.0.0.1, 10.0.0.0/8,2001:db8::/32").to_string(),
            "127.0.0.1/32,10.0.0.0/8,2001:db8::/32"
        );
        assert_eq!(
            trusted("10.1.2.3/8").to_string(),
            "10.0.0.0/8",
            "host bits dropped"
        );
        assert!(trusted("").is_empty());
        assert!(trusted("0.0.0.0/0").trusts_everyone());
        assert!(!trusted("10.0.0.0/8").trusts_everyone());
        for bad in [
            "true",
            "TRUE",
            "1",
            "on",
            "false",
            "10.0.0.0/33",
            "nginx",
            "10.0.0.1,",
        ] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
        assert!(
            TrustedProxies::parse("true")
                .unwrap_err()
                .contains("would have trusted every peer")
        );
    }

    #[test]
    fn https_is_read_from_x_forwarded_proto() {
        assert!(forwarded_https(&headers(&[("x-forwarded-proto", "https")])));
        assert!(forwarded_https(&headers(&[("x-forwarded-proto", "HTTPS")])));
        assert!(!forwarded_https(&headers(&[("x-forwarded-proto", "http")])));
        assert!(!forwarded_https(&headers(&[])));
    }
}
