//! A web origin (scheme, host, port), as `--lab-peer-origin` names one and
//! as the cross-site lab names its two sites.

use std::fmt;

/// `http` or `https` plus a host and a port; written the way browsers
/// write `Origin` headers (`http://127.0.0.1:5000`, `https://b.example`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    https: bool,
    /// Lowercase; an IPv6 address in brackets.
    host: String,
    /// The port, when it is not the scheme's default.
    port: Option<u16>,
}

impl Origin {
    /// Parses `scheme://host[:port]`, with at most a bare `/` after it: a
    /// path, query, fragment or user name would mean something an origin
    /// can't say.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let url = url::Url::parse(text).map_err(|err| format!("{text:?} is not a URL ({err})"))?;
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            other => return Err(format!("the scheme must be http or https, not {other:?}")),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err("an origin has no user name or password".to_owned());
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "an origin is only scheme://host[:port], without a path, query or fragment; got {text:?}"
            ));
        }
        let host = match url.host() {
            Some(url::Host::Domain(name)) => name.trim_end_matches('.').to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
            None => return Err(format!("{text:?} has no host")),
        };
        if host.is_empty() {
            return Err(format!("{text:?} has no host"));
        }
        Ok(Self {
            https,
            host,
            port: url.port(),
        })
    }

    /// The origin of a request that arrived for `host_header` (a Host
    /// header: a name or address, maybe with a port) over `https` or not.
    pub fn of_request(host_header: &str, https: bool) -> Result<Self, String> {
        let scheme = if https { "https" } else { "http" };
        Self::parse(&format!("{scheme}://{}", host_header.trim()))
    }

    pub fn is_https(&self) -> bool {
        self.https
    }

    /// The host, lowercase; an IPv6 address in brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, the scheme's default when none was written.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(if self.https { 443 } else { 80 })
    }

    /// The same origin on another host, same scheme and port.
    pub fn with_host(&self, host: &str) -> Self {
        Self {
            host: host.to_owned(),
            ..self.clone()
        }
    }

    /// Whether the host is `localhost`, a name under `.localhost` or a
    /// loopback address: this machine, whatever the network.
    pub fn is_loopback(&self) -> bool {
        let bare = self.host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
            return ip.is_loopback();
        }
        bare == "localhost" || bare.ends_with(".localhost")
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        match self.port {
            Some(port) => write!(f, "{scheme}://{}:{port}", self.host),
            None => write!(f, "{scheme}://{}", self.host),
        }
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Origin({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised() {
        for (given, shown) in [
            ("http://LocalHost:5000", "http://localhost:5000"),
            ("http://127.0.0.1:5000/", "http://127.0.0.1:5000"),
            ("https://b.example:443", "https://b.example"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            ("https://B.Example.", "https://b.example"),
        ] {
            assert_eq!(Origin::parse(given).unwrap().to_string(), shown, "{given}");
        }
        let o = Origin::parse("http://localhost:5000").unwrap();
        assert_eq!(
            (o.host(), o.port(), o.is_https()),
            ("localhost", 5000, false)
        );
        assert_eq!(Origin::parse("https://b.example").unwrap().port(), 443);
    }

    #[test]
    fn what_is_not_an_origin_is_refused_with_why() {
        for (bad, why) in [
            ("b.example", "not a URL"),
            ("ftp://b.example", "http or https"),
            ("https://b.example/path", "without a path"),
            ("https://b.example/?q=1", "without a path"),
            ("https://b.example/#f", "without a path"),
            ("https://user:pw@b.example", "user name"),
            ("http://", "not a URL"),
        ] {
            let err = Origin::parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn loopback_hosts_are_this_machine() {
        for host in [
            "http://localhost:1",
            "http://a.localhost",
            "http://127.0.0.1",
            "http://127.9.9.9",
            "http://[::1]:5",
        ] {
            assert!(Origin::parse(host).unwrap().is_loopback(), "{host}");
        }
        for host in [
            "http://example.com",
            "http://10.0.0.1",
            "http://localhost.example",
        ] {
            assert!(!Origin::parse(host).unwrap().is_loopback(), "{host}");
        }
    }

    #[test]
    fn a_request_origin_comes_from_its_host_header() {
        assert_eq!(
            Origin::of_request("127.0.0.1:5000", false)
                .unwrap()
                .to_string(),
            "http://127.0.0.1:5000"
        );
        assert!(Origin::of_request("bad host/", false).is_err());
    }
}
