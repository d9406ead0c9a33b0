//! The browsers and their WebDriver servers, shared by the two test binaries
//! that drive real browsers (`tests/browser` and `tests/browser_truth.rs`,
//! each includes this file with `#[path]`): finding Chromium, chromedriver,
//! Firefox ESR and geckodriver on this machine, starting a driver on a free
//! loopback port, opening a session, and killing the driver (with every
//! process it started) on drop, so a failed test never leaves a browser
//! behind.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// How long a WebDriver server may take to listen. Generous: about 50 ms is
/// usual, but a busy 2-core machine can be much slower.
const DRIVER_START: Duration = Duration::from_secs(20);

pub(crate) const INSTALL_HINT: &str = "The browser tests drive Debian's Chromium (chromedriver) and Firefox ESR \
     (geckodriver). Install them with `sudo apt-get install chromium chromium-driver firefox-esr` and \
     `cargo install geckodriver --locked --version 0.37.1`, or run `scripts/test`, which does both. \
     To use other binaries, set COOKIE_LAB_CHROMIUM, COOKIE_LAB_CHROMEDRIVER, COOKIE_LAB_FIREFOX and \
     COOKIE_LAB_GECKODRIVER to their paths.";

/// Chromium and its driver.
pub(crate) fn chromium_tools() -> (PathBuf, PathBuf) {
    (
        find_tool("COOKIE_LAB_CHROMIUM", &["chromium", "chromium-browser"]),
        find_tool("COOKIE_LAB_CHROMEDRIVER", &["chromedriver"]),
    )
}

/// Firefox and its driver.
pub(crate) fn firefox_tools() -> (PathBuf, PathBuf) {
    (
        find_tool("COOKIE_LAB_FIREFOX", &["firefox-esr", "firefox"]),
        find_tool("COOKIE_LAB_GECKODRIVER", &["geckodriver"]),
    )
}

/// Finds a program: `$variable` if set, else the first of `names` on PATH,
/// in /usr/bin or in cargo's bin directory (where `cargo install` puts
/// geckodriver). Fails (never skips) when it is missing.
pub(crate) fn find_tool(variable: &str, names: &[&str]) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{variable} is {}, which is not a file. {INSTALL_HINT}",
            path.display()
        );
        return path;
    }
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    let mut candidates = std::env::split_paths(&dirs).collect::<Vec<_>>();
    candidates.push(PathBuf::from("/usr/bin"));
    if let Some(cargo_home) = std::env::var_os("CARGO_HOME") {
        candidates.push(PathBuf::from(cargo_home).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cargo/bin"));
    }
    for name in names {
        for dir in &candidates {
            let path = dir.join(name);
            if path.is_file() {
                return path;
            }
        }
    }
    panic!(
        "{} not found (looked on PATH, in /usr/bin and in ~/.cargo/bin). {INSTALL_HINT}",
        names.join(" / ")
    );
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// The command-line switches every headless Chromium here gets. Each binary
/// adds its own `--host-resolver-rules`, window size and `--user-data-dir`.
pub(crate) const CHROMIUM_ARGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
];

/// The capabilities of a headless Firefox with these preferences on top of
/// the ones every Firefox here gets. geckodriver makes a fresh profile for
/// each session (under `--profile-root` when the driver was given one).
pub(crate) fn firefox_capabilities(firefox: &Path, prefs: Value) -> Value {
    let mut all = json!({
        // Nothing leaves this machine. (geckodriver's own recommended
        // preferences already turn off updates, telemetry and the like.)
        "network.captive-portal-service.enabled": false,
        "network.connectivity-service.enabled": false,
        "browser.safebrowsing.malware.enabled": false,
        "browser.safebrowsing.phishing.enabled": false,
        "app.update.disabledForTesting": true,
    });
    if let (Value::Object(all), Value::Object(prefs)) = (&mut all, prefs) {
        all.extend(prefs);
    }
    json!({
        "browserName": "firefox",
        "moz:firefoxOptions": {
            "binary": firefox,
            "args": ["-headless"],
            "prefs": all,
        },
    })
}

/// A WebDriver server (chromedriver or geckodriver) on a loopback port.
pub(crate) struct Driver {
    child: Child,
    pub(crate) port: u16,
}

impl Driver {
    /// chromedriver on a free port.
    pub(crate) async fn chromedriver(binary: &Path) -> Self {
        Self::start(binary, |port| vec![format!("--port={port}")]).await
    }

    /// geckodriver on a free port, its BiDi WebSocket on another (its
    /// default, 9222, could be taken), and its profiles made under
    /// `profile_root` when given (else in the system's temporary directory).
    pub(crate) async fn geckodriver(binary: &Path, profile_root: Option<&Path>) -> Self {
        let websocket_port = free_port();
        Self::start(binary, |port| {
            let mut args = vec![
                "--port".to_owned(),
                port.to_string(),
                "--websocket-port".to_owned(),
                websocket_port.to_string(),
                "--log".to_owned(),
                "fatal".to_owned(),
            ];
            if let Some(root) = profile_root {
                args.push("--profile-root".to_owned());
                args.push(root.display().to_string());
            }
            args
        })
        .await
    }

    /// Starts `binary` with `args(port)` and waits until it listens.
    pub(crate) async fn start(binary: &Path, args: impl Fn(u16) -> Vec<String>) -> Self {
        let mut last_error = String::new();
        // The free port is found by binding port 0 and letting go of it; if
        // something else takes it in between, the driver exits: try again.
        for _ in 0..3 {
            let port = free_port();
            let child = Command::new(binary)
                .args(args(port))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("could not start {}: {e}. {INSTALL_HINT}", binary.display())
                });
            let mut driver = Self { child, port };
            let start = Instant::now();
            while start.elapsed() < DRIVER_START {
                if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                    return driver;
                }
                if let Ok(Some(status)) = driver.child.try_wait() {
                    last_error = format!("{} exited with {status}", binary.display());
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if last_error.is_empty() {
                last_error = format!(
                    "{} did not listen on port {port} within {DRIVER_START:?}",
                    binary.display()
                );
            }
        }
        panic!("{last_error}. {INSTALL_HINT}");
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A new session with these capabilities, which start `browser`.
    pub(crate) async fn session(&self, capabilities: Value, browser: &Path) -> Client {
        let Value::Object(capabilities) = capabilities else {
            panic!("capabilities must be a JSON object: {capabilities}");
        };
        let mut connector = HttpConnector::new();
        // Many small request/response pairs: don't let Nagle delay them.
        connector.set_nodelay(true);
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "the WebDriver server could not start {} ({e}). {INSTALL_HINT}",
                    browser.display()
                )
            })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // A browser whose session was not closed outlives a killed driver:
        // end everything the driver started first, deepest first. (After
        // the session's `close()` there is nothing left.) The driver and
        // its browser stay in the test's process group, so Ctrl-C on
        // `cargo test` ends them too.
        let mut pids = descendants(self.child.id());
        pids.reverse();
        for pid in pids {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every process below `root`, parents before their children.
fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .filter_map(|pid| {
                    // "pid (comm) state ppid ...": comm may hold spaces and ')'.
                    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                    let (_, rest) = stat.rsplit_once(')')?;
                    Some((pid, rest.split_whitespace().nth(1)?.parse::<u32>().ok()?))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    found.remove(0);
    found
}
