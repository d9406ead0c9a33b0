//! The counters in Redis, shared by every replica: the Redis that
//! `--revocations redis://…` names.
//!
//! Keys (`{client}` is `203.0.113.7`, `2001:db8:1:2::/64` or `unknown`;
//! `{email}` the email's 16-hex-digit hash; `{bucket}` the Unix time in
//! milliseconds divided by the bucket length, 10 minutes):
//!
//! - `cookie-lab:throttle:pair:{client}:{email}`: a hash, `n` failures and
//!   `last`, the time of the last one (ms); expires when it would be
//!   forgotten (1 h, or 24 h once it reached backoff).
//! - `cookie-lab:throttle:client:{client}:{bucket}`: the client's failures
//!   in that bucket; expires once the bucket has left the window.
//! - `cookie-lab:throttle:email:{email}:{bucket}`: how many clients started
//!   failing on the email in that bucket; expires likewise.
//!
//! One Lua script judges an attempt and counts it, so replicas never both
//! let through the attempt that should have been the last. Expiry only
//! frees memory: every rule is decided from the times stored and the
//! caller's clock, as the memory store decides them.
//!
//! The connection is a [`RedisLink`], as `crate::revocation`'s is: a dead or
//! hung Redis makes a login a 503 within its timeout, never a hang and never
//! a free guess.

use super::policy::{BUCKETS, Limits, Refused, ms};
use super::{ClientKey, EmailHash, Reservation, ThrottleUnavailable, ThrottledBy};
use crate::config::RedisTarget;
use crate::redis_link::RedisLink;

const KEY_PREFIX: &str = "cookie-lab:throttle:";

/// Judges one attempt and, when it may go ahead, counts it as a failure.
/// The arithmetic of `Limits::judge` (policy.rs), step for step.
///
/// KEYS: the pair; the client's buckets, oldest first; the email's buckets,
/// oldest first. ARGV: now, buckets, bucket length, first bucket, ceiling,
/// attack_clients, pair_free, pair_free_under_attack, backoff base and max,
/// forget short and long (all times in ms).
///
/// Returns `{0, failures, allowance, under_attack, client_failures,
/// new_pair}` when allowed, `{1, by (1 pair, 2 client), wait, under_attack}`
/// when refused. `now` is written back as the ARGV string, because Lua turns
/// numbers into strings with 14 significant digits.
const ATTEMPT: &str = r"
local now = tonumber(ARGV[1])
local buckets = tonumber(ARGV[2])
local bucket_ms = tonumber(ARGV[3])
local first = tonumber(ARGV[4])
local ceiling = tonumber(ARGV[5])
local attack = tonumber(ARGV[6])
local free = tonumber(ARGV[7])
local free_attack = tonumber(ARGV[8])
local base = tonumber(ARGV[9])
local max = tonumber(ARGV[10])
local forget_short = tonumber(ARGV[11])
local forget_long = tonumber(ARGV[12])

local function count(key)
  local n = tonumber(redis.call('GET', key)) or 0
  if n < 0 then return 0 end
  return n
end

local client = {}
local client_total = 0
for i = 1, buckets do
  client[i] = count(KEYS[1 + i])
  client_total = client_total + client[i]
end
local client_wait = 0
if client_total >= ceiling then
  local left = client_total
  for i = 1, buckets do
    left = left - client[i]
    if left < ceiling then
      client_wait = (first + i - 1 + buckets) * bucket_ms - now
      break
    end
  end
end

local email_total = 0
for i = 1, buckets do
  email_total = email_total + count(KEYS[1 + buckets + i])
end
local attacked = 0
local allowance = free
if email_total >= attack then
  attacked = 1
  allowance = free_attack
end

local pair = redis.call('HMGET', KEYS[1], 'n', 'last')
local n = tonumber(pair[1]) or 0
local last = tonumber(pair[2]) or 0
local forget = forget_short
if n >= free then forget = forget_long end
if n > 0 and now - last >= forget then n = 0 end
local pair_wait = 0
if n >= allowance then
  local wait_until = last + math.min(base * 2 ^ (n - allowance), max)
  if now < wait_until then pair_wait = wait_until - now end
end

if pair_wait > 0 or client_wait > 0 then
  if pair_wait >= client_wait then return {1, 1, pair_wait, attacked} end
  return {1, 2, client_wait, attacked}
end

redis.call('HSET', KEYS[1], 'n', n + 1, 'last', ARGV[1])
if n + 1 >= free then
  redis.call('PEXPIRE', KEYS[1], forget_long)
else
  redis.call('PEXPIRE', KEYS[1], forget_short)
end
local keep = (buckets + 1) * bucket_ms
redis.call('INCR', KEYS[1 + buckets])
redis.call('PEXPIRE', KEYS[1 + buckets], keep)
local new_pair = 0
if n == 0 then
  new_pair = 1
  redis.call('INCR', KEYS[1 + 2 * buckets])
  redis.call('PEXPIRE', KEYS[1 + 2 * buckets], keep)
end
return {0, n + 1, allowance, attacked, client_total + 1, new_pair}
";

/// A right password: forgets the pair and takes back the attempt's counts.
/// KEYS: the pair, the client's bucket, the email's bucket. ARGV: 1 when the
/// email's count was taken.
const RELEASE: &str = r"
redis.call('DEL', KEYS[1])
if (tonumber(redis.call('GET', KEYS[2])) or 0) > 0 then redis.call('DECR', KEYS[2]) end
if ARGV[1] == '1' and (tonumber(redis.call('GET', KEYS[3])) or 0) > 0 then
  redis.call('DECR', KEYS[3])
end
return 1
";

pub(super) struct RedisCounters {
    link: RedisLink,
}

fn unavailable(err: impl std::fmt::Display) -> ThrottleUnavailable {
    ThrottleUnavailable(err.to_string())
}

impl RedisCounters {
    /// Prepares the connection without waiting for Redis.
    pub(super) fn connect(target: &RedisTarget) -> Result<Self, ThrottleUnavailable> {
        Ok(Self {
            link: RedisLink::connect(target).map_err(unavailable)?,
        })
    }

    pub(super) fn target(&self) -> &RedisTarget {
        self.link.target()
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        cmd: redis::Cmd,
    ) -> Result<T, ThrottleUnavailable> {
        self.link.query(&cmd).await.map_err(unavailable)
    }

    pub(super) async fn attempt(
        &self,
        limits: &Limits,
        client: ClientKey,
        email: EmailHash,
        now: u64,
    ) -> Result<Result<Reservation, Refused>, ThrottleUnavailable> {
        let first = limits.first_bucket(now);
        let mut eval = redis::cmd("EVAL");
        eval.arg(ATTEMPT)
            .arg(1 + 2 * BUCKETS)
            .arg(pair_key(client, email));
        for bucket in first..first + BUCKETS as u64 {
            eval.arg(client_key(client, bucket));
        }
        for bucket in first..first + BUCKETS as u64 {
            eval.arg(email_key(email, bucket));
        }
        eval.arg(now)
            .arg(BUCKETS)
            .arg(limits.bucket_ms())
            .arg(first)
            .arg(limits.client_ceiling)
            .arg(limits.attack_clients)
            .arg(limits.pair_free)
            .arg(limits.pair_free_under_attack)
            .arg(ms(limits.backoff_base))
            .arg(ms(limits.backoff_max))
            .arg(ms(limits.forget_short))
            .arg(ms(limits.forget_long));
        let reply: Vec<i64> = self.run(eval).await?;
        let number = |i: usize| {
            reply
                .get(i)
                .and_then(|&n| u64::try_from(n).ok())
                .ok_or_else(|| {
                    unavailable(format!(
                        "unexpected answer from the throttle script: {reply:?}"
                    ))
                })
        };
        let small = |i: usize| number(i).map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        match number(0)? {
            0 => Ok(Ok(Reservation {
                bucket: limits.current_bucket(now),
                failures: small(1)?,
                allowance: small(2)?,
                under_attack: number(3)? == 1,
                client_failures: small(4)?,
                new_pair: number(5)? == 1,
                placement: None,
            })),
            _ => Ok(Err(Refused {
                by: if number(1)? == 1 {
                    ThrottledBy::Pair
                } else {
                    ThrottledBy::Client
                },
                wait_ms: number(2)?,
                under_attack: number(3)? == 1,
            })),
        }
    }

    pub(super) async fn release(
        &self,
        client: ClientKey,
        email: EmailHash,
        reservation: &Reservation,
    ) -> Result<(), ThrottleUnavailable> {
        let mut eval = redis::cmd("EVAL");
        eval.arg(RELEASE)
            .arg(3)
            .arg(pair_key(client, email))
            .arg(client_key(client, reservation.bucket))
            .arg(email_key(email, reservation.bucket))
            .arg(u8::from(reservation.new_pair));
        self.run::<i64>(eval).await.map(|_| ())
    }
}

fn pair_key(client: ClientKey, email: EmailHash) -> String {
    format!("{KEY_PREFIX}pair:{client}:{email}")
}

fn client_key(client: ClientKey, bucket: u64) -> String {
    format!("{KEY_PREFIX}client:{client}:{bucket}")
}

fn email_key(email: EmailHash, bucket: u64) -> String {
    format!("{KEY_PREFIX}email:{email}:{bucket}")
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    #[test]
    fn keys_are_namespaced_and_never_hold_the_email() {
        let client = ClientKey::from("2001:db8:1:2::77".parse::<IpAddr>().unwrap());
        let email = EmailHash::of("Ada@Example.com");
        let key = pair_key(client, email);
        assert_eq!(
            key,
            format!("cookie-lab:throttle:pair:2001:db8:1:2::/64:{email}")
        );
        assert!(!key.to_lowercase().contains("ada"), "{key}");
        assert_eq!(
            client_key(ClientKey::Unknown, 7),
            "cookie-lab:throttle:client:unknown:7"
        );
        assert_eq!(
            email_key(email, 7),
            format!("cookie-lab:throttle:email:{email}:7")
        );
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_an_error_within_the_timeout() {
        // Port 1 on loopback: nothing listens there, so connects are refused.
        let target = RedisTarget::parse("redis://127.0.0.1:1/0").unwrap();
        let counters = RedisCounters::connect(&target).unwrap();
        let started = std::time::Instant::now();

        let answer = counters
            .attempt(
                &Limits::standard(),
                ClientKey::Unknown,
                EmailHash::of("a@x.org"),
                1_800_000_000_000,
            )
            .await;

        assert!(answer.is_err(), "{answer:?}");
        // Generous (5x the bound): a loaded 2-core CI machine runs this in
        // parallel with other tests. What matters is that it ends at all.
        assert!(started.elapsed() <= crate::redis_link::OPERATION_TIMEOUT * 5);
    }
}
