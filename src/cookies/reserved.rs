//! Names cookie-lab relies on itself, which no demo route may set or
//! delete: the one list of them, and the proof that only cookie-lab's own
//! code can build a cookie with one.
//!
//! This is policy, not a browser rule: it stays true whatever the lint says
//! a browser does, so it lives apart from the rules and is checked first.

/// The login cookie's name over plain HTTP.
pub const COOKIE_NAME: &str = "lab_session";
/// Over HTTPS: `__Host-` makes browsers insist on Secure, Path=/ and no
/// Domain, so no sibling subdomain can plant or shadow it.
pub const SECURE_COOKIE_NAME: &str = "__Host-lab_session";

/// The page script's probe cookie: written and read back to tell whether
/// the browser takes cookies at all (`static/app.js`).
pub const PROBE_COOKIE_NAME: &str = "cookie_lab_probe";

/// The prefix of the cross-site lab's cookies: only the lab's routes set
/// them, so a demo route can't plant or wipe a lab result.
pub const LAB_COOKIE_PREFIX: &str = "lab-";

/// Every exact name cookie-lab relies on. Matched case-insensitively: a
/// browser treats `__HOST-lab_session` as `__Host-` prefixed too, and a
/// near-copy of the login cookie's name only confuses whoever reads the jar.
pub const RESERVED_NAMES: [&str; 3] = [COOKIE_NAME, SECURE_COOKIE_NAME, PROBE_COOKIE_NAME];

/// Why a name is reserved, for the refusal message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// The login cookie, under either of its names.
    Login,
    /// The page script's cookie probe.
    Probe,
    /// A cookie of the cross-site lab.
    Lab,
}

impl Reserved {
    /// What the name is for, in a sentence a user reads.
    pub fn purpose(self) -> &'static str {
        match self {
            Self::Login => {
                "it is cookie-lab's login cookie, which only logging in and out may change"
            }
            Self::Probe => "cookie-lab's pages use it to check that your browser takes cookies",
            Self::Lab => "names starting with lab- belong to the cross-site lab",
        }
    }
}

/// The name prefixes browsers give a meaning to. A lab name behind one of
/// them (`__Host-lab-…`) is still a lab name: the lab sets one itself.
const BROWSER_PREFIXES: [&str; 4] = ["__Host-Http-", "__Http-", "__Host-", "__Secure-"];

/// `Some` when `name` is reserved.
pub fn reserved(name: &str) -> Option<Reserved> {
    let found = RESERVED_NAMES
        .iter()
        .find(|reserved| reserved.eq_ignore_ascii_case(name));
    match found {
        Some(&n) if n == PROBE_COOKIE_NAME => Some(Reserved::Probe),
        Some(_) => Some(Reserved::Login),
        None => is_lab_name(name).then_some(Reserved::Lab),
    }
}

/// Whether `name` is one of the cross-site lab's: `lab-…`, bare or behind
/// a browser prefix, in any letter case (browsers match prefixes so).
pub fn is_lab_name(name: &str) -> bool {
    let starts = |text: &str, prefix: &str| {
        text.get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    let bare = BROWSER_PREFIXES
        .iter()
        .find(|prefix| starts(name, prefix))
        .map_or(name, |prefix| &name[prefix.len()..]);
    starts(bare, LAB_COOKIE_PREFIX)
}

/// Proof that cookie-lab's own code (not a demo route) built a cookie, which
/// may then carry a reserved name. Only code inside `cookies` can make one,
/// and each use there is one of the login cookie's own flows.
#[derive(Debug, Clone, Copy)]
pub struct OwnCookie(());

impl OwnCookie {
    pub(in crate::cookies) fn grant() -> Self {
        Self(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_and_probe_names_are_reserved_in_any_case() {
        for name in [
            "lab_session",
            "LAB_SESSION",
            "__Host-lab_session",
            "__HOST-LAB_session",
        ] {
            assert_eq!(reserved(name), Some(Reserved::Login), "{name}");
        }
        assert_eq!(reserved("Cookie_Lab_Probe"), Some(Reserved::Probe));
        assert_eq!(reserved("lab-strict"), Some(Reserved::Lab));
        assert_eq!(reserved("LAB-x"), Some(Reserved::Lab));
    }

    #[test]
    fn lab_names_behind_a_browser_prefix_are_reserved_too() {
        for name in [
            "__Host-lab-chips",
            "__HOST-LAB-x",
            "__Secure-lab-x",
            "__secure-Lab-x",
            "__Http-lab-x",
            "__Host-Http-lab-x",
        ] {
            assert_eq!(reserved(name), Some(Reserved::Lab), "{name}");
        }
        for name in [
            "__Host-labx",
            "__Host-",
            "__Host-x-lab-",
            "_Host-lab-x",
            "__Hostlab-x",
        ] {
            assert_eq!(reserved(name), None, "{name}");
        }
    }

    #[test]
    fn near_misses_are_ordinary_names() {
        for name in [
            "lab_session2",
            "lab_sessio",
            "__Secure-lab_session",
            "userID",
            "lab",
            "lab_",
            "labx",
            "",
            "é",
        ] {
            assert_eq!(reserved(name), None, "{name}");
        }
    }
}
