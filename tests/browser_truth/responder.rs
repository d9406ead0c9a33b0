//! A tiny HTTP/1.1 server on 127.0.0.1 that sends a Set-Cookie line byte for
//! byte. Written by hand on purpose: the lines hold control bytes, invalid
//! UTF-8 and oversized values that hyper's `HeaderValue` (and cookie-lab's
//! own gate) refuse to send, and sending them is the point.
//!
//! `GET /p/q/r?case=TOKEN` answers with `Set-Cookie: <the line registered
//! under TOKEN>` and a small HTML page; every other path is a small HTML page
//! with no cookie. Responses to a request with an `Origin` header allow that
//! origin with credentials, so a cross-site `fetch` sees its answer.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The path that sets each line; its default cookie path is `/p/q`.
pub(crate) const SETTER_PATH: &str = "/p/q/r";
/// A page with no cookie, on the same path, from which lines are fetched.
pub(crate) const PAGE_PATH: &str = "/p/q/page";

/// A request head larger than this is not from a browser we drive.
const MAX_HEAD: usize = 64 * 1024;
/// An idle keep-alive connection is closed after this long.
const IDLE: Duration = Duration::from_secs(30);

pub(crate) struct Responder {
    addr: SocketAddr,
    lines: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    task: JoinHandle<()>,
}

impl Responder {
    pub(crate) async fn start() -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind the responder on 127.0.0.1");
        let addr = listener.local_addr().expect("responder address");
        let lines: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let shared = Arc::clone(&lines);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let lines = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = serve(stream, lines).await;
                });
            }
        });
        Self { addr, lines, task }
    }

    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Registers `line` under `token`: `/p/q/r?case=TOKEN` sends it.
    pub(crate) fn register(&self, token: &str, line: Vec<u8>) {
        self.lines
            .lock()
            .expect("responder lines")
            .insert(token.to_owned(), line);
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut stream: TcpStream,
    lines: Arc<Mutex<HashMap<String, Vec<u8>>>>,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buffer = Vec::with_capacity(4096);
    loop {
        // Read one request head (browsers send no body with these GETs).
        let head_end = loop {
            if let Some(end) = find(&buffer, b"\r\n\r\n") {
                break end + 4;
            }
            if buffer.len() > MAX_HEAD {
                return Ok(());
            }
            let mut chunk = [0u8; 4096];
            let n = match tokio::time::timeout(IDLE, stream.read(&mut chunk)).await {
                Ok(read) => read?,
                Err(_) => return Ok(()),
            };
            if n == 0 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        buffer.drain(..head_end);
        let response = respond(&head, &lines);
        stream.write_all(&response).await?;
        let close = head.lines().any(|l| {
            l.split_once(':').is_some_and(|(name, value)| {
                name.eq_ignore_ascii_case("connection")
                    && value.trim().eq_ignore_ascii_case("close")
            })
        });
        if close {
            return Ok(());
        }
    }
}

fn respond(head: &str, lines: &Mutex<HashMap<String, Vec<u8>>>) -> Vec<u8> {
    let mut request_line = head.lines().next().unwrap_or("").split(' ');
    let method = request_line.next().unwrap_or("");
    let target = request_line.next().unwrap_or("/");
    let origin = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("origin")
            .then(|| value.trim().to_owned())
    });
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let token = query.split('&').find_map(|kv| kv.strip_prefix("case="));

    let mut response = Vec::with_capacity(512);
    let mut body = "<!doctype html><title>browser truth</title><p>ok</p>\n";
    if method == "GET" && path == SETTER_PATH {
        let line = token.and_then(|t| lines.lock().ok()?.get(t).cloned());
        match line {
            Some(line) => {
                response.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
                response.extend_from_slice(b"Set-Cookie: ");
                response.extend_from_slice(&line);
                response.extend_from_slice(b"\r\n");
            }
            None => {
                response.extend_from_slice(b"HTTP/1.1 404 Not Found\r\n");
                body = "<!doctype html><title>no such case</title>\n";
            }
        }
    } else if path == "/favicon.ico" {
        response.extend_from_slice(b"HTTP/1.1 404 Not Found\r\n");
        body = "";
    } else {
        response.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    }
    if let Some(origin) = origin.filter(|o| o != "null") {
        response.extend_from_slice(format!("Access-Control-Allow-Origin: {origin}\r\n").as_bytes());
        response.extend_from_slice(b"Access-Control-Allow-Credentials: true\r\nVary: Origin\r\n");
    }
    response.extend_from_slice(
        format!(
            "Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    response.extend_from_slice(body.as_bytes());
    response
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
