//! Advice that is not an engine fact: both engines store these cookies, but
//! they are risky or read differently by servers. Kept apart from the
//! engines' reasons so it never claims "the browser drops this".

use serde::Serialize;

use super::grammar::{is_cookie_value, is_token};
use super::{Expiry, SameSite, Scheme, SetterUrl, StoredCookie, Verdict};

/// One piece of advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Advice {
    pub id: &'static str,
    pub explanation: &'static str,
    pub fix: &'static str,
}

pub const SESSION_WITHOUT_HTTPONLY: Advice = Advice {
    id: "session-without-httponly",
    explanation: "This looks like a session cookie but any script on the page can read it, so one XSS bug leaks the session.",
    fix: "Add HttpOnly unless JavaScript really needs to read this cookie.",
};

pub const NAME_NOT_TOKEN: Advice = Advice {
    id: "name-not-token",
    explanation: "Browsers store this name, but it is not an RFC 6265 token (letters, digits and !#$%&'*+-.^_`|~), and many server frameworks cannot read such a cookie back.",
    fix: "Use only letters, digits, `-` and `_` in cookie names.",
};

pub const VALUE_NOT_COOKIE_OCTETS: Advice = Advice {
    id: "value-not-cookie-octets",
    explanation: "Browsers store this value, but it holds characters outside RFC 6265's cookie-octets (space, `\"`, `,`, `\\`, a tab or non-ASCII), which servers split or decode differently.",
    fix: "Percent-encode or base64url the value.",
};

pub const SAMESITE_UNSPECIFIED: Advice = Advice {
    id: "samesite-unspecified",
    explanation: "Without SameSite the engines disagree: Chromium treats the cookie as Lax, Firefox as None, so cross-site requests carry it in Firefox only.",
    fix: "Say what you mean: SameSite=Lax for most cookies, `SameSite=None; Secure` for cookies meant for cross-site use.",
};

pub const SECURE_MISSING_ON_HTTPS: Advice = Advice {
    id: "secure-missing-on-https",
    explanation: "The site is served over HTTPS, but without Secure the cookie is also sent over plain http, where anyone on the network can read it.",
    fix: "Add Secure.",
};

/// Every piece of advice the model can give.
pub const ALL: [Advice; 5] = [
    SESSION_WITHOUT_HTTPONLY,
    NAME_NOT_TOKEN,
    VALUE_NOT_COOKIE_OCTETS,
    SAMESITE_UNSPECIFIED,
    SECURE_MISSING_ON_HTTPS,
];

fn looks_like_a_session(name: &[u8]) -> bool {
    let name = name.to_ascii_lowercase();
    [
        &b"session"[..],
        b"sess",
        b"sid",
        b"token",
        b"auth",
        b"jwt",
        b"login",
    ]
    .iter()
    .any(|word| name.windows(word.len()).any(|w| w == *word))
}

pub(super) fn advise(setter: &SetterUrl, chromium: &Verdict, firefox: &Verdict) -> Vec<Advice> {
    // Judge the cookie as either engine built it; deletions need no advice.
    let Some(cookie) = [chromium, firefox]
        .into_iter()
        .filter_map(|v| v.cookie.as_ref())
        .find(|c| c.expiry != Expiry::Expired)
    else {
        return Vec::new();
    };
    advise_cookie(setter, cookie)
}

fn advise_cookie(setter: &SetterUrl, cookie: &StoredCookie) -> Vec<Advice> {
    let mut out = Vec::new();
    if !cookie.http_only && looks_like_a_session(&cookie.name) {
        out.push(SESSION_WITHOUT_HTTPONLY);
    }
    if !cookie.name.is_empty() && !is_token(&cookie.name) {
        out.push(NAME_NOT_TOKEN);
    }
    if !is_cookie_value(&cookie.value) {
        out.push(VALUE_NOT_COOKIE_OCTETS);
    }
    if cookie.same_site == SameSite::Unspecified {
        out.push(SAMESITE_UNSPECIFIED);
    }
    if setter.scheme() == Scheme::Https && !cookie.secure {
        out.push(SECURE_MISSING_ON_HTTPS);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_like_names() {
        assert!(looks_like_a_session(b"SESSION_ID"));
        assert!(looks_like_a_session(b"auth"));
        assert!(!looks_like_a_session(b"theme"));
    }
}
