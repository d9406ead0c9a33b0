//! `--trust-proxy`: the proxies whose `X-Forwarded-*` headers count.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

/// The proxies whose forwarded headers count. Empty (the default) trusts
/// nobody: every request's client is its TCP peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Trust no proxy.
    pub fn none() -> Self {
        Self::default()
    }

    /// `CIDR[,CIDR…]`; a bare address means just that address. An empty
    /// value trusts nobody. The error says what to write instead.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(Self::none());
        }
        let lowered = value.to_ascii_lowercase();
        if matches!(lowered.as_str(), "true" | "yes" | "on" | "1") {
            return Err(format!(
                "it now takes the addresses of the proxies in front (CIDR,…), such as 127.0.0.1/32 or \
                 10.0.0.0/8. {value:?} would have trusted every peer, so that any client reaching the port \
                 could pick its own address and scheme"
            ));
        }
        if matches!(lowered.as_str(), "false" | "no" | "off" | "0") {
            return Err(format!(
                "it takes the addresses of the proxies in front (CIDR,…); to trust no proxy, leave it \
                 unset instead of {value:?}"
            ));
        }
        value
            .split(',')
            .map(str::trim)
            .map(|item| {
                item.parse::<IpNet>()
                    .map(|net| net.trunc())
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "{item:?} is not an IP address or CIDR range (such as 127.0.0.1/32, \
                             10.0.0.0/8 or 2001:db8::/32)"
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` (IPv4-mapped IPv6 read as IPv4) is a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// A `/0` range: every peer's forwarded headers count.
    pub fn trusts_everyone(&self) -> bool {
        self.0.iter().any(|net| net.prefix_len() == 0)
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        for (i, net) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{net}")?;
        }
        Ok(())
    }
}
