//! Recording: every line, from every host, in each engine; then either
//! writing `recorded.json` or comparing with it.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::corpus::{Case, Set};
use super::engine::{Browser, Kind};
use super::hosts::HOSTS;
use super::jar::{self, Seen};
use super::lines;
use super::responder::{PAGE_PATH, Responder, SETTER_PATH};

/// The one command that re-records (and regenerates held-out.json).
pub(crate) const RECORD_COMMAND: &str = "RECORD=1 cargo test --test browser_truth";
/// Expiries read back may differ from the file by this many seconds: the
/// set instant is measured around a request, and dates have 1 s steps.
const EXPIRY_TOLERANCE: i64 = 5;
/// The cross-site contexts are recorded on this pair of loopback sites:
/// each is the top-level page while the other sets the line.
pub(crate) const CROSS_SITE_PAIR: [(&str, &str); 2] =
    [("localhost", "127.0.0.1"), ("127.0.0.1", "localhost")];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Context {
    SameSite,
    CrossSiteIframe,
    CrossSiteFetch,
}

impl Context {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Context::SameSite => "same-site",
            Context::CrossSiteIframe => "cross-site-iframe",
            Context::CrossSiteFetch => "cross-site-fetch",
        }
    }
}

/// How a line is set in the same-site context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetBy {
    /// A same-origin `fetch` from a page under the setter's directory.
    Fetch,
    /// A top-level navigation to the setter.
    Navigation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Result {
    pub(crate) case: String,
    pub(crate) set: Set,
    pub(crate) host: String,
    pub(crate) context: Context,
    pub(crate) chromium: Seen,
    pub(crate) firefox: Seen,
}

type Key = (Set, String, String, Context);

impl Result {
    fn key(&self) -> Key {
        (self.set, self.case.clone(), self.host.clone(), self.context)
    }

    fn seen(&self, kind: Kind) -> &Seen {
        match kind {
            Kind::Chromium => &self.chromium,
            Kind::Firefox => &self.firefox,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Recorded {
    pub(crate) engines: BTreeMap<String, String>,
    pub(crate) setter_path: String,
    pub(crate) results: Vec<Result>,
}

impl Recorded {
    /// The file as written: one result per line, so diffs stay readable.
    pub(crate) fn to_json(&self) -> String {
        let mut out = String::from("{\n");
        let engines = serde_json::to_string(&self.engines).expect("engines serialise");
        let _ = writeln!(out, "  \"engines\": {engines},");
        let setter = serde_json::to_string(&self.setter_path).expect("a string serialises");
        let _ = writeln!(out, "  \"setter_path\": {setter},");
        out.push_str("  \"results\": [\n");
        for (i, result) in self.results.iter().enumerate() {
            out.push_str("    ");
            out.push_str(&serde_json::to_string(result).expect("a result serialises"));
            out.push_str(if i + 1 < self.results.len() {
                ",\n"
            } else {
                "\n"
            });
        }
        out.push_str("  ]\n}\n");
        out
    }
}

/// What one engine recorded, keyed like the file.
pub(crate) struct EngineRecording {
    pub(crate) version: String,
    pub(crate) seen: HashMap<Key, Seen>,
    /// Sessions started because a jar could not be emptied.
    pub(crate) fresh_sessions: usize,
    pub(crate) elapsed: Duration,
}

/// Tokens are unique across engines and runs, so one responder serves all.
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// One session per host, reused for every line of that host.
pub(crate) struct Recorder<'a> {
    kind: Kind,
    responder: &'a Responder,
    browser: Option<Browser>,
    /// The top-level page the session shows, to reload after a restart.
    page: String,
    fresh_sessions: usize,
}

impl<'a> Recorder<'a> {
    pub(crate) async fn start(kind: Kind, responder: &'a Responder) -> Self {
        Self {
            kind,
            responder,
            browser: Some(Browser::start(kind).await),
            page: String::new(),
            fresh_sessions: 0,
        }
    }

    pub(crate) fn browser(&self) -> &Browser {
        self.browser.as_ref().expect("a running session")
    }

    /// Shows `host`'s page (the origin lines are fetched from), or the
    /// other site's page for the cross-site contexts.
    pub(crate) async fn show(&mut self, host: &str) {
        self.page = format!("http://{host}:{}{PAGE_PATH}", self.responder.port());
        self.browser().goto(&self.page).await;
    }

    /// The URL that sets the line registered under `token` on `host`.
    fn setter(&self, host: &str, token: &str) -> String {
        format!(
            "http://{host}:{}{SETTER_PATH}?case={token}",
            self.responder.port()
        )
    }

    /// Asserts the jar is empty; empties it, or starts a fresh session
    /// (a new profile) when emptying does not work.
    async fn ensure_empty(&mut self) {
        if self.browser().count().await == 0 {
            return;
        }
        self.browser().clear().await;
        if self.browser().count().await == 0 {
            return;
        }
        let left: Vec<String> = self
            .browser()
            .read(0.0, true, None)
            .await
            .iter()
            .map(|r| format!("{:?} (path {:?})", r.cookie.name, r.cookie.path))
            .collect();
        eprintln!(
            "browser truth: {} could not empty its jar ({}); starting a fresh session",
            self.kind.name(),
            left.join(", ")
        );
        let old = self.browser.take().expect("a running session");
        old.close().await;
        self.browser = Some(Browser::start(self.kind).await);
        self.fresh_sessions += 1;
        let page = self.page.clone();
        self.browser().goto(&page).await;
        let left = self.browser().count().await;
        assert_eq!(
            left,
            0,
            "{}: a fresh session's jar holds {left} cookies",
            self.kind.name()
        );
    }

    /// Sets `line` on `host` in `context` and reads what the jar holds.
    pub(crate) async fn record(
        &mut self,
        id: &str,
        line: &[u8],
        host: &str,
        context: Context,
        by: SetBy,
    ) -> Seen {
        self.ensure_empty().await;
        let token = format!(
            "{}{}",
            self.kind.name(),
            NEXT_TOKEN.fetch_add(1, Ordering::Relaxed)
        );
        let now = OffsetDateTime::now_utc();
        #[expect(
            clippy::cast_precision_loss,
            reason = "nanoseconds since 1970 fit an f64 well enough for seconds"
        )]
        let set_at = now.unix_timestamp_nanos() as f64 / 1e9;
        self.responder.register(&token, lines::expand(line, now));
        let url = self.setter(host, &token);
        let outcome = match (context, by) {
            (Context::SameSite, SetBy::Navigation) => {
                self.browser().goto(&url).await;
                let outcome = "ok".to_owned();
                self.browser().goto(&self.page.clone()).await;
                outcome
            }
            (Context::SameSite | Context::CrossSiteFetch, _) => {
                self.browser()
                    .run(&format!(
                        "fetch({url:?}, {{credentials: 'include', cache: 'no-store'}}).then(r => r.text()).then(() => 'ok')"
                    ))
                    .await
            }
            (Context::CrossSiteIframe, _) => self.browser().run(&iframe_script(&url)).await,
        };
        let own_origin = match context {
            Context::SameSite => None,
            _ => Some(format!("http://{host}:{}", self.responder.port())),
        };
        let line_is_utf8 = std::str::from_utf8(line).is_ok();
        let mut jar = self
            .browser()
            .read(set_at, line_is_utf8, own_origin.as_deref())
            .await;
        assert!(
            jar.len() <= 1,
            "{}: line {id} on {host} left {} cookies; one line sets at most one",
            self.kind.name(),
            jar.len()
        );
        self.browser().clear().await;
        let (stored, observable) = match jar.pop() {
            Some(read) => (Some(read.cookie), read.observable),
            None => {
                // Nothing to read: the reader's general abilities.
                let partitioned = self.kind == Kind::Chromium || own_origin.is_some();
                (None, jar::observable(partitioned, jar::Exact::ALL))
            }
        };
        Seen {
            stored,
            observable,
            load_failed: outcome != "ok",
        }
    }

    pub(crate) async fn close(mut self) -> usize {
        if let Some(browser) = self.browser.take() {
            browser.close().await;
        }
        self.fresh_sessions
    }
}

/// Loads `url` in an iframe of the current page; resolves once it loaded
/// (or after 10 s, generously, if it never does).
fn iframe_script(url: &str) -> String {
    format!(
        "new Promise(resolve => {{\n\
           const frame = document.createElement('iframe');\n\
           const timer = setTimeout(() => {{ frame.remove(); resolve('timeout'); }}, 10000);\n\
           frame.onload = () => {{ clearTimeout(timer); frame.remove(); resolve('ok'); }};\n\
           frame.src = {url:?};\n\
           document.body.appendChild(frame);\n\
         }})"
    )
}

/// Records every case in one engine: each host in its own session, every
/// line in the same-site context, and the cross-site cases on the
/// loopback pair.
pub(crate) async fn record_engine(
    kind: Kind,
    responder: &Responder,
    cases: &[(Set, Case)],
) -> EngineRecording {
    let started = Instant::now();
    let mut seen = HashMap::new();
    let mut version = String::new();
    let mut fresh_sessions = 0;
    for host in HOSTS {
        let mut recorder = Recorder::start(kind, responder).await;
        version = recorder.browser().version().to_owned();
        recorder.show(host).await;
        for (set, case) in cases {
            let result = recorder
                .record(
                    &case.id,
                    &case.bytes(),
                    host,
                    Context::SameSite,
                    SetBy::Fetch,
                )
                .await;
            seen.insert(
                (*set, case.id.clone(), host.to_owned(), Context::SameSite),
                result,
            );
        }
        if let Some((_, top)) = CROSS_SITE_PAIR.iter().find(|(h, _)| *h == host) {
            recorder.show(top).await;
            for (set, case) in cases.iter().filter(|(_, c)| c.cross_site) {
                for context in [Context::CrossSiteIframe, Context::CrossSiteFetch] {
                    let result = recorder
                        .record(&case.id, &case.bytes(), host, context, SetBy::Fetch)
                        .await;
                    seen.insert((*set, case.id.clone(), host.to_owned(), context), result);
                }
            }
        }
        fresh_sessions += recorder.close().await;
    }
    EngineRecording {
        version,
        seen,
        fresh_sessions,
        elapsed: started.elapsed(),
    }
}

/// The two engines' recordings as the file's results, in file order: the
/// cases in order, then hosts, then contexts.
pub(crate) fn merge(
    cases: &[(Set, Case)],
    chromium: &EngineRecording,
    firefox: &EngineRecording,
) -> Recorded {
    let mut results = Vec::new();
    for (set, case) in cases {
        for host in HOSTS {
            for context in [
                Context::SameSite,
                Context::CrossSiteIframe,
                Context::CrossSiteFetch,
            ] {
                let key = (*set, case.id.clone(), host.to_owned(), context);
                match (chromium.seen.get(&key), firefox.seen.get(&key)) {
                    (Some(c), Some(f)) => results.push(Result {
                        case: case.id.clone(),
                        set: *set,
                        host: host.to_owned(),
                        context,
                        chromium: c.clone(),
                        firefox: f.clone(),
                    }),
                    (None, None) => {}
                    _ => panic!("{key:?} was recorded in one engine only"),
                }
            }
        }
    }
    Recorded {
        engines: BTreeMap::from([
            ("chromium".to_owned(), chromium.version.clone()),
            ("firefox".to_owned(), firefox.version.clone()),
        ]),
        setter_path: SETTER_PATH.to_owned(),
        results,
    }
}

/// Every difference between the file and a new recording, one per line;
/// engine versions are not compared.
pub(crate) fn differences(file: &Recorded, browsers: &Recorded) -> Vec<String> {
    let mut out = Vec::new();
    if file.setter_path != browsers.setter_path {
        out.push(format!(
            "setter_path: file {:?} vs browser {:?}",
            file.setter_path, browsers.setter_path
        ));
    }
    let in_file: HashMap<Key, &Result> = file.results.iter().map(|r| (r.key(), r)).collect();
    let recorded: HashMap<Key, &Result> = browsers.results.iter().map(|r| (r.key(), r)).collect();
    for result in &browsers.results {
        let at = format!(
            "case {} ({}), host {}, {}",
            result.case,
            result.set.name(),
            result.host,
            result.context.name()
        );
        let Some(old) = in_file.get(&result.key()) else {
            out.push(format!("{at}: not in the file"));
            continue;
        };
        for kind in Kind::BOTH {
            for difference in compare(old.seen(kind), result.seen(kind)) {
                out.push(format!("{at}, {}: {difference}", kind.name()));
            }
        }
    }
    for result in &file.results {
        if !recorded.contains_key(&result.key()) {
            out.push(format!(
                "case {} ({}), host {}, {}: in the file, but no longer a line to record",
                result.case,
                result.set.name(),
                result.host,
                result.context.name()
            ));
        }
    }
    out
}

/// The differences between one engine's part of the file and of a new
/// recording: `field: file X vs browser Y`.
pub(crate) fn compare(file: &Seen, browser: &Seen) -> Vec<String> {
    let mut out = Vec::new();
    if file.load_failed != browser.load_failed {
        out.push(format!(
            "load_failed: file {} vs browser {}",
            file.load_failed, browser.load_failed
        ));
    }
    for key in jar::OBSERVABLE_KEYS {
        let (a, b) = (file.observable.get(key), browser.observable.get(key));
        if a != b {
            out.push(format!("observable.{key}: file {a:?} vs browser {b:?}"));
        }
    }
    let seen = |key: &str| {
        file.observable.get(key).copied().unwrap_or(false)
            && browser.observable.get(key).copied().unwrap_or(false)
    };
    let (a, b) = match (&file.stored, &browser.stored) {
        (None, None) => return out,
        (Some(a), Some(b)) => (a, b),
        (a, b) => {
            let show =
                |c: &Option<jar::Cookie>| serde_json::to_string(c).expect("a cookie serialises");
            out.push(format!("stored: file {} vs browser {}", show(a), show(b)));
            return out;
        }
    };
    let mut field = |name: &str, x: String, y: String| {
        if x != y {
            out.push(format!("{name}: file {x} vs browser {y}"));
        }
    };
    if seen("name_bytes") {
        field("name", format!("{:?}", a.name), format!("{:?}", b.name));
    }
    if seen("value_bytes") {
        field("value", format!("{:?}", a.value), format!("{:?}", b.value));
    }
    if seen("path_bytes") {
        field("path", format!("{:?}", a.path), format!("{:?}", b.path));
    }
    field(
        "domain",
        format!("{:?}", a.domain),
        format!("{:?}", b.domain),
    );
    if seen("host_only") {
        field(
            "host_only",
            a.host_only.to_string(),
            b.host_only.to_string(),
        );
    }
    field("secure", a.secure.to_string(), b.secure.to_string());
    field(
        "http_only",
        a.http_only.to_string(),
        b.http_only.to_string(),
    );
    field("same_site", a.same_site.clone(), b.same_site.clone());
    if seen("partitioned") {
        field(
            "partitioned",
            a.partitioned.to_string(),
            b.partitioned.to_string(),
        );
    }
    let expiry_matches = match (a.expires_in, b.expires_in) {
        (Some(x), Some(y)) => (x - y).abs() <= EXPIRY_TOLERANCE,
        (x, y) => x == y,
    };
    if !expiry_matches {
        out.push(format!(
            "expires_in: file {:?} vs browser {:?} (±{EXPIRY_TOLERANCE} s allowed)",
            a.expires_in, b.expires_in
        ));
    }
    out
}
