//! What the engines would do with a cookie cookie-lab is about to send: the
//! engine model's verdicts on its exact `Set-Cookie` line, set by the page
//! being answered, in that request's context. [`super::prepare`] refuses a
//! cookie either engine rejects with a reason; it never refuses one that
//! is merely not stored (a deletion must go out) or blocked by a
//! third-party setting.

use std::sync::Arc;

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
    /// Shared with the memo of judged shapes ([`shapes`]).
    setter: Arc<SetterUrl>,
    verdicts: Judging,
}

#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "it lives in a Judged, which is always boxed"
)]
enum Judging {
    Done(Verdicts),
    /// Judged by its shape ([`shapes`]): the verdicts on the line itself
    /// are worked out if a report is asked for.
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
///
/// Both engines judge a value of `[A-Za-z0-9+/=._~-]` after a non-empty
/// name by its length alone (a test holds them to it, in every context,
/// for any name and attributes), so the findings of a line are those of
/// its *shape*, the line with the value replaced by as many `a`s. The
/// last few shapes judged on this thread are remembered with their
/// findings ([`shapes`]): the same cookie with another user's value, or
/// the login cookie sealed for the next user, is not judged again. Judging
/// a line with both engines cost more than the rest of most requests
/// (docs/PERFORMANCE.md). Any other value is judged every time.
pub(super) fn judge(
    spec: &CookieSpec,
    ctx: &CookieContext,
    now: OffsetDateTime,
) -> Result<Judgement, Unjudgeable> {
    let header = spec.to_header_value(now);
    let context = ctx.engine_context();
    if let Some((setter, findings)) = shapes::recall(&header, ctx, now) {
        return Ok(Judgement {
            header,
            judged: Box::new(Judged {
                setter,
                verdicts: Judging::ByShape { context, now },
            }),
            findings,
        });
    }
    let setter = Arc::new(setter_of(ctx)?);
    let verdicts = engine::evaluate(header.as_bytes(), &setter, context, now);
    let findings = if says_nothing(&verdicts) {
        Vec::new()
    } else {
        findings_of(&lint::report(&verdicts, header.as_bytes(), &setter, true))
    };
    shapes::remember(&header, ctx, now, &setter, &findings);
    Ok(Judgement {
        header,
        judged: Box::new(Judged {
            setter,
            verdicts: Judging::Done(verdicts),
        }),
        findings,
    })
}

/// The memo of [`judge`]: per thread, the last [`shapes::KEPT`] shapes
/// judged, each with the page that set it (the findings depend on the
/// setter's scheme, host and path and on the request's context) and the
/// second it was judged in (they depend on `now` only through Expires and
/// the 400-day cap, both whole seconds).
mod shapes {
    use std::cell::RefCell;
    use std::ops::Range;
    use std::sync::Arc;

    use time::OffsetDateTime;

    use super::{CookieContext, Finding, SetterUrl, engine};

    /// Enough for the few cookies one server sets over and over.
    pub(super) const KEPT: usize = 8;

    struct Shape {
        /// The line with its value replaced by as many `a`s.
        line: String,
        /// Where the value is in `line`.
        value: Range<usize>,
        host: String,
        path: String,
        https: bool,
        context: engine::Context,
        second: i64,
        setter: Arc<SetterUrl>,
        findings: Vec<Finding>,
    }

    thread_local! {
        static KNOWN: RefCell<(Vec<Shape>, usize)> = const { RefCell::new((Vec::new(), 0)) };
    }

    /// The setter and findings of `line`'s shape, if it was judged in
    /// this context in this second.
    pub(super) fn recall(
        line: &str,
        ctx: &CookieContext,
        now: OffsetDateTime,
    ) -> Option<(Arc<SetterUrl>, Vec<Finding>)> {
        let value = value_of(line)?;
        let second = now.unix_timestamp();
        KNOWN.with(|known| {
            let known = known.borrow();
            known
                .0
                .iter()
                .find(|shape| {
                    shape.second == second
                        && shape.https == ctx.https()
                        && shape.context == ctx.engine_context()
                        && shape.host == ctx.host()
                        && shape.path == ctx.path()
                        && shape.value == value
                        && has_shape(line, &value, &shape.line)
                })
                .map(|shape| (Arc::clone(&shape.setter), shape.findings.clone()))
        })
    }

    /// Remembers what `line` was judged to be, if it has a shape.
    pub(super) fn remember(
        line: &str,
        ctx: &CookieContext,
        now: OffsetDateTime,
        setter: &Arc<SetterUrl>,
        findings: &[Finding],
    ) {
        let Some(value) = value_of(line) else { return };
        let shape = Shape {
            line: shape_of(line, value.clone()),
            value,
            host: ctx.host().to_owned(),
            path: ctx.path().to_owned(),
            https: ctx.https(),
            context: ctx.engine_context(),
            second: now.unix_timestamp(),
            setter: Arc::clone(setter),
            findings: findings.to_vec(),
        };
        KNOWN.with(|known| {
            let (shapes, next) = &mut *known.borrow_mut();
            if shapes.len() < KEPT {
                shapes.push(shape);
            } else {
                shapes[*next] = shape;
                *next = (*next + 1) % KEPT;
            }
        });
    }

    /// Where the value of `line` is (a byte range), when the name is not
    /// empty and the value is of `[A-Za-z0-9+/=._~-]`.
    pub(super) fn value_of(line: &str) -> Option<Range<usize>> {
        let bytes = line.as_bytes();
        let name_end = memchr::memchr(b'=', bytes)?;
        if name_end == 0 {
            // A nameless cookie's value is read for prefixes and `=`.
            return None;
        }
        let start = name_end + 1;
        let end = memchr::memchr(b';', &bytes[start..]).map_or(bytes.len(), |at| start + at);
        bytes[start..end]
            .iter()
            .all(|&b| SHAPELESS[usize::from(b)])
            .then_some(start..end)
    }

    /// The bytes of `[A-Za-z0-9+/=._~-]`, as a table: the login cookie's
    /// value is 130 of them, checked on every login and profile.
    static SHAPELESS: [bool; 256] = {
        let mut table = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            table[b] = c.is_ascii_alphanumeric()
                || matches!(c, b'+' | b'/' | b'=' | b'.' | b'_' | b'~' | b'-');
            b += 1;
        }
        table
    };

    /// `line` with the bytes of `value` replaced by as many `a`s.
    pub(super) fn shape_of(line: &str, value: Range<usize>) -> String {
        let mut shape = String::with_capacity(line.len());
        shape.push_str(&line[..value.start]);
        shape.extend(std::iter::repeat_n('a', value.len()));
        shape.push_str(&line[value.end..]);
        shape
    }

    /// Whether `shape`, whose value is at `value` too, is `line` with its
    /// value replaced by `a`s: the rest of the two lines is the same.
    fn has_shape(line: &str, value: &Range<usize>, shape: &str) -> bool {
        let (line, shape) = (line.as_bytes(), shape.as_bytes());
        line.len() == shape.len()
            && line[..value.start] == shape[..value.start]
            && line[value.end..] == shape[value.end..]
    }
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

    /// Attributes the shape proptest combines: every attribute both engines
    /// read, with values each accepts and ignores, at their limits.
    fn attribute_pool(now: OffsetDateTime) -> Vec<String> {
        let date = |at: OffsetDateTime| httpdate::fmt_http_date(at.into());
        let mut pool: Vec<String> = [
            "Path=/",
            "Path=/a",
            "Path=",
            "Path=a",
            "Domain=127.0.0.1",
            "Domain=localhost",
            "Domain=example.com",
            "Domain=.shop.example.com",
            "Domain=com",
            "Max-Age=0",
            "Max-Age=-1",
            "Max-Age=604800",
            "Max-Age=99999999999",
            "Max-Age=+5",
            "Max-Age=x",
            "Secure",
            "HttpOnly",
            "SameSite=None",
            "SameSite=Lax",
            "SameSite=Strict",
            "SameSite=bogus",
            "Partitioned",
            "Unknown=1",
            "secure=no",
        ]
        .map(str::to_owned)
        .to_vec();
        pool.push(format!("Path=/{}", "p".repeat(1030)));
        for at in [
            now - time::Duration::seconds(1),
            now + time::Duration::seconds(1),
            now + time::Duration::days(400) + time::Duration::seconds(1),
        ] {
            pool.push(format!("Expires={}", date(at)));
        }
        pool
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// What the memo of `judge` relies on: after a non-empty name, a
        /// value of `[A-Za-z0-9+/=._~-]` is judged by its length alone. The
        /// findings (every word of them) are those of the line with the
        /// value replaced by as many `a`s, for any name, any attributes, on
        /// any page, in every context, at every length across 4096.
        #[test]
        fn a_token_value_is_judged_by_its_length(
            name in prop_oneof![
                "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}",
                prop::sample::select(vec![
                    "userID", "lab_session", "__Host-lab_session", "__Secure-id", "__Http-x",
                    "__Host-Http-x", "__host-x", "sessionid", "na me", " x", "x\t", "ö", "a,b",
                    "\"q\"",
                ]).prop_map(str::to_owned),
            ],
            value in "[A-Za-z0-9+/=._~-]{0,40}",
            pad in prop_oneof![Just(0usize), 0usize..200, 4030usize..4100, 4100usize..4200],
            attributes in prop::collection::vec(0usize..64, 0..5),
            https in any::<bool>(),
            host in prop::sample::select(vec!["127.0.0.1", "localhost", "shop.example.com", "[::1]"]),
            path in prop::sample::select(vec!["/", "/login", "/a/b"]),
        ) {
            let now = OffsetDateTime::now_utc();
            let pool = attribute_pool(now);
            let attributes: String = attributes.iter().map(|&i| format!("; {}", pool[i % pool.len()])).collect();
            let line = format!("{name}={value}{}{attributes}", "Z".repeat(pad));
            let value = shapes::value_of(&line).unwrap();
            let shape = shapes::shape_of(&line, value);
            let scheme = if https { Scheme::Https } else { Scheme::Http };
            let setter = SetterUrl::new(scheme, host, path).unwrap();
            for context in Context::ALL {
                let findings = |line: &str| {
                    let verdicts = engine::evaluate(line.as_bytes(), &setter, context, now);
                    findings_of(&lint::report(&verdicts, line.as_bytes(), &setter, true))
                };
                prop_assert_eq!(findings(&line), findings(&shape), "{:?} {:?}", line, context);
            }
        }

        /// The memo's other assumption: the findings depend on the instant
        /// only through its second. Expires one second either side of the
        /// second judged in, and of 400 days after it, at the start, middle
        /// and end of that second.
        #[test]
        fn the_findings_hold_for_the_whole_second(
            offset in -2i64..=2,
            far in any::<bool>(),
            attributes in prop::sample::select(vec!["", "; Max-Age=604800", "; Secure; Path=/"]),
        ) {
            let second = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
            let base = if far { second + time::Duration::days(400) } else { second };
            let expires = httpdate::fmt_http_date((base + time::Duration::seconds(offset)).into());
            let line = format!("id=1; Expires={expires}{attributes}");
            let setter = SetterUrl::new(Scheme::Http, "localhost", "/").unwrap();
            let findings = |now: OffsetDateTime| {
                let verdicts = engine::evaluate(line.as_bytes(), &setter, Context::SameSite, now);
                findings_of(&lint::report(&verdicts, line.as_bytes(), &setter, true))
            };
            let start = findings(second);
            for nanos in [1, 500_000_000, 999_999_999] {
                prop_assert_eq!(&start, &findings(second + time::Duration::nanoseconds(nanos)), "{}", line);
            }
        }
    }

    #[test]
    fn only_named_token_values_have_a_shape() {
        let shape = |line: &str| shapes::value_of(line).map(|value| shapes::shape_of(line, value));
        assert_eq!(
            shape("lab_session=k1.Ab+/Z_-~9=; Path=/").as_deref(),
            Some("lab_session=aaaaaaaaaaaaa; Path=/")
        );
        assert_eq!(shape("a=; Path=/").as_deref(), Some("a=; Path=/"));
        assert_eq!(shape("=abc; Path=/"), None);
        assert_eq!(shape("a=\"x\"; Path=/"), None);
        assert_eq!(shape("a=x%20y"), None);
        assert_eq!(shape("a=x y"), None);
    }

    fn spec(value: &str) -> CookieSpec {
        CookieSpec::new("userID", value).path("/")
    }

    /// A second cookie of the same shape, set by the same page in the same
    /// second, takes the first one's findings; the report still judges the
    /// line itself.
    #[test]
    fn the_same_shape_is_judged_once() {
        let ctx = CookieContext::new("localhost:3000", false);
        let now = OffsetDateTime::now_utc();
        let first = judge(&spec("alice"), &ctx, now).unwrap();
        assert!(matches!(first.judged.verdicts, Judging::Done(_)));
        let second = judge(&spec("bob_2"), &ctx, now).unwrap();
        assert!(matches!(second.judged.verdicts, Judging::ByShape { .. }));
        assert_eq!(second.findings, first.findings);
        assert_eq!(second.header, "userID=bob_2; Path=/");
        let report = second.judged.report(&second.header);
        assert!(format!("{report:?}").contains("bob_2"), "{report:?}");
    }

    /// Anything the findings depend on makes it a new shape: the value's
    /// length or alphabet, the page, the context, the second.
    #[test]
    fn another_page_context_second_or_length_is_judged_again() {
        let ctx = CookieContext::new("localhost", false);
        let now = OffsetDateTime::now_utc();
        judge(&spec("alice"), &ctx, now).unwrap();
        let again = |spec: CookieSpec, ctx: &CookieContext, now| {
            matches!(
                judge(&spec, ctx, now).unwrap().judged.verdicts,
                Judging::Done(_)
            )
        };
        assert!(again(spec("alice1"), &ctx, now));
        assert!(again(spec("al ce"), &ctx, now));
        assert!(again(
            spec("alice"),
            &CookieContext::new("127.0.0.1", false),
            now
        ));
        assert!(again(
            spec("alice"),
            &CookieContext::new("localhost", true),
            now
        ));
        let elsewhere = ctx.clone().for_request("/a/b", Context::SameSite);
        assert!(again(spec("alice"), &elsewhere, now));
        let framed = ctx.clone().for_request("/", Context::ALL[4]);
        assert!(again(spec("alice"), &framed, now));
        assert!(again(spec("alice"), &ctx, now + time::Duration::seconds(1)));
        assert!(!again(spec("bobby"), &ctx, now));
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
