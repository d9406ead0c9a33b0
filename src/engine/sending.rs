//! The sending half of the engine model: which of the cookies a browser
//! keeps go with a request, and why.
//!
//! The storing half ([`super::evaluate`]) says what is in the jar after a
//! `Set-Cookie` line; this half takes one cookie of the jar (as the storing
//! half describes it, plus the jar it lives in and its age) and one request,
//! drawn from the shared table of request kinds ([`RequestKind`]), and says
//! whether each engine attaches the cookie to that request. Every rule is a
//! [`SendRule`], declared once with the engine source it follows and a
//! one-line reason a person can read; the checks run in the engine's own
//! order, and the first one that excludes the cookie is the reason given.
//!
//! Sources (the same trees the storing half follows, see `engine.rs`):
//! Chromium `net/cookies/cookie_monster.cc` (which partition is read),
//! `cookie_base.cc` `IncludeForRequestURL` (domain, path, Secure, SameSite),
//! `cookie_util.cc` `ComputeSameSiteContextForRequest` and
//! `ComputeSameSiteContextForSubresource` (the context of each request),
//! `canonical_cookie.cc` `GetLaxAllowUnsafeThresholdAge` (2 minutes), and
//! the third-party cookie setting applied after them
//! (`net/url_request/url_request_http_job.cc`, partitioned cookies exempt);
//! Firefox `netwerk/cookie/CookieService.cpp` `GetCookieStringFromHttp` and
//! `GetCookiesForURI` (which jars, Secure, path, SameSite) and
//! `CookieCommons.cpp` `IsSameSiteForeign`, `IsSafeTopLevelNav` and
//! `ProcessSameSiteCookieForForeignRequest`, with `laxByDefault` off.
//!
//! Not modelled: storage access grants (the Storage Access API, and
//! Firefox's heuristics that grant it after a popup or a redirect), Related
//! Website Sets, per-site exceptions, and cookies of another scheme or port
//! (scheme- and port-bound cookies are off by default).

use serde::{Serialize, Serializer};
use time::Duration;

use super::host;
use super::{
    ChromiumThirdParty, Engine, FirefoxThirdParty, Policy, RequestKind, SameSite, Scheme,
    SetterUrl, StoredCookie,
};

/// Chromium's "Lax allowing unsafe" window: a cookie stored without a
/// SameSite attribute this recently still goes with a cross-site top-level
/// POST (`kLaxAllowUnsafeMaxAge` in `net/cookies/cookie_constants.h`; the
/// features that shorten or remove it are off by default).
pub const LAX_ALLOW_UNSAFE_MAX_AGE: Duration = Duration::minutes(2);

/// Which jar a cookie lives in, seen from the site that receives the
/// request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Partition {
    /// The site's own, unpartitioned jar.
    None,
    /// A jar keyed to the receiving site itself as top-level site (a
    /// `Partitioned` cookie the site set at top level).
    ThisSite,
    /// A jar keyed to another top-level site (a cookie set while the site
    /// was embedded in that site's page, partitioned by `Partitioned` or,
    /// in Firefox, by Total Cookie Protection).
    OtherSite,
}

/// One cookie of the jar, as the sending rules see it.
#[derive(Debug, Clone, Copy)]
pub struct JarCookie<'a> {
    pub cookie: &'a StoredCookie,
    pub partition: Partition,
    /// Time since the browser stored it.
    pub age: Duration,
}

/// What one engine does with one cookie on one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sending {
    pub engine: Engine,
    pub sent: bool,
    /// The rule that decided: the first one that keeps the cookie home, or
    /// the one that lets it go.
    pub rule: SendRule,
    /// Every rule that keeps it home, in the engine's order (Chromium
    /// reports them all; Firefox stops at the first).
    pub exclusions: Vec<SendRule>,
    /// What the engine reports about a cookie it sends.
    pub warnings: Vec<SendRule>,
}

macro_rules! send_rules {
    ($(
        $variant:ident => {
            id: $id:literal,
            engine: $engine:ident,
            sends: $sends:literal,
            source: $source:literal,
            reason: $reason:literal $(,)?
        }
    ),+ $(,)?) => {
        /// A rule of an engine's sending code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum SendRule { $($variant),+ }

        impl SendRule {
            /// Every rule, in declaration order.
            pub const ALL: &'static [SendRule] = &[$(SendRule::$variant),+];

            pub fn meta(self) -> &'static SendRuleMeta {
                match self {
                    $(SendRule::$variant => &SendRuleMeta {
                        id: $id,
                        engine: Engine::$engine,
                        sends: $sends,
                        source: $source,
                        reason: $reason,
                    }),+
                }
            }
        }
    };
}

/// Metadata of one sending rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SendRuleMeta {
    /// The engine's own name where it has one (Chromium's
    /// `CookieInclusionStatus` enumerators, Firefox's console keys), else
    /// the check's name in its source.
    pub id: &'static str,
    pub engine: Engine,
    /// Whether the rule lets the cookie go (false: it keeps it home).
    pub sends: bool,
    /// The source file and function the rule follows.
    pub source: &'static str,
    /// Why, in one line.
    pub reason: &'static str,
}

impl SendRule {
    pub fn id(self) -> &'static str {
        self.meta().id
    }

    pub fn reason(self) -> &'static str {
        self.meta().reason
    }
}

impl Serialize for SendRule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

send_rules! {
    // ---- Chromium ----
    ChromiumOtherPartition => {
        id: "partition-key-mismatch",
        engine: Chromium,
        sends: false,
        source: "net/cookies/cookie_monster.cc CookieMonster::GetCookieListWithOptions (reads the request's CookiePartitionKey: its top-level site)",
        reason: "Partitioned under another top-level site: this request only reads the jar of its own top-level site.",
    },
    ChromiumDomainMismatch => {
        id: "EXCLUDE_DOMAIN_MISMATCH",
        engine: Chromium,
        sends: false,
        source: "net/cookies/cookie_base.cc CookieBase::IncludeForRequestURL (IsDomainMatch)",
        reason: "The cookie's domain does not match the requested host.",
    },
    ChromiumNotOnPath => {
        id: "EXCLUDE_NOT_ON_PATH",
        engine: Chromium,
        sends: false,
        source: "net/cookies/cookie_base.cc CookieBase::IncludeForRequestURL (IsOnPath)",
        reason: "The requested path is not under the cookie's Path.",
    },
    ChromiumSecureOnly => {
        id: "EXCLUDE_SECURE_ONLY",
        engine: Chromium,
        sends: false,
        source: "net/cookies/cookie_base.cc CookieBase::IncludeForRequestURL (cookie_util::ProvisionalAccessScheme)",
        reason: "Secure: only sent over https, or to localhost and loopback addresses.",
    },
    ChromiumSameSiteStrict => {
        id: "EXCLUDE_SAMESITE_STRICT",
        engine: Chromium,
        sends: false,
        source: "net/cookies/cookie_base.cc CookieBase::IncludeForRequestURL; cookie_util.cc ComputeSameSiteContextForRequest",
        reason: "Strict: not sent on a request that another site's page started.",
    },
    ChromiumSameSiteLax => {
        id: "EXCLUDE_SAMESITE_LAX",
        engine: Chromium,
        sends: false,
        source: "net/cookies/cookie_base.cc CookieBase::IncludeForRequestURL; cookie_util.cc ComputeSameSiteContextForRequest",
        reason: "Lax: from another site, sent only on a top-level GET navigation, not on a POST, an iframe, an image or a fetch.",
    },
    ChromiumUnspecifiedTreatedAsLax => {
        id: "EXCLUDE_SAMESITE_UNSPECIFIED_TREATED_AS_LAX",
        engine: Chromium,
        sends: false,
        source: "net/cookies/cookie_base.cc CookieBase::IncludeForRequestURL, GetEffectiveSameSite; canonical_cookie.cc GetLaxAllowUnsafeThresholdAge",
        reason: "No SameSite: Chromium treats it as Lax (a cross-site POST gets it only in its first 2 minutes).",
    },
    ChromiumUserPreferences => {
        id: "EXCLUDE_USER_PREFERENCES",
        engine: Chromium,
        sends: false,
        source: "net/url_request/url_request_http_job.cc (cookie settings: third-party cookies blocked; partitioned cookies are exempt)",
        reason: "Third-party cookies are blocked by this browser's settings: only partitioned cookies go to an iframe, image or fetch on another site's page.",
    },
    ChromiumSentSameSite => {
        id: "SAME_SITE_STRICT",
        engine: Chromium,
        sends: true,
        source: "net/cookies/cookie_util.cc ComputeSameSiteContextForRequest (same-site initiator and URL)",
        reason: "A navigation this site started itself: every cookie goes, Strict included.",
    },
    ChromiumSentLaxNavigation => {
        id: "SAME_SITE_LAX",
        engine: Chromium,
        sends: true,
        source: "net/cookies/cookie_util.cc ComputeSameSiteContextForRequest (cross-site top-level GET: lax context)",
        reason: "A top-level GET navigation from another site: Lax and None cookies go, Strict ones stay.",
    },
    ChromiumSentNone => {
        id: "SameSite=None",
        engine: Chromium,
        sends: true,
        source: "net/cookies/cookie_base.cc CookieBase::IncludeForRequestURL (NO_RESTRICTION)",
        reason: "SameSite=None: sent in every context, as long as third-party cookies are allowed or it is in this top-level site's partition.",
    },
    ChromiumSentLaxAllowUnsafe => {
        id: "WARN_SAMESITE_UNSPECIFIED_LAX_ALLOW_UNSAFE",
        engine: Chromium,
        sends: true,
        source: "net/cookies/cookie_base.cc GetEffectiveSameSite (LAX_MODE_ALLOW_UNSAFE); canonical_cookie.cc GetLaxAllowUnsafeThresholdAge",
        reason: "No SameSite and stored less than 2 minutes ago: Chromium still sends it on a cross-site top-level POST (\"Lax allowing unsafe\").",
    },
    ChromiumSentRedirectChainIgnored => {
        id: "WARN_CROSS_SITE_REDIRECT_DOWNGRADE_CHANGES_INCLUSION",
        engine: Chromium,
        sends: true,
        source: "net/cookies/cookie_util.cc ComputeSameSiteContext (kCookieSameSiteConsidersRedirectChain is off by default: the context stays strict, with a warning)",
        reason: "This site's own page started the navigation, so Chromium sends Strict cookies even though the redirects went through another site (it only warns).",
    },
    // ---- Firefox ----
    FirefoxRejectForeign => {
        id: "BEHAVIOR_REJECT_FOREIGN",
        engine: Firefox,
        sends: false,
        source: "netwerk/cookie/CookieService.cpp CookieService::CheckPrefs (network.cookie.cookieBehavior = 1)",
        reason: "Firefox is set to reject third-party cookies: nothing goes to an iframe, image or fetch on another site's page.",
    },
    FirefoxOtherJar => {
        id: "partitioned-jar",
        engine: Firefox,
        sends: false,
        source: "netwerk/cookie/CookieService.cpp CookieService::GetCookieStringFromHttp (the jars a request reads: first party, its own and its CHIPS jar; third party, the top-level site's partition)",
        reason: "Total Cookie Protection: on another site's page this request reads only the jar partitioned under that page's site, and the cookie lives in another jar.",
    },
    FirefoxDomainMismatch => {
        id: "DomainMatches",
        engine: Firefox,
        sends: false,
        source: "netwerk/cookie/CookieService.cpp CookieService::GetCookiesForURI (CookieCommons::DomainMatches)",
        reason: "The cookie's domain does not match the requested host.",
    },
    FirefoxNotOnPath => {
        id: "PathMatches",
        engine: Firefox,
        sends: false,
        source: "netwerk/cookie/CookieService.cpp CookieService::GetCookiesForURI (CookieCommons::PathMatches)",
        reason: "The requested path is not under the cookie's Path.",
    },
    FirefoxSecure => {
        id: "IsPotentiallyTrustworthyOrigin",
        engine: Firefox,
        sends: false,
        source: "netwerk/cookie/CookieService.cpp CookieService::GetCookiesForURI (nsMixedContentBlocker::IsPotentiallyTrustworthyOrigin)",
        reason: "Secure: only sent over https, or to localhost and loopback addresses.",
    },
    FirefoxSameSiteStrict => {
        id: "SAMESITE_STRICT",
        engine: Firefox,
        sends: false,
        source: "netwerk/cookie/CookieCommons.cpp IsSameSiteForeign; CookieService.cpp ProcessSameSiteCookieForForeignRequest",
        reason: "Strict: not sent on a request that another site's page started.",
    },
    FirefoxCrossSiteRedirect => {
        id: "CookieBlockedCrossSiteRedirect",
        engine: Firefox,
        sends: false,
        source: "netwerk/cookie/CookieCommons.cpp IsSameSiteForeign (a redirect through another site makes the request foreign); CookieService.cpp GetCookiesForURI",
        reason: "The redirects went through another site, so Firefox treats the request as cross-site and keeps Strict cookies home.",
    },
    FirefoxSameSiteLax => {
        id: "SAMESITE_LAX",
        engine: Firefox,
        sends: false,
        source: "netwerk/cookie/CookieService.cpp ProcessSameSiteCookieForForeignRequest (CookieCommons::IsSafeTopLevelNav)",
        reason: "Lax: from another site, sent only on a top-level GET navigation, not on a POST, an iframe, an image or a fetch.",
    },
    FirefoxSentFirstParty => {
        id: "same-site",
        engine: Firefox,
        sends: true,
        source: "netwerk/cookie/CookieCommons.cpp IsSameSiteForeign (false: no SameSite check)",
        reason: "A navigation this site started itself: every cookie goes, Strict included.",
    },
    FirefoxSentLaxNavigation => {
        id: "IsSafeTopLevelNav",
        engine: Firefox,
        sends: true,
        source: "netwerk/cookie/CookieService.cpp ProcessSameSiteCookieForForeignRequest (a safe top-level navigation)",
        reason: "A top-level GET navigation from another site: Lax and None cookies go, Strict ones stay.",
    },
    FirefoxSentNone => {
        id: "SAMESITE_NONE",
        engine: Firefox,
        sends: true,
        source: "netwerk/cookie/CookieService.cpp ProcessSameSiteCookieForForeignRequest (None, and no SameSite with network.cookie.sameSite.laxByDefault off)",
        reason: "SameSite=None, or no SameSite (which Firefox treats as None): sent in every context, from whichever jar the request reads.",
    },
}

/// Whether `engine` sends `cookie` with a request of `kind` to `url`.
pub fn sends(
    engine: Engine,
    kind: RequestKind,
    url: &SetterUrl,
    cookie: &JarCookie<'_>,
    policy: &Policy,
) -> Sending {
    match engine {
        Engine::Chromium => chromium(kind, url, cookie, policy),
        Engine::Firefox => firefox(kind, url, cookie, policy),
    }
}

/// `cookie_util::IsDomainMatch`, `CookieCommons::DomainMatches`: the host
/// itself, or for a domain cookie a subdomain of it.
fn domain_matches(cookie: &StoredCookie, host: &str) -> bool {
    host == cookie.domain
        || (!cookie.host_only
            && host
                .strip_suffix(cookie.domain.as_str())
                .is_some_and(|rest| rest.ends_with('.')))
}

/// `cookie_util::IsOnPath`, `CookieCommons::PathMatches`: the cookie's path
/// is the requested path or a prefix of it ending at a `/`.
fn path_matches(cookie_path: &[u8], url_path: &str) -> bool {
    let url_path = url_path.as_bytes();
    if cookie_path.is_empty() || !url_path.starts_with(cookie_path) {
        return false;
    }
    cookie_path.len() == url_path.len()
        || cookie_path.ends_with(b"/")
        || url_path[cookie_path.len()] == b'/'
}

/// Chromium's `CookieOptions::SameSiteCookieContext` context types, in
/// their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum ChromiumContext {
    CrossSite,
    LaxMethodUnsafe,
    Lax,
    Strict,
}

/// `ComputeSameSiteContextForRequest` (navigations) and
/// `ComputeSameSiteContextForSubresource`, for each kind of request. The
/// redirect-chain rule (`kCookieSameSiteConsidersRedirectChain`) is off by
/// default, so a chain through another site that this site's page started
/// stays strict.
fn chromium_context(kind: RequestKind) -> ChromiumContext {
    if !kind.is_top_level() {
        // A subresource of another site's page: site_for_cookies is that
        // site (or null in a cross-site frame), not this one.
        return ChromiumContext::CrossSite;
    }
    if kind.initiator_is_this_site() {
        return ChromiumContext::Strict;
    }
    if kind.is_safe_method() {
        ChromiumContext::Lax
    } else {
        ChromiumContext::LaxMethodUnsafe
    }
}

fn chromium(kind: RequestKind, url: &SetterUrl, jar: &JarCookie<'_>, policy: &Policy) -> Sending {
    use SendRule::*;
    let cookie = jar.cookie;
    let finish = |exclusions: Vec<SendRule>, sent_by: SendRule, warnings: Vec<SendRule>| {
        let sent = exclusions.is_empty();
        Sending {
            engine: Engine::Chromium,
            sent,
            rule: exclusions.first().copied().unwrap_or(sent_by),
            exclusions,
            warnings: if sent { warnings } else { Vec::new() },
        }
    };
    // The request's partition key is its top-level site: this site for a
    // navigation, the embedding page's site for a subresource.
    let partition_readable = match jar.partition {
        Partition::None => true,
        Partition::ThisSite => kind.is_top_level(),
        Partition::OtherSite => !kind.is_top_level(),
    };
    if !partition_readable {
        return finish(
            vec![ChromiumOtherPartition],
            ChromiumOtherPartition,
            Vec::new(),
        );
    }

    // ---- CookieBase::IncludeForRequestURL ----
    let mut exclusions = Vec::new();
    if cookie.secure && url.scheme() != Scheme::Https && !host::chromium_is_localhost(url.host()) {
        exclusions.push(ChromiumSecureOnly);
    }
    if !domain_matches(cookie, url.host()) {
        exclusions.push(ChromiumDomainMismatch);
    }
    if !path_matches(&cookie.path, url.path()) {
        exclusions.push(ChromiumNotOnPath);
    }
    let context = chromium_context(kind);
    let mut warnings = Vec::new();
    let mut sent_by = ChromiumSentNone;
    match cookie.same_site {
        SameSite::Strict => {
            if context < ChromiumContext::Strict {
                exclusions.push(ChromiumSameSiteStrict);
            }
        }
        SameSite::Lax => {
            if context < ChromiumContext::Lax {
                exclusions.push(ChromiumSameSiteLax);
            }
        }
        SameSite::Unspecified => {
            // GetEffectiveSameSite: LAX_MODE_ALLOW_UNSAFE while recently
            // created (IsRecentlyCreated: age <= threshold), else LAX_MODE.
            let recent = jar.age <= LAX_ALLOW_UNSAFE_MAX_AGE;
            let needed = if recent {
                ChromiumContext::LaxMethodUnsafe
            } else {
                ChromiumContext::Lax
            };
            if context < needed {
                exclusions.push(ChromiumUnspecifiedTreatedAsLax);
            } else if context == ChromiumContext::LaxMethodUnsafe {
                warnings.push(ChromiumSentLaxAllowUnsafe);
                sent_by = ChromiumSentLaxAllowUnsafe;
            }
        }
        SameSite::None => {}
    }
    if cookie.same_site != SameSite::None && sent_by == ChromiumSentNone {
        sent_by = match context {
            ChromiumContext::Strict if kind.redirect_chain_crossed_sites() => {
                // Only a cookie the downgrade would have excluded carries
                // the warning; Lax ones go either way on a GET navigation.
                if cookie.same_site == SameSite::Strict {
                    warnings.push(ChromiumSentRedirectChainIgnored);
                    ChromiumSentRedirectChainIgnored
                } else {
                    ChromiumSentLaxNavigation
                }
            }
            ChromiumContext::Strict => ChromiumSentSameSite,
            _ => ChromiumSentLaxNavigation,
        };
    }
    if !exclusions.is_empty() {
        return finish(exclusions, sent_by, warnings);
    }

    // ---- The cookie settings, after the cookie store's own checks ----
    let third_party = !kind.is_top_level();
    if third_party
        && policy.chromium_third_party == ChromiumThirdParty::Block
        && jar.partition == Partition::None
    {
        return finish(vec![ChromiumUserPreferences], sent_by, warnings);
    }
    if kind == RequestKind::SameSiteNavigation {
        sent_by = ChromiumSentSameSite;
    }
    finish(Vec::new(), sent_by, warnings)
}

fn firefox(kind: RequestKind, url: &SetterUrl, jar: &JarCookie<'_>, policy: &Policy) -> Sending {
    use SendRule::*;
    let cookie = jar.cookie;
    let excluded = |rule: SendRule| Sending {
        engine: Engine::Firefox,
        sent: false,
        rule,
        exclusions: vec![rule],
        warnings: Vec::new(),
    };
    // ThirdPartyUtil::AnalyzeChannel: a subresource of another site's page
    // is foreign; a top-level document never is.
    let foreign = !kind.is_top_level();
    if foreign && policy.firefox_third_party == FirefoxThirdParty::Reject {
        return excluded(FirefoxRejectForeign);
    }
    // GetCookieStringFromHttp: the jars this request reads. A first-party
    // request reads the site's own jar and its CHIPS partition; a foreign
    // one, the partition of its top-level site, and with cookieBehavior 5
    // (Total Cookie Protection) that partition alone. The partitions are
    // read whatever the behaviour: measured with cookieBehavior 0, where
    // the source read has no partitions (tests/browser/lab.rs).
    let total_cookie_protection = matches!(
        policy.firefox_third_party,
        FirefoxThirdParty::Partition | FirefoxThirdParty::PartitionOptIn
    );
    let readable = match jar.partition {
        Partition::None => !(foreign && total_cookie_protection),
        Partition::ThisSite => !foreign,
        Partition::OtherSite => foreign,
    };
    if !readable {
        return excluded(FirefoxOtherJar);
    }
    // ---- GetCookiesForURI, in its order ----
    if !domain_matches(cookie, url.host()) {
        return excluded(FirefoxDomainMismatch);
    }
    let trustworthy = url.scheme() == Scheme::Https || host::firefox_is_loopback(url.host());
    if cookie.secure && !trustworthy {
        return excluded(FirefoxSecure);
    }
    if !path_matches(&cookie.path, url.path()) {
        return excluded(FirefoxNotOnPath);
    }
    // IsSameSiteForeign: the page that started the request (documents) or
    // the request's own third-partiness (subresources), then every hop of
    // the redirect chain.
    let same_site_foreign = !kind.initiator_is_this_site() || kind.redirect_chain_crossed_sites();
    let had_cross_site_redirects =
        kind.initiator_is_this_site() && kind.redirect_chain_crossed_sites();
    let sent_by = if !same_site_foreign {
        FirefoxSentFirstParty
    } else {
        // ProcessSameSiteCookieForForeignRequest, laxByDefault off: an
        // unspecified SameSite counts as None.
        match cookie.same_site {
            SameSite::Strict if had_cross_site_redirects => {
                return excluded(FirefoxCrossSiteRedirect);
            }
            SameSite::Strict => return excluded(FirefoxSameSiteStrict),
            SameSite::None | SameSite::Unspecified => FirefoxSentNone,
            SameSite::Lax => {
                // IsSafeTopLevelNav: a document load with a safe method.
                if kind.is_top_level() && kind.is_safe_method() {
                    FirefoxSentLaxNavigation
                } else if had_cross_site_redirects {
                    return excluded(FirefoxCrossSiteRedirect);
                } else {
                    return excluded(FirefoxSameSiteLax);
                }
            }
        }
    };
    Sending {
        engine: Engine::Firefox,
        sent: true,
        rule: sent_by,
        exclusions: Vec::new(),
        warnings: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Expiry, SameSite};
    use super::*;

    fn cookie(same_site: SameSite, secure: bool) -> StoredCookie {
        StoredCookie {
            name: b"lab-x".to_vec(),
            value: b"1".to_vec(),
            domain: "localhost".to_owned(),
            host_only: true,
            path: b"/".to_vec(),
            secure,
            http_only: true,
            same_site,
            effective_same_site: same_site,
            expiry: Expiry::Session,
            partitioned: false,
        }
    }

    fn url() -> SetterUrl {
        SetterUrl::new(Scheme::Http, "localhost", "/lab/peer/visit").unwrap()
    }

    fn sent(
        engine: Engine,
        kind: RequestKind,
        c: &StoredCookie,
        partition: Partition,
        age: Duration,
        policy: &Policy,
    ) -> Sending {
        sends(
            engine,
            kind,
            &url(),
            &JarCookie {
                cookie: c,
                partition,
                age,
            },
            policy,
        )
    }

    fn young(engine: Engine, kind: RequestKind, c: &StoredCookie) -> Sending {
        sent(
            engine,
            kind,
            c,
            Partition::None,
            Duration::seconds(5),
            &Policy::default(),
        )
    }

    const ALLOW: Policy = Policy {
        chromium_third_party: ChromiumThirdParty::Allow,
        firefox_third_party: FirefoxThirdParty::Accept,
        chromium_block_ambiguous_nameless: true,
    };

    #[test]
    fn every_rule_has_a_source_and_a_reason_and_its_engines_name() {
        for rule in SendRule::ALL {
            let meta = rule.meta();
            assert!(
                !meta.source.is_empty() && meta.reason.ends_with('.'),
                "{rule:?}"
            );
            let chromium_name = format!("{rule:?}").starts_with("Chromium");
            assert_eq!(chromium_name, meta.engine == Engine::Chromium, "{rule:?}");
        }
    }

    #[test]
    fn strict_goes_only_with_a_navigation_this_site_started() {
        let strict = cookie(SameSite::Strict, false);
        for engine in Engine::ALL {
            for kind in RequestKind::ALL {
                let s = young(engine, kind, &strict);
                let expected = kind == RequestKind::SameSiteNavigation
                    || (engine == Engine::Chromium
                        && kind == RequestKind::RedirectBackAfterCrossSite);
                assert_eq!(s.sent, expected, "{engine:?} {kind:?}: {s:?}");
            }
        }
    }

    #[test]
    fn chromium_ignores_the_redirect_chain_with_a_warning_and_firefox_does_not() {
        let strict = cookie(SameSite::Strict, false);
        let kind = RequestKind::RedirectBackAfterCrossSite;
        let c = young(Engine::Chromium, kind, &strict);
        assert!(c.sent);
        assert_eq!(c.warnings, [SendRule::ChromiumSentRedirectChainIgnored]);
        let f = young(Engine::Firefox, kind, &strict);
        assert_eq!(f.rule, SendRule::FirefoxCrossSiteRedirect);
        let lax = cookie(SameSite::Lax, false);
        assert!(young(Engine::Firefox, kind, &lax).sent, "a GET navigation");
    }

    #[test]
    fn lax_goes_with_top_level_gets_only() {
        let lax = cookie(SameSite::Lax, false);
        for engine in Engine::ALL {
            for kind in RequestKind::ALL {
                let expected = kind.is_top_level() && kind.is_safe_method();
                assert_eq!(
                    young(engine, kind, &lax).sent,
                    expected,
                    "{engine:?} {kind:?}"
                );
            }
        }
        let post = young(Engine::Chromium, RequestKind::CrossSiteFormPost, &lax);
        assert_eq!(post.rule, SendRule::ChromiumSameSiteLax);
    }

    #[test]
    fn chromium_sends_a_young_unspecified_cookie_on_a_cross_site_post_and_not_an_old_one() {
        let unspecified = cookie(SameSite::Unspecified, false);
        let at = |seconds| {
            sent(
                Engine::Chromium,
                RequestKind::CrossSiteFormPost,
                &unspecified,
                Partition::None,
                Duration::seconds(seconds),
                &Policy::default(),
            )
        };
        let young = at(120);
        assert!(young.sent, "120 s is still within the window");
        assert_eq!(young.rule, SendRule::ChromiumSentLaxAllowUnsafe);
        let old = at(121);
        assert!(!old.sent);
        assert_eq!(old.rule, SendRule::ChromiumUnspecifiedTreatedAsLax);
        // Firefox treats it as None, whatever its age.
        let firefox = sent(
            Engine::Firefox,
            RequestKind::CrossSiteFormPost,
            &unspecified,
            Partition::None,
            Duration::hours(1),
            &Policy::default(),
        );
        assert!(firefox.sent);
        // The window is for POSTs only: an iframe never gets it.
        assert!(
            !sends(
                Engine::Chromium,
                RequestKind::CrossSiteIframe,
                &url(),
                &JarCookie {
                    cookie: &unspecified,
                    partition: Partition::None,
                    age: Duration::seconds(1)
                },
                &ALLOW
            )
            .sent
        );
    }

    #[test]
    fn third_party_cookies_follow_the_policy_given() {
        let none = cookie(SameSite::None, true);
        for kind in [
            RequestKind::CrossSiteIframe,
            RequestKind::FetchFromCrossSiteIframe,
            RequestKind::CrossSiteImage,
            RequestKind::CrossSiteCorsFetch,
        ] {
            let blocked = young(Engine::Chromium, kind, &none);
            assert_eq!(blocked.rule, SendRule::ChromiumUserPreferences, "{kind:?}");
            let allowed = sent(
                Engine::Chromium,
                kind,
                &none,
                Partition::None,
                Duration::ZERO,
                &ALLOW,
            );
            assert!(allowed.sent, "{kind:?}");
            let partitioned = young(Engine::Firefox, kind, &none);
            assert_eq!(partitioned.rule, SendRule::FirefoxOtherJar, "{kind:?}");
            let accept = sent(
                Engine::Firefox,
                kind,
                &none,
                Partition::None,
                Duration::ZERO,
                &ALLOW,
            );
            assert!(accept.sent, "{kind:?}");
            let reject = Policy {
                firefox_third_party: FirefoxThirdParty::Reject,
                ..Policy::default()
            };
            let rejected = sent(
                Engine::Firefox,
                kind,
                &none,
                Partition::None,
                Duration::ZERO,
                &reject,
            );
            assert_eq!(rejected.rule, SendRule::FirefoxRejectForeign);
        }
    }

    #[test]
    fn firefox_reads_the_partition_of_the_top_level_site_whatever_its_setting() {
        let chips = cookie(SameSite::None, true);
        let at = |policy: &Policy, kind, partition| {
            sent(
                Engine::Firefox,
                kind,
                &chips,
                partition,
                Duration::ZERO,
                policy,
            )
            .sent
        };
        // Measured with cookieBehavior 0 (tests/browser/lab.rs): the CHIPS
        // partition is read there too, beside the site's own jar.
        for kind in [
            RequestKind::CrossSiteIframe,
            RequestKind::CrossSiteCorsFetch,
        ] {
            assert!(at(&ALLOW, kind, Partition::OtherSite), "{kind:?}");
            assert!(at(&ALLOW, kind, Partition::None), "{kind:?}");
            assert!(!at(&ALLOW, kind, Partition::ThisSite), "{kind:?}");
            assert!(!at(&Policy::default(), kind, Partition::None), "{kind:?}");
        }
    }

    #[test]
    fn a_partitioned_cookie_goes_only_where_its_top_level_site_is() {
        let chips = cookie(SameSite::None, true);
        for engine in Engine::ALL {
            let at = |kind, partition| {
                sent(
                    engine,
                    kind,
                    &chips,
                    partition,
                    Duration::ZERO,
                    &Policy::default(),
                )
            };
            assert!(
                at(RequestKind::CrossSiteLink, Partition::ThisSite).sent,
                "{engine:?}"
            );
            assert!(
                !at(RequestKind::CrossSiteIframe, Partition::ThisSite).sent,
                "{engine:?}"
            );
            assert!(
                at(RequestKind::CrossSiteIframe, Partition::OtherSite).sent,
                "{engine:?}"
            );
            assert!(
                !at(RequestKind::CrossSiteLink, Partition::OtherSite).sent,
                "{engine:?}"
            );
        }
    }

    #[test]
    fn secure_domain_and_path_are_checked() {
        let secure = cookie(SameSite::None, true);
        let plain = SetterUrl::new(Scheme::Http, "example.com", "/").unwrap();
        let mut there = secure.clone();
        there.domain = "example.com".to_owned();
        for engine in Engine::ALL {
            let s = sends(
                engine,
                RequestKind::SameSiteNavigation,
                &plain,
                &JarCookie {
                    cookie: &there,
                    partition: Partition::None,
                    age: Duration::ZERO,
                },
                &Policy::default(),
            );
            assert!(!s.sent, "{engine:?}");
            assert!(
                s.rule.id().contains("SECURE") || s.rule.id().contains("Trustworthy"),
                "{s:?}"
            );
            let other_host = sends(
                engine,
                RequestKind::SameSiteNavigation,
                &url(),
                &JarCookie {
                    cookie: &there,
                    partition: Partition::None,
                    age: Duration::ZERO,
                },
                &Policy::default(),
            );
            assert!(!other_host.sent, "{engine:?}");
        }
        assert!(path_matches(b"/", "/lab"));
        assert!(path_matches(b"/lab", "/lab/peer"));
        assert!(!path_matches(b"/lab", "/labs"));
        assert!(path_matches(b"/lab/", "/lab/x"));
        let mut domain_cookie = secure;
        domain_cookie.host_only = false;
        domain_cookie.domain = "example.com".to_owned();
        assert!(domain_matches(&domain_cookie, "a.example.com"));
        assert!(!domain_matches(&domain_cookie, "aexample.com"));
    }
}
