//! One run of the lab: its id, who runs it with which settings, and what
//! site B (and A, at the redirect's middle hop) received in each context.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::browser::Browser;
use super::plan::{self, Column};
use crate::config::Origin;
use crate::engine::{ChromiumThirdParty, FirefoxThirdParty, Policy};

/// A run's id: 16 random bytes, base64url. It names the run in URLs and is
/// the value of every cookie the run sets, so a cookie left over from an
/// older run is never taken for one of this run's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(String);

/// The length of a [`RunId`]: 16 bytes in unpadded base64url.
const RUN_ID_LEN: usize = 22;

impl RunId {
    /// A fresh random id.
    pub fn generate() -> Result<Self, getrandom::Error> {
        use base64::Engine as _;
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)?;
        Ok(Self(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        ))
    }

    /// An id from a URL: exactly the shape [`RunId::generate`] makes, so
    /// nothing else reaches the store as a key.
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == RUN_ID_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The third-party settings the model is told the browser has: chosen on
/// the lab page (default: each engine's default) or by a test. Never
/// inferred from what the run observes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LabPolicy {
    /// Chromium: `block` (a fresh profile's default) or `allow`.
    pub chromium_third_party: ChromiumSetting,
    /// Firefox: `partition` (Total Cookie Protection, the default),
    /// `reject` or `accept`.
    pub firefox_third_party: FirefoxSetting,
}

/// Chromium's third-party cookie setting, as the lab offers it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ChromiumSetting {
    #[default]
    Block,
    Allow,
}

/// Firefox's `network.cookie.cookieBehavior` for third parties, as the lab
/// offers it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FirefoxSetting {
    #[default]
    Partition,
    Reject,
    Accept,
}

impl Default for LabPolicy {
    fn default() -> Self {
        Self {
            chromium_third_party: ChromiumSetting::Block,
            firefox_third_party: FirefoxSetting::Partition,
        }
    }
}

impl LabPolicy {
    /// The engine model's policy.
    pub fn engine_policy(self) -> Policy {
        Policy {
            chromium_third_party: match self.chromium_third_party {
                ChromiumSetting::Block => ChromiumThirdParty::Block,
                ChromiumSetting::Allow => ChromiumThirdParty::Allow,
            },
            firefox_third_party: match self.firefox_third_party {
                FirefoxSetting::Partition => FirefoxThirdParty::Partition,
                FirefoxSetting::Reject => FirefoxThirdParty::Reject,
                FirefoxSetting::Accept => FirefoxThirdParty::Accept,
            },
            ..Policy::default()
        }
    }
}

/// Which lab cookies a request carried: one bit per name, in the order of
/// [`plan::all_names`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NameSet(u32);

impl NameSet {
    /// The set of `names` that are lab names.
    pub fn of<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let all: Vec<String> = plan::all_names().map(|(_, _, n)| n).collect();
        let mut bits = 0u32;
        for name in names {
            if let Some(i) = all.iter().position(|n| n == name) {
                bits |= 1 << i;
            }
        }
        Self(bits)
    }

    pub fn contains(self, name: &str) -> bool {
        plan::all_names()
            .position(|(_, _, n)| n == name)
            .is_some_and(|i| self.0 & (1 << i) != 0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// What one request carried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// When it arrived.
    #[serde(with = "time::serde::timestamp")]
    pub at: OffsetDateTime,
    /// Lab cookies of this run (their value is the run's id).
    pub sent: NameSet,
    /// Lab cookies of an older run (another value): shown, never counted.
    pub stale: NameSet,
    /// The request's `Sec-Fetch-Site` and `Sec-Fetch-Dest`, when they are
    /// among the values browsers send: how the browser itself filed it.
    pub fetch_site: Option<String>,
    pub fetch_dest: Option<String>,
}

/// The values of `Sec-Fetch-Site` and `Sec-Fetch-Dest` worth keeping (the
/// others are dropped: a run stores nothing a client made up).
pub fn fetch_metadata(site: Option<&str>, dest: Option<&str>) -> (Option<String>, Option<String>) {
    const SITES: [&str; 4] = ["cross-site", "same-site", "same-origin", "none"];
    const DESTS: [&str; 6] = ["document", "iframe", "image", "empty", "script", "frame"];
    (
        site.filter(|s| SITES.contains(s)).map(str::to_owned),
        dest.filter(|d| DESTS.contains(d)).map(str::to_owned),
    )
}

/// One run of the lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub id: RunId,
    #[serde(with = "time::serde::timestamp")]
    pub created: OffsetDateTime,
    /// The site the lab was opened on.
    #[serde(with = "origin_text")]
    pub a: Origin,
    /// The site it exercises.
    #[serde(with = "origin_text")]
    pub b: Origin,
    pub browser: Browser,
    pub policy: LabPolicy,
    /// When B's lab cookies were set (their age counts from here).
    #[serde(default, with = "time::serde::timestamp::option")]
    pub prepared_b: Option<OffsetDateTime>,
    /// When A's were.
    #[serde(default, with = "time::serde::timestamp::option")]
    pub prepared_a: Option<OffsetDateTime>,
    #[serde(default)]
    pub observed: BTreeMap<Column, Observation>,
}

/// A change to a stored run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Update {
    PreparedB(#[serde(with = "time::serde::timestamp")] OffsetDateTime),
    PreparedA(#[serde(with = "time::serde::timestamp")] OffsetDateTime),
    Observed(Column, Observation),
}

impl Run {
    pub fn apply(&mut self, update: Update) {
        match update {
            Update::PreparedB(at) => self.prepared_b = Some(at),
            Update::PreparedA(at) => self.prepared_a = Some(at),
            Update::Observed(column, observation) => {
                // The first arrival counts: a reload must not rewrite what
                // the run saw.
                self.observed.entry(column).or_insert(observation);
            }
        }
    }

    /// Whether every step that needs no click has been seen.
    pub fn automatic_steps_done(&self) -> bool {
        Column::ALL
            .into_iter()
            .filter(|c| c.automatic())
            .all(|c| self.observed.contains_key(&c))
    }
}

/// Origins as their text in stored runs.
mod origin_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::config::Origin;

    pub(super) fn serialize<S: Serializer>(origin: &Origin, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(origin)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Origin, D::Error> {
        let text = String::deserialize(d)?;
        Origin::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_random_and_only_their_own_shape_parses() {
        let a = RunId::generate().unwrap();
        let b = RunId::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(RunId::parse(a.as_str()), Some(a.clone()));
        for bad in [
            "",
            "short",
            "x".repeat(23).as_str(),
            "abc/def+ghi=jklmnopqrst",
            "ééééééééééé",
        ] {
            assert_eq!(RunId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn name_sets_hold_lab_names_only() {
        let set = NameSet::of(["lab-strict", "__Host-lab-fetch-chips", "userID", "lab-nope"]);
        assert!(set.contains("lab-strict") && set.contains("__Host-lab-fetch-chips"));
        assert!(!set.contains("lab-lax") && !set.contains("userID"));
        assert!(NameSet::of(["other"]).is_empty());
    }

    #[test]
    fn fetch_metadata_keeps_only_values_browsers_send() {
        assert_eq!(
            fetch_metadata(Some("cross-site"), Some("iframe")),
            (Some("cross-site".to_owned()), Some("iframe".to_owned()))
        );
        assert_eq!(
            fetch_metadata(Some("<b>"), Some(&"x".repeat(999))),
            (None, None)
        );
    }
}
