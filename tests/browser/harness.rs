//! Runs one browser test: the real server on port 0, chromedriver on a free
//! port, and a headless Chromium with a fresh profile — one at a time.
//!
//! A test is `browser_test(Profile::Normal, |b| async move { ... }).await`.
//! The body gets a [`Browser`]; when it returns (or panics, or runs out of
//! time) the harness closes Chromium, stops chromedriver and the server, and
//! only then reports the outcome, so a failed test never leaves a browser
//! behind for the next one.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::cookies::Cookie;
use fantoccini::elements::Element;
use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::sync::Mutex;

use crate::common::spawn_app;

/// The password of the login app in every browser test (the tutorial's).
pub(crate) const PASSWORD: &str = "code";

/// How long a condition (an element, a URL, a cookie) may take to hold.
/// Generous: on a busy 2-core CI machine a page can take a while.
pub(crate) const WAIT: Duration = Duration::from_secs(10);
/// How often a condition is checked while waiting.
const POLL: Duration = Duration::from_millis(50);
/// A whole test, start-up and clean-up included, never takes longer.
const TEST_TIMEOUT: Duration = Duration::from_secs(90);
/// The browser window, and so the screenshots.
pub(crate) const WINDOW: (u32, u32) = (1100, 800);

/// One Chromium at a time: `cargo test` runs the tests of a binary on
/// parallel threads, and two browsers on 2 cores make each other slow enough
/// to flake. tokio's mutex does not poison, so a failed test frees it.
static ONE_BROWSER_AT_A_TIME: Mutex<()> = Mutex::const_new(());

const INSTALL_HINT: &str = "The browser tests drive Debian's Chromium through chromedriver. Install both with \
     `sudo apt-get install chromium chromium-driver`, or run `scripts/test`, which installs them and runs every test. \
     To use other binaries, set COOKIE_LAB_CHROMIUM and COOKIE_LAB_CHROMEDRIVER to their paths.";

/// What the browser profile allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    /// A fresh profile with Chromium's defaults: cookies work.
    Normal,
    /// A fresh profile whose settings block every cookie.
    CookiesBlocked,
}

/// Runs `body` against a fresh server and a fresh headless Chromium.
pub(crate) async fn browser_test<F, Fut>(profile: Profile, body: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let _turn = ONE_BROWSER_AT_A_TIME.lock().await;
    let started = Instant::now();
    let tools = Tools::find();
    let mut server = spawn_app().await;
    let profile_dir = tempfile::tempdir().expect("temp dir for the browser profile");
    let driver = Chromedriver::start(&tools.chromedriver).await;
    let client = connect(&driver, &tools.chromium, profile_dir.path(), profile).await;
    let browser = Browser {
        client: client.clone(),
        base: server.url(""),
    };

    let ready = started.elapsed();

    // The body runs as its own task so that a panic in it is caught here,
    // after which the browser is still closed properly.
    let outcome = tokio::time::timeout(TEST_TIMEOUT, tokio::spawn(body(browser))).await;

    // Clean up first, report second.
    let _ = client.close().await;
    drop(driver);
    // Chromium may hold keep-alive connections open; don't wait forever
    // for a graceful shutdown the test does not care about.
    server.stop_within(Duration::from_secs(5)).await;
    drop(profile_dir);
    // Shown for failed tests, and for all with `-- --nocapture`.
    eprintln!(
        "browser test: {:.2?} in all, of which start-up {ready:.2?}",
        started.elapsed()
    );

    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(joined)) => match joined.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(err) => panic!("the test task did not finish: {err}"),
        },
        Err(_) => panic!("the browser test took longer than {TEST_TIMEOUT:?}"),
    }
}

/// A browser session on the test's server. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Browser {
    pub(crate) client: Client,
    base: String,
}

impl Browser {
    /// The absolute URL of `path` on the test's server.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Loads `path` and waits for the page to finish loading.
    pub(crate) async fn goto(&self, path: &str) {
        self.client
            .goto(&self.url(path))
            .await
            .unwrap_or_else(|e| panic!("loading {path}: {e}"));
    }

    /// The path (with the query, if any) of the page the browser shows.
    pub(crate) async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits until the browser shows `path` (with its query, if any).
    pub(crate) async fn wait_for_path(&self, path: &str) {
        let deadline = Deadline::after(WAIT);
        loop {
            let now = self.path().await;
            if now == path {
                return;
            }
            assert!(
                !deadline.passed(),
                "the browser did not reach {path} within {WAIT:?}; it shows {now}"
            );
            deadline.tick().await;
        }
    }

    /// Waits for the element marked `data-test="<marker>"`.
    pub(crate) async fn find(&self, marker: &str) -> Element {
        let css = by_test(marker);
        let found = self
            .client
            .wait()
            .at_most(WAIT)
            .every(POLL)
            .for_element(Locator::Css(&css))
            .await;
        match found {
            Ok(element) => element,
            Err(e) => {
                let at = self.path().await;
                panic!("no data-test=\"{marker}\" element on {at} within {WAIT:?}: {e}")
            }
        }
    }

    /// Whether the page has an element marked `data-test="<marker>"` now.
    pub(crate) async fn has(&self, marker: &str) -> bool {
        let css = by_test(marker);
        !self
            .client
            .find_all(Locator::Css(&css))
            .await
            .expect("find_all")
            .is_empty()
    }

    /// The visible text of the element marked `data-test="<marker>"`.
    pub(crate) async fn text(&self, marker: &str) -> String {
        self.find(marker)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of {marker}: {e}"))
    }

    /// Clears the input marked `marker` and types `text` into it, key by key.
    pub(crate) async fn type_into(&self, marker: &str, text: &str) {
        let input = self.find(marker).await;
        input.clear().await.expect("clear input");
        input.send_keys(text).await.expect("type into input");
        let typed = input.prop("value").await.expect("input value");
        assert_eq!(typed.as_deref(), Some(text), "the input {marker} holds");
    }

    /// Clicks the element marked `marker`.
    pub(crate) async fn click(&self, marker: &str) {
        self.find(marker)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {marker}: {e}"));
    }

    /// Runs a script in the page and returns its result.
    pub(crate) async fn script(&self, js: &str) -> serde_json::Value {
        self.client
            .execute(js, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script {js:?}: {e}"))
    }

    /// The cookies the browser stores that it would send to the current page.
    pub(crate) async fn cookies(&self) -> Vec<Cookie<'static>> {
        self.client
            .get_all_cookies()
            .await
            .expect("get_all_cookies")
    }

    /// The cookie `name` the browser would send to the current page, if any.
    pub(crate) async fn cookie(&self, name: &str) -> Option<Cookie<'static>> {
        match self.client.get_named_cookie(name).await {
            Ok(cookie) => Some(cookie),
            Err(CmdError::Standard(e)) if e.error == ErrorStatus::NoSuchCookie => None,
            Err(e) => panic!("get_named_cookie({name}): {e}"),
        }
    }

    /// Loads `/api/cookies` and returns what the server received there.
    pub(crate) async fn server_received(&self) -> BTreeMap<String, String> {
        self.goto("/api/cookies").await;
        self.json_cookies().await
    }

    /// Reads the `{"cookies": {...}}` JSON the browser is showing.
    pub(crate) async fn json_cookies(&self) -> BTreeMap<String, String> {
        let body = self.script("return document.body.innerText;").await;
        let body = body.as_str().expect("page text");
        let parsed: serde_json::Value = serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("/api/cookies is not JSON ({e}): {body}"));
        serde_json::from_value(parsed["cookies"].clone())
            .unwrap_or_else(|e| panic!("no cookies object ({e}): {body}"))
    }

    /// Fills in and submits the login form; the caller waits for the page
    /// it expects (success or error).
    pub(crate) async fn log_in(&self, email: &str, password: &str) {
        self.goto("/login").await;
        self.type_into("login-email", email).await;
        self.type_into("login-password", password).await;
        self.click("login-submit").await;
    }

    /// Sets `userID` through the home page's form; waits for the answer.
    pub(crate) async fn set_user_id(&self, text: &str) {
        self.goto("/").await;
        self.type_into("userid-input", text).await;
        self.click("userid-submit").await;
        self.find("set-cookie-header").await;
    }

    /// Resizes the window so that the page gets exactly `width` x `height`
    /// CSS pixels (the window is a little larger than what it shows).
    pub(crate) async fn set_viewport(&self, width: u32, height: u32) {
        let chrome = self
            .script("return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];")
            .await;
        let extra =
            |i: usize| u32::try_from(chrome[i].as_u64().expect("a size")).expect("a small size");
        self.client
            .set_window_size(width + extra(0), height + extra(1))
            .await
            .expect("set_window_size");
    }

    /// The whole page as a PNG, `width` CSS pixels wide and at least
    /// `min_height` tall: the window grows to the page's height for the shot.
    pub(crate) async fn screenshot(&self, width: u32, min_height: u32) -> Vec<u8> {
        self.set_viewport(width, min_height).await;
        let page_height = self
            .script("return document.documentElement.scrollHeight;")
            .await
            .as_u64()
            .and_then(|h| u32::try_from(h).ok())
            .expect("page height");
        if page_height > min_height {
            self.set_viewport(width, page_height).await;
        }
        self.client.screenshot().await.expect("screenshot")
    }
}

/// A bounded wait: check a condition, and if it does not hold yet,
/// `tick()` — until `passed()`.
pub(crate) struct Deadline {
    start: Instant,
    limit: Duration,
}

impl Deadline {
    pub(crate) fn after(limit: Duration) -> Self {
        Self {
            start: Instant::now(),
            limit,
        }
    }

    /// True once the time is up.
    pub(crate) fn passed(&self) -> bool {
        self.start.elapsed() > self.limit
    }

    /// Waits a moment before the next check.
    pub(crate) async fn tick(&self) {
        tokio::time::sleep(POLL).await;
    }
}

/// The CSS selector of the element marked `data-test="<marker>"`.
fn by_test(marker: &str) -> String {
    format!("[data-test=\"{marker}\"]")
}

/// Where Chromium and chromedriver are. Fails the test, never skips it,
/// when either is missing.
struct Tools {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

impl Tools {
    fn find() -> Self {
        Self {
            chromium: find_tool("COOKIE_LAB_CHROMIUM", &["chromium", "chromium-browser"]),
            chromedriver: find_tool("COOKIE_LAB_CHROMEDRIVER", &["chromedriver"]),
        }
    }
}

fn find_tool(variable: &str, names: &[&str]) -> PathBuf {
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
    for name in names {
        for dir in &candidates {
            let path = dir.join(name);
            if path.is_file() {
                return path;
            }
        }
    }
    panic!(
        "{} not found (looked on PATH and in /usr/bin). {INSTALL_HINT}",
        names.join(" / ")
    );
}

/// chromedriver on a free local port. Killed on drop, together with any
/// browser it started that is still running.
struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    async fn start(binary: &Path) -> Self {
        let mut last_error = String::new();
        // The free port is found by binding port 0 and letting go of it; if
        // something else takes it in between, chromedriver exits: try again.
        for _ in 0..3 {
            let port = free_port();
            let mut driver = match Command::new(binary)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
            {
                Ok(child) => Self { child, port },
                Err(e) => panic!("could not start {}: {e}. {INSTALL_HINT}", binary.display()),
            };
            let start = Instant::now();
            while start.elapsed() < WAIT {
                if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                    return driver;
                }
                if let Ok(Some(status)) = driver.child.try_wait() {
                    last_error = format!("chromedriver exited with {status}");
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if last_error.is_empty() {
                last_error = format!("chromedriver did not listen on port {port} within {WAIT:?}");
            }
            drop(driver);
        }
        panic!("{last_error}. {INSTALL_HINT}");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // chromedriver talks to Chromium over a TCP port, so a Chromium
        // whose session was not closed outlives a killed chromedriver: end
        // the browsers it started first. (After `close()` there are none.)
        // chromedriver and Chromium stay in the test's process group, so
        // Ctrl-C on `cargo test` ends them too.
        for pid in children_of(self.child.id()) {
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

/// The processes whose parent is `parent`, from `/proc/<pid>/stat`.
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // "pid (comm) state ppid ...": comm may hold spaces and ')'.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let (_, rest) = stat.rsplit_once(')')?;
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(parent)
        })
        .collect()
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// A WebDriver session for a headless Chromium with a fresh profile.
async fn connect(
    driver: &Chromedriver,
    chromium: &Path,
    profile_dir: &Path,
    profile: Profile,
) -> Client {
    let (width, height) = WINDOW;
    let mut options = json!({
        "binary": chromium,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Everything stays on this machine: no proxy, and no host name
            // is ever looked up (the tests use 127.0.0.1 only), so the
            // browser's own background lookups go nowhere either.
            "--no-proxy-server",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile_dir.display()),
        ],
    });
    if profile == Profile::CookiesBlocked {
        options["prefs"] = json!({ "profile.default_content_setting_values.cookies": 2 });
    }
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": options,
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("capabilities are a JSON object");
    };
    let mut connector = HttpConnector::new();
    // Many small request/response pairs: don't let Nagle delay them.
    connector.set_nodelay(true);
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "chromedriver could not start {} ({e}). {INSTALL_HINT}",
                chromium.display()
            )
        })
}
