//! The accept loop: each connection served by hyper's `http1` builder, with a
//! header-read and a keep-alive timeout ([`deadline`]), under a cap on open
//! connections overall and per client ([`caps`]) that fits the open-file
//! limit ([`descriptors`]).
//!
//! Written here rather than `axum::serve`, which sets no timer, caps
//! nothing, and stops accepting for a second at a time once descriptors run
//! out. HTTP/1.1 only: it is all cookie-lab serves (nginx speaks HTTP/1.1 to
//! its upstreams, and TLS, where browsers would negotiate HTTP/2, ends at the
//! proxy).

mod caps;
mod deadline;
mod descriptors;

use std::convert::Infallible;
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use pin_project_lite::pin_project;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

pub use caps::Refusal;
pub use deadline::Timeout;

use crate::config::ConnectionLimits;
use crate::metrics::Metrics;
use crate::routes::{App, PipelineFuture, SECURITY_HEADERS};
use crate::templates::ErrorPage;
use caps::{Caps, RefusalLog, Slot};
use deadline::{Exchange, Exchanges, TimedStream};

/// How long to wait before accepting again when accepting failed for want
/// of descriptors or memory: the connection waits in the kernel's queue.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// Raises the open-file limit and fits the caps to it, warning when they
/// had to be lowered. Called once at start.
pub(super) fn fit_to_this_process(limits: ConnectionLimits) -> ConnectionLimits {
    let Some(open_files) = descriptors::raise_open_file_limit() else {
        return limits;
    };
    let fitted = descriptors::fit(limits, open_files);
    if fitted != limits {
        tracing::warn!(
            open_file_limit = open_files,
            reserved = descriptors::RESERVED,
            max_connections = fitted.max_open,
            max_connections_per_client = fitted.max_per_client,
            "the open-file limit ({open_files}) can't hold --max-connections {} and the {} descriptors kept for \
             the listener, SQLite, Redis and logs: serving at most {} connections, {} per client; raise the hard \
             limit (ulimit -Hn) to serve more",
            limits.max_open,
            descriptors::RESERVED,
            fitted.max_open,
            fitted.max_per_client,
        );
    }
    fitted
}

/// What every connection needs, shared.
struct Server {
    http: http1::Builder,
    app: App,
    limits: ConnectionLimits,
    caps: Arc<Caps>,
    refusals: RefusalAnswers,
    metrics: Metrics,
}

/// Accepts and serves connections until `stop` resolves; then closes the
/// listener at once, lets each connection finish the request it is
/// answering (idle ones close at once), and returns when every connection
/// is closed.
pub(super) async fn serve(
    listener: TcpListener,
    app: App,
    limits: ConnectionLimits,
    metrics: Metrics,
    replica_name: Option<&str>,
    stop: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    // No timer, so hyper runs no header-read timeout of its own: the
    // deadlines of `TimedStream` replace it (see `deadline` for why).
    //
    // hyper's default limit of 100 header lines stays: raising it makes
    // hyper fill a heap array of that many entries for every request head
    // (5k instructions, an eighth of a `GET /`, measured with callgrind),
    // and no client needs more. A browser sends its cookies in one line,
    // and a proxy turning HTTP/2 into HTTP/1.1 must join the cookie
    // crumbs into one line too (RFC 9113 §8.2.3).
    http.header_read_timeout(None);
    let server = Arc::new(Server {
        http,
        app,
        limits,
        caps: Arc::new(Caps::new(
            limits.max_open,
            limits.max_per_client,
            metrics.clone(),
        )),
        refusals: RefusalAnswers::new(limits, replica_name),
        metrics,
    });
    // Dropped to tell every connection to finish.
    let (draining_tx, draining) = watch::channel(());
    // Every connection holds a receiver: all gone means all closed.
    let (closed_tx, open) = watch::channel(());
    let mut refusals = RefusalLog::default();
    let mut accept_error_logged: Option<Instant> = None;
    tokio::pin!(stop);
    loop {
        let report_due = refusals.due();
        tokio::select! {
            biased;
            () = &mut stop => break,
            () = tokio::time::sleep_until(report_due.unwrap_or_else(Instant::now)), if report_due.is_some() => {
                if let Some(report) = refusals.report(Instant::now()) {
                    report.log(&server.caps);
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match server.caps.admit(peer.ip()) {
                    Ok(slot) => {
                        let server = Arc::clone(&server);
                        let draining = draining.clone();
                        let open = open.clone();
                        tokio::spawn(async move {
                            server.serve_connection(stream, peer, slot, draining).await;
                            drop(open);
                        });
                    }
                    Err(refusal) => {
                        server.refuse(stream, refusal);
                        if let Some(report) = refusals.refused(refusal, peer.ip(), Instant::now()) {
                            report.log(&server.caps);
                        }
                    }
                },
                Err(err) => accept_failed(&err, &mut accept_error_logged).await,
            },
        }
    }
    drop(listener);
    if let Some(report) = refusals.report(Instant::now()) {
        report.log(&server.caps);
    }
    drop(draining_tx);
    drop(open);
    closed_tx.closed().await;
}

/// A failed accept: the client's doing (it reset the connection before it
/// was accepted), or the process's (out of descriptors or memory), which is
/// logged at most every 10 s and retried shortly.
async fn accept_failed(err: &io::Error, last_logged: &mut Option<Instant>) {
    if matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    ) {
        return;
    }
    if last_logged.is_none_or(|at| at.elapsed() >= caps::REPORT_EVERY) {
        tracing::error!(error = %err, "could not accept a connection; retrying");
        *last_logged = Some(Instant::now());
    }
    tokio::time::sleep(ACCEPT_RETRY).await;
}

impl Server {
    async fn serve_connection(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        slot: Slot,
        mut draining: watch::Receiver<()>,
    ) {
        let exchanges = Arc::new(Exchanges::default());
        let stream = TimedStream::new(
            stream,
            self.limits.header_read_timeout,
            self.limits.keep_alive_timeout,
            Arc::clone(&exchanges),
            self.metrics.clone(),
        );
        let service = ConnectionService {
            app: self.app.clone(),
            peer: ConnectInfo(peer),
            exchanges,
        };
        let connection = self.http.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(connection);
        let mut finishing = false;
        loop {
            tokio::select! {
                served = connection.as_mut() => {
                    if let Err(err) = served {
                        tracing::debug!(%peer, error = %err, "connection ended");
                    }
                    break;
                }
                // Err once the sender is gone, which is the signal.
                _ = draining.changed(), if !finishing => {
                    finishing = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
        drop(slot);
    }

    /// Answers a connection over a cap and closes it, without ever waiting
    /// on the client, so its descriptor is free again at once and the
    /// kernel's queue of new connections keeps moving: other clients are
    /// still served. A short 503 rather than a bare close, because a person
    /// behind a busy address (an office NAT) then reads why, a load
    /// balancer sees an answer rather than a failure, and the page carries
    /// the same security headers as every other.
    fn refuse(&self, stream: TcpStream, refusal: Refusal) {
        self.metrics.connection_refused(refusal.label());
        // A plain socket, so that the write is tried at once: tokio's
        // `try_write` gives up until its event loop has seen the new socket
        // writable.
        let Ok(mut stream) = stream.into_std() else {
            return;
        };
        // Still non-blocking: a full socket buffer (there is none on a new
        // connection) drops the answer rather than wait.
        let _ = stream.write(self.refusals.get(refusal));
        // Read what the client already sent, so that the close is a plain
        // FIN: closing with unread data resets the connection, and some
        // clients then drop the answer unread. Bounded: no waiting.
        let mut sent = [0u8; 4096];
        for _ in 0..16 {
            match stream.read(&mut sent) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
    }
}

/// The whole answer to a refused connection, head and page, made once.
struct RefusalAnswers {
    per_client: Vec<u8>,
    total: Vec<u8>,
}

impl RefusalAnswers {
    fn new(limits: ConnectionLimits, replica_name: Option<&str>) -> Self {
        let per_client = refusal_answer(
            "Too many connections from your address",
            &format!(
                "cookie-lab serves at most {} connections at once from one address (or IPv6 /64), and yours has \
                 that many open. Close some tabs or programs that use this site, or wait a few seconds, then \
                 reload.",
                limits.max_per_client
            ),
            replica_name,
        );
        let total = refusal_answer(
            "The server is full",
            &format!(
                "cookie-lab serves at most {} connections at once, and all of them are in use. Reload in a few \
                 seconds.",
                limits.max_open
            ),
            replica_name,
        );
        Self { per_client, total }
    }

    fn get(&self, refusal: Refusal) -> &[u8] {
        match refusal {
            Refusal::PerClient => &self.per_client,
            Refusal::Total => &self.total,
        }
    }
}

/// `503`, `Connection: close`, the security headers and an error page: what
/// the router would send, written by hand because the router never sees
/// this connection.
fn refusal_answer(title: &str, message: &str, replica_name: Option<&str>) -> Vec<u8> {
    let page = ErrorPage {
        title,
        message,
        details: &[],
        link_href: "/",
        link_label: "Back to the start page",
        action: None,
    }
    .render()
    .unwrap_or_else(|_| message.to_owned());
    let mut head = format!(
        "HTTP/1.1 503 Service Unavailable\r\n\
         content-type: text/html; charset=utf-8\r\n\
         content-length: {}\r\n\
         connection: close\r\n\
         retry-after: 5\r\n\
         cache-control: no-store\r\n",
        page.len()
    );
    for (name, value) in &SECURITY_HEADERS {
        let value = String::from_utf8_lossy(value.as_bytes());
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    // Checked at start-up to be a valid header value.
    if let Some(name) = replica_name {
        head.push_str(&format!("x-served-by: {name}\r\n"));
    }
    head.push_str("\r\n");
    let mut answer = head.into_bytes();
    answer.extend_from_slice(page.as_bytes());
    answer
}

/// The application, for one connection: gives each request its peer address
/// (as `ConnectInfo`, which `security::proxy` reads) and tells the
/// connection's deadlines when a request is being answered.
struct ConnectionService {
    app: App,
    peer: ConnectInfo<SocketAddr>,
    exchanges: Arc<Exchanges>,
}

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        request.extensions_mut().insert(self.peer);
        Answer {
            exchange: Some(Exchange::start(Arc::clone(&self.exchanges))),
            // The one boxing of the body, which axum's router would do.
            inner: self.app.answer(request.map(Body::new)),
        }
    }
}

pin_project! {
    /// The application's answer, its body carrying the request's [`Exchange`].
    struct Answer {
        #[pin]
        inner: PipelineFuture,
        exchange: Option<Exchange>,
    }
}

impl Future for Answer {
    type Output = Result<Response<TrackedBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        let exchange = this.exchange.take();
        Poll::Ready(Ok(response.map(|body| TrackedBody {
            inner: body,
            _exchange: exchange,
        })))
    }
}

pin_project! {
    /// A response body that ends its request's exchange when hyper is done
    /// with it (written out, or the connection gone).
    struct TrackedBody {
        #[pin]
        inner: Body,
        _exchange: Option<Exchange>,
    }
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
