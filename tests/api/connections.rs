//! Connection limits: slow and silent connections are timed out, and one
//! client can't hold every connection the server has.

use std::time::{Duration, Instant};

use cookie_lab::config::ConnectionLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{TestApp, connect_from, get_from, spawn_with, test_config};

/// A server on port 0 with these connection limits, and its data dir.
async fn spawn_limited(limits: ConnectionLimits) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.connections = limits;
    (spawn_with(config).await, dir)
}

fn with_timeouts(header_read: u64, keep_alive: u64) -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: Duration::from_secs(header_read),
        keep_alive_timeout: Duration::from_secs(keep_alive),
        ..ConnectionLimits::default()
    }
}

/// How long the server took to close `stream`, reading and dropping
/// whatever it sends meanwhile; fails the test past `limit`.
async fn time_until_closed(stream: &mut TcpStream, since: Instant, limit: Duration) -> Duration {
    let mut buf = [0u8; 1024];
    loop {
        let read = tokio::time::timeout_at(
            tokio::time::Instant::from_std(since + limit),
            stream.read(&mut buf),
        )
        .await
        .unwrap_or_else(|_| panic!("still open {limit:?} later"));
        match read {
            Ok(0) | Err(_) => return since.elapsed(),
            Ok(_) => {}
        }
    }
}

/// Reads one response (head and `Content-Length` body) off a kept-alive
/// connection.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed mid-response: {received:?}");
        received.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(0, |n| n.trim().parse().unwrap());
            if received.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

/// Waits until the server counts `open` connections.
async fn wait_for_open_connections(app: &TestApp, open: i64) {
    for _ in 0..500 {
        if app.state.metrics.connections_open_now() == open {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{} connections open, waited for {open}",
        app.state.metrics.connections_open_now()
    );
}

fn metric(app: &TestApp, series: &str) -> u64 {
    let text = app.state.metrics.encode().unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

// Each timeout below is 1 s; a connection must be closed after it, and no
// later than 5 s (5× the timeout: a loaded 2-core machine is slow, and the
// behaviour is the close, not its speed).
const CLOSED_WITHIN: Duration = Duration::from_secs(5);
const NOT_BEFORE: Duration = Duration::from_millis(950);

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_read_timeout() {
    let (app, _dir) = spawn_limited(with_timeouts(1, 60)).await;
    let opened = Instant::now();
    let mut silent = TcpStream::connect(app.addr).await.unwrap();

    let took = time_until_closed(&mut silent, opened, CLOSED_WITHIN).await;

    assert!(took >= NOT_BEFORE, "closed after {took:?}");
    assert_eq!(
        metric(
            &app,
            "cookie_lab_connections_timed_out_total{timeout=\"header_read\"}"
        ),
        1
    );
    wait_for_open_connections(&app, 0).await;
}

#[tokio::test]
async fn headers_dripped_slowly_are_cut_off_at_the_header_read_timeout() {
    let (app, _dir) = spawn_limited(with_timeouts(1, 60)).await;
    let opened = Instant::now();
    let stream = TcpStream::connect(app.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();

    // A header line every 100 ms, for at most 5 s: never a complete head,
    // but never silent for long either.
    let drip = async move {
        writer
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .ok();
        for _ in 0..50 {
            if writer.write_all(b"X-Drip: 1\r\n").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        std::future::pending::<()>().await;
    };
    let mut buf = [0u8; 1024];
    let closed = tokio::select! {
        read = reader.read(&mut buf) => read,
        () = drip => unreachable!(),
        () = tokio::time::sleep(CLOSED_WITHIN) => panic!("still open after {CLOSED_WITHIN:?}"),
    };

    let took = opened.elapsed();
    assert!(matches!(closed, Ok(0) | Err(_)), "answered: {closed:?}");
    assert!(took >= NOT_BEFORE, "closed after {took:?}");
    assert_eq!(
        metric(
            &app,
            "cookie_lab_connections_timed_out_total{timeout=\"header_read\"}"
        ),
        1
    );
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout() {
    // The header-read timeout is long: what closes the connection at ~1 s
    // is the keep-alive timeout.
    let (app, _dir) = spawn_limited(with_timeouts(10, 1)).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let idle_from = Instant::now();

    let took = time_until_closed(&mut stream, idle_from, CLOSED_WITHIN).await;

    assert!(took >= NOT_BEFORE, "closed after {took:?} idle");
    assert_eq!(
        metric(
            &app,
            "cookie_lab_connections_timed_out_total{timeout=\"keep_alive\"}"
        ),
        1
    );
    assert_eq!(
        metric(
            &app,
            "cookie_lab_connections_timed_out_total{timeout=\"header_read\"}"
        ),
        0
    );
}

/// hyper's own header-read timeout restarts when a kept-alive connection
/// goes idle, so it would close this one after 1 s; the keep-alive timeout
/// is what counts between requests.
#[tokio::test]
async fn an_idle_connection_outlives_the_header_read_timeout_until_the_keep_alive_one() {
    let (app, _dir) = spawn_limited(with_timeouts(1, 10)).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    stream.write_all(request).await.unwrap();
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));

    tokio::time::sleep(Duration::from_millis(1500)).await;
    stream.write_all(request).await.unwrap();
    let second = read_response(&mut stream).await;

    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
}

/// Once the next request on a kept-alive connection has begun, its headers
/// have the header-read timeout, not what is left of the keep-alive one.
#[tokio::test]
async fn the_next_requests_headers_on_a_kept_alive_connection_have_the_header_read_timeout() {
    let (app, _dir) = spawn_limited(with_timeouts(1, 10)).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();

    let took = time_until_closed(&mut stream, started, CLOSED_WITHIN).await;

    assert!(took >= NOT_BEFORE, "closed after {took:?}");
    assert_eq!(
        metric(
            &app,
            "cookie_lab_connections_timed_out_total{timeout=\"header_read\"}"
        ),
        1
    );
}

#[tokio::test]
async fn a_client_over_its_share_or_a_full_server_gets_503_and_others_are_served() {
    let (app, _dir) = spawn_limited(ConnectionLimits {
        max_open: 4,
        max_per_client: 2,
        ..ConnectionLimits::default()
    })
    .await;
    let _first = connect_from("127.0.0.1", app.addr).await;
    let _second = connect_from("127.0.0.1", app.addr).await;
    wait_for_open_connections(&app, 2).await;

    let over_its_share = get_from("127.0.0.1", app.addr, "/healthz").await;
    let someone_else = get_from("127.0.0.2", app.addr, "/healthz").await;

    assert!(
        over_its_share.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{over_its_share}"
    );
    for header in [
        "connection: close",
        "content-security-policy: default-src 'self'; frame-ancestors 'none'",
        "x-content-type-options: nosniff",
        "x-frame-options: DENY",
        "retry-after: 5",
    ] {
        assert!(
            over_its_share.contains(header),
            "no {header}: {over_its_share}"
        );
    }
    assert!(
        over_its_share.contains("Too many connections from your address"),
        "{over_its_share}"
    );
    assert!(over_its_share.contains("at most 2 connections at once from one address"));
    assert!(someone_else.starts_with("HTTP/1.1 200"), "{someone_else}");

    let _third = connect_from("127.0.0.3", app.addr).await;
    let _fourth = connect_from("127.0.0.3", app.addr).await;
    wait_for_open_connections(&app, 4).await;
    let server_full = get_from("127.0.0.4", app.addr, "/healthz").await;

    assert!(server_full.starts_with("HTTP/1.1 503"), "{server_full}");
    assert!(server_full.contains("The server is full"), "{server_full}");
    assert_eq!(
        metric(
            &app,
            "cookie_lab_connections_refused_total{reason=\"per_client\"}"
        ),
        1
    );
    assert_eq!(
        metric(
            &app,
            "cookie_lab_connections_refused_total{reason=\"total\"}"
        ),
        1
    );
    assert_eq!(metric(&app, "cookie_lab_connections_open"), 4);

    drop(_first);
    wait_for_open_connections(&app, 3).await;
    let after_one_closed = get_from("127.0.0.4", app.addr, "/healthz").await;
    assert!(
        after_one_closed.starts_with("HTTP/1.1 200"),
        "{after_one_closed}"
    );
}

/// Sends `lines` Cookie header lines of `value` each to /inspect; the answer.
async fn cookie_lines(app: &TestApp, lines: usize, value: &str) -> String {
    let mut request = format!(
        "GET /inspect HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        app.addr
    );
    for i in 0..lines {
        request.push_str(&format!("Cookie: c{i}={value}\r\n"));
    }
    request.push_str("\r\n");
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

/// Over 64 KiB of cookies on many header lines gets cookie-lab's own 431
/// page, with its security headers, up to hyper's limit of 100 header
/// lines. Past it hyper answers a bare 431 of its own: no browser sends
/// that, and a proxy turning HTTP/2 into HTTP/1.1 must join cookies into
/// one line (RFC 9113 §8.2.3); raising the limit costs every request
/// (src/startup/connections.rs).
#[tokio::test]
async fn cookies_over_64_kib_on_90_header_lines_get_cookie_labs_431_page() {
    let (app, _dir) = spawn_limited(ConnectionLimits::default()).await;
    // 90 × 750 bytes: over 64 KiB.
    let value = "v".repeat(750);

    let answer = cookie_lines(&app, 90, &value).await;
    let past_hypers_limit = cookie_lines(&app, 120, &value).await;

    assert!(
        answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large"),
        "{answer}"
    );
    assert!(
        answer.contains("content-security-policy: default-src 'self'"),
        "{answer}"
    );
    assert!(answer.contains("Too many cookies"), "{answer}");
    assert!(
        past_hypers_limit.starts_with("HTTP/1.1 431 Request Header Fields Too Large"),
        "{past_hypers_limit}"
    );
}
