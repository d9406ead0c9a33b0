//! `cookie-lab lint`: Set-Cookie lines in, findings out, exit status by verdict.

use std::io::Read;

use serde::Serialize;

use crate::cli::{LintArgs, Scheme};
use crate::cookies::CookieContext;
use crate::lint::{LintReport, lint_line, render_text};

/// How `lint` ended; `main` turns it into the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LintOutcome {
    /// Every cookie would be stored (warnings allowed): exit 0.
    Clean,
    /// A browser would reject at least one cookie: exit 1.
    Rejected,
    /// Some input was not a Set-Cookie line: exit 2.
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
    Report(LintReport),
    Unusable { input: String, error: String },
}

pub fn run(args: LintArgs) -> anyhow::Result<LintOutcome> {
    let input = match args.set_cookie {
        Some(line) => line,
        None => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            text
        }
    };
    let lines: Vec<&str> = input.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        eprintln!(
            "cookie-lab lint: no Set-Cookie line given (pass one as an argument or on stdin)"
        );
        return Ok(LintOutcome::Unusable);
    }
    let https = args.scheme == Scheme::Https;
    let now = time::OffsetDateTime::now_utc();
    let mut outcome = LintOutcome::Clean;
    let mut json = Vec::new();
    for line in lines {
        // Without --host, judge Domain only against the public suffix list.
        let ctx = match &args.host {
            Some(host) => CookieContext::new(host, https),
            None => CookieContext::unknown_host(https),
        };
        match lint_line(line, &ctx, now) {
            Ok(report) => {
                if report.rejected() && outcome == LintOutcome::Clean {
                    outcome = LintOutcome::Rejected;
                }
                if args.json {
                    json.push(JsonLine::Report(report));
                } else {
                    print!("{}", render_text(&report));
                }
            }
            Err(err) => {
                outcome = LintOutcome::Unusable;
                if args.json {
                    json.push(JsonLine::Unusable {
                        input: line.to_owned(),
                        error: err.to_string(),
                    });
                } else {
                    eprintln!("cookie-lab lint: {err}: {line:?}");
                }
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    Ok(outcome)
}
