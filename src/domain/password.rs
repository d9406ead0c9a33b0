use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::LazyLock;

use siphasher::sip128::SipHasher24;
use subtle::ConstantTimeEq;

/// A password, never printed: `Debug` is redacted so it can't reach a log.
/// Held as a 128-bit tag, SipHash-2-4 under a random per-process key, which
/// is all a comparison needs.
///
/// Why a keyed PRF and not SHA-256: the tags exist only to be compared in
/// constant time with a fixed length, so that timing reveals neither how
/// much of a guess was right nor how long the password is. That needs the
/// tag of a guess to be unpredictable without the key, not collision
/// resistance against someone who knows it: the key is random, never leaves
/// this process, and two different passwords get the same tag with
/// probability 2^-128. SipHash costs a few hundred instructions where a
/// SHA-256 block cost some 3,700 (measured), on every login. Hashing takes
/// time by the length of the input only, and the configured password is
/// hashed once, at start-up, so the guess's own length is all that timing
/// can tell.
#[derive(Clone)]
pub struct Password([u8; 16]);

/// The process's SipHash key: random, so tags are useless anywhere else.
static KEY: LazyLock<[u8; 16]> = LazyLock::new(|| {
    let mut key = [0u8; 16];
    if getrandom::fill(&mut key).is_err() {
        // std seeds its HashMap keys from the same OS source (and aborts
        // without one): two of its random hashers make a key as good.
        let mut halves = [0u64; 2];
        for (i, half) in (0u8..).zip(halves.iter_mut()) {
            *half = RandomState::new().hash_one(i);
        }
        key[..8].copy_from_slice(&halves[0].to_le_bytes());
        key[8..].copy_from_slice(&halves[1].to_le_bytes());
    }
    key
});

impl Password {
    pub fn new(raw: impl AsRef<str>) -> Self {
        let tag = SipHasher24::new_with_key(&KEY).hash(raw.as_ref().as_bytes());
        Self(tag.as_bytes())
    }

    /// Compares the two fixed-length tags in constant time, so response
    /// timing reveals neither how much of a guess was right nor how long
    /// the password is (comparing the texts would stop early on a length
    /// mismatch). As one u128: subtle's slice comparison goes byte by
    /// byte, each through an optimisation barrier.
    pub fn matches(&self, other: &Password) -> bool {
        u128::from_le_bytes(self.0)
            .ct_eq(&u128::from_le_bytes(other.0))
            .into()
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
        assert!(!code.matches(&Password::new("code\0")));
    }

    #[test]
    fn long_passwords_are_told_apart_too() {
        // Past SipHash's 8-byte blocks, and differing only in the last byte.
        let long = "correct horse battery staple ".repeat(10);
        let password = Password::new(format!("{long}a"));
        assert!(password.matches(&Password::new(format!("{long}a"))));
        assert!(!password.matches(&Password::new(format!("{long}b"))));
        assert!(!password.matches(&Password::new(&long)));
    }

    #[test]
    fn the_tag_is_keyed_not_a_plain_hash_of_the_text() {
        // Unkeyed SipHash-2-4 (key 0) of the text: the random key must make
        // the tag something else (it could match only with odds 2^-128).
        let unkeyed = SipHasher24::new_with_key(&[0; 16]).hash(b"code").as_bytes();
        assert_ne!(Password::new("code").0, unkeyed);
    }

    #[test]
    fn debug_never_shows_the_password() {
        assert_eq!(
            format!("{:?}", Password::new("hunter2")),
            "Password(REDACTED)"
        );
    }
}
