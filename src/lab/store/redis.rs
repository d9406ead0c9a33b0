//! Runs in Redis, shared by every replica.
//!
//! A run is a hash `cookie-lab:lab:run:<id>`: the field `run` holds the run
//! as it started, and each step is a field of its own (`prepared-a`,
//! `prepared-b`, `seen:<context>`), written with `HSETNX` so the first
//! record of a step wins and two replicas recording two steps at once never
//! overwrite each other. The hash expires with the run. A list,
//! `cookie-lab:lab:runs`, holds the ids in the order runs started, so that
//! one script can drop expired ids and, past the count bound, the oldest
//! run.

use std::time::Duration;

use time::OffsetDateTime;

use super::{Bounds, MAX_RUN_BYTES, StoreUnavailable};
use crate::config::RedisTarget;
use crate::lab::run::{Run, RunId, Update};
use crate::redis_link::RedisLink;

const RUN_KEY_PREFIX: &str = "cookie-lab:lab:run:";
const INDEX_KEY: &str = "cookie-lab:lab:runs";

/// Forgets the ids of expired runs, evicts the oldest runs past the count
/// bound, then stores the new run. The index is a list in the order runs
/// were made (`<ms>:<id>`), so "oldest" is exact even for runs made in the
/// same millisecond. KEYS: the index, the run's key. ARGV: now (ms), ttl
/// (ms), the count bound, the id, the run's JSON, the run key prefix.
const CREATE: &str = r"
local now, ttl, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local function id_of(entry) return string.sub(entry, string.find(entry, ':') + 1) end
while true do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head or tonumber(string.sub(head, 1, string.find(head, ':') - 1)) > now - ttl then break end
  redis.call('LPOP', KEYS[1])
end
while redis.call('LLEN', KEYS[1]) >= max do
  redis.call('DEL', ARGV[6] .. id_of(redis.call('LPOP', KEYS[1])))
end
redis.call('RPUSH', KEYS[1], ARGV[1] .. ':' .. ARGV[4])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'run', ARGV[5])
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
";

/// Records a step of an existing run, first record winning: 1 when the run
/// exists, 0 when not (nothing is created then). KEYS: the run's key.
/// ARGV: the field, its JSON.
const UPDATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return 1
";

pub struct RedisRuns {
    /// The connection, or why it could not be prepared (then every call
    /// fails with that).
    link: Result<RedisLink, String>,
    target: RedisTarget,
    bounds: Bounds,
}

fn unavailable(err: impl std::fmt::Display) -> StoreUnavailable {
    StoreUnavailable(err.to_string())
}

fn run_key(id: &RunId) -> String {
    format!("{RUN_KEY_PREFIX}{id}")
}

/// The hash field of an update, and its JSON.
fn field(update: &Update) -> Result<(String, String), StoreUnavailable> {
    let name = match update {
        Update::PreparedA(_) => "prepared-a".to_owned(),
        Update::PreparedB(_) => "prepared-b".to_owned(),
        Update::Observed(column, _) => format!("seen:{}", column.id()),
    };
    let json = serde_json::to_string(update).map_err(unavailable)?;
    Ok((name, json))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl RedisRuns {
    pub(super) fn connect(target: &RedisTarget, bounds: Bounds) -> Self {
        Self {
            link: RedisLink::connect(target),
            target: target.clone(),
            bounds,
        }
    }

    pub(super) fn target(&self) -> &RedisTarget {
        &self.target
    }

    async fn query<T: ::redis::FromRedisValue>(
        &self,
        cmd: &::redis::Cmd,
    ) -> Result<T, StoreUnavailable> {
        let link = self.link.as_ref().map_err(unavailable)?;
        link.query(cmd).await.map_err(unavailable)
    }

    pub(super) async fn create(&self, run: &Run) -> Result<(), StoreUnavailable> {
        let json = serde_json::to_string(run).map_err(unavailable)?;
        if json.len() > MAX_RUN_BYTES / 2 {
            return Err(StoreUnavailable(format!(
                "a run of {} bytes is larger than a run may start",
                json.len()
            )));
        }
        let now_ms = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        let mut eval = ::redis::cmd("EVAL");
        eval.arg(CREATE)
            .arg(2)
            .arg(INDEX_KEY)
            .arg(run_key(&run.id))
            .arg(now_ms.to_string())
            .arg(millis(self.bounds.ttl))
            .arg(self.bounds.max_runs)
            .arg(run.id.as_str())
            .arg(json)
            .arg(RUN_KEY_PREFIX);
        let _: i64 = self.query(&eval).await?;
        Ok(())
    }

    pub(super) async fn update(
        &self,
        id: &RunId,
        update: Update,
    ) -> Result<bool, StoreUnavailable> {
        let (name, json) = field(&update)?;
        // Each step is small; with the count bound this bounds the bytes.
        if json.len() > MAX_RUN_BYTES / 16 {
            return Err(StoreUnavailable(format!(
                "a step of {} bytes is larger than a step may be",
                json.len()
            )));
        }
        let mut eval = ::redis::cmd("EVAL");
        eval.arg(UPDATE).arg(1).arg(run_key(id)).arg(name).arg(json);
        let found: i64 = self.query(&eval).await?;
        Ok(found == 1)
    }

    pub(super) async fn get(&self, id: &RunId) -> Result<Option<Run>, StoreUnavailable> {
        let mut get = ::redis::cmd("HGETALL");
        get.arg(run_key(id));
        let fields: Vec<(String, String)> = self.query(&get).await?;
        let Some((_, json)) = fields.iter().find(|(name, _)| name == "run") else {
            return Ok(None);
        };
        let mut run: Run = serde_json::from_str(json).map_err(unavailable)?;
        // Steps in the order of the run, whatever order Redis gives them.
        let mut updates: Vec<Update> = fields
            .iter()
            .filter(|(name, _)| name != "run")
            .map(|(_, json)| serde_json::from_str(json).map_err(unavailable))
            .collect::<Result<_, _>>()?;
        updates.sort_by_key(|u| match u {
            Update::PreparedB(_) => (0, None),
            Update::PreparedA(_) => (1, None),
            Update::Observed(column, _) => (2, Some(*column)),
        });
        for update in updates {
            run.apply(update);
        }
        Ok(Some(run))
    }
}
