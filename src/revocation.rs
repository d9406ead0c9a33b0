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

    /// Revokes `sid` until `until` (the cookie's own expiry).
    pub async fn revoke(&self, sid: &str, until: OffsetDateTime) -> Result<(), RevocationError> {
        match self {
            Self::Sqlite(store) => store.revoke(sid, until).await,
            Self::Redis(store) => store.revoke(sid, until).await,
        }
    }

    pub async fn is_revoked(
        &self,
        sid: &str,
        now: OffsetDateTime,
    ) -> Result<bool, RevocationError> {
        match self {
            Self::Sqlite(store) => Ok(store.is_revoked(sid, now)),
            // Redis drops a key when its cookie expires, so presence is enough.
            Self::Redis(store) => store.is_revoked(sid).await,
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

    /// Whether the store answers right now: for /readyz.
    pub async fn ping(&self) -> Result<(), RevocationError> {
        match self {
            Self::Sqlite(store) => store.ping().await,
            Self::Redis(store) => store.ping().await,
        }
    }

    /// Before a login is issued: could this session be revoked later? SQLite
    /// lives in this process, opened at start-up, so it is not asked (a
    /// write that fails still fails the logout); Redis is asked with a PING.
    pub async fn ready_to_revoke(&self) -> Result<(), RevocationError> {
        match self {
            Self::Sqlite(_) => Ok(()),
            Self::Redis(store) => store.ping().await,
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
