use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::{Duration, OffsetDateTime};

use super::encoding::encode_value;

/// Flask's `set_cookie` parameters, typed.
///
/// `value` is the text the user means; it is percent-encoded on the way out
/// (see [`encode_value`]). Nothing here is checked: [`super::rules`] says
/// what a browser would do with the cookie, and [`super::prepare`] refuses to
/// send one a browser would drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieSpec {
    pub name: String,
    pub value: String,
    /// True when `value` is already in wire form (read from a `Set-Cookie`
    /// line): it is then sent and measured as is, not percent-encoded.
    pub wire_value: bool,
    pub max_age: Option<Duration>,
    pub expires: Option<OffsetDateTime>,
    /// `None` sends no Path attribute (the browser then uses the request's
    /// directory). [`CookieSpec::new`] defaults to `/`, as Werkzeug ≥ 2.3.3.
    pub path: Option<String>,
    pub domain: Option<String>,
    pub secure: bool,
    pub http_only: bool,
    pub same_site: Option<SameSite>,
    pub partitioned: bool,
}

/// The `SameSite` attribute. Read case-insensitively, written canonically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub enum SameSite {
    Strict,
    Lax,
    None,
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("SameSite must be Strict, Lax or None, got {0:?}")]
pub struct SameSiteParseError(pub String);

impl FromStr for SameSite {
    type Err = SameSiteParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "strict" => Ok(Self::Strict),
            "lax" => Ok(Self::Lax),
            "none" => Ok(Self::None),
            _ => Err(SameSiteParseError(s.to_owned())),
        }
    }
}

impl<'de> Deserialize<'de> for SameSite {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl SameSite {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "Strict",
            Self::Lax => "Lax",
            Self::None => "None",
        }
    }
}

impl fmt::Display for SameSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<SameSite> for cookie::SameSite {
    fn from(value: SameSite) -> Self {
        match value {
            SameSite::Strict => Self::Strict,
            SameSite::Lax => Self::Lax,
            SameSite::None => Self::None,
        }
    }
}

impl CookieSpec {
    /// A session cookie (no lifetime) with `Path=/` and nothing else.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            wire_value: false,
            max_age: None,
            expires: None,
            path: Some("/".to_owned()),
            domain: None,
            secure: false,
            http_only: false,
            same_site: None,
            partitioned: false,
        }
    }

    /// A cookie whose value goes on the wire untouched when it already is a
    /// legal cookie value, and percent-encoded otherwise: how httpbin (through
    /// Werkzeug) sends `"bar:baz"`.
    pub fn httpbin(name: impl Into<String>, value: impl Into<String>) -> Self {
        let value = value.into();
        Self {
            wire_value: super::encoding::is_plain_cookie_value(&value),
            ..Self::new(name, value)
        }
    }

    /// The cookie that deletes `name` at `path`/`domain`: a browser only
    /// replaces a cookie with the same name, path and domain, so those must
    /// match the original. Max-Age=0 for current browsers, an Expires at the
    /// epoch for old ones (and for httpbin parity). It carries the Secure and
    /// HttpOnly its name's prefix demands: browsers ignore a removal that
    /// breaks the prefix's rules, and the cookie would survive.
    pub fn removal(name: impl Into<String>, path: Option<String>, domain: Option<String>) -> Self {
        let name = name.into();
        let prefix = NamePrefix::of(&name);
        Self {
            max_age: Some(Duration::ZERO),
            expires: Some(OffsetDateTime::UNIX_EPOCH),
            path,
            domain,
            secure: prefix.is_some(),
            http_only: prefix.is_some_and(NamePrefix::requires_http_only),
            ..Self::new(name, "")
        }
    }

    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }

    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = Some(same_site);
        self
    }

    /// True for a cookie that deletes rather than sets: Max-Age ≤ 0, or
    /// (when there is no Max-Age, which would take precedence) an Expires
    /// that has passed.
    pub fn is_removal_at(&self, now: OffsetDateTime) -> bool {
        match self.max_age {
            Some(age) => age <= Duration::ZERO,
            None => self.expires.is_some_and(|at| at <= now),
        }
    }

    /// The value as it goes on the wire.
    pub fn encoded_value(&self) -> std::borrow::Cow<'_, str> {
        if self.wire_value {
            std::borrow::Cow::Borrowed(&self.value)
        } else {
            encode_value(&self.value)
        }
    }

    /// The `Expires` the header will carry: an explicit one wins, otherwise
    /// `now + max_age` (Flask writes both so that old browsers, which ignore
    /// Max-Age, expire the cookie too).
    pub fn effective_expires(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.expires
            .or_else(|| self.max_age.and_then(|age| now.checked_add(age)))
    }

    /// The `Set-Cookie` header value, unchecked. Use [`super::prepare`] to
    /// get one that is allowed to leave the server.
    ///
    /// Written here in the cookie crate's order and spelling, which a
    /// proptest holds every line to (`the_line_is_the_cookie_crates`): the
    /// crate's `Display` goes through `core::fmt` for each attribute, 2.6k
    /// instructions of a login, where pushing the strings costs a few
    /// hundred. Two things differ on purpose, as they always did: Secure is
    /// only written when asked for (the crate adds it to SameSite=None and
    /// Partitioned cookies, which would hide a cookie the rules refuse), so
    /// Partitioned without Secure is written last, after Expires.
    pub fn to_header_value(&self, now: OffsetDateTime) -> String {
        let value = self.encoded_value();
        let path = self.path.as_deref();
        // The crate writes a Domain without one leading dot.
        let domain = self
            .domain
            .as_deref()
            .map(|d| d.strip_prefix('.').unwrap_or(d));
        let mut line = String::with_capacity(
            self.name.len()
                + value.len()
                + path.map_or(0, str::len)
                + domain.map_or(0, str::len)
                + LONGEST_ATTRIBUTES,
        );
        line.push_str(&self.name);
        line.push('=');
        line.push_str(&value);
        if self.http_only {
            line.push_str("; HttpOnly");
        }
        if let Some(same_site) = self.same_site {
            line.push_str("; SameSite=");
            line.push_str(same_site.as_str());
        }
        if self.partitioned && self.secure {
            line.push_str("; Partitioned");
        }
        if self.secure {
            line.push_str("; Secure");
        }
        if let Some(path) = path {
            line.push_str("; Path=");
            line.push_str(path);
        }
        if let Some(domain) = domain {
            line.push_str("; Domain=");
            line.push_str(domain);
        }
        if let Some(max_age) = self.max_age {
            line.push_str("; Max-Age=");
            line.push_str(itoa::Buffer::new().format(max_age.whole_seconds()));
        }
        if let Some(expires) = self.effective_expires(now) {
            line.push_str("; Expires=");
            push_date(&mut line, expires);
        }
        if self.partitioned && !self.secure {
            line.push_str("; Partitioned");
        }
        line
    }
}

/// Room for every attribute but the name, value, path and domain:
/// `; HttpOnly; SameSite=Strict; Partitioned; Secure; Path=; Domain=;
/// Max-Age=` and a 20-digit number, `; Expires=` and a date.
const LONGEST_ATTRIBUTES: usize = 140;

/// `Expires` as the cookie crate writes it, `Sun, 06 Dec 2026 14:34:50 GMT`
/// (its `FMT1`: day, hour, minute and second in two digits, the year as it
/// is), in UTC, the fraction of a second dropped.
fn push_date(line: &mut String, at: OffsetDateTime) {
    const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let two_digits = |line: &mut String, n: u8| {
        line.push(char::from(b'0' + n / 10 % 10));
        line.push(char::from(b'0' + n % 10));
    };
    let at = at.to_offset(time::UtcOffset::UTC);
    line.push_str(WEEKDAYS[usize::from(at.weekday().number_days_from_monday())]);
    line.push_str(", ");
    two_digits(line, at.day());
    line.push(' ');
    line.push_str(MONTHS[usize::from(u8::from(at.month()) - 1)]);
    line.push(' ');
    line.push_str(itoa::Buffer::new().format(at.year()));
    line.push(' ');
    two_digits(line, at.hour());
    line.push(':');
    two_digits(line, at.minute());
    line.push(':');
    two_digits(line, at.second());
    line.push_str(" GMT");
}

/// A name prefix that makes browsers enforce attributes (RFC 6265bis
/// §4.1.3, plus Chromium's `__Http-` and `__Host-Http-`). Every one of them
/// requires Secure. Browsers match them case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamePrefix {
    Secure,
    Host,
    Http,
    HostHttp,
}

impl NamePrefix {
    pub fn of(name: &str) -> Option<Self> {
        let starts = |prefix: &str| {
            name.get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        };
        if starts("__Host-Http-") {
            Some(Self::HostHttp)
        } else if starts("__Host-") {
            Some(Self::Host)
        } else if starts("__Http-") {
            Some(Self::Http)
        } else if starts("__Secure-") {
            Some(Self::Secure)
        } else {
            None
        }
    }

    pub fn requires_http_only(self) -> bool {
        matches!(self, Self::Http | Self::HostHttp)
    }

    /// Path=/ and no Domain: the cookie belongs to exactly one host.
    pub fn requires_host_only_root(self) -> bool {
        matches!(self, Self::Host | Self::HostHttp)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::{Just, prop_oneof};
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-26 12:00:00 UTC);

    /// The line as the cookie crate writes it: what `to_header_value` did
    /// before it wrote the line itself, kept as the reference.
    fn by_the_cookie_crate(spec: &CookieSpec, now: OffsetDateTime) -> String {
        let value = spec.encoded_value();
        let mut cookie = cookie::Cookie::new(spec.name.as_str(), value.as_ref());
        if let Some(path) = &spec.path {
            cookie.set_path(path.as_str());
        }
        if let Some(domain) = &spec.domain {
            cookie.set_domain(domain.as_str());
        }
        if let Some(max_age) = spec.max_age {
            cookie.set_max_age(max_age);
        }
        if let Some(expires) = spec.effective_expires(now) {
            cookie.set_expires(expires);
        }
        cookie.set_secure(spec.secure);
        cookie.set_http_only(spec.http_only.then_some(true));
        cookie.set_same_site(spec.same_site.map(cookie::SameSite::from));
        let partitioned_by_hand = spec.partitioned && !spec.secure;
        cookie.set_partitioned((spec.partitioned && !partitioned_by_hand).then_some(true));
        let mut line = cookie.to_string();
        if partitioned_by_hand {
            line.push_str("; Partitioned");
        }
        line
    }

    /// Any instant `OffsetDateTime` holds, any fraction, any offset.
    fn instant() -> impl proptest::strategy::Strategy<Value = OffsetDateTime> {
        use proptest::prelude::*;
        let first = OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT);
        let last = OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT);
        (
            prop_oneof![
                first.unix_timestamp()..last.unix_timestamp(),
                -100_000_000_000i64..253_402_300_800,
                Just(0i64),
                Just(-1i64),
                Just(253_402_300_799i64),
            ],
            0u32..1_000_000_000,
            -12i8..=12,
        )
            .prop_map(|(seconds, nanos, offset_hours)| {
                let utc = OffsetDateTime::from_unix_timestamp(seconds)
                    .and_then(|at| at.replace_nanosecond(nanos))
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                let offset =
                    time::UtcOffset::from_hms(offset_hours, 0, 0).unwrap_or(time::UtcOffset::UTC);
                // An offset that would leave the range keeps UTC.
                utc.checked_to_offset(offset).unwrap_or(utc)
            })
    }

    proptest::proptest! {
        /// Every line is the one the cookie crate writes: any name and
        /// value (encoded or on the wire), any path and domain (a leading
        /// dot, none, odd bytes), any Max-Age (negative, zero, huge), any
        /// Expires the type can hold, every flag, every SameSite.
        #[test]
        fn the_line_is_the_cookie_crates(
            name in "[ -~]{0,12}",
            value in "\\PC{0,16}",
            wire_value: bool,
            path in proptest::option::of("[ -~]{0,12}"),
            domain in proptest::option::of("\\.?[a-z.]{0,12}"),
            max_age in proptest::option::of(prop_oneof![
                Just(i64::MIN), Just(i64::MAX), -1_000_000i64..1_000_000_000,
            ]),
            expires in proptest::option::of(instant()),
            now in instant(),
            secure: bool,
            http_only: bool,
            same_site in proptest::option::of(prop_oneof![
                Just(SameSite::Strict), Just(SameSite::Lax), Just(SameSite::None),
            ]),
            partitioned: bool,
        ) {
            let spec = CookieSpec {
                name,
                value,
                wire_value,
                max_age: max_age.map(Duration::seconds),
                expires,
                path,
                domain,
                secure,
                http_only,
                same_site,
                partitioned,
            };
            proptest::prop_assert_eq!(spec.to_header_value(now), by_the_cookie_crate(&spec, now));
        }
    }

    #[test]
    fn a_plain_cookie_gets_path_slash_and_nothing_else() {
        assert_eq!(
            CookieSpec::new("userID", "alice").to_header_value(NOW),
            "userID=alice; Path=/"
        );
    }

    #[test]
    fn max_age_also_writes_the_matching_expires() {
        let header = CookieSpec::new("code", "underscored")
            .path("/cookies")
            .max_age(Duration::seconds(30))
            .to_header_value(NOW);
        assert_eq!(
            header,
            "code=underscored; Path=/cookies; Max-Age=30; Expires=Thu, 26 Nov 2026 12:00:30 GMT"
        );
    }

    #[test]
    fn an_explicit_expires_wins_over_max_age() {
        let mut spec = CookieSpec::new("a", "b").max_age(Duration::seconds(30));
        spec.expires = Some(datetime!(2027-01-01 00:00:00 UTC));
        assert!(
            spec.to_header_value(NOW)
                .ends_with("Max-Age=30; Expires=Fri, 01 Jan 2027 00:00:00 GMT")
        );
    }

    #[test]
    fn removals_keep_what_their_name_prefix_requires() {
        let host_http = CookieSpec::removal("__host-Http-id", Some("/".to_owned()), None);
        assert!(host_http.secure && host_http.http_only);
        assert_eq!(
            CookieSpec::removal("__Secure-x", Some("/a".to_owned()), None).to_header_value(NOW),
            "__Secure-x=; Secure; Path=/a; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        );
        let plain = CookieSpec::removal("theme", None, None);
        assert!(!plain.secure && !plain.http_only);
        assert_eq!(NamePrefix::of("__Secur-x"), None);
        assert_eq!(NamePrefix::of("__HOST-x"), Some(NamePrefix::Host));
    }

    #[test]
    fn every_attribute_is_written() {
        let spec = CookieSpec {
            domain: Some("example.com".to_owned()),
            secure: true,
            http_only: true,
            same_site: Some(SameSite::None),
            partitioned: true,
            ..CookieSpec::new("id", "a b")
        };
        assert_eq!(
            spec.to_header_value(NOW),
            "id=a%20b; HttpOnly; SameSite=None; Partitioned; Secure; Path=/; Domain=example.com"
        );
    }

    #[test]
    fn same_site_none_without_secure_is_written_as_asked() {
        let spec = CookieSpec::new("id", "1").same_site(SameSite::None);
        assert_eq!(spec.to_header_value(NOW), "id=1; SameSite=None; Path=/");
    }

    #[test]
    fn removal_matches_path_and_expires_in_the_past() {
        let spec = CookieSpec::removal("code", Some("/cookies".to_owned()), None);
        assert!(spec.is_removal_at(NOW));
        assert_eq!(
            spec.to_header_value(NOW),
            "code=; Path=/cookies; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }

    #[test]
    fn a_past_expires_is_a_removal_unless_max_age_says_otherwise() {
        let mut spec = CookieSpec::new("a", "1");
        assert!(!spec.is_removal_at(NOW));
        spec.expires = Some(datetime!(2000-01-01 0:00 UTC));
        assert!(spec.is_removal_at(NOW));
        spec.max_age = Some(Duration::seconds(60));
        assert!(!spec.is_removal_at(NOW), "Max-Age wins over Expires");
    }

    #[test]
    fn a_wire_value_is_sent_as_is() {
        let spec = CookieSpec {
            wire_value: true,
            ..CookieSpec::new("a", "caf%C3%A9")
        };
        assert_eq!(spec.to_header_value(NOW), "a=caf%C3%A9; Path=/");
    }

    #[test]
    fn same_site_parses_case_insensitively() {
        assert_eq!("lax".parse(), Ok(SameSite::Lax));
        assert_eq!("STRICT".parse(), Ok(SameSite::Strict));
        assert_eq!("None".parse(), Ok(SameSite::None));
        assert!("sometimes".parse::<SameSite>().is_err());
    }
}
