//! Who is asking, and over what: the peer address and plain HTTP, unless the
//! operator said the proxy in front is trusted (`--trust-proxy`), in which
//! case its `X-Forwarded-For` and `X-Forwarded-Proto` count.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::cookies::ServedOverHttps;

/// The client's address: the TCP peer, or the address a trusted proxy saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .unwrap_or(ClientAddr(IpAddr::V4(Ipv4Addr::UNSPECIFIED))))
    }
}

/// Marks the request with its client address and, when a trusted proxy
/// says so, as served over HTTPS.
pub fn mark(trust_proxy: bool, request: &mut Request) {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(addr)| {
            addr.ip()
        });
    let (client, https) = if trust_proxy {
        let headers = request.headers();
        (
            forwarded_for(headers).unwrap_or(peer),
            forwarded_https(headers),
        )
    } else {
        (peer, false)
    };
    request.extensions_mut().insert(ClientAddr(client));
    if https {
        request.extensions_mut().insert(ServedOverHttps);
    }
}

/// The last `X-Forwarded-For` entry: the one our own proxy appended. Earlier
/// entries come from the client and can be anything.
fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?;
    last.to_str().ok()?.rsplit(',').next()?.trim().parse().ok()
}

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
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn the_proxys_own_entry_is_the_last_one() {
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6, 10.0.0.7"),
            ("x-forwarded-for", "192.0.2.1"),
        ]);
        assert_eq!(forwarded_for(&h), Some("192.0.2.1".parse().unwrap()));
        assert_eq!(
            forwarded_for(&headers(&[("x-forwarded-for", "6.6.6.6, ::1")])),
            Some("::1".parse().unwrap())
        );
        assert_eq!(
            forwarded_for(&headers(&[("x-forwarded-for", "garbage")])),
            None
        );
        assert_eq!(forwarded_for(&headers(&[])), None);
    }

    #[test]
    fn https_is_read_from_x_forwarded_proto() {
        assert!(forwarded_https(&headers(&[("x-forwarded-proto", "https")])));
        assert!(forwarded_https(&headers(&[("x-forwarded-proto", "HTTPS")])));
        assert!(!forwarded_https(&headers(&[("x-forwarded-proto", "http")])));
        assert!(!forwarded_https(&headers(&[])));
    }
}
