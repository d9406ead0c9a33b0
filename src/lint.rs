//! Linting a `Set-Cookie` line: the report the CLI prints and the API returns.

use std::fmt::Write as _;

use serde::Serialize;
use time::OffsetDateTime;

use crate::cookies::parse::strip_header_name;
use crate::cookies::{
    CookieContext, Finding, SetCookieParseError, Severity, parse_set_cookie, rules,
};

/// What a browser would do with the cookie, overall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Stored as sent.
    Accepted,
    /// Stored, but changed or risky: see the warnings.
    AcceptedWithWarnings,
    /// Never stored.
    Rejected,
}

/// The findings for one `Set-Cookie` line.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LintReport {
    /// The line as read, without any `Set-Cookie:` prefix.
    pub set_cookie: String,
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
}

impl LintReport {
    pub fn rejected(&self) -> bool {
        self.verdict == Verdict::Rejected
    }
}

/// Lints one line in `ctx` at `now`.
pub fn lint_line(
    line: &str,
    ctx: &CookieContext,
    now: OffsetDateTime,
) -> Result<LintReport, SetCookieParseError> {
    let spec = parse_set_cookie(line)?;
    let findings = rules::check(&spec, ctx, now);
    let verdict = if findings.iter().any(Finding::is_error) {
        Verdict::Rejected
    } else if findings.is_empty() {
        Verdict::Accepted
    } else {
        Verdict::AcceptedWithWarnings
    };
    Ok(LintReport {
        set_cookie: strip_header_name(line.trim()).to_owned(),
        verdict,
        findings,
    })
}

/// The report for people: the line, one block per finding, a summary.
pub fn render_text(report: &LintReport) -> String {
    let mut out = format!("Set-Cookie: {}\n", report.set_cookie);
    for finding in &report.findings {
        let severity = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(
            out,
            "  {severity:<7} [{}] {}",
            finding.rule, finding.message
        );
        let _ = writeln!(out, "          fix: {}", finding.fix);
    }
    let errors = report.findings.iter().filter(|f| f.is_error()).count();
    let warnings = report.findings.len() - errors;
    let summary = match report.verdict {
        Verdict::Accepted => "ok: browsers store this cookie as sent".to_owned(),
        Verdict::AcceptedWithWarnings => {
            format!("ok with {warnings} warning(s): browsers store this cookie")
        }
        Verdict::Rejected => format!(
            "rejected: {errors} error(s), {warnings} warning(s) — browsers drop this cookie without a word"
        ),
    };
    let _ = writeln!(out, "  {summary}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lint(line: &str) -> LintReport {
        lint_line(
            line,
            &CookieContext::unknown_host(true),
            OffsetDateTime::now_utc(),
        )
        .unwrap()
    }

    #[test]
    fn verdicts_follow_the_worst_finding() {
        assert_eq!(lint("a=1; Path=/").verdict, Verdict::Accepted);
        assert_eq!(
            lint("session=1; Path=/").verdict,
            Verdict::AcceptedWithWarnings
        );
        assert_eq!(
            lint("Set-Cookie: __Host-id=1; Path=/app").verdict,
            Verdict::Rejected
        );
    }

    #[test]
    fn the_text_report_names_rule_message_and_fix() {
        let text = render_text(&lint("Set-Cookie: __Host-id=1; Path=/app"));
        assert!(
            text.starts_with("Set-Cookie: __Host-id=1; Path=/app\n"),
            "{text}"
        );
        assert!(text.contains("error   [host-prefix] The browser rejects this cookie: a name starting with __Host- requires the Secure attribute."), "{text}");
        assert!(text.contains("fix: Set Path=/."), "{text}");
        assert!(
            text.contains("rejected: 2 error(s), 0 warning(s)"),
            "{text}"
        );
    }
}
