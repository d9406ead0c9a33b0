//! Revocations in SQLite, with live entries also held in memory.
//!
//! Writes go to SQLite first (WAL, synchronous=FULL: a logout survives a
//! crash or power cut the moment it is answered), on the blocking pool so
//! the async workers never wait on disk. Reads are answered from memory:
//! this process is the only writer of its data dir. Memory is bounded: at
//! most `capacity` revocations are held, and while more are in force a
//! lookup that misses in memory asks SQLite.
//!
//! The database also holds the revocation epoch sealed into every login
//! cookie. A new or replaced database file gets a new epoch, so deleting
//! the file logs everyone out rather than bringing logged-out cookies back.
//!
//! A failed write (a full disk, say) sets a sticky flag: new logins and
//! `/readyz` are refused until a probe write succeeds, since a session
//! issued now could not be logged out.

use std::collections::HashMap;
use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::{RevocationError, unavailable};

pub(super) const FILE_NAME: &str = "revocations.sqlite3";

/// How many revocations are held in memory at most: some 100 bytes each,
/// so about 10 MB. The login rate limit keeps a real deployment far below.
pub(super) const DEFAULT_CAPACITY: usize = 100_000;

pub struct SqliteRevocations {
    path: PathBuf,
    connection: Arc<Mutex<Connection>>,
    live: RwLock<Live>,
    capacity: usize,
    epoch: u64,
    /// The last write failed and no probe write has succeeded since.
    write_failed: AtomicBool,
}

/// The revocations held in memory.
struct Live {
    /// sid → expiry (unix seconds).
    map: HashMap<String, i64>,
    /// True when `map` holds every revocation in force, so a miss means
    /// "not revoked" without asking SQLite.
    complete: bool,
}

impl SqliteRevocations {
    pub async fn open(path: PathBuf) -> Result<Self, RevocationError> {
        Self::open_with_capacity(path, DEFAULT_CAPACITY).await
    }

    pub async fn open_with_capacity(
        path: PathBuf,
        capacity: usize,
    ) -> Result<Self, RevocationError> {
        let opened = path.clone();
        let (connection, live, epoch) =
            tokio::task::spawn_blocking(move || open_blocking(&opened, capacity))
                .await
                .map_err(unavailable)??;
        Ok(Self {
            path,
            connection: Arc::new(Mutex::new(connection)),
            live: RwLock::new(live),
            capacity,
            epoch,
            write_failed: AtomicBool::new(false),
        })
    }

    /// A store in memory only, with no file: for tests that call the router
    /// without a data dir. Everything is lost with it.
    pub async fn open_in_memory() -> Result<Self, RevocationError> {
        let (connection, live, epoch) = tokio::task::spawn_blocking(|| {
            let connection = Connection::open_in_memory().map_err(unavailable)?;
            prepare(connection, DEFAULT_CAPACITY)
        })
        .await
        .map_err(unavailable)??;
        Ok(Self {
            path: PathBuf::from(":memory:"),
            connection: Arc::new(Mutex::new(connection)),
            live: RwLock::new(live),
            capacity: DEFAULT_CAPACITY,
            epoch,
            write_failed: AtomicBool::new(false),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Revokes every `(sid, until)` in one transaction: all or none.
    pub async fn revoke_many(
        &self,
        entries: &[(&str, OffsetDateTime)],
    ) -> Result<(), RevocationError> {
        let owned: Vec<(String, i64)> = entries
            .iter()
            .map(|(sid, until)| ((*sid).to_owned(), until.unix_timestamp()))
            .collect();
        let written = owned.clone();
        let outcome = self
            .with_connection(move |connection| {
                let transaction = connection.unchecked_transaction()?;
                {
                    let mut insert = transaction.prepare_cached(
                        "INSERT INTO revoked (sid, expires_at) VALUES (?1, ?2)
                         ON CONFLICT (sid) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)",
                    )?;
                    for (sid, expires_at) in &written {
                        insert.execute(params![sid, expires_at])?;
                    }
                }
                transaction.commit()
            })
            .await;
        if outcome.is_err() {
            self.write_failed.store(true, Ordering::Release);
        }
        outcome?;
        let mut live = self.live.write().map_err(unavailable)?;
        for (sid, expires_at) in owned {
            if let Some(kept) = live.map.get_mut(&sid) {
                *kept = (*kept).max(expires_at);
            } else if live.map.len() < self.capacity {
                live.map.insert(sid, expires_at);
            } else {
                // Full: SQLite has it; lookups that miss ask SQLite now.
                live.complete = false;
            }
        }
        Ok(())
    }

    /// True when `sid` is revoked, or `epoch` is not this database's.
    pub async fn is_revoked(
        &self,
        sid: &str,
        epoch: u64,
        now: OffsetDateTime,
    ) -> Result<bool, RevocationError> {
        if epoch != self.epoch {
            return Ok(true);
        }
        let now = now.unix_timestamp();
        {
            // A poisoned lock only means a writer panicked mid-insert; the
            // map is still a valid map, so keep reading it rather than
            // letting revoked cookies in.
            let live = self
                .live
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(&expires_at) = live.map.get(sid) {
                return Ok(expires_at > now);
            }
            if live.complete {
                return Ok(false);
            }
        }
        let sid = sid.to_owned();
        let expires_at = self
            .with_connection(move |connection| {
                connection
                    .query_row(
                        "SELECT expires_at FROM revoked WHERE sid = ?1",
                        params![sid],
                        |row| row.get::<_, i64>(0),
                    )
                    .optional()
            })
            .await?;
        Ok(expires_at.is_some_and(|at| at > now))
    }

    /// The epoch for a new session, unless the last write failed and a
    /// probe write still fails: then no session should be issued.
    pub async fn epoch_if_writable(&self) -> Result<u64, RevocationError> {
        if self.write_failed.load(Ordering::Acquire) {
            self.probe_write().await?;
        }
        Ok(self.epoch)
    }

    /// For /readyz: the file answers, and writes work (probed only while
    /// the last write failed, not on every call).
    pub async fn ping(&self) -> Result<(), RevocationError> {
        if self.write_failed.load(Ordering::Acquire) {
            return self.probe_write().await;
        }
        self.with_connection(|connection| {
            connection
                .query_row("SELECT 1", [], |row| row.get::<_, i64>(0))
                .map(|_| ())
        })
        .await
    }

    /// Writes a row of its own; success clears the sticky write failure.
    async fn probe_write(&self) -> Result<(), RevocationError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        self.with_connection(move |connection| {
            connection.execute(
                "INSERT INTO meta (key, value) VALUES ('probe', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![now],
            )
        })
        .await
        .map_err(|err| {
            RevocationError::Unavailable(format!("the last write failed and still fails: {err}"))
        })?;
        self.write_failed.store(false, Ordering::Release);
        Ok(())
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

    /// Forgets revocations whose cookies have expired anyway, on disk and in
    /// memory; memory holds them all again once they fit.
    pub async fn prune(&self, now: OffsetDateTime) -> Result<usize, RevocationError> {
        let cutoff = now.unix_timestamp();
        let removed = self
            .with_connection(move |connection| {
                connection.execute(
                    "DELETE FROM revoked WHERE expires_at <= ?1",
                    params![cutoff],
                )
            })
            .await?;
        let complete = self.live.read().map_err(unavailable)?.complete;
        if complete {
            self.live
                .write()
                .map_err(unavailable)?
                .map
                .retain(|_, &mut expires_at| expires_at > cutoff);
        } else {
            let capacity = self.capacity;
            let reloaded = self
                .with_connection(move |connection| load_live(connection, capacity))
                .await?;
            *self.live.write().map_err(unavailable)? = reloaded;
        }
        Ok(removed)
    }

    /// Makes every later write fail (as on a full disk or a file system
    /// remounted read-only), or work again: for tests of the fail-closed
    /// paths, which can't break a real disk.
    #[doc(hidden)]
    pub async fn simulate_write_failure(&self, failing: bool) -> Result<(), RevocationError> {
        self.with_connection(move |connection| {
            connection.pragma_update(None, "query_only", failing)
        })
        .await
    }
}

fn open_blocking(path: &Path, capacity: usize) -> Result<(Connection, Live, u64), RevocationError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Owner only: the file says who logged out when.
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(unavailable)?;
    }
    // Created 0600 before SQLite opens it; SQLite gives its -wal and -shm
    // files the database file's permissions.
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(unavailable)?;
    let connection = Connection::open(path).map_err(unavailable)?;
    prepare(connection, capacity)
}

/// The schema, expired entries gone, the epoch and the live revocations.
fn prepare(
    connection: Connection,
    capacity: usize,
) -> Result<(Connection, Live, u64), RevocationError> {
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS revoked (
                 sid TEXT PRIMARY KEY NOT NULL,
                 expires_at INTEGER NOT NULL
             ) STRICT;
             CREATE TABLE IF NOT EXISTS meta (
                 key TEXT PRIMARY KEY NOT NULL,
                 value INTEGER NOT NULL
             ) STRICT;",
        )
        .map_err(unavailable)?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    connection
        .execute("DELETE FROM revoked WHERE expires_at <= ?1", params![now])
        .map_err(unavailable)?;
    let epoch = load_or_create_epoch(&connection)?;
    let live = load_live(&connection, capacity).map_err(unavailable)?;
    Ok((connection, live, epoch))
}

fn load_or_create_epoch(connection: &Connection) -> Result<u64, RevocationError> {
    let stored: Option<i64> = connection
        .query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |row| {
            row.get(0)
        })
        .optional()
        .map_err(unavailable)?;
    if let Some(epoch) = stored {
        // Stored as the same 64 bits, signed, since SQLite integers are.
        return Ok(u64::from_ne_bytes(epoch.to_ne_bytes()));
    }
    let epoch = super::new_epoch()?;
    connection
        .execute(
            "INSERT INTO meta (key, value) VALUES ('epoch', ?1)",
            params![i64::from_ne_bytes(epoch.to_ne_bytes())],
        )
        .map_err(unavailable)?;
    tracing::info!(
        epoch,
        "new revocation store: created its epoch; sessions of any earlier store are logged out"
    );
    Ok(epoch)
}

/// Up to `capacity` revocations in force; complete when all of them fit.
fn load_live(connection: &Connection, capacity: usize) -> rusqlite::Result<Live> {
    let limit = i64::try_from(capacity)
        .unwrap_or(i64::MAX)
        .saturating_add(1);
    let mut statement = connection.prepare("SELECT sid, expires_at FROM revoked LIMIT ?1")?;
    let mut map: HashMap<String, i64> = statement
        .query_map(params![limit], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let complete = map.len() <= capacity;
    if !complete {
        // One past the capacity was read only to learn it didn't fit.
        if let Some(extra) = map.keys().next().cloned() {
            map.remove(&extra);
        }
    }
    Ok(Live { map, complete })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use time::Duration;

    use super::*;

    const EPOCH_OF: fn(&SqliteRevocations) -> u64 = |store| store.epoch;

    #[tokio::test]
    async fn a_revocation_survives_a_reopen_until_it_expires() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let now = OffsetDateTime::now_utc();
        let store = SqliteRevocations::open(path.clone()).await.unwrap();
        let epoch = EPOCH_OF(&store);
        store
            .revoke_many(&[("sid-1", now + Duration::days(1))])
            .await
            .unwrap();
        store
            .revoke_many(&[("sid-2", now + Duration::hours(1))])
            .await
            .unwrap();
        assert!(store.is_revoked("sid-1", epoch, now).await.unwrap());
        assert!(!store.is_revoked("other", epoch, now).await.unwrap());
        drop(store);

        let reopened = SqliteRevocations::open(path).await.unwrap();
        assert_eq!(EPOCH_OF(&reopened), epoch, "the epoch is kept");
        assert!(
            reopened.is_revoked("sid-1", epoch, now).await.unwrap(),
            "durable across a restart"
        );
        // Relative to `now`, not the clock: a slow machine can't make it flaky.
        let later = now + Duration::hours(2);
        assert!(
            !reopened.is_revoked("sid-2", epoch, later).await.unwrap(),
            "over once the cookie expired"
        );
        assert_eq!(reopened.prune(later).await.unwrap(), 1);
        assert!(reopened.is_revoked("sid-1", epoch, now).await.unwrap());
    }

    #[tokio::test]
    async fn a_new_database_has_a_new_epoch_so_old_sessions_are_logged_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let now = OffsetDateTime::now_utc();
        let first = SqliteRevocations::open(path.clone()).await.unwrap();
        let old_epoch = EPOCH_OF(&first);
        drop(first);
        std::fs::remove_file(&path).unwrap();

        let fresh = SqliteRevocations::open(path).await.unwrap();

        assert_ne!(EPOCH_OF(&fresh), old_epoch);
        assert!(fresh.is_revoked("any", old_epoch, now).await.unwrap());
        assert!(
            fresh.is_revoked("any", 0, now).await.unwrap(),
            "pre-epoch cookies"
        );
        assert!(
            !fresh
                .is_revoked("any", EPOCH_OF(&fresh), now)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn memory_is_bounded_and_lookups_past_it_ask_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let now = OffsetDateTime::now_utc();
        let store = SqliteRevocations::open_with_capacity(path.clone(), 10)
            .await
            .unwrap();
        let epoch = EPOCH_OF(&store);
        let sids: Vec<String> = (0..50).map(|i| format!("sid-{i}")).collect();
        let entries: Vec<(&str, OffsetDateTime)> = sids
            .iter()
            .map(|sid| (sid.as_str(), now + Duration::hours(1)))
            .collect();
        store.revoke_many(&entries).await.unwrap();

        assert_eq!(store.live.read().unwrap().map.len(), 10);
        for sid in &sids {
            assert!(store.is_revoked(sid, epoch, now).await.unwrap(), "{sid}");
        }
        assert!(!store.is_revoked("never", epoch, now).await.unwrap());

        let reopened = SqliteRevocations::open_with_capacity(path, 10)
            .await
            .unwrap();
        assert_eq!(reopened.live.read().unwrap().map.len(), 10);
        assert!(!reopened.live.read().unwrap().complete);
        assert!(reopened.is_revoked("sid-49", epoch, now).await.unwrap());
    }

    #[tokio::test]
    async fn a_failed_write_refuses_new_sessions_until_a_probe_write_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteRevocations::open(dir.path().join(FILE_NAME))
            .await
            .unwrap();
        let now = OffsetDateTime::now_utc();
        assert!(store.epoch_if_writable().await.is_ok());
        store.simulate_write_failure(true).await.unwrap();
        let sids: Vec<String> = (0..3).map(|i| format!("sid-{i}")).collect();
        let entries: Vec<(&str, OffsetDateTime)> = sids
            .iter()
            .map(|s| (s.as_str(), now + Duration::hours(1)))
            .collect();

        assert!(store.revoke_many(&entries).await.is_err());
        assert!(store.epoch_if_writable().await.is_err());
        assert!(store.ping().await.is_err());

        store.simulate_write_failure(false).await.unwrap();
        assert!(store.ping().await.is_ok(), "a probe write clears the flag");
        assert!(store.epoch_if_writable().await.is_ok());
    }

    #[tokio::test]
    async fn the_data_dir_is_owner_only_and_the_file_0600() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("new-data-dir");
        let store = SqliteRevocations::open(data.join(FILE_NAME)).await.unwrap();
        store
            .revoke_many(&[("x", OffsetDateTime::now_utc() + Duration::hours(1))])
            .await
            .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join(FILE_NAME)), 0o600);
        assert_eq!(mode(&data.join(format!("{FILE_NAME}-wal"))), 0o600);
    }

    #[tokio::test]
    async fn a_checkpoint_leaves_an_empty_write_ahead_log() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteRevocations::open(dir.path().join(FILE_NAME))
            .await
            .unwrap();
        store
            .revoke_many(&[("sid", OffsetDateTime::now_utc() + Duration::hours(1))])
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
        let epoch = EPOCH_OF(&store);
        let now = OffsetDateTime::now_utc();
        store
            .revoke_many(&[("sid", now + Duration::hours(2))])
            .await
            .unwrap();
        store
            .revoke_many(&[("sid", now + Duration::hours(1))])
            .await
            .unwrap();
        drop(store);
        let reopened = SqliteRevocations::open(dir.path().join(FILE_NAME))
            .await
            .unwrap();
        assert!(
            reopened
                .is_revoked("sid", epoch, now + Duration::minutes(90))
                .await
                .unwrap()
        );
    }
}
