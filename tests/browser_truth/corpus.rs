//! The lines: `cases.json` (the corpus, written by hand) and
//! `held-out.json` (seeded random mutations of corpus lines, made by
//! [`held_out`] and checked in so that a reader needs no generator).

use std::collections::HashSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::lines;

/// How many held-out lines [`held_out`] makes.
pub(crate) const HELD_OUT_COUNT: usize = 60;
/// The generator's seed. Changing it changes the held-out set.
const HELD_OUT_SEED: u64 = 0x00C0_0C1E_1AB0_2026;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Case {
    pub(crate) id: String,
    pub(crate) category: String,
    /// The line, `\xNN`-escaped (see `lines`).
    pub(crate) line: String,
    /// Also recorded in the cross-site contexts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) cross_site: bool,
    /// For a held-out line: the corpus line it was mutated from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) from: Option<String>,
}

impl Case {
    pub(crate) fn bytes(&self) -> Vec<u8> {
        lines::decode(&self.line).unwrap_or_else(|e| panic!("case {}: {e}", self.id))
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CaseFile {
    pub(crate) cases: Vec<Case>,
}

/// Which file a case comes from; written as `set` in recorded.json.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Set {
    Corpus,
    HeldOut,
}

impl Set {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Set::Corpus => "corpus",
            Set::HeldOut => "held-out",
        }
    }
}

pub(crate) fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser-truth")
}

pub(crate) fn read(file: &str) -> Vec<Case> {
    let path = dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let parsed: CaseFile = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a case file: {e}", path.display()));
    parsed.cases
}

/// The case file as written: one case per line, so diffs stay readable.
pub(crate) fn to_json(cases: &[Case]) -> String {
    let mut out = String::from("{\n  \"cases\": [\n");
    for (i, case) in cases.iter().enumerate() {
        out.push_str("    ");
        out.push_str(&serde_json::to_string(case).expect("a case serialises"));
        out.push_str(if i + 1 < cases.len() { ",\n" } else { "\n" });
    }
    out.push_str("  ]\n}\n");
    out
}

/// SplitMix64, written out so that the held-out set never changes with a
/// dependency's version (rand's `StdRng` algorithm is not promised to stay).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0); the tiny modulo bias does not matter here.
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("below n fits usize")
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Bytes worth inserting: separators, quotes, whitespace, a CTL, DEL and
/// bytes that are not UTF-8 on their own.
const INSERTS: &[u8] = b" \t;=\",./%_-\x01\x7f\x80\xff";
/// Attributes worth adding.
const ATTRIBUTES: &[&str] = &[
    "; Secure",
    "; HttpOnly",
    "; Path=/",
    "; Path=",
    "; Path=/p",
    "; Domain=localhost",
    "; Domain=127.0.0.1",
    "; Domain=cookie-lab.test",
    "; Max-Age=0",
    "; Max-Age=60",
    "; Max-Age=-5",
    "; Expires={now+600}",
    "; Expires={now-600}",
    "; SameSite=None",
    "; SameSite=Lax",
    "; SameSite=Strict",
    "; SameSite=bogus",
    "; Partitioned",
    "; Foo=bar",
];
const PREFIXES: &[&str] = &["__Secure-", "__Host-", "__Http-", "__Host-Http-", "__host-"];

/// One random change to `line`.
fn mutate(rng: &mut SplitMix64, line: &[u8]) -> Vec<u8> {
    let mut out = line.to_vec();
    // The `; `-separated pieces: the pair first, then the attributes.
    let pieces =
        |l: &[u8]| -> Vec<Vec<u8>> { l.split(|&b| b == b';').map(<[u8]>::to_vec).collect() };
    match rng.below(8) {
        0 => {
            let letters: Vec<usize> = (0..out.len())
                .filter(|&i| out[i].is_ascii_alphabetic())
                .collect();
            if !letters.is_empty() {
                let i = *rng.pick(&letters);
                out[i] ^= 0x20;
            }
        }
        1 => {
            let at = rng.below(out.len() + 1);
            out.insert(at, *rng.pick(INSERTS));
        }
        2 => {
            if !out.is_empty() {
                let at = rng.below(out.len());
                out.remove(at);
            }
        }
        3 => {
            let parts = pieces(&out);
            if parts.len() > 1 {
                let attribute = parts[1 + rng.below(parts.len() - 1)].clone();
                out.push(b';');
                out.extend_from_slice(&attribute);
            }
        }
        4 => out.extend_from_slice(rng.pick(ATTRIBUTES).as_bytes()),
        5 => {
            let mut parts = pieces(&out);
            if parts.len() > 1 {
                parts.remove(1 + rng.below(parts.len() - 1));
                out = parts.join(&b';');
            }
        }
        6 => {
            let mut parts = pieces(&out);
            if parts.len() > 2 {
                let a = 1 + rng.below(parts.len() - 1);
                let b = 1 + rng.below(parts.len() - 1);
                parts.swap(a, b);
                out = parts.join(&b';');
            }
        }
        _ => {
            let mut prefixed = rng.pick(PREFIXES).as_bytes().to_vec();
            prefixed.extend_from_slice(&out);
            out = prefixed;
        }
    }
    out
}

/// The held-out set: [`HELD_OUT_COUNT`] lines, each one to three seeded
/// random mutations of a corpus line, none equal to a corpus line or to
/// another held-out line.
pub(crate) fn held_out(corpus: &[Case]) -> Vec<Case> {
    let mut rng = SplitMix64(HELD_OUT_SEED);
    let mut seen: HashSet<Vec<u8>> = corpus.iter().map(Case::bytes).collect();
    let mut out = Vec::with_capacity(HELD_OUT_COUNT);
    for _ in 0..100 * HELD_OUT_COUNT {
        if out.len() == HELD_OUT_COUNT {
            break;
        }
        let source = rng.pick(corpus);
        let mut line = source.bytes();
        for _ in 0..=rng.below(3) {
            line = mutate(&mut rng, &line);
        }
        if !seen.insert(line.clone()) {
            continue;
        }
        out.push(Case {
            id: format!("held-out-{:02}", out.len() + 1),
            category: "held-out".to_owned(),
            line: lines::encode(&line),
            cross_site: false,
            from: Some(source.id.clone()),
        });
    }
    assert_eq!(out.len(), HELD_OUT_COUNT, "too few distinct mutations");
    out
}
