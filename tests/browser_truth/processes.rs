//! The browsers and their WebDriver servers: found on this machine, started
//! on free loopback ports, and killed (with every process they started) on
//! drop, so a failed recording never leaves a browser behind.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a WebDriver server may take to listen. Generous: about 50 ms is
/// usual, but a busy 2-core machine can be much slower.
const DRIVER_START: Duration = Duration::from_secs(20);

pub(crate) const INSTALL_HINT: &str = "The browser-truth recorder drives Debian's Chromium (chromedriver) and Firefox ESR \
     (geckodriver). Install them with `sudo apt-get install chromium chromium-driver firefox-esr` and \
     `cargo install geckodriver --locked --version 0.37.1`, or run `scripts/test`, which does both. \
     To use other binaries, set COOKIE_LAB_CHROMIUM, COOKIE_LAB_CHROMEDRIVER, COOKIE_LAB_FIREFOX and \
     COOKIE_LAB_GECKODRIVER to their paths.";

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

/// A WebDriver server (chromedriver or geckodriver) on a loopback port.
pub(crate) struct Driver {
    child: Child,
    pub(crate) port: u16,
}

impl Driver {
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
}

impl Drop for Driver {
    fn drop(&mut self) {
        // A browser whose session was not closed outlives a killed driver:
        // end everything the driver started first, deepest first.
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
