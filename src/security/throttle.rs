//! Login throttling: after `limit` failed logins within `window`, from one
//! client address or for one email, further attempts get 429 until the
//! oldest failure leaves the window.
//!
//! Memory is bounded: each table is an LRU of at most `capacity` keys, and a
//! key holds at most `limit` timestamps. A flood of distinct addresses or
//! emails evicts the least recently seen entries instead of growing.

use std::collections::VecDeque;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use lru::LruCache;

pub struct LoginThrottle {
    limit: usize,
    window: Duration,
    by_client: Mutex<LruCache<IpAddr, VecDeque<Instant>>>,
    by_email: Mutex<LruCache<String, VecDeque<Instant>>>,
}

/// Why a login attempt is refused for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// Until the attempt may be made again.
    pub retry_after: Duration,
    /// Which limit was hit, for logs and metrics.
    pub by: ThrottledBy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottledBy {
    Client,
    Email,
}

impl ThrottledBy {
    pub fn label(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Email => "email",
        }
    }
}

impl LoginThrottle {
    /// The defaults: 5 failures in 5 minutes, 10 000 keys per table.
    pub fn standard() -> Self {
        Self::new(5, Duration::from_secs(300), 10_000)
    }

    pub fn new(limit: usize, window: Duration, capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            limit: limit.max(1),
            window,
            by_client: Mutex::new(LruCache::new(capacity)),
            by_email: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// Refuses the attempt when either the client or the email is over the
    /// limit; the longer wait wins.
    pub fn check(&self, client: IpAddr, email: &str, now: Instant) -> Result<(), Throttled> {
        let client_wait = wait(&self.by_client, &client, self.limit, self.window, now)
            .map(|w| (w, ThrottledBy::Client));
        let email_wait = wait(
            &self.by_email,
            &email_key(email),
            self.limit,
            self.window,
            now,
        )
        .map(|w| (w, ThrottledBy::Email));
        match client_wait
            .into_iter()
            .chain(email_wait)
            .max_by_key(|(w, _)| *w)
        {
            Some((retry_after, by)) => Err(Throttled { retry_after, by }),
            None => Ok(()),
        }
    }

    pub fn record_failure(&self, client: IpAddr, email: &str, now: Instant) {
        record(&self.by_client, client, self.limit, self.window, now);
        record(
            &self.by_email,
            email_key(email),
            self.limit,
            self.window,
            now,
        );
    }

    /// A successful login clears the email's failures (not the client's: one
    /// good password doesn't excuse guesses at other accounts).
    pub fn record_success(&self, email: &str) {
        lock(&self.by_email).pop(&email_key(email));
    }

    /// Keys held, for tests of the memory bound.
    pub fn tracked(&self) -> (usize, usize) {
        (lock(&self.by_client).len(), lock(&self.by_email).len())
    }
}

fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The throttle's state stays consistent even if a holder panicked (every
/// update is a single push/pop), so a poisoned lock is used as is.
fn lock<K: Hash + Eq>(
    table: &Mutex<LruCache<K, VecDeque<Instant>>>,
) -> std::sync::MutexGuard<'_, LruCache<K, VecDeque<Instant>>> {
    table.lock().unwrap_or_else(PoisonError::into_inner)
}

fn wait<K: Hash + Eq>(
    table: &Mutex<LruCache<K, VecDeque<Instant>>>,
    key: &K,
    limit: usize,
    window: Duration,
    now: Instant,
) -> Option<Duration> {
    let mut table = lock(table);
    let failures = table.peek_mut(key)?;
    forget_old(failures, window, now);
    if failures.len() < limit {
        return None;
    }
    let oldest = *failures.front()?;
    Some(window.saturating_sub(now.saturating_duration_since(oldest)))
}

fn record<K: Hash + Eq>(
    table: &Mutex<LruCache<K, VecDeque<Instant>>>,
    key: K,
    limit: usize,
    window: Duration,
    now: Instant,
) {
    let mut table = lock(table);
    let failures = table.get_or_insert_mut(key, VecDeque::new);
    forget_old(failures, window, now);
    failures.push_back(now);
    while failures.len() > limit {
        failures.pop_front();
    }
}

fn forget_old(failures: &mut VecDeque<Instant>, window: Duration, now: Instant) {
    while failures
        .front()
        .is_some_and(|&at| now.saturating_duration_since(at) >= window)
    {
        failures.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const ALICE: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    const BOB: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

    fn fail(throttle: &LoginThrottle, n: usize, client: IpAddr, email: &str, at: Instant) {
        for _ in 0..n {
            throttle.record_failure(client, email, at);
        }
    }

    #[test]
    fn the_sixth_attempt_after_five_failures_is_refused_until_the_window_passes() {
        let throttle = LoginThrottle::new(5, Duration::from_secs(300), 100);
        let t0 = Instant::now();
        fail(&throttle, 4, ALICE, "a@x.org", t0);
        assert_eq!(throttle.check(ALICE, "a@x.org", t0), Ok(()));
        fail(&throttle, 1, ALICE, "a@x.org", t0 + Duration::from_secs(10));
        let refused = throttle
            .check(ALICE, "a@x.org", t0 + Duration::from_secs(20))
            .unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_secs(280));
        assert_eq!(
            throttle.check(ALICE, "a@x.org", t0 + Duration::from_secs(300)),
            Ok(()),
            "the oldest failure left the window"
        );
    }

    #[test]
    fn one_email_guessed_from_many_addresses_is_throttled() {
        let throttle = LoginThrottle::new(5, Duration::from_secs(300), 100);
        let t0 = Instant::now();
        for i in 0..5 {
            throttle.record_failure(IpAddr::V4(Ipv4Addr::new(10, 1, 0, i)), "Target@x.org", t0);
        }
        let refused = throttle.check(BOB, "target@X.org ", t0).unwrap_err();
        assert_eq!(refused.by, ThrottledBy::Email);
    }

    #[test]
    fn one_address_guessing_many_emails_is_throttled() {
        let throttle = LoginThrottle::new(5, Duration::from_secs(300), 100);
        let t0 = Instant::now();
        for i in 0..5 {
            throttle.record_failure(ALICE, &format!("user{i}@x.org"), t0);
        }
        assert_eq!(
            throttle.check(ALICE, "fresh@x.org", t0).unwrap_err().by,
            ThrottledBy::Client
        );
        assert_eq!(throttle.check(BOB, "fresh@x.org", t0), Ok(()));
    }

    #[test]
    fn success_clears_the_emails_failures_but_not_the_clients() {
        let throttle = LoginThrottle::new(5, Duration::from_secs(300), 100);
        let t0 = Instant::now();
        fail(&throttle, 4, ALICE, "a@x.org", t0);
        throttle.record_success("a@x.org");
        fail(&throttle, 1, BOB, "a@x.org", t0);
        assert_eq!(throttle.check(BOB, "a@x.org", t0), Ok(()));
        fail(&throttle, 1, ALICE, "b@x.org", t0);
        assert_eq!(
            throttle.check(ALICE, "c@x.org", t0).unwrap_err().by,
            ThrottledBy::Client
        );
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_distinct_keys() {
        let throttle = LoginThrottle::new(5, Duration::from_secs(300), 1000);
        let t0 = Instant::now();
        for i in 0..50_000u32 {
            throttle.record_failure(IpAddr::from(i.to_be_bytes()), &format!("u{i}@x.org"), t0);
        }
        assert_eq!(throttle.tracked(), (1000, 1000));
    }
}
