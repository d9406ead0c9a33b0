//! Reading a Cookie header: any bytes a client can send. Nothing may panic;
//! every cookie read has a name or a value; the login cookie opens to some outcome.
#![no_main]

use std::sync::LazyLock;

use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use cookie_lab::cookies::inspect::inspect;
use cookie_lab::cookies::{RequestCookies, check_request, login};
use cookie_lab::keys::KeyRing;
use libfuzzer_sys::fuzz_target;

static RING: LazyLock<KeyRing> = LazyLock::new(|| {
    KeyRing::from_env_value("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").expect("a valid fixed key")
});

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.append(COOKIE, value);
    let cookies = RequestCookies::from_headers(&headers);
    let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
    for cookie in cookies.iter() {
        assert!(!cookie.name.is_empty() || !cookie.raw_value.is_empty());
        let _ = (cookie.value(), cookie.shown_value(), cookie.size());
    }
    let _ = cookies.summary();
    let _ = check_request(&cookies);
    let _ = inspect(&cookies, &RING, now);
    let _ = login::read(&RING, &cookies, false, now);
    let _ = login::read(&RING, &cookies, true, now);
});
