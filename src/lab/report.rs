//! A run as a matrix: for every cookie and context, what the browser did
//! (from the run's records) beside what the engine model predicts for that
//! browser and the third-party policy the run was given, and why.
//!
//! Observed never feeds predicted: the prediction reads the run's setup
//! (the browser, the policy chosen before the run, when each cookie was
//! set and when each request arrived) and nothing of what the requests
//! carried.

use serde::Serialize;
use time::OffsetDateTime;

use super::plan::{self, Column, Kind, Role, Site};
use super::run::{LabPolicy, Observation, Run};
use crate::config::Origin;
use crate::engine::sending::{self, JarCookie, Partition, SendRule};
use crate::engine::{self, Engine, Policy, RequestKind, Scheme, SetterUrl};

/// The paths that set the lab's cookies at top level.
pub const PREPARE_PATH_B: &str = "/lab/peer/prepare";
pub const PREPARE_PATH_A: &str = "/lab/prepared";

/// What happened to a cookie in a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The request carried it.
    Sent,
    /// It did not.
    NotSent,
    /// Set across sites, and in B's own jar (seen by B at top level).
    Stored,
    /// Set across sites, and in B's jar under A (seen only on A's pages).
    Partitioned,
    /// Set across sites, and in no jar the lab can read.
    Dropped,
}

impl Outcome {
    /// Whether the cookie went (sending) or is in a jar (setting).
    pub fn as_bool(self) -> bool {
        matches!(self, Outcome::Sent | Outcome::Stored | Outcome::Partitioned)
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::NotSent => "not sent",
            Outcome::Stored => "stored",
            Outcome::Partitioned => "partitioned",
            Outcome::Dropped => "dropped",
        }
    }
}

/// Which half of the model a cell checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Half {
    /// Which stored cookies a request carries.
    Sending,
    /// What a cross-site response can store.
    Setting,
}

/// The engine rule a prediction follows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleRef {
    /// The engine's own name for it, where it has one.
    pub id: &'static str,
    /// The engine source it follows.
    pub source: &'static str,
}

/// One cell of the matrix.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Cell {
    /// The cookie's name.
    pub cookie: String,
    /// Its kind (its row).
    #[schema(value_type = String)]
    pub kind: Kind,
    /// The site whose cookie it is: `b`, or `a` at the redirect's middle hop.
    #[schema(value_type = String)]
    pub site: Site,
    pub half: Half,
    /// The context (column): `iframe`, `link`, `form-post`, …, or for the
    /// setting cells `set-by-iframe` / `set-by-fetch`.
    pub context: &'static str,
    /// The request, in the engine model's table of request kinds.
    pub request: &'static str,
    /// Sent (sending) or in a jar (setting); `null` until the run gets there.
    pub observed: Option<bool>,
    /// The model's prediction; `null` when no model covers this browser.
    pub predicted: Option<bool>,
    pub observed_outcome: Option<Outcome>,
    pub predicted_outcome: Option<Outcome>,
    /// Whether the two outcomes are the same; `null` when either is missing.
    pub agrees: Option<bool>,
    /// Why, in one line: the model's reason, or why there is none.
    pub reason: String,
    /// The engine rule behind the prediction.
    pub rule: Option<RuleRef>,
}

/// One column of the matrix.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ColumnReport {
    pub id: &'static str,
    pub title: &'static str,
    pub request: &'static str,
    /// Whose cookies this request may carry: `a` or `b`.
    #[schema(value_type = String)]
    pub site: Site,
    pub seen: bool,
    /// How the browser filed the request (`Sec-Fetch-Site`, `Sec-Fetch-Dest`).
    pub fetch_site: Option<String>,
    pub fetch_dest: Option<String>,
    /// Lab cookies of an older run that came along (not counted).
    pub stale: Vec<String>,
}

/// The two sites.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Sites {
    pub a: String,
    pub b: String,
}

/// A run, as `GET /api/lab/{run}` gives it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub run: String,
    /// `chromium` or `firefox`; for a browser the model does not cover, its
    /// name.
    pub engine: String,
    /// The major version the browser reports.
    pub engine_version: Option<String>,
    /// Whether the engine model covers this browser.
    pub modelled: bool,
    /// The engine version the model follows.
    pub modelled_version: Option<&'static str>,
    /// The third-party settings the model was told (chosen before the run).
    pub policy: LabPolicy,
    pub sites: Sites,
    /// Every step that needs no click has been seen.
    pub done: bool,
    /// The popup (the step that needs a click) has been seen.
    pub popup_seen: bool,
    /// Age of B's cookies when the form post arrived: Chromium's "Lax
    /// allowing unsafe" window is 2 minutes.
    pub cookie_age_at_post_seconds: Option<i64>,
    /// Cells where the browser did not do what the model predicts.
    pub mismatches: usize,
    pub columns: Vec<ColumnReport>,
    pub cells: Vec<Cell>,
    /// What the reader should know (a browser without a model, another
    /// version than the model's).
    pub notes: Vec<String>,
}

/// The report of `run`, as of `now` (for steps not seen yet).
pub fn report(run: &Run, now: OffsetDateTime) -> Report {
    let engine = run.browser.engine();
    let policy = run.policy.engine_policy();
    let mut cells = Vec::new();
    for kind in Kind::ALL {
        for column in Column::ALL.into_iter().filter(|c| c.in_sending_matrix()) {
            cells.push(sending_cell(run, engine, &policy, kind, column, now));
        }
    }
    for role in [Role::SetByIframe, Role::SetByFetch] {
        for kind in Kind::ALL {
            cells.push(setting_cell(run, engine, &policy, kind, role));
        }
    }
    let mismatches = cells.iter().filter(|c| c.agrees == Some(false)).count();
    let mut notes = Vec::new();
    if engine.is_none() {
        notes.push(format!(
            "No model for this browser ({}): the lab shows what it observed, without a prediction.",
            run.browser.describe()
        ));
    }
    if let Some(modelled) = run.browser.other_version_than_modelled() {
        notes.push(format!(
            "This is {}; the model follows {} {modelled}: a difference may be a change between versions.",
            run.browser.describe(),
            engine.map_or("", engine_title),
        ));
    }
    let columns = Column::ALL
        .into_iter()
        .map(|column| {
            let seen = run.observed.get(&column);
            ColumnReport {
                id: column.id(),
                title: column.title(),
                request: column.request().id(),
                site: column.site(),
                seen: seen.is_some(),
                fetch_site: seen.and_then(|o| o.fetch_site.clone()),
                fetch_dest: seen.and_then(|o| o.fetch_dest.clone()),
                stale: seen.map_or_else(Vec::new, |o| {
                    plan::all_names()
                        .map(|(_, _, name)| name)
                        .filter(|name| o.stale.contains(name))
                        .collect()
                }),
            }
        })
        .collect();
    let (engine_name, engine_version) = match &run.browser {
        super::browser::Browser::Modelled { engine, version } => {
            (engine.name().to_owned(), Some(version.clone()))
        }
        super::browser::Browser::Unmodelled { name } => (name.clone(), None),
    };
    Report {
        run: run.id.to_string(),
        engine: engine_name,
        engine_version,
        modelled: engine.is_some(),
        modelled_version: engine.and_then(|e| {
            engine::MODELLED_VERSIONS
                .iter()
                .find(|(m, _)| *m == e)
                .map(|(_, v)| *v)
        }),
        policy: run.policy,
        sites: Sites {
            a: run.a.to_string(),
            b: run.b.to_string(),
        },
        done: run.automatic_steps_done(),
        popup_seen: run.observed.contains_key(&Column::Popup),
        cookie_age_at_post_seconds: run
            .observed
            .get(&Column::FormPost)
            .zip(run.prepared_b)
            .map(|(o, prepared)| (o.at - prepared).whole_seconds()),
        mismatches,
        columns,
        cells,
        notes,
    }
}

pub fn engine_title(engine: Engine) -> &'static str {
    match engine {
        Engine::Chromium => "Chromium",
        Engine::Firefox => "Firefox",
    }
}

/// The URL of `path` on `origin`, as the engine model takes it.
fn url(origin: &Origin, path: &str) -> Option<SetterUrl> {
    let scheme = if origin.is_https() {
        Scheme::Https
    } else {
        Scheme::Http
    };
    SetterUrl::new(scheme, origin.host(), path).ok()
}

/// A prediction: the outcome, its reason, and the rule.
struct Predicted {
    outcome: Outcome,
    reason: String,
    rule: Option<RuleRef>,
}

fn from_rule(sent: bool, rule: SendRule) -> Predicted {
    let meta = rule.meta();
    Predicted {
        outcome: if sent {
            Outcome::Sent
        } else {
            Outcome::NotSent
        },
        reason: meta.reason.to_owned(),
        rule: Some(RuleRef {
            id: meta.id,
            source: meta.source,
        }),
    }
}

/// The engine model's verdict on the line of `kind` for `role`, set by
/// `path` on `origin` in the context of `request` at `at`.
#[expect(
    clippy::too_many_arguments,
    reason = "where, when and how a cookie is set, each named"
)]
fn stored(
    run: &Run,
    engine: Engine,
    policy: &Policy,
    kind: Kind,
    role: Role,
    origin: &Origin,
    path: &str,
    request: RequestKind,
    at: OffsetDateTime,
) -> Result<engine::StoredCookie, Predicted> {
    let line = kind.spec(role, run.id.as_str()).to_header_value(at);
    let Some(setter) = url(origin, path) else {
        return Err(Predicted {
            outcome: Outcome::NotSent,
            reason: format!("{origin} is not a host the engine model can judge."),
            rule: None,
        });
    };
    let verdicts = engine::evaluate_with(line.as_bytes(), &setter, request.context(), at, policy);
    let verdict = verdicts.get(engine);
    match verdict.cookie.clone().filter(|_| verdict.stored) {
        Some(cookie) => Ok(cookie),
        None => {
            let first = verdict.reasons.first().map(|r| r.meta());
            Err(Predicted {
                outcome: Outcome::Dropped,
                reason: first.map_or_else(
                    || format!("{} does not store it.", engine_title(engine)),
                    |m| {
                        format!(
                            "{} drops it ({}): {}",
                            engine_title(engine),
                            m.id,
                            m.explanation
                        )
                    },
                ),
                rule: first.map(|m| RuleRef {
                    id: m.id,
                    source: m.source,
                }),
            })
        }
    }
}

fn sending_cell(
    run: &Run,
    engine: Option<Engine>,
    policy: &Policy,
    kind: Kind,
    column: Column,
    now: OffsetDateTime,
) -> Cell {
    let (origin, prepared, prepare_path) = match column.site() {
        Site::A => (&run.a, run.prepared_a, PREPARE_PATH_A),
        Site::B => (&run.b, run.prepared_b, PREPARE_PATH_B),
    };
    let seen = run.observed.get(&column);
    let name = plan::name(kind, Role::Sent);
    let observed = seen.map(|o| {
        if o.sent.contains(&name) {
            Outcome::Sent
        } else {
            Outcome::NotSent
        }
    });
    let predicted = engine.map(|engine| match prepared {
        None => Predicted {
            outcome: Outcome::NotSent,
            reason: "Not set yet: the run has not reached the step that sets it.".to_owned(),
            rule: None,
        },
        Some(prepared) => predict_sending(
            run,
            engine,
            policy,
            kind,
            column,
            origin,
            prepare_path,
            prepared,
            seen.map_or(now, |o| o.at),
        ),
    });
    cell(
        name,
        kind,
        column.site(),
        Half::Sending,
        column.id(),
        column.request(),
        observed,
        predicted,
        engine,
        &run.browser,
    )
}

#[expect(
    clippy::too_many_arguments,
    reason = "one prediction's inputs, each named"
)]
fn predict_sending(
    run: &Run,
    engine: Engine,
    policy: &Policy,
    kind: Kind,
    column: Column,
    origin: &Origin,
    prepare_path: &str,
    prepared: OffsetDateTime,
    at: OffsetDateTime,
) -> Predicted {
    // The cookies are set by a top-level navigation that came from the
    // other site (B's from A's page; A's at the end of a redirect from B).
    let cookie = match stored(
        run,
        engine,
        policy,
        kind,
        Role::Sent,
        origin,
        prepare_path,
        RequestKind::CrossSiteLink,
        prepared,
    ) {
        Ok(cookie) => cookie,
        Err(mut never) => {
            never.outcome = Outcome::NotSent;
            never.reason = format!("Never stored. {}", never.reason);
            return never;
        }
    };
    let Some(target) = url(origin, column.path()) else {
        return from_rule(false, SendRule::ChromiumDomainMismatch);
    };
    let jar = JarCookie {
        cookie: &cookie,
        partition: if cookie.partitioned {
            Partition::ThisSite
        } else {
            Partition::None
        },
        age: at - prepared,
    };
    let sending = sending::sends(engine, column.request(), &target, &jar, policy);
    from_rule(sending.sent, sending.rule)
}

/// What the lab observes of a cookie set across sites: in B's own jar when
/// B at top level got it (the `B → B` navigation, where every cookie of the
/// jar goes), in B's jar under A when only the fetch that reads that jar
/// got it, else in no jar.
fn setting_observed(run: &Run, name: &str) -> Option<Outcome> {
    let top = run.observed.get(&Column::SameSite)?;
    let under_a = run.observed.get(&Column::PartitionReadback)?;
    Some(if top.sent.contains(name) {
        Outcome::Stored
    } else if under_a.sent.contains(name) {
        Outcome::Partitioned
    } else {
        Outcome::Dropped
    })
}

fn setting_cell(
    run: &Run,
    engine: Option<Engine>,
    policy: &Policy,
    kind: Kind,
    role: Role,
) -> Cell {
    let setter = role.setter().unwrap_or(Column::Iframe);
    let name = plan::name(kind, role);
    let context = match role {
        Role::SetByFetch => "set-by-fetch",
        _ => "set-by-iframe",
    };
    let observed = setting_observed(run, &name);
    let predicted = engine.map(|engine| match run.observed.get(&setter) {
        None => Predicted {
            outcome: Outcome::Dropped,
            reason: "Not set yet: the run has not reached the response that sets it.".to_owned(),
            rule: None,
        },
        Some(set) => predict_setting(run, engine, policy, kind, role, setter, set),
    });
    cell(
        name,
        kind,
        Site::B,
        Half::Setting,
        context,
        setter.request(),
        observed,
        predicted,
        engine,
        &run.browser,
    )
}

fn predict_setting(
    run: &Run,
    engine: Engine,
    policy: &Policy,
    kind: Kind,
    role: Role,
    setter: Column,
    set: &Observation,
) -> Predicted {
    let cookie = match stored(
        run,
        engine,
        policy,
        kind,
        role,
        &run.b,
        setter.path(),
        setter.request(),
        set.at,
    ) {
        Ok(cookie) => cookie,
        Err(dropped) => return dropped,
    };
    let read = |column: Column| {
        let at = run.observed.get(&column).map_or(set.at, |o| o.at);
        let Some(target) = url(&run.b, column.path()) else {
            return false;
        };
        let jar = JarCookie {
            cookie: &cookie,
            partition: if cookie.partitioned {
                Partition::OtherSite
            } else {
                Partition::None
            },
            age: at - set.at,
        };
        sending::sends(engine, column.request(), &target, &jar, policy).sent
    };
    let chips = matches!(kind, Kind::Partitioned | Kind::HostPartitioned);
    let (outcome, reason) = if read(Column::SameSite) {
        (
            Outcome::Stored,
            format!(
                "Stored in B's own jar: {} takes cookies from another site's page when its third-party cookies are allowed, so B sees it at top level too.",
                engine_title(engine)
            ),
        )
    } else if read(Column::PartitionReadback) {
        let why = match (engine, chips) {
            (Engine::Firefox, false) => {
                "Total Cookie Protection keeps every cookie set on another site's page in a jar keyed to that site"
            }
            _ => "Partitioned (CHIPS) keeps it in a jar keyed to the top-level site",
        };
        (
            Outcome::Partitioned,
            format!(
                "Stored partitioned under A: {why}, so B sees it only when embedded in A's pages."
            ),
        )
    } else {
        (
            Outcome::Dropped,
            "Stored, but in no jar B reads at top level or under A.".to_owned(),
        )
    };
    Predicted {
        outcome,
        reason,
        rule: None,
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "the parts of one cell, each named"
)]
fn cell(
    cookie: String,
    kind: Kind,
    site: Site,
    half: Half,
    context: &'static str,
    request: RequestKind,
    observed: Option<Outcome>,
    predicted: Option<Predicted>,
    engine: Option<Engine>,
    browser: &super::browser::Browser,
) -> Cell {
    let (predicted_outcome, reason, rule) = match predicted {
        Some(p) => (Some(p.outcome), p.reason, p.rule),
        None => (
            None,
            format!(
                "No model for this browser ({}): observed only.",
                browser.describe()
            ),
            None,
        ),
    };
    debug_assert_eq!(engine.is_some(), predicted_outcome.is_some());
    Cell {
        cookie,
        kind,
        site,
        half,
        context,
        request: request.id(),
        observed: observed.map(Outcome::as_bool),
        predicted: predicted_outcome.map(Outcome::as_bool),
        observed_outcome: observed,
        predicted_outcome,
        agrees: observed.zip(predicted_outcome).map(|(o, p)| o == p),
        reason,
        rule,
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::lab::browser::Browser;
    use crate::lab::run::{ChromiumSetting, NameSet, RunId};

    const T0: OffsetDateTime = datetime!(2026-11-29 12:00 UTC);

    fn run(browser: Browser) -> Run {
        Run {
            id: RunId::generate().unwrap(),
            created: T0,
            a: Origin::parse("http://127.0.0.1:5000").unwrap(),
            b: Origin::parse("http://localhost:5000").unwrap(),
            browser,
            policy: LabPolicy::default(),
            prepared_b: Some(T0),
            prepared_a: Some(T0),
            observed: Default::default(),
        }
    }

    fn chromium() -> Browser {
        Browser::Modelled {
            engine: Engine::Chromium,
            version: "156".to_owned(),
        }
    }

    fn seen(run: &mut Run, column: Column, after: Duration, names: &[&str]) {
        run.observed.insert(
            column,
            Observation {
                at: T0 + after,
                sent: NameSet::of(names.iter().copied()),
                stale: NameSet::default(),
                fetch_site: None,
                fetch_dest: None,
            },
        );
    }

    fn cell<'a>(report: &'a Report, cookie: &str, context: &str) -> &'a Cell {
        report
            .cells
            .iter()
            .find(|c| c.cookie == cookie && c.context == context)
            .unwrap()
    }

    #[test]
    fn a_cookie_without_samesite_is_predicted_on_a_post_up_to_two_minutes_old_not_after() {
        for (age, expected) in [(119, true), (120, true), (121, false), (600, false)] {
            let mut r = run(chromium());
            seen(&mut r, Column::FormPost, Duration::seconds(age), &[]);
            let report = report(&r, T0 + Duration::seconds(age));
            assert_eq!(report.cookie_age_at_post_seconds, Some(age));
            for cookie in ["lab-unspec", "lab-part"] {
                let c = cell(&report, cookie, "form-post");
                assert_eq!(c.predicted, Some(expected), "{cookie} at {age} s: {c:?}");
            }
            let lax = cell(&report, "lab-lax", "form-post");
            assert_eq!(
                lax.predicted,
                Some(false),
                "an explicit Lax never goes with a POST"
            );
        }
    }

    #[test]
    fn what_a_request_carried_never_changes_the_prediction() {
        let mut quiet = run(chromium());
        seen(&mut quiet, Column::Iframe, Duration::seconds(1), &[]);
        let mut loud = run(chromium());
        seen(
            &mut loud,
            Column::Iframe,
            Duration::seconds(1),
            &["lab-strict", "lab-none"],
        );
        let (quiet, loud) = (report(&quiet, T0), report(&loud, T0));
        for cookie in ["lab-strict", "lab-none"] {
            let (q, l) = (
                cell(&quiet, cookie, "iframe"),
                cell(&loud, cookie, "iframe"),
            );
            assert_eq!(
                (q.predicted, q.reason.as_str()),
                (l.predicted, l.reason.as_str())
            );
            assert_eq!(l.observed, Some(true));
            assert_eq!(l.agrees, Some(false), "{cookie}: said plainly, not hidden");
        }
        assert_eq!(loud.mismatches, 2);
        assert_eq!(
            cell(&quiet, "lab-none", "iframe").rule.as_ref().unwrap().id,
            "EXCLUDE_USER_PREFERENCES"
        );
    }

    #[test]
    fn the_policy_chosen_before_the_run_decides_the_third_party_cells() {
        let mut allowed = run(chromium());
        allowed.policy.chromium_third_party = ChromiumSetting::Allow;
        seen(&mut allowed, Column::Image, Duration::seconds(1), &[]);
        let report = report(&allowed, T0);
        assert_eq!(cell(&report, "lab-none", "image").predicted, Some(true));
        assert_eq!(
            cell(&report, "__Host-lab-chips", "image").predicted,
            Some(false)
        );
        assert_eq!(
            report.policy.chromium_third_party,
            ChromiumSetting::Allow,
            "the report says which setting the model assumed"
        );
    }

    #[test]
    fn a_browser_without_a_model_gets_its_observations_alone() {
        let mut safari = run(Browser::Unmodelled {
            name: "Safari".to_owned(),
        });
        seen(
            &mut safari,
            Column::Link,
            Duration::seconds(1),
            &["lab-lax"],
        );
        let report = report(&safari, T0);
        assert!(!report.modelled);
        let c = cell(&report, "lab-lax", "link");
        assert_eq!(
            (c.observed, c.predicted, c.agrees),
            (Some(true), None, None)
        );
        assert!(
            c.reason.contains("No model for this browser (Safari)"),
            "{}",
            c.reason
        );
        assert!(report.notes[0].contains("Safari"));
        assert_eq!(report.mismatches, 0);
    }

    #[test]
    fn setting_cells_read_both_jars_and_compare_outcomes() {
        let mut r = run(Browser::Modelled {
            engine: Engine::Firefox,
            version: "153".to_owned(),
        });
        seen(&mut r, Column::Iframe, Duration::seconds(1), &[]);
        seen(&mut r, Column::CorsFetch, Duration::seconds(2), &[]);
        seen(
            &mut r,
            Column::PartitionReadback,
            Duration::seconds(3),
            &["lab-frame-none", "lab-fetch-none"],
        );
        seen(&mut r, Column::SameSite, Duration::seconds(4), &[]);
        let report = report(&r, T0);
        let none = cell(&report, "lab-frame-none", "set-by-iframe");
        assert_eq!(none.observed_outcome, Some(Outcome::Partitioned));
        assert_eq!(none.predicted_outcome, Some(Outcome::Partitioned));
        assert!(
            none.reason.contains("Total Cookie Protection"),
            "{}",
            none.reason
        );
        let strict = cell(&report, "lab-fetch-strict", "set-by-fetch");
        assert_eq!(strict.predicted_outcome, Some(Outcome::Dropped));
        assert_eq!(
            strict.rule.as_ref().unwrap().id,
            "CookieRejectedForNonSameSiteness"
        );
        let unspec = cell(&report, "lab-frame-unspec", "set-by-iframe");
        assert_eq!(
            (unspec.observed_outcome, unspec.predicted_outcome),
            (Some(Outcome::Dropped), Some(Outcome::Partitioned)),
            "this run did not see it under A: a mismatch"
        );
    }
}
