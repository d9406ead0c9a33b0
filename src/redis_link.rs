//! The connection to the Redis named by `--revocations redis://…`, which the
//! revocation store and the login throttle both use.
//!
//! One multiplexed connection that reconnects by itself, made lazily so a
//! replica may start before Redis. Every call is bounded: 500 ms to connect,
//! 500 ms for an answer, and [`OPERATION_TIMEOUT`] in all, so a dead or hung
//! Redis costs a request at most that and becomes a 503, never a hang.
//!
//! A call that finds the connection dropped (Redis restarted since the last
//! one) is sent once more on the new connection: without that, the first
//! request after every Redis restart would fail although Redis is back.

use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, RedisError, RedisResult};

use crate::config::RedisTarget;

/// A TCP connect to a Redis on the same network takes well under this.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Redis answers its commands in microseconds; past this it is in trouble.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
/// The most one call may take, the resend after a dropped connection
/// included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_millis(1500);

/// A handle to the shared connection; cheap to clone.
#[derive(Clone)]
pub struct RedisLink {
    target: RedisTarget,
    connection: ConnectionManager,
}

impl RedisLink {
    /// Prepares the connection without waiting for Redis.
    pub fn connect(target: &RedisTarget) -> Result<Self, String> {
        let client = redis::Client::open(target.url()).map_err(described)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            // One quick reconnect attempt: while Redis is down every request
            // tries again anyway, so there is no need to wait long here.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200));
        let connection =
            ConnectionManager::new_lazy_with_config(client, config).map_err(described)?;
        Ok(Self {
            target: target.clone(),
            connection,
        })
    }

    /// The address and database, never the password.
    pub fn target(&self) -> &RedisTarget {
        &self.target
    }

    /// Runs one command. The error says what went wrong, never the password.
    pub async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, String> {
        self.bounded(|mut connection| async move { cmd.query_async(&mut connection).await })
            .await
    }

    /// Runs a pipeline in one round trip.
    pub async fn query_pipe<T: FromRedisValue>(&self, pipe: &redis::Pipeline) -> Result<T, String> {
        self.bounded(|mut connection| async move { pipe.query_async(&mut connection).await })
            .await
    }

    async fn bounded<T, F, Fut>(&self, send: F) -> Result<T, String>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let attempt = async {
            match send(self.connection.clone()).await {
                Err(err) if dropped(&err) => send(self.connection.clone()).await,
                answer => answer,
            }
        };
        match tokio::time::timeout(OPERATION_TIMEOUT, attempt).await {
            Ok(answer) => answer.map_err(described),
            Err(_) => Err(format!(
                "Redis did not answer within {} ms",
                OPERATION_TIMEOUT.as_millis()
            )),
        }
    }
}

/// The connection broke before an answer came: a restarted Redis. Sending
/// again is safe for every command here: reads, a SET of the same value, and
/// the throttle's script, which at worst counts one failed login twice.
fn dropped(err: &RedisError) -> bool {
    err.is_connection_dropped() || err.is_io_error()
}

/// The redis crate's messages never repeat the URL, so no password leaks.
fn described(err: impl std::fmt::Display) -> String {
    format!("Redis: {err}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_redis_is_an_error_within_the_timeout() {
        // Port 1 on loopback: nothing listens there, so connects are refused.
        let target = RedisTarget::parse("redis://127.0.0.1:1/0").unwrap();
        let link = RedisLink::connect(&target).unwrap();
        let started = std::time::Instant::now();

        let answer = link.query::<String>(&redis::cmd("PING")).await;

        assert!(answer.is_err(), "{answer:?}");
        // Generous (5x the bound): a loaded 2-core CI machine runs this in
        // parallel with other tests. What matters is that it ends at all.
        assert!(started.elapsed() <= OPERATION_TIMEOUT * 5);
    }
}
