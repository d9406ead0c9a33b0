//! Revocations in Redis, shared by every replica behind one load balancer.
//!
//! Each revoked session id is a key `cookie-lab:revoked:<sid>` whose TTL is
//! the cookie's remaining life, so Redis forgets it exactly when the cookie
//! would stop working anyway: nothing to prune.
//!
//! A deny-list forgets what Redis loses (a restart without persistence, an
//! eviction, a failover, a FLUSHDB), which would bring logged-out cookies
//! back. So Redis also holds the revocation epoch, `cookie-lab:epoch`, a
//! random number sealed into every login cookie. Each check reads it in the
//! same round trip as the revocation: if it is gone, Redis lost its data, a
//! new epoch is created (`SET NX`, so replicas agree on one), and every
//! session of the old epoch is refused. Losing Redis's data logs everyone
//! out; it never lets a logged-out session back in.
//!
//! Every read goes to Redis (a revocation made by another replica must count
//! at once), through one multiplexed connection that reconnects by itself.
//! Timeouts bound every step, so a dead or hung Redis costs a request at most
//! [`OPERATION_TIMEOUT`] and becomes a 503, never a hang.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use time::OffsetDateTime;

use super::RevocationError;
use crate::config::RedisTarget;

const KEY_PREFIX: &str = "cookie-lab:revoked:";
const EPOCH_KEY: &str = "cookie-lab:epoch";
/// A TCP connect to a Redis on the same network takes well under this.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Redis answers EXISTS and SET in microseconds; past this it is in trouble.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
/// The most one operation may take, reconnect attempts included.
pub(super) const OPERATION_TIMEOUT: Duration = Duration::from_millis(1500);

pub struct RedisRevocations {
    target: RedisTarget,
    connection: ConnectionManager,
}

fn unavailable(err: impl std::fmt::Display) -> RevocationError {
    RevocationError::Unavailable(format!("Redis: {err}"))
}

impl RedisRevocations {
    /// Prepares the connection without waiting for Redis: a replica may start
    /// before Redis does, and answers 503 for logins until it is reachable.
    pub fn connect(target: &RedisTarget) -> Result<Self, RevocationError> {
        let client = redis::Client::open(target.url()).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            // One quick retry: while Redis is down every request tries to
            // reconnect anyway, so there is no need to wait long here.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200));
        let connection =
            ConnectionManager::new_lazy_with_config(client, config).map_err(unavailable)?;
        Ok(Self {
            target: target.clone(),
            connection,
        })
    }

    /// The address and database, never the password.
    pub fn target(&self) -> &RedisTarget {
        &self.target
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, RevocationError> {
        // Cloning the manager clones a handle to the same connection.
        let mut connection = self.connection.clone();
        within_timeout(cmd.query_async(&mut connection)).await
    }

    /// Stores each `(sid, until)` until its cookie's own expiry, in one round
    /// trip. Every revocation of one session carries the same expiry (the
    /// cookie's), so a plain SET is enough.
    pub async fn revoke_many(
        &self,
        entries: &[(&str, OffsetDateTime)],
    ) -> Result<(), RevocationError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let mut pipe = redis::pipe();
        for (sid, until) in entries {
            let remaining = until.unix_timestamp() - now;
            // An expired cookie is refused without any record.
            if remaining > 0 {
                pipe.cmd("SET")
                    .arg(key(sid))
                    .arg(1)
                    .arg("EX")
                    .arg(remaining)
                    .ignore();
            }
        }
        let mut connection = self.connection.clone();
        within_timeout(pipe.query_async::<()>(&mut connection)).await
    }

    /// The current revocation epoch, created if Redis has none.
    pub async fn epoch(&self) -> Result<u64, RevocationError> {
        let mut get = redis::cmd("GET");
        get.arg(EPOCH_KEY);
        match self.run::<Option<String>>(get).await? {
            Some(text) => parse_epoch(&text),
            None => self.create_epoch().await,
        }
    }

    /// A new epoch, unless another replica created one first: then that one.
    async fn create_epoch(&self) -> Result<u64, RevocationError> {
        let fresh = super::new_epoch()?;
        let mut set = redis::cmd("SET");
        set.arg(EPOCH_KEY).arg(fresh.to_string()).arg("NX");
        let created = self.run::<Option<String>>(set).await?.is_some();
        if created {
            tracing::warn!(
                epoch = fresh,
                "Redis had no revocation epoch (a first start, or Redis lost its data): created one; \
                 sessions of any earlier epoch are logged out"
            );
            return Ok(fresh);
        }
        let mut get = redis::cmd("GET");
        get.arg(EPOCH_KEY);
        match self.run::<Option<String>>(get).await? {
            Some(text) => parse_epoch(&text),
            None => Err(RevocationError::Unavailable(
                "Redis: the revocation epoch vanished while it was being created".to_owned(),
            )),
        }
    }

    /// True when the session `sid` of `epoch` is logged out: revoked, or of
    /// an epoch that is no longer current. One round trip, unless Redis has
    /// lost the epoch.
    pub async fn is_revoked(&self, sid: &str, epoch: u64) -> Result<bool, RevocationError> {
        let mut get = redis::cmd("MGET");
        get.arg(EPOCH_KEY).arg(key(sid));
        let (current, revoked): (Option<String>, Option<String>) = self.run(get).await?;
        let current = match current {
            Some(text) => parse_epoch(&text)?,
            None => self.create_epoch().await?,
        };
        Ok(current != epoch || revoked.is_some())
    }

    /// What is wrong with this Redis for holding revocations, read with
    /// `CONFIG GET` where the server permits it: revocations need an
    /// append-only file and no eviction, or a restart or memory pressure
    /// forgets logouts (the epoch then logs everyone out).
    pub async fn configuration_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (setting, wanted) in [("appendonly", "yes"), ("maxmemory-policy", "noeviction")] {
            let mut get = redis::cmd("CONFIG");
            get.arg("GET").arg(setting);
            match self.run::<Vec<String>>(get).await {
                Ok(pair) => match pair.get(1) {
                    Some(value) if value == wanted => {}
                    Some(value) => {
                        problems.push(format!("{setting} is {value:?}, should be {wanted:?}"))
                    }
                    None => {
                        problems.push(format!("{setting} is not reported; should be {wanted:?}"))
                    }
                },
                Err(err) => problems.push(format!(
                    "could not read {setting} ({err}); it should be {wanted:?}"
                )),
            }
        }
        problems
    }

    /// Round trip to Redis: for /readyz, and before a login is issued.
    pub async fn ping(&self) -> Result<(), RevocationError> {
        self.run::<String>(redis::cmd("PING")).await.map(|_| ())
    }
}

/// Bounds one Redis operation, reconnect attempts included.
async fn within_timeout<T>(
    answer: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, RevocationError> {
    match tokio::time::timeout(OPERATION_TIMEOUT, answer).await {
        Ok(answer) => answer.map_err(unavailable),
        Err(_) => Err(RevocationError::Unavailable(format!(
            "Redis did not answer within {} ms",
            OPERATION_TIMEOUT.as_millis()
        ))),
    }
}

fn parse_epoch(text: &str) -> Result<u64, RevocationError> {
    text.parse().map_err(|_| {
        RevocationError::Unavailable(format!(
            "Redis holds a revocation epoch that is not a number ({EPOCH_KEY})"
        ))
    })
}

fn key(sid: &str) -> String {
    format!("{KEY_PREFIX}{sid}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_so_redis_can_be_shared() {
        assert_eq!(key("abc"), "cookie-lab:revoked:abc");
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_an_error_within_the_timeout() {
        // Port 1 on loopback: nothing listens there, so connects are refused.
        let target = RedisTarget::parse("redis://127.0.0.1:1/0").unwrap();
        let store = RedisRevocations::connect(&target).unwrap();
        let started = std::time::Instant::now();

        let answer = store.is_revoked("sid", 1).await;

        assert!(
            matches!(answer, Err(RevocationError::Unavailable(_))),
            "{answer:?}"
        );
        // Generous (5x the bound): a loaded 2-core CI machine runs this in
        // parallel with other tests. What matters is that it ends at all.
        assert!(started.elapsed() <= OPERATION_TIMEOUT * 5);
    }
}
