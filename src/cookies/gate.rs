//! What the engines would do with a cookie cookie-lab is about to send: the
//! engine model's verdicts on its exact `Set-Cookie` line, set by the page
//! being answered, in that request's context. [`super::prepare`] refuses a
//! cookie either engine rejects with a reason; it never refuses one that
//! is merely not stored (a deletion must go out) or blocked by a
//! third-party setting.

use time::OffsetDateTime;

use super::context::CookieContext;
use super::finding::{Finding, Severity};
use super::spec::CookieSpec;
use crate::engine::{self, Engine, Outcome, SetterUrl, Verdicts};
use crate::lint::{self, EngineReport, LintReport};

/// The engines' verdicts on one outgoing cookie, and what they mean.
#[derive(Debug, Clone)]
pub(super) struct Judgement {
    /// The exact `Set-Cookie` line judged, which is the one sent.
    pub(super) header: String,
    /// Both engines' verdicts, for the report (the workbench shows them
    /// side by side).
    pub(super) judged: Box<Judged>,
    /// Every reason an engine rejects it for, then every warning, ignored
    /// attribute and piece of advice.
    pub(super) findings: Vec<Finding>,
}

/// What a report of the verdicts needs. The report itself (its text, every
/// reason's explanation) is only built when someone reads it: most cookies
/// are sent without anyone looking, and building it cost more than judging.
#[derive(Debug, Clone)]
pub(super) struct Judged {
    verdicts: Verdicts,
    setter: SetterUrl,
}

impl Judged {
    pub(super) fn report(&self, line: &str) -> LintReport {
        lint::report(&self.verdicts, line.as_bytes(), &self.setter, true)
    }
}

impl Judgement {
    /// Whether an engine rejects the cookie with a reason.
    pub(super) fn rejected(&self) -> bool {
        self.findings.iter().any(Finding::is_error)
    }
}

/// Why a cookie could not be judged at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Unjudgeable(pub(super) String);

/// Judges `spec` as sent by the page of `ctx` at `now`.
pub(super) fn judge(
    spec: &CookieSpec,
    ctx: &CookieContext,
    now: OffsetDateTime,
) -> Result<Judgement, Unjudgeable> {
    let setter = ctx.setter().map_err(|err| {
        Unjudgeable(format!(
            "this request's Host can't be the host of a page ({err}), so no engine would store a cookie for it"
        ))
    })?;
    let header = spec.to_header_value(now);
    let verdicts = engine::evaluate(header.as_bytes(), &setter, ctx.engine_context(), now);
    let judged = Box::new(Judged { verdicts, setter });
    let findings = if says_nothing(&judged.verdicts) {
        Vec::new()
    } else {
        findings_of(&judged.report(&header))
    };
    Ok(Judgement {
        header,
        judged,
        findings,
    })
}

/// True when [`findings_of`] would find nothing: both engines store the
/// cookie (or delete it) with no reason, warning, ignored attribute worth
/// saying or capped lifetime, and there is no advice. Checked on the
/// verdicts, so a cookie with nothing to say needs no report; a test holds
/// it to `findings_of`.
fn says_nothing(verdicts: &Verdicts) -> bool {
    verdicts.advice.is_empty()
        && Engine::ALL.iter().all(|&engine| {
            let verdict = verdicts.get(engine);
            verdict.outcome != Outcome::Rejected
                && verdict.reasons.is_empty()
                && verdict.warnings.is_empty()
                && verdict.ignored.iter().all(|i| i.cause.is_harmless())
                && !verdict
                    .cookie
                    .as_ref()
                    .is_some_and(|c| matches!(c.expiry, engine::Expiry::At { capped: true, .. }))
        })
}

/// The report as findings: each engine's reasons when it rejects the
/// cookie, then its warnings and ignored attributes, the 400-day cap, and
/// the advice.
pub(super) fn findings_of(report: &LintReport) -> Vec<Finding> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for engine in Engine::ALL {
        let verdict: &EngineReport = report.engines.get(engine);
        if verdict.outcome == Outcome::Rejected {
            errors.extend(verdict.reasons.iter().map(|r| Finding {
                id: r.id,
                engine: Some(engine),
                severity: Severity::Error,
                message: format!("{} drops this cookie: {}", name(engine), r.explanation),
                fix: r.fix.to_owned(),
            }));
        }
        warnings.extend(verdict.warnings.iter().map(|r| Finding {
            id: r.id,
            engine: Some(engine),
            severity: Severity::Warning,
            message: format!("{}: {}", name(engine), r.explanation),
            fix: r.fix.to_owned(),
        }));
        let worth_saying = verdict.ignored.iter().filter(|i| !i.cause.is_harmless());
        warnings.extend(worth_saying.map(|ignored| Finding {
            id: ignored.reason.unwrap_or("attribute-ignored"),
            engine: Some(engine),
            severity: Severity::Warning,
            message: format!(
                "{} ignores {}: {}",
                name(engine),
                ignored.attribute,
                ignored.explanation
            ),
            fix: "Remove the attribute, or give it a value the engine accepts.".to_owned(),
        }));
    }
    let capped = Engine::ALL.iter().any(|&engine| {
        report
            .engines
            .get(engine)
            .cookie
            .as_ref()
            .is_some_and(|c| c.capped)
    });
    if capped {
        warnings.push(Finding {
            id: "lifetime-capped",
            engine: None,
            severity: Severity::Warning,
            message: "Both engines shorten this cookie's lifetime to 400 days, the longest they keep a cookie."
                .to_owned(),
            fix: "Set Max-Age (or Expires) to at most 400 days (34560000 seconds) and refresh the cookie while it is in use."
                .to_owned(),
        });
    }
    warnings.extend(report.advice.iter().map(|advice| Finding {
        id: advice.id,
        engine: None,
        severity: Severity::Warning,
        message: advice.explanation.to_owned(),
        fix: advice.fix.to_owned(),
    }));
    errors.extend(warnings);
    errors
}

fn name(engine: Engine) -> &'static str {
    match engine {
        Engine::Chromium => "Chromium",
        Engine::Firefox => "Firefox",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Context, Scheme, bytes};

    /// `says_nothing` is a shortcut for "`findings_of` finds nothing": on
    /// every line of the browser-truth corpus (but those whose dates are
    /// relative to the recording), in every context, over http and https,
    /// the two agree.
    #[test]
    fn says_nothing_exactly_when_there_are_no_findings() {
        let corpus: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/browser-truth/cases.json")).unwrap();
        let now = OffsetDateTime::now_utc();
        let (mut silent, mut checked) = (0, 0);
        for case in corpus["cases"].as_array().unwrap() {
            let line = case["line"].as_str().unwrap();
            if line.contains("{now") {
                continue;
            }
            let line = bytes::unescape(line).unwrap();
            for scheme in [Scheme::Http, Scheme::Https] {
                let setter = SetterUrl::new(scheme, "shop.example.com", "/a/b").unwrap();
                for context in Context::ALL {
                    let verdicts = engine::evaluate(&line, &setter, context, now);
                    let report = lint::report(&verdicts, &line, &setter, true);
                    let quiet = findings_of(&report).is_empty();
                    assert_eq!(
                        says_nothing(&verdicts),
                        quiet,
                        "{case} {scheme:?} {context:?}"
                    );
                    checked += 1;
                    silent += usize::from(quiet);
                }
            }
        }
        assert!(
            checked > 3000 && silent > 100,
            "{checked} checked, {silent} silent"
        );
    }
}
