//! Logging: one subscriber, set up once; text for people or JSON lines.
//!
//! `RUST_LOG` overrides the default filter. Nothing here or anywhere else logs
//! a cookie value or a raw `Cookie` header.

use std::io::{BufWriter, IsTerminal, Stderr, Write};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use line::LineFormat;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::JsonFields;

use crate::cli::LogFormat;

mod line;

const DEFAULT_FILTER: &str = "info";
/// The longest a line waits in the buffer before it is written.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
const BUFFER_BYTES: usize = 64 * 1024;

/// Logging for the server. Lines are buffered and written when the buffer
/// fills, every 100 ms, and at shutdown (when the returned guard drops):
/// one `write(2)` per request line cost about half of a `/healthz`
/// request's CPU on a VM (docs/PERFORMANCE.md). tracing-appender's
/// non-blocking writer was tried first: with the server on one core it still
/// wrote about one line per system call, and added a thread handoff each.
pub fn init(format: LogFormat) -> LogGuard {
    let buffer = BufferedStderr(Arc::new(Mutex::new(BufWriter::with_capacity(
        BUFFER_BYTES,
        std::io::stderr(),
    ))));
    if !install(format, buffer.clone()) {
        return LogGuard(None);
    }
    // A terminal gets colours, which only the stock formatter writes.
    if !std::io::stderr().is_terminal() {
        let _ = DIRECT.set(Direct {
            buffer: buffer.clone(),
            json: matches!(format, LogFormat::Json),
        });
    }
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let flusher = buffer.clone();
    let thread = std::thread::Builder::new()
        .name("cookie-lab-log".to_owned())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(FLUSH_EVERY)
            {
                let _ = flusher.lock().flush();
            }
            let _ = flusher.lock().flush();
        })
        .ok();
    LogGuard(thread.map(|thread| (stop, thread)))
}

/// Logging for tests: written at once on the calling thread, so nothing is
/// lost when a test ends.
pub fn init_for_tests(format: LogFormat) {
    install(format, std::io::stderr);
}

/// Flushes the log when dropped; hold it until the server has stopped.
#[must_use = "dropping the guard stops the log flusher"]
pub struct LogGuard(Option<(std::sync::mpsc::Sender<()>, JoinHandle<()>)>);

impl Drop for LogGuard {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.0.take() {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
}

/// stderr behind one shared buffer.
#[derive(Clone)]
struct BufferedStderr(Arc<Mutex<BufWriter<Stderr>>>);

impl BufferedStderr {
    /// A poisoned lock only means a writer panicked mid-line; the buffer is
    /// still usable and losing the log would be worse.
    fn lock(&self) -> MutexGuard<'_, BufWriter<Stderr>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The writer of one event: tracing-subscriber formats a whole line and
/// writes it with one `write_all`, so the line goes into the buffer at once.
struct Line<'a>(MutexGuard<'a, BufWriter<Stderr>>);

impl Write for Line<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Flushed by the timer, not per line: that is the point.
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BufferedStderr {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Line(self.lock())
    }
}

/// Installs the subscriber; false when one was already installed.
fn install<W>(format: LogFormat, writer: W) -> bool
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.event_format(LineFormat::text()).try_init().is_ok(),
        LogFormat::Json => builder
            .fmt_fields(JsonFields::new())
            .event_format(LineFormat::json())
            .try_init()
            .is_ok(),
    }
}

/// Why a request failed on the server's side, carried in the response's
/// extensions to its log line; never shown to the user.
#[derive(Debug, Clone)]
pub struct FailureCause(pub String);

/// Where request lines go without an event: the server's log buffer, in
/// its format. Set by [`init`] (not for tests, nor on a terminal).
static DIRECT: OnceLock<Direct> = OnceLock::new();

struct Direct {
    buffer: BufferedStderr,
    json: bool,
}

thread_local! {
    static LINE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// A request's one log line. The route template, never the raw path: some
/// paths carry cookie values (`/api/cookies/set/{name}/{value}`). `cause`
/// is why the server failed, for a 5xx.
///
/// The server writes the line straight into its log buffer, as the event
/// below would be written (same filter, same bytes; a test compares them):
/// the event, with its field visitor and `fmt` calls, cost 2.9k
/// instructions per request (callgrind, docs/PERFORMANCE.md).
pub fn log_request(
    method: &str,
    route: &str,
    status: u16,
    took: Duration,
    cause: Option<&FailureCause>,
) {
    let latency_us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
    let failed = cause.is_some() || status >= 500;
    if let Some(direct) = DIRECT.get() {
        let enabled = if failed {
            tracing::enabled!(tracing::Level::ERROR)
        } else {
            tracing::enabled!(tracing::Level::INFO)
        };
        if enabled {
            let line = line::RequestLine {
                level: if failed {
                    tracing::Level::ERROR
                } else {
                    tracing::Level::INFO
                },
                message: if failed { "request failed" } else { "request" },
                method,
                route,
                status,
                latency_us,
                error: cause.map(|c| c.0.as_str()),
            };
            LINE.with(|text| {
                let mut text = text.borrow_mut();
                text.clear();
                if line.write(direct.json, &mut text).is_ok() {
                    let _ = direct.buffer.lock().write_all(text.as_bytes());
                }
            });
        }
        return;
    }
    match cause {
        Some(cause) => {
            tracing::error!(method = %method, route = %route, status, latency_us, error = %cause.0, "request failed");
        }
        None if status >= 500 => {
            tracing::error!(method = %method, route = %route, status, latency_us, "request failed");
        }
        None => tracing::info!(method = %method, route = %route, status, latency_us, "request"),
    }
}
