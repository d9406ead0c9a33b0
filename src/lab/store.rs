//! Where runs are kept while they are looked at: in this process, or in the
//! Redis named by `--revocations redis://…` so that whichever replica a
//! browser reaches can record a step of a run and answer for it.
//!
//! Both are bounded: a run expires [`Bounds::ttl`] after it started, at most
//! [`Bounds::max_runs`] are kept (the oldest goes first), and they hold at
//! most [`Bounds::max_bytes`] together (in Redis: each run at most
//! [`MAX_RUN_BYTES`], so the count bounds the bytes). A run's size is
//! bounded by its shape anyway: twelve contexts, eighteen names, a few
//! short strings.

mod memory;
mod redis;

use std::time::Duration;

use super::run::{Run, RunId, Update};
use crate::config::{Config, RedisTarget, RevocationStore};

/// The limits of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub max_runs: usize,
    pub max_bytes: usize,
    pub ttl: Duration,
}

impl Bounds {
    /// A run takes well under a minute; ten leave time to read the matrix.
    /// 1000 runs of at most 4 KiB stay within 4 MiB.
    pub const STANDARD: Bounds = Bounds {
        max_runs: 1000,
        max_bytes: 4 * 1024 * 1024,
        ttl: Duration::from_secs(600),
    };
}

/// The most a stored run may take, serialised: far above what a run can
/// reach (about 2 KiB with every context seen), so only a bug hits it.
pub const MAX_RUN_BYTES: usize = 4 * 1024;

/// The store could not be reached or answered nonsense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUnavailable(pub String);

impl std::fmt::Display for StoreUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the lab's run store is unavailable: {}", self.0)
    }
}

/// The runs of the lab.
pub enum LabStore {
    Memory(memory::MemoryRuns),
    Redis(redis::RedisRuns),
}

impl LabStore {
    /// In Redis when revocations are kept there (replicas share it), else
    /// in this process. A Redis connection that can't even be prepared is
    /// not a reason to stop the server: each lab request then answers 503
    /// with the cause, as when Redis is down.
    pub fn for_config(config: &Config) -> Self {
        match &config.revocations {
            RevocationStore::Sqlite => Self::in_memory(Bounds::STANDARD),
            RevocationStore::Redis(target) => Self::in_redis(target, Bounds::STANDARD),
        }
    }

    pub fn in_memory(bounds: Bounds) -> Self {
        Self::Memory(memory::MemoryRuns::new(bounds))
    }

    /// Prepares the connection without waiting for Redis.
    pub fn in_redis(target: &RedisTarget, bounds: Bounds) -> Self {
        Self::Redis(redis::RedisRuns::connect(target, bounds))
    }

    /// For the start-up log.
    pub fn describe(&self) -> String {
        match self {
            Self::Memory(_) => "memory (this process)".to_owned(),
            Self::Redis(runs) => format!("redis {}", runs.target()),
        }
    }

    /// Keeps a new run, making room if the bounds require.
    pub async fn create(&self, run: &Run) -> Result<(), StoreUnavailable> {
        match self {
            Self::Memory(runs) => runs.create(run, std::time::Instant::now()),
            Self::Redis(runs) => runs.create(run).await,
        }
    }

    /// Records a step of a run; `false` when there is no such run (never
    /// made, or expired). A step already recorded keeps its first record.
    pub async fn update(&self, id: &RunId, update: Update) -> Result<bool, StoreUnavailable> {
        match self {
            Self::Memory(runs) => Ok(runs.update(id, update, std::time::Instant::now())),
            Self::Redis(runs) => runs.update(id, update).await,
        }
    }

    /// The run, with every step recorded so far.
    pub async fn get(&self, id: &RunId) -> Result<Option<Run>, StoreUnavailable> {
        match self {
            Self::Memory(runs) => Ok(runs.get(id, std::time::Instant::now())),
            Self::Redis(runs) => runs.get(id).await,
        }
    }
}
