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
//! test never leaves a browser behind for the next one. The server answers
//! on 127.0.0.1 and, through a twin listener on `[::1]`, on `localhost` at
//! the same port: two sites to the browser (the cross-site lab uses both).
//!
//! Cookies are read with classic WebDriver (`GET /cookie`), which gives the
//! cookies the browser would send to the current page — enough for these
//! flows, which set and read on the same page — or, where a test needs the
//! whole jar (every site and partition), with [`Browser::jar`]. Both drivers report `httpOnly`, `secure` and an
//! explicit `sameSite` as stored; for a cookie stored without SameSite,
//! chromedriver reports Lax and geckodriver None (`client.rs` shows it).

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
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
    /// A fresh profile that allows third-party cookies (Chromium's
    /// `profile.cookie_controls_mode` 0 and `profile.block_third_party_cookies`
    /// false; Firefox's `network.cookie.cookieBehavior` 0).
    ThirdPartyCookiesAllowed,
    /// Firefox only: third-party cookies rejected (`cookieBehavior` 1).
    ThirdPartyCookiesRejected,
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
    // `localhost` may resolve to ::1 first: the same port there too, so
    // both loopback names reach this server (the lab's two sites).
    let twin = LoopbackTwin::start(server.addr).await;
    let session = Session::start(engine, profile).await;
    let browser = Browser {
        client: session.client.clone(),
        engine,
        base: server.url(""),
        port: server.addr.port(),
        bidi: Arc::new(Mutex::new(None)),
    };

    let ready = started.elapsed();

    // The body runs as its own task so that a panic in it is caught here,
    // after which the browser is still closed properly.
    let outcome = tokio::time::timeout(TEST_TIMEOUT, tokio::spawn(body(browser))).await;

    // Clean up first, report second.
    session.close().await;
    drop(twin);
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
                let mut capabilities = firefox_capabilities(&firefox, firefox_prefs(profile));
                // WebDriver BiDi, to read the whole jar (`Browser::jar`).
                capabilities["webSocketUrl"] = json!(true);
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
        // `localhost` is the cross-site lab's second site, on this machine.
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost".to_owned(),
        format!("--window-size={width},{height}"),
        format!("--user-data-dir={}", profile_dir.display()),
    ]);
    let mut options = json!({ "binary": chromium, "args": args });
    match profile {
        Profile::Normal => {}
        Profile::CookiesBlocked => {
            options["prefs"] = json!({ "profile.default_content_setting_values.cookies": 2 });
        }
        Profile::ThirdPartyCookiesRejected => {
            panic!("ThirdPartyCookiesRejected is a Firefox profile")
        }
        Profile::ThirdPartyCookiesAllowed => {
            options["prefs"] = json!({
                "profile.cookie_controls_mode": 0,
                "profile.block_third_party_cookies": false,
            });
        }
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
    match profile {
        Profile::Normal => {}
        // "Block all cookies" in the settings (Firefox's BEHAVIOR_REJECT).
        Profile::CookiesBlocked => prefs["network.cookie.cookieBehavior"] = json!(2),
        Profile::ThirdPartyCookiesAllowed => prefs["network.cookie.cookieBehavior"] = json!(0),
        Profile::ThirdPartyCookiesRejected => prefs["network.cookie.cookieBehavior"] = json!(1),
    }
    prefs
}

/// A browser session on the test's server. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Browser {
    pub(crate) client: Client,
    pub(crate) engine: Engine,
    base: String,
    port: u16,
    /// Firefox's BiDi socket, opened on first use.
    bidi: Arc<Mutex<Option<Bidi>>>,
}

impl Browser {
    /// The absolute URL of `path` on the test's server.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The absolute URL of `path` on the test's server under its other
    /// loopback name, `localhost`: another site to the browser.
    pub(crate) fn other_site_url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.port)
    }

    /// Loads an absolute URL and waits for the page to finish loading.
    pub(crate) async fn goto_url(&self, url: &str) -> Result<(), String> {
        self.client.goto(url).await.map_err(|e| e.to_string())
    }

    /// Every live cookie in the browser's jar, whatever its site, path or
    /// partition: Chromium's DevTools `Network.getAllCookies`, Firefox's
    /// BiDi `storage.getCookies` without a partition. Name and domain.
    /// Firefox may still list, for a moment, a cookie that a removal
    /// (`Max-Age=0`) expired: one whose expiry has passed is not counted,
    /// since no request carries it.
    pub(crate) async fn jar(&self) -> Vec<(String, String)> {
        let cookies = match self.engine {
            Engine::Chromium => {
                let reply = self
                    .client
                    .issue_cmd(Cdp {
                        cmd: "Network.getAllCookies",
                    })
                    .await
                    .unwrap_or_else(|e| panic!("Chromium DevTools Network.getAllCookies: {e}"));
                reply["cookies"].clone()
            }
            Engine::Firefox => {
                let reply = self.bidi("storage.getCookies", json!({})).await;
                reply["cookies"].clone()
            }
        };
        let serde_json::Value::Array(cookies) = cookies else {
            panic!("no cookie list from the browser: {cookies}");
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        cookies
            .iter()
            .filter(|c| {
                // CDP: `expires`, -1 for a session cookie; BiDi: `expiry`,
                // absent for one.
                let expiry = c["expires"].as_f64().or_else(|| c["expiry"].as_f64());
                expiry.is_none_or(|at| at < 0.0 || at > now)
            })
            .map(|c| {
                let name = match &c["name"] {
                    serde_json::Value::String(name) => name.clone(),
                    other => other["value"].as_str().unwrap_or_default().to_owned(),
                };
                (name, c["domain"].as_str().unwrap_or_default().to_owned())
            })
            .collect()
    }

    /// One WebDriver BiDi command (Firefox) and its result.
    async fn bidi(&self, method: &str, params: serde_json::Value) -> serde_json::Value {
        let mut slot = self.bidi.lock().await;
        if slot.is_none() {
            let url = self
                .client
                .capabilities()
                .and_then(|c| c.get("webSocketUrl"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or_else(|| panic!("the session has no BiDi socket (webSocketUrl)"))
                .to_owned();
            let (socket, _) = tokio_tungstenite::connect_async(url.as_str())
                .await
                .unwrap_or_else(|e| panic!("connecting to BiDi at {url}: {e}"));
            *slot = Some(Bidi { socket, next_id: 1 });
        }
        let Some(bidi) = slot.as_mut() else {
            unreachable!("connected above")
        };
        bidi.command(method, params).await
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

/// A DevTools command through chromedriver (`goog/cdp/execute`), without
/// parameters.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": {} });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// A BiDi command gets its answer within this, or the test fails: each
/// takes milliseconds.
const BIDI_TIMEOUT: Duration = Duration::from_secs(30);

/// Firefox's WebDriver BiDi socket.
struct Bidi {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next_id: u64,
}

impl Bidi {
    async fn command(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let id = self.next_id;
        self.next_id += 1;
        let command = json!({ "id": id, "method": method, "params": params });
        self.socket
            .send(Message::text(command.to_string()))
            .await
            .unwrap_or_else(|e| panic!("sending {method}: {e}"));
        let answer = tokio::time::timeout(BIDI_TIMEOUT, async {
            while let Some(message) = self.socket.next().await {
                let Ok(Message::Text(text)) = message else {
                    continue;
                };
                let reply: serde_json::Value =
                    serde_json::from_str(text.as_str()).unwrap_or(serde_json::Value::Null);
                // Events have no id; the answer has this command's.
                if reply["id"].as_u64() == Some(id) {
                    return reply;
                }
            }
            panic!("the BiDi socket closed before answering {method}")
        })
        .await
        .unwrap_or_else(|_| panic!("{method}: no answer within {BIDI_TIMEOUT:?}"));
        assert_eq!(answer["type"], "success", "{method} failed: {answer}");
        answer["result"].clone()
    }
}

/// A listener on `[::1]` at the server's port that passes every connection
/// on to the server on 127.0.0.1: `localhost` reaches the server whichever
/// of its addresses the browser tries first. Stops when dropped.
struct LoopbackTwin {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl LoopbackTwin {
    async fn start(server: std::net::SocketAddr) -> Self {
        let Ok(listener) = tokio::net::TcpListener::bind(("::1", server.port())).await else {
            // No IPv6 loopback here (or the port is taken there): browsers
            // then reach localhost on 127.0.0.1 alone.
            return Self { task: None };
        };
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(server).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self { task: Some(task) }
    }
}

impl Drop for LoopbackTwin {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
