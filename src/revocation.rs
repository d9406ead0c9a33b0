//! Revoked login sessions: logout stores the session id until the cookie's
//! own expiry, so a copied cookie stops working too.
//!
//! The default store is SQLite in the data dir (durable across restarts and
//! crashes). Replicas that serve the same users need a shared store.

mod sqlite;

use std::path::Path;

use thiserror::Error;
use time::OffsetDateTime;

pub use sqlite::SqliteRevocations;

/// The store, chosen at start-up.
pub enum Revocations {
    Sqlite(SqliteRevocations),
}

#[derive(Debug, Error)]
pub enum RevocationError {
    /// The store can't be reached or written: logins can't be checked.
    #[error("the revocation store is unavailable: {0}")]
    Unavailable(String),
}

impl Revocations {
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
        }
    }

    pub async fn is_revoked(
        &self,
        sid: &str,
        now: OffsetDateTime,
    ) -> Result<bool, RevocationError> {
        match self {
            Self::Sqlite(store) => Ok(store.is_revoked(sid, now)),
        }
    }

    /// Forgets revocations whose cookies have expired anyway.
    pub async fn prune(&self, now: OffsetDateTime) -> Result<usize, RevocationError> {
        match self {
            Self::Sqlite(store) => store.prune(now).await,
        }
    }

    /// For the start-up log.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(store) => format!("sqlite {}", store.path().display()),
        }
    }
}
