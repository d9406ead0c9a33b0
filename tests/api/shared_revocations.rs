//! `--revocations redis://…`: replicas sharing one Redis honour each other's
//! logouts, a Redis that is down means 503 (never "logged in", never 500),
//! and service comes back by itself with Redis.
//!
//! Each test starts its own `redis-server` on a free loopback port, without
//! persistence, and kills it at the end.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cookie_lab::config::{RedisTarget, RevocationStore};
use cookie_lab::cookies::login::{self, LoginCookie};
use cookie_lab::keys::KeyRing;
use reqwest::StatusCode;
use tempfile::TempDir;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{
    TestApp, assert_redirects_to, set_cookies, spawn_with, test_config, text_of, the_set_cookie,
};

const EMAIL: &str = "ada@example.com";

/// A `redis-server` of our own on 127.0.0.1, killed on drop.
pub(crate) struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    pub(crate) async fn start() -> Self {
        Self::start_on(free_port_below_the_ephemeral_range()).await
    }

    /// Starts (again) on `port`, e.g. after [`Self::stop`].
    pub(crate) async fn start_on(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", &std::env::temp_dir().to_string_lossy()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!(
                    "could not start redis-server ({err}). These tests need Redis: install it with \
                     `apt-get install redis-server` (scripts/test does this for you)"
                )
            });
        let server = Self {
            port,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !server.answers_ping().await {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING on port {port} within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
    }

    async fn answers_ping(&self) -> bool {
        let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").await.is_ok()
            && tokio::time::timeout(Duration::from_secs(1), stream.read_exact(&mut reply))
                .await
                .is_ok_and(|read| read.is_ok())
            && &reply == b"+PONG\r\n"
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills the server (SIGKILL: as abrupt as a crash).
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    async fn ttl(&self, key: &str) -> i64 {
        let client = redis::Client::open(self.url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        redis::cmd("TTL")
            .arg(key)
            .query_async(&mut connection)
            .await
            .unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A free port that the kernel never hands out as the source port of an
/// outgoing connection, so it stays free while Redis is down between a kill
/// and a restart (other tests open connections all the time).
fn free_port_below_the_ephemeral_range() -> u16 {
    let low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768)
        .max(10_100);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        ^ std::process::id();
    let span = u32::from(low - 10_000);
    (0..span)
        .map(|i| 10_000 + u16::try_from((seed.wrapping_add(i.wrapping_mul(7919))) % span).unwrap())
        .find(|&port| TcpListener::bind(("127.0.0.1", port)).is_ok())
        .expect("a free port below the ephemeral range")
}

/// A replica: its own data dir, the shared keys and the shared Redis.
async fn replica(redis: &RedisServer, keys: &str) -> (TestApp, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.env_keys = Some(keys.to_owned());
    config.revocations = RevocationStore::Redis(RedisTarget::parse(&redis.url()).unwrap());
    (spawn_with(config).await, dir)
}

fn shared_keys() -> String {
    KeyRing::generate().unwrap().current().secret_base64()
}

fn login_value(set_cookie: &str) -> String {
    cookie::Cookie::parse(set_cookie.to_owned())
        .unwrap()
        .value()
        .to_owned()
}

#[tokio::test]
async fn a_logout_on_one_replica_is_honoured_by_another_sharing_redis() {
    let redis = RedisServer::start().await;
    let keys = shared_keys();
    let (first, _a) = replica(&redis, &keys).await;
    let (second, _b) = replica(&redis, &keys).await;
    let value = login_value(&the_set_cookie(&first.login(EMAIL, "code").await));
    let copy = format!("lab_session={value}");
    let before = second.get_with_cookie("/profile", &copy).await;
    assert_eq!(before.status(), StatusCode::OK, "the replicas share keys");

    let logout = first.post_form("/logout", &[]).await;
    let on_second = second.get_with_cookie("/profile", &copy).await;
    let on_first = first.get_with_cookie("/profile", &copy).await;

    assert_redirects_to(&logout, "/login");
    assert_redirects_to(&on_second, "/login");
    assert_redirects_to(&on_first, "/login");
    // Redis keeps the revocation exactly as long as the cookie would work.
    let now = OffsetDateTime::now_utc();
    let LoginCookie::Valid { claims, .. } = login::open(&first.keys, "lab_session", &value, now)
    else {
        panic!("the cookie itself is still genuine");
    };
    let ttl = redis
        .ttl(&format!("cookie-lab:revoked:{}", claims.sid))
        .await;
    let remaining = claims.remaining(now).whole_seconds();
    assert!(
        (remaining - 5..=remaining).contains(&ttl),
        "TTL {ttl} s, cookie has {remaining} s left"
    );
}

#[tokio::test]
async fn with_redis_down_logins_are_refused_with_503_and_come_back_with_redis() {
    let mut redis = RedisServer::start().await;
    let (app, _dir) = replica(&redis, &shared_keys()).await;
    assert_eq!(app.login(EMAIL, "code").await.status(), StatusCode::OK);
    assert_eq!(app.get("/profile").await.status(), StatusCode::OK);

    redis.stop();

    for (method, path) in [
        ("GET", "/profile"),
        ("GET", "/inspect"),
        ("POST", "/logout"),
    ] {
        let started = Instant::now();
        let response = if method == "GET" {
            app.get(path).await
        } else {
            app.post_form(path, &[]).await
        };
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{method} {path}: a dead Redis must not hang a request ({:?})",
            started.elapsed()
        );
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{method} {path}"
        );
        assert!(
            set_cookies(response.headers()).is_empty(),
            "{method} {path}: the login cookie is neither cleared nor renewed"
        );
        let page = response.text().await.unwrap();
        assert!(
            text_of(&page, "error-message")
                .contains("can't reach the store that records logged-out sessions"),
            "{method} {path}: {page}"
        );
        assert!(!page.contains("Logged in as"), "{method} {path}");
    }
    let login = reqwest::Client::new()
        .post(app.url("/login"))
        .form(&[("email", "bob@example.com"), ("password", "code")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        login.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "no session it couldn't end"
    );
    assert!(set_cookies(login.headers()).is_empty());
    let readyz = app.get("/readyz").await;
    assert_eq!(readyz.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        readyz
            .text()
            .await
            .unwrap()
            .contains("revocation store: unreachable (redis)")
    );
    assert_eq!(
        app.get("/healthz").await.status(),
        StatusCode::OK,
        "the process is up"
    );
    assert_eq!(
        app.get("/").await.status(),
        StatusCode::OK,
        "pages without logins work"
    );

    let _redis = RedisServer::start_on(redis.port()).await;

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut status = app.get("/profile").await.status();
    while status != StatusCode::OK && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = app.get("/profile").await.status();
    }
    assert_eq!(status, StatusCode::OK, "back by itself once Redis is");
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    assert_eq!(
        app.post_form("/logout", &[]).await.status(),
        StatusCode::SEE_OTHER
    );
}
