//! Which browser runs the lab, from its `User-Agent`: the engine model
//! covers Chromium and Firefox; any other browser gets its observations
//! alone.

use serde::{Deserialize, Serialize};

use crate::engine::{Engine, MODELLED_VERSIONS};

/// The browser of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Browser {
    /// An engine the model covers, and the major version it says it is.
    Modelled { engine: Engine, version: String },
    /// Any other browser (Safari, a Chromium-based browser with its own
    /// cookie settings such as Brave or Edge, or an unknown one).
    Unmodelled { name: String },
}

/// Chromium-based browsers whose cookie defaults differ from Chromium's
/// (their own tracking protection or settings), told apart by the token
/// they add to the `User-Agent`.
const CHROMIUM_BASED: [(&str, &str); 6] = [
    ("Edg/", "Microsoft Edge"),
    ("OPR/", "Opera"),
    ("Vivaldi/", "Vivaldi"),
    ("YaBrowser/", "Yandex Browser"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("DuckDuckGo/", "DuckDuckGo"),
];

impl Browser {
    /// The browser a `User-Agent` names. `brave` is the page's own check
    /// (`navigator.brave`): Brave sends Chrome's `User-Agent` unchanged.
    pub fn from_user_agent(user_agent: &str, brave: bool) -> Self {
        let unmodelled = |name: &str| Browser::Unmodelled {
            name: name.to_owned(),
        };
        if let Some(version) = major_after(user_agent, "Firefox/") {
            return Browser::Modelled {
                engine: Engine::Firefox,
                version,
            };
        }
        let chromium = ["HeadlessChrome/", "Chromium/", "Chrome/"]
            .iter()
            .find_map(|token| major_after(user_agent, token));
        if let Some(version) = chromium {
            if brave {
                return unmodelled("Brave");
            }
            if let Some((_, name)) = CHROMIUM_BASED.iter().find(|(t, _)| user_agent.contains(t)) {
                return unmodelled(name);
            }
            return Browser::Modelled {
                engine: Engine::Chromium,
                version,
            };
        }
        if user_agent.contains("Safari/") {
            return unmodelled("Safari");
        }
        unmodelled("an unknown browser")
    }

    pub fn engine(&self) -> Option<Engine> {
        match self {
            Browser::Modelled { engine, .. } => Some(*engine),
            Browser::Unmodelled { .. } => None,
        }
    }

    /// The browser's name and version, for the page.
    pub fn describe(&self) -> String {
        match self {
            Browser::Modelled {
                engine: Engine::Chromium,
                version,
            } => format!("Chromium {version}"),
            Browser::Modelled {
                engine: Engine::Firefox,
                version,
            } => format!("Firefox {version}"),
            Browser::Unmodelled { name } => name.clone(),
        }
    }

    /// When the model covers the engine but another version of it: the
    /// version the model follows.
    pub fn other_version_than_modelled(&self) -> Option<&'static str> {
        let Browser::Modelled { engine, version } = self else {
            return None;
        };
        let modelled = MODELLED_VERSIONS
            .iter()
            .find(|(e, _)| e == engine)
            .map(|(_, v)| *v)?;
        let modelled_major = modelled.trim_start_matches("ESR ");
        (version != modelled_major).then_some(modelled)
    }
}

/// The major version after `token` (`Firefox/153.0` → `153`), if any.
fn major_after(user_agent: &str, token: &str) -> Option<String> {
    let rest = &user_agent[user_agent.find(token)? + token.len()..];
    let major: String = rest
        .chars()
        .take_while(char::is_ascii_digit)
        .take(5)
        .collect();
    (!major.is_empty()).then_some(major)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chromium_and_firefox_are_modelled_with_their_major_version() {
        let chromium = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.8078.108 Safari/537.36";
        assert_eq!(
            Browser::from_user_agent(chromium, false),
            Browser::Modelled {
                engine: Engine::Chromium,
                version: "156".to_owned()
            }
        );
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0";
        let browser = Browser::from_user_agent(firefox, false);
        assert_eq!(browser.describe(), "Firefox 153");
        assert_eq!(browser.other_version_than_modelled(), None);
        let old = Browser::from_user_agent(&firefox.replace("153", "140"), false);
        assert_eq!(old.other_version_than_modelled(), Some("ESR 153"));
    }

    #[test]
    fn other_browsers_get_no_model() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
        assert_eq!(Browser::from_user_agent(chrome, true).describe(), "Brave");
        assert_eq!(
            Browser::from_user_agent(&format!("{chrome} Edg/156.0.0.0"), false).describe(),
            "Microsoft Edge"
        );
        let safari = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15";
        assert_eq!(Browser::from_user_agent(safari, false).engine(), None);
        assert_eq!(
            Browser::from_user_agent("curl/8.0", false).describe(),
            "an unknown browser"
        );
    }
}
