//! The one place that builds, checks and reads cookies.
//!
//! * [`CookieSpec`] is Flask's `set_cookie` with types: every attribute.
//! * `gate` asks the engine model ([`crate::engine`]) what Chromium and
//!   Firefox would do with a cookie before we send it; [`budget`] weighs a
//!   whole Cookie header.
//! * [`SetCookies`] is the only way a `Set-Cookie` header leaves a handler,
//!   and it can only be made from a cookie that passed [`prepare`].
//! * [`RequestCookies`] reads the `Cookie` header without hiding anything:
//!   duplicates and undecodable values are kept, in order.
//! * [`login`] seals and opens the login cookie.

pub mod budget;
pub mod clear;
mod context;
mod encoding;
mod finding;
mod gate;
mod incoming;
pub mod inspect;
mod lab;
pub mod login;
mod outgoing;
pub mod reserved;
mod spec;

pub use budget::check_request;
pub use context::{CookieContext, FromOtherSite, ServedOverHttps};
pub use encoding::{decode_value, encode_value, is_plain_cookie_value};
pub use finding::{Finding, Severity};
pub use incoming::{HIDDEN_VALUE, ReceivedCookie, RequestCookies};
pub use lab::lab_cookies;
pub use outgoing::{
    CookiesRefused, MAX_COOKIES_PER_RESPONSE, MAX_SET_COOKIE_BYTES, PreparedCookie, Refused,
    SetCookies, Withheld, policy, prepare,
};
pub use spec::{CookieSpec, NamePrefix, SameSite, SameSiteParseError};
