//! The scaffold every test binary shares (`tests/api`, `tests/system`,
//! `tests/browser`): a server on port 0 with a fresh data dir, a
//! browser-like client, logging in, tampering with a login cookie, the
//! `cookie-lab` command, and readers for what a response says.
//!
//! Each binary includes this file with `#[path]`; not every binary uses
//! every helper.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cookie_lab::cli::LogFormat;
use cookie_lab::config::TrustedProxies;
use cookie_lab::config::{Config, ConnectionLimits, RevocationStore};
use cookie_lab::domain::Password;
use cookie_lab::keys::KeyRing;
use cookie_lab::revocation::Revocations;
use cookie_lab::routes;
use cookie_lab::security::throttle::Clock;
use cookie_lab::security::throttle::LoginThrottle;
use cookie_lab::startup::Application;
use cookie_lab::state::AppState;
use reqwest::cookie::CookieStore;
use reqwest::header::{COOKIE, HOST, HeaderMap, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running cookie-lab and a browser-like client with a cookie jar.
pub(crate) struct TestApp {
    pub(crate) addr: SocketAddr,
    /// Keeps cookies like a browser; never follows redirects, so tests see them.
    pub(crate) client: Client,
    pub(crate) jar: Arc<reqwest::cookie::Jar>,
    /// The revocation epoch sessions of this server are issued under.
    pub(crate) epoch: u64,
    /// The server's own state (keys, metrics, stores), for tests that seal
    /// cookies, read counters or break a part of it.
    pub(crate) state: AppState,
    pub(crate) data_dir: PathBuf,
    /// `Some` for an app with no socket (`oneshot_app`): requests go
    /// straight into the router.
    router: Option<cookie_lab::routes::App>,
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
        lab_peer_origin: None,
    }
}

/// The router alone with its state in memory (a generated key ring, an
/// in-memory revocation store): no socket, no key file, no database file.
/// Every request helper of [`TestApp`] works on it; `app.client` and
/// `app.url` don't, since nothing listens at `app.addr`.
pub(crate) async fn oneshot_app() -> TestApp {
    oneshot_with(test_config(Path::new("/nonexistent/oneshot"))).await
}

/// [`oneshot_app`] with this configuration.
pub(crate) async fn oneshot_with(config: Config) -> TestApp {
    let keys = KeyRing::generate().expect("a key ring");
    let revocations = Revocations::in_memory()
        .await
        .expect("an in-memory revocation store");
    let epoch = revocations
        .epoch_for_new_session()
        .await
        .expect("the store answers");
    let throttle = LoginThrottle::for_config(&config, Clock::system()).expect("a throttle");
    let data_dir = config.data_dir.clone();
    let state = AppState::new(config, keys, revocations, throttle);
    let jar = Arc::new(reqwest::cookie::Jar::default());
    TestApp {
        // Nothing listens here: only the Host header of oneshot requests.
        addr: SocketAddr::from(([127, 0, 0, 1], 5000)),
        client: Client::builder()
            .redirect(Policy::none())
            .build()
            .expect("client builds"),
        jar,
        epoch,
        router: Some(routes::app(state.clone())),
        state,
        data_dir,
        _tmp: None,
        stop: None,
        server: None,
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
    let state = app.state().clone();
    let epoch = app
        .state()
        .revocations
        .epoch_for_new_session()
        .await
        .expect("the revocation store answers");
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
        epoch,
        state,
        data_dir,
        router: None,
        _tmp: None,
        stop: Some(stop),
        server: Some(server),
    }
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A client with no jar: sends exactly the headers a test gives it.
    fn bare_client() -> Client {
        Client::builder()
            .redirect(Policy::none())
            .build()
            .expect("client builds")
    }

    /// Sends `request` over this app's transport: the socket, or straight
    /// into the router. `with_jar` says whether the jar's cookies go along
    /// (and whether the answer's Set-Cookies land in it).
    pub(crate) async fn send(&self, request: reqwest::RequestBuilder, with_jar: bool) -> Response {
        let Some(router) = &self.router else {
            return request.send().await.expect("the server answers");
        };
        let request = request.build().expect("a valid request");
        let url = request.url().clone();
        let mut http: axum::http::Request<reqwest::Body> =
            request.try_into().expect("an http::Request");
        let body = http
            .body()
            .as_bytes()
            .map(axum::body::Bytes::copy_from_slice)
            .unwrap_or_default();
        let mut builder = axum::http::Request::builder()
            .method(http.method().clone())
            .uri(http.uri().path_and_query().map_or("/", |p| p.as_str()))
            .header(HOST, url.authority());
        // As reqwest does: the jar's cookies only when the request brings
        // no Cookie header of its own.
        if with_jar
            && !http.headers().contains_key(COOKIE)
            && let Some(cookies) = self.jar.cookies(&url)
        {
            builder = builder.header(COOKIE, cookies);
        }
        for (name, value) in std::mem::take(http.headers_mut()) {
            if let Some(name) = name {
                builder = builder.header(name, value);
            }
        }
        let answer = tower::ServiceExt::oneshot(
            router.clone(),
            builder
                .body(axum::body::Body::from(body))
                .expect("a request"),
        )
        .await
        .expect("the router answers");
        let (parts, body) = answer.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("the whole body");
        if with_jar {
            self.jar
                .set_cookies(&mut parts.headers.get_all(SET_COOKIE).iter(), &url);
        }
        Response::from(axum::http::Response::from_parts(parts, bytes))
    }

    pub(crate) async fn get(&self, path: &str) -> Response {
        self.send(self.client.get(self.url(path)), true).await
    }

    pub(crate) async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.send(self.client.post(self.url(path)).form(form), true)
            .await
    }

    /// A POST of `body` as JSON, with the jar.
    pub(crate) async fn post_json(&self, path: &str, body: &serde_json::Value) -> Response {
        self.send(self.client.post(self.url(path)).json(body), true)
            .await
    }

    /// A GET with exactly this `Cookie` header and no jar: what a forger sends.
    pub(crate) async fn get_with_cookie(&self, path: &str, cookie: &str) -> Response {
        let request = Self::bare_client()
            .get(self.url(path))
            .header("Cookie", cookie);
        self.send(request, false).await
    }

    pub(crate) async fn login(&self, email: &str, password: &str) -> Response {
        self.post_form("/login", &[("email", email), ("password", password)])
            .await
    }

    /// Logs `email` in with the right password (the jar keeps the cookie)
    /// and returns the login cookie's value.
    pub(crate) async fn log_in(&self, email: &str) -> String {
        let response = self.login(email, "code").await;
        assert_eq!(response.status(), StatusCode::OK, "login of {email}");
        login_value(&the_set_cookie(&response))
    }

    /// Logs `email` in from a client of its own (not the jar, whose login
    /// cookie a new login would revoke) and returns the login cookie's
    /// value: a session the test holds apart.
    pub(crate) async fn new_session(&self, email: &str) -> String {
        let request = Self::bare_client()
            .post(self.url("/login"))
            .form(&[("email", email), ("password", "code")]);
        let response = self.send(request, false).await;
        assert_eq!(response.status(), StatusCode::OK, "login of {email}");
        login_value(&the_set_cookie(&response))
    }

    /// `GET /profile` with exactly this login cookie value and no jar.
    pub(crate) async fn profile_with(&self, value: &str) -> Response {
        self.get_with_cookie("/profile", &login_cookie(value)).await
    }

    /// A POST of `form` with exactly this `Cookie` header and no jar.
    pub(crate) async fn post_with_cookie(
        &self,
        path: &str,
        cookie: &str,
        form: &[(&str, &str)],
    ) -> Response {
        let request = Self::bare_client()
            .post(self.url(path))
            .header("Cookie", cookie)
            .form(form);
        self.send(request, false).await
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

    /// Stops the server, waiting at most `limit` for it: a browser may hold
    /// keep-alive connections open that a graceful stop would wait out.
    pub(crate) async fn stop_within(&mut self, limit: std::time::Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(limit, server).await;
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

/// The value of a login cookie's Set-Cookie header (`lab_session`, or
/// `__Host-lab_session` over HTTPS).
pub(crate) fn login_value(set_cookie: &str) -> String {
    let parsed = cookie::Cookie::parse(set_cookie.to_owned()).expect("a Set-Cookie header");
    assert!(
        ["lab_session", "__Host-lab_session"].contains(&parsed.name()),
        "{set_cookie}"
    );
    parsed.value().to_owned()
}

/// The `Cookie` header that carries this login cookie value.
pub(crate) fn login_cookie(value: &str) -> String {
    format!("lab_session={value}")
}

/// The login cookie value with one character of its sealed part changed:
/// still well-formed base64, so only the seal is broken.
pub(crate) fn tampered(value: &str) -> String {
    let (kid, sealed) = value.split_once('.').expect("<key id>.<sealed>");
    let mut bytes = sealed.as_bytes().to_vec();
    let i = (10..bytes.len())
        .find(|&i| bytes[i].is_ascii_alphanumeric())
        .expect("an alphanumeric character");
    bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
    format!("{kid}.{}", String::from_utf8(bytes).expect("ASCII"))
}

/// The path of the `cookie-lab` binary cargo built for these tests.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_cookie-lab");

/// `cookie-lab` with no key or store settings from the environment, so a
/// developer's own `COOKIE_LAB_*` can't change what a test sees.
pub(crate) fn cookie_lab() -> std::process::Command {
    let mut command = std::process::Command::new(BIN);
    command
        .env_remove("COOKIE_LAB_KEYS")
        .env_remove("COOKIE_LAB_REVOCATIONS")
        .env_remove("COOKIE_LAB_DATA_DIR");
    command
}

/// `cookie-lab --addr 127.0.0.1:0 --data-dir DIR`, ready for more arguments.
pub(crate) fn serve_command(data_dir: &Path) -> std::process::Command {
    let mut command = cookie_lab();
    command
        .args(["--addr", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(data_dir);
    command
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

/// What an error page says: the text of its `error-message` paragraph.
pub(crate) async fn error_message(response: Response) -> String {
    text_of(&response.text().await.expect("a page"), "error-message")
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

/// A connection from `source` (any 127.0.0.0/8 address is loopback), so a
/// test can be several clients at once.
pub(crate) async fn connect_from(source: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(server).await.unwrap()
}

/// Sends `GET path` on its own connection from `source` and reads the whole
/// answer (the request asks for the connection to be closed after it).
pub(crate) async fn get_from(source: &str, server: SocketAddr, path: &str) -> String {
    let mut stream = connect_from(source, server).await;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}
