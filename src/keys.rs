//! The key ring that seals login cookies.
//!
//! Each key is a random secret of at least 32 bytes; the cookie crate derives
//! its AES-256-GCM key from it (HKDF). The first key seals new cookies; the
//! others still open old ones, so a rotation logs nobody out. Each key has a
//! short public id (a hash of the secret) that travels in the cookie, so a
//! cookie sealed by a key we don't have is told apart from a tampered one.
//!
//! The ring lives in `<data-dir>/keys.json` (mode 0600), created on first
//! start; `COOKIE_LAB_KEYS` (comma-separated base64 secrets, newest first)
//! overrides it so that replicas can share one ring.

use std::fmt;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use aes_gcm::{Aes256Gcm, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;
use time::OffsetDateTime;

/// The fewest secret bytes we accept: HKDF needs 32 to give full strength.
pub const MIN_SECRET_BYTES: usize = 32;
/// What we generate.
const NEW_SECRET_BYTES: usize = 32;
pub const KEY_FILE_NAME: &str = "keys.json";

/// A short public name for a key: the first 4 bytes of SHA-256 over a
/// domain-separated secret, in hex. It reveals nothing useful about the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; 8]);

impl KeyId {
    fn of(secret: &[u8]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"cookie-lab key id\0")
            .chain_update(secret)
            .finalize();
        // Kept as its 8 hex digits: the id is written into every login
        // cookie and compared on every read, and formatting it each time
        // cost as much as the encryption itself (measured).
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0; 8];
        for (i, byte) in digest[..4].iter().enumerate() {
            hex[2 * i] = HEX[usize::from(byte >> 4)];
            hex[2 * i + 1] = HEX[usize::from(byte & 0x0f)];
        }
        Self(hex)
    }

    /// The id as it appears in a cookie: 8 lowercase hex digits.
    pub fn as_str(&self) -> &str {
        // Only ever filled from HEX above.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One key of the ring.
#[derive(Clone)]
pub struct RingKey {
    id: KeyId,
    created: Option<OffsetDateTime>,
    secret: Vec<u8>,
    key: cookie::Key,
    /// AES-256-GCM with the cookie key's encryption half, expanded once: the
    /// cookie crate's jar expands it again on every call.
    cipher: Aes256Gcm,
}

impl RingKey {
    fn from_secret(secret: Vec<u8>, created: Option<OffsetDateTime>) -> Result<Self, KeyError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(KeyError::TooShort { got: secret.len() });
        }
        let key = cookie::Key::derive_from(&secret);
        let cipher =
            Aes256Gcm::new_from_slice(key.encryption()).map_err(|_| KeyError::TooShort {
                got: key.encryption().len(),
            })?;
        Ok(Self {
            id: KeyId::of(&secret),
            created,
            key,
            cipher,
            secret,
        })
    }

    /// A fresh random key.
    pub fn generate() -> Result<Self, KeyError> {
        let mut secret = vec![0; NEW_SECRET_BYTES];
        getrandom::fill(&mut secret).map_err(|e| KeyError::Random(e.to_string()))?;
        Self::from_secret(secret, Some(OffsetDateTime::now_utc()))
    }

    pub fn id(&self) -> KeyId {
        self.id
    }

    pub fn created(&self) -> Option<OffsetDateTime> {
        self.created
    }

    pub fn cookie_key(&self) -> &cookie::Key {
        &self.key
    }

    /// The AEAD that seals login cookies, ready to use.
    pub fn cipher(&self) -> &Aes256Gcm {
        &self.cipher
    }

    /// The secret in the ring's base64 form, for `keys generate`.
    pub fn secret_base64(&self) -> String {
        STANDARD.encode(&self.secret)
    }
}

impl fmt::Debug for RingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingKey")
            .field("id", &self.id.to_string())
            .field("created", &self.created)
            .field("secret", &"REDACTED")
            .finish()
    }
}

/// The keys, newest first; never empty.
#[derive(Debug, Clone)]
pub struct KeyRing {
    keys: Vec<RingKey>,
}

/// Where the ring came from, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Created(PathBuf),
    File(PathBuf),
    Environment,
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Created(path) => write!(f, "created {}", path.display()),
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Environment => f.write_str("COOKIE_LAB_KEYS"),
        }
    }
}

#[derive(Debug, Error)]
pub enum KeyError {
    #[error(
        "key {index} of COOKIE_LAB_KEYS is not valid base64 (expected standard base64 of at least {MIN_SECRET_BYTES} random bytes)"
    )]
    BadBase64 { index: usize },
    #[error(
        "a key is only {got} bytes long; at least {MIN_SECRET_BYTES} random bytes are needed (make one with `cookie-lab keys generate`)"
    )]
    TooShort { got: usize },
    #[error("key {index} of COOKIE_LAB_KEYS: {source}")]
    InEnvironment {
        index: usize,
        #[source]
        source: Box<KeyError>,
    },
    #[error("COOKIE_LAB_KEYS is set but holds no keys")]
    EmptyEnvironment,
    #[error("the key file {path} is not a valid key ring: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error("could not {action} the key file {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the system's random number generator failed: {0}")]
    Random(String),
    #[error(
        "the key file {path} can be read by other users (mode {mode:03o}), and its keys seal every login; \
         make it private with `chmod 600 {path}` and start again"
    )]
    Unprotected { path: PathBuf, mode: u32 },
}

impl KeyRing {
    pub fn new(keys: Vec<RingKey>) -> Option<Self> {
        (!keys.is_empty()).then_some(Self { keys })
    }

    /// A ring of one fresh key.
    pub fn generate() -> Result<Self, KeyError> {
        Ok(Self {
            keys: vec![RingKey::generate()?],
        })
    }

    /// Parses `COOKIE_LAB_KEYS`: base64 secrets separated by commas, newest first.
    pub fn from_env_value(value: &str) -> Result<Self, KeyError> {
        let mut keys = Vec::new();
        for (i, part) in value
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .enumerate()
        {
            let index = i + 1;
            let secret = STANDARD
                .decode(part)
                .map_err(|_| KeyError::BadBase64 { index })?;
            let key =
                RingKey::from_secret(secret, None).map_err(|source| KeyError::InEnvironment {
                    index,
                    source: Box::new(source),
                })?;
            keys.push(key);
        }
        Self::new(keys).ok_or(KeyError::EmptyEnvironment)
    }

    /// The key that seals new cookies.
    pub fn current(&self) -> &RingKey {
        // `keys` is never empty: every constructor checks.
        &self.keys[0]
    }

    /// Finds a key by the hex id written in a cookie. Compared as bytes:
    /// the id's text form re-checks its UTF-8 on every call.
    pub fn find(&self, hex: &str) -> Option<&RingKey> {
        self.keys.iter().find(|k| k.id.0 == *hex.as_bytes())
    }

    pub fn keys(&self) -> &[RingKey] {
        &self.keys
    }

    /// Adds a fresh key in front: it seals from now on.
    pub fn rotate(&mut self) -> Result<&RingKey, KeyError> {
        self.keys.insert(0, RingKey::generate()?);
        Ok(self.current())
    }

    /// Keeps only the current key: cookies sealed by the others stop working.
    pub fn drop_old(&mut self) -> usize {
        let dropped = self.keys.len() - 1;
        self.keys.truncate(1);
        dropped
    }
}

/// The on-disk form of the ring.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    keys: Vec<KeyFileEntry>,
}

#[derive(Serialize, Deserialize)]
struct KeyFileEntry {
    #[serde(with = "time::serde::rfc3339::option", default)]
    created: Option<OffsetDateTime>,
    secret: String,
}

pub fn key_file_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_FILE_NAME)
}

/// The ring for a server: `env_keys` when given, otherwise the key file in
/// `data_dir`, created (with the directory) on first start.
pub fn load_or_create(
    data_dir: &Path,
    env_keys: Option<&str>,
) -> Result<(KeyRing, KeySource), KeyError> {
    if let Some(value) = env_keys {
        return Ok((KeyRing::from_env_value(value)?, KeySource::Environment));
    }
    let path = key_file_path(data_dir);
    if path.exists() {
        return Ok((read_file(&path)?, KeySource::File(path)));
    }
    let ring = KeyRing::generate()?;
    write_file(&path, &ring)?;
    Ok((ring, KeySource::Created(path)))
}

/// Reads a key file.
pub fn read_file(path: &Path) -> Result<KeyRing, KeyError> {
    let io = |action, source| KeyError::Io {
        action,
        path: path.to_owned(),
        source,
    };
    let malformed = |reason: String| KeyError::Malformed {
        path: path.to_owned(),
        reason,
    };
    // Refused like ssh refuses an unprotected private key: a copy or a
    // restore from backup easily leaves the file readable by everyone.
    let mode = fs::metadata(path)
        .map_err(|e| io("read", e))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Unprotected {
            path: path.to_owned(),
            mode,
        });
    }
    let text = fs::read_to_string(path).map_err(|e| io("read", e))?;
    let file: KeyFile = serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
    let mut keys = Vec::with_capacity(file.keys.len());
    for (i, entry) in file.keys.into_iter().enumerate() {
        let secret = STANDARD
            .decode(entry.secret.trim())
            .map_err(|_| malformed(format!("key {} is not valid base64", i + 1)))?;
        let key = RingKey::from_secret(secret, entry.created)
            .map_err(|e| malformed(format!("key {}: {e}", i + 1)))?;
        keys.push(key);
    }
    KeyRing::new(keys).ok_or_else(|| malformed("it holds no keys".to_owned()))
}

/// Writes the ring atomically (temp file + rename) with mode 0600, creating
/// the directory (mode 0700) if needed.
pub fn write_file(path: &Path, ring: &KeyRing) -> Result<(), KeyError> {
    let io = |action, source| KeyError::Io {
        action,
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(|e| io("create the directory of", e))?;
    }
    let file = KeyFile {
        keys: ring
            .keys
            .iter()
            .map(|k| KeyFileEntry {
                created: k.created,
                secret: k.secret_base64(),
            })
            .collect(),
    };
    let json = serde_json::to_string_pretty(&file).map_err(|e| io("encode", e.into()))?;
    let tmp = path.with_extension("json.tmp");
    let mut out = private_file_options()
        .open(&tmp)
        .map_err(|e| io("create", e))?;
    out.write_all(json.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.sync_all())
        .map_err(|e| io("write", e))?;
    fs::rename(&tmp, path).map_err(|e| io("replace", e))
}

#[cfg(unix)]
fn private_file_options() -> fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true).mode(0o600);
    options
}

#[cfg(not(unix))]
fn private_file_options() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    options
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(byte: u8, len: usize) -> String {
        STANDARD.encode(vec![byte; len])
    }

    #[test]
    fn env_keys_are_read_newest_first() {
        let ring =
            KeyRing::from_env_value(&format!("{}, {}", secret(1, 32), secret(2, 64))).unwrap();
        assert_eq!(ring.keys().len(), 2);
        assert_eq!(ring.current().id(), KeyId::of(&[1; 32]));
        assert!(ring.find(KeyId::of(&[2; 64]).as_str()).is_some());
    }

    #[test]
    fn bad_env_keys_are_clear_errors_not_panics() {
        let err = KeyRing::from_env_value("not base64!").unwrap_err();
        assert!(
            err.to_string()
                .contains("key 1 of COOKIE_LAB_KEYS is not valid base64"),
            "{err}"
        );
        let err =
            KeyRing::from_env_value(&format!("{},{}", secret(1, 32), secret(2, 16))).unwrap_err();
        let text = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(text.contains("key 2 of COOKIE_LAB_KEYS"), "{text}");
        assert!(text.contains("only 16 bytes"), "{text}");
        assert!(matches!(
            KeyRing::from_env_value(" , "),
            Err(KeyError::EmptyEnvironment)
        ));
    }

    #[test]
    fn key_ids_are_stable_and_distinct() {
        assert_eq!(KeyId::of(&[1; 32]), KeyId::of(&[1; 32]));
        assert_ne!(KeyId::of(&[1; 32]), KeyId::of(&[2; 32]));
        assert_eq!(KeyId::of(&[1; 32]).to_string().len(), 8);
    }

    #[test]
    fn the_key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let (first, source) = load_or_create(&data, None).unwrap();
        assert!(matches!(source, KeySource::Created(_)));
        {
            let mode = fs::metadata(key_file_path(&data))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, source) = load_or_create(&data, None).unwrap();
        assert!(matches!(source, KeySource::File(_)));
        assert_eq!(first.current().id(), again.current().id());
    }

    #[test]
    fn rotation_round_trips_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        let mut ring = KeyRing::generate().unwrap();
        let old = ring.current().id();
        let new = ring.rotate().unwrap().id();
        write_file(&path, &ring).unwrap();
        let read = read_file(&path).unwrap();
        assert_eq!(read.current().id(), new);
        assert!(read.find(old.as_str()).is_some());
        ring.drop_old();
        assert_eq!(ring.keys().len(), 1);
    }

    #[test]
    fn a_malformed_key_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        for (text, want) in [
            ("nonsense", "is not a valid key ring"),
            (r#"{"keys": []}"#, "holds no keys"),
            (r#"{"keys": [{"secret": "c2hvcnQ="}]}"#, "only 5 bytes"),
            (r#"{"keys": [{"secret": "@@@"}]}"#, "not valid base64"),
        ] {
            fs::write(&path, text).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            let err = read_file(&path).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn a_key_file_others_can_read_is_refused_with_the_chmod_to_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        write_file(&path, &KeyRing::generate().unwrap()).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let err = read_file(&path).unwrap_err().to_string();
            assert!(
                err.contains(&format!("mode {mode:03o}"))
                    && err.contains(&format!("chmod 600 {}", path.display())),
                "{err}"
            );
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(read_file(&path).is_ok(), "owner-only is fine");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let ring = KeyRing::generate().unwrap();
        let debug = format!("{ring:?}");
        assert!(debug.contains("REDACTED"));
        assert!(!debug.contains(&ring.current().secret_base64()));
    }
}
