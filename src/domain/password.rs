use std::fmt;

use subtle::ConstantTimeEq;

/// A password, never printed: `Debug` is redacted so it can't reach a log.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// Compares in constant time, so response timing doesn't reveal how much
    /// of a guess was right.
    pub fn matches(&self, other: &Password) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
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
