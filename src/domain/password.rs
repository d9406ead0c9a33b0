use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A password, never printed: `Debug` is redacted so it can't reach a log.
/// Held as its SHA-256 digest, which is all a comparison needs.
#[derive(Clone)]
pub struct Password([u8; 32]);

impl Password {
    pub fn new(raw: impl AsRef<str>) -> Self {
        Self(Sha256::digest(raw.as_ref().as_bytes()).into())
    }

    /// Compares the two fixed-length digests in constant time, so response
    /// timing reveals neither how much of a guess was right nor how long
    /// the password is (comparing the texts would stop early on a length
    /// mismatch).
    pub fn matches(&self, other: &Password) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(REDACTED)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_same_text() {
        let code = Password::new("code");
        assert!(code.matches(&Password::new("code")));
        assert!(!code.matches(&Password::new("Code")));
        assert!(!code.matches(&Password::new("code ")));
        assert!(!code.matches(&Password::new("")));
    }

    #[test]
    fn debug_never_shows_the_password() {
        assert_eq!(
            format!("{:?}", Password::new("hunter2")),
            "Password(REDACTED)"
        );
    }
}
