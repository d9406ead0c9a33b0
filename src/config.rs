//! Validated settings for the server, built once from [`ServeArgs`].

mod origin;
mod trusted_proxies;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

use crate::cli::{LogFormat, ServeArgs};
use crate::domain::Password;

pub use self::origin::Origin;
pub use self::trusted_proxies::TrustedProxies;

/// Everything the server needs, checked. Secrets are redacted in `Debug`.
#[derive(Clone)]
pub struct Config {
    pub addr: String,
    pub data_dir: PathBuf,
    pub demo_password: Password,
    /// `COOKIE_LAB_KEYS`, when set; it overrides the key file.
    pub env_keys: Option<String>,
    pub session_ttl: time::Duration,
    /// The proxies whose X-Forwarded-* headers count (`--trust-proxy`).
    pub trust_proxy: TrustedProxies,
    pub log_format: LogFormat,
    /// Where logged-out sessions are recorded.
    pub revocations: RevocationStore,
    /// How long in-flight requests may take to finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// Sent as `X-Served-By` when set; checked to be a valid header value.
    pub replica_name: Option<String>,
    /// The Host names served; `None` serves every Host.
    pub allowed_hosts: Option<AllowedHosts>,
    /// Sessions per minute per client and per email; 0 is no limit.
    pub login_rate: u32,
    /// Timeouts and caps on connections.
    pub connections: ConnectionLimits,
    /// `--lab-peer-origin`: the cross-site lab's site B; `None` pairs the
    /// loopback names.
    pub lab_peer_origin: Option<Origin>,
}

/// `--allowed-hosts`: the host names this server answers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    /// Lower-cased names; `.example.com` also allows subdomains. An empty
    /// list allows nothing, so it is refused.
    pub fn parse(names: &[String]) -> Result<Option<Self>, ConfigError> {
        let names: Vec<String> = names
            .iter()
            .map(|n| n.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() {
            return Ok(None);
        }
        if let Some(bad) = names
            .iter()
            .find(|n| n.contains([':', '/', ' ', '*']) && !n.starts_with('['))
        {
            return Err(ConfigError::AllowedHosts(bad.clone()));
        }
        Ok(Some(Self(names)))
    }

    /// Whether `host` (a Host header: name or IP, maybe with a port) is
    /// allowed.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim();
        let name = if host.starts_with('[') {
            host.split_once(']')
                .map_or(host, |(v6, _)| v6)
                .trim_start_matches('[')
        } else {
            host.rsplit_once(':').map_or(host, |(name, _)| name)
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.0.iter().any(|allowed| {
            let allowed = allowed.trim_start_matches('[').trim_end_matches(']');
            match allowed.strip_prefix('.') {
                Some(domain) => {
                    name == domain
                        || name
                            .strip_suffix(domain)
                            .is_some_and(|sub| sub.ends_with('.'))
                }
                None => name == allowed,
            }
        })
    }
}

/// How long a connection may take to ask, and how many may be open: what
/// keeps slow or silent clients from starving the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From accept (or a kept-alive request's first byte) to the end of the
    /// request's headers.
    pub header_read_timeout: Duration,
    /// Between the end of a response and the next request's first byte.
    pub keep_alive_timeout: Duration,
    /// Open connections, all clients together.
    pub max_open: usize,
    /// Open connections from one client (an IPv4 address or an IPv6 /64);
    /// never more than `max_open`.
    pub max_per_client: usize,
}

impl Default for ConnectionLimits {
    /// The defaults of the command line. The caps stay above the load
    /// benchmarks' 256 connections, which all come from one address.
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(60),
            max_open: 1024,
            max_per_client: 512,
        }
    }
}

/// The revocation store named by `--revocations`.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum RevocationStore {
    /// `revocations.sqlite3` in the data dir: durable, but one server's own.
    #[default]
    Sqlite,
    /// A Redis server shared by every replica.
    Redis(RedisTarget),
}

/// A Redis URL that the redis crate accepts. Its password, if any, never
/// shows: `Display` and `Debug` give only the address and database.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisTarget {
    url: String,
    shown: String,
}

impl RedisTarget {
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let client = redis::Client::open(url).map_err(|err| {
            // The redis crate's message never repeats the URL, so no
            // password can leak through it.
            ConfigError::Revocations(format!("that Redis URL doesn't work: {err}"))
        })?;
        let info = client.get_connection_info();
        let shown = format!("redis://{}/{}", info.addr(), info.redis_settings().db());
        Ok(Self {
            url: url.to_owned(),
            shown,
        })
    }

    /// The URL as given, password included: only for connecting.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl fmt::Display for RedisTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisTarget({})", self.shown)
    }
}

impl fmt::Debug for RevocationStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite => f.write_str("Sqlite"),
            Self::Redis(target) => write!(f, "Redis({target})"),
        }
    }
}

impl RevocationStore {
    /// `sqlite`, or a `redis://` / `redis+unix://` URL.
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("sqlite") {
            return Ok(Self::Sqlite);
        }
        let scheme = value.split_once("://").map(|(scheme, _)| scheme);
        match scheme {
            Some("redis" | "redis+unix" | "unix") => Ok(Self::Redis(RedisTarget::parse(value)?)),
            Some("rediss") => Err(ConfigError::Revocations(
                "rediss:// (Redis over TLS) is not built in; reach Redis over a private network or a TLS tunnel \
                 and use redis://"
                    .to_owned(),
            )),
            // Don't echo the value: it may be a URL with a password in it.
            _ => Err(ConfigError::Revocations(
                "expected `sqlite` or a redis:// URL such as redis://127.0.0.1:6379/0".to_owned(),
            )),
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("--demo-password is empty: set a password for the login app")]
    EmptyPassword,
    #[error(
        "--session-ttl must be between 1 minute and 400 days (browsers keep cookies at most 400 days), got {0}"
    )]
    SessionTtl(String),
    #[error("--revocations: {0}")]
    Revocations(String),
    #[error("--trust-proxy: {0}")]
    TrustProxy(String),
    #[error("--shutdown-grace must be at most 10 minutes, got {0}")]
    ShutdownGrace(String),
    #[error("--header-read-timeout must be between 1 second and 10 minutes, got {0}")]
    HeaderReadTimeout(String),
    #[error("--keep-alive-timeout must be between 1 second and 1 hour, got {0}")]
    KeepAliveTimeout(String),
    #[error("--max-connections must be between 1 and {max}, got {0}", max = Config::MAX_CONNECTIONS)]
    MaxConnections(usize),
    #[error("--max-connections-per-client must be at least 1, got 0")]
    MaxConnectionsPerClient,
    #[error(
        "--allowed-hosts takes host names or IP addresses without ports or wildcards \
         (`.example.com` allows its subdomains), got {0:?}"
    )]
    AllowedHosts(String),
    #[error(
        "--replica-name must be 1 to 64 letters, digits, '.', '_', '-' or ':' (it is sent as a header), got {0:?}"
    )]
    ReplicaName(String),
    #[error(
        "--lab-peer-origin must be an origin such as https://b.example or http://127.0.0.1:5000: {0}"
    )]
    LabPeerOrigin(String),
}

impl Config {
    pub const MIN_SESSION_TTL: time::Duration = time::Duration::minutes(1);
    pub const MAX_SESSION_TTL: time::Duration =
        time::Duration::seconds(crate::engine::MAX_LIFETIME_SECONDS);
    /// Longer than any orchestrator waits between SIGTERM and SIGKILL.
    pub const MAX_SHUTDOWN_GRACE: Duration = Duration::from_secs(600);
    /// Below a second, a slow but honest client (a phone on a bad network)
    /// would be cut off.
    pub const MIN_CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);
    pub const MAX_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(600);
    pub const MAX_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(3600);
    /// Far above what one process serves; a typo rather than a plan.
    pub const MAX_CONNECTIONS: usize = 1_000_000;

    pub fn from_args(args: ServeArgs) -> Result<Self, ConfigError> {
        if args.demo_password.is_empty() {
            return Err(ConfigError::EmptyPassword);
        }
        let ttl = time::Duration::try_from(args.session_ttl)
            .ok()
            .filter(|ttl| (Self::MIN_SESSION_TTL..=Self::MAX_SESSION_TTL).contains(ttl))
            .ok_or_else(|| {
                ConfigError::SessionTtl(humantime::format_duration(args.session_ttl).to_string())
            })?;
        if args.shutdown_grace > Self::MAX_SHUTDOWN_GRACE {
            return Err(ConfigError::ShutdownGrace(
                humantime::format_duration(args.shutdown_grace).to_string(),
            ));
        }
        let connections = ConnectionLimits::from_args(&args)?;
        let replica_name = args.replica_name.filter(|n| !n.is_empty());
        if let Some(name) = &replica_name
            && !is_replica_name(name)
        {
            return Err(ConfigError::ReplicaName(name.clone()));
        }
        let trust_proxy = TrustedProxies::parse(args.trust_proxy.as_deref().unwrap_or(""))
            .map_err(ConfigError::TrustProxy)?;
        let lab_peer_origin = args
            .lab_peer_origin
            .as_deref()
            .filter(|o| !o.trim().is_empty())
            .map(Origin::parse)
            .transpose()
            .map_err(ConfigError::LabPeerOrigin)?;
        Ok(Self {
            lab_peer_origin,
            connections,
            revocations: RevocationStore::parse(&args.revocations)?,
            shutdown_grace: args.shutdown_grace,
            replica_name,
            allowed_hosts: AllowedHosts::parse(&args.allowed_hosts)?,
            login_rate: args.login_rate,
            addr: args.addr,
            data_dir: args.data_dir,
            demo_password: Password::new(args.demo_password),
            env_keys: args.keys.filter(|k| !k.trim().is_empty()),
            session_ttl: ttl,
            trust_proxy,
            log_format: args.log_format,
        })
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("data_dir", &self.data_dir)
            .field("demo_password", &self.demo_password)
            .field("env_keys", &self.env_keys.as_ref().map(|_| "REDACTED"))
            .field("session_ttl", &self.session_ttl)
            .field("trust_proxy", &self.trust_proxy)
            .field("log_format", &self.log_format)
            .field("revocations", &self.revocations)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("replica_name", &self.replica_name)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("login_rate", &self.login_rate)
            .field("connections", &self.connections)
            .field("lab_peer_origin", &self.lab_peer_origin)
            .finish()
    }
}

impl ConnectionLimits {
    fn from_args(args: &ServeArgs) -> Result<Self, ConfigError> {
        let shown = |d: Duration| humantime::format_duration(d).to_string();
        let header = args.header_read_timeout;
        if !(Config::MIN_CONNECTION_TIMEOUT..=Config::MAX_HEADER_READ_TIMEOUT).contains(&header) {
            return Err(ConfigError::HeaderReadTimeout(shown(header)));
        }
        let idle = args.keep_alive_timeout;
        if !(Config::MIN_CONNECTION_TIMEOUT..=Config::MAX_KEEP_ALIVE_TIMEOUT).contains(&idle) {
            return Err(ConfigError::KeepAliveTimeout(shown(idle)));
        }
        if !(1..=Config::MAX_CONNECTIONS).contains(&args.max_connections) {
            return Err(ConfigError::MaxConnections(args.max_connections));
        }
        if args.max_connections_per_client == 0 {
            return Err(ConfigError::MaxConnectionsPerClient);
        }
        Ok(Self {
            header_read_timeout: header,
            keep_alive_timeout: idle,
            max_open: args.max_connections,
            // Lowering only the total cap is not a mistake worth refusing
            // to start over: the per-client cap follows it down.
            max_per_client: args.max_connections_per_client.min(args.max_connections),
        })
    }
}

fn is_replica_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    fn args(extra: &[&str]) -> ServeArgs {
        let mut argv = vec!["cookie-lab"];
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv).unwrap().serve
    }

    #[test]
    fn defaults_are_valid() {
        let config = Config::from_args(args(&[])).unwrap();
        assert_eq!(config.session_ttl, time::Duration::days(7));
        assert!(config.demo_password.matches(&Password::new("code")));
    }

    #[test]
    fn bad_values_are_errors() {
        assert_eq!(
            Config::from_args(args(&["--demo-password", ""])).unwrap_err(),
            ConfigError::EmptyPassword
        );
        assert!(matches!(
            Config::from_args(args(&["--session-ttl", "1s"])),
            Err(ConfigError::SessionTtl(_))
        ));
        assert!(matches!(
            Config::from_args(args(&["--session-ttl", "401days"])),
            Err(ConfigError::SessionTtl(_))
        ));
    }

    #[test]
    fn the_revocation_store_is_sqlite_or_a_redis_url() {
        assert_eq!(
            Config::from_args(args(&[])).unwrap().revocations,
            RevocationStore::Sqlite
        );
        let config = Config::from_args(args(&[
            "--revocations",
            "redis://:hunter2@127.0.0.1:6390/2",
        ]))
        .unwrap();
        let RevocationStore::Redis(target) = &config.revocations else {
            panic!("expected Redis, got {:?}", config.revocations);
        };
        assert_eq!(target.to_string(), "redis://127.0.0.1:6390/2");
        assert_eq!(target.url(), "redis://:hunter2@127.0.0.1:6390/2");
        assert!(!format!("{config:?}").contains("hunter2"));
        for bad in [
            "postgres://db",
            "redis",
            "rediss://127.0.0.1:6390",
            "redis://:pw@host:notaport",
        ] {
            let err = Config::from_args(args(&["--revocations", bad])).unwrap_err();
            assert!(matches!(err, ConfigError::Revocations(_)), "{bad}: {err}");
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
    }

    #[test]
    fn shutdown_grace_and_replica_name_are_checked() {
        let config = Config::from_args(args(&[
            "--shutdown-grace",
            "2s",
            "--replica-name",
            "web-1.eu:a_b",
        ]))
        .unwrap();
        assert_eq!(config.shutdown_grace, Duration::from_secs(2));
        assert_eq!(config.replica_name.as_deref(), Some("web-1.eu:a_b"));
        assert!(matches!(
            Config::from_args(args(&["--shutdown-grace", "11m"])),
            Err(ConfigError::ShutdownGrace(_))
        ));
        for bad in ["has space", "line\nbreak", &"x".repeat(65)] {
            assert!(
                matches!(
                    Config::from_args(args(&["--replica-name", bad])),
                    Err(ConfigError::ReplicaName(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn allowed_hosts_match_names_and_subdomains_whatever_the_port() {
        let allowed = AllowedHosts::parse(&[
            "Cookies.Example.com".to_owned(),
            ".lab.test".to_owned(),
            "127.0.0.1".to_owned(),
            "[::1]".to_owned(),
        ])
        .unwrap()
        .unwrap();
        for host in [
            "cookies.example.com",
            "COOKIES.example.com:8443",
            "lab.test",
            "a.b.lab.test:5000",
            "127.0.0.1:5000",
            "[::1]:5000",
            "cookies.example.com.",
        ] {
            assert!(allowed.allows(host), "{host}");
        }
        for host in [
            "example.com",
            "evil.example",
            "xlab.test",
            "127.0.0.2:5000",
            "cookies.example.com.evil.example",
            "",
        ] {
            assert!(!allowed.allows(host), "{host}");
        }
        assert_eq!(AllowedHosts::parse(&[]).unwrap(), None);
        for bad in ["host:80", "*.example.com", "http://x"] {
            assert!(AllowedHosts::parse(&[bad.to_owned()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn connection_limits_default_to_the_command_lines_and_are_checked() {
        assert_eq!(
            Config::from_args(args(&[])).unwrap().connections,
            ConnectionLimits::default()
        );
        let config = Config::from_args(args(&[
            "--header-read-timeout",
            "1s",
            "--keep-alive-timeout",
            "2m",
            "--max-connections",
            "300",
        ]))
        .unwrap();
        assert_eq!(
            config.connections,
            ConnectionLimits {
                header_read_timeout: Duration::from_secs(1),
                keep_alive_timeout: Duration::from_secs(120),
                max_open: 300,
                max_per_client: 300,
            },
            "the per-client cap follows a lower total cap down"
        );
        for (flag, bad) in [
            ("--header-read-timeout", "500ms"),
            ("--header-read-timeout", "11m"),
            ("--keep-alive-timeout", "0s"),
            ("--keep-alive-timeout", "2h"),
            ("--max-connections", "0"),
            ("--max-connections", "1000001"),
            ("--max-connections-per-client", "0"),
        ] {
            let err = Config::from_args(args(&[flag, bad])).unwrap_err();
            assert!(err.to_string().starts_with(flag), "{flag} {bad}: {err}");
        }
    }

    #[test]
    fn trust_proxy_names_the_proxies_and_a_switch_is_refused() {
        assert!(Config::from_args(args(&[])).unwrap().trust_proxy.is_empty());
        let config = Config::from_args(args(&["--trust-proxy", "127.0.0.1, 10.0.0.0/8"])).unwrap();
        assert_eq!(config.trust_proxy.to_string(), "127.0.0.1/32,10.0.0.0/8");
        for bad in ["true", "false", "nginx", "10.0.0.0/40"] {
            let err = Config::from_args(args(&["--trust-proxy", bad])).unwrap_err();
            assert!(matches!(err, ConfigError::TrustProxy(_)), "{bad}: {err}");
        }
        let err = Config::from_args(args(&["--trust-proxy", "true"])).unwrap_err();
        assert!(
            err.to_string().contains("such as 127.0.0.1/32"),
            "says what to write: {err}"
        );
    }

    #[test]
    fn the_lab_peer_is_an_origin_or_a_clear_error() {
        assert_eq!(Config::from_args(args(&[])).unwrap().lab_peer_origin, None);
        let config = Config::from_args(args(&["--lab-peer-origin", "https://B.example/"])).unwrap();
        assert_eq!(
            config.lab_peer_origin.map(|o| o.to_string()).as_deref(),
            Some("https://b.example")
        );
        for bad in ["b.example", "https://b.example/lab", "ftp://b.example"] {
            let err = Config::from_args(args(&["--lab-peer-origin", bad])).unwrap_err();
            assert!(matches!(err, ConfigError::LabPeerOrigin(_)), "{bad}: {err}");
            assert!(err.to_string().starts_with("--lab-peer-origin"), "{err}");
        }
    }

    #[test]
    fn debug_redacts_secrets() {
        let config =
            Config::from_args(args(&["--keys", "c2VjcmV0", "--demo-password", "hunter2"])).unwrap();
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("c2VjcmV0") && !debug.contains("hunter2"),
            "{debug}"
        );
    }
}
