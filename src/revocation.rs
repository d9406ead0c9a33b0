//! Revoked login sessions: logout stores the session id until the cookie's
//! own expiry, so a copied cookie stops working too.
//!
//! The default store is SQLite in the data dir (durable across restarts and
//! crashes, but one server's own). Replicas that serve the same users share
//! Redis instead (`--revocations redis://…`). Either way an unreachable store
//! is an error, which callers turn into "can't check logins" (503), never into
//! "logged in".

mod redis;
mod sqlite;

use std::path::Path;

use thiserror::Error;
use time::OffsetDateTime;

pub use self::redis::RedisRevocations;
pub use self::sqlite::SqliteRevocations;
use crate::config::RevocationStore;

/// The store, chosen at start-up.
pub enum Revocations {
    Sqlite(SqliteRevocations),
    Redis(RedisRevocations),
}

#[derive(Debug, Error)]
pub enum RevocationError {
    /// The store can't be reached or written: logins can't be checked.
    #[error("the revocation store is unavailable: {0}")]
    Unavailable(String),
}

/// The store failed: `err` says how.
fn unavailable(err: impl std::fmt::Display) -> RevocationError {
    RevocationError::Unavailable(err.to_string())
}

/// A fresh revocation epoch: random, never 0 (which stands for cookies
/// sealed before epochs existed, and so matches no store).
pub(crate) fn new_epoch() -> Result<u64, RevocationError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|err| {
        RevocationError::Unavailable(format!("no randomness for an epoch: {err}"))
    })?;
    Ok(u64::from_le_bytes(bytes).max(1))
}

impl Revocations {
    /// Opens the store `--revocations` names. SQLite is opened (and created)
    /// now; Redis is connected lazily, so a replica may start before Redis.
    pub async fn open(store: &RevocationStore, data_dir: &Path) -> Result<Self, RevocationError> {
        match store {
            RevocationStore::Sqlite => Self::open_sqlite(data_dir).await,
            RevocationStore::Redis(target) => Ok(Self::Redis(RedisRevocations::connect(target)?)),
        }
    }

    /// Opens (or creates) `revocations.sqlite3` in `data_dir`.
    pub async fn open_sqlite(data_dir: &Path) -> Result<Self, RevocationError> {
        Ok(Self::Sqlite(
            SqliteRevocations::open(data_dir.join(sqlite::FILE_NAME)).await?,
        ))
    }

    /// A SQLite store in memory, with no file: for tests of the router alone.
    pub async fn in_memory() -> Result<Self, RevocationError> {
        Ok(Self::Sqlite(SqliteRevocations::open_in_memory().await?))
    }

    /// Revokes `sid` until `until` (the cookie's own expiry).
    pub async fn revoke(&self, sid: &str, until: OffsetDateTime) -> Result<(), RevocationError> {
        self.revoke_many(&[(sid, until)]).await
    }

    /// Revokes each `(sid, until)` in one write: one transaction, or one
    /// Redis round trip.
    pub async fn revoke_many(
        &self,
        entries: &[(&str, OffsetDateTime)],
    ) -> Result<(), RevocationError> {
        match self {
            Self::Sqlite(store) => store.revoke_many(entries).await,
            Self::Redis(store) => store.revoke_many(entries).await,
        }
    }

    /// True when the session `sid`, issued under `epoch`, is logged out:
    /// revoked, or issued under an epoch the store no longer holds (its data
    /// was lost, so its logouts may be too).
    pub async fn is_revoked(
        &self,
        sid: &str,
        epoch: u64,
        now: OffsetDateTime,
    ) -> Result<bool, RevocationError> {
        match self {
            Self::Sqlite(store) => store.is_revoked(sid, epoch, now).await,
            // Redis drops a key when its cookie expires, so presence is enough.
            Self::Redis(store) => store.is_revoked(sid, epoch).await,
        }
    }

    /// The epoch to seal into a new session, and the proof that it could be
    /// logged out later: an error while the store can't record a logout
    /// (Redis unreachable, or SQLite's last write failed and a probe write
    /// fails too), so no session is created that its owner couldn't end.
    pub async fn epoch_for_new_session(&self) -> Result<u64, RevocationError> {
        match self {
            Self::Sqlite(store) => store.epoch_if_writable().await,
            Self::Redis(store) => store.epoch().await,
        }
    }

    /// Forgets revocations whose cookies have expired anyway.
    pub async fn prune(&self, now: OffsetDateTime) -> Result<usize, RevocationError> {
        match self {
            Self::Sqlite(store) => store.prune(now).await,
            // Each key carries its own TTL: Redis prunes by itself.
            Self::Redis(_) => Ok(0),
        }
    }

    /// Whether the store answers right now, and could record a logout: for
    /// /readyz.
    pub async fn ping(&self) -> Result<(), RevocationError> {
        match self {
            Self::Sqlite(store) => store.ping().await,
            Self::Redis(store) => store.ping().await,
        }
    }

    /// Makes every later SQLite write fail, or work again: for tests of the
    /// fail-closed paths. Redis has its own (a stopped server).
    #[doc(hidden)]
    pub async fn simulate_write_failure(&self, failing: bool) -> Result<(), RevocationError> {
        match self {
            Self::Sqlite(store) => store.simulate_write_failure(failing).await,
            Self::Redis(_) => Err(RevocationError::Unavailable(
                "only SQLite writes can be made to fail".to_owned(),
            )),
        }
    }

    /// What is wrong with the store's own settings for keeping revocations
    /// (Redis: persistence and eviction); empty when nothing is.
    pub async fn configuration_problems(&self) -> Vec<String> {
        match self {
            Self::Sqlite(_) => Vec::new(),
            Self::Redis(store) => store.configuration_problems().await,
        }
    }

    /// At shutdown: leaves the store complete on disk.
    pub async fn close(&self) -> Result<(), RevocationError> {
        match self {
            Self::Sqlite(store) => store.checkpoint().await,
            // Nothing is buffered here: Redis acknowledged every revocation
            // before the logout was answered. How durable Redis keeps them is
            // its own persistence setting (AOF/RDB).
            Self::Redis(_) => Ok(()),
        }
    }

    /// For the start-up log and /readyz: never a password.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(store) => format!("sqlite {}", store.path().display()),
            Self::Redis(store) => format!("redis {}", store.target()),
        }
    }

    /// `sqlite` or `redis`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Redis(_) => "redis",
        }
    }
}
