//! The header-read and keep-alive timeouts, kept by the connection's socket.
//!
//! hyper 1.12's own `header_read_timeout` can't be used for this: it starts
//! when hyper begins reading a request head, which on a kept-alive connection
//! is the moment the previous response ends, so an idle connection is closed
//! after the header-read timeout and a longer keep-alive timeout never
//! applies (measured: with it at 1 s, an idle connection closed after 1.0 s).
//! So the socket keeps the deadlines itself, as Go's `http.Server` does:
//! - from accept, the first request's headers must arrive within the
//!   header-read timeout (a client that sends nothing is closed then too);
//! - from the moment a response is written out, the next request must start
//!   within the keep-alive timeout, and its headers must then arrive within
//!   the header-read timeout of its first byte;
//! - while a request is being answered and its response written there is no
//!   deadline here: a slow request body is the request timeout's (408,
//!   `routes::REQUEST_TIMEOUT`).
//!
//! The socket learns where a request starts and ends from [`Exchanges`],
//! which the connection's service counts, and that a response is written out
//! from hyper's flush, which hyper calls only once its buffer is empty (and
//! on every turn of its loop, so the keep-alive deadline is armed at once).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use crate::metrics::Metrics;

/// Which timeout closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// A request's headers didn't all arrive in time, or nothing arrived.
    HeaderRead,
    /// Idle between requests for too long.
    KeepAlive,
}

impl Timeout {
    pub const ALL: [Self; 2] = [Self::HeaderRead, Self::KeepAlive];

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::HeaderRead => crate::metrics::CONNECTION_TIMEOUTS[0],
            Self::KeepAlive => crate::metrics::CONNECTION_TIMEOUTS[1],
        }
    }

    fn message(self) -> &'static str {
        match self {
            Self::HeaderRead => {
                "the request's headers did not arrive within the header-read timeout"
            }
            Self::KeepAlive => "the connection was idle past the keep-alive timeout",
        }
    }
}

/// Request starts and ends on one connection: odd while a request is being
/// answered, even between requests.
#[derive(Debug, Default)]
pub(super) struct Exchanges(AtomicU32);

impl Exchanges {
    fn count(&self) -> u32 {
        self.0.load(Ordering::Acquire)
    }
}

/// One request being answered, from the moment hyper hands it over until
/// its response body is dropped (written out, or the connection is gone).
#[derive(Debug)]
pub(super) struct Exchange(Arc<Exchanges>);

impl Exchange {
    pub(super) fn start(exchanges: Arc<Exchanges>) -> Self {
        exchanges.0.fetch_add(1, Ordering::AcqRel);
        Self(exchanges)
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        self.0.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// What the connection is waiting for.
#[derive(Debug, Clone, Copy)]
enum Waiting {
    /// The rest of a request's headers, until `by`.
    Head { by: Instant },
    /// The next request, until `by`.
    Idle { by: Instant },
    /// Nothing from the client: a request is being answered.
    Answering,
    /// Nothing from the client: the answer is being written out.
    Writing,
}

/// A client's TCP stream that fails its reads once the client is too slow.
/// hyper then drops the connection without an answer, as Go and nginx do:
/// a client that sent no complete request is owed none.
pub(super) struct TimedStream {
    stream: TcpStream,
    header_read: Duration,
    keep_alive: Duration,
    exchanges: Arc<Exchanges>,
    /// `exchanges` when last looked at.
    seen: u32,
    waiting: Waiting,
    /// Whether a timeout has fired (and been counted).
    timed_out: bool,
    /// Boxed so the stream is `Unpin`, as hyper wants. It is armed for the
    /// current deadline or an earlier one: a deadline that moves later (as
    /// it does on every request) lets the timer fire early once and be set
    /// again, rather than touch the timer wheel each time.
    timer: Pin<Box<Sleep>>,
    metrics: Metrics,
}

impl TimedStream {
    /// A stream accepted just now.
    pub(super) fn new(
        stream: TcpStream,
        header_read: Duration,
        keep_alive: Duration,
        exchanges: Arc<Exchanges>,
        metrics: Metrics,
    ) -> Self {
        let by = Instant::now() + header_read;
        Self {
            stream,
            header_read,
            keep_alive,
            seen: exchanges.count(),
            exchanges,
            waiting: Waiting::Head { by },
            timed_out: false,
            timer: Box::pin(tokio::time::sleep_until(by)),
            metrics,
        }
    }

    /// Catches up with requests started or finished since the last read.
    fn follow_exchanges(&mut self) {
        let count = self.exchanges.count();
        if count != self.seen {
            self.seen = count;
            self.waiting = if count % 2 == 1 {
                Waiting::Answering
            } else {
                Waiting::Writing
            };
        }
    }

    /// Ready with the error to fail an I/O call with, once the client has
    /// been waited for too long.
    fn poll_timed_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let (by, timeout) = match self.waiting {
            Waiting::Head { by } => (by, Timeout::HeaderRead),
            Waiting::Idle { by } => (by, Timeout::KeepAlive),
            Waiting::Answering | Waiting::Writing => return Poll::Pending,
        };
        ready!(self.poll_expired(by, cx));
        if !self.timed_out {
            self.timed_out = true;
            self.metrics.connection_timed_out(timeout.label());
        }
        Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, timeout.message()))
    }

    /// Ready once the client has been waited for past `by`.
    fn poll_expired(&mut self, by: Instant, cx: &mut Context<'_>) -> Poll<()> {
        let armed = self.timer.deadline();
        if armed > by || (armed < by && self.timer.is_elapsed()) {
            self.timer.as_mut().reset(by);
        }
        if self.timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        if self.timer.deadline() < by {
            // It fired for an earlier deadline, which has since moved.
            self.timer.as_mut().reset(by);
            if self.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        Poll::Ready(())
    }
}

impl AsyncRead for TimedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.follow_exchanges();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before
                    && let Waiting::Idle { .. } = this.waiting
                {
                    // The next request has begun: its headers get the
                    // header-read timeout from here.
                    this.waiting = Waiting::Head {
                        by: Instant::now() + this.header_read,
                    };
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => this.poll_timed_out(cx).map(Err),
        }
    }
}

impl AsyncWrite for TimedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    /// hyper flushes only once everything it buffered is written: an answer
    /// handed over before is now out, and the connection idle.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.follow_exchanges();
        if let Waiting::Writing = this.waiting {
            this.waiting = Waiting::Idle {
                by: Instant::now() + this.keep_alive,
            };
        }
        if let Poll::Ready(err) = this.poll_timed_out(cx) {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
