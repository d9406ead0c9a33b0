//! `cookie-lab lint`: Set-Cookie lines in, each engine's verdict out, exit
//! status by what the selected engines do.

use std::fmt::Write as _;
use std::io::Read;

use anyhow::Context as _;
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::{EngineChoice, LintArgs};
use crate::engine::{Context, Engine, Outcome, Scheme, SetterUrl};
use crate::lint::{EngineReport, LintReport, Verdict, line_bytes, lint};

mod har;

/// How `lint` ended; `main` turns it into the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LintOutcome {
    /// The selected engines store every cookie, or delete or block it as
    /// asked (a deletion and a third-party block are not errors): exit 0.
    Clean,
    /// A selected engine rejects at least one cookie with a reason: exit 1.
    Rejected,
    /// Some input was not a Set-Cookie line (or a HAR held none): exit 2.
    Unusable,
}

impl LintOutcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Clean => 0,
            Self::Rejected => 1,
            Self::Unusable => 2,
        }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum JsonLine {
    Report(Box<LintReport>),
    Unusable { input: String, error: String },
}

/// One line to lint, and where it came from.
pub(crate) struct Job {
    pub(crate) input: String,
    pub(crate) setter: SetterUrl,
    pub(crate) context: Context,
    /// Whether the user (or the HAR) named the page that sets it.
    pub(crate) url_given: bool,
    /// Said about this line before its verdict (a HAR entry's context that
    /// couldn't be told, say).
    pub(crate) note: Option<String>,
}

pub fn run(args: LintArgs) -> anyhow::Result<LintOutcome> {
    let jobs = match &args.har {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("could not read the HAR file {}", path.display()))?;
            match har::jobs(&text) {
                Ok(jobs) if jobs.is_empty() => {
                    eprintln!("cookie-lab lint: {}", har::NO_SET_COOKIE);
                    return Ok(LintOutcome::Unusable);
                }
                Ok(jobs) => jobs,
                Err(err) => {
                    eprintln!("cookie-lab lint: {}: {err}", path.display());
                    return Ok(LintOutcome::Unusable);
                }
            }
        }
        None => match line_jobs(&args)? {
            Some(jobs) => jobs,
            None => return Ok(LintOutcome::Unusable),
        },
    };
    let now = OffsetDateTime::now_utc();
    let mut outcome = LintOutcome::Clean;
    let mut json = Vec::new();
    for job in jobs {
        let bytes = match line_bytes(&job.input) {
            Ok(bytes) => bytes,
            Err(err) => {
                outcome = LintOutcome::Unusable;
                if args.json {
                    json.push(JsonLine::Unusable {
                        input: job.input.clone(),
                        error: err.to_string(),
                    });
                } else {
                    eprintln!("cookie-lab lint: {err}: {:?}", job.input);
                }
                continue;
            }
        };
        let mut report = lint(&bytes, &job.setter, job.context, now, job.url_given);
        if let Some(note) = job.note {
            report.notes.insert(0, note);
        }
        outcome = outcome.max_with(line_outcome(&report, args.engine));
        if args.json {
            json.push(JsonLine::Report(Box::new(report)));
        } else {
            print!("{}", render_text(&report, args.engine));
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    Ok(outcome)
}

impl LintOutcome {
    /// The worse of two outcomes: unusable input, then a rejection.
    fn max_with(self, other: Self) -> Self {
        match (self, other) {
            (Self::Unusable, _) | (_, Self::Unusable) => Self::Unusable,
            (Self::Rejected, _) | (_, Self::Rejected) => Self::Rejected,
            _ => Self::Clean,
        }
    }
}

/// The lines given as an argument or on stdin, all set by `--url`. `None`
/// (after saying why) when there is nothing to lint.
fn line_jobs(args: &LintArgs) -> anyhow::Result<Option<Vec<Job>>> {
    let setter = match setter_from_url(&args.url) {
        Ok(setter) => setter,
        Err(err) => {
            eprintln!("cookie-lab lint: --url {:?}: {err}", args.url);
            return Ok(None);
        }
    };
    let input = match &args.set_cookie {
        Some(line) => line.clone(),
        None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("could not read stdin")?;
            text
        }
    };
    let url_given = args.url != "https://example.com/";
    let jobs: Vec<Job> = input
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| Job {
            input: line.to_owned(),
            setter: setter.clone(),
            context: args.context,
            url_given,
            note: None,
        })
        .collect();
    if jobs.is_empty() {
        eprintln!(
            "cookie-lab lint: no Set-Cookie line given (pass one as an argument or on stdin)"
        );
        return Ok(None);
    }
    Ok(Some(jobs))
}

/// An http or https URL as the page that sets a cookie.
pub(crate) fn setter_from_url(text: &str) -> Result<SetterUrl, String> {
    let url = url::Url::parse(text).map_err(|err| format!("not a URL ({err})"))?;
    let scheme = match url.scheme() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => return Err(format!("cookies are set over http or https, not {other}")),
    };
    let host = url.host_str().ok_or("the URL has no host")?;
    SetterUrl::new(scheme, host, url.path()).map_err(|err| err.to_string())
}

/// What one report means for the exit status, for the selected engines.
fn line_outcome(report: &LintReport, choice: EngineChoice) -> LintOutcome {
    if report.verdict == Verdict::ResponseFailed {
        return LintOutcome::Unusable;
    }
    let rejected = selected(choice)
        .into_iter()
        .any(|engine| report.engines.get(engine).outcome == Outcome::Rejected);
    if rejected {
        LintOutcome::Rejected
    } else {
        LintOutcome::Clean
    }
}

fn selected(choice: EngineChoice) -> Vec<Engine> {
    match choice {
        EngineChoice::Chromium => vec![Engine::Chromium],
        EngineChoice::Firefox => vec![Engine::Firefox],
        EngineChoice::Both => Engine::ALL.to_vec(),
    }
}

/// The report for people: the line, where it was set, each engine's
/// verdict (once for both when they agree), the advice and a summary.
pub fn render_text(report: &LintReport, choice: EngineChoice) -> String {
    let mut out = format!("Set-Cookie: {}\n", report.set_cookie);
    let _ = writeln!(
        out,
        "  set by {} ({}); modelled: Chromium {}, Firefox {}",
        report.url,
        report.context.id(),
        report.modelled.chromium,
        report.modelled.firefox
    );
    for note in &report.notes {
        let _ = writeln!(out, "  note: {note}");
    }
    let engines = selected(choice);
    let agree = engines.len() == 2 && same(&report.engines.chromium, &report.engines.firefox);
    if agree {
        render_engine(&mut out, "chromium, firefox", &report.engines.chromium);
    } else {
        for engine in engines {
            render_engine(&mut out, engine.name(), report.engines.get(engine));
        }
    }
    for advice in &report.advice {
        let _ = writeln!(out, "  advice  [{}] {}", advice.id, advice.explanation);
        let _ = writeln!(out, "          fix: {}", advice.fix);
    }
    let _ = writeln!(out, "  {}", summary(report.verdict));
    out
}

/// Whether two engines' reports print the same.
fn same(a: &EngineReport, b: &EngineReport) -> bool {
    serde_json::to_value(a).ok() == serde_json::to_value(b).ok()
        && a.reasons.is_empty()
        && b.reasons.is_empty()
}

fn render_engine(out: &mut String, label: &str, report: &EngineReport) {
    let outcome = match report.outcome {
        Outcome::Stored => "stores it",
        Outcome::Rejected => "rejects it",
        Outcome::Deleted => "deletes any cookie it matches (it expires at once)",
        Outcome::Blocked => "blocks it (third-party cookie setting)",
        Outcome::ResponseFailed => "fails the whole response",
    };
    let _ = writeln!(out, "  {label}: {outcome}");
    if let Some(cookie) = &report.cookie
        && report.outcome == Outcome::Stored
    {
        let mut flags = Vec::new();
        if cookie.secure {
            flags.push("Secure".to_owned());
        }
        if cookie.http_only {
            flags.push("HttpOnly".to_owned());
        }
        if cookie.partitioned {
            flags.push("partitioned".to_owned());
        }
        flags.push(format!(
            "SameSite {} (acts as {})",
            serde_plain(&cookie.same_site),
            serde_plain(&cookie.effective_same_site)
        ));
        let _ = writeln!(
            out,
            "    name {:?} value {:?}, domain {}{}, path {}, expires {}{}; {}",
            cookie.name,
            cookie.value,
            cookie.domain,
            if cookie.host_only { " (host-only)" } else { "" },
            cookie.path,
            cookie.expires,
            if cookie.capped {
                " (capped at 400 days)"
            } else {
                ""
            },
            flags.join(", ")
        );
    }
    for reason in &report.reasons {
        let _ = writeln!(out, "    {}: {}", reason.id, reason.explanation);
        let _ = writeln!(out, "      fix: {}", reason.fix);
    }
    for ignored in &report.ignored {
        let with_reason = ignored
            .reason
            .map_or_else(String::new, |r| format!(" [{r}]"));
        let _ = writeln!(
            out,
            "    ignored {}={:?}{with_reason}: {}",
            ignored.attribute, ignored.value, ignored.explanation
        );
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "    {}: {}", warning.id, warning.explanation);
    }
}

/// A unit enum's serde name (`lax`, `unspecified`).
fn serde_plain(value: &impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn summary(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Accepted => "ok: both engines store this cookie as sent",
        Verdict::AcceptedWithWarnings => {
            "ok: both engines store this cookie, with the changes and advice above"
        }
        Verdict::Deleted => {
            "a deletion: the cookie expires at once, removing any cookie of that name, domain and path"
        }
        Verdict::Blocked => {
            "blocked by the third-party cookie setting in this context (not an error in the cookie)"
        }
        Verdict::Rejected => {
            "rejected: an engine drops this cookie; Firefox logs the reason in the web console, Chromium shows it in DevTools (Network, the response's cookies)"
        }
        Verdict::ResponseFailed => {
            "not usable: a NUL byte makes both engines fail the whole response"
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn report(line: &str, url: &str) -> LintReport {
        let setter = setter_from_url(url).unwrap();
        lint(
            &line_bytes(line).unwrap(),
            &setter,
            Context::SameSite,
            datetime!(2026-11-29 12:00 UTC),
            true,
        )
    }

    #[test]
    fn urls_give_scheme_host_and_path() {
        let setter = setter_from_url("http://LocalHost:5000/p/q/r?x=1").unwrap();
        assert_eq!(
            (setter.scheme(), setter.host(), setter.path()),
            (Scheme::Http, "localhost", "/p/q/r")
        );
        assert!(setter_from_url("ftp://example.com/").is_err());
        assert!(setter_from_url("example.com").is_err());
    }

    #[test]
    fn the_exit_status_follows_the_selected_engines() {
        let tab = report("v=a\\x09b", "http://localhost/");
        assert_eq!(
            line_outcome(&tab, EngineChoice::Both),
            LintOutcome::Rejected
        );
        assert_eq!(
            line_outcome(&tab, EngineChoice::Chromium),
            LintOutcome::Rejected
        );
        assert_eq!(
            line_outcome(&tab, EngineChoice::Firefox),
            LintOutcome::Clean
        );
        let deletion = report("n=1; Max-Age=0", "http://localhost/");
        assert_eq!(
            line_outcome(&deletion, EngineChoice::Both),
            LintOutcome::Clean
        );
    }

    #[test]
    fn the_text_shows_both_engines_when_they_differ_and_once_when_they_agree() {
        let text = render_text(
            &report("=value", "http://localhost/p/q/r"),
            EngineChoice::Both,
        );
        assert!(text.contains("  chromium: stores it\n"), "{text}");
        assert!(text.contains("  firefox: rejects it\n"), "{text}");
        assert!(
            text.contains("modelled: Chromium 156, Firefox ESR 153"),
            "{text}"
        );
        let text = render_text(
            &report("n=1; Path=/; SameSite=Lax", "http://localhost/"),
            EngineChoice::Both,
        );
        assert!(text.contains("  chromium, firefox: stores it\n"), "{text}");
    }
}
