//! The way out of a cookie bomb: removals for every cookie a request
//! carried, which the 431 page's button asks for.

use time::OffsetDateTime;

use super::context::CookieContext;
use super::incoming::RequestCookies;
use super::outgoing::{SetCookies, prepare_own};
use super::reserved::OwnCookie;
use super::spec::CookieSpec;

/// At most this many removals in one answer: a browser keeps at most 180
/// cookies per site, and `Clear-Site-Data` takes care of any beyond.
pub const MAX_REMOVALS: usize = 180;

/// A removal at `Path=/` for each distinct name the request carried, the
/// login cookie's included (whoever clears their cookies logs out in the
/// browser too). Names a browser could never store are skipped: there is
/// nothing to remove. Cookies at other paths or with a Domain need the
/// `Clear-Site-Data` header sent beside these.
pub fn removals_for(
    received: &RequestCookies,
    ctx: &CookieContext,
    now: OffsetDateTime,
) -> SetCookies {
    let own = OwnCookie::grant();
    let mut names: Vec<&str> = Vec::new();
    for cookie in received.iter() {
        if names.len() == MAX_REMOVALS {
            break;
        }
        if !names.contains(&cookie.name) {
            names.push(cookie.name);
        }
    }
    let mut removals = SetCookies::new();
    for name in names {
        let spec = CookieSpec::removal(name, Some("/".to_owned()), None);
        if let Ok(removal) = prepare_own(&spec, ctx, now, own) {
            removals.push_own(removal, own);
        }
    }
    removals
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;
    use time::macros::datetime;

    use super::*;
    use crate::test_support::request_cookies;

    #[test]
    fn each_distinct_name_gets_one_removal_at_the_root() {
        let received = request_cookies("a=1; lab_session=x; a=2; __Secure-b=3; bad name=4");
        let ctx = CookieContext::new("127.0.0.1:5000", false);
        let now = datetime!(2026-11-29 12:00 UTC);

        let response = (removals_for(&received, &ctx, now), ()).into_response();

        let sent: Vec<_> = response
            .headers()
            .get_all(axum::http::header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            sent,
            [
                "a=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
                "lab_session=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
                "__Secure-b=; Secure; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            ]
        );
    }

    #[test]
    fn a_bomb_of_distinct_names_gets_at_most_the_browser_limit() {
        let header: Vec<String> = (0..1000).map(|i| format!("c{i}=1")).collect();
        let received = request_cookies(&header.join("; "));
        let ctx = CookieContext::new("localhost", false);

        let removals = removals_for(&received, &ctx, datetime!(2026-11-29 12:00 UTC));

        assert_eq!(removals.len(), MAX_REMOVALS);
    }
}
