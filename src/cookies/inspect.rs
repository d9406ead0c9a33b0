//! What each received cookie is, read raw: a typed jar would hide a tampered
//! login cookie as if it were absent, and the inspector must say "tampered".

use std::collections::HashMap;

use time::OffsetDateTime;

use super::incoming::{ReceivedCookie, RequestCookies};
use super::login::{self, LoginCookie};
use crate::keys::KeyRing;

/// One received cookie and what it is.
#[derive(Debug, Clone)]
pub struct InspectedCookie<'a> {
    pub cookie: ReceivedCookie<'a>,
    pub kind: CookieKind,
    /// Another cookie of the same name came earlier in the header: servers
    /// (this one included) read the first.
    pub shadowed: bool,
    /// A valid login cookie not checked against logouts: one request checks
    /// only a few (see `session::check_inspected`).
    pub unchecked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieKind {
    /// An ordinary cookie. `decodable` is false when its percent-escapes
    /// don't decode to UTF-8 (the raw value is shown).
    Plain { decodable: bool },
    /// Our login cookie, opened with the key ring.
    Login(LoginCookie),
}

/// Classifies every cookie of the request, in order.
pub fn inspect<'a>(
    cookies: &'a RequestCookies,
    ring: &KeyRing,
    now: OffsetDateTime,
) -> Vec<InspectedCookie<'a>> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    cookies
        .iter()
        .map(|cookie| {
            let count = seen.entry(cookie.name).or_insert(0);
            *count += 1;
            let kind = if cookie.is_login_cookie() {
                CookieKind::Login(login::open(ring, cookie.name, cookie.raw_value, now))
            } else {
                CookieKind::Plain {
                    decodable: cookie.decoded_value().is_some(),
                }
            };
            InspectedCookie {
                cookie,
                kind,
                shadowed: *count > 1,
                unchecked: false,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;
    use crate::cookies::login::LoginClaims;
    use crate::domain::Email;
    use crate::test_support::request_cookies as request;

    #[test]
    fn each_cookie_is_classified_raw_and_in_order() {
        let ring = KeyRing::generate().unwrap();
        let now = OffsetDateTime::now_utc();
        let claims =
            LoginClaims::issue(&Email::parse("a@b.c").unwrap(), Duration::days(1), now, 1).unwrap();
        let valid = login::seal(&ring, login::COOKIE_NAME, &claims).unwrap();
        let cookies = request(&format!(
            "a=1; lab_session={valid}; bad=%AF; a=2; lab_session=garbage"
        ));

        let found = inspect(&cookies, &ring, now);

        let kinds: Vec<_> = found
            .iter()
            .map(|c| (c.cookie.name, c.kind.clone(), c.shadowed))
            .collect();
        assert_eq!(
            kinds[0],
            ("a", CookieKind::Plain { decodable: true }, false)
        );
        assert!(matches!(
            kinds[1],
            (
                "lab_session",
                CookieKind::Login(LoginCookie::Valid { .. }),
                false
            )
        ));
        assert_eq!(
            kinds[2],
            ("bad", CookieKind::Plain { decodable: false }, false)
        );
        assert_eq!(kinds[3], ("a", CookieKind::Plain { decodable: true }, true));
        assert_eq!(
            kinds[4],
            (
                "lab_session",
                CookieKind::Login(LoginCookie::Tampered),
                true
            )
        );
    }
}
