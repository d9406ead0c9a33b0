//! A tiny HTTP/1.1 server on 127.0.0.1 that sends a Set-Cookie line byte for
//! byte. Written by hand on purpose: the lines hold control bytes, invalid
//! UTF-8 and oversized values that hyper's `HeaderValue` (and cookie-lab's
//! own gate) refuse to send, and sending them is the point.
//!
//! - `GET /p/q/r?case=TOKEN` answers with `Set-Cookie: <the line registered
//!   under TOKEN>` and a small HTML page.
//! - `GET <any path>?echo=TOKEN` keeps the raw bytes of the request's
//!   `Cookie` header under TOKEN: what the browser sends back is the one
//!   byte-exact view of a cookie whose bytes a jar reader lost.
//! - Every other path is a small HTML page with no cookie.
//!
//! Responses to a request with an `Origin` header allow that origin with
//! credentials, so a cross-site `fetch` sees its answer.

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

#[derive(Default)]
struct State {
    /// Token → the line to send.
    lines: HashMap<String, Vec<u8>>,
    /// Token → the `Cookie` header a request with `echo=TOKEN` carried
    /// (empty when it carried none).
    echoes: HashMap<String, Vec<u8>>,
}

pub(crate) struct Responder {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Responder {
    pub(crate) async fn start() -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind the responder on 127.0.0.1");
        let addr = listener.local_addr().expect("responder address");
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = serve(stream, state).await;
                });
            }
        });
        Self { addr, state, task }
    }

    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Registers `line` under `token`: `/p/q/r?case=TOKEN` sends it.
    pub(crate) fn register(&self, token: &str, line: Vec<u8>) {
        self.state
            .lock()
            .expect("responder state")
            .lines
            .insert(token.to_owned(), line);
    }

    /// The `Cookie` header of the request that asked for `?echo=TOKEN`.
    pub(crate) fn echoed(&self, token: &str) -> Option<Vec<u8>> {
        self.state
            .lock()
            .expect("responder state")
            .echoes
            .get(token)
            .cloned()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
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
        let head: Vec<u8> = buffer.drain(..head_end).collect();
        let request = Request::parse(&head);
        let response = respond(&request, &state);
        stream.write_all(&response).await?;
        if request
            .header(b"connection")
            .is_some_and(|v| v.eq_ignore_ascii_case(b"close"))
        {
            return Ok(());
        }
    }
}

/// The parts of a request head the responder looks at, as bytes.
struct Request<'a> {
    method: &'a [u8],
    path: &'a [u8],
    query: &'a [u8],
    headers: Vec<(&'a [u8], &'a [u8])>,
}

impl<'a> Request<'a> {
    fn parse(head: &'a [u8]) -> Self {
        let mut lines = head
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let mut request_line = lines.next().unwrap_or_default().split(|&b| b == b' ');
        let method = request_line.next().unwrap_or_default();
        let target = request_line.next().unwrap_or(b"/");
        let (path, query) = match target.iter().position(|&b| b == b'?') {
            Some(i) => (&target[..i], &target[i + 1..]),
            None => (target, &b""[..]),
        };
        let headers = lines
            .filter_map(|l| {
                let colon = l.iter().position(|&b| b == b':')?;
                Some((&l[..colon], l[colon + 1..].trim_ascii()))
            })
            .collect();
        Self {
            method,
            path,
            query,
            headers,
        }
    }

    fn header(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The value of `key=` in the query, as text.
    fn query_value(&self, key: &str) -> Option<String> {
        self.query.split(|&b| b == b'&').find_map(|kv| {
            let value = kv.strip_prefix(key.as_bytes())?.strip_prefix(b"=")?;
            Some(String::from_utf8_lossy(value).into_owned())
        })
    }
}

fn respond(request: &Request<'_>, state: &Mutex<State>) -> Vec<u8> {
    let mut response = Vec::with_capacity(512);
    let mut body = "<!doctype html><title>browser truth</title><p>ok</p>\n";
    let mut state = state.lock().expect("responder state");
    if let Some(token) = request.query_value("echo") {
        let cookie = request.header(b"cookie").unwrap_or_default().to_vec();
        state.echoes.insert(token, cookie);
    }
    if request.method == b"GET" && request.path == SETTER_PATH.as_bytes() {
        let line = request
            .query_value("case")
            .and_then(|token| state.lines.get(&token).cloned());
        match line {
            Some(line) => {
                response.extend_from_slice(b"HTTP/1.1 200 OK\r\nSet-Cookie: ");
                response.extend_from_slice(&line);
                response.extend_from_slice(b"\r\n");
            }
            None => {
                response.extend_from_slice(b"HTTP/1.1 404 Not Found\r\n");
                body = "<!doctype html><title>no such case</title>\n";
            }
        }
    } else if request.path == b"/favicon.ico" {
        response.extend_from_slice(b"HTTP/1.1 404 Not Found\r\n");
        body = "";
    } else {
        response.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    }
    drop(state);
    if let Some(origin) = request.header(b"origin").filter(|o| *o != b"null") {
        response.extend_from_slice(b"Access-Control-Allow-Origin: ");
        response.extend_from_slice(origin);
        response
            .extend_from_slice(b"\r\nAccess-Control-Allow-Credentials: true\r\nVary: Origin\r\n");
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
