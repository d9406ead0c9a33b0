//! The browser-truth recorder: every Set-Cookie line of
//! `tests/browser-truth/cases.json` and `held-out.json` is sent byte for
//! byte by a raw HTTP responder on 127.0.0.1 and set in real Chromium
//! (chromedriver) and real Firefox ESR (geckodriver), from every host; what
//! each engine's whole jar then holds is compared with
//! `tests/browser-truth/recorded.json`, or written there with `RECORD=1`.
//! The file format is `/work/browser-truth-format.md` (shared with the engine
//! model, which reads these files; nothing here depends on the model).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a failed test"
)]

#[path = "browser_truth/chromium.rs"]
mod chromium;
#[path = "browser_truth/corpus.rs"]
mod corpus;
#[path = "browser_truth/engine.rs"]
mod engine;
#[path = "browser_truth/firefox.rs"]
mod firefox;
#[path = "browser_truth/hosts.rs"]
mod hosts;
#[path = "browser_truth/jar.rs"]
mod jar;
#[path = "browser_truth/lines.rs"]
mod lines;
#[path = "browser_truth/recording.rs"]
mod recording;
#[path = "browser_truth/responder.rs"]
mod responder;
#[path = "common/webdriver.rs"]
mod webdriver;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use corpus::{Case, Set};
use engine::{Browser, Kind};
use recording::{Context, RECORD_COMMAND, Recorded, Recorder, SetBy};
use responder::Responder;
use tokio::sync::Mutex;

/// One browser test at a time: `cargo test` runs the tests of a binary on
/// parallel threads, and more browsers than that on 2 cores slow each
/// other down. tokio's mutex does not poison, so a failed test frees it.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// The whole recording should take under 4 minutes; this deadline (5x
/// that, generously) only stops a hung browser from hanging the suite.
const RECORDING_DEADLINE: Duration = Duration::from_secs(20 * 60);

fn recording_mode() -> bool {
    std::env::var_os("RECORD").is_some_and(|v| v == "1")
}

/// The corpus and the held-out set, as recorded.
fn all_cases() -> Vec<(Set, Case)> {
    let corpus = corpus::read("cases.json");
    let held_out = corpus::held_out(&corpus);
    corpus
        .into_iter()
        .map(|c| (Set::Corpus, c))
        .chain(held_out.into_iter().map(|c| (Set::HeldOut, c)))
        .collect()
}

#[test]
fn the_corpus_is_well_formed() {
    let cases = corpus::read("cases.json");
    assert!(cases.len() >= 250, "only {} corpus lines", cases.len());
    let mut ids = HashSet::new();
    let mut lines = HashSet::new();
    for case in &cases {
        assert!(
            !case.id.is_empty()
                && case
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "case id {:?} is not [a-z0-9-]+",
            case.id
        );
        assert!(ids.insert(case.id.clone()), "case id {} twice", case.id);
        assert!(
            lines.insert(case.bytes()),
            "case {}: the same line as another case",
            case.id
        );
        assert!(
            case.from.is_none(),
            "case {}: only held-out lines have `from`",
            case.id
        );
        // The JSON form is canonical: what the file says is what encode gives.
        assert_eq!(lines::encode(&case.bytes()), case.line, "case {}", case.id);
    }
    let categories: HashSet<&str> = cases.iter().map(|c| c.category.as_str()).collect();
    for category in [
        "plain",
        "name-chars",
        "value-chars",
        "nameless",
        "size",
        "attribute-size",
        "path",
        "domain",
        "max-age",
        "expires",
        "samesite",
        "duplicate-unknown",
        "secure",
        "prefix",
        "partitioned",
    ] {
        assert!(
            categories.contains(category),
            "no case in category {category}"
        );
    }
    let cross = cases.iter().filter(|c| c.cross_site).count();
    assert!(cross >= 30, "only {cross} cases are recorded across sites");
    // Written by hand, but laid out as the recorder writes case files (one
    // case per line); RECORD=1 lays it out so.
    let path = corpus::dir().join("cases.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let canonical = corpus::to_json(&cases);
    if recording_mode() && text != canonical {
        // Other tests read the file meanwhile: replace it in one step.
        let fresh = path.with_extension("json.tmp");
        std::fs::write(&fresh, &canonical).unwrap();
        std::fs::rename(&fresh, &path).unwrap();
        return;
    }
    assert!(
        text == canonical,
        "tests/browser-truth/cases.json is not laid out one case per line as the recorder writes it; \
         {RECORD_COMMAND} rewrites it so"
    );
}

#[test]
fn the_held_out_set_is_generated_from_the_corpus() {
    let corpus = corpus::read("cases.json");
    let generated = corpus::held_out(&corpus);
    assert_eq!(generated.len(), corpus::HELD_OUT_COUNT);
    let corpus_lines: HashSet<Vec<u8>> = corpus.iter().map(Case::bytes).collect();
    let mut seen = HashSet::new();
    for case in &generated {
        assert!(
            !corpus_lines.contains(&case.bytes()),
            "{} is a corpus line",
            case.id
        );
        assert!(seen.insert(case.bytes()), "{} is a duplicate", case.id);
    }
    let path = corpus::dir().join("held-out.json");
    let text = corpus::to_json(&generated);
    if recording_mode() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let file = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        file == text,
        "tests/browser-truth/held-out.json is not what the generator makes from cases.json. \
         Regenerate it (and re-record) with: {RECORD_COMMAND}"
    );
}

/// The responder sends a line's bytes untouched: control bytes, bytes that
/// are not UTF-8 and a 4 KiB value.
#[tokio::test]
async fn the_responder_sends_the_line_byte_for_byte() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let responder = Responder::start().await;
    let mut line = b"v=a\x01b\xff\t\x7f; Path=/".to_vec();
    line.extend(std::iter::repeat_n(b'x', 4096));
    responder.register("t", line.clone());
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", responder.port()))
        .await
        .unwrap();
    stream
        .write_all(b"GET /p/q/r?case=t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let mut header = b"\r\nSet-Cookie: ".to_vec();
    header.extend_from_slice(&line);
    header.extend_from_slice(b"\r\n");
    assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(
        response.windows(header.len()).any(|w| w == header),
        "the line is not in the response byte for byte"
    );
}

/// A difference names the case, host, context, engine and field, the
/// values in the file and in the browser; expiries differ by up to 5 s.
#[test]
fn a_difference_is_named_down_to_the_field() {
    let result = |value: &str, expires_in: i64| -> recording::Result {
        let seen = jar::Seen {
            stored: Some(jar::Cookie {
                name: "n".to_owned(),
                value: value.to_owned(),
                domain: "localhost".to_owned(),
                host_only: true,
                path: "/p/q".to_owned(),
                secure: false,
                http_only: false,
                same_site: "unspecified".to_owned(),
                expires_in: Some(expires_in),
                partitioned: false,
            }),
            observable: jar::observable(true, jar::Exact::ALL),
            load_failed: false,
        };
        recording::Result {
            case: "plain".to_owned(),
            set: Set::Corpus,
            host: "localhost".to_owned(),
            context: Context::SameSite,
            chromium: seen.clone(),
            firefox: seen,
        }
    };
    let recorded = |results: Vec<recording::Result>| Recorded {
        engines: BTreeMap::new(),
        setter_path: responder::SETTER_PATH.to_owned(),
        results,
    };
    let file = recorded(vec![result("1", 3600)]);
    assert!(recording::differences(&file, &recorded(vec![result("1", 3604)])).is_empty());

    let mut changed = result("1", 3600);
    changed.firefox = result("2", 3610).firefox;
    assert_eq!(
        recording::differences(&file, &recorded(vec![changed])),
        [
            "case plain (corpus), host localhost, same-site, firefox: value: file \"1\" vs browser \"2\"",
            "case plain (corpus), host localhost, same-site, firefox: expires_in: file Some(3600) vs browser \
             Some(3610) (±5 s allowed)",
        ]
    );

    let mut dropped = result("1", 3600);
    dropped.chromium.stored = None;
    let differences = recording::differences(&file, &recorded(vec![dropped]));
    assert_eq!(differences.len(), 1);
    assert!(
        differences[0].starts_with(
            "case plain (corpus), host localhost, same-site, chromium: stored: file {"
        ),
        "{differences:?}"
    );
    assert!(
        differences[0].ends_with("} vs browser null"),
        "{differences:?}"
    );

    let gone = recording::differences(&file, &recorded(Vec::new()));
    assert_eq!(
        gone,
        [
            "case plain (corpus), host localhost, same-site: in the file, but no longer a line to record"
        ]
    );

    // Re-recording keeps the file's result where the browsers agree with
    // it, and takes the browsers' where they do not.
    let kept = recording::keep_unchanged(&file, recorded(vec![result("1", 3604)]));
    assert_eq!(kept.results, file.results);
    let replaced = recording::keep_unchanged(&file, recorded(vec![result("2", 3604)]));
    assert_eq!(replaced.results, [result("2", 3604)]);
}

/// The readers see the whole jar: a cookie on another path, a partitioned
/// cookie, and a cookie set across sites; and emptying the jar empties it.
#[tokio::test]
async fn the_readers_see_the_whole_jar() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let responder = Responder::start().await;
    for kind in Kind::BOTH {
        let mut recorder = Recorder::start(kind, &responder).await;
        recorder.show("localhost").await;

        let line = b"p=1; Path=/elsewhere";
        let seen = recorder
            .record(
                "self-elsewhere",
                line,
                "localhost",
                Context::SameSite,
                SetBy::Fetch,
            )
            .await;
        let cookie = seen
            .stored
            .unwrap_or_else(|| panic!("{}: no Path=/elsewhere cookie", kind.name()));
        assert_eq!(
            (cookie.name.as_str(), cookie.path.as_str()),
            ("p", "/elsewhere")
        );

        // Classic WebDriver sees only what the current page would be sent:
        // the reason the recorder reads the jar another way.
        set_by_fetch(recorder.browser(), &responder, "localhost", line).await;
        let classic = recorder.browser().client().get_all_cookies().await.unwrap();
        assert!(
            classic.iter().all(|c| c.name() != "p"),
            "{}: classic WebDriver saw a cookie of another path",
            kind.name()
        );
        assert_eq!(recorder.browser().read(0.0, true, None).await.len(), 1);
        recorder.browser().clear().await;
        assert_eq!(
            recorder.browser().count().await,
            0,
            "{}: the jar was not emptied",
            kind.name()
        );

        let seen = recorder
            .record(
                "self-partitioned",
                b"part=1; Partitioned; Secure",
                "localhost",
                Context::SameSite,
                SetBy::Fetch,
            )
            .await;
        let cookie = seen
            .stored
            .unwrap_or_else(|| panic!("{}: no partitioned cookie", kind.name()));
        assert_eq!(cookie.name, "part");
        if kind == Kind::Chromium {
            assert!(cookie.partitioned, "CDP shows the partition key");
        }

        // Across sites: localhost in an iframe of a 127.0.0.1 page.
        recorder.show("127.0.0.1").await;
        let seen = recorder
            .record(
                "self-cross-site-partitioned",
                b"tp=1; Partitioned; Secure; SameSite=None",
                "localhost",
                Context::CrossSiteIframe,
                SetBy::Fetch,
            )
            .await;
        let cookie = seen
            .stored
            .unwrap_or_else(|| panic!("{}: no cross-site partitioned cookie", kind.name()));
        assert_eq!(
            (cookie.name.as_str(), cookie.partitioned),
            ("tp", true),
            "{}",
            kind.name()
        );
        assert_eq!(seen.observable.get("partitioned"), Some(&true));
        // `record` emptied the jar after reading it, partitioned cookie
        // included (Firefox keeps those through classic delete-all).
        assert_eq!(
            recorder.browser().count().await,
            0,
            "{}: the jar was not emptied",
            kind.name()
        );
        recorder.close().await;
    }
}

/// Sets `line` on `host` by a fetch from the page the browser shows.
async fn set_by_fetch(browser: &Browser, responder: &Responder, host: &str, line: &[u8]) {
    let token = format!("manual-{}", browser.kind().name());
    responder.register(&token, line.to_vec());
    let url = format!(
        "http://{host}:{}{}?case={token}",
        responder.port(),
        responder::SETTER_PATH
    );
    let outcome = browser
        .run(&format!(
            "fetch({url:?}, {{credentials: 'include'}}).then(r => r.text()).then(() => 'ok')"
        ))
        .await;
    assert_eq!(outcome, "ok");
}

/// The recorder sets each line with a same-origin fetch (fast) instead of a
/// navigation: on a sample of lines both give the same jar.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_sets_what_a_navigation_sets() {
    let _turn = ONE_AT_A_TIME.lock().await;
    const SAMPLE: &[&str] = &[
        "plain",
        "plain-httponly",
        "name-space",
        "value-tab",
        "value-ctl-01",
        "value-invalid-ff",
        "nameless",
        "no-equals",
        "size-4096-half",
        "size-4097-half",
        "attr-path-1025",
        "path-relative",
        "path-elsewhere",
        "domain-localhost",
        "domain-localhost-trailing-dot",
        "domain-test-name",
        "max-age-positive",
        "max-age-zero",
        "expires-past",
        "expires-unparsable",
        "samesite-strict",
        "samesite-none-insecure",
        "samesite-none-secure",
        "samesite-false",
        "secure",
        "prefix-host-canonical-ok",
        "prefix-host-canonical-no-path",
        "prefix-http-canonical-no-httponly",
        "partitioned-secure",
        "partitioned-insecure",
    ];
    let cases = corpus::read("cases.json");
    let sample: Vec<&Case> = SAMPLE
        .iter()
        .map(|id| {
            cases
                .iter()
                .find(|c| c.id == *id)
                .unwrap_or_else(|| panic!("no case {id}"))
        })
        .collect();
    let responder = Responder::start().await;
    // The two engines at once: they wait on each other's round trips, not
    // on the CPU.
    let (chromium, firefox) = tokio::join!(
        fetch_against_navigation(Kind::Chromium, &responder, &sample),
        fetch_against_navigation(Kind::Firefox, &responder, &sample),
    );
    let differences = [chromium, firefox].concat();
    assert!(
        differences.is_empty(),
        "a fetch and a navigation set different cookies:\n{}",
        differences.join("\n")
    );
}

/// Each sample line set by a fetch and by a navigation, on a loopback host
/// and on the non-loopback one: every difference between the two.
async fn fetch_against_navigation(
    kind: Kind,
    responder: &Responder,
    sample: &[&Case],
) -> Vec<String> {
    let mut differences = Vec::new();
    for host in ["localhost", hosts::NON_LOOPBACK] {
        let mut recorder = Recorder::start(kind, responder).await;
        recorder.show(host).await;
        for case in sample {
            let by_fetch = recorder
                .record(
                    &case.id,
                    &case.bytes(),
                    host,
                    Context::SameSite,
                    SetBy::Fetch,
                )
                .await;
            let by_navigation = recorder
                .record(
                    &case.id,
                    &case.bytes(),
                    host,
                    Context::SameSite,
                    SetBy::Navigation,
                )
                .await;
            for difference in recording::compare(&by_fetch, &by_navigation) {
                differences.push(format!(
                    "{} on {host} in {}: {difference} (file = fetch, browser = navigation)",
                    case.id,
                    kind.name()
                ));
            }
        }
        recorder.close().await;
    }
    differences
}

/// Records every line in both engines and compares with recorded.json
/// (or, with RECORD=1, writes it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browsers_do_what_recorded_json_says() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let cases = all_cases();
    let responder = Responder::start().await;
    let started = Instant::now();
    let (chromium, firefox) = tokio::time::timeout(RECORDING_DEADLINE, async {
        tokio::join!(
            recording::record_engine(Kind::Chromium, &responder, &cases),
            recording::record_engine(Kind::Firefox, &responder, &cases),
        )
    })
    .await
    .unwrap_or_else(|_| panic!("the recording took longer than {RECORDING_DEADLINE:?}"));
    let elapsed = started.elapsed();
    let browsers = recording::merge(&cases, &chromium, &firefox);
    eprintln!(
        "browser truth: {} lines, {} results in {elapsed:.1?} (Chromium {} in {:.1?}, {} fresh sessions; \
         Firefox {} in {:.1?}, {} fresh sessions)",
        cases.len(),
        browsers.results.len(),
        chromium.version,
        chromium.elapsed,
        chromium.fresh_sessions,
        firefox.version,
        firefox.elapsed,
        firefox.fresh_sessions,
    );
    let path = corpus::dir().join("recorded.json");
    if recording_mode() {
        let old = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str::<Recorded>(&text).ok());
        let browsers = match old {
            Some(old) => recording::keep_unchanged(&old, browsers),
            None => browsers,
        };
        std::fs::write(&path, browsers.to_json()).unwrap();
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e}. Record it with: {RECORD_COMMAND}",
            path.display()
        )
    });
    let file: Recorded = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{} is not a recording ({e}). Re-record with: {RECORD_COMMAND}",
            path.display()
        )
    });
    let differences = recording::differences(&file, &browsers);
    assert!(
        differences.is_empty(),
        "the installed browsers (Chromium {}, Firefox {}) disagree with tests/browser-truth/recorded.json \
         in {} places:\n  {}\nIf the browsers changed, re-record with: {RECORD_COMMAND}",
        chromium.version,
        firefox.version,
        differences.len(),
        differences.join("\n  ")
    );
}
