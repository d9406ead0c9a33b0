//! What a jar holds after a line, in the shared format's COOKIE shape, and
//! which of its fields each engine's reader can see.
//!
//! The OBSERVABLE keys, per engine and per recorded line:
//! - `host_only`: a host-only cookie can be told from a domain cookie (both
//!   readers write a domain cookie's domain with a leading dot).
//! - `same_site_unspecified`: a cookie with no (valid) SameSite can be told
//!   from `SameSite=None` (CDP leaves `sameSite` out; Firefox's BiDi says
//!   `"default"`).
//! - `partitioned`: a cookie kept in a partitioned jar can be told from an
//!   unpartitioned one. CDP gives Chromium's `partitionKey`. Firefox's BiDi
//!   cookie has no such field: it is told only across sites, where a
//!   cookie missing from its own site's storage (`storage.getCookies` with
//!   that `sourceOrigin`) lives in the top-level site's partition.
//! - `name_bytes` / `value_bytes` / `path_bytes`: the exact bytes of the
//!   name / value / path are known. CDP carries UTF-8 strings only and drops
//!   bytes that are not UTF-8: for name and value its `size` (in bytes) then
//!   disagrees with the strings, and as which string lost them is unknown,
//!   both are false; a path has no such check, so it is false whenever the
//!   line is not UTF-8. Firefox gives the name as Latin-1 (one char per byte:
//!   exact), but the value and the path as UTF-8 with U+FFFD for bytes that
//!   are not.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::lines;

/// An engine's jar after one line: at most one cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cookie {
    /// `\xNN`-escaped bytes, like a line.
    pub(crate) name: String,
    pub(crate) value: String,
    /// Without the leading dot of a domain cookie.
    pub(crate) domain: String,
    pub(crate) host_only: bool,
    /// `\xNN`-escaped bytes, like a line.
    pub(crate) path: String,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    /// `unspecified`, `none`, `lax` or `strict`.
    pub(crate) same_site: String,
    /// Seconds from the moment the line was set to the expiry; `None` for a
    /// session cookie.
    pub(crate) expires_in: Option<i64>,
    pub(crate) partitioned: bool,
}

/// One engine's part of a recorded result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Seen {
    pub(crate) stored: Option<Cookie>,
    pub(crate) observable: BTreeMap<String, bool>,
    /// The response carrying the line failed to load (a network error in
    /// the engine), so it was never handled as a response at all.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) load_failed: bool,
}

/// The keys of OBSERVABLE, in the order documented above.
pub(crate) const OBSERVABLE_KEYS: [&str; 6] = [
    "host_only",
    "same_site_unspecified",
    "partitioned",
    "name_bytes",
    "value_bytes",
    "path_bytes",
];

/// Which bytes a reader got exactly.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exact {
    pub(crate) name: bool,
    pub(crate) value: bool,
    pub(crate) path: bool,
}

impl Exact {
    pub(crate) const ALL: Exact = Exact {
        name: true,
        value: true,
        path: true,
    };
}

pub(crate) fn observable(partitioned: bool, exact: Exact) -> BTreeMap<String, bool> {
    OBSERVABLE_KEYS
        .iter()
        .zip([true, true, partitioned, exact.name, exact.value, exact.path])
        .map(|(key, seen)| ((*key).to_owned(), seen))
        .collect()
}

/// A cookie from CDP's `Network.getAllCookies`; `set_at` is when its line
/// was set (Unix seconds), `line_is_utf8` whether its line was UTF-8. Also
/// says which bytes are exact.
pub(crate) fn from_cdp(cookie: &Value, set_at: f64, line_is_utf8: bool) -> (Cookie, Exact) {
    let text = |key: &str| -> String {
        cookie
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("CDP cookie without {key}: {cookie}"))
            .to_owned()
    };
    let flag = |key: &str| cookie.get(key).and_then(Value::as_bool).unwrap_or(false);
    let name = text("name");
    let value = text("value");
    let size = cookie.get("size").and_then(Value::as_u64);
    let pair_exact = size == u64::try_from(name.len() + value.len()).ok()
        && !name.contains('\u{fffd}')
        && !value.contains('\u{fffd}');
    let exact = Exact {
        name: pair_exact,
        value: pair_exact,
        path: line_is_utf8,
    };
    let domain = text("domain");
    let same_site = match cookie.get("sameSite").and_then(Value::as_str) {
        None => "unspecified".to_owned(),
        Some(s) => s.to_ascii_lowercase(),
    };
    let expires_in = if flag("session") {
        None
    } else {
        let at = cookie
            .get("expires")
            .and_then(Value::as_f64)
            .unwrap_or_else(|| panic!("CDP cookie without expires: {cookie}"));
        Some(seconds_between(set_at, at))
    };
    let partitioned = cookie.get("partitionKey").is_some() || flag("partitionKeyOpaque");
    (
        Cookie {
            name: lines::encode_str(&name),
            value: lines::encode_str(&value),
            host_only: !domain.starts_with('.'),
            domain: domain.trim_start_matches('.').to_owned(),
            path: lines::encode_str(&text("path")),
            secure: flag("secure"),
            http_only: flag("httpOnly"),
            same_site,
            expires_in,
            partitioned,
        },
        exact,
    )
}

/// A cookie from BiDi's `storage.getCookies`; `partitioned` is decided by
/// the caller (see the module comment). Also says which bytes are exact.
pub(crate) fn from_bidi(cookie: &Value, set_at: f64, partitioned: bool) -> (Cookie, Exact) {
    let text = |key: &str| -> String {
        cookie
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("BiDi cookie without {key}: {cookie}"))
            .to_owned()
    };
    let flag = |key: &str| cookie.get(key).and_then(Value::as_bool).unwrap_or(false);
    // nsICookie's name is an ACString: XPConnect widens each byte to one
    // char, so chars up to U+00FF are the bytes themselves.
    let name = text("name");
    let name_bytes: Option<Vec<u8>> = name.chars().map(|c| u8::try_from(c).ok()).collect();
    let name_exact = name_bytes.is_some();
    let name = name_bytes.unwrap_or_else(|| name.into_bytes());
    // The value is an AUTF8String: bytes that are not UTF-8 became U+FFFD.
    let value = match cookie.get("value") {
        Some(v) if v.get("type").and_then(Value::as_str) == Some("string") => v
            .get("value")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        other => panic!("BiDi cookie value is not a string: {other:?} in {cookie}"),
    };
    let value_exact = !value.contains('\u{fffd}');
    let path = text("path");
    let path_exact = !path.contains('\u{fffd}');
    let domain = text("domain");
    let same_site = match cookie.get("sameSite").and_then(Value::as_str) {
        Some("default") | None => "unspecified".to_owned(),
        Some(s) => s.to_owned(),
    };
    let expires_in = cookie
        .get("expiry")
        .and_then(Value::as_f64)
        .map(|at| seconds_between(set_at, at));
    (
        Cookie {
            name: lines::encode(&name),
            value: lines::encode_str(&value),
            host_only: !domain.starts_with('.'),
            domain: domain.trim_start_matches('.').to_owned(),
            path: lines::encode_str(&path),
            secure: flag("secure"),
            http_only: flag("httpOnly"),
            same_site,
            expires_in,
            partitioned,
        },
        Exact {
            name: name_exact,
            value: value_exact,
            path: path_exact,
        },
    )
}

#[expect(
    clippy::cast_possible_truncation,
    reason = "a cookie's lifetime in seconds fits an i64 by far"
)]
fn seconds_between(from: f64, to: f64) -> i64 {
    (to - from).round() as i64
}
