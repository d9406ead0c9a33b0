//! The one place that builds, checks and reads cookies.
//!
//! * [`CookieSpec`] is Flask's `set_cookie` with types: every attribute.
//! * [`rules`] says what a browser would do with a cookie (reject, change,
//!   or accept it) before we send it.
//! * [`SetCookies`] is the only way a `Set-Cookie` header leaves a handler,
//!   and it can only be made from a cookie that passed [`prepare`].
//! * [`RequestCookies`] reads the `Cookie` header without hiding anything:
//!   duplicates and undecodable values are kept, in order.
//! * [`login`] seals and opens the login cookie.

pub mod clear;
mod context;
mod encoding;
mod incoming;
pub mod inspect;
pub mod login;
mod outgoing;
pub(crate) mod parse;
pub mod reserved;
pub mod rules;
mod spec;

pub use context::{CookieContext, FromOtherSite, ServedOverHttps};
pub use encoding::{decode_value, encode_value, is_plain_cookie_value};
pub use incoming::{HIDDEN_VALUE, ReceivedCookie, RequestCookies};
pub use outgoing::{
    MAX_COOKIES_PER_RESPONSE, MAX_SET_COOKIE_BYTES, PreparedCookie, Refused, SetCookies, Withheld,
    prepare,
};
pub use parse::{SetCookieParseError, parse_set_cookie};
pub use rules::{Finding, Rule, Severity, check_request};
pub use spec::{CookieSpec, NamePrefix, SameSite, SameSiteParseError};
