//! Runs one browser test: the real server on port 0, a WebDriver server on a
//! free port, and a headless Chromium or Firefox ESR with a fresh profile —
//! one browser at a time.
//!
//! A test is `browser_test(Engine::Firefox, Profile::Normal, |b| async move
//! { ... }).await`; a flow that runs in both engines is written once as
//! `async fn flow(engine: Engine)` and made two tests by
//! [`in_both_engines!`]. The body gets a [`Browser`]; when it returns (or
//! panics, or runs out of time) the harness closes the browser, stops its
//! driver and the server, and only then reports the outcome, so a failed
//! test never leaves a browser behind for the next one.
//!
//! Cookies are read with classic WebDriver (`GET /cookie`), which gives the
//! cookies the browser would send to the current page — enough for these
//! flows, which set and read on the same page (the browser-truth recorder
//! reads whole jars). Both drivers report `httpOnly`, `secure` and an
//! explicit `sameSite` as stored; for a cookie stored without SameSite,
//! chromedriver reports Lax and geckodriver None (`client.rs` shows it).

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::cookies::Cookie;
use fantoccini::elements::Element;
use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::{Client, Locator};
use serde_json::json;
use tempfile::TempDir;
use tokio::sync::Mutex;

use crate::common::spawn_app;
use crate::webdriver::{
    CHROMIUM_ARGS, Driver, chromium_tools, firefox_capabilities, firefox_tools,
};

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

/// One browser at a time: `cargo test` runs the tests of a binary on
/// parallel threads, and two browsers on 2 cores make each other slow enough
/// to flake. tokio's mutex does not poison, so a failed test frees it.
static ONE_BROWSER_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// Which browser runs the test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    /// Debian's Chromium, through chromedriver.
    Chromium,
    /// Debian's Firefox ESR, through geckodriver.
    Firefox,
}

/// What the browser profile allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    /// A fresh profile with the engine's defaults: cookies work.
    Normal,
    /// A fresh profile whose settings block every cookie.
    CookiesBlocked,
}

/// Makes each flow `async fn flow(engine: Engine)` two tests, `flow::chromium`
/// and `flow::firefox`, so the flow is written once and
/// `cargo test --test browser firefox` runs the Firefox half.
macro_rules! in_both_engines {
    ($($flow:ident),+ $(,)?) => {$(
        mod $flow {
            #[tokio::test]
            async fn chromium() {
                super::$flow(crate::harness::Engine::Chromium).await;
            }

            #[tokio::test]
            async fn firefox() {
                super::$flow(crate::harness::Engine::Firefox).await;
            }
        }
    )+};
}
pub(crate) use in_both_engines;

/// Runs `body` against a fresh server and a fresh headless browser.
pub(crate) async fn browser_test<F, Fut>(engine: Engine, profile: Profile, body: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let _turn = ONE_BROWSER_AT_A_TIME.lock().await;
    let started = Instant::now();
    let mut server = spawn_app().await;
    let session = Session::start(engine, profile).await;
    let browser = Browser {
        client: session.client.clone(),
        engine,
        base: server.url(""),
    };

    let ready = started.elapsed();

    // The body runs as its own task so that a panic in it is caught here,
    // after which the browser is still closed properly.
    let outcome = tokio::time::timeout(TEST_TIMEOUT, tokio::spawn(body(browser))).await;

    // Clean up first, report second.
    session.close().await;
    // The browser may hold keep-alive connections open; don't wait forever
    // for a graceful shutdown the test does not care about.
    server.stop_within(Duration::from_secs(5)).await;
    // Shown for failed tests, and for all with `-- --nocapture`.
    eprintln!(
        "browser test ({engine:?}): {:.2?} in all, of which start-up {ready:.2?}",
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

/// A browser with a fresh profile, its driver, and the profile's directory.
struct Session {
    client: Client,
    // Dropped in this order after `close()`: the driver kills whatever is
    // left of the browser, then the profile goes.
    _driver: Driver,
    _profile: TempDir,
}

impl Session {
    async fn start(engine: Engine, profile: Profile) -> Self {
        let profile_dir = tempfile::tempdir().expect("temp dir for the browser profile");
        let (driver, client) = match engine {
            Engine::Chromium => {
                let (chromium, chromedriver) = chromium_tools();
                let driver = Driver::chromedriver(&chromedriver).await;
                let capabilities = chromium_capabilities(&chromium, profile_dir.path(), profile);
                let client = driver.session(capabilities, &chromium).await;
                (driver, client)
            }
            Engine::Firefox => {
                let (firefox, geckodriver) = firefox_tools();
                // geckodriver makes the session's fresh profile in here.
                let driver = Driver::geckodriver(&geckodriver, Some(profile_dir.path())).await;
                let capabilities = firefox_capabilities(&firefox, firefox_prefs(profile));
                let client = driver.session(capabilities, &firefox).await;
                (driver, client)
            }
        };
        Self {
            client,
            _driver: driver,
            _profile: profile_dir,
        }
    }

    async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// A headless Chromium with its profile in `profile_dir`.
fn chromium_capabilities(
    chromium: &Path,
    profile_dir: &Path,
    profile: Profile,
) -> serde_json::Value {
    let (width, height) = WINDOW;
    let mut args: Vec<String> = CHROMIUM_ARGS.map(str::to_owned).into();
    args.extend([
        // Everything stays on this machine: no host name is ever looked up
        // (the tests use 127.0.0.1 only), so the browser's own background
        // lookups go nowhere either.
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1".to_owned(),
        format!("--window-size={width},{height}"),
        format!("--user-data-dir={}", profile_dir.display()),
    ]);
    let mut options = json!({ "binary": chromium, "args": args });
    if profile == Profile::CookiesBlocked {
        options["prefs"] = json!({ "profile.default_content_setting_values.cookies": 2 });
    }
    json!({ "browserName": "chrome", "goog:chromeOptions": options })
}

/// Firefox's preferences for `profile`.
fn firefox_prefs(profile: Profile) -> serde_json::Value {
    // Everything stays on this machine, as Chromium's resolver rules make
    // sure: every request but those to 127.0.0.1 and localhost (which
    // Firefox never sends to a proxy) goes to a proxy on a closed loopback
    // port, so no host name is looked up, and DNS over HTTPS is off.
    // (Checked once with a listener there: a page on another name arrived
    // as `GET http://that-name/`, while 127.0.0.1 loaded directly.)
    let mut prefs = json!({
        "network.proxy.type": 1,
        "network.proxy.http": "127.0.0.1",
        "network.proxy.http_port": 1,
        "network.proxy.ssl": "127.0.0.1",
        "network.proxy.ssl_port": 1,
        "network.trr.mode": 5,
        "network.dns.disablePrefetch": true,
        // JSON pages (`/api/cookies`) as plain text, as Chromium shows
        // them, not in Firefox's JSON viewer.
        "devtools.jsonview.enabled": false,
    });
    if profile == Profile::CookiesBlocked {
        // "Block all cookies" in the settings (Firefox's BEHAVIOR_REJECT).
        prefs["network.cookie.cookieBehavior"] = json!(2);
    }
    prefs
}

/// A browser session on the test's server. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Browser {
    pub(crate) client: Client,
    pub(crate) engine: Engine,
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
