//! One browser session, whichever the engine: load a page, run a script in
//! it, read and empty the whole jar.

use serde_json::{Value, json};

use super::chromium::Chromium;
use super::firefox::Firefox;
use super::jar::{self, Cookie};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Chromium,
    Firefox,
}

impl Kind {
    pub(crate) const BOTH: [Kind; 2] = [Kind::Chromium, Kind::Firefox];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Chromium => "chromium",
            Kind::Firefox => "firefox",
        }
    }
}

pub(crate) enum Browser {
    Chromium(Chromium),
    Firefox(Box<Firefox>),
}

/// A cookie read from a jar, with what the reader could see of it.
pub(crate) struct Read {
    pub(crate) cookie: Cookie,
    pub(crate) observable: std::collections::BTreeMap<String, bool>,
}

impl Browser {
    /// A new session with a fresh profile.
    pub(crate) async fn start(kind: Kind) -> Self {
        match kind {
            Kind::Chromium => Browser::Chromium(Chromium::start().await),
            Kind::Firefox => Browser::Firefox(Box::new(Firefox::start().await)),
        }
    }

    pub(crate) fn kind(&self) -> Kind {
        match self {
            Browser::Chromium(_) => Kind::Chromium,
            Browser::Firefox(_) => Kind::Firefox,
        }
    }

    pub(crate) fn version(&self) -> &str {
        match self {
            Browser::Chromium(c) => &c.version,
            Browser::Firefox(f) => &f.version,
        }
    }

    pub(crate) fn client(&self) -> &fantoccini::Client {
        match self {
            Browser::Chromium(c) => &c.client,
            Browser::Firefox(f) => &f.client,
        }
    }

    /// Loads `url` as the top-level page and waits for it.
    pub(crate) async fn goto(&self, url: &str) {
        self.client()
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("{}: loading {url}: {e}", self.kind().name()));
    }

    /// Runs `promise` (a JavaScript expression giving a promise of a
    /// string) in the current page and returns what it resolves to.
    pub(crate) async fn run(&self, promise: &str) -> String {
        let script = format!(
            "const done = arguments[arguments.length - 1];\n\
             Promise.resolve().then(() => {promise}).then(done, e => done('error: ' + e));"
        );
        let result = self
            .client()
            .execute_async(&script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("{}: script {promise}: {e}", self.kind().name()));
        match result {
            Value::String(s) => s,
            other => other.to_string(),
        }
    }

    /// Every cookie in the jar. `set_at` (Unix seconds) is when the line
    /// was set, `line_is_utf8` whether the line was UTF-8 (CDP loses what is
    /// not); `own_origin` is the origin of the host that set it when that is
    /// not the top-level site (Firefox tells partitioned cookies by it).
    pub(crate) async fn read(
        &self,
        set_at: f64,
        line_is_utf8: bool,
        own_origin: Option<&str>,
    ) -> Vec<Read> {
        match self {
            Browser::Chromium(chromium) => chromium
                .all_cookies()
                .await
                .iter()
                .map(|c| {
                    let (cookie, exact) = jar::from_cdp(c, set_at, line_is_utf8);
                    Read {
                        cookie,
                        observable: jar::observable(true, exact),
                    }
                })
                .collect(),
            Browser::Firefox(firefox) => {
                let all = firefox.all_cookies().await;
                let own = match own_origin {
                    Some(origin) => Some(
                        firefox
                            .cookies_in(json!({
                                "partition": {"type": "storageKey", "sourceOrigin": origin}
                            }))
                            .await,
                    ),
                    None => None,
                };
                all.iter()
                    .map(|c| {
                        let partitioned = own
                            .as_ref()
                            .is_some_and(|own| !own.iter().any(|o| same_cookie(o, c)));
                        let (cookie, exact) = jar::from_bidi(c, set_at, partitioned);
                        Read {
                            cookie,
                            observable: jar::observable(own.is_some(), exact),
                        }
                    })
                    .collect()
            }
        }
    }

    /// Empties the jar, partitioned cookies included.
    pub(crate) async fn clear(&self) {
        match self {
            Browser::Chromium(c) => c.clear_cookies().await,
            Browser::Firefox(f) => f.clear_cookies().await,
        }
    }

    /// How many cookies the jar holds, whatever their partition.
    pub(crate) async fn count(&self) -> usize {
        match self {
            Browser::Chromium(c) => c.all_cookies().await.len(),
            Browser::Firefox(f) => f.all_cookies().await.len(),
        }
    }

    pub(crate) async fn close(self) {
        match self {
            Browser::Chromium(c) => c.close().await,
            Browser::Firefox(f) => f.close().await,
        }
    }
}

/// The same cookie in two BiDi answers: name, domain and path.
fn same_cookie(a: &Value, b: &Value) -> bool {
    ["name", "domain", "path"]
        .iter()
        .all(|k| a.get(k) == b.get(k))
}
