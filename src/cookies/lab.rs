//! The cross-site lab's own cookies: the only way to send a `lab-` name.
//!
//! The lab exists to show what browsers do with cookies across sites, so it
//! sends cookies that an engine will refuse *in the context at hand* (a
//! `SameSite=Strict` cookie from an iframe on another site's page): that
//! refusal is the lesson, and the lab reports it beside the engine model's
//! prediction. What it never sends is a cookie no engine would store
//! anywhere: each cookie is judged as set by the lab's page at top level,
//! and one an engine rejects there is refused like any other.

use time::OffsetDateTime;

use super::context::CookieContext;
use super::outgoing::{Refused, SetCookies, Withheld, prepare_own};
use super::reserved::{OwnCookie, Reserved, is_lab_name};
use super::spec::CookieSpec;
use crate::engine::Context;

/// Builds the `Set-Cookie` headers of a lab response: every spec that is a
/// lab cookie an engine would store at top level, in order, past the
/// per-response cap (the lab's clearing sends three dozen removals), and
/// the refusals of the others.
pub fn lab_cookies(
    specs: &[CookieSpec],
    ctx: &CookieContext,
    now: OffsetDateTime,
) -> (SetCookies, Vec<Refused>) {
    let own = OwnCookie::grant();
    // Judged as set by the page being answered at top level, whatever the
    // context this response really has (see the module comment).
    let top_level = ctx
        .clone()
        .for_request(ctx.path(), Context::SameSite)
        .from_other_site_request(None);
    let mut cookies = SetCookies::new();
    let mut refused = Vec::new();
    for spec in specs {
        if !is_lab_name(&spec.name) {
            // Only lab names: the lab's routes answer other sites, and must
            // never be a way to plant or remove any other cookie.
            refused.push(Refused::Withheld {
                spec_name: spec.name.clone(),
                policy: Withheld::ReservedName(Reserved::Lab),
            });
            continue;
        }
        match prepare_own(spec, &top_level, now, own) {
            Ok(cookie) => cookies.push_own(cookie, own),
            Err(why) => refused.push(why),
        }
    }
    (cookies, refused)
}

#[cfg(test)]
mod tests {
    use axum::http::header::SET_COOKIE;
    use axum::response::IntoResponse;
    use time::macros::datetime;

    use super::*;
    use crate::cookies::SameSite;
    use crate::engine::Subresource;

    const NOW: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

    fn in_a_cross_site_iframe() -> CookieContext {
        CookieContext::new("localhost:5000", false).for_request(
            "/lab/peer/frame",
            Context::CrossSiteSubresource(Subresource::Iframe),
        )
    }

    fn headers(cookies: SetCookies) -> Vec<String> {
        let response = (cookies, ()).into_response();
        response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn a_strict_lab_cookie_goes_out_even_from_a_cross_site_iframe() {
        let spec = CookieSpec::new("lab-frame-strict", "r1").same_site(SameSite::Strict);
        let (cookies, refused) = lab_cookies(&[spec], &in_a_cross_site_iframe(), NOW);
        assert!(refused.is_empty(), "{refused:?}");
        assert_eq!(
            headers(cookies),
            ["lab-frame-strict=r1; SameSite=Strict; Path=/"]
        );
    }

    #[test]
    fn only_lab_names_and_only_cookies_an_engine_stores_somewhere() {
        let specs = [
            CookieSpec::new("userID", "x"),
            CookieSpec::new("lab_session", "x"),
            CookieSpec::new("lab-none", "x").same_site(SameSite::None),
            CookieSpec::new("__Host-lab-ok", "x").secure(true),
        ];
        let (cookies, refused) = lab_cookies(&specs, &in_a_cross_site_iframe(), NOW);
        let names: Vec<&str> = refused.iter().map(Refused::spec_name).collect();
        assert_eq!(names, ["userID", "lab_session", "lab-none"], "{refused:?}");
        assert_eq!(headers(cookies), ["__Host-lab-ok=x; Secure; Path=/"]);
    }

    #[test]
    fn the_per_response_cap_does_not_bind_the_lab() {
        let specs: Vec<CookieSpec> = (0..40)
            .map(|i| CookieSpec::removal(format!("lab-{i}"), Some("/".to_owned()), None))
            .collect();
        let (cookies, refused) = lab_cookies(&specs, &in_a_cross_site_iframe(), NOW);
        assert!(refused.is_empty());
        assert_eq!(cookies.len(), 40);
    }
}
