//! Properties of the cookie module over generated input (proptest).

use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use cookie_lab::cookies::{
    CookieContext, CookieSpec, RequestCookies, SameSite, decode_value, encode_value, prepare,
};
use proptest::prelude::*;
use time::{Duration, OffsetDateTime};

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap()
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,24}"
}

fn same_site() -> impl Strategy<Value = Option<SameSite>> {
    prop_oneof![
        Just(None),
        Just(Some(SameSite::Strict)),
        Just(Some(SameSite::Lax)),
        Just(Some(SameSite::None))
    ]
}

prop_compose! {
    /// Specs across the whole attribute space; some are refused, which the
    /// properties account for.
    fn spec()(
        name in token(),
        value in any::<String>(),
        max_age in proptest::option::of(-10i64..40_000_000),
        path in proptest::option::of("/[a-z/]{0,12}"),
        domain in proptest::option::of(prop_oneof![Just("127.0.0.1".to_owned()), Just("example.com".to_owned())]),
        secure in any::<bool>(),
        http_only in any::<bool>(),
        same_site in same_site(),
        partitioned in any::<bool>(),
    ) -> CookieSpec {
        CookieSpec {
            max_age: max_age.map(Duration::seconds),
            path,
            domain,
            secure,
            http_only,
            same_site,
            partitioned,
            ..CookieSpec::new(name, value)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_utf8_value_round_trips(value in any::<String>()) {
        let encoded = encode_value(&value);
        prop_assert_eq!(decode_value(&encoded).unwrap(), value.as_str());
    }

    #[test]
    fn any_value_sent_comes_back_through_a_cookie_header(value in any::<String>()) {
        let spec = CookieSpec::new("v", value.clone());
        let ctx = CookieContext::new("127.0.0.1:5000", false);
        prop_assume!(prepare(&spec, &ctx, now()).is_ok());
        // What a browser sends back is the name=value part of the Set-Cookie.
        let header = spec.to_header_value(now());
        let pair = header.split("; ").next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(pair).unwrap());
        let received = RequestCookies::from_headers(&headers);
        prop_assert_eq!(received.get("v").unwrap().value(), value.as_str());
    }

    #[test]
    fn every_emitted_set_cookie_parses_back_to_the_same_attributes(spec in spec()) {
        let ctx = CookieContext::new("127.0.0.1:5000", false);
        let Ok(prepared) = prepare(&spec, &ctx, now()) else {
            return Ok(());
        };
        let header = prepared.header();
        prop_assert!(!header.contains(['\r', '\n']), "one header line");
        let parsed = cookie::Cookie::parse(header.to_owned()).unwrap();
        prop_assert_eq!(parsed.name(), spec.name.as_str());
        prop_assert_eq!(decode_value(parsed.value()).unwrap(), spec.value.as_str());
        prop_assert_eq!(parsed.path(), spec.path.as_deref());
        prop_assert_eq!(parsed.domain(), spec.domain.as_deref());
        prop_assert_eq!(parsed.max_age(), spec.max_age.map(|age| age.max(Duration::ZERO)));
        prop_assert_eq!(parsed.expires_datetime(), spec.effective_expires(now()));
        prop_assert_eq!(parsed.secure().unwrap_or(false), spec.secure);
        prop_assert_eq!(parsed.http_only().unwrap_or(false), spec.http_only);
        prop_assert_eq!(parsed.partitioned().unwrap_or(false), spec.partitioned);
        prop_assert_eq!(parsed.same_site().map(|s| s.to_string()), spec.same_site.map(|s| s.to_string()));
    }

    #[test]
    fn no_cookie_header_panics_the_reader(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            let mut headers = HeaderMap::new();
            headers.insert(COOKIE, value);
            let received = RequestCookies::from_headers(&headers);
            // Nameless pairs are kept (Chromium sends them), empty ones not.
            prop_assert!(received.iter().all(|c| !c.name.is_empty() || !c.raw_value.is_empty()));
        }
    }
}
