//! The engine model and the lint report on any bytes, from any host and in
//! every context: nothing may panic, and the report names the line it read
//! without line breaks.
#![no_main]

use cookie_lab::engine::{Context, Scheme, SetterUrl};
use cookie_lab::lint::lint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (host, line) = match data.iter().position(|&b| b == 0xff) {
        Some(i) => (String::from_utf8_lossy(&data[..i]).into_owned(), &data[i + 1..]),
        None => ("example.com".to_owned(), data),
    };
    let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
    for scheme in [Scheme::Http, Scheme::Https] {
        let Ok(setter) = SetterUrl::new(scheme, &host, "/p/q/r") else {
            continue;
        };
        for context in Context::ALL {
            let report = lint(line, &setter, context, now, true);
            assert!(!report.set_cookie.contains(['\r', '\n']));
        }
    }
});
