//! Validated settings for the server, built once from [`ServeArgs`].

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

use crate::cli::{LogFormat, ServeArgs};
use crate::domain::Password;

/// Everything the server needs, checked. Secrets are redacted in `Debug`.
#[derive(Clone)]
pub struct Config {
    pub addr: String,
    pub data_dir: PathBuf,
    pub demo_password: Password,
    /// `COOKIE_LAB_KEYS`, when set; it overrides the key file.
    pub env_keys: Option<String>,
    pub session_ttl: time::Duration,
    pub trust_proxy: bool,
    pub log_format: LogFormat,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("--demo-password is empty: set a password for the login app")]
    EmptyPassword,
    #[error(
        "--session-ttl must be between 1 minute and 400 days (browsers keep cookies at most 400 days), got {0}"
    )]
    SessionTtl(String),
}

impl Config {
    pub const MIN_SESSION_TTL: time::Duration = time::Duration::minutes(1);
    pub const MAX_SESSION_TTL: time::Duration = time::Duration::days(400);

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
        Ok(Self {
            addr: args.addr,
            data_dir: args.data_dir,
            demo_password: Password::new(args.demo_password),
            env_keys: args.keys.filter(|k| !k.trim().is_empty()),
            session_ttl: ttl,
            trust_proxy: args.trust_proxy,
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
            .finish()
    }
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
