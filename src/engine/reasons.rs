//! Every reason the engine model can give, declared once: the id the engine
//! itself uses (Chromium's `CookieInclusionStatus` enumerator, Firefox's
//! console message key from `necko.properties`), whether it drops the cookie
//! or only warns, where in the engine's source it comes from, and what it
//! means and how to fix it in plain words.
//!
//! The enum, its `ALL` list and the metadata come from one macro invocation,
//! so a reason cannot exist without its explanation. The model emits only
//! [`ReasonId`] values, and `tests` in `engine.rs` prove that each one is
//! reachable from some `Set-Cookie` line.

use serde::{Deserialize, Serialize, Serializer};

/// The two engines the model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Chromium,
    Firefox,
}

impl Engine {
    pub const ALL: [Engine; 2] = [Engine::Chromium, Engine::Firefox];

    pub fn name(self) -> &'static str {
        match self {
            Engine::Chromium => "chromium",
            Engine::Firefox => "firefox",
        }
    }
}

/// Whether the engine drops the cookie for this reason or only reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasonKind {
    /// The cookie is not stored (a Chromium `EXCLUDE_*`, a Firefox rejection).
    Exclusion,
    /// The cookie is stored; the engine reports something it changed or
    /// ignored (a Chromium `WARN_*`, a Firefox warning or info message).
    Warning,
}

/// Metadata of one reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReasonMeta {
    /// The engine's own name for it.
    pub id: &'static str,
    pub engine: Engine,
    pub kind: ReasonKind,
    /// The source file and function the model follows.
    pub source: &'static str,
    pub explanation: &'static str,
    pub fix: &'static str,
}

macro_rules! reasons {
    ($(
        $variant:ident => {
            id: $id:literal,
            engine: $engine:ident,
            kind: $kind:ident,
            source: $source:literal,
            explanation: $explanation:literal,
            fix: $fix:literal $(,)?
        }
    ),+ $(,)?) => {
        /// A reason an engine gives for what it did with a cookie.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ReasonId { $($variant),+ }

        impl ReasonId {
            /// Every reason, in declaration order.
            pub const ALL: &'static [ReasonId] = &[$(ReasonId::$variant),+];

            /// This reason's metadata.
            pub fn meta(self) -> &'static ReasonMeta {
                match self {
                    $(ReasonId::$variant => &ReasonMeta {
                        id: $id,
                        engine: Engine::$engine,
                        kind: ReasonKind::$kind,
                        source: $source,
                        explanation: $explanation,
                        fix: $fix,
                    }),+
                }
            }
        }
    };
}

impl ReasonId {
    /// The engine's own name for the reason.
    pub fn id(self) -> &'static str {
        self.meta().id
    }

    pub fn engine(self) -> Engine {
        self.meta().engine
    }

    pub fn is_exclusion(self) -> bool {
        self.meta().kind == ReasonKind::Exclusion
    }

    /// Looks a reason up by the engine's own name.
    pub fn from_id(id: &str) -> Option<ReasonId> {
        ReasonId::ALL.iter().copied().find(|r| r.id() == id)
    }
}

impl Serialize for ReasonId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

reasons! {
    // ---- Chromium: ParsedCookie (net/cookies/parsed_cookie.cc) ----
    ChromiumNoCookieContent => {
        id: "EXCLUDE_NO_COOKIE_CONTENT",
        engine: Chromium,
        kind: Exclusion,
        source: "net/cookies/parsed_cookie.cc ParsedCookie::ParseTokenValuePairs, IsValidCookieNameValuePair",
        explanation: "The line has neither a name nor a value (it is empty, only whitespace, or just `=`), so there is nothing to store.",
        fix: "Send `name=value` with a non-empty name or value.",
    },
    ChromiumDisallowedCharacter => {
        id: "EXCLUDE_DISALLOWED_CHARACTER",
        engine: Chromium,
        kind: Exclusion,
        source: "net/cookies/parsed_cookie.cc ParsedCookie::ParseTokenValuePairs (FindFirstTerminator, IsValidCookieName, IsValidCookieValue, CookieAttributeValueHasValidCharSet)",
        explanation: "The line holds a control character (0x00-0x1F or 0x7F) in the name, the value, an attribute name or an attribute value. Chromium counts a tab inside a name or value as one too; only leading and trailing spaces and tabs are trimmed. NUL, CR and LF anywhere reject the line.",
        fix: "Remove the control characters; percent-encode or base64 the value if it must carry arbitrary bytes.",
    },
    ChromiumNameValuePairExceedsMaxSize => {
        id: "EXCLUDE_NAME_VALUE_PAIR_EXCEEDS_MAX_SIZE",
        engine: Chromium,
        kind: Exclusion,
        source: "net/cookies/parsed_cookie.cc ParsedCookie::IsValidCookieNameValuePair (kMaxCookieNamePlusValueSize = 4096)",
        explanation: "The name and value together are longer than 4096 bytes (after trimming surrounding whitespace).",
        fix: "Keep name plus value at 4096 bytes or less: store an id in the cookie and the data on the server.",
    },
    ChromiumAmbiguousSerialization => {
        id: "EXCLUDE_AMBIGUOUS_SERIALIZATION",
        engine: Chromium,
        kind: Exclusion,
        source: "net/cookies/cookie_inclusion_status.h EXCLUDE_AMBIGUOUS_SERIALIZATION (newest Chromium; Policy::chromium_block_ambiguous_nameless)",
        explanation: "The cookie has no name and its value contains `=` (`=a=b`). It would be sent back as `a=b` and could pass for a cookie named `a`.",
        fix: "Give the cookie a name.",
    },
    // ---- Chromium: CanonicalCookie::Create (net/cookies/canonical_cookie.cc) ----
    ChromiumInvalidDomain => {
        id: "EXCLUDE_INVALID_DOMAIN",
        engine: Chromium,
        kind: Exclusion,
        source: "net/cookies/canonical_cookie.cc CanonicalCookie::Create; net/cookies/cookie_util.cc GetCookieDomainWithString",
        explanation: "The Domain attribute is not the setting host or a parent of it within the same site: it names another site, a public suffix or a bare name (unless equal to the host), an IP address other than the host, contains `%` or a character a host cannot hold, or ends with a dot the host does not have.",
        fix: "Leave Domain out for a host-only cookie, or set it to the host or one of its parents, written exactly (no trailing dot).",
    },
    ChromiumDomainMismatch => {
        id: "EXCLUDE_DOMAIN_MISMATCH",
        engine: Chromium,
        kind: Exclusion,
        source: "net/cookies/cookie_util.cc GetCookieDomainWithString (the registrable domains of the host and of Domain differ)",
        explanation: "The Domain attribute belongs to a different site (registrable domain) than the URL that sets the cookie.",
        fix: "A site can only set cookies for itself: set Domain to this host or a parent within the same registrable domain, or leave it out.",
    },
    ChromiumInvalidPrefix => {
        id: "EXCLUDE_INVALID_PREFIX",
        engine: Chromium,
        kind: Exclusion,
        source: "net/cookies/cookie_util.cc GetCookiePrefix, IsCookiePrefixValid, HasHiddenPrefixName; net/cookies/canonical_cookie.cc CanonicalCookie::Create",
        explanation: "The name starts with a cookie prefix (any letter case) whose rules the cookie breaks: `__Secure-` needs Secure from a secure or localhost URL; `__Host-` also needs `Path=/` and no Domain (except Domain equal to an IP host); `__Http-` needs Secure and HttpOnly; `__Host-Http-` needs all of these. A nameless cookie whose value starts with a prefix is rejected too.",
        fix: "Add the attributes the prefix demands (Secure, HttpOnly, Path=/, no Domain) and serve over HTTPS, or rename the cookie.",
    },
    ChromiumInvalidPartitioned => {
        id: "EXCLUDE_INVALID_PARTITIONED",
        engine: Chromium,
        kind: Exclusion,
        source: "net/cookies/cookie_util.cc IsCookiePartitionedValid; net/cookies/canonical_cookie.cc CanonicalCookie::Create",
        explanation: "A Partitioned cookie must be Secure and set from a secure (or localhost) URL.",
        fix: "Add Secure and serve over HTTPS, or drop Partitioned.",
    },
    // ---- Chromium: cookie settings (net/url_request/url_request_http_job.cc) ----
    ChromiumUserPreferences => {
        id: "EXCLUDE_USER_PREFERENCES",
        engine: Chromium,
        kind: Exclusion,
        source: "net/url_request/url_request_http_job.cc SaveCookiesAndNotifyHeadersComplete (CanSetCookie); third-party cookies blocked by the profile's settings",
        explanation: "Third-party cookies are blocked in this profile, and this response is a cross-site subresource (iframe, fetch, image). Only a Partitioned cookie may be set here.",
        fix: "Add `Partitioned; Secure; SameSite=None` so the cookie lives in a jar keyed to the top-level site, or set the cookie from a top-level navigation, or ask for storage access.",
    },
    // ---- Chromium: CookieBase::IsSetPermittedInContext (net/cookies/cookie_base.cc) ----
    ChromiumSecureOnly => {
        id: "EXCLUDE_SECURE_ONLY",
        engine: Chromium,
        kind: Exclusion,
        source: "net/cookies/cookie_base.cc CookieBase::IsSetPermittedInContext (cookie_util::ProvisionalAccessScheme)",
        explanation: "A Secure cookie can only be set from https, or from localhost, *.localhost or a loopback IP over http.",
        fix: "Serve the page over HTTPS, or drop Secure while developing on a plain-http host.",
    },
    ChromiumSameSiteNoneInsecure => {
        id: "EXCLUDE_SAMESITE_NONE_INSECURE",
        engine: Chromium,
        kind: Exclusion,
        source: "net/cookies/cookie_base.cc CookieBase::IsSetPermittedInContext",
        explanation: "SameSite=None is only accepted together with Secure.",
        fix: "Add Secure (and serve over HTTPS), or use SameSite=Lax.",
    },
    ChromiumSameSiteStrict => {
        id: "EXCLUDE_SAMESITE_STRICT",
        engine: Chromium,
        kind: Exclusion,
        source: "net/cookies/cookie_base.cc CookieBase::IsSetPermittedInContext",
        explanation: "A SameSite=Strict cookie cannot be set by a cross-site subresource response (iframe, fetch, image).",
        fix: "Set it from a same-site response or a top-level navigation, or use `SameSite=None; Secure` (with Partitioned when third-party cookies are blocked).",
    },
    ChromiumSameSiteLax => {
        id: "EXCLUDE_SAMESITE_LAX",
        engine: Chromium,
        kind: Exclusion,
        source: "net/cookies/cookie_base.cc CookieBase::IsSetPermittedInContext",
        explanation: "A SameSite=Lax cookie cannot be set by a cross-site subresource response (iframe, fetch, image).",
        fix: "Set it from a same-site response or a top-level navigation, or use `SameSite=None; Secure` (with Partitioned when third-party cookies are blocked).",
    },
    ChromiumSameSiteUnspecifiedTreatedAsLax => {
        id: "EXCLUDE_SAMESITE_UNSPECIFIED_TREATED_AS_LAX",
        engine: Chromium,
        kind: Exclusion,
        source: "net/cookies/cookie_base.cc CookieBase::IsSetPermittedInContext, GetEffectiveSameSite",
        explanation: "The cookie has no valid SameSite attribute, so Chromium treats it as Lax, and a Lax cookie cannot be set by a cross-site subresource response (iframe, fetch, image).",
        fix: "Say `SameSite=None; Secure` if the cookie is meant for cross-site use, or set it from a same-site response.",
    },
    ChromiumWarnAttributeValueExceedsMaxSize => {
        id: "WARN_ATTRIBUTE_VALUE_EXCEEDS_MAX_SIZE",
        engine: Chromium,
        kind: Warning,
        source: "net/cookies/parsed_cookie.cc ParsedCookie::ParseTokenValuePairs (kMaxCookieAttributeValueSize = 1024)",
        explanation: "An attribute value is longer than 1024 bytes, so the attribute is ignored; the cookie is kept without it.",
        fix: "Keep every attribute value at 1024 bytes or less.",
    },
    ChromiumWarnDomainNonAscii => {
        id: "WARN_DOMAIN_NON_ASCII",
        engine: Chromium,
        kind: Warning,
        source: "net/cookies/cookie_util.cc GetCookieDomainWithString (kCookieDomainRejectNonASCII is off by default)",
        explanation: "The Domain attribute holds non-ASCII bytes. Chromium only warns today; the cookie standard says to ignore such cookies.",
        fix: "Write the domain in its ASCII (punycode, xn--) form.",
    },
    ChromiumWarnSecureAccessGrantedNonCryptographic => {
        id: "WARN_SECURE_ACCESS_GRANTED_NON_CRYPTOGRAPHIC",
        engine: Chromium,
        kind: Warning,
        source: "net/cookies/cookie_base.cc CookieBase::IsSetPermittedInContext (CookieAccessScheme::kTrustworthy)",
        explanation: "A Secure cookie was accepted over plain http because the host is localhost, *.localhost or a loopback IP. It will be refused on any other http host.",
        fix: "Nothing to do on localhost; serve over HTTPS everywhere else.",
    },
    // ---- Firefox: CookieParser (netwerk/cookie/CookieParser.cpp) ----
    FirefoxInvalidCharAttributes => {
        id: "CookieRejectedInvalidCharAttributes",
        engine: Firefox,
        kind: Exclusion,
        source: "netwerk/cookie/CookieParser.cpp CookieParser::ParseAttributes (ContainsControlChars)",
        explanation: "An attribute name or value holds a control character (0x00-0x1F except tab, or 0x7F).",
        fix: "Remove the control characters from the attributes.",
    },
    FirefoxForeignNoPartitionedError => {
        id: "CookieForeignNoPartitionedError",
        engine: Firefox,
        kind: Exclusion,
        source: "netwerk/cookie/CookieParser.cpp CookieParser::Parse (network.cookie.cookieBehavior.optInPartitioning)",
        explanation: "Firefox is set to accept only Partitioned cookies from third-party contexts, and this cross-site response sets an unpartitioned one.",
        fix: "Add `Partitioned; Secure` to cookies meant for third-party contexts.",
    },
    FirefoxThirdParty => {
        id: "CookieRejectedThirdParty",
        engine: Firefox,
        kind: Exclusion,
        source: "netwerk/cookie/CookieService.cpp CookieService::CheckPrefs (network.cookie.cookieBehavior = 1, reject foreign)",
        explanation: "Firefox is set to reject all third-party cookies, and this response is a cross-site subresource.",
        fix: "Set the cookie from a first-party (top-level) response, or ask for storage access.",
    },
    // ---- Firefox: CookieValidation (netwerk/cookie/CookieValidation.cpp) ----
    FirefoxEmptyNameAndValue => {
        id: "CookieRejectedEmptyNameAndValue",
        engine: Firefox,
        kind: Exclusion,
        source: "netwerk/cookie/CookieValidation.cpp CookieValidation::ValidateInternal",
        explanation: "The line has neither a name nor a value.",
        fix: "Send `name=value` with a non-empty name.",
    },
    FirefoxOversize => {
        id: "CookieOversize",
        engine: Firefox,
        kind: Exclusion,
        source: "netwerk/cookie/CookieValidation.cpp CookieValidation::CheckNameAndValueSize (kMaxBytesPerCookie = 4096)",
        explanation: "The name and value together are longer than 4096 bytes.",
        fix: "Keep name plus value at 4096 bytes or less: store an id in the cookie and the data on the server.",
    },
    FirefoxInvalidCharName => {
        id: "CookieRejectedInvalidCharName",
        engine: Firefox,
        kind: Exclusion,
        source: "netwerk/cookie/CookieValidation.cpp CookieValidation::CheckName (network.cookie.valueless_cookie rejects an empty name)",
        explanation: "The name is empty or holds a control character other than tab. Firefox reads a line without `=` as a name with an empty value, and refuses a cookie without a name (`=value`).",
        fix: "Give the cookie a name made of printable characters: `name=value`.",
    },
    FirefoxInvalidCharValue => {
        id: "CookieRejectedInvalidCharValue",
        engine: Firefox,
        kind: Exclusion,
        source: "netwerk/cookie/CookieValidation.cpp CookieValidation::CheckValue",
        explanation: "The value holds a control character other than tab (0x00-0x08, 0x0A-0x1F, 0x7F).",
        fix: "Remove the control characters; percent-encode or base64 the value if it must carry arbitrary bytes.",
    },
    FirefoxInvalidPath => {
        id: "CookieRejectedInvalidPath",
        engine: Firefox,
        kind: Exclusion,
        source: "netwerk/cookie/CookieValidation.cpp CookieValidation::ValidateInternal (path contains a tab)",
        explanation: "The path holds a tab character.",
        fix: "Remove the tab from Path.",
    },
    FirefoxNoneRequiresSecure => {
        id: "CookieRejectedNonRequiresSecure2",
        engine: Firefox,
        kind: Exclusion,
        source: "netwerk/cookie/CookieValidation.cpp CookieValidation::ValidateInternal (network.cookie.sameSite.noneRequiresSecure = true)",
        explanation: "SameSite=None is only accepted together with Secure.",
        fix: "Add Secure (and serve over HTTPS), or use SameSite=Lax.",
    },
    FirefoxInvalidDomain => {
        id: "CookieRejectedInvalidDomain",
        engine: Firefox,
        kind: Exclusion,
        source: "netwerk/cookie/CookieValidation.cpp CookieValidation::CheckDomain; netwerk/cookie/CookieParser.cpp CookieParser::FixDomain",
        explanation: "The Domain attribute is not the setting host or a parent of it within the same site. For an IP address, `localhost`, another single-label name or a public suffix, Firefox requires Domain to equal the host exactly.",
        fix: "Leave Domain out for a host-only cookie, or set it to the host or one of its parents within the same site, without a trailing dot.",
    },
    FirefoxInvalidPrefix => {
        id: "CookieRejectedInvalidPrefix",
        engine: Firefox,
        kind: Exclusion,
        source: "netwerk/cookie/CookiePrefixes.cpp CookiePrefixes::Check; netwerk/cookie/CookieValidation.cpp ValidateForHostInternal",
        explanation: "The name starts with a cookie prefix (any letter case) whose rules the cookie breaks: `__Secure-` needs Secure from a potentially trustworthy URL; `__Host-` also needs `Path=/` and no domain cookie; `__Http-` needs Secure and HttpOnly; `__Host-Http-` needs all of these.",
        fix: "Add the attributes the prefix demands (Secure, HttpOnly, Path=/, no Domain) and serve over HTTPS, or rename the cookie.",
    },
    FirefoxSecureButNonHttps => {
        id: "CookieRejectedSecureButNonHttps",
        engine: Firefox,
        kind: Exclusion,
        source: "netwerk/cookie/CookieValidation.cpp ValidateForHostInternal (nsMixedContentBlocker::IsPotentiallyTrustworthyOrigin)",
        explanation: "A Secure cookie can only be set from https, or from localhost or a loopback IP over http.",
        fix: "Serve the page over HTTPS, or drop Secure while developing on a plain-http host.",
    },
    FirefoxForNonSameSiteness => {
        id: "CookieRejectedForNonSameSiteness",
        engine: Firefox,
        kind: Exclusion,
        source: "netwerk/cookie/CookieValidation.cpp ValidateInContextInternal (network.cookie.sameSite.laxByDefault = false)",
        explanation: "A cookie with an explicit SameSite=Lax or SameSite=Strict cannot be set by a cross-site response. (Without SameSite, Firefox treats the cookie as None and allows it.)",
        fix: "Set it from a same-site response, or use `SameSite=None; Secure` if it is meant for cross-site use.",
    },
    FirefoxPartitionedRequiresSecure => {
        id: "CookieRejectedPartitionedRequiresSecure",
        engine: Firefox,
        kind: Exclusion,
        source: "netwerk/cookie/CookieValidation.cpp ValidateInContextInternal (network.cookie.CHIPS.enabled = true)",
        explanation: "A Partitioned cookie must be Secure.",
        fix: "Add Secure (and serve over HTTPS), or drop Partitioned.",
    },
    FirefoxAttributeIgnored => {
        id: "CookieAttributeIgnored",
        engine: Firefox,
        kind: Warning,
        source: "netwerk/cookie/CookieParser.cpp CookieParser::CheckAttributeSize (ATTRIBUTE_MAX_LENGTH = 1024)",
        explanation: "An attribute value is longer than 1024 bytes, so the attribute is ignored; the cookie is kept without it.",
        fix: "Keep every attribute value at 1024 bytes or less.",
    },
    FirefoxAttributeOverwritten => {
        id: "CookieAttributeOverwritten",
        engine: Firefox,
        kind: Warning,
        source: "netwerk/cookie/CookieParser.cpp CookieParser::CheckAttributeSize",
        explanation: "The same attribute appears more than once; the last one wins.",
        fix: "Send each attribute once.",
    },
    FirefoxSameSiteValueInvalid => {
        id: "CookieSameSiteValueInvalid2",
        engine: Firefox,
        kind: Warning,
        source: "netwerk/cookie/CookieParser.cpp CookieParser::ParseAttributes",
        explanation: "The SameSite value is not Strict, Lax or None, so the attribute counts as absent.",
        fix: "Write SameSite=Strict, SameSite=Lax or SameSite=None.",
    },
    FirefoxInvalidMaxAge => {
        id: "CookieInvalidMaxAgeAttribute",
        engine: Firefox,
        kind: Warning,
        source: "netwerk/cookie/CookieParser.cpp CookieParser::ParseMaxAgeAttribute",
        explanation: "Max-Age holds something other than digits (a leading `-` aside), so it is ignored and Expires, if any, decides.",
        fix: "Write Max-Age as a whole number of seconds.",
    },
    FirefoxForeignNoPartitionedWarning => {
        id: "CookieForeignNoPartitionedWarning",
        engine: Firefox,
        kind: Warning,
        source: "netwerk/cookie/CookieParser.cpp CookieParser::Parse (network.cookie.cookieBehavior = 5, Total Cookie Protection)",
        explanation: "This cross-site response sets a cookie without Partitioned. Firefox stores it in a jar keyed to the top-level site (Total Cookie Protection) and warns that unpartitioned third-party cookies will be refused in future.",
        fix: "Add `Partitioned; Secure` to cookies meant for third-party contexts.",
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_named_by_the_engine_convention() {
        let mut seen = std::collections::HashSet::new();
        for reason in ReasonId::ALL {
            let meta = reason.meta();
            assert!(seen.insert(meta.id), "duplicate id {}", meta.id);
            match meta.engine {
                Engine::Chromium => assert!(
                    meta.id.starts_with("EXCLUDE_") || meta.id.starts_with("WARN_"),
                    "{}",
                    meta.id
                ),
                Engine::Firefox => assert!(meta.id.starts_with("Cookie"), "{}", meta.id),
            }
            let is_warn_id = meta.id.starts_with("WARN_");
            if meta.engine == Engine::Chromium {
                assert_eq!(is_warn_id, meta.kind == ReasonKind::Warning, "{}", meta.id);
            }
            assert!(!meta.explanation.is_empty() && !meta.fix.is_empty());
            assert!(
                meta.source.contains('/'),
                "{} names no source file",
                meta.id
            );
            assert_eq!(ReasonId::from_id(meta.id), Some(*reason));
        }
    }

    #[test]
    fn serialises_as_the_engine_id() {
        assert_eq!(
            serde_json::to_string(&ReasonId::ChromiumInvalidPrefix).unwrap(),
            "\"EXCLUDE_INVALID_PREFIX\""
        );
    }
}
