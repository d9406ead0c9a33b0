//! Linting a `Set-Cookie` line: the engine model's verdicts for Chromium and
//! Firefox, as the report the CLI prints and the API returns.
//!
//! The report is the model's answer in a stable, documented shape: each
//! engine's outcome, the cookie as that engine stores it, the attributes it
//! ignored, and its reasons in its own words with an explanation and a fix.
//! Advice that is not an engine fact is listed apart.

use serde::Serialize;
use thiserror::Error;
use time::OffsetDateTime;

use crate::engine::{
    self, Advice, Context, Engine, Expiry, IgnoreCause, IgnoredAttribute, MODELLED_VERSIONS,
    Outcome, ReasonId, ReasonKind, SameSite, SetterUrl, StoredCookie, Verdicts, bytes,
};

/// What the engines do with the cookie, overall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Both engines store it as sent.
    Accepted,
    /// Both store it, but an engine changes or warns about it, or there is
    /// advice.
    AcceptedWithWarnings,
    /// It expires at once in both: a deletion of any cookie it matches.
    Deleted,
    /// An engine's third-party cookie policy blocks it in this context.
    Blocked,
    /// At least one engine refuses it, with a reason.
    Rejected,
    /// Both engines fail the whole response (a NUL in the header).
    ResponseFailed,
}

/// The report for one line.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LintReport {
    /// The line as read, without any `Set-Cookie:` prefix; bytes outside
    /// printable ASCII (and `\`) written `\xNN`.
    pub set_cookie: String,
    /// The page that sets it.
    pub url: String,
    /// The request context: `same-site`, `cross-site-top-level`,
    /// `cross-site-iframe`, `cross-site-fetch` or `cross-site-image`.
    #[schema(value_type = String)]
    pub context: Context,
    /// Whether the browsers were measured in this context; when not, the
    /// verdicts follow the engines' source only.
    pub measured: bool,
    pub verdict: Verdict,
    /// Each engine's verdict.
    pub engines: Engines,
    /// Advice that is not an engine fact: both engines behave as reported,
    /// but the cookie is risky or read differently by servers.
    pub advice: Vec<AdviceReport>,
    /// What the reader should know about how this was judged.
    pub notes: Vec<String>,
    /// The engine versions whose behaviour is modelled (for information).
    pub modelled: Modelled,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Engines {
    pub chromium: EngineReport,
    pub firefox: EngineReport,
}

impl Engines {
    pub fn get(&self, engine: Engine) -> &EngineReport {
        match engine {
            Engine::Chromium => &self.chromium,
            Engine::Firefox => &self.firefox,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Modelled {
    pub chromium: &'static str,
    pub firefox: &'static str,
}

/// One engine's verdict.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EngineReport {
    /// `stored`, `rejected`, `deleted`, `blocked` or `response-failed`.
    #[schema(value_type = String)]
    pub outcome: Outcome,
    /// In this engine's jar afterwards.
    pub stored: bool,
    /// The cookie as this engine stores it (or, for a deletion, the cookie
    /// it deletes); absent when rejected or blocked.
    pub cookie: Option<CookieReport>,
    /// Attributes that had no effect, and why.
    pub ignored: Vec<IgnoredReport>,
    /// Why the cookie was rejected or blocked, as the engine names it.
    pub reasons: Vec<ReasonReport>,
    /// What the engine reports about a cookie it keeps.
    pub warnings: Vec<ReasonReport>,
}

/// A cookie as one engine stores it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CookieReport {
    /// `\xNN`-escaped bytes.
    pub name: String,
    /// `\xNN`-escaped bytes.
    pub value: String,
    /// Without a leading dot.
    pub domain: String,
    /// Sent only to `domain` itself, not its subdomains.
    pub host_only: bool,
    /// `\xNN`-escaped bytes.
    pub path: String,
    pub secure: bool,
    pub http_only: bool,
    /// As stored: `unspecified`, `none`, `lax` or `strict`.
    #[schema(value_type = String)]
    pub same_site: SameSite,
    /// What the engine enforces (an unspecified SameSite is Lax in Chromium,
    /// None in Firefox).
    #[schema(value_type = String)]
    pub effective_same_site: SameSite,
    /// `session`, or the expiry as RFC 3339 after the 400-day cap.
    pub expires: String,
    /// Seconds from now to the expiry; absent for a session cookie.
    pub expires_in: Option<i64>,
    /// Whether the 400-day cap shortened the lifetime asked for.
    pub capped: bool,
    /// Kept in a jar keyed to the top-level site.
    pub partitioned: bool,
}

/// An attribute that had no effect.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IgnoredReport {
    /// The attribute as written, `\xNN`-escaped.
    pub attribute: String,
    pub value: String,
    /// `too-long`, `unknown`, `overridden`, `invalid-value`, `unparsable`,
    /// `superseded` (Expires beside a valid Max-Age), `not-absolute` or
    /// `other-header-lines`.
    #[schema(value_type = String)]
    pub cause: IgnoreCause,
    pub explanation: &'static str,
    /// The warning the engine logs for it, if any.
    pub reason: Option<&'static str>,
}

/// A reason in the engine's own words.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReasonReport {
    /// The engine's name for it: a Chromium `CookieInclusionStatus`
    /// enumerator or a Firefox console message key.
    pub id: &'static str,
    /// Whether the cookie is dropped for it.
    pub drops_the_cookie: bool,
    pub explanation: &'static str,
    pub fix: &'static str,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AdviceReport {
    pub id: &'static str,
    pub explanation: &'static str,
    pub fix: &'static str,
}

/// Input that is not one Set-Cookie line.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LintInputError {
    #[error("the input is empty: give a Set-Cookie header value such as `id=1; Path=/`")]
    Empty,
    #[error(
        "the input holds a line break: give one Set-Cookie line at a time (write a byte as \\x0a \
         to ask what a line break on the wire does)"
    )]
    LineBreak,
    #[error("{0}")]
    Escape(String),
}

/// The bytes of one `Set-Cookie` header value from text: an optional
/// `Set-Cookie:` prefix is dropped, and `\xNN` escapes stand for bytes.
pub fn line_bytes(input: &str) -> Result<Vec<u8>, LintInputError> {
    let line = strip_header_name(input.trim_matches([' ', '\t']));
    if line.contains(['\r', '\n']) {
        return Err(LintInputError::LineBreak);
    }
    if line.is_empty() {
        return Err(LintInputError::Empty);
    }
    bytes::unescape(line).map_err(|err| LintInputError::Escape(err.to_string()))
}

/// Drops a leading `Set-Cookie:` (any case).
pub fn strip_header_name(line: &str) -> &str {
    const NAME: &str = "set-cookie:";
    match line.get(..NAME.len()) {
        Some(head) if head.eq_ignore_ascii_case(NAME) => line[NAME.len()..].trim_start(),
        _ => line,
    }
}

/// The engines' verdicts on `line`, set by `setter` in `context`, as a
/// report. `url_given` says whether the user named the page: without it,
/// reasons about Domain and Secure are noted as depending on it.
pub fn lint(
    line: &[u8],
    setter: &SetterUrl,
    context: Context,
    now: OffsetDateTime,
    url_given: bool,
) -> LintReport {
    report(
        &engine::evaluate(line, setter, context, now),
        line,
        setter,
        url_given,
    )
}

/// The report of verdicts already computed.
pub fn report(verdicts: &Verdicts, line: &[u8], setter: &SetterUrl, url_given: bool) -> LintReport {
    let engines = Engines {
        chromium: engine_report(&verdicts.chromium),
        firefox: engine_report(&verdicts.firefox),
    };
    let mut notes = Vec::new();
    if !verdicts.measured {
        notes.push(format!(
            "The {} context was not measured in the browsers: these verdicts follow the engines' source, \
             not a recording.",
            verdicts.context.id()
        ));
    }
    let host_dependent = [&verdicts.chromium, &verdicts.firefox]
        .iter()
        .flat_map(|v| v.reasons.iter().chain(&v.warnings))
        .any(|r| depends_on_the_page(*r));
    if !url_given && host_dependent {
        notes.push(format!(
            "Domain and Secure were judged against {}: they depend on the page that sets the cookie, \
             so give its URL.",
            url_of(setter)
        ));
    }
    LintReport {
        set_cookie: bytes::escape(line),
        url: url_of(setter),
        context: verdicts.context,
        measured: verdicts.measured,
        verdict: overall(verdicts),
        engines,
        advice: verdicts
            .advice
            .iter()
            .map(|a: &Advice| AdviceReport {
                id: a.id,
                explanation: a.explanation,
                fix: a.fix,
            })
            .collect(),
        notes,
        modelled: Modelled {
            chromium: MODELLED_VERSIONS[0].1,
            firefox: MODELLED_VERSIONS[1].1,
        },
    }
}

fn url_of(setter: &SetterUrl) -> String {
    let scheme = match setter.scheme() {
        engine::Scheme::Http => "http",
        engine::Scheme::Https => "https",
    };
    format!("{scheme}://{}{}", setter.host(), setter.path())
}

/// Reasons whose answer changes with the page's host or scheme.
fn depends_on_the_page(reason: ReasonId) -> bool {
    let id = reason.meta().id;
    id.contains("DOMAIN") || id.contains("Domain") || id.contains("SECURE") || id.contains("Secure")
}

fn overall(verdicts: &Verdicts) -> Verdict {
    let outcomes = [verdicts.chromium.outcome, verdicts.firefox.outcome];
    let any = |outcome| outcomes.contains(&outcome);
    if any(Outcome::Rejected) {
        Verdict::Rejected
    } else if any(Outcome::ResponseFailed) {
        Verdict::ResponseFailed
    } else if any(Outcome::Blocked) {
        Verdict::Blocked
    } else if any(Outcome::Deleted) {
        Verdict::Deleted
    } else if [&verdicts.chromium, &verdicts.firefox]
        .iter()
        .any(|v| !v.warnings.is_empty() || v.ignored.iter().any(|i| !i.cause.is_harmless()))
        || !verdicts.advice.is_empty()
    {
        Verdict::AcceptedWithWarnings
    } else {
        Verdict::Accepted
    }
}

fn engine_report(verdict: &engine::Verdict) -> EngineReport {
    EngineReport {
        outcome: verdict.outcome,
        stored: verdict.stored,
        cookie: verdict.cookie.as_ref().map(cookie_report),
        ignored: verdict.ignored.iter().map(ignored_report).collect(),
        reasons: verdict.reasons.iter().map(|r| reason_report(*r)).collect(),
        warnings: verdict.warnings.iter().map(|r| reason_report(*r)).collect(),
    }
}

fn cookie_report(cookie: &StoredCookie) -> CookieReport {
    let (expires, expires_in, capped) = match cookie.expiry {
        Expiry::Session => ("session".to_owned(), None, false),
        Expiry::Expired => ("expired".to_owned(), Some(0), false),
        Expiry::At {
            at,
            in_seconds,
            capped,
        } => (
            at.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            Some(in_seconds),
            capped,
        ),
    };
    CookieReport {
        name: bytes::escape(&cookie.name),
        value: bytes::escape(&cookie.value),
        domain: cookie.domain.clone(),
        host_only: cookie.host_only,
        path: bytes::escape(&cookie.path),
        secure: cookie.secure,
        http_only: cookie.http_only,
        same_site: cookie.same_site,
        effective_same_site: cookie.effective_same_site,
        expires,
        expires_in,
        capped,
        partitioned: cookie.partitioned,
    }
}

fn ignored_report(ignored: &IgnoredAttribute) -> IgnoredReport {
    IgnoredReport {
        attribute: bytes::escape(&ignored.name),
        value: bytes::escape(&ignored.value),
        cause: ignored.cause,
        explanation: ignored.cause.explanation(),
        reason: ignored.reason.map(|r| r.meta().id),
    }
}

fn reason_report(reason: ReasonId) -> ReasonReport {
    let meta = reason.meta();
    ReasonReport {
        id: meta.id,
        drops_the_cookie: meta.kind == ReasonKind::Exclusion,
        explanation: meta.explanation,
        fix: meta.fix,
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::engine::Scheme;

    const NOW: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

    fn at(host: &str, line: &str) -> LintReport {
        let setter = SetterUrl::new(Scheme::Http, host, "/p/q/r").unwrap();
        lint(
            &line_bytes(line).unwrap(),
            &setter,
            Context::SameSite,
            NOW,
            true,
        )
    }

    #[test]
    fn input_is_one_line_with_an_optional_header_name_and_escapes() {
        assert_eq!(line_bytes("Set-Cookie: a=1").unwrap(), b"a=1");
        assert_eq!(line_bytes("set-cookie:a=\\x09b").unwrap(), b"a=\tb");
        assert_eq!(line_bytes("  "), Err(LintInputError::Empty));
        assert_eq!(line_bytes("a=1\nb=2"), Err(LintInputError::LineBreak));
        assert!(matches!(
            line_bytes("a=\\xZZ"),
            Err(LintInputError::Escape(_))
        ));
    }

    #[test]
    fn the_engines_verdicts_come_with_the_engines_own_reasons() {
        let tab = at("localhost", "v=a\\x09b");
        assert_eq!(tab.verdict, Verdict::Rejected);
        assert!(!tab.engines.chromium.stored);
        assert_eq!(
            tab.engines.chromium.reasons[0].id,
            "EXCLUDE_DISALLOWED_CHARACTER"
        );
        assert!(tab.engines.firefox.stored);

        let nameless = at("localhost", "novalue");
        let chromium = nameless.engines.chromium.cookie.as_ref().unwrap();
        let firefox = nameless.engines.firefox.cookie.as_ref().unwrap();
        assert_eq!(
            (chromium.name.as_str(), chromium.value.as_str()),
            ("", "novalue")
        );
        assert_eq!(
            (firefox.name.as_str(), firefox.value.as_str()),
            ("novalue", "")
        );
        assert_eq!(chromium.path, "/p/q");
    }

    #[test]
    fn a_deletion_is_not_a_rejection() {
        let report = at("localhost", "n=1; Max-Age=0");
        assert_eq!(report.verdict, Verdict::Deleted);
        assert!(!report.engines.chromium.stored && report.engines.chromium.reasons.is_empty());
    }

    #[test]
    fn a_default_url_is_noted_when_the_host_matters() {
        let setter = SetterUrl::new(Scheme::Https, "example.com", "/").unwrap();
        let report = lint(
            b"n=1; Domain=other.org",
            &setter,
            Context::SameSite,
            NOW,
            false,
        );
        assert_eq!(report.verdict, Verdict::Rejected);
        assert!(
            report.notes.iter().any(|n| n.contains("give its URL")),
            "{:?}",
            report.notes
        );
        let plain = lint(b"n=1", &setter, Context::SameSite, NOW, false);
        assert!(plain.notes.is_empty());
    }
}
