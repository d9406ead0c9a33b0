//! The log line format: byte for byte what tracing-subscriber's `Full` text
//! format and flattened JSON format write for an event outside any span
//! (`2026-11-29T14:09:57.155362Z  INFO request method=GET route=/ …` and
//! `{"timestamp":…,"level":"INFO","message":"request","method":"GET",…}`),
//! written straight into the line buffer.
//!
//! Written by hand because the stock formatters cost 7.8k instructions per
//! request line (callgrind, docs/PERFORMANCE.md): most of it the timestamp,
//! formatted from scratch each time, and every field through `fmt::Debug`
//! and padding machinery. Here the timestamp's date and time are formatted
//! once a second per thread, numbers are written digit by digit, and only
//! values given as `%display` go through `fmt`. Events inside a span, and
//! coloured output for a terminal, are left to the stock formatters: cookie-
//! lab opens no spans, and a terminal is not a production log.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields, Writer};
use tracing_subscriber::registry::LookupSpan;

/// The event format of the server's log.
pub(super) struct LineFormat {
    json: bool,
    text_fallback: format::Format<format::Full>,
    json_fallback: format::Format<format::Json>,
}

impl LineFormat {
    pub(super) fn text() -> Self {
        Self::new(false)
    }

    pub(super) fn json() -> Self {
        Self::new(true)
    }

    fn new(json: bool) -> Self {
        Self {
            json,
            text_fallback: format::format().with_target(false),
            json_fallback: format::format()
                .with_target(false)
                .json()
                .flatten_event(true),
        }
    }
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if writer.has_ansi_escapes() || ctx.lookup_current().is_some() {
            return if self.json {
                self.json_fallback.format_event(ctx, writer, event)
            } else {
                self.text_fallback.format_event(ctx, writer, event)
            };
        }
        let level = *event.metadata().level();
        if self.json {
            writer.write_str("{\"timestamp\":\"")?;
            write_timestamp(&mut writer)?;
            writer.write_str("\",\"level\":\"")?;
            writer.write_str(level.as_str())?;
            writer.write_char('"')?;
            let mut fields = JsonFields {
                writer: &mut writer,
                result: Ok(()),
            };
            event.record(&mut fields);
            fields.result?;
            writer.write_str("}\n")
        } else {
            write_timestamp(&mut writer)?;
            writer.write_str(padded(level))?;
            let mut fields = TextFields {
                writer: &mut writer,
                first: true,
                result: Ok(()),
            };
            event.record(&mut fields);
            fields.result?;
            writer.write_char('\n')
        }
    }
}

/// The fields of a request's log line (`telemetry::log_request`).
pub(super) struct RequestLine<'a> {
    pub(super) level: Level,
    pub(super) message: &'static str,
    pub(super) method: &'a str,
    pub(super) route: &'a str,
    pub(super) status: u16,
    pub(super) latency_us: u64,
    pub(super) error: Option<&'a str>,
}

impl RequestLine<'_> {
    /// The line exactly as [`LineFormat`] writes the event
    /// `log_request` would otherwise emit (a test compares the two), but
    /// with no event: no field visitor, no `fmt` for the strings.
    pub(super) fn write(&self, json: bool, out: &mut String) -> fmt::Result {
        if json {
            out.push_str("{\"timestamp\":\"");
            write_timestamp(out)?;
            out.push_str("\",\"level\":\"");
            out.push_str(self.level.as_str());
            out.push_str("\",\"message\":\"");
            JsonString(out).write_str(self.message)?;
            out.push_str("\",\"method\":\"");
            JsonString(out).write_str(self.method)?;
            out.push_str("\",\"route\":\"");
            JsonString(out).write_str(self.route)?;
            out.push_str("\",\"status\":");
            write_digits(out, u64::from(self.status), 1)?;
            out.push_str(",\"latency_us\":");
            write_digits(out, self.latency_us, 1)?;
            if let Some(error) = self.error {
                out.push_str(",\"error\":\"");
                JsonString(out).write_str(error)?;
                out.push('"');
            }
            out.push_str("}\n");
        } else {
            write_timestamp(out)?;
            out.push_str(padded(self.level));
            Sanitizing(out).write_str(self.message)?;
            out.push_str(" method=");
            out.push_str(self.method);
            out.push_str(" route=");
            out.push_str(self.route);
            out.push_str(" status=");
            write_digits(out, u64::from(self.status), 1)?;
            out.push_str(" latency_us=");
            write_digits(out, self.latency_us, 1)?;
            if let Some(error) = self.error {
                out.push_str(" error=");
                out.push_str(error);
            }
            out.push('\n');
        }
        Ok(())
    }
}

/// The level as `Full` pads it (to five characters, right-aligned), with
/// the space before and after.
fn padded(level: Level) -> &'static str {
    match level {
        Level::TRACE => " TRACE ",
        Level::DEBUG => " DEBUG ",
        Level::INFO => "  INFO ",
        Level::WARN => "  WARN ",
        Level::ERROR => " ERROR ",
    }
}

thread_local! {
    /// The second last formatted on this thread, and its text up to the
    /// fraction: `2026-11-29T14:09:57.`.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// RFC 3339 in UTC with microseconds, as tracing-subscriber's `SystemTime`
/// writes it.
fn write_timestamp(writer: &mut (impl fmt::Write + ?Sized)) -> fmt::Result {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let second = since_epoch.as_secs();
    SECOND.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != second {
            let (_, text) = &mut *cached;
            text.clear();
            write_date_time(text, second)?;
            cached.0 = second;
        }
        writer.write_str(&cached.1)
    })?;
    write_digits(writer, u64::from(since_epoch.subsec_micros()), 6)?;
    writer.write_char('Z')
}

/// `YYYY-MM-DDTHH:MM:SS.` for seconds since the epoch.
fn write_date_time(out: &mut String, second: u64) -> fmt::Result {
    let at = i64::try_from(second)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// `value` in decimal, zero-padded to at least `width` digits.
fn write_digits(
    writer: &mut (impl fmt::Write + ?Sized),
    mut value: u64,
    width: usize,
) -> fmt::Result {
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    while value > 0 || digits.len() - start < width.max(1) {
        start -= 1;
        // `value % 10` is below 10, so the cast can't truncate.
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
    }
    // Digit by digit: for a `String`, a push each, cheaper than checking
    // the run is UTF-8 to write it as a `str`.
    digits[start..]
        .iter()
        .try_for_each(|&digit| writer.write_char(char::from(digit)))
}

/// The name a field is written under (`r#type` as `type`), or `None` when
/// it isn't written: the `log.` metadata of events from the `log` crate,
/// or after a write failed.
fn written_name(field: &Field, result: &fmt::Result) -> Option<&'static str> {
    let name = field.name();
    (result.is_ok() && !name.starts_with("log.")).then(|| name.strip_prefix("r#").unwrap_or(name))
}

/// `Full`'s fields: the message bare, then ` name=value`, values as `Debug`
/// (so `%display` values unquoted and plain strings quoted).
struct TextFields<'a, 'w> {
    writer: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl TextFields<'_, '_> {
    /// Writes the separator and the name; false when the field is skipped.
    fn start(&mut self, field: &Field) -> bool {
        let Some(name) = written_name(field, &self.result) else {
            return false;
        };
        if !self.first {
            self.result = self.writer.write_char(' ');
        }
        self.first = false;
        if name != "message" {
            self.result = self
                .result
                .and_then(|()| self.writer.write_str(name))
                .and_then(|()| self.writer.write_char('='));
        }
        self.result.is_ok()
    }
}

impl Visit for TextFields<'_, '_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.start(field) {
            self.result = write_digits(self.writer, value, 1);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            if self.start(field) {
                self.result = Sanitizing(self.writer).write_str(value);
            }
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // As `Full`: the error, then its sources as a list, each sanitized.
        let mut text = String::new();
        let _ = Sanitizing(&mut text).write_fmt(format_args!("{value}"));
        if value.source().is_some() {
            text.push(' ');
            text.push_str(field.name());
            text.push_str(".sources=[");
            let mut chain = value.source();
            let mut first = true;
            while let Some(cause) = chain {
                if !first {
                    text.push_str(", ");
                }
                first = false;
                let _ = Sanitizing(&mut text).write_fmt(format_args!("{cause}"));
                chain = cause.source();
            }
            text.push(']');
        }
        self.record_debug(field, &format_args!("{text}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.start(field) {
            self.result = if field.name() == "message" {
                Sanitizing(self.writer).write_fmt(format_args!("{value:?}"))
            } else {
                write!(self.writer, "{value:?}")
            };
        }
    }
}

/// Escapes what could drive a terminal (ESC, BEL, BS, FF, DEL and the C1
/// controls), as `Full` does for messages and errors.
struct Sanitizing<'a, W: fmt::Write + ?Sized>(&'a mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for Sanitizing<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        // Most text is printable ASCII: one pass over the bytes.
        if text.bytes().all(|b| (b' '..b'\x7f').contains(&b)) {
            return self.0.write_str(text);
        }
        let mut plain = 0;
        for (at, ch) in text.char_indices() {
            let escaped = match ch {
                '\x1b' => "\\x1b",
                '\x07' => "\\x07",
                '\x08' => "\\x08",
                '\x0c' => "\\x0c",
                '\x7f' => "\\x7f",
                '\u{80}'..='\u{9f}' => "",
                _ => continue,
            };
            // Runs of ordinary text go out in one write.
            self.0.write_str(&text[plain..at])?;
            if escaped.is_empty() {
                write!(self.0, "\\u{{{:x}}}", u32::from(ch))?;
            } else {
                self.0.write_str(escaped)?;
            }
            plain = at + ch.len_utf8();
        }
        self.0.write_str(&text[plain..])
    }
}

/// Flattened JSON fields: `,"name":value` in the order recorded; numbers
/// and booleans bare, everything else a string (`Debug` for values that are
/// not strings, as tracing-serde does).
struct JsonFields<'a, 'w> {
    writer: &'a mut Writer<'w>,
    result: fmt::Result,
}

impl JsonFields<'_, '_> {
    fn key(&mut self, field: &Field) -> bool {
        let Some(name) = written_name(field, &self.result) else {
            return false;
        };
        self.result = self
            .writer
            .write_str(",\"")
            .and_then(|()| JsonString(self.writer).write_str(name))
            .and_then(|()| self.writer.write_str("\":"));
        self.result.is_ok()
    }

    fn string(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        if self.key(field) {
            self.result = self
                .writer
                .write_char('"')
                .and_then(|()| JsonString(self.writer).write_fmt(value))
                .and_then(|()| self.writer.write_char('"'));
        }
    }
}

impl Visit for JsonFields<'_, '_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.key(field) {
            self.result = write_digits(self.writer, value, 1);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.key(field) {
            if value < 0 {
                self.result = self.writer.write_char('-');
            }
            self.result = self
                .result
                .and_then(|()| write_digits(self.writer, value.unsigned_abs(), 1));
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.key(field) {
            self.result = self.writer.write_str(if value { "true" } else { "false" });
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if self.key(field) {
            // serde_json writes non-finite numbers as null.
            self.result = if value.is_finite() {
                write!(self.writer, "{value:?}")
            } else {
                self.writer.write_str("null")
            };
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.string(field, format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.string(field, format_args!("{value:?}"));
    }
}

/// Writes text escaped as the inside of a JSON string, as serde_json does.
struct JsonString<'a, W: fmt::Write + ?Sized>(&'a mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for JsonString<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut plain = 0;
        for (at, byte) in text.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                0..=0x1f => "",
                _ => continue,
            };
            self.0.write_str(&text[plain..at])?;
            if escape.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.0.write_str("\\u00")?;
                self.0.write_char(char::from(HEX[usize::from(byte >> 4)]))?;
                self.0
                    .write_char(char::from(HEX[usize::from(byte & 0xf)]))?;
            } else {
                self.0.write_str(escape)?;
            }
            plain = at + 1;
        }
        self.0.write_str(&text[plain..])
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    /// Captures what a subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;

        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[derive(Debug)]
    struct Wrapped(std::io::Error);

    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "outer")
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    /// Events of every kind of field, as cookie-lab's log has them and more.
    fn emit() {
        let cause = std::io::Error::other("disk full");
        tracing::info!(method = %"GET", route = %"/api/{x}", status = 200u16, latency_us = 41u64, "request");
        tracing::error!(error = %"a \"quoted\"\nline\u{1}", status = 503u16, "request failed");
        tracing::warn!(
            path = "plain str",
            negative = -7i64,
            ok = true,
            ratio = 0.5f64,
            "mixed"
        );
        tracing::warn!(
            error = &cause as &(dyn std::error::Error + 'static),
            "an error value"
        );
        tracing::info!("only a message");
        tracing::info!(r#type = "raw", "raw name");
        tracing::info!(detail = %"\u{1b}[31m", "a message with \u{1b}[31m and \u{85}");
        let wrapped = std::io::Error::other(Wrapped(std::io::Error::other("inner \u{7}")));
        tracing::error!(
            error = &wrapped as &(dyn std::error::Error + 'static),
            "nested"
        );
    }

    /// What `emit` logs through [`LineFormat`].
    fn through_line_format(json: bool, emit: impl FnOnce()) -> String {
        let captured = Captured::default();
        let format = if json {
            LineFormat::json()
        } else {
            LineFormat::text()
        };
        let subscriber = tracing_subscriber::fmt()
            .with_writer(captured.clone())
            .with_ansi(false)
            .event_format(format)
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
        captured.text()
    }

    /// Both formats, ours and the stock one, on the same events; the
    /// timestamps differ, so each line is compared after it.
    fn both(json: bool) -> (String, String) {
        let ours = through_line_format(json, emit);
        let stock = Captured::default();
        if json {
            let subscriber = tracing_subscriber::fmt()
                .with_writer(stock.clone())
                .with_ansi(false)
                .with_target(false)
                .json()
                .flatten_event(true)
                .finish();
            tracing::subscriber::with_default(subscriber, emit);
        } else {
            let subscriber = tracing_subscriber::fmt()
                .with_writer(stock.clone())
                .with_ansi(false)
                .with_target(false)
                .finish();
            tracing::subscriber::with_default(subscriber, emit);
        }
        (ours, stock.text())
    }

    /// The log with every timestamp (`2026-11-29T14:09:57.155362Z`) cut out.
    fn without_timestamps(log: &str) -> String {
        let shape = "0000-00-00T00:00:00.000000Z".as_bytes();
        let bytes = log.as_bytes();
        let mut out = String::new();
        let mut at = 0;
        while at < bytes.len() {
            let here = &bytes[at..];
            let stamp = here.len() >= shape.len()
                && shape.iter().zip(here).all(|(want, got)| {
                    if *want == b'0' {
                        got.is_ascii_digit()
                    } else {
                        want == got
                    }
                });
            if stamp {
                out.push_str("<time>");
                at += shape.len();
            } else {
                let ch = log[at..].chars().next().unwrap();
                out.push(ch);
                at += ch.len_utf8();
            }
        }
        out
    }

    #[test]
    fn text_lines_are_the_stock_full_format() {
        let (ours, stock) = both(false);
        assert_eq!(without_timestamps(&ours), without_timestamps(&stock));
        assert!(
            ours.contains("  INFO request method=GET route=/api/{x} status=200 latency_us=41\n"),
            "{ours}"
        );
    }

    #[test]
    fn json_lines_are_the_stock_flattened_json() {
        let (ours, stock) = both(true);
        assert_eq!(without_timestamps(&ours), without_timestamps(&stock));
        for line in ours.lines() {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
    }

    /// The line `log_request` writes straight into the server's buffer is
    /// the line its event would have been, in both formats, for a request
    /// that succeeded, one that failed with a cause, and one that failed
    /// without one.
    #[test]
    fn a_request_line_written_directly_is_the_events_line() {
        let cause = crate::telemetry::FailureCause("the store said \"no\"\n".to_owned());
        let requests: [(u16, Option<&crate::telemetry::FailureCause>); 3] =
            [(200, None), (503, Some(&cause)), (500, None)];
        for json in [false, true] {
            for (status, failure) in requests {
                let took = std::time::Duration::from_micros(1234);
                let through_event = through_line_format(json, || {
                    crate::telemetry::log_request(
                        "POST",
                        "/api/cookies/{name}",
                        status,
                        took,
                        failure,
                    );
                });
                let failed = failure.is_some() || status >= 500;
                let mut direct = String::new();
                RequestLine {
                    level: if failed { Level::ERROR } else { Level::INFO },
                    message: if failed { "request failed" } else { "request" },
                    method: "POST",
                    route: "/api/cookies/{name}",
                    status,
                    latency_us: 1234,
                    error: failure.map(|c| c.0.as_str()),
                }
                .write(json, &mut direct)
                .unwrap();
                assert_eq!(
                    without_timestamps(&direct),
                    without_timestamps(&through_event),
                    "json: {json}, status {status}"
                );
            }
        }
    }

    #[test]
    fn timestamps_are_rfc_3339_with_microseconds() {
        let (ours, _) = both(false);
        let stamp = ours.split_once(' ').unwrap().0;
        assert_eq!(stamp.len(), "2026-11-29T14:09:57.155362Z".len(), "{stamp}");
        time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339).unwrap();
        let mut text = String::new();
        write_date_time(&mut text, 1_796_000_000).unwrap();
        assert_eq!(text, "2026-11-30T00:53:20.");
    }

    #[test]
    fn digits_are_padded() {
        let mut text = String::new();
        write_digits(&mut text, 42, 6).unwrap();
        write_digits(&mut text, 0, 1).unwrap();
        write_digits(&mut text, u64::MAX, 1).unwrap();
        assert_eq!(text, "000042018446744073709551615");
    }
}
