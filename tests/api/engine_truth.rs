//! The engine model against the browser-truth recording: for every line of
//! `tests/browser-truth/cases.json` and `held-out.json`, every host and
//! every context in `recorded.json`, both engines, field by field. Needs
//! nothing but cargo: the recording is a checked-in file (re-record it with
//! the browser tier, `RECORD=1`, see `tests/browser_truth.rs`).
//!
//! Fields an engine's jar reader cannot see (its `observable` flags) are
//! not compared; expiries may differ by `EXPIRY_TOLERANCE` seconds, since a
//! recorded expiry is counted from when the browser set the line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use cookie_lab::engine::{
    self, Context, Engine, Expiry, MEASURED_CONTEXTS, SameSite, Scheme, SetterUrl, StoredCookie,
    Verdict, bytes,
};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::{datetime, format_description};

/// The instant the placeholders are filled with and the model runs at.
const NOW: OffsetDateTime = datetime!(2026-11-29 12:00:00 UTC);

/// Seconds a recorded expiry may differ from the model's.
const EXPIRY_TOLERANCE: i64 = 5;

const IMF_FIXDATE: &[FormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

fn load(name: &str) -> Value {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "browser-truth", name]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// `{now+N}` / `{now-N}` replaced by that instant as an IMF-fixdate, as the
/// recorder does (browser-truth-format.md).
fn expand_at(line: &[u8], now: OffsetDateTime) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut rest = line;
    while !rest.is_empty() {
        if let Some((seconds, used)) = placeholder(rest) {
            let at = now + time::Duration::seconds(seconds);
            out.extend_from_slice(at.format(IMF_FIXDATE).unwrap().as_bytes());
            rest = &rest[used..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}

fn placeholder(text: &[u8]) -> Option<(i64, usize)> {
    let body = text.strip_prefix(b"{now")?;
    let sign = match body.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = &body[1..];
    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 || digits.get(len) != Some(&b'}') {
        return None;
    }
    let n: i64 = std::str::from_utf8(&digits[..len]).ok()?.parse().ok()?;
    Some((sign * n, 5 + len + 1))
}

/// Every case line by id, from both files, with its set.
fn lines() -> BTreeMap<String, (String, Vec<u8>)> {
    lines_at(NOW)
}

fn lines_at(now: OffsetDateTime) -> BTreeMap<String, (String, Vec<u8>)> {
    let mut out = BTreeMap::new();
    for (file, set) in [("cases.json", "corpus"), ("held-out.json", "held-out")] {
        let doc = load(file);
        let cases = doc["cases"].as_array().expect("a cases array");
        for case in cases {
            let id = case["id"].as_str().expect("an id").to_owned();
            let line = case["line"].as_str().expect("a line");
            let bytes = bytes::unescape(line).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert!(
                out.insert(id.clone(), (set.to_owned(), expand_at(&bytes, now)))
                    .is_none(),
                "{id} twice"
            );
        }
    }
    out
}

fn same_site_name(s: SameSite) -> &'static str {
    match s {
        SameSite::Unspecified => "unspecified",
        SameSite::None => "none",
        SameSite::Lax => "lax",
        SameSite::Strict => "strict",
    }
}

/// The field-by-field differences between a recorded engine result and the
/// model's verdict: `field: recorded X, model Y`.
fn compare(seen: &Value, verdict: &Verdict) -> Vec<String> {
    let observable = |key: &str| seen["observable"][key].as_bool().unwrap_or(false);
    let model: Option<&StoredCookie> = verdict.cookie.as_ref().filter(|_| verdict.stored);
    let recorded = &seen["stored"];
    let mut out = Vec::new();
    let (recorded, model) = match (recorded.is_null(), model) {
        (true, None) => return out,
        (false, Some(model)) => (recorded, model),
        (true, Some(_)) => {
            out.push(format!(
                "stored: recorded nothing, model {:?}",
                verdict.outcome
            ));
            return out;
        }
        (false, None) => {
            out.push(format!(
                "stored: recorded a cookie, model {:?} {:?}",
                verdict.outcome,
                verdict.reasons.iter().map(|r| r.id()).collect::<Vec<_>>()
            ));
            return out;
        }
    };
    let mut field = |name: &str, recorded: String, model: String| {
        if recorded != model {
            out.push(format!("{name}: recorded {recorded}, model {model}"));
        }
    };
    let text = |key: &str| recorded[key].as_str().unwrap_or_default().to_owned();
    let flag = |key: &str| recorded[key].as_bool().unwrap_or(false);
    if observable("name_bytes") {
        field("name", text("name"), bytes::escape(&model.name));
    }
    if observable("value_bytes") {
        field("value", text("value"), bytes::escape(&model.value));
    }
    if observable("path_bytes") {
        field("path", text("path"), bytes::escape(&model.path));
    }
    field("domain", text("domain"), model.domain.clone());
    if observable("host_only") {
        field(
            "host_only",
            flag("host_only").to_string(),
            model.host_only.to_string(),
        );
    }
    field(
        "secure",
        flag("secure").to_string(),
        model.secure.to_string(),
    );
    field(
        "http_only",
        flag("http_only").to_string(),
        model.http_only.to_string(),
    );
    let mut same_site = same_site_name(model.same_site).to_owned();
    let recorded_same_site = text("same_site");
    if !observable("same_site_unspecified") && same_site == "unspecified" {
        // The reader shows an unspecified SameSite as None.
        same_site = "none".to_owned();
    }
    field("same_site", recorded_same_site, same_site);
    if observable("partitioned") {
        field(
            "partitioned",
            flag("partitioned").to_string(),
            model.partitioned.to_string(),
        );
    }
    let model_expiry = match model.expiry {
        Expiry::Session => None,
        Expiry::At { in_seconds, .. } => Some(in_seconds),
        Expiry::Expired => Some(0),
    };
    let recorded_expiry = recorded["expires_in"].as_i64();
    let expiry_agrees = match (recorded_expiry, model_expiry) {
        (Some(a), Some(b)) => (a - b).abs() <= EXPIRY_TOLERANCE,
        (a, b) => a == b,
    };
    if !expiry_agrees {
        out.push(format!(
            "expires_in: recorded {recorded_expiry:?}, model {model_expiry:?} (±{EXPIRY_TOLERANCE} s allowed)"
        ));
    }
    out
}

struct Tally {
    triples: usize,
    agreed: BTreeMap<Engine, usize>,
    disagreements: Vec<String>,
}

/// Runs the model on every recorded result of `set` and tallies agreement.
fn check(set: &str) -> Tally {
    let recording = load("recorded.json");
    let setter_path = recording["setter_path"].as_str().expect("a setter_path");
    let lines = lines();
    let mut tally = Tally {
        triples: 0,
        agreed: BTreeMap::new(),
        disagreements: Vec::new(),
    };
    for result in recording["results"].as_array().expect("a results array") {
        if result["set"] != set {
            continue;
        }
        let case = result["case"].as_str().expect("a case");
        let host = result["host"].as_str().expect("a host");
        let context_id = result["context"].as_str().expect("a context");
        let (case_set, line) = lines
            .get(case)
            .unwrap_or_else(|| panic!("recorded case {case} is in neither cases file"));
        assert_eq!(case_set, set, "{case}");
        let context =
            Context::from_id(context_id).unwrap_or_else(|| panic!("context {context_id}"));
        let setter = SetterUrl::new(Scheme::Http, host, setter_path).unwrap();
        let verdicts = engine::evaluate(line, &setter, context, NOW);
        tally.triples += 1;
        for engine in Engine::ALL {
            let differences = compare(&result[engine.name()], verdicts.get(engine));
            if differences.is_empty() {
                *tally.agreed.entry(engine).or_default() += 1;
                continue;
            }
            tally.disagreements.push(format!(
                "{case} ({set}) on {host}, {context_id}, {}: line {:?}\n    {}",
                engine.name(),
                bytes::escape(line),
                differences.join("\n    ")
            ));
        }
    }
    tally
}

fn assert_agrees(set: &str) {
    let tally = check(set);
    assert!(tally.triples > 0, "no {set} results recorded");
    for engine in Engine::ALL {
        println!(
            "{set}: {} agrees on {}/{} line x host x context",
            engine.name(),
            tally.agreed.get(&engine).copied().unwrap_or(0),
            tally.triples
        );
    }
    assert!(
        tally.disagreements.is_empty(),
        "the model disagrees with the recording on {} results:\n{}",
        tally.disagreements.len(),
        tally.disagreements.join("\n")
    );
}

#[test]
fn the_model_agrees_with_the_recorded_corpus() {
    assert_agrees("corpus");
}

#[test]
fn the_model_agrees_with_the_recorded_held_out_lines() {
    assert_agrees("held-out");
}

#[test]
fn the_measured_contexts_are_the_recorded_ones() {
    let recording = load("recorded.json");
    let recorded: BTreeSet<&str> = recording["results"]
        .as_array()
        .expect("a results array")
        .iter()
        .filter_map(|r| r["context"].as_str())
        .collect();
    let modelled: BTreeSet<&str> = MEASURED_CONTEXTS.iter().map(|c| c.id()).collect();
    assert_eq!(recorded, modelled);
}

#[test]
fn the_corpus_has_the_promised_size() {
    let lines = lines();
    let corpus = lines.values().filter(|(set, _)| set == "corpus").count();
    let held_out = lines.len() - corpus;
    assert!(corpus >= 250, "{corpus} corpus lines");
    assert!(held_out >= 50, "{held_out} held-out lines");
}

/// `POST /api/lint` on every held-out line (never in the corpus, never used
/// to tune the model), from each recorded host: each engine's `stored`, and
/// its cookie's name, value and path, are what that browser stored.
#[tokio::test]
async fn the_api_answers_what_the_browsers_stored_for_lines_outside_the_corpus() {
    let app = crate::common::oneshot_app().await;
    let recording = load("recorded.json");
    let setter_path = recording["setter_path"].as_str().expect("a setter_path");
    // The API judges at the real time, so placeholders are filled with it.
    let lines = lines_at(OffsetDateTime::now_utc());
    let mut checked = 0;
    let mut wrong = Vec::new();
    for result in recording["results"].as_array().expect("results") {
        if result["set"] != "held-out" || result["context"] != "same-site" {
            continue;
        }
        let case = result["case"].as_str().expect("a case");
        let host = result["host"].as_str().expect("a host");
        let (_, line) = &lines[case];
        let body = serde_json::json!({
            "set_cookie": bytes::escape(line),
            "host": host,
            "scheme": "http",
            "path": setter_path,
        });
        let response = app.post_json("/api/lint", &body).await;
        assert_eq!(response.status(), reqwest::StatusCode::OK, "{case}");
        let report: Value = response.json().await.unwrap();
        for engine in Engine::ALL {
            let seen = &result[engine.name()];
            let answer = &report["engines"][engine.name()];
            let observable = |key: &str| seen["observable"][key].as_bool().unwrap_or(false);
            let mut differences = Vec::new();
            if answer["stored"].as_bool() != Some(!seen["stored"].is_null()) {
                differences.push(format!(
                    "stored: {} vs {}",
                    seen["stored"], answer["stored"]
                ));
            } else if !seen["stored"].is_null() {
                for (field, flag) in [
                    ("name", "name_bytes"),
                    ("value", "value_bytes"),
                    ("path", "path_bytes"),
                ] {
                    if observable(flag) && seen["stored"][field] != answer["cookie"][field] {
                        differences.push(format!(
                            "{field}: browser {} vs API {}",
                            seen["stored"][field], answer["cookie"][field]
                        ));
                    }
                }
            }
            if !differences.is_empty() {
                wrong.push(format!(
                    "{case} on {host}, {}: {}",
                    engine.name(),
                    differences.join("; ")
                ));
            }
        }
        checked += 1;
    }
    assert!(checked >= 200, "{checked} held-out results checked");
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
