//! `spawn_app()` and request helpers shared by every HTTP test.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cookie_lab::cli::LogFormat;
use cookie_lab::config::{Config, ConnectionLimits, RevocationStore};
use cookie_lab::domain::Password;
use cookie_lab::keys::KeyRing;
use cookie_lab::metrics::Metrics;
use cookie_lab::security::proxy::TrustedProxies;
use cookie_lab::security::throttle::Clock;
use cookie_lab::startup::Application;
use cookie_lab::state::AppState;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running cookie-lab and a browser-like client with a cookie jar.
pub(crate) struct TestApp {
    pub(crate) addr: SocketAddr,
    /// Keeps cookies like a browser; never follows redirects, so tests see them.
    pub(crate) client: Client,
    pub(crate) jar: Arc<reqwest::cookie::Jar>,
    pub(crate) keys: KeyRing,
    /// The revocation epoch sessions of this server are issued under.
    pub(crate) epoch: u64,
    /// The server's own state, for tests that break a part of it.
    pub(crate) state: AppState,
    pub(crate) data_dir: PathBuf,
    /// The server's own metrics, readable when no connection can be.
    pub(crate) metrics: Metrics,
    _tmp: Option<Arc<TempDir>>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

pub(crate) fn test_config(data_dir: &Path) -> Config {
    Config {
        addr: "127.0.0.1:0".to_owned(),
        data_dir: data_dir.to_owned(),
        demo_password: Password::new("code"),
        env_keys: None,
        session_ttl: time::Duration::days(7),
        trust_proxy: TrustedProxies::none(),
        log_format: LogFormat::Text,
        revocations: RevocationStore::Sqlite,
        shutdown_grace: std::time::Duration::from_secs(10),
        replica_name: None,
        allowed_hosts: None,
        login_rate: 30,
        connections: ConnectionLimits::default(),
    }
}

/// A fresh server with a fresh data dir (and so a fresh key ring).
pub(crate) async fn spawn_app() -> TestApp {
    let tmp = Arc::new(tempfile::tempdir().expect("temp dir"));
    let mut app = spawn_with(test_config(tmp.path())).await;
    app._tmp = Some(tmp);
    app
}

pub(crate) async fn spawn_with(config: Config) -> TestApp {
    spawn_with_clock(config, Clock::system()).await
}

/// A server whose login throttle reads `clock` (a `ManualClock`'s, so the
/// test moves time instead of waiting).
pub(crate) async fn spawn_with_clock(config: Config, clock: Clock) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        cookie_lab::telemetry::init_for_tests(LogFormat::Text);
    }
    let data_dir = config.data_dir.clone();
    let app = Application::build_with_clock(config, clock)
        .await
        .expect("server builds");
    let addr = app.local_addr();
    let keys = app.state().keys.clone();
    let state = app.state().clone();
    let epoch = app
        .state()
        .revocations
        .epoch_for_new_session()
        .await
        .expect("the revocation store answers");
    let metrics = app.state().metrics.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = Client::builder()
        .redirect(Policy::none())
        .cookie_provider(jar.clone())
        .build()
        .expect("client builds");
    TestApp {
        addr,
        client,
        jar,
        keys,
        epoch,
        state,
        data_dir,
        metrics,
        _tmp: None,
        stop: Some(stop),
        server: Some(server),
    }
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub(crate) async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    /// A POST of `body` as JSON, with the jar.
    pub(crate) async fn post_json(&self, path: &str, body: &serde_json::Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    /// A GET with exactly this `Cookie` header and no jar: what a forger sends.
    pub(crate) async fn get_with_cookie(&self, path: &str, cookie: &str) -> Response {
        Client::builder()
            .redirect(Policy::none())
            .build()
            .expect("client builds")
            .get(self.url(path))
            .header("Cookie", cookie)
            .send()
            .await
            .expect("GET")
    }

    pub(crate) async fn login(&self, email: &str, password: &str) -> Response {
        self.post_form("/login", &[("email", email), ("password", password)])
            .await
    }

    /// Stops the server and waits for it to finish.
    pub(crate) async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server ran");
        }
    }

    /// Starts a new server on the same data dir, keeping the client's jar,
    /// like a user whose browser outlives a server restart.
    pub(crate) async fn restart(mut self) -> TestApp {
        self.stop().await;
        let mut next = spawn_with(test_config(&self.data_dir)).await;
        next._tmp = self._tmp.take();
        // Same cookies, new port: move them over.
        let old = reqwest::Url::parse(&self.url("/")).expect("url");
        let new = reqwest::Url::parse(&next.url("/")).expect("url");
        use reqwest::cookie::CookieStore;
        if let Some(cookies) = self.jar.cookies(&old) {
            for pair in cookies.to_str().expect("ascii cookies").split("; ") {
                next.jar.add_cookie_str(&format!("{pair}; Path=/"), &new);
            }
        }
        next
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Every `Set-Cookie` header of a response, in order.
pub(crate) fn set_cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ascii Set-Cookie").to_owned())
        .collect()
}

/// The only `Set-Cookie` header; fails the test when there isn't exactly one.
pub(crate) fn the_set_cookie(response: &Response) -> String {
    let all = set_cookies(response.headers());
    assert_eq!(all.len(), 1, "expected one Set-Cookie, got {all:?}");
    all.into_iter().next().unwrap_or_default()
}

pub(crate) fn assert_redirects_to(response: &Response, location: &str) {
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "expected a 303");
    assert_eq!(
        response.headers().get(LOCATION).expect("Location"),
        location
    );
}

/// The text inside the first element marked `data-test="<marker>"`: inner
/// tags stripped, askama's HTML escapes undone.
pub(crate) fn text_of(html: &str, marker: &str) -> String {
    let needle = format!("data-test=\"{marker}\"");
    let start = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no {needle} in page:\n{html}"));
    let tag_start = html[..start].rfind('<').expect("attribute inside a tag");
    let tag: String = html[tag_start + 1..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let open_end = start + html[start..].find('>').expect("tag closes");
    let rest = &html[open_end + 1..];
    let inner = &rest[..rest.find(&format!("</{tag}>")).expect("element closes")];
    let mut text = String::new();
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    unescape(text.trim())
}

pub(crate) fn unescape(text: &str) -> String {
    text.replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}
