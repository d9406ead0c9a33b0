//! Building a Set-Cookie from any attributes: nothing may panic, and a cookie
//! the rules let through is one header line that parses back to itself.
#![no_main]

use arbitrary::Arbitrary;
use cookie_lab::cookies::{CookieContext, CookieSpec, SameSite, decode_value, prepare};
use libfuzzer_sys::fuzz_target;
use time::{Duration, OffsetDateTime};

#[derive(Debug, Arbitrary)]
struct Input {
    name: String,
    value: String,
    wire_value: bool,
    max_age: Option<i64>,
    expires: Option<i64>,
    path: Option<String>,
    domain: Option<String>,
    secure: bool,
    http_only: bool,
    same_site: Option<u8>,
    partitioned: bool,
    host: String,
    https: bool,
}

fuzz_target!(|input: Input| {
    let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
    let spec = CookieSpec {
        name: input.name,
        value: input.value,
        wire_value: input.wire_value,
        max_age: input.max_age.map(|s| Duration::seconds(s % 100_000_000_000)),
        expires: input
            .expires
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s % 100_000_000_000).ok()),
        path: input.path,
        domain: input.domain,
        secure: input.secure,
        http_only: input.http_only,
        same_site: input.same_site.map(|s| match s % 3 {
            0 => SameSite::Strict,
            1 => SameSite::Lax,
            _ => SameSite::None,
        }),
        partitioned: input.partitioned,
    };
    let ctx = CookieContext::new(&input.host, input.https);
    let Ok(prepared) = prepare(&spec, &ctx, now) else {
        return;
    };
    let header = prepared.header();
    assert!(!header.is_empty());
    assert!(!header.contains(['\r', '\n', '\0']), "{header:?}");
    let parsed = cookie::Cookie::parse(header.to_owned()).expect("an accepted cookie parses back");
    assert_eq!(parsed.name(), spec.name);
    if !spec.wire_value {
        assert_eq!(decode_value(parsed.value()).as_deref(), Some(spec.value.as_str()));
    }
    // Browsers (and the cookie crate) trim attribute values; the
    // path-not-absolute rule warns when that changes the path.
    assert_eq!(parsed.path(), spec.path.as_deref().map(str::trim));
});
