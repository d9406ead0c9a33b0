//! Revocations in SQLite, with every live entry also held in memory.
//!
//! Reads never touch the disk: this process is the only writer of its data
//! dir, so the in-memory set is complete. Writes go to SQLite first (WAL,
//! synchronous=FULL: a logout survives a crash or power cut the moment it is
//! answered), on the blocking pool so the async workers never wait on disk.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use rusqlite::{Connection, params};
use time::OffsetDateTime;

use super::RevocationError;

pub(super) const FILE_NAME: &str = "revocations.sqlite3";

pub struct SqliteRevocations {
    path: PathBuf,
    connection: Arc<Mutex<Connection>>,
    /// sid → expiry (unix seconds) of every revocation still in force.
    live: RwLock<HashMap<String, i64>>,
}

fn unavailable(err: impl std::fmt::Display) -> RevocationError {
    RevocationError::Unavailable(err.to_string())
}

impl SqliteRevocations {
    pub async fn open(path: PathBuf) -> Result<Self, RevocationError> {
        let opened = path.clone();
        let (connection, live) = tokio::task::spawn_blocking(move || open_blocking(&opened))
            .await
            .map_err(unavailable)??;
        Ok(Self {
            path,
            connection: Arc::new(Mutex::new(connection)),
            live: RwLock::new(live),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub async fn revoke(&self, sid: &str, until: OffsetDateTime) -> Result<(), RevocationError> {
        let expires_at = until.unix_timestamp();
        let connection = Arc::clone(&self.connection);
        let owned = sid.to_owned();
        tokio::task::spawn_blocking(move || {
            let connection = connection.lock().map_err(unavailable)?;
            connection
                .execute(
                    "INSERT INTO revoked (sid, expires_at) VALUES (?1, ?2)
                     ON CONFLICT (sid) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)",
                    params![owned, expires_at],
                )
                .map_err(unavailable)
        })
        .await
        .map_err(unavailable)??;
        self.live
            .write()
            .map_err(unavailable)?
            .entry(sid.to_owned())
            .and_modify(|kept| *kept = (*kept).max(expires_at))
            .or_insert(expires_at);
        Ok(())
    }

    pub fn is_revoked(&self, sid: &str, now: OffsetDateTime) -> bool {
        // A poisoned lock only means a writer panicked mid-insert; the map is
        // still a valid map, so keep reading it rather than letting revoked
        // cookies in.
        let live = self
            .live
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        live.get(sid)
            .is_some_and(|&expires_at| expires_at > now.unix_timestamp())
    }

    /// Runs a trivial query: the file is open and the lock not poisoned.
    pub async fn ping(&self) -> Result<(), RevocationError> {
        self.with_connection(|connection| {
            connection
                .query_row("SELECT 1", [], |row| row.get::<_, i64>(0))
                .map(|_| ())
        })
        .await
    }

    /// Copies the write-ahead log into the database file and truncates it, so
    /// the data dir holds one complete file after a shutdown (a backup or a
    /// copy of `revocations.sqlite3` alone is then whole).
    pub async fn checkpoint(&self) -> Result<(), RevocationError> {
        self.with_connection(|connection| {
            connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                row.get::<_, i64>(0)
            })
        })
        .await
        .map(|_busy| ())
    }

    async fn with_connection<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, RevocationError> {
        let connection = Arc::clone(&self.connection);
        tokio::task::spawn_blocking(move || {
            let connection = connection.lock().map_err(unavailable)?;
            work(&connection).map_err(unavailable)
        })
        .await
        .map_err(unavailable)?
    }

    pub async fn prune(&self, now: OffsetDateTime) -> Result<usize, RevocationError> {
        let cutoff = now.unix_timestamp();
        let connection = Arc::clone(&self.connection);
        let removed = tokio::task::spawn_blocking(move || {
            let connection = connection.lock().map_err(unavailable)?;
            connection
                .execute(
                    "DELETE FROM revoked WHERE expires_at <= ?1",
                    params![cutoff],
                )
                .map_err(unavailable)
        })
        .await
        .map_err(unavailable)??;
        self.live
            .write()
            .map_err(unavailable)?
            .retain(|_, &mut expires_at| expires_at > cutoff);
        Ok(removed)
    }
}

fn open_blocking(path: &Path) -> Result<(Connection, HashMap<String, i64>), RevocationError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(unavailable)?;
    }
    let connection = Connection::open(path).map_err(unavailable)?;
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS revoked (
                 sid TEXT PRIMARY KEY NOT NULL,
                 expires_at INTEGER NOT NULL
             ) STRICT;",
        )
        .map_err(unavailable)?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    connection
        .execute("DELETE FROM revoked WHERE expires_at <= ?1", params![now])
        .map_err(unavailable)?;
    let live = {
        let mut statement = connection
            .prepare("SELECT sid, expires_at FROM revoked")
            .map_err(unavailable)?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })
            .map_err(unavailable)?;
        rows.collect::<Result<HashMap<_, _>, _>>()
            .map_err(unavailable)?
    };
    Ok((connection, live))
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_revocation_survives_a_reopen_until_it_expires() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let now = OffsetDateTime::now_utc();
        let store = SqliteRevocations::open(path.clone()).await.unwrap();
        store
            .revoke("sid-1", now + Duration::hours(1))
            .await
            .unwrap();
        store
            .revoke("sid-2", now + Duration::seconds(1))
            .await
            .unwrap();
        assert!(store.is_revoked("sid-1", now));
        assert!(!store.is_revoked("other", now));
        drop(store);

        let reopened = SqliteRevocations::open(path).await.unwrap();
        assert!(
            reopened.is_revoked("sid-1", now),
            "durable across a restart"
        );
        assert!(
            !reopened.is_revoked("sid-2", now + Duration::seconds(2)),
            "over once the cookie expired"
        );
        assert_eq!(reopened.prune(now + Duration::seconds(2)).await.unwrap(), 1);
        assert!(reopened.is_revoked("sid-1", now));
    }

    #[tokio::test]
    async fn a_checkpoint_leaves_an_empty_write_ahead_log() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteRevocations::open(dir.path().join(FILE_NAME))
            .await
            .unwrap();
        store
            .revoke("sid", OffsetDateTime::now_utc() + Duration::hours(1))
            .await
            .unwrap();
        store.ping().await.unwrap();

        store.checkpoint().await.unwrap();

        let wal = dir.path().join(format!("{FILE_NAME}-wal"));
        let wal_bytes = std::fs::metadata(&wal).map_or(0, |m| m.len());
        assert_eq!(wal_bytes, 0, "everything is in the database file");
    }

    #[tokio::test]
    async fn revoking_twice_keeps_the_later_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteRevocations::open(dir.path().join(FILE_NAME))
            .await
            .unwrap();
        let now = OffsetDateTime::now_utc();
        store.revoke("sid", now + Duration::hours(2)).await.unwrap();
        store.revoke("sid", now + Duration::hours(1)).await.unwrap();
        drop(store);
        let reopened = SqliteRevocations::open(dir.path().join(FILE_NAME))
            .await
            .unwrap();
        assert!(reopened.is_revoked("sid", now + Duration::minutes(90)));
    }
}
