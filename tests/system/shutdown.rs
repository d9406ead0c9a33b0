//! Graceful shutdown of the real binary: SIGTERM stops new connections, lets
//! a request already in flight finish, leaves the SQLite store complete, and
//! exits 0; past `--shutdown-grace` it exits anyway.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::binary::RunningBinary;

/// Starts the binary with `--shutdown-grace grace`.
fn start(data_dir: &Path, grace: &str) -> RunningBinary {
    RunningBinary::start(data_dir, &["--shutdown-grace", grace])
}

/// Waits until the server is answering `requests` besides the /metrics
/// request that asks: a request sent earlier has then been read and
/// reached its handler, whatever the machine's load.
fn wait_until_in_flight(server: &RunningBinary, requests: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut stream = TcpStream::connect(&server.addr).unwrap();
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.addr
        )
        .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        let in_flight = text
            .lines()
            .find_map(|l| l.strip_prefix("cookie_lab_http_requests_in_flight "))
            .and_then(|n| n.trim().parse::<u32>().ok());
        if in_flight == Some(requests + 1) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{in_flight:?} requests in flight, waited for {}",
            requests + 1
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until connecting is refused: the listener is closed.
fn wait_until_refusing(server: &RunningBinary) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(&server.addr).is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting connections 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends a form POST's head and the first half of its body, and no more.
fn start_slow_post(addr: &str, body: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /code/set/cookie HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{}",
        body.len(),
        &body[..body.len() / 2]
    )
    .unwrap();
    stream.flush().unwrap();
    stream
}

/// A login and a logout over plain HTTP/1.1: leaves a revocation in SQLite.
fn login_then_logout(addr: &str) {
    let request = |head: String| {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    let body = "email=ada%40example.com&password=code";
    let login = request(format!(
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    assert!(login.starts_with("HTTP/1.1 200"), "{login}");
    let cookie = login
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();
    let logout = request(format!(
        "POST /logout HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    ));
    assert!(logout.starts_with("HTTP/1.1 303"), "{logout}");
}

#[test]
fn sigterm_lets_an_in_flight_request_finish_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), "10s");
    login_then_logout(&server.addr);
    let wal = dir.path().join("revocations.sqlite3-wal");
    assert!(
        std::fs::metadata(&wal).unwrap().len() > 0,
        "the logout sits in the write-ahead log"
    );
    let body = "userID=still-in-flight";
    let mut slow = start_slow_post(&server.addr, body);
    wait_until_in_flight(&server, 1);

    server.sigterm();
    wait_until_refusing(&server);
    slow.write_all(&body.as_bytes()[body.len() / 2..]).unwrap();
    let mut response = String::new();
    slow.read_to_string(&mut response).unwrap();
    let status = server.exit_within(Duration::from_secs(10));

    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(
        response.contains("set-cookie: userID=still-in-flight"),
        "{response}"
    );
    assert_eq!(status.code(), Some(0), "a clean shutdown exits 0");
    let wal_bytes = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(wal_bytes, 0, "the store was checkpointed into its file");
    let log = server.log().join("\n");
    assert!(log.contains("revocation store closed"), "{log}");
    assert!(
        log.contains("shut down: every in-flight request was answered"),
        "{log}"
    );
}

#[test]
fn past_the_grace_the_process_exits_anyway_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), "1s");
    let _stuck = start_slow_post(&server.addr, "userID=never-finished");
    wait_until_in_flight(&server, 1);
    let signalled = Instant::now();

    server.sigterm();
    let status = server.exit_within(Duration::from_secs(10));

    let took = signalled.elapsed();
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(8)).contains(&took),
        "exited after {took:?}"
    );
    assert_eq!(
        status.code(),
        Some(1),
        "cut-off requests are not a clean exit"
    );
    let log = server.log().join("\n");
    assert!(
        log.contains("the shutdown grace (1s) ran out with 1 request(s) still in flight"),
        "{log}"
    );
}
