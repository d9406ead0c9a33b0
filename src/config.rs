//! Validated settings for the server, built once from [`ServeArgs`].

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

use crate::cli::{LogFormat, ServeArgs};
use crate::domain::Password;
use crate::security::proxy::TrustedProxies;

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
    #[error(
        "--replica-name must be 1 to 64 letters, digits, '.', '_', '-' or ':' (it is sent as a header), got {0:?}"
    )]
    ReplicaName(String),
}

impl Config {
    pub const MIN_SESSION_TTL: time::Duration = time::Duration::minutes(1);
    pub const MAX_SESSION_TTL: time::Duration = time::Duration::days(400);
    /// Longer than any orchestrator waits between SIGTERM and SIGKILL.
    pub const MAX_SHUTDOWN_GRACE: Duration = Duration::from_secs(600);

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
        let replica_name = args.replica_name.filter(|n| !n.is_empty());
        if let Some(name) = &replica_name
            && !is_replica_name(name)
        {
            return Err(ConfigError::ReplicaName(name.clone()));
        }
        let trust_proxy = TrustedProxies::parse(args.trust_proxy.as_deref().unwrap_or(""))
            .map_err(ConfigError::TrustProxy)?;
        Ok(Self {
            revocations: RevocationStore::parse(&args.revocations)?,
            shutdown_grace: args.shutdown_grace,
            replica_name,
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
            .finish()
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
