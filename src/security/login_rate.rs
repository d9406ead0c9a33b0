//! `--login-rate`: how many sessions one client, and one email, may create
//! per minute. The demo password is public, so without it one client can
//! mint sessions (and, logging each out, revocations) as fast as it can
//! send requests: memory and disk grow with every one.
//!
//! GCRA from the governor crate: a burst of N, then one every 60/N s. The
//! tables forget keys once their limit has fully recovered (see
//! [`LoginRate::forget_idle`]), so they hold only recent creators.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use super::proxy::ClientKey;
use super::throttle::EmailHash;

type Limiter<K, C> = RateLimiter<K, DashMapStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// Session creation limits per client and per email; `None` when off.
pub struct LoginRate<C: Clock = DefaultClock> {
    limits: Option<Limits<C>>,
}

struct Limits<C: Clock> {
    clock: C,
    by_client: Limiter<ClientKey, C>,
    /// Keyed by the throttle's hash of the trimmed, lower-cased address:
    /// no String per check, 8 bytes a key, and the address isn't held. Two
    /// addresses with one hash would share a limit, which lets nobody do
    /// more than the real address already allows (see [`EmailHash`]).
    by_email: Limiter<EmailHash, C>,
}

/// Too many sessions created: when the next may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    pub retry_after: Duration,
}

impl LoginRate<DefaultClock> {
    /// `per_minute` sessions per client and per email; 0 turns it off.
    pub fn new(per_minute: u32) -> Self {
        Self::with_clock(per_minute, DefaultClock::default())
    }
}

impl<C: Clock + Clone> LoginRate<C> {
    pub fn with_clock(per_minute: u32, clock: C) -> Self {
        let limits = NonZeroU32::new(per_minute).map(|n| {
            let quota = Quota::per_minute(n);
            Limits {
                by_client: RateLimiter::dashmap_with_clock(quota, clock.clone()),
                by_email: RateLimiter::dashmap_with_clock(quota, clock.clone()),
                clock,
            }
        });
        Self { limits }
    }

    /// Takes one session from the client's and the email's allowance, or
    /// says how long to wait. A refusal by one takes nothing from the other.
    pub fn check(&self, client: ClientKey, email: &str) -> Result<(), RateLimited> {
        let Some(limits) = &self.limits else {
            return Ok(());
        };
        let email = EmailHash::of(email);
        let now = limits.clock.now();
        if let Err(not_until) = limits.by_client.check_key(&client) {
            return Err(RateLimited {
                retry_after: not_until.wait_time_from(now),
            });
        }
        limits
            .by_email
            .check_key(&email)
            .map_err(|not_until| RateLimited {
                retry_after: not_until.wait_time_from(now),
            })
    }

    /// Drops the keys whose allowance is full again: call it now and then.
    pub fn forget_idle(&self) {
        if let Some(limits) = &self.limits {
            for table in [&limits.by_client as &dyn Forget, &limits.by_email] {
                table.forget();
            }
        }
    }

    /// Keys held, for tests of the memory bound.
    pub fn tracked(&self) -> usize {
        self.limits
            .as_ref()
            .map_or(0, |l| l.by_client.len() + l.by_email.len())
    }
}

/// `retain_recent` and `shrink_to_fit` for either table.
trait Forget {
    fn forget(&self);
}

impl<K: Hash + Eq + Clone, C: Clock> Forget for Limiter<K, C> {
    fn forget(&self) {
        self.retain_recent();
        self.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use governor::clock::FakeRelativeClock;

    use super::*;

    const ALICE: ClientKey = ClientKey::V4(Ipv4Addr::new(10, 0, 0, 1));
    const BOB: ClientKey = ClientKey::V4(Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn a_burst_of_n_then_one_every_60_over_n_seconds() {
        let clock = FakeRelativeClock::default();
        let rate = LoginRate::with_clock(30, clock.clone());
        for i in 0..30 {
            assert_eq!(rate.check(ALICE, &format!("u{i}@x.org")), Ok(()), "{i}");
        }
        let refused = rate.check(ALICE, "another@x.org").unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_secs(2));
        assert_eq!(rate.check(BOB, "bob@x.org"), Ok(()), "other clients go on");
        clock.advance(Duration::from_secs(2));
        assert_eq!(rate.check(ALICE, "another@x.org"), Ok(()));
    }

    #[test]
    fn one_email_from_many_clients_is_limited_too() {
        let clock = FakeRelativeClock::default();
        let rate = LoginRate::with_clock(3, clock);
        for i in 0..3 {
            let client = ClientKey::V4(Ipv4Addr::new(10, 1, 0, i));
            assert_eq!(rate.check(client, "Target@x.org"), Ok(()));
        }
        assert!(rate.check(BOB, " target@X.ORG").is_err());
    }

    #[test]
    fn zero_turns_it_off() {
        let rate = LoginRate::new(0);
        for _ in 0..1000 {
            assert_eq!(rate.check(ALICE, "a@x.org"), Ok(()));
        }
        assert_eq!(rate.tracked(), 0);
    }

    #[test]
    fn recovered_keys_are_forgotten() {
        let clock = FakeRelativeClock::default();
        let rate = LoginRate::with_clock(30, clock.clone());
        for i in 0..1000u32 {
            let client = ClientKey::from(IpAddr::from(i.to_be_bytes()));
            let _ = rate.check(client, &format!("u{i}@x.org"));
        }
        assert_eq!(rate.tracked(), 2000);
        clock.advance(Duration::from_secs(60));
        rate.forget_idle();
        assert_eq!(rate.tracked(), 0);
    }
}
