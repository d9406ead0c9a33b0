//! `--revocations redis://…`: replicas sharing one Redis honour each other's
//! logouts, a Redis that is down means 503 (never "logged in", never 500),
//! and service comes back by itself with Redis.
//!
//! Each test starts its own `redis-server` on a free loopback port (with an
//! append-only file where a test restarts it, as production must run it),
//! and kills it at the end. Losing Redis's data logs everyone out; it never
//! brings a logged-out session back.

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

use crate::common::{
    TestApp, assert_redirects_to, login_cookie, set_cookies, spawn_with, test_config, text_of,
};

const EMAIL: &str = "ada@example.com";

/// A `redis-server` of our own on 127.0.0.1, killed on drop.
pub(crate) struct RedisServer {
    port: u16,
    child: Option<Child>,
    /// The append-only file's directory, for a server that persists.
    aof_dir: Option<TempDir>,
}

impl RedisServer {
    /// Without persistence: a restart loses everything.
    pub(crate) async fn start() -> Self {
        Self::start_on(free_port_below_the_ephemeral_range(), None).await
    }

    /// As production must run it: an append-only file, fsynced on every
    /// write, and no eviction.
    pub(crate) async fn start_persistent() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self::start_on(free_port_below_the_ephemeral_range(), Some(dir)).await
    }

    /// Starts (again) on `port`, e.g. after [`Self::stop`]; with the same
    /// append-only directory, it comes back with its data.
    pub(crate) async fn start_on(port: u16, aof_dir: Option<TempDir>) -> Self {
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", ""]);
        match &aof_dir {
            Some(dir) => command
                .args(["--appendonly", "yes", "--appendfsync", "always"])
                .args(["--maxmemory-policy", "noeviction"])
                .args(["--dir", &dir.path().to_string_lossy()]),
            None => command
                .args(["--appendonly", "no"])
                .args(["--dir", &std::env::temp_dir().to_string_lossy()]),
        };
        let child = command
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
            aof_dir,
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

    /// Kills the server (SIGKILL: as abrupt as a crash). Returns its
    /// append-only directory, to start it again with its data.
    pub(crate) fn stop(&mut self) -> Option<TempDir> {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.aof_dir.take()
    }

    pub(crate) async fn command(&self, cmd: &mut redis::Cmd) -> redis::Value {
        let client = redis::Client::open(self.url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        cmd.query_async(&mut connection).await.unwrap()
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
        drop(self.stop());
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

#[tokio::test]
async fn a_logout_on_one_replica_is_honoured_by_another_sharing_redis() {
    let redis = RedisServer::start().await;
    let keys = shared_keys();
    let (first, _a) = replica(&redis, &keys).await;
    let (second, _b) = replica(&redis, &keys).await;
    let value = first.log_in(EMAIL).await;
    let copy = login_cookie(&value);
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
    let LoginCookie::Valid { claims, .. } =
        login::open(&first.state.keys, "lab_session", &value, now)
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
    let mut redis = RedisServer::start_persistent().await;
    let (app, _dir) = replica(&redis, &shared_keys()).await;
    assert_eq!(app.login(EMAIL, "code").await.status(), StatusCode::OK);
    assert_eq!(app.get("/profile").await.status(), StatusCode::OK);

    let aof = redis.stop();

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
        // Bounded at 5x the 1.5 s a Redis operation may take: generous for a
        // loaded CI machine, and still proof that nothing hangs.
        assert!(
            started.elapsed() < Duration::from_millis(7500),
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
        let says = if path == "/logout" {
            "couldn't record the logout, so your session is still active"
        } else {
            "can't reach the store that records logged-out sessions"
        };
        assert!(
            text_of(&page, "error-message").contains(says),
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

    let _redis = RedisServer::start_on(redis.port(), aof).await;

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

/// Finding 5 of the 2026-11-29 review: a Redis restarted without
/// persistence came back empty, and a logged-out cookie got 200 again.
#[tokio::test]
async fn losing_redis_data_logs_everyone_out_and_never_brings_a_logout_back() {
    let mut redis = RedisServer::start().await;
    let keys = shared_keys();
    let (first, _a) = replica(&redis, &keys).await;
    let (second, _b) = replica(&redis, &keys).await;
    let logged_out = first.log_in(EMAIL).await;
    first.post_form("/logout", &[]).await;
    let still_in = first.log_in("bob@example.com").await;
    let logged_out = login_cookie(&logged_out);
    let still_in = login_cookie(&still_in);
    assert_redirects_to(
        &second.get_with_cookie("/profile", &logged_out).await,
        "/login",
    );
    assert_eq!(
        second.get_with_cookie("/profile", &still_in).await.status(),
        StatusCode::OK
    );

    // A restart without persistence: Redis comes back empty.
    let port = redis.port();
    drop(redis.stop());
    let redis = RedisServer::start_on(port, None).await;

    for app in [&first, &second] {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut replay = app.get_with_cookie("/profile", &logged_out).await;
        while replay.status() == StatusCode::SERVICE_UNAVAILABLE && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
            replay = app.get_with_cookie("/profile", &logged_out).await;
        }
        assert_redirects_to(&replay, "/login");
        assert_redirects_to(&app.get_with_cookie("/profile", &still_in).await, "/login");
    }
    // A new login works, on either replica, under the new epoch.
    let fresh = login_cookie(&second.log_in(EMAIL).await);
    assert_eq!(
        first.get_with_cookie("/profile", &fresh).await.status(),
        StatusCode::OK
    );

    // The same after a FLUSHALL while Redis keeps running.
    redis.command(&mut redis::cmd("FLUSHALL")).await;
    assert_redirects_to(&first.get_with_cookie("/profile", &fresh).await, "/login");
    assert_redirects_to(
        &second.get_with_cookie("/profile", &logged_out).await,
        "/login",
    );
}

#[tokio::test]
async fn a_persistent_redis_keeps_sessions_across_a_restart() {
    let mut redis = RedisServer::start_persistent().await;
    let (app, _dir) = replica(&redis, &shared_keys()).await;
    let session = login_cookie(&app.log_in(EMAIL).await);
    let port = redis.port();
    let aof = redis.stop();
    let _redis = RedisServer::start_on(port, aof).await;

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut status = app.get_with_cookie("/profile", &session).await.status();
    while status == StatusCode::SERVICE_UNAVAILABLE && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = app.get_with_cookie("/profile", &session).await.status();
    }
    assert_eq!(status, StatusCode::OK, "the epoch survived with the data");
}

#[tokio::test]
async fn the_redis_settings_revocations_need_are_checked() {
    let plain = RedisServer::start().await;
    let persistent = RedisServer::start_persistent().await;
    let open = |redis: &RedisServer| {
        cookie_lab::revocation::RedisRevocations::connect(
            &RedisTarget::parse(&redis.url()).unwrap(),
        )
        .unwrap()
    };

    let problems = open(&plain).configuration_problems().await;
    assert_eq!(
        problems,
        ["appendonly is \"no\", should be \"yes\""],
        "{problems:?}"
    );
    assert!(open(&persistent).configuration_problems().await.is_empty());
}

/// Finding 6 of the 2026-11-29 review: 440 copies of a valid login cookie
/// in one /inspect request made 440 Redis round trips.
#[tokio::test]
async fn one_request_makes_at_most_two_revocation_lookups_whatever_its_cookies() {
    let redis = RedisServer::start().await;
    let (app, _dir) = replica(&redis, &shared_keys()).await;
    let mut sessions = Vec::new();
    for i in 0..5 {
        let value = app.new_session(&format!("u{i}@example.com")).await;
        sessions.push(login_cookie(&value));
    }
    // 440 copies of five distinct valid sessions.
    let header: Vec<&str> = sessions
        .iter()
        .cycle()
        .take(440)
        .map(String::as_str)
        .collect();
    let lookups = || async {
        let info = redis.command(redis::cmd("INFO").arg("commandstats")).await;
        let redis::Value::VerbatimString { text, .. } = info else {
            let redis::Value::BulkString(bytes) = info else {
                panic!("INFO answered {info:?}");
            };
            return calls_of(&String::from_utf8(bytes).unwrap());
        };
        calls_of(&text)
    };
    let before = lookups().await;

    let response = app.get_with_cookie("/inspect", &header.join("; ")).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(lookups().await - before, 2, "two lookups for 440 cookies");
    let page = response.text().await.unwrap();
    // 180 rows are shown, 36 copies of each session: the copies of the
    // three sessions past the first two say they were not checked.
    assert_eq!(page.matches("not checked against logouts").count(), 3 * 36);
}

/// How many MGET and EXISTS calls Redis has answered, from INFO commandstats.
fn calls_of(info: &str) -> u64 {
    info.lines()
        .filter(|l| l.starts_with("cmdstat_mget:") || l.starts_with("cmdstat_exists:"))
        .filter_map(|l| {
            l.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// The 503 page tells the user nothing internal; the request's log line
/// says why (the cause travels to the one line the request writes).
#[tokio::test]
async fn a_store_failure_is_logged_on_the_requests_line_with_its_cause() {
    let mut redis = RedisServer::start().await;
    let data = TempDir::new().unwrap();
    let url = redis.url();
    let server = crate::binary::RunningBinary::start(data.path(), &["--revocations", &url]);
    redis.stop();

    let response = reqwest::Client::new()
        .post(format!("http://{}/login", server.addr))
        .form(&[("email", EMAIL), ("password", "code")])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let page = response.text().await.unwrap();
    assert!(!page.contains("redis"), "no internals on the page: {page}");
    let log = server.log();
    let line = log
        .iter()
        .find(|line| line.contains("request failed") && line.contains("/login"))
        .unwrap_or_else(|| panic!("no failed-request line for /login: {log:#?}"));
    assert!(line.contains("status=503"), "{line}");
    assert!(line.contains("error="), "the cause is on the line: {line}");
}
