//! The login cookie: the tutorial's `email` cookie, made unforgeable.
//!
//! The claims (email, a random session id, issue and expiry times) are sealed
//! with AES-256-GCM in the cookie crate's private-jar byte format (the cookie
//! name bound in as associated data), sealed here rather than by the jar
//! ([`seal_in_place`] says why) and tested both ways against the jar. The
//! value is our own framing, `<key id>.<sealed claims>`, so a
//! cookie sealed by a key we no longer have reads as "unknown key", not as
//! "tampered". The server enforces the expiry itself: a copied cookie stops
//! working when its claims say so, whatever the browser does.

use std::mem::MaybeUninit;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64_simd::Out;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::{Duration, OffsetDateTime};

use super::context::CookieContext;
use super::incoming::RequestCookies;
use super::outgoing::{PreparedCookie, Refused, prepare_own};
use super::reserved::OwnCookie;
pub use super::reserved::{COOKIE_NAME, SECURE_COOKIE_NAME};
use super::spec::{CookieSpec, SameSite};
use crate::domain::Email;
use crate::keys::{KeyRing, RingKey};

pub fn cookie_name(https: bool) -> &'static str {
    if https {
        SECURE_COOKIE_NAME
    } else {
        COOKIE_NAME
    }
}

/// What a login cookie says, once opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginClaims {
    pub email: String,
    /// 128 random bits, new on every login; logout revokes it.
    pub sid: String,
    #[serde(with = "time::serde::timestamp")]
    pub iat: OffsetDateTime,
    #[serde(with = "time::serde::timestamp")]
    pub exp: OffsetDateTime,
    /// The revocation store's epoch when the session was issued: a store
    /// that lost its data has a new one, and refuses every older session.
    /// 0 for cookies sealed before epochs existed.
    pub epoch: u64,
}

/// The claims of cookies sealed before epochs existed (format 1).
#[derive(Deserialize)]
struct ClaimsWithoutEpoch {
    email: String,
    sid: String,
    #[serde(with = "time::serde::timestamp")]
    iat: OffsetDateTime,
    #[serde(with = "time::serde::timestamp")]
    exp: OffsetDateTime,
}

#[derive(Debug, Error)]
pub enum SealError {
    #[error("the system's random number generator failed: {0}")]
    Random(String),
    #[error("could not encode the login claims: {0}")]
    Encode(#[from] postcard::Error),
    #[error("AES-GCM could not seal the login claims")]
    Encrypt,
}

impl LoginClaims {
    /// Claims for a fresh login: a new random session id, valid for `ttl`,
    /// under the revocation store's current `epoch`.
    pub fn issue(
        email: &Email,
        ttl: Duration,
        now: OffsetDateTime,
        epoch: u64,
    ) -> Result<Self, SealError> {
        Self::issue_to(email.clone(), ttl, now, epoch)
    }

    /// [`LoginClaims::issue`], taking the email's String rather than
    /// copying it.
    pub fn issue_to(
        email: Email,
        ttl: Duration,
        now: OffsetDateTime,
        epoch: u64,
    ) -> Result<Self, SealError> {
        let mut sid = [0u8; 16];
        // The thread's CSPRNG (ChaCha, seeded from the OS) rather than a
        // getrandom(2) call per login: a system call costs microseconds on a VM.
        rand::thread_rng()
            .try_fill_bytes(&mut sid)
            .map_err(|e| SealError::Random(e.to_string()))?;
        let now = now.replace_nanosecond(0).unwrap_or(now);
        Ok(Self {
            email: email.into_string(),
            // base64-simd: the same URL-safe unpadded text as the base64
            // crate's engine, in a fraction of its instructions (measured).
            sid: base64_simd::URL_SAFE_NO_PAD.encode_to_string(sid),
            iat: now,
            exp: now + ttl,
            epoch,
        })
    }

    /// Whole seconds the cookie has left, never negative. Counted in whole
    /// seconds on both sides so a fresh 7-day login says exactly 604800.
    pub fn remaining(&self, now: OffsetDateTime) -> Duration {
        Duration::seconds((self.exp.unix_timestamp() - now.unix_timestamp()).max(0))
    }
}

/// Every way a login cookie can read. Only `Valid` means logged in; the
/// others are told apart for the inspector, the logs and the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginCookie {
    Absent,
    Valid {
        claims: LoginClaims,
        /// False when an older key of the ring opened it: the caller should
        /// reissue it under the current key.
        current_key: bool,
    },
    /// Not sealed by any key of ours under this name: edited, forged, or
    /// garbage.
    Tampered,
    /// Genuine, but past the expiry sealed inside it.
    Expired {
        claims: LoginClaims,
    },
    /// Names a key that isn't in the ring (dropped in a rotation, or another
    /// deployment's).
    UnknownKey {
        key_id: String,
    },
    /// Genuine and unexpired, but its session was logged out. Only the
    /// session layer says this: [`open`] can't know.
    Revoked {
        claims: LoginClaims,
    },
}

impl LoginCookie {
    /// A short label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Absent => "absent",
            Self::Valid { .. } => "valid",
            Self::Tampered => "tampered",
            Self::Expired { .. } => "expired",
            Self::UnknownKey { .. } => "unknown_key",
            Self::Revoked { .. } => "revoked",
        }
    }

    pub fn valid_claims(&self) -> Option<&LoginClaims> {
        match self {
            Self::Valid { claims, .. } => Some(claims),
            _ => None,
        }
    }
}

/// Seals `claims` under the ring's current key for the cookie `name`.
pub fn seal(ring: &KeyRing, name: &str, claims: &LoginClaims) -> Result<String, SealError> {
    let key = ring.current();
    // Nonce, format byte, claims and tag on the stack: the value below is
    // the only allocation. Claims too long for it are an error, not a panic.
    let mut buffer = [0u8; MAX_SEALED_BYTES];
    buffer[NONCE_BYTES] = CLAIMS_FORMAT;
    let room = &mut buffer[NONCE_BYTES + 1..MAX_SEALED_BYTES - TAG_BYTES];
    let end = NONCE_BYTES + 1 + postcard::to_slice(claims, room)?.len();
    let tag = seal_in_place(key.cipher(), name, &mut buffer[..end])?;
    buffer[end..end + TAG_BYTES].copy_from_slice(&tag);
    let data = &buffer[..end + TAG_BYTES];
    let id = key.id();
    let id = id.as_str();
    let mut value = String::with_capacity(id.len() + 1 + data.len().div_ceil(3) * 4);
    value.push_str(id);
    value.push('.');
    // base64-simd: the same standard, padded alphabet as the cookie crate's
    // jar, in about half the instructions of the scalar encoder here.
    base64_simd::STANDARD.encode_append(data, &mut value);
    Ok(value)
}

/// The first byte of sealed claims: their layout. Claims are postcard (a
/// compact serde binary format), not JSON: parsing JSON was 40% of opening a
/// cookie and made the sealed value half again as long (measured).
const CLAIMS_FORMAT: u8 = 2;
/// The layout before the epoch was added: still opened (as epoch 0, which
/// no store holds, so such a session reads as logged out).
const CLAIMS_FORMAT_WITHOUT_EPOCH: u8 = 1;
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;
/// Room for the largest sealed claims: a 254-byte email, the session id and
/// two timestamps come to under 330 bytes with nonce and tag.
const MAX_SEALED_BYTES: usize = 512;

/// The cookie crate's private-jar sealing, byte for byte: AES-256-GCM with
/// a random 96-bit nonce and the cookie's name as associated data, over
/// nonce ‖ plaintext, then the tag appended; the caller base64-encodes it.
/// Done here, with the same RustCrypto aes-gcm the jar uses, only so that
/// the cipher is expanded once per key and nothing is copied (the jar
/// offers neither); the tests check that the jar opens what this seals and
/// the other way round. `data` holds NONCE_BYTES of room, then the
/// plaintext; the tag, to go after it, is returned.
fn seal_in_place(cipher: &Aes256Gcm, name: &str, data: &mut [u8]) -> Result<Tag, SealError> {
    if data.len() < NONCE_BYTES {
        return Err(SealError::Encrypt);
    }
    let (nonce, body) = data.split_at_mut(NONCE_BYTES);
    // ThreadRng: a ChaCha CSPRNG seeded from the OS, as the jar uses.
    rand::thread_rng()
        .try_fill_bytes(nonce)
        .map_err(|e| SealError::Random(e.to_string()))?;
    cipher
        .encrypt_in_place_detached(Nonce::from_slice(nonce), name.as_bytes(), body)
        .map_err(|_| SealError::Encrypt)
}

/// Opens what [`seal_in_place`] (or the cookie crate's private jar) sealed
/// and hands the plaintext to `read`.
fn open_private<T>(
    cipher: &Aes256Gcm,
    name: &str,
    sealed: &str,
    read: impl FnOnce(&[u8]) -> Option<T>,
) -> Option<T> {
    // Decoded on the stack, without zeroing: no allocation per request.
    // Strict like the base64 crate: padding required, trailing bits zero.
    let mut buffer = [MaybeUninit::<u8>::uninit(); MAX_SEALED_BYTES];
    if base64_simd::STANDARD.estimated_decoded_length(sealed.len()) > buffer.len() {
        return None; // longer than any cookie we seal
    }
    let data = base64_simd::STANDARD
        .decode(sealed.as_bytes(), Out::from_uninit_slice(&mut buffer))
        .ok()?;
    if data.len() < NONCE_BYTES + TAG_BYTES {
        return None;
    }
    let (nonce, rest) = data.split_at_mut(NONCE_BYTES);
    let (body, tag) = rest.split_at_mut(rest.len() - TAG_BYTES);
    cipher
        .decrypt_in_place_detached(
            Nonce::from_slice(nonce),
            name.as_bytes(),
            body,
            Tag::from_slice(tag),
        )
        .ok()?;
    read(body)
}

/// Opens a login cookie value received under `name`.
pub fn open(ring: &KeyRing, name: &str, value: &str, now: OffsetDateTime) -> LoginCookie {
    // A byte scan: the dot comes after 8 characters, and `split_once`'s
    // char searcher cost more than that (measured).
    let dot = value.bytes().position(|b| b == b'.');
    let Some((key_id, sealed)) =
        dot.and_then(|dot| Some((value.get(..dot)?, value.get(dot + 1..)?)))
    else {
        return LoginCookie::Tampered;
    };
    let Some(key) = ring.find(key_id) else {
        // An id of the right shape is a real key we don't hold; anything else
        // was never one of ours.
        return if key_id.len() == 8 && key_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            LoginCookie::UnknownKey {
                key_id: key_id.to_owned(),
            }
        } else {
            LoginCookie::Tampered
        };
    };
    let Some(claims) = unseal(key, name, sealed) else {
        return LoginCookie::Tampered;
    };
    if claims.exp <= now {
        return LoginCookie::Expired { claims };
    }
    LoginCookie::Valid {
        current_key: key.id() == ring.current().id(),
        claims,
    }
}

fn unseal(key: &RingKey, name: &str, sealed: &str) -> Option<LoginClaims> {
    open_private(key.cipher(), name, sealed, |plain| {
        match plain.split_first() {
            Some((&CLAIMS_FORMAT, claims)) => postcard::from_bytes(claims).ok(),
            Some((&CLAIMS_FORMAT_WITHOUT_EPOCH, claims)) => {
                postcard::from_bytes(claims)
                    .ok()
                    .map(|old: ClaimsWithoutEpoch| LoginClaims {
                        email: old.email,
                        sid: old.sid,
                        iat: old.iat,
                        exp: old.exp,
                        epoch: 0,
                    })
            }
            _ => None,
        }
    })
}

/// Reads the login cookie of a request (the first one of its name, as
/// browsers send the most specific first).
pub fn read(
    ring: &KeyRing,
    cookies: &RequestCookies,
    https: bool,
    now: OffsetDateTime,
) -> LoginCookie {
    let name = cookie_name(https);
    match cookies.get(name) {
        None => LoginCookie::Absent,
        Some(cookie) => open(ring, name, cookie.raw_value, now),
    }
}

/// The login cookie's attributes: HttpOnly (scripts can't read it),
/// SameSite=Lax (not sent on cross-site POSTs), Path=/, and a lifetime that
/// matches the sealed expiry; Secure (with the `__Host-` name) over HTTPS.
pub fn cookie_spec(
    value: String,
    claims: &LoginClaims,
    https: bool,
    now: OffsetDateTime,
) -> CookieSpec {
    CookieSpec {
        expires: Some(claims.exp),
        // `<key id>.<base64url>` holds only cookie-octets: no percent-encoding
        // pass is needed (the rules still check every octet).
        wire_value: true,
        ..CookieSpec::new(cookie_name(https), value)
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(https)
            .max_age(claims.remaining(now))
    }
}

/// The login cookie, checked and ready to send. Its name is reserved, so
/// this is the only way one reaches a response.
pub fn prepare_cookie(
    value: String,
    claims: &LoginClaims,
    ctx: &CookieContext,
    now: OffsetDateTime,
) -> Result<PreparedCookie, Refused> {
    let spec = cookie_spec(value, claims, ctx.https(), now);
    prepare_own(&spec, ctx, now, OwnCookie::grant())
}

/// The removal of the login cookie, checked and ready to send.
pub fn prepare_removal(
    ctx: &CookieContext,
    now: OffsetDateTime,
) -> Result<PreparedCookie, Refused> {
    prepare_own(&removal_spec(ctx.https()), ctx, now, OwnCookie::grant())
}

/// The cookie that logs the browser out.
pub fn removal_spec(https: bool) -> CookieSpec {
    CookieSpec {
        http_only: true,
        same_site: Some(SameSite::Lax),
        secure: https,
        ..CookieSpec::removal(cookie_name(https), Some("/".to_owned()), None)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-26 12:00:00 UTC);

    fn claims() -> LoginClaims {
        LoginClaims::issue(
            &Email::parse("ada@example.com").unwrap(),
            Duration::days(7),
            NOW,
            7,
        )
        .unwrap()
    }

    #[test]
    fn a_sealed_cookie_opens_to_the_same_claims() {
        let ring = KeyRing::generate().unwrap();
        let claims = claims();
        let value = seal(&ring, COOKIE_NAME, &claims).unwrap();
        assert!(value.starts_with(&format!("{}.", ring.current().id())));
        assert!(
            !value.contains("ada@example.com"),
            "the email must not be readable"
        );
        assert_eq!(
            open(&ring, COOKIE_NAME, &value, NOW),
            LoginCookie::Valid {
                claims,
                current_key: true
            }
        );
    }

    #[test]
    fn the_cookie_crates_private_jar_opens_what_we_seal_and_we_open_what_it_seals() {
        let ring = KeyRing::generate().unwrap();
        let key = ring.current();
        let mut data = vec![0; NONCE_BYTES];
        data.extend_from_slice(b"{\"a\":1}");
        let tag = seal_in_place(key.cipher(), COOKIE_NAME, &mut data).unwrap();
        data.extend_from_slice(&tag);
        let ours = STANDARD.encode(&data);
        let opened = cookie::CookieJar::new()
            .private(key.cookie_key())
            .decrypt(cookie::Cookie::new(COOKIE_NAME, ours))
            .expect("the jar opens our seal");
        assert_eq!(opened.value(), "{\"a\":1}");

        let mut jar = cookie::CookieJar::new();
        jar.private_mut(key.cookie_key())
            .add(cookie::Cookie::new(COOKIE_NAME, "{\"b\":2}"));
        let theirs = jar.get(COOKIE_NAME).unwrap().value();
        let read = |plain: &[u8]| Some(plain.to_vec());
        assert_eq!(
            open_private(key.cipher(), COOKIE_NAME, theirs, read).unwrap(),
            b"{\"b\":2}"
        );
        assert_eq!(
            open_private(key.cipher(), "other", theirs, read),
            None,
            "the name is bound in"
        );
    }

    #[test]
    fn short_or_garbled_sealed_values_do_not_open() {
        let ring = KeyRing::generate().unwrap();
        for sealed in ["", "AAAA", "not base64!", &STANDARD.encode([0u8; 27])] {
            let read = |plain: &[u8]| Some(plain.to_vec());
            assert_eq!(
                open_private(ring.current().cipher(), COOKIE_NAME, sealed, read),
                None,
                "{sealed:?}"
            );
        }
    }

    #[test]
    fn only_the_canonical_base64_spelling_opens() {
        // A second spelling of the same bytes (non-zero bits before the
        // padding) would make the cookie malleable: it must read as tampered.
        let ring = KeyRing::generate().unwrap();
        let padded = ["a@example.com", "ab@example.com", "abc@example.com"]
            .iter()
            .map(|email| {
                let claims =
                    LoginClaims::issue(&Email::parse(email).unwrap(), Duration::days(7), NOW, 7)
                        .unwrap();
                seal(&ring, COOKIE_NAME, &claims).unwrap()
            })
            .find(|value| value.ends_with('='))
            .expect("one of three lengths needs padding");
        // Flip the lowest bit of the last character before the padding: a
        // bit the decoder must find zero, not part of any byte.
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let last = padded.trim_end_matches('=').len() - 1;
        let mut respelled = padded.clone().into_bytes();
        let sextet = ALPHABET.iter().position(|&c| c == respelled[last]).unwrap();
        respelled[last] = ALPHABET[sextet ^ 1];
        let respelled = String::from_utf8(respelled).unwrap();
        assert!(matches!(
            open(&ring, COOKIE_NAME, &padded, NOW),
            LoginCookie::Valid { .. }
        ));
        assert_eq!(
            open(&ring, COOKIE_NAME, &respelled, NOW),
            LoginCookie::Tampered
        );
    }

    #[test]
    fn the_longest_email_still_seals_and_opens() {
        let ring = KeyRing::generate().unwrap();
        let email = Email::parse(&format!("{}@example.com", "a".repeat(242))).unwrap();
        let claims = LoginClaims::issue(&email, Duration::days(7), NOW, 7).unwrap();
        let value = seal(&ring, SECURE_COOKIE_NAME, &claims).unwrap();
        let sealed = value.split_once('.').unwrap().1;
        assert!(sealed.len() / 4 * 3 <= MAX_SEALED_BYTES, "{}", sealed.len());
        assert_eq!(
            open(&ring, SECURE_COOKIE_NAME, &value, NOW).valid_claims(),
            Some(&claims)
        );
    }

    #[test]
    fn each_login_gets_a_new_session_id() {
        assert_ne!(claims().sid, claims().sid);
        // 128 bits as unpadded URL-safe base64, as sessions always were.
        let sid = claims().sid;
        assert_eq!(URL_SAFE_NO_PAD.decode(&sid).unwrap().len(), 16, "{sid}");
        assert_eq!(sid.len(), 22);
        assert_eq!(claims().exp - claims().iat, Duration::days(7));
    }

    #[test]
    fn a_changed_character_is_tampering() {
        let ring = KeyRing::generate().unwrap();
        let value = seal(&ring, COOKIE_NAME, &claims()).unwrap();
        let mut bytes = value.into_bytes();
        let i = bytes.len() - 5;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(
            open(&ring, COOKIE_NAME, &tampered, NOW),
            LoginCookie::Tampered
        );
    }

    #[test]
    fn the_name_is_bound_in() {
        let ring = KeyRing::generate().unwrap();
        let value = seal(&ring, COOKIE_NAME, &claims()).unwrap();
        assert_eq!(open(&ring, "other", &value, NOW), LoginCookie::Tampered);
        assert_eq!(
            open(&ring, SECURE_COOKIE_NAME, &value, NOW),
            LoginCookie::Tampered
        );
    }

    #[test]
    fn forged_and_garbage_values_are_tampering() {
        let ring = KeyRing::generate().unwrap();
        let kid = ring.current().id();
        for value in [
            "",
            "ada@example.com",
            "garbage.x",
            &format!("{kid}."),
            &format!("{kid}.AAAA"),
            "%AFxyz",
        ] {
            assert_eq!(
                open(&ring, COOKIE_NAME, value, NOW),
                LoginCookie::Tampered,
                "{value:?}"
            );
        }
    }

    #[test]
    fn expiry_is_enforced_by_the_server() {
        let ring = KeyRing::generate().unwrap();
        let claims = claims();
        let value = seal(&ring, COOKIE_NAME, &claims).unwrap();
        let later = claims.exp;
        assert_eq!(
            open(&ring, COOKIE_NAME, &value, later),
            LoginCookie::Expired { claims }
        );
    }

    #[test]
    fn a_key_we_do_not_hold_is_unknown_and_an_old_one_still_opens() {
        let mut ring = KeyRing::generate().unwrap();
        let value = seal(&ring, COOKIE_NAME, &claims()).unwrap();
        let other = KeyRing::generate().unwrap();
        assert_eq!(
            open(&other, COOKIE_NAME, &value, NOW),
            LoginCookie::UnknownKey {
                key_id: ring.current().id().to_string()
            }
        );
        ring.rotate().unwrap();
        assert!(matches!(
            open(&ring, COOKIE_NAME, &value, NOW),
            LoginCookie::Valid {
                current_key: false,
                ..
            }
        ));
        ring.drop_old();
        assert!(matches!(
            open(&ring, COOKIE_NAME, &value, NOW),
            LoginCookie::UnknownKey { .. }
        ));
    }

    #[test]
    fn the_cookie_is_http_only_lax_and_lives_as_long_as_its_claims() {
        let claims = claims();
        let spec = cookie_spec(
            "v".into(),
            &claims,
            false,
            NOW + Duration::milliseconds(300),
        );
        assert_eq!(
            spec.to_header_value(NOW),
            "lab_session=v; HttpOnly; SameSite=Lax; Path=/; Max-Age=604800; Expires=Thu, 03 Dec 2026 12:00:00 GMT"
        );
        let secure = cookie_spec("v".into(), &claims, true, NOW).to_header_value(NOW);
        assert!(
            secure.starts_with("__Host-lab_session=v; HttpOnly; SameSite=Lax; Secure; Path=/;"),
            "{secure}"
        );
    }
}
