//! One test per rule, with its boundaries, on lines set by
//! `http://HOST/p/q/r` as in the browser-truth corpus; and the proof that
//! every reason in the table is reachable.

use time::OffsetDateTime;
use time::macros::datetime;

use super::*;

const NOW: OffsetDateTime = datetime!(2026-12-01 12:00:00 UTC);

fn url(scheme: Scheme, host: &str) -> SetterUrl {
    SetterUrl::new(scheme, host, "/p/q/r").unwrap()
}

fn on(host: &str, line: &[u8]) -> Verdicts {
    evaluate(line, &url(Scheme::Http, host), Context::SameSite, NOW)
}

fn at_localhost(line: &str) -> Verdicts {
    on("localhost", line.as_bytes())
}

fn in_context(line: &str, context: Context, policy: &Policy) -> Verdicts {
    evaluate_with(
        line.as_bytes(),
        &url(Scheme::Http, "localhost"),
        context,
        NOW,
        policy,
    )
}

const IFRAME: Context = Context::CrossSiteSubresource(Subresource::Iframe);

fn cookie(verdict: &Verdict) -> &StoredCookie {
    assert!(verdict.cookie.is_some(), "{verdict:#?}");
    verdict.cookie.as_ref().unwrap()
}

fn stored(verdict: &Verdict) -> &StoredCookie {
    assert_eq!(verdict.outcome, Outcome::Stored, "{verdict:#?}");
    assert!(verdict.stored);
    cookie(verdict)
}

fn rejected(verdict: &Verdict, reasons: &[ReasonId]) {
    assert_eq!(verdict.outcome, Outcome::Rejected, "{verdict:#?}");
    assert!(!verdict.stored && verdict.cookie.is_none());
    assert_eq!(verdict.reasons, reasons, "{verdict:#?}");
}

fn name_value(verdict: &Verdict) -> (&[u8], &[u8]) {
    let c = stored(verdict);
    (&c.name, &c.value)
}

// ---- name and value characters ----

#[test]
fn punctuation_and_spaces_in_names_are_stored_by_both() {
    for line in [
        "a b=1", "(x)=1", "a@b=1", "{x}=1", "a\"b=1", "a:b=1", "a,b=1",
    ] {
        let v = at_localhost(line);
        let name = line.split('=').next().unwrap().as_bytes();
        assert_eq!(name_value(&v.chromium).0, name, "{line}");
        assert_eq!(name_value(&v.firefox).0, name, "{line}");
        assert!(v.advice.contains(&advice::NAME_NOT_TOKEN), "{line}");
    }
}

#[test]
fn a_control_character_in_the_value_is_rejected_by_both() {
    let v = at_localhost("v=a\x01b");
    rejected(&v.chromium, &[ReasonId::ChromiumDisallowedCharacter]);
    rejected(&v.firefox, &[ReasonId::FirefoxInvalidCharValue]);
    let v = at_localhost("v=a\x7fb");
    rejected(&v.chromium, &[ReasonId::ChromiumDisallowedCharacter]);
    rejected(&v.firefox, &[ReasonId::FirefoxInvalidCharValue]);
    let v = at_localhost("a\x01=1");
    rejected(&v.firefox, &[ReasonId::FirefoxInvalidCharName]);
}

#[test]
fn a_tab_inside_name_or_value_is_rejected_by_chromium_only() {
    for line in ["v=a\tb", "a\tb=1"] {
        let v = at_localhost(line);
        rejected(&v.chromium, &[ReasonId::ChromiumDisallowedCharacter]);
        stored(&v.firefox);
    }
    assert_eq!(name_value(&at_localhost("v=a\tb").firefox).1, b"a\tb");
}

#[test]
fn surrounding_spaces_and_tabs_are_trimmed_by_both() {
    let v = at_localhost(" \t v \t= \t ab \t ");
    assert_eq!(name_value(&v.chromium), (&b"v"[..], &b"ab"[..]));
    assert_eq!(name_value(&v.firefox), (&b"v"[..], &b"ab"[..]));
}

#[test]
fn quotes_are_part_of_the_value() {
    let v = at_localhost("v=\"a b\"");
    assert_eq!(name_value(&v.chromium).1, b"\"a b\"");
    assert_eq!(name_value(&v.firefox).1, b"\"a b\"");
}

#[test]
fn non_ascii_and_non_utf8_bytes_are_kept_as_bytes() {
    let v = on("localhost", b"v=caf\xc3\xa9\xff");
    assert_eq!(name_value(&v.chromium).1, b"caf\xc3\xa9\xff");
    // Firefox keeps the valid UTF-8 and turns the stray byte into U+FFFD.
    assert_eq!(name_value(&v.firefox).1, "café\u{fffd}".as_bytes());
    assert!(v.advice.contains(&advice::VALUE_NOT_COOKIE_OCTETS));
}

#[test]
fn a_nul_fails_the_response_in_both_engines() {
    let v = on("localhost", b"a=1\x00");
    for verdict in [&v.chromium, &v.firefox] {
        assert_eq!(verdict.outcome, Outcome::ResponseFailed);
        assert!(!verdict.stored && verdict.reasons.is_empty() && verdict.cookie.is_none());
    }
}

#[test]
fn a_line_feed_ends_the_header_value_in_both_engines() {
    let v = on("localhost", b"a=1\nb=2");
    assert_eq!(name_value(&v.chromium), (&b"a"[..], &b"1"[..]));
    assert_eq!(name_value(&v.firefox), (&b"a"[..], &b"1"[..]));
    assert_eq!(v.firefox.ignored[0].cause, IgnoreCause::OtherHeaderLines);
    let v = on("localhost", b"a\nb=1");
    assert_eq!(name_value(&v.chromium), (&b""[..], &b"a"[..]));
    assert_eq!(name_value(&v.firefox), (&b"a"[..], &b""[..]));
}

#[test]
fn a_lone_cr_ends_the_value_in_chromium_and_is_a_control_character_in_firefox() {
    let v = on("localhost", b"v=a\rb");
    assert_eq!(name_value(&v.chromium), (&b"v"[..], &b"a"[..]));
    rejected(&v.firefox, &[ReasonId::FirefoxInvalidCharValue]);
}

#[test]
fn a_folded_header_line_is_joined_with_a_space() {
    let v = on("localhost", b"v=a\r\n b");
    assert_eq!(name_value(&v.chromium).1, b"a b");
    assert_eq!(name_value(&v.firefox).1, b"a b");
}

// ---- nameless and =-less lines ----

#[test]
fn a_line_without_equals_is_a_value_in_chromium_and_a_name_in_firefox() {
    let v = at_localhost("novalue");
    assert_eq!(name_value(&v.chromium), (&b""[..], &b"novalue"[..]));
    assert_eq!(name_value(&v.firefox), (&b"novalue"[..], &b""[..]));
    let v = at_localhost("lonely; Path=/");
    assert_eq!(name_value(&v.chromium), (&b""[..], &b"lonely"[..]));
    assert_eq!(name_value(&v.firefox), (&b"lonely"[..], &b""[..]));
}

#[test]
fn a_nameless_cookie_is_stored_by_chromium_only() {
    let v = at_localhost("=value");
    assert_eq!(name_value(&v.chromium), (&b""[..], &b"value"[..]));
    rejected(&v.firefox, &[ReasonId::FirefoxInvalidCharName]);
}

#[test]
fn an_empty_line_or_bare_equals_has_no_content() {
    for line in ["", "=", " ; ", "   "] {
        let v = at_localhost(line);
        rejected(&v.chromium, &[ReasonId::ChromiumNoCookieContent]);
        rejected(&v.firefox, &[ReasonId::FirefoxEmptyNameAndValue]);
    }
}

#[test]
fn an_ambiguous_nameless_value_is_rejected_by_both() {
    for line in ["=a=b", " =a=b", "=="] {
        let v = at_localhost(line);
        rejected(&v.chromium, &[ReasonId::ChromiumAmbiguousSerialization]);
        rejected(&v.firefox, &[ReasonId::FirefoxInvalidCharName]);
    }
    // Older Chromium stored it.
    let policy = Policy {
        chromium_block_ambiguous_nameless: false,
        ..Policy::default()
    };
    let v = in_context("=a=b", Context::SameSite, &policy);
    assert_eq!(name_value(&v.chromium).1, b"a=b");
}

// ---- sizes ----

#[test]
fn name_plus_value_may_be_4096_bytes_not_4097() {
    for (name_len, value_len, ok) in [
        (1, 4095, true),
        (2048, 2048, true),
        (1, 4096, false),
        (4096, 1, false),
    ] {
        let line = format!("{}={}", "n".repeat(name_len), "v".repeat(value_len));
        let v = at_localhost(&line);
        if ok {
            stored(&v.chromium);
            stored(&v.firefox);
        } else {
            rejected(
                &v.chromium,
                &[ReasonId::ChromiumNameValuePairExceedsMaxSize],
            );
            rejected(&v.firefox, &[ReasonId::FirefoxOversize]);
        }
    }
}

#[test]
fn an_attribute_value_over_1024_bytes_is_ignored_not_fatal() {
    let kept = format!("n=1; Path=/{}", "a".repeat(1023));
    let v = at_localhost(&kept);
    assert_eq!(stored(&v.chromium).path.len(), 1024);
    assert_eq!(stored(&v.firefox).path.len(), 1024);

    let ignored = format!("n=1; Path=/{}", "a".repeat(1024));
    let v = at_localhost(&ignored);
    assert_eq!(stored(&v.chromium).path, b"/p/q");
    assert_eq!(stored(&v.firefox).path, b"/p/q");
    assert_eq!(
        v.chromium.warnings,
        [ReasonId::ChromiumWarnAttributeValueExceedsMaxSize]
    );
    assert_eq!(v.firefox.warnings, [ReasonId::FirefoxAttributeIgnored]);
    assert_eq!(v.firefox.ignored[0].cause, IgnoreCause::TooLong);

    for attribute in ["Domain", "Expires", "Max-Age", "SameSite", "Unknown"] {
        let line = format!("n=1; {attribute}={}", "x".repeat(1025));
        let v = at_localhost(&line);
        stored(&v.chromium);
        stored(&v.firefox);
        assert!(
            v.chromium
                .ignored
                .iter()
                .any(|i| i.cause == IgnoreCause::TooLong),
            "{attribute}"
        );
    }
}

#[test]
fn an_over_long_host_prefix_path_loses_path_slash_and_is_rejected() {
    let line = format!("__Host-n=1; Secure; Path=/{}", "a".repeat(1024));
    let v = at_localhost(&line);
    rejected(&v.chromium, &[ReasonId::ChromiumInvalidPrefix]);
    rejected(&v.firefox, &[ReasonId::FirefoxInvalidPrefix]);
}

// ---- path ----

#[test]
fn path_defaults_to_the_request_directory() {
    for line in ["n=1", "n=1; Path=", "n=1; Path=relative", "n=1; Path=p/q"] {
        let v = at_localhost(line);
        assert_eq!(stored(&v.chromium).path, b"/p/q", "{line}");
        assert_eq!(stored(&v.firefox).path, b"/p/q", "{line}");
    }
    let v = at_localhost("n=1; Path=/A%20b/é");
    assert_eq!(stored(&v.chromium).path, "/A%20b/é".as_bytes());
    assert_eq!(stored(&v.firefox).path, "/A%20b/é".as_bytes());
}

#[test]
fn a_tab_in_path_rejects_in_both_for_different_reasons() {
    let v = at_localhost("n=1; Path=/a\tb");
    rejected(&v.chromium, &[ReasonId::ChromiumDisallowedCharacter]);
    rejected(&v.firefox, &[ReasonId::FirefoxInvalidPath]);
}

#[test]
fn a_control_character_in_any_attribute_rejects_the_cookie() {
    for line in ["n=1; Path=/\x01", "n=1; Foo=\x1f", "n=1; F\x7fo=1"] {
        let v = at_localhost(line);
        rejected(&v.chromium, &[ReasonId::ChromiumDisallowedCharacter]);
        rejected(&v.firefox, &[ReasonId::FirefoxInvalidCharAttributes]);
    }
    // A tab inside an unknown attribute only bothers Chromium.
    let v = at_localhost("n=1; Foo=a\tb");
    rejected(&v.chromium, &[ReasonId::ChromiumDisallowedCharacter]);
    stored(&v.firefox);
}

// ---- domain ----

#[test]
fn domain_on_localhost_must_be_localhost_itself() {
    for line in [
        "n=1; Domain=localhost",
        "n=1; Domain=.localhost",
        "n=1; Domain=LOCALHOST",
    ] {
        let v = at_localhost(line);
        for verdict in [&v.chromium, &v.firefox] {
            let c = stored(verdict);
            assert_eq!(
                (c.domain.as_str(), c.host_only),
                ("localhost", true),
                "{line}"
            );
        }
    }
    for line in [
        "n=1; Domain=localhost.",
        "n=1; Domain=.",
        "n=1; Domain=example.com",
        "n=1; Domain=..localhost",
    ] {
        let v = at_localhost(line);
        rejected(&v.chromium, &[ReasonId::ChromiumInvalidDomain]);
        rejected(&v.firefox, &[ReasonId::FirefoxInvalidDomain]);
    }
}

#[test]
fn a_domain_cookie_on_a_subdomain_and_its_parent() {
    let v = on("sub.localhost", b"n=1; Domain=sub.localhost");
    for verdict in [&v.chromium, &v.firefox] {
        let c = stored(verdict);
        assert_eq!((c.domain.as_str(), c.host_only), ("sub.localhost", false));
    }
    let v = on("sub.localhost", b"n=1; Domain=localhost");
    rejected(
        &v.chromium,
        &[
            ReasonId::ChromiumDomainMismatch,
            ReasonId::ChromiumInvalidDomain,
        ],
    );
    rejected(&v.firefox, &[ReasonId::FirefoxInvalidDomain]);
}

#[test]
fn domain_on_a_registrable_name() {
    let v = on("cookie-lab.test", b"n=1; Domain=COOKIE-LAB.test");
    for verdict in [&v.chromium, &v.firefox] {
        let c = stored(verdict);
        assert_eq!((c.domain.as_str(), c.host_only), ("cookie-lab.test", false));
    }
    for line in [
        &b"n=1; Domain=test"[..],
        b"n=1; Domain=other.test",
        b"n=1; Domain=cookie-lab.test.",
    ] {
        let v = on("cookie-lab.test", line);
        rejected(
            &v.chromium,
            &[
                ReasonId::ChromiumDomainMismatch,
                ReasonId::ChromiumInvalidDomain,
            ],
        );
        rejected(&v.firefox, &[ReasonId::FirefoxInvalidDomain]);
    }
    let v = on("a.cookie-lab.test", b"n=1; Domain=b.cookie-lab.test");
    rejected(&v.chromium, &[ReasonId::ChromiumInvalidDomain]);
    rejected(&v.firefox, &[ReasonId::FirefoxInvalidDomain]);
}

#[test]
fn a_public_suffix_domain_is_refused_unless_it_is_the_host() {
    let v = on("foo.github.io", b"n=1; Domain=github.io");
    rejected(
        &v.chromium,
        &[
            ReasonId::ChromiumDomainMismatch,
            ReasonId::ChromiumInvalidDomain,
        ],
    );
    rejected(&v.firefox, &[ReasonId::FirefoxInvalidDomain]);
    let v = on("github.io", b"n=1; Domain=github.io");
    for verdict in [&v.chromium, &v.firefox] {
        assert!(stored(verdict).host_only);
    }
}

#[test]
fn domain_on_an_ip_host_must_equal_it() {
    for line in [&b"n=1; Domain=127.0.0.1"[..], b"n=1; Domain=.127.0.0.1"] {
        let v = on("127.0.0.1", line);
        for verdict in [&v.chromium, &v.firefox] {
            let c = stored(verdict);
            assert_eq!((c.domain.as_str(), c.host_only), ("127.0.0.1", true));
        }
    }
    let v = on("127.0.0.1", b"n=1; Domain=0.0.1");
    rejected(&v.chromium, &[ReasonId::ChromiumInvalidDomain]);
    rejected(&v.firefox, &[ReasonId::FirefoxInvalidDomain]);
}

#[test]
fn a_percent_or_non_ascii_domain_is_refused() {
    let v = on("cookie-lab.test", b"n=1; Domain=cookie%2dlab.test");
    rejected(&v.chromium, &[ReasonId::ChromiumInvalidDomain]);
    rejected(&v.firefox, &[ReasonId::FirefoxInvalidDomain]);
    let v = on("cookie-lab.test", "n=1; Domain=café.test".as_bytes());
    rejected(
        &v.chromium,
        &[
            ReasonId::ChromiumDomainMismatch,
            ReasonId::ChromiumInvalidDomain,
        ],
    );
    assert_eq!(v.chromium.warnings, [ReasonId::ChromiumWarnDomainNonAscii]);
    rejected(&v.firefox, &[ReasonId::FirefoxInvalidDomain]);
}

#[test]
fn an_empty_domain_means_host_only() {
    let v = at_localhost("n=1; Domain=");
    assert!(stored(&v.chromium).host_only);
    assert!(stored(&v.firefox).host_only);
}

// ---- expiry ----

fn expiry(verdict: &Verdict) -> Expiry {
    cookie(verdict).expiry
}

fn in_seconds(verdict: &Verdict) -> (i64, bool) {
    match expiry(verdict) {
        Expiry::At {
            in_seconds, capped, ..
        } => (in_seconds, capped),
        other => panic!("{other:?}"),
    }
}

#[test]
fn max_age_sets_the_lifetime_and_is_capped_at_400_days() {
    let v = at_localhost("n=1; Max-Age=3600");
    assert_eq!(in_seconds(&v.chromium), (3600, false));
    assert_eq!(in_seconds(&v.firefox), (3600, false));
    for line in [
        "n=1; Max-Age=34560000",
        "n=1; Max-Age=34560001",
        "n=1; Max-Age=99999999999999999999",
    ] {
        let v = at_localhost(line);
        let capped = !line.ends_with("34560000");
        assert_eq!(
            in_seconds(&v.chromium),
            (MAX_LIFETIME_SECONDS, capped),
            "{line}"
        );
        assert_eq!(
            in_seconds(&v.firefox),
            (MAX_LIFETIME_SECONDS, capped),
            "{line}"
        );
    }
}

#[test]
fn zero_or_negative_max_age_and_past_expires_delete() {
    for line in [
        "n=1; Max-Age=0",
        "n=1; Max-Age=-1",
        "n=1; Max-Age=-99999999999999999999",
        "n=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        "n=1; Expires=Tue, 01 Dec 2026 11:59:59 GMT",
    ] {
        let v = at_localhost(line);
        for verdict in [&v.chromium, &v.firefox] {
            assert_eq!(verdict.outcome, Outcome::Deleted, "{line}");
            assert!(!verdict.stored && !verdict.rejected() && verdict.reasons.is_empty());
            assert_eq!(expiry(verdict), Expiry::Expired);
        }
    }
}

#[test]
fn max_age_wins_over_expires() {
    let v = at_localhost("n=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60");
    assert_eq!(in_seconds(&v.chromium).0, 60);
    assert_eq!(in_seconds(&v.firefox).0, 60);
    assert!(
        v.chromium
            .ignored
            .iter()
            .any(|i| i.cause == IgnoreCause::Superseded)
    );
}

#[test]
fn an_unreadable_max_age_is_ignored_and_expires_decides() {
    for line in [
        "n=1; Max-Age=abc",
        "n=1; Max-Age=",
        "n=1; Max-Age=1e3",
        "n=1; Max-Age=12abc",
    ] {
        let v = at_localhost(line);
        assert_eq!(expiry(&v.chromium), Expiry::Session, "{line}");
        assert_eq!(expiry(&v.firefox), Expiry::Session, "{line}");
    }
    let v = at_localhost("n=1; Max-Age=abc; Expires=Tue, 01 Dec 2026 13:00:00 GMT");
    assert_eq!(in_seconds(&v.chromium).0, 3600);
    assert_eq!(in_seconds(&v.firefox).0, 3600);
    assert_eq!(v.firefox.warnings, [ReasonId::FirefoxInvalidMaxAge]);
}

#[test]
fn max_age_signs_differ_between_engines() {
    // Chromium's StringToInt64 takes "+5"; Firefox wants digits only.
    let v = at_localhost("n=1; Max-Age=+5");
    assert_eq!(in_seconds(&v.chromium).0, 5);
    assert_eq!(expiry(&v.firefox), Expiry::Session);
    // Firefox treats any leading "-" as expired; Chromium cannot read "-abc".
    let v = at_localhost("n=1; Max-Age=-abc");
    assert_eq!(expiry(&v.chromium), Expiry::Session);
    assert_eq!(v.firefox.outcome, Outcome::Deleted);
}

#[test]
fn expires_is_read_by_each_engine_s_own_date_parser() {
    let v = at_localhost("n=1; Expires=Tue, 01 Dec 2026 13:00:00 GMT");
    assert_eq!(in_seconds(&v.chromium).0, 3600);
    assert_eq!(in_seconds(&v.firefox).0, 3600);
    // Chromium ignores the zone name; Firefox knows PST.
    let v = at_localhost("n=1; Expires=Tue, 01 Dec 2026 13:00:00 PST");
    assert_eq!(in_seconds(&v.chromium).0, 3600);
    assert_eq!(in_seconds(&v.firefox).0, 3600 + 8 * 3600);
    for line in [
        "n=1; Expires=never",
        "n=1; Expires=",
        "n=1; Expires=Tue, 31 Feb 2027 13:00 GMT",
    ] {
        let v = at_localhost(line);
        assert_eq!(expiry(&v.chromium), Expiry::Session, "{line}");
    }
    let v = at_localhost("n=1; Expires=Fri, 01 Jan 9999 00:00:00 GMT");
    assert_eq!(in_seconds(&v.chromium), (MAX_LIFETIME_SECONDS, true));
    assert_eq!(in_seconds(&v.firefox), (MAX_LIFETIME_SECONDS, true));
}

// ---- SameSite ----

#[test]
fn samesite_values_and_their_defaults() {
    for (attr, expected) in [
        ("SameSite=Lax", SameSite::Lax),
        ("SameSite=STRICT", SameSite::Strict),
        ("SameSite=none; Secure", SameSite::None),
        ("SameSite=false", SameSite::Unspecified),
        ("SameSite=", SameSite::Unspecified),
        ("SameSite=Lax; SameSite=bogus", SameSite::Unspecified),
        ("Secure", SameSite::Unspecified),
    ] {
        let v = at_localhost(&format!("n=1; {attr}"));
        assert_eq!(stored(&v.chromium).same_site, expected, "{attr}");
        assert_eq!(stored(&v.firefox).same_site, expected, "{attr}");
    }
    let v = at_localhost("n=1");
    assert_eq!(stored(&v.chromium).effective_same_site, SameSite::Lax);
    assert_eq!(stored(&v.firefox).effective_same_site, SameSite::None);
    assert!(v.advice.contains(&advice::SAMESITE_UNSPECIFIED));
    let v = at_localhost("n=1; SameSite=false");
    assert_eq!(v.firefox.warnings, [ReasonId::FirefoxSameSiteValueInvalid]);
    assert_eq!(v.chromium.ignored[0].cause, IgnoreCause::InvalidValue);
}

#[test]
fn samesite_none_needs_secure_even_on_localhost() {
    let v = at_localhost("n=1; SameSite=None");
    rejected(&v.chromium, &[ReasonId::ChromiumSameSiteNoneInsecure]);
    rejected(&v.firefox, &[ReasonId::FirefoxNoneRequiresSecure]);
}

// ---- duplicate and unknown attributes ----

#[test]
fn the_last_duplicate_wins_and_unknown_attributes_are_ignored() {
    let v = at_localhost("n=1; Path=/a; Path=/b; Foo=bar; Version=1");
    assert_eq!(stored(&v.chromium).path, b"/b");
    assert_eq!(stored(&v.firefox).path, b"/b");
    assert_eq!(v.firefox.warnings, [ReasonId::FirefoxAttributeOverwritten]);
    let causes: Vec<_> = v.chromium.ignored.iter().map(|i| i.cause).collect();
    assert_eq!(
        causes,
        [
            IgnoreCause::Overridden,
            IgnoreCause::Unknown,
            IgnoreCause::Unknown
        ]
    );
    // An empty later Domain wins too: host-only.
    let v = on("cookie-lab.test", b"n=1; Domain=cookie-lab.test; Domain=");
    assert!(stored(&v.chromium).host_only);
    assert!(stored(&v.firefox).host_only);
}

#[test]
fn flag_attributes_ignore_their_values_and_case() {
    let v = at_localhost("n=1; SECURE=no; httponly=0");
    for verdict in [&v.chromium, &v.firefox] {
        let c = stored(verdict);
        assert!(c.secure && c.http_only);
    }
}

// ---- Secure ----

#[test]
fn secure_needs_https_or_a_loopback_host() {
    for host in ["localhost", "sub.localhost", "127.0.0.1", "[::1]"] {
        let v = on(host, b"n=1; Secure");
        assert!(stored(&v.chromium).secure, "{host}");
        assert!(stored(&v.firefox).secure, "{host}");
        assert_eq!(
            v.chromium.warnings,
            [ReasonId::ChromiumWarnSecureAccessGrantedNonCryptographic]
        );
    }
    let v = on("cookie-lab.test", b"n=1; Secure");
    rejected(&v.chromium, &[ReasonId::ChromiumSecureOnly]);
    rejected(&v.firefox, &[ReasonId::FirefoxSecureButNonHttps]);
    let v = evaluate(
        b"n=1; Secure",
        &url(Scheme::Https, "cookie-lab.test"),
        Context::SameSite,
        NOW,
    );
    assert!(stored(&v.chromium).secure);
    assert!(stored(&v.firefox).secure);
    assert!(v.chromium.warnings.is_empty());
}

#[test]
fn https_without_secure_gets_advice_not_a_rejection() {
    let v = evaluate(
        b"n=1",
        &url(Scheme::Https, "cookie-lab.test"),
        Context::SameSite,
        NOW,
    );
    stored(&v.chromium);
    assert!(v.advice.contains(&advice::SECURE_MISSING_ON_HTTPS));
}

// ---- prefixes ----

#[test]
fn secure_prefix_in_any_case_needs_secure() {
    for name in ["__Secure-", "__secure-", "__SECURE-"] {
        let v = at_localhost(&format!("{name}n=1; Secure"));
        stored(&v.chromium);
        stored(&v.firefox);
        let v = at_localhost(&format!("{name}n=1"));
        rejected(&v.chromium, &[ReasonId::ChromiumInvalidPrefix]);
        rejected(&v.firefox, &[ReasonId::FirefoxInvalidPrefix]);
    }
    let v = on("cookie-lab.test", b"__Secure-n=1; Secure");
    rejected(&v.chromium, &[ReasonId::ChromiumInvalidPrefix]);
    rejected(&v.firefox, &[ReasonId::FirefoxInvalidPrefix]);
}

#[test]
fn host_prefix_needs_path_slash_and_no_domain() {
    let v = at_localhost("__Host-n=1; Secure; Path=/");
    stored(&v.chromium);
    stored(&v.firefox);
    for line in [
        "__Host-n=1; Secure",
        "__Host-n=1; Path=/",
        "__Host-n=1; Secure; Path=/x",
    ] {
        let v = at_localhost(line);
        rejected(&v.chromium, &[ReasonId::ChromiumInvalidPrefix]);
        rejected(&v.firefox, &[ReasonId::FirefoxInvalidPrefix]);
    }
    // Firefox turns Domain=localhost into a host-only cookie and accepts it.
    let v = at_localhost("__HOST-n=1; Secure; Path=/; Domain=localhost");
    rejected(&v.chromium, &[ReasonId::ChromiumInvalidPrefix]);
    stored(&v.firefox);
    // Both accept a Domain equal to an IP host.
    let v = on("127.0.0.1", b"__Host-n=1; Secure; Path=/; Domain=127.0.0.1");
    stored(&v.chromium);
    stored(&v.firefox);
}

#[test]
fn host_prefix_path_is_the_raw_attribute_in_chromium_and_the_final_path_in_firefox() {
    let setter = SetterUrl::new(Scheme::Http, "localhost", "/x").unwrap();
    let v = evaluate(b"__Host-n=1; Secure", &setter, Context::SameSite, NOW);
    rejected(&v.chromium, &[ReasonId::ChromiumInvalidPrefix]);
    assert_eq!(stored(&v.firefox).path, b"/");
}

#[test]
fn http_prefixes_need_httponly_where_each_engine_checks_it() {
    let v = at_localhost("__Http-n=1; Secure");
    rejected(&v.chromium, &[ReasonId::ChromiumInvalidPrefix]);
    rejected(&v.firefox, &[ReasonId::FirefoxInvalidPrefix]);
    let v = at_localhost("__http-n=1; Secure; HttpOnly");
    stored(&v.chromium);
    stored(&v.firefox);
    for name in ["__Host-Http-", "__host-http-", "__HOST-HTTP-"] {
        let v = at_localhost(&format!("{name}n=1; Secure; Path=/"));
        rejected(&v.chromium, &[ReasonId::ChromiumInvalidPrefix]);
        rejected(&v.firefox, &[ReasonId::FirefoxInvalidPrefix]);
    }
    let v = at_localhost("__Host-Http-n=1; Secure; Path=/; HttpOnly");
    stored(&v.chromium);
    stored(&v.firefox);
}

#[test]
fn a_nameless_value_may_not_hide_a_prefix() {
    for line in ["=__Host-n", "__Host-n", "= \t__secure-x"] {
        let v = at_localhost(line);
        rejected(&v.chromium, &[ReasonId::ChromiumInvalidPrefix]);
    }
    rejected(
        &at_localhost("=__Host-n").firefox,
        &[ReasonId::FirefoxInvalidCharName],
    );
    // Without "=" Firefox reads a name, which then breaks the prefix rules.
    rejected(
        &at_localhost("__Host-n").firefox,
        &[ReasonId::FirefoxInvalidPrefix],
    );
}

// ---- Partitioned ----

#[test]
fn partitioned_needs_secure() {
    let v = at_localhost("n=1; Partitioned");
    rejected(&v.chromium, &[ReasonId::ChromiumInvalidPartitioned]);
    rejected(&v.firefox, &[ReasonId::FirefoxPartitionedRequiresSecure]);
    let v = at_localhost("n=1; Partitioned; Secure");
    assert!(stored(&v.chromium).partitioned);
    assert!(stored(&v.firefox).partitioned);
    let v = on("cookie-lab.test", b"n=1; Partitioned; Secure");
    rejected(&v.chromium, &[ReasonId::ChromiumInvalidPartitioned]);
    rejected(&v.firefox, &[ReasonId::FirefoxSecureButNonHttps]);
}

// ---- contexts ----

#[test]
fn a_cross_site_iframe_cookie_is_blocked_by_chromium_and_partitioned_by_firefox() {
    let v = in_context("n=1", IFRAME, &Policy::default());
    assert_eq!(v.chromium.outcome, Outcome::Blocked);
    assert_eq!(v.chromium.reasons, [ReasonId::ChromiumUserPreferences]);
    assert!(stored(&v.firefox).partitioned);
    assert_eq!(
        v.firefox.warnings,
        [ReasonId::FirefoxForeignNoPartitionedWarning]
    );
    assert!(v.measured && v.chromium.measured);
}

#[test]
fn only_partitioned_samesite_none_survives_chromium_s_blocked_third_party_context() {
    let v = in_context(
        "n=1; SameSite=None; Secure; Partitioned",
        IFRAME,
        &Policy::default(),
    );
    assert!(stored(&v.chromium).partitioned);
    assert!(stored(&v.firefox).partitioned);
    for (line, chromium_reason) in [
        (
            "n=1; Secure; Partitioned",
            ReasonId::ChromiumSameSiteUnspecifiedTreatedAsLax,
        ),
        (
            "n=1; SameSite=Lax; Secure; Partitioned",
            ReasonId::ChromiumSameSiteLax,
        ),
        (
            "n=1; SameSite=Strict; Secure; Partitioned",
            ReasonId::ChromiumSameSiteStrict,
        ),
    ] {
        let v = in_context(line, IFRAME, &Policy::default());
        rejected(&v.chromium, &[chromium_reason]);
    }
}

#[test]
fn firefox_refuses_explicit_lax_or_strict_from_a_cross_site_response() {
    for line in ["n=1; SameSite=Lax", "n=1; SameSite=Strict"] {
        let v = in_context(
            line,
            Context::CrossSiteSubresource(Subresource::Fetch),
            &Policy::default(),
        );
        rejected(&v.firefox, &[ReasonId::FirefoxForNonSameSiteness]);
    }
}

#[test]
fn with_third_party_cookies_allowed_chromium_stores_samesite_none_unpartitioned() {
    let policy = Policy {
        chromium_third_party: ChromiumThirdParty::Allow,
        firefox_third_party: FirefoxThirdParty::Accept,
        ..Policy::default()
    };
    let v = in_context("n=1; SameSite=None; Secure", IFRAME, &policy);
    assert!(!stored(&v.chromium).partitioned);
    assert!(!stored(&v.firefox).partitioned);
    let v = in_context("n=1", IFRAME, &policy);
    rejected(
        &v.chromium,
        &[ReasonId::ChromiumSameSiteUnspecifiedTreatedAsLax],
    );
    stored(&v.firefox);
}

#[test]
fn firefox_third_party_policies() {
    let reject = Policy {
        firefox_third_party: FirefoxThirdParty::Reject,
        ..Policy::default()
    };
    let v = in_context("n=1; SameSite=None; Secure; Partitioned", IFRAME, &reject);
    assert_eq!(v.firefox.outcome, Outcome::Blocked);
    assert_eq!(v.firefox.reasons, [ReasonId::FirefoxThirdParty]);
    let opt_in = Policy {
        firefox_third_party: FirefoxThirdParty::PartitionOptIn,
        ..Policy::default()
    };
    let v = in_context("n=1; SameSite=None; Secure", IFRAME, &opt_in);
    rejected(&v.firefox, &[ReasonId::FirefoxForeignNoPartitionedError]);
}

#[test]
fn firefox_keeps_a_partitioned_cookie_partitioned_whatever_its_third_party_setting() {
    let line = "n=1; SameSite=None; Secure; Partitioned";
    for behaviour in [
        FirefoxThirdParty::Partition,
        FirefoxThirdParty::Accept,
        FirefoxThirdParty::Reject,
    ] {
        let policy = Policy {
            firefox_third_party: behaviour,
            ..Policy::default()
        };
        let v = in_context(line, Context::SameSite, &policy);
        assert!(stored(&v.firefox).partitioned, "{behaviour:?}");
    }
}

#[test]
fn a_cross_site_top_level_navigation_sets_like_same_site_but_is_not_measured() {
    let line = "n=1; SameSite=Strict";
    let same = in_context(line, Context::SameSite, &Policy::default());
    let top = in_context(line, Context::CrossSiteTopLevel, &Policy::default());
    assert_eq!(same.chromium.cookie, top.chromium.cookie);
    assert_eq!(same.firefox.cookie, top.firefox.cookie);
    assert!(!top.measured && !top.chromium.measured && !top.firefox.measured);
    assert!(!Context::CrossSiteSubresource(Subresource::Image).measured());
}

// ---- API ----

#[test]
fn setter_urls_are_validated_and_normalised() {
    let u = SetterUrl::new(Scheme::Http, "LocalHost", "/a/b?q=1#f").unwrap();
    assert_eq!((u.host(), u.path()), ("localhost", "/a/b"));
    assert!(SetterUrl::new(Scheme::Http, "[::1]", "/").is_ok());
    assert_eq!(
        SetterUrl::new(Scheme::Http, "", "/"),
        Err(SetterUrlError::EmptyHost)
    );
    assert!(matches!(
        SetterUrl::new(Scheme::Http, "a b", "/"),
        Err(SetterUrlError::InvalidHost(_))
    ));
    assert!(matches!(
        SetterUrl::new(Scheme::Http, "café.test", "/"),
        Err(SetterUrlError::InvalidHost(_))
    ));
    assert!(matches!(
        SetterUrl::new(Scheme::Http, "localhost", "p"),
        Err(SetterUrlError::RelativePath(_))
    ));
    for context in Context::ALL {
        assert_eq!(Context::from_id(context.id()), Some(context));
    }
}

#[test]
fn verdicts_serialise_bytes_escaped_and_reasons_by_engine_id() {
    let v = on("localhost", b"v=a\tb\xff");
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(
        json["chromium"]["reasons"][0],
        "EXCLUDE_DISALLOWED_CHARACTER"
    );
    assert_eq!(json["firefox"]["cookie"]["value"], "a\\x09b\\xef\\xbf\\xbd");
    assert_eq!(
        json["chromium"]["reasons"][0],
        "EXCLUDE_DISALLOWED_CHARACTER"
    );
    assert_eq!(json["chromium"]["outcome"], "rejected");
    assert_eq!(json["firefox"]["cookie"]["expiry"]["kind"], "session");
    assert_eq!(json["context"], "same-site");
    let v = at_localhost("n=1; Max-Age=60");
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["chromium"]["cookie"]["expiry"]["in_seconds"], 60);
    assert_eq!(
        json["chromium"]["cookie"]["expiry"]["at"],
        "2026-12-01T12:01:00Z"
    );
}

#[test]
fn advice_is_separate_from_engine_reasons() {
    let v = at_localhost("session_id=abc");
    assert!(v.advice.contains(&advice::SESSION_WITHOUT_HTTPONLY));
    stored(&v.chromium);
    stored(&v.firefox);
    assert!(
        at_localhost("session_id=abc; HttpOnly")
            .advice
            .iter()
            .all(|a| a.id != "session-without-httponly")
    );
    // A deletion gets no advice.
    assert!(at_localhost("session_id=; Max-Age=0").advice.is_empty());
    let ids: std::collections::HashSet<_> = advice::ALL.iter().map(|a| a.id).collect();
    assert_eq!(ids.len(), advice::ALL.len());
}

// ---- the reason table ----

/// For every reason the table holds, a line that makes the model emit it.
fn example(reason: ReasonId) -> (Vec<u8>, &'static str, Context, Policy) {
    use ReasonId::*;
    let same = Context::SameSite;
    let default = Policy::default();
    let (line, host, context, policy): (&[u8], _, _, _) = match reason {
        ChromiumNoCookieContent => (b"=", "localhost", same, default),
        ChromiumDisallowedCharacter => (b"a=\x01", "localhost", same, default),
        ChromiumNameValuePairExceedsMaxSize => {
            return (
                format!("a={}", "b".repeat(4096)).into_bytes(),
                "localhost",
                same,
                default,
            );
        }
        ChromiumAmbiguousSerialization => (
            b"=a=b",
            "localhost",
            same,
            Policy {
                chromium_block_ambiguous_nameless: true,
                ..default
            },
        ),
        ChromiumInvalidDomain => (b"a=1; Domain=localhost.", "localhost", same, default),
        ChromiumDomainMismatch => (b"a=1; Domain=other.test", "cookie-lab.test", same, default),
        ChromiumInvalidPrefix => (b"__Host-a=1", "localhost", same, default),
        ChromiumInvalidPartitioned => (b"a=1; Partitioned", "localhost", same, default),
        ChromiumUserPreferences => (b"a=1", "localhost", IFRAME, default),
        ChromiumSecureOnly => (b"a=1; Secure", "cookie-lab.test", same, default),
        ChromiumSameSiteNoneInsecure => (b"a=1; SameSite=None", "localhost", same, default),
        ChromiumSameSiteStrict => (
            b"a=1; SameSite=Strict; Secure; Partitioned",
            "localhost",
            IFRAME,
            default,
        ),
        ChromiumSameSiteLax => (
            b"a=1; SameSite=Lax; Secure; Partitioned",
            "localhost",
            IFRAME,
            default,
        ),
        ChromiumSameSiteUnspecifiedTreatedAsLax => {
            (b"a=1; Secure; Partitioned", "localhost", IFRAME, default)
        }
        ChromiumWarnAttributeValueExceedsMaxSize | FirefoxAttributeIgnored => {
            return (
                format!("a=1; Path=/{}", "p".repeat(1024)).into_bytes(),
                "localhost",
                same,
                default,
            );
        }
        ChromiumWarnDomainNonAscii => ("a=1; Domain=ä.test".as_bytes(), "localhost", same, default),
        ChromiumWarnSecureAccessGrantedNonCryptographic => {
            (b"a=1; Secure", "localhost", same, default)
        }
        FirefoxInvalidCharAttributes => (b"a=1; Path=\x01", "localhost", same, default),
        FirefoxForeignNoPartitionedError => (
            b"a=1; SameSite=None; Secure",
            "localhost",
            IFRAME,
            Policy {
                firefox_third_party: super::FirefoxThirdParty::PartitionOptIn,
                ..default
            },
        ),
        FirefoxThirdParty => (
            b"a=1",
            "localhost",
            IFRAME,
            Policy {
                firefox_third_party: super::FirefoxThirdParty::Reject,
                ..default
            },
        ),
        FirefoxEmptyNameAndValue => (b"=", "localhost", same, default),
        FirefoxOversize => {
            return (
                format!("a={}", "b".repeat(4096)).into_bytes(),
                "localhost",
                same,
                default,
            );
        }
        FirefoxInvalidCharName => (b"=a", "localhost", same, default),
        FirefoxInvalidCharValue => (b"a=\x01", "localhost", same, default),
        FirefoxInvalidPath => (b"a=1; Path=/a\tb", "localhost", same, default),
        FirefoxNoneRequiresSecure => (b"a=1; SameSite=None", "localhost", same, default),
        FirefoxInvalidDomain => (b"a=1; Domain=localhost.", "localhost", same, default),
        FirefoxInvalidPrefix => (b"__Host-a=1", "localhost", same, default),
        FirefoxSecureButNonHttps => (b"a=1; Secure", "cookie-lab.test", same, default),
        FirefoxForNonSameSiteness => (b"a=1; SameSite=Lax", "localhost", IFRAME, default),
        FirefoxPartitionedRequiresSecure => (b"a=1; Partitioned", "localhost", same, default),
        FirefoxAttributeOverwritten => (b"a=1; Path=/a; Path=/b", "localhost", same, default),
        FirefoxSameSiteValueInvalid => (b"a=1; SameSite=bogus", "localhost", same, default),
        FirefoxInvalidMaxAge => (b"a=1; Max-Age=x", "localhost", same, default),
        FirefoxForeignNoPartitionedWarning => (b"a=1", "localhost", IFRAME, default),
    };
    (line.to_vec(), host, context, policy)
}

#[test]
fn every_reason_in_the_table_is_emitted_by_the_model_for_some_line() {
    for &reason in ReasonId::ALL {
        let (line, host, context, policy) = example(reason);
        let v = evaluate_with(&line, &url(Scheme::Http, host), context, NOW, &policy);
        let verdict = v.get(reason.engine());
        let emitted = if reason.is_exclusion() {
            &verdict.reasons
        } else {
            &verdict.warnings
        };
        assert!(
            emitted.contains(&reason),
            "{} not emitted: {verdict:#?}",
            reason.id()
        );
    }
}

#[test]
fn every_reason_the_model_emits_is_in_the_table_with_its_engine_and_kind() {
    // The model can only emit ReasonId values, each of which has metadata
    // by construction; check that each lands in the right engine's verdict
    // and list over a spread of lines, hosts and contexts.
    let lines: [&[u8]; 12] = [
        b"a=1",
        b"=",
        b"a=\x01; Path=/\x02",
        b"__Host-a=1; Domain=x; Partitioned",
        b"a=1; Secure; SameSite=None; Partitioned",
        b"a=1; SameSite=Lax",
        b"a=1; SameSite=bogus; Max-Age=x; Path=/a; Path=/b",
        b"a=1; Domain=\xc3\xa4.test",
        b"novalue",
        b"=a=b",
        b"a=1\nb=2",
        b"a=1; Expires=garbage",
    ];
    for line in lines {
        for host in ["localhost", "sub.localhost", "127.0.0.1", "cookie-lab.test"] {
            for context in Context::ALL {
                let v = evaluate(line, &url(Scheme::Http, host), context, NOW);
                for engine in Engine::ALL {
                    let verdict = v.get(engine);
                    for reason in &verdict.reasons {
                        assert_eq!(reason.engine(), engine);
                        assert!(reason.is_exclusion());
                        assert!(ReasonId::ALL.contains(reason));
                    }
                    for reason in &verdict.warnings {
                        assert_eq!(reason.engine(), engine);
                        assert!(!reason.is_exclusion());
                    }
                    assert_eq!(
                        verdict.rejected() || verdict.outcome == Outcome::Blocked,
                        !verdict.reasons.is_empty()
                    );
                    assert_eq!(verdict.stored, verdict.outcome == Outcome::Stored);
                    assert_eq!(
                        verdict.outcome == Outcome::ResponseFailed,
                        line.contains(&0)
                    );
                }
            }
        }
    }
}

// ---- no input panics the model ----

mod no_panics {
    use proptest::prelude::*;

    use super::*;

    /// Pieces that steer random lines into the parsers' interesting corners.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..12),
            prop::sample::select(vec![
                "=",
                ";",
                " ",
                "\t",
                "\"",
                "Path=",
                "Domain=",
                "Expires=",
                "Max-Age=",
                "SameSite=",
                "Secure",
                "HttpOnly",
                "Partitioned",
                "__Host-",
                "__Secure-",
                "__Http-",
                "__Host-Http-",
                "localhost",
                ".",
                "/",
                "-",
                "+",
                ":",
                "GMT",
                "PST",
                "Jan",
                "99",
                "2027",
                "10:18:14",
                "12/31/99",
                "0x7f",
                "%",
                "[::1]",
                "none",
                "lax",
                "strict",
            ])
            .prop_map(|s| s.as_bytes().to_vec()),
        ]
    }

    fn line() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            prop::collection::vec(piece(), 0..24).prop_map(|pieces| pieces.concat()),
        ]
    }

    fn setter() -> impl Strategy<Value = SetterUrl> {
        (
            prop::sample::select(vec![Scheme::Http, Scheme::Https]),
            prop::sample::select(vec![
                "localhost",
                "sub.localhost",
                "127.0.0.1",
                "[::1]",
                "cookie-lab.test",
                "a.b.example.co.uk",
                "github.io",
                "x..",
            ]),
            prop::sample::select(vec!["/", "/p/q/r", "/p/", "//"]),
        )
            .prop_map(|(scheme, host, path)| SetterUrl::new(scheme, host, path).unwrap())
    }

    fn policy() -> impl Strategy<Value = Policy> {
        (
            prop::sample::select(vec![ChromiumThirdParty::Block, ChromiumThirdParty::Allow]),
            prop::sample::select(vec![
                FirefoxThirdParty::Partition,
                FirefoxThirdParty::PartitionOptIn,
                FirefoxThirdParty::Reject,
                FirefoxThirdParty::Accept,
            ]),
            any::<bool>(),
        )
            .prop_map(|(chromium, firefox, ambiguous)| Policy {
                chromium_third_party: chromium,
                firefox_third_party: firefox,
                chromium_block_ambiguous_nameless: ambiguous,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_bytes_give_consistent_verdicts(
            line in line(),
            setter in setter(),
            context in prop::sample::select(Context::ALL.to_vec()),
            policy in policy(),
            seconds in -10_000_000_000i64..10_000_000_000,
        ) {
            let now = OffsetDateTime::from_unix_timestamp(seconds).unwrap();
            let v = evaluate_with(&line, &setter, context, now, &policy);
            for engine in Engine::ALL {
                let verdict = v.get(engine);
                prop_assert_eq!(verdict.stored, verdict.outcome == Outcome::Stored);
                prop_assert_eq!(
                    verdict.reasons.is_empty(),
                    matches!(verdict.outcome, Outcome::Stored | Outcome::Deleted | Outcome::ResponseFailed)

                );
                prop_assert_eq!(verdict.cookie.is_some(), matches!(verdict.outcome, Outcome::Stored | Outcome::Deleted));
                if let Some(cookie) = &verdict.cookie {
                    prop_assert!(cookie.name.len() + cookie.value.len() <= MAX_NAME_VALUE_BYTES);
                    prop_assert!(cookie.path.first() == Some(&b'/'));
                    prop_assert!(!cookie.domain.starts_with('.'));
                    if let Expiry::At { in_seconds, .. } = cookie.expiry {
                        prop_assert!(in_seconds > 0 && in_seconds <= MAX_LIFETIME_SECONDS);
                    }
                    prop_assert_eq!(cookie.expiry == Expiry::Expired, verdict.outcome == Outcome::Deleted);
                }
            }
            // The escape round-trips whatever came in.
            prop_assert_eq!(bytes::unescape(&bytes::escape(&line)).unwrap(), line);
        }
    }
}
