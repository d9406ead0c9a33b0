//! Revocations in Redis, shared by every replica behind one load balancer.
//!
//! Each revoked session id is a key `cookie-lab:revoked:<sid>` whose TTL is
//! the cookie's remaining life, so Redis forgets it exactly when the cookie
//! would stop working anyway: nothing to prune.
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
        match tokio::time::timeout(OPERATION_TIMEOUT, cmd.query_async(&mut connection)).await {
            Ok(answer) => answer.map_err(unavailable),
            Err(_) => Err(RevocationError::Unavailable(format!(
                "Redis did not answer within {} ms",
                OPERATION_TIMEOUT.as_millis()
            ))),
        }
    }

    /// Stores `sid` until `until`. Every revocation of one session carries the
    /// same expiry (the cookie's), so a plain SET is enough.
    pub async fn revoke(&self, sid: &str, until: OffsetDateTime) -> Result<(), RevocationError> {
        let remaining = until.unix_timestamp() - OffsetDateTime::now_utc().unix_timestamp();
        if remaining <= 0 {
            // The cookie has expired: it is refused without any record.
            return Ok(());
        }
        let mut set = redis::cmd("SET");
        set.arg(key(sid)).arg(1).arg("EX").arg(remaining);
        self.run::<()>(set).await
    }

    pub async fn is_revoked(&self, sid: &str) -> Result<bool, RevocationError> {
        let mut exists = redis::cmd("EXISTS");
        exists.arg(key(sid));
        Ok(self.run::<i64>(exists).await? > 0)
    }

    /// Round trip to Redis: for /readyz, and before a login is issued.
    pub async fn ping(&self) -> Result<(), RevocationError> {
        self.run::<String>(redis::cmd("PING")).await.map(|_| ())
    }
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

        let answer = store.is_revoked("sid").await;

        assert!(
            matches!(answer, Err(RevocationError::Unavailable(_))),
            "{answer:?}"
        );
        assert!(started.elapsed() <= OPERATION_TIMEOUT + Duration::from_millis(200));
    }
}
