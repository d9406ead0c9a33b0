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
//! at once), through [`RedisLink`], whose timeouts make a dead or hung Redis
//! a 503, never a hang.

use time::OffsetDateTime;

use super::{RevocationError, unavailable};
use crate::config::RedisTarget;
use crate::redis_link::RedisLink;

const KEY_PREFIX: &str = "cookie-lab:revoked:";
const EPOCH_KEY: &str = "cookie-lab:epoch";

pub struct RedisRevocations {
    link: RedisLink,
}

impl RedisRevocations {
    /// Prepares the connection without waiting for Redis: a replica may start
    /// before Redis does, and answers 503 for logins until it is reachable.
    pub fn connect(target: &RedisTarget) -> Result<Self, RevocationError> {
        Ok(Self {
            link: RedisLink::connect(target).map_err(unavailable)?,
        })
    }

    /// The address and database, never the password.
    pub fn target(&self) -> &RedisTarget {
        self.link.target()
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, RevocationError> {
        self.link.query(&cmd).await.map_err(unavailable)
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
        self.link.query_pipe::<()>(&pipe).await.map_err(unavailable)
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
}
