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
    setter: SetterUrl,
    verdicts: Judging,
}

#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "it lives in a Judged, which is always boxed"
)]
enum Judging {
    Done(Verdicts),
    /// Judged by its shape ([`judge_own`]): the verdicts on the line
    /// itself are worked out if a report is asked for.
    ByShape {
        context: engine::Context,
        now: OffsetDateTime,
    },
}

impl Judged {
    pub(super) fn report(&self, line: &str) -> LintReport {
        let verdicts = match &self.verdicts {
            Judging::Done(verdicts) => verdicts,
            Judging::ByShape { context, now } => {
                &engine::evaluate(line.as_bytes(), &self.setter, *context, *now)
            }
        };
        lint::report(verdicts, line.as_bytes(), &self.setter, true)
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
    let setter = setter_of(ctx)?;
    let header = spec.to_header_value(now);
    let verdicts = engine::evaluate(header.as_bytes(), &setter, ctx.engine_context(), now);
    let findings = if says_nothing(&verdicts) {
        Vec::new()
    } else {
        findings_of(&lint::report(&verdicts, header.as_bytes(), &setter, true))
    };
    Ok(Judgement {
        header,
        judged: Box::new(Judged {
            setter,
            verdicts: Judging::Done(verdicts),
        }),
        findings,
    })
}

/// [`judge`] for cookie-lab's own cookies (the login cookie), whose values
/// are base64 (`[A-Za-z0-9+/=._~-]`): the engines judge such a value by its
/// length alone (a test holds them to it), so the findings of a line with
/// the value replaced by as many `a`s are the findings of the line. They
/// are remembered per thread for the last such shape, which changes once a
/// second with `Expires`: judging the login cookie with both engines cost
/// more than the rest of a login (docs/PERFORMANCE.md). Any other value is
/// judged as [`judge`] does.
pub(super) fn judge_own(
    spec: &CookieSpec,
    ctx: &CookieContext,
    now: OffsetDateTime,
) -> Result<Judgement, Unjudgeable> {
    let header = spec.to_header_value(now);
    let Some(shape) = shape_of(&header) else {
        return judge(spec, ctx, now);
    };
    let context = ctx.engine_context();
    let setter = setter_of(ctx)?;
    let key = (shape, setter.clone(), context);
    let remembered = LAST_SHAPE.with(|last| {
        let last = last.borrow();
        last.as_ref()
            .filter(|(known, _)| *known == key)
            .map(|(_, findings)| findings.clone())
    });
    let findings = match remembered {
        Some(findings) => findings,
        None => {
            let judged = judge(spec, ctx, now)?;
            if judged.rejected() {
                return Ok(judged);
            }
            LAST_SHAPE.with(|last| *last.borrow_mut() = Some((key, judged.findings.clone())));
            judged.findings
        }
    };
    Ok(Judgement {
        header,
        judged: Box::new(Judged {
            setter,
            verdicts: Judging::ByShape { context, now },
        }),
        findings,
    })
}

type ShapeKey = (String, SetterUrl, engine::Context);

thread_local! {
    /// The last own-cookie shape judged on this thread, and its findings.
    static LAST_SHAPE: std::cell::RefCell<Option<(ShapeKey, Vec<Finding>)>> =
        const { std::cell::RefCell::new(None) };
}

/// The line with its value replaced by as many `a`s, when the value is of
/// `[A-Za-z0-9+/=._~-]`; `None` otherwise.
fn shape_of(header: &str) -> Option<String> {
    let (name, rest) = header.split_once('=')?;
    let end = rest.find(';').unwrap_or(rest.len());
    let (value, attributes) = rest.split_at(end);
    let token = value.bytes().all(|b| {
        b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'.' | b'_' | b'~' | b'-')
    });
    if !token {
        return None;
    }
    let mut shape = String::with_capacity(header.len());
    shape.push_str(name);
    shape.push('=');
    shape.extend(std::iter::repeat_n('a', value.len()));
    shape.push_str(attributes);
    Some(shape)
}

fn setter_of(ctx: &CookieContext) -> Result<SetterUrl, Unjudgeable> {
    ctx.setter().map_err(|err| {
        Unjudgeable(format!(
            "this request's Host can't be the host of a page ({err}), so no engine would store a cookie for it"
        ))
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
    use proptest::prelude::*;

    use super::*;
    use crate::engine::{Context, Scheme, bytes};

    proptest! {
        /// What `judge_own` relies on: for a value of `[A-Za-z0-9+/=._~-]`,
        /// the findings are those of the line with the value replaced by as
        /// many `a`s, in every context, at every length (across 4096).
        #[test]
        fn a_token_value_is_judged_by_its_length(
            value in "[A-Za-z0-9+/=._~-]{0,40}",
            pad in prop::sample::select(vec![0usize, 100, 4070, 4086, 4090, 4200]),
            https in any::<bool>(),
            attributes in prop::sample::select(vec![
                "; HttpOnly; SameSite=Lax; Path=/; Max-Age=604800",
                "; Secure; HttpOnly; SameSite=Lax; Path=/",
                "; Path=/",
                "",
            ]),
        ) {
            let now = OffsetDateTime::now_utc();
            let name = if https { "__Host-lab_session" } else { "lab_session" };
            let line = format!("{name}={value}{}{attributes}", "Z".repeat(pad));
            let shape = shape_of(&line).unwrap();
            let scheme = if https { Scheme::Https } else { Scheme::Http };
            let setter = SetterUrl::new(scheme, "127.0.0.1", "/login").unwrap();
            for context in Context::ALL {
                let findings = |line: &str| {
                    let verdicts = engine::evaluate(line.as_bytes(), &setter, context, now);
                    findings_of(&lint::report(&verdicts, line.as_bytes(), &setter, true))
                };
                let (real, shaped) = (findings(&line), findings(&shape));
                prop_assert_eq!(real.len(), shaped.len());
                for (a, b) in real.iter().zip(&shaped) {
                    prop_assert_eq!((a.id, a.engine, a.severity), (b.id, b.engine, b.severity));
                }
            }
        }
    }

    #[test]
    fn only_token_values_have_a_shape() {
        assert_eq!(
            shape_of("lab_session=k1.Ab+/Z_-~9=; Path=/").as_deref(),
            Some("lab_session=aaaaaaaaaaaaa; Path=/")
        );
        assert_eq!(shape_of("a=\"x\"; Path=/"), None);
        assert_eq!(shape_of("a=x%20y"), None);
        assert_eq!(shape_of("a=x y"), None);
    }

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
