//! The engine model: what Chromium and what Firefox store for one
//! `Set-Cookie` line, and why.
//!
//! [`evaluate`] takes the line as bytes, the URL that sets it, the request
//! context and the instant, and returns one [`Verdict`] per engine: whether
//! the cookie is in the jar afterwards, the cookie as the engine stores it,
//! every attribute it ignored and why, and each reason named as the engine
//! names it (Chromium's `CookieInclusionStatus` enumerators, Firefox's
//! console message keys), each with a plain-language explanation and a fix
//! from the single table in [`reasons`]. Advice that is not an engine fact
//! (a session-like name without HttpOnly, say) is kept apart in
//! [`Verdicts::advice`]. The module is pure: no I/O, no clock, no server
//! state; the CLI, the API, the outgoing gate and the fuzz targets share it.
//!
//! # Why the parsing here is written by hand
//! cookie-lab's own outgoing cookies are built and parsed with the `cookie`
//! crate. This module cannot use it, or any RFC parser: its whole point is
//! to reproduce each engine's own parser, quirks included, and the two
//! engines disagree with each other and with the RFC (a tab inside a value,
//! a line without `=`, `=value`, which duplicate attribute wins, Max-Age `+5`,
//! time zones in Expires, and more). Chromium's `ParsedCookie` and
//! `CanonicalCookie::Create` are modelled in `chromium.rs`, Firefox's
//! `CookieParser` and `CookieValidation` in `firefox.rs`, the two date
//! parsers in `dates.rs`, and what each engine's HTTP/1.1 parser does with
//! a CR, LF or NUL on the wire in `http.rs`. Each rule cites the engine
//! source file and function it follows. The sources read were the `net/cookies` tree of a
//! current Chromium fork (`cinagroup/CinaBrowser@b327869`, as in
//! `shared/reviews/browser-rules-2026-11-29.md`) and a current Gecko
//! (`marco-c/gecko-dev-comments-removed`: `netwerk/cookie`, the
//! `network.cookie.*` defaults in `modules/libpref/init/StaticPrefList.yaml`,
//! and NSPR's `prtime.c`). Where the recording (`tests/engine_truth.rs`)
//! showed the installed browsers differ from those snapshots, the model
//! follows the browsers and says so at the rule: Chromium 156 rejects
//! `=a=b` (`EXCLUDE_AMBIGUOUS_SERIALIZATION`), Firefox 153 checks
//! `__Host-Http-` before `__Host-`, and CR/LF/NUL never reach either
//! cookie parser.
//!
//! # The sending half
//! [`sending`] says which stored cookies go with a request: one cookie (as
//! the storing half describes it, plus the jar it lives in and its age), one
//! request from the table of [`RequestKind`]s, which both halves share (each
//! kind names the [`Context`] its response sets cookies in), and the
//! [`Policy`]. The cross-site lab (`/lab`) checks it in real browsers.
//!
//! # Lines are bytes
//! [`evaluate`] takes `&[u8]`: the bytes that follow `Set-Cookie:` on the
//! wire. A CR or LF ends the header value there (a folded line joins it),
//! and a NUL makes both engines fail the response
//! ([`Outcome::ResponseFailed`]). Text interfaces (the JSON API, the corpus files, the CLI)
//! carry a line as a string in the `\xNN` escape of [`bytes::escape`] and
//! [`bytes::unescape`]: every byte outside `0x20..=0x7E`, and the backslash,
//! is written `\xNN`; other characters are their UTF-8 bytes. Names, values
//! and paths in the output are bytes too and serialise with the same escape.
//!
//! # Engine settings modelled
//! The default [`Policy`] is a fresh Chromium 156 profile as chromedriver
//! starts it (third-party cookies blocked; `=a=b` refused) and Firefox ESR
//! 153's defaults
//! (`network.cookie.cookieBehavior` = 5, Total Cookie Protection;
//! `valueless_cookie`, `block_nameless_with_equal_char`,
//! `sameSite.noneRequiresSecure` and `CHIPS.enabled` on; `laxByDefault` and
//! `blockUnicode` off; `maxageCap` = 400 days), and Chromium's default
//! features (`__Http-`/`__Host-Http-` prefixes enforced, non-ASCII cookies
//! and Domains allowed, scheme- and port-bound cookies off).
//!
//! # Reasons left out
//! The table holds exactly the reasons the model can emit. These engine
//! reasons are not modelled, for the reason given:
//! - Need the jar's current content (the model sees one line, not the jar):
//!   Chromium `EXCLUDE_OVERWRITE_SECURE`, `EXCLUDE_OVERWRITE_HTTP_ONLY`,
//!   `EXCLUDE_SHADOWING_DOMAIN` (also behind a flag); Firefox
//!   `CookieRejectedNonsecureOverSecure`. Per-site and total count limits
//!   and CHIPS' 10 KiB per-partition limit need the jar too.
//! - Only for `document.cookie` or the extension/CDP API, never for a
//!   header: Chromium `EXCLUDE_HTTP_ONLY`, `EXCLUDE_ATTRIBUTE_VALUE_EXCEEDS_MAX_SIZE`,
//!   `EXCLUDE_INVALID_PATH`; Firefox `CookieRejectedHttpOnlyButFromScript`,
//!   `CookieRejectedAttributeExpiryOversize` (the parser caps the expiry first).
//! - Unreachable from a header with a valid host: Firefox
//!   `CookieRejectedAttributePathOversize` (an over-long Path is ignored
//!   before validation), `CookieRejectedAttributeDomainOversize` (hosts are
//!   at most 253 bytes); Chromium `EXCLUDE_FAILURE_TO_STORE` (invalid URL or
//!   a non-canonical cookie, which `Create` never builds from a header) and
//!   `EXCLUDE_NONCOOKIEABLE_SCHEME` ([`SetterUrl`] is http or https only).
//! - Off by default in the modelled versions: Chromium
//!   `EXCLUDE_DOMAIN_NON_ASCII` (`kCookieDomainRejectNonASCII`; the model
//!   emits `WARN_DOMAIN_NON_ASCII`), `EXCLUDE_PORT_MISMATCH` and
//!   `EXCLUDE_SCHEME_MISMATCH` (origin-bound cookies); Firefox
//!   `CookieLaxForced2`, `CookieLaxForcedForBeta2` (`laxByDefault` off),
//!   `CookieRejectedNonRequiresSecureForBeta3` (only when `noneRequiresSecure`
//!   is off).
//! - Inputs the model does not take: per-site permissions (Firefox
//!   `CookieRejectedByPermissionManager`), Related Website Sets (Chromium
//!   `EXCLUDE_THIRD_PARTY_BLOCKED_WITHIN_FIRST_PARTY_SET`), 3PCD tracking
//!   protection (Chromium `EXCLUDE_THIRD_PARTY_PHASEOUT`; a blocked
//!   third-party cookie is reported as `EXCLUDE_USER_PREFERENCES`),
//!   credentialless iframes (`EXCLUDE_ANONYMOUS_CONTEXT`), redirects
//!   (Firefox `CookieBlockedCrossSiteRedirect`, Chromium's redirect
//!   warnings), the `Date` header's clock skew (both engines shift a
//!   parsed Expires by it; the model assumes the server clock is right).
//! - `EXCLUDE_UNKNOWN_ERROR` and the send-side reasons
//!   (`EXCLUDE_NOT_ON_PATH`, `EXCLUDE_DOMAIN_MISMATCH` on send,
//!   `WARN_SAMESITE_UNSPECIFIED_LAX_ALLOW_UNSAFE`, `WARN_PORT_MISMATCH`,
//!   `WARN_SCHEME_MISMATCH`, the schemeful downgrade warnings) are not about
//!   storing a cookie.
//! - Chromium warnings that only repeat an exclusion the model reports
//!   (`WARN_SAMESITE_UNSPECIFIED_CROSS_SITE_CONTEXT`,
//!   `WARN_SAMESITE_NONE_INSECURE`) or an internal detail
//!   (`WARN_TENTATIVELY_ALLOWING_SECURE_SOURCE_SCHEME`, which always comes
//!   with `WARN_SECURE_ACCESS_GRANTED_NON_CRYPTOGRAPHIC` or
//!   `EXCLUDE_SECURE_ONLY`), and `WARN_THIRD_PARTY_PHASEOUT`,
//!   `WARN_SHADOWING_DOMAIN` (3PCD and the jar, not modelled).

pub mod advice;
pub mod bytes;
mod chromium;
mod dates;
mod firefox;
pub mod grammar;
mod host;
mod http;
pub mod reasons;
pub mod sending;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use time::{Duration, OffsetDateTime};

pub use advice::Advice;
pub use reasons::{Engine, ReasonId, ReasonKind, ReasonMeta};

/// The versions whose behaviour is modelled (and was recorded).
pub const MODELLED_VERSIONS: [(Engine, &str); 2] =
    [(Engine::Chromium, "156"), (Engine::Firefox, "ESR 153")];

/// Both engines cap a cookie's lifetime at 400 days
/// (`CanonicalCookie::ValidateAndAdjustExpiryDate`,
/// `network.cookie.maxageCap` = 34560000).
pub const MAX_LIFETIME_SECONDS: i64 = 400 * 24 * 3600;

/// Both engines' limit on name plus value, in bytes.
pub const MAX_NAME_VALUE_BYTES: usize = 4096;

/// Both engines ignore an attribute whose value is longer than this.
pub const MAX_ATTRIBUTE_VALUE_BYTES: usize = 1024;

/// The scheme of the URL that sets the cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Http,
    Https,
}

/// The URL whose response carries the `Set-Cookie` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetterUrl {
    scheme: Scheme,
    host: String,
    path: String,
}

/// Why a [`SetterUrl`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetterUrlError {
    EmptyHost,
    /// The host holds a character a host name cannot hold, or non-ASCII
    /// text (write internationalised names in punycode, `xn--…`).
    InvalidHost(String),
    /// The path does not start with `/`.
    RelativePath(String),
}

impl fmt::Display for SetterUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetterUrlError::EmptyHost => write!(f, "the host is empty"),
            SetterUrlError::InvalidHost(host) => write!(
                f,
                "{host:?} is not a host name or IP address (write non-ASCII names in punycode, xn--…)"
            ),
            SetterUrlError::RelativePath(path) => {
                write!(f, "the path {path:?} does not start with /")
            }
        }
    }
}

impl std::error::Error for SetterUrlError {}

impl SetterUrl {
    /// A setter URL from its parts. The host is lowercased; an IPv6 address
    /// is written in brackets (`[::1]`); a port is not part of the host. A
    /// query or fragment in `path` is cut off, as the engines only use the
    /// path.
    pub fn new(scheme: Scheme, host: &str, path: &str) -> Result<SetterUrl, SetterUrlError> {
        let host = host.to_ascii_lowercase();
        if host.is_empty() {
            return Err(SetterUrlError::EmptyHost);
        }
        let valid = if host.starts_with('[') {
            host::is_ip(&host)
        } else {
            host.len() <= 253
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        };
        if !valid {
            return Err(SetterUrlError::InvalidHost(host));
        }
        let path = path.split(['?', '#']).next().unwrap_or_default();
        if !path.starts_with('/') {
            return Err(SetterUrlError::RelativePath(path.to_owned()));
        }
        Ok(SetterUrl {
            scheme,
            host,
            path: path.to_owned(),
        })
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn path(&self) -> &str {
        &self.path
    }
}

/// The kind of cross-site subresource request whose response sets the cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Subresource {
    Iframe,
    Fetch,
    Image,
}

/// The request context of the response that sets the cookie. Written as
/// its [`id`](Context::id) everywhere (corpus, CLI, API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Context {
    /// A top-level page, or a subresource whose top-level page is on the
    /// same site.
    #[default]
    SameSite,
    /// A top-level navigation that came from another site (a link from
    /// another site). Both engines set cookies here as on a same-site load.
    CrossSiteTopLevel,
    /// An iframe, fetch or image on this site inside a page on another site.
    CrossSiteSubresource(Subresource),
}

impl<'de> Deserialize<'de> for Context {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Context::from_id(&id).ok_or_else(|| {
            serde::de::Error::custom(format_args!(
                "unknown context {id:?}: one of {}",
                Context::ids()
            ))
        })
    }
}

impl Context {
    pub const ALL: [Context; 5] = [
        Context::SameSite,
        Context::CrossSiteTopLevel,
        Context::CrossSiteSubresource(Subresource::Iframe),
        Context::CrossSiteSubresource(Subresource::Fetch),
        Context::CrossSiteSubresource(Subresource::Image),
    ];

    /// The id used in the corpus files, the CLI and the API.
    pub fn id(self) -> &'static str {
        match self {
            Context::SameSite => "same-site",
            Context::CrossSiteTopLevel => "cross-site-top-level",
            Context::CrossSiteSubresource(Subresource::Iframe) => "cross-site-iframe",
            Context::CrossSiteSubresource(Subresource::Fetch) => "cross-site-fetch",
            Context::CrossSiteSubresource(Subresource::Image) => "cross-site-image",
        }
    }

    pub fn from_id(id: &str) -> Option<Context> {
        Context::ALL.into_iter().find(|c| c.id() == id)
    }

    /// Every id, for error messages and documentation.
    pub fn ids() -> String {
        Context::ALL.map(Context::id).join(", ")
    }

    /// Whether the engines see this response as third-party ("foreign").
    pub fn is_cross_site_subresource(self) -> bool {
        matches!(self, Context::CrossSiteSubresource(_))
    }

    /// Whether the browser-truth corpus measured this context. The
    /// agreement test (`tests/engine_truth.rs`) checks this list against
    /// the contexts in `recorded.json`.
    pub fn measured(self) -> bool {
        MEASURED_CONTEXTS.contains(&self)
    }
}

/// A request a page makes, as the browser files it: the one table of
/// request contexts the two halves of the model share. [`sending`] says
/// which stored cookies go with each kind of request, and
/// [`RequestKind::context`] says in which [`Context`] its response sets
/// cookies (the storing half's coarser view of the same row).
///
/// Every kind is seen from the site that receives the request (the
/// cookie's site); "another site" is the site of the page that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestKind {
    /// A top-level navigation started by a page of this site (a link, or
    /// script setting `location`): the control, where every cookie goes.
    SameSiteNavigation,
    /// A link on another site's page, followed: a top-level GET.
    CrossSiteLink,
    /// A form on another site's page, posted here: a top-level POST.
    CrossSiteFormPost,
    /// A hop of a top-level GET redirect chain started by another site's
    /// page (`A → B`, or `A → B → A → B` at its last hop).
    CrossSiteRedirectHop,
    /// A hop back to the site whose page started the chain, after the chain
    /// went through another site (`A → B → A`, at the second A).
    RedirectBackAfterCrossSite,
    /// This site in an iframe of another site's page.
    CrossSiteIframe,
    /// A `fetch` that such an iframe makes to its own site.
    FetchFromCrossSiteIframe,
    /// An image on another site's page.
    CrossSiteImage,
    /// `fetch(url, {credentials: "include"})` from another site's page,
    /// answered with CORS headers that allow that page's origin.
    CrossSiteCorsFetch,
    /// A popup (`window.open`) opened by another site's page.
    CrossSitePopup,
}

impl RequestKind {
    pub const ALL: [RequestKind; 10] = [
        RequestKind::SameSiteNavigation,
        RequestKind::CrossSiteLink,
        RequestKind::CrossSiteFormPost,
        RequestKind::CrossSiteRedirectHop,
        RequestKind::RedirectBackAfterCrossSite,
        RequestKind::CrossSiteIframe,
        RequestKind::FetchFromCrossSiteIframe,
        RequestKind::CrossSiteImage,
        RequestKind::CrossSiteCorsFetch,
        RequestKind::CrossSitePopup,
    ];

    pub fn id(self) -> &'static str {
        match self {
            RequestKind::SameSiteNavigation => "same-site-navigation",
            RequestKind::CrossSiteLink => "cross-site-link",
            RequestKind::CrossSiteFormPost => "cross-site-form-post",
            RequestKind::CrossSiteRedirectHop => "cross-site-redirect-hop",
            RequestKind::RedirectBackAfterCrossSite => "redirect-back-after-cross-site",
            RequestKind::CrossSiteIframe => "cross-site-iframe",
            RequestKind::FetchFromCrossSiteIframe => "fetch-from-cross-site-iframe",
            RequestKind::CrossSiteImage => "cross-site-image",
            RequestKind::CrossSiteCorsFetch => "cross-site-cors-fetch",
            RequestKind::CrossSitePopup => "cross-site-popup",
        }
    }

    /// The context in which the response to this request sets cookies.
    pub fn context(self) -> Context {
        match self {
            RequestKind::SameSiteNavigation => Context::SameSite,
            // Both engines set cookies from any top-level navigation as
            // from a same-site one (Chromium's ComputeSameSiteContextForResponse
            // makes a main-frame navigation inclusive for set; Firefox never
            // counts a top-level document as foreign).
            RequestKind::CrossSiteLink
            | RequestKind::CrossSiteFormPost
            | RequestKind::CrossSiteRedirectHop
            | RequestKind::RedirectBackAfterCrossSite
            | RequestKind::CrossSitePopup => Context::CrossSiteTopLevel,
            RequestKind::CrossSiteIframe => Context::CrossSiteSubresource(Subresource::Iframe),
            RequestKind::FetchFromCrossSiteIframe | RequestKind::CrossSiteCorsFetch => {
                Context::CrossSiteSubresource(Subresource::Fetch)
            }
            RequestKind::CrossSiteImage => Context::CrossSiteSubresource(Subresource::Image),
        }
    }

    /// A top-level navigation (the page that loads is this site's), as
    /// opposed to a subresource of another site's page.
    pub fn is_top_level(self) -> bool {
        !self.context().is_cross_site_subresource()
    }

    /// The method: a form post is the one unsafe request here.
    pub fn is_safe_method(self) -> bool {
        self != RequestKind::CrossSiteFormPost
    }

    /// Whether the page that started the request is of this site.
    pub fn initiator_is_this_site(self) -> bool {
        matches!(
            self,
            RequestKind::SameSiteNavigation | RequestKind::RedirectBackAfterCrossSite
        )
    }

    /// Whether a redirect chain that led here went through another site.
    pub fn redirect_chain_crossed_sites(self) -> bool {
        matches!(
            self,
            RequestKind::CrossSiteRedirectHop | RequestKind::RedirectBackAfterCrossSite
        )
    }
}

impl Serialize for RequestKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

/// The contexts `tests/browser-truth/recorded.json` holds.
pub const MEASURED_CONTEXTS: [Context; 3] = [
    Context::SameSite,
    Context::CrossSiteSubresource(Subresource::Iframe),
    Context::CrossSiteSubresource(Subresource::Fetch),
];

impl Serialize for Context {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

/// Chromium's third-party cookie setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChromiumThirdParty {
    /// Third-party cookies blocked: only Partitioned cookies may be set by
    /// a cross-site subresource (chromedriver's fresh profile, Incognito).
    Block,
    /// Third-party cookies allowed (`profile.block_third_party_cookies`
    /// false, `profile.cookie_controls_mode` 0).
    Allow,
}

/// Firefox's `network.cookie.cookieBehavior` for third-party contexts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FirefoxThirdParty {
    /// 5, the default: Total Cookie Protection stores third-party cookies
    /// in a jar keyed to the top-level site.
    Partition,
    /// 5 with `cookieBehavior.optInPartitioning`: only Partitioned cookies
    /// are accepted from third-party contexts.
    PartitionOptIn,
    /// 1: third-party cookies are rejected.
    Reject,
    /// 0: third-party cookies are accepted unpartitioned.
    Accept,
}

/// The engine settings the model follows where they matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub chromium_third_party: ChromiumThirdParty,
    pub firefox_third_party: FirefoxThirdParty,
    /// Whether Chromium rejects `=a=b` with `EXCLUDE_AMBIGUOUS_SERIALIZATION`.
    /// The `net/cookies` sources read predate it; Chromium 156 does it
    /// (recorded: `=a=b`, ` =a=b` and `==` are not stored), so it is on by
    /// default.
    pub chromium_block_ambiguous_nameless: bool,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            chromium_third_party: ChromiumThirdParty::Block,
            firefox_third_party: FirefoxThirdParty::Partition,
            chromium_block_ambiguous_nameless: true,
        }
    }
}

/// A SameSite attribute as stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SameSite {
    /// No (valid) SameSite attribute: the engine applies its default.
    #[default]
    Unspecified,
    None,
    Lax,
    Strict,
}

/// When a stored cookie expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Expiry {
    /// Deleted when the browser session ends.
    Session,
    /// At an instant, after the 400-day cap.
    At {
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        /// Seconds from `now` to `at`.
        in_seconds: i64,
        /// Whether the 400-day cap shortened the lifetime asked for.
        capped: bool,
    },
    /// Already past when set (Max-Age zero or negative, or a past Expires):
    /// the line deletes any cookie of that name, domain and path.
    Expired,
}

/// The cookie as the engine stores it (or, for a deletion, the cookie the
/// line would delete).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredCookie {
    #[serde(serialize_with = "bytes::serialize")]
    pub name: Vec<u8>,
    #[serde(serialize_with = "bytes::serialize")]
    pub value: Vec<u8>,
    /// Without a leading dot.
    pub domain: String,
    /// Sent only to `domain` itself, not to its subdomains.
    pub host_only: bool,
    #[serde(serialize_with = "bytes::serialize")]
    pub path: Vec<u8>,
    pub secure: bool,
    pub http_only: bool,
    /// As stored: `unspecified` stays unspecified.
    pub same_site: SameSite,
    /// What the engine enforces: Chromium treats unspecified as Lax,
    /// Firefox as None.
    pub effective_same_site: SameSite,
    pub expiry: Expiry,
    /// Kept in a jar keyed to the top-level site: a `Partitioned` (CHIPS)
    /// cookie, or, in Firefox, any cookie set in a third-party context
    /// (Total Cookie Protection).
    pub partitioned: bool,
}

/// What happened to the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The cookie is in the jar.
    Stored,
    /// The engine refused the cookie; see `reasons`.
    Rejected,
    /// The cookie expired at once: nothing is stored and any cookie with
    /// the same name, domain and path is deleted.
    Deleted,
    /// The third-party cookie policy blocked it; see `reasons`.
    Blocked,
    /// The engine's HTTP parser refuses the response (a NUL in a header):
    /// the cookie code never sees the line, and there is no cookie reason.
    ResponseFailed,
}

/// Why an attribute had no effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IgnoreCause {
    /// Its value is longer than 1024 bytes.
    TooLong,
    /// The engine does not know this attribute.
    Unknown,
    /// The same attribute comes again later; the later one wins.
    Overridden,
    /// Its value is not one the engine accepts (a SameSite other than
    /// Strict, Lax or None; an empty Domain).
    InvalidValue,
    /// Max-Age or Expires that the engine cannot read.
    Unparsable,
    /// Expires, when a valid Max-Age decides the expiry.
    Superseded,
    /// A Path that is empty or does not start with `/`: the default path
    /// (the request path up to its last `/`) is used.
    NotAbsolute,
    /// A CR or LF ends a header value on the wire: what follows is read as
    /// other header lines, not as part of this cookie.
    OtherHeaderLines,
}

impl IgnoreCause {
    /// Ignored as intended: an Expires beside a valid Max-Age is there for
    /// old browsers (Flask and cookie-lab write both), not a mistake.
    pub fn is_harmless(self) -> bool {
        self == IgnoreCause::Superseded
    }

    pub fn explanation(self) -> &'static str {
        match self {
            IgnoreCause::TooLong => "Its value is longer than 1024 bytes, so it is ignored.",
            IgnoreCause::Unknown => "The engine does not know this attribute.",
            IgnoreCause::Overridden => {
                "The same attribute comes again later in the line; the last one wins."
            }
            IgnoreCause::InvalidValue => "The engine does not accept this value, so it is ignored.",
            IgnoreCause::Unparsable => "The engine cannot read this value, so it is ignored.",
            IgnoreCause::Superseded => "A valid Max-Age decides the expiry, so Expires is ignored.",
            IgnoreCause::NotAbsolute => {
                "The path does not start with /, so the default path (the request path up to its last /) is used."
            }
            IgnoreCause::OtherHeaderLines => {
                "A line break ends the header value; what follows is read as other header lines, not as part of this cookie."
            }
        }
    }
}

/// One attribute that had no effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoredAttribute {
    /// The attribute name as written.
    #[serde(serialize_with = "bytes::serialize")]
    pub name: Vec<u8>,
    #[serde(serialize_with = "bytes::serialize")]
    pub value: Vec<u8>,
    pub cause: IgnoreCause,
    /// The warning the engine logs for it, if any.
    pub reason: Option<ReasonId>,
}

impl IgnoredAttribute {
    fn new(name: &[u8], value: &[u8], cause: IgnoreCause, reason: Option<ReasonId>) -> Self {
        IgnoredAttribute {
            name: name.to_vec(),
            value: value.to_vec(),
            cause,
            reason,
        }
    }
}

/// One engine's verdict on one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub engine: Engine,
    pub outcome: Outcome,
    /// In the jar afterwards.
    pub stored: bool,
    /// The cookie as stored (or as deleted); `None` when rejected or blocked.
    pub cookie: Option<StoredCookie>,
    /// Attributes that had no effect, and why.
    pub ignored: Vec<IgnoredAttribute>,
    /// Why the cookie was rejected or blocked, in the engine's words.
    pub reasons: Vec<ReasonId>,
    /// Warnings the engine reports for a cookie it keeps.
    pub warnings: Vec<ReasonId>,
    /// Whether the browser-truth corpus measured this context.
    pub measured: bool,
}

impl Verdict {
    fn new(engine: Engine, context: Context) -> Verdict {
        Verdict {
            engine,
            outcome: Outcome::Rejected,
            stored: false,
            cookie: None,
            ignored: Vec::new(),
            reasons: Vec::new(),
            warnings: Vec::new(),
            measured: context.measured(),
        }
    }

    fn reject(mut self, reasons: Vec<ReasonId>) -> Verdict {
        self.outcome = Outcome::Rejected;
        self.reasons = reasons;
        self
    }

    fn finish(mut self, outcome: Outcome, cookie: StoredCookie) -> Verdict {
        self.stored = outcome == Outcome::Stored;
        self.outcome = outcome;
        self.cookie = Some(cookie);
        self
    }

    /// Whether the engine refused the cookie with a reason (a deletion is
    /// not a refusal; a third-party block is reported apart).
    pub fn rejected(&self) -> bool {
        self.outcome == Outcome::Rejected
    }
}

/// Both engines' verdicts on one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdicts {
    pub chromium: Verdict,
    pub firefox: Verdict,
    pub context: Context,
    /// Whether the browser-truth corpus measured this context; when it did
    /// not, the verdicts follow the engines' source but are not a measured
    /// fact.
    pub measured: bool,
    /// Advice that is not an engine fact.
    pub advice: Vec<Advice>,
}

impl Verdicts {
    pub fn get(&self, engine: Engine) -> &Verdict {
        match engine {
            Engine::Chromium => &self.chromium,
            Engine::Firefox => &self.firefox,
        }
    }

    /// Whether the two engines do not store the same thing.
    pub fn engines_differ(&self) -> bool {
        self.chromium.outcome != self.firefox.outcome || self.chromium.cookie != self.firefox.cookie
    }
}

/// Evaluates one `Set-Cookie` header value with the default [`Policy`].
pub fn evaluate(
    line: &[u8],
    setter: &SetterUrl,
    context: Context,
    now: OffsetDateTime,
) -> Verdicts {
    evaluate_with(line, setter, context, now, &Policy::default())
}

/// Evaluates one `Set-Cookie` header value under `policy`.
pub fn evaluate_with(
    line: &[u8],
    setter: &SetterUrl,
    context: Context,
    now: OffsetDateTime,
    policy: &Policy,
) -> Verdicts {
    let chromium = chromium::evaluate(line, setter, context, now, policy);
    let firefox = firefox::evaluate(line, setter, context, now, policy);
    let advice = advice::advise(setter, &chromium, &firefox);
    Verdicts {
        chromium,
        firefox,
        context,
        measured: context.measured(),
        advice,
    }
}

/// An expiry `delta` seconds from `now`, after the 400-day cap.
fn expiry_in(now: OffsetDateTime, delta: i128) -> Expiry {
    if delta <= 0 {
        return Expiry::Expired;
    }
    let capped = delta > i128::from(MAX_LIFETIME_SECONDS);
    let in_seconds =
        i64::try_from(delta.min(i128::from(MAX_LIFETIME_SECONDS))).unwrap_or(MAX_LIFETIME_SECONDS);
    Expiry::At {
        at: now.saturating_add(Duration::seconds(in_seconds)),
        in_seconds,
        capped,
    }
}

/// ASCII case-insensitive "starts with".
fn starts_with_ignore_case(haystack: &[u8], prefix: &[u8]) -> bool {
    haystack.len() >= prefix.len() && haystack[..prefix.len()].eq_ignore_ascii_case(prefix)
}

#[cfg(test)]
mod tests;
