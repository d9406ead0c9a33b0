//! The linter on any text: nothing may panic, and a report names the line it
//! read without line breaks.
#![no_main]

use cookie_lab::cookies::CookieContext;
use cookie_lab::lint::{lint_line, render_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (host, line) = text.split_once('\u{0}').unwrap_or(("example.com", text));
    let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
    for ctx in [
        CookieContext::new(host, false),
        CookieContext::new(host, true),
        CookieContext::unknown_host(true),
    ] {
        if let Ok(report) = lint_line(line, &ctx, now) {
            assert!(!report.set_cookie.contains(['\r', '\n']));
            let _ = render_text(&report);
        }
    }
});
