//! The command line: `cookie-lab [serve] [FLAGS]`, `cookie-lab keys …`.
//!
//! Every serve flag has a `COOKIE_LAB_*` environment variable; the doc
//! comments below are what `--help` prints.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::Context;

#[derive(Debug, Parser)]
#[command(
    name = "cookie-lab",
    version,
    about = "The Flask cookie tutorial as a Rust web service: every cookie flow, a login cookie that can't be forged, \
             and tools that explain what browsers do with cookies.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Flags for `serve`, which runs when no command is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app (the default command).
    Serve(Box<ServeArgs>),
    /// Show, rotate or generate the keys that seal login cookies.
    Keys(KeysArgs),
    /// Say what browsers do with a Set-Cookie header: exit 0 if they store
    /// it, 1 if they reject it, 2 if the input is not a Set-Cookie line.
    Lint(LintArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT (port 0 picks a free port).
    #[arg(long, env = "COOKIE_LAB_ADDR", default_value = "127.0.0.1:5000")]
    pub addr: String,

    /// Directory for the key ring (keys.json, mode 0600) and, with
    /// `--revocations sqlite`, the logged-out sessions (revocations.sqlite3);
    /// created (mode 0700) on first start.
    #[arg(long, env = "COOKIE_LAB_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// The login app's password (the tutorial's is "code").
    #[arg(
        long,
        env = "COOKIE_LAB_DEMO_PASSWORD",
        default_value = "code",
        hide_env_values = true
    )]
    pub demo_password: String,

    /// Login-cookie keys, base64, comma-separated, newest first; overrides the
    /// key file so replicas can share keys. Prefer the environment variable:
    /// flags show up in `ps`.
    #[arg(
        long,
        env = "COOKIE_LAB_KEYS",
        hide_env_values = true,
        value_name = "BASE64[,BASE64…]"
    )]
    pub keys: Option<String>,

    /// How long a login lasts (e.g. 7d, 12h, 30m); enforced by the server.
    #[arg(long, env = "COOKIE_LAB_SESSION_TTL", default_value = "7d", value_parser = humantime::parse_duration)]
    pub session_ttl: Duration,

    /// The proxies in front, as addresses or CIDR ranges (e.g. 127.0.0.1 or
    /// 10.0.0.0/8,2001:db8::/32): only from these peers do X-Forwarded-For
    /// (client addresses for login throttling, read from the right, past
    /// these proxies) and X-Forwarded-Proto (HTTPS for Secure/__Host- login
    /// cookies) count. Unset: trust no proxy.
    #[arg(long, env = "COOKIE_LAB_TRUST_PROXY", value_name = "CIDR[,CIDR…]")]
    pub trust_proxy: Option<String>,

    /// Where logged-out sessions are recorded: `sqlite` (revocations.sqlite3
    /// in the data dir, for one server) or a Redis URL such as
    /// redis://127.0.0.1:6379/0, shared by every replica behind one load
    /// balancer. Prefer the environment variable when the URL holds a password.
    #[arg(
        long,
        env = "COOKIE_LAB_REVOCATIONS",
        default_value = "sqlite",
        hide_env_values = true,
        value_name = "sqlite|redis://HOST:PORT[/DB]"
    )]
    pub revocations: String,

    /// On SIGTERM or Ctrl-C, how long in-flight requests may take to finish
    /// (new connections are refused at once); then the process exits anyway.
    #[arg(long, env = "COOKIE_LAB_SHUTDOWN_GRACE", default_value = "10s", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,

    /// How long a client may take to send a request's headers: counted from
    /// when it connects, or on a kept-alive connection from the first byte
    /// of its next request. A connection that sends nothing at all, or drips
    /// its headers a byte at a time, is closed after this (1s to 10m).
    #[arg(long, env = "COOKIE_LAB_HEADER_READ_TIMEOUT", default_value = "10s", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub header_read_timeout: Duration,

    /// How long a kept-alive connection may sit idle between two requests
    /// before it is closed (1s to 1h).
    #[arg(long, env = "COOKIE_LAB_KEEP_ALIVE_TIMEOUT", default_value = "60s", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub keep_alive_timeout: Duration,

    /// The most connections open at once. Past it, a new connection gets a
    /// short 503 and is closed at once, so the kernel's queue never fills. If
    /// the open-file limit (`ulimit -n`, raised to its hard limit at start)
    /// can't hold this many, a lower cap is used and a warning says so.
    #[arg(
        long,
        env = "COOKIE_LAB_MAX_CONNECTIONS",
        default_value_t = 1024,
        value_name = "N"
    )]
    pub max_connections: usize,

    /// The most connections one client may hold open at once (at most
    /// --max-connections). A client is the TCP peer's IPv4 address or IPv6 /64;
    /// behind a proxy that is the proxy, so raise this to --max-connections
    /// there. Past it, that client's new connections get a short 503 while
    /// everyone else is still served.
    #[arg(
        long,
        env = "COOKIE_LAB_MAX_CONNECTIONS_PER_CLIENT",
        default_value_t = 512,
        value_name = "N"
    )]
    pub max_connections_per_client: usize,

    /// This replica's name, sent as `X-Served-By` on every response so you can
    /// tell replicas apart behind a load balancer (letters, digits, `.`, `_`,
    /// `-`, `:`; at most 64). No header when unset.
    #[arg(long, env = "COOKIE_LAB_REPLICA_NAME", value_name = "NAME")]
    pub replica_name: Option<String>,

    /// How many sessions one client address (an IPv6 /64 counts as one),
    /// and one email, may create per minute: a burst of N, then one every
    /// 60/N seconds. Past it, logins get 429. 0 turns the limit off (the load
    /// benchmarks do).
    #[arg(
        long,
        env = "COOKIE_LAB_LOGIN_RATE",
        default_value_t = 30,
        value_name = "PER_MINUTE"
    )]
    pub login_rate: u32,

    /// Host names this server answers to (comma-separated; `.example.com`
    /// also allows every subdomain; the port is not compared). Requests for
    /// any other Host get 421, which stops DNS-rebinding pages from reaching
    /// it. /healthz and /readyz answer any Host, for load balancers. Unset:
    /// every Host is served.
    #[arg(
        long,
        env = "COOKIE_LAB_ALLOWED_HOSTS",
        value_delimiter = ',',
        value_name = "HOST[,HOST…]"
    )]
    pub allowed_hosts: Vec<String>,

    /// Site B of the cross-site lab (/lab), as an origin such as
    /// https://b.example: another host name of this same deployment (one
    /// server, or replicas sharing Redis). Unset: the lab pairs the two
    /// loopback names, localhost and 127.0.0.1, on the port it was opened
    /// on.
    #[arg(long, env = "COOKIE_LAB_LAB_PEER_ORIGIN", value_name = "URL")]
    pub lab_peer_origin: Option<String>,

    /// Log line format: text for people, json for log shippers.
    #[arg(long, env = "COOKIE_LAB_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    /// Directory holding keys.json (accepted before or after the action).
    #[arg(
        long,
        env = "COOKIE_LAB_DATA_DIR",
        default_value = "data",
        global = true
    )]
    pub data_dir: PathBuf,

    #[command(subcommand)]
    pub action: KeysAction,
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// List the keys: id, age, which one seals new cookies.
    List,
    /// Add a new key that seals from now on; older keys still open cookies
    /// and are resealed under the new one (restart the server to load it).
    Rotate {
        /// Also drop every older key at once, logging out everyone whose
        /// cookie they sealed: for a leaked key.
        #[arg(long)]
        drop_old: bool,
    },
    /// Keep only the current key, once users have had time to get their
    /// cookies resealed: cookies still sealed by older keys stop working.
    DropOld,
    /// Print a new random key in COOKIE_LAB_KEYS form (touches no file).
    Generate,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// The header, with or without "Set-Cookie:"; read from stdin (one per
    /// line) when absent. A byte may be written \xNN (a tab is \x09).
    pub set_cookie: Option<String>,

    /// The page that sets the cookie: its scheme, host and path decide
    /// Domain, Secure and the default Path.
    #[arg(long, default_value = "https://example.com/", value_name = "URL")]
    pub url: String,

    /// The engines whose verdicts are printed, and which decide the exit
    /// status.
    #[arg(long, value_enum, default_value_t = EngineChoice::Both)]
    pub engine: EngineChoice,

    /// Where the response that sets the cookie was loaded: same-site (a page
    /// or a request of this site), cross-site-top-level (a link from another
    /// site), or cross-site-iframe / -fetch / -image (embedded in a page of
    /// another site).
    #[arg(long, value_enum, default_value = "same-site")]
    pub context: Context,

    /// Lint every Set-Cookie of a HAR file exported from browser dev tools,
    /// each with its own URL and, from its page, its context.
    #[arg(long, value_name = "FILE", conflicts_with = "set_cookie")]
    pub har: Option<PathBuf>,

    /// Print the reports as JSON (an array, one report per line of input).
    #[arg(long)]
    pub json: bool,
}

/// `--engine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    Chromium,
    Firefox,
    Both,
}

/// `--context` takes the engine model's context ids.
impl ValueEnum for Context {
    fn value_variants<'a>() -> &'a [Self] {
        &Context::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.id()))
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_arguments_means_serve_on_flasks_port() {
        let cli = Cli::try_parse_from(["cookie-lab"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.addr, "127.0.0.1:5000");
        assert_eq!(cli.serve.demo_password, "code");
        assert_eq!(cli.serve.session_ttl, Duration::from_secs(7 * 24 * 3600));
        assert_eq!(cli.serve.revocations, "sqlite");
        assert_eq!(cli.serve.shutdown_grace, Duration::from_secs(10));
        assert_eq!(cli.serve.replica_name, None);
        assert_eq!(cli.serve.header_read_timeout, Duration::from_secs(10));
        assert_eq!(cli.serve.keep_alive_timeout, Duration::from_secs(60));
        assert_eq!(cli.serve.max_connections, 1024);
        assert_eq!(cli.serve.max_connections_per_client, 512);
        assert_eq!(cli.serve.trust_proxy, None);
    }

    #[test]
    fn a_bare_trust_proxy_is_an_error_not_trust_everyone() {
        let err = Cli::try_parse_from(["cookie-lab", "--trust-proxy"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue, "{err}");
        let cli =
            Cli::try_parse_from(["cookie-lab", "--trust-proxy", "10.0.0.0/8,127.0.0.1"]).unwrap();
        assert_eq!(
            cli.serve.trust_proxy.as_deref(),
            Some("10.0.0.0/8,127.0.0.1")
        );
    }

    #[test]
    fn flags_work_with_and_without_the_serve_command() {
        let cli =
            Cli::try_parse_from(["cookie-lab", "--addr", "0.0.0.0:80", "--session-ttl", "2h"])
                .unwrap();
        assert_eq!(cli.serve.addr, "0.0.0.0:80");
        assert_eq!(cli.serve.session_ttl, Duration::from_secs(7200));
        let cli = Cli::try_parse_from(["cookie-lab", "serve", "--data-dir", "/tmp/x"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::Serve(args)) if args.data_dir == std::path::Path::new("/tmp/x"))
        );
    }

    #[test]
    fn the_data_dir_is_accepted_anywhere_on_the_keys_command_line() {
        for argv in [
            &["cookie-lab", "keys", "--data-dir", "/d", "rotate"][..],
            &["cookie-lab", "keys", "rotate", "--data-dir", "/d"][..],
            &[
                "cookie-lab",
                "keys",
                "rotate",
                "--drop-old",
                "--data-dir",
                "/d",
            ][..],
        ] {
            let cli = Cli::try_parse_from(argv).unwrap();
            let Some(Command::Keys(args)) = cli.command else {
                panic!("{argv:?} is a keys command");
            };
            assert_eq!(args.data_dir, std::path::Path::new("/d"), "{argv:?}");
        }
    }

    #[test]
    fn keys_commands_parse() {
        let cli = Cli::try_parse_from(["cookie-lab", "keys", "rotate", "--drop-old"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Keys(KeysArgs {
                action: KeysAction::Rotate { drop_old: true },
                ..
            }))
        ));
    }
}
