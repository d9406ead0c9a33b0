//! The rules as numbers, and the verdict on one attempt given what the
//! store holds. The memory store calls [`Limits::judge`]; the Redis store's
//! Lua script (`redis.rs`) is the same arithmetic, run inside Redis so that
//! judging and counting are one atomic step. `tests/api/throttle.rs` runs one
//! script of attempts through both and checks they agree.

use std::time::Duration;

use super::ThrottledBy;

/// The sliding windows (a client's failures, an email's failing clients)
/// are this many buckets, the current one included.
pub(super) const BUCKETS: usize = 6;

/// How hard the throttle is. [`Limits::standard`] is what the server uses;
/// tests shrink the numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Failures a (client, email) pair may make before backoff starts.
    pub pair_free: u32,
    /// The same while the email is under attack from many clients.
    pub pair_free_under_attack: u32,
    /// The wait after the first failure past the free ones; each further
    /// failure doubles it...
    pub backoff_base: Duration,
    /// ...up to this.
    pub backoff_max: Duration,
    /// A pair that never reached backoff is forgotten this long after its
    /// last failure...
    pub forget_short: Duration,
    /// ...one that did, this long.
    pub forget_long: Duration,
    /// Failures one client may make within the window, across all emails.
    pub client_ceiling: u32,
    /// Clients that started failing on one email within the window that
    /// make it "under attack".
    pub attack_clients: u32,
    /// One bucket of the windows: each window is six of them.
    pub bucket: Duration,
    /// The memory store's size: entries per table (pairs, clients, emails).
    pub capacity: usize,
}

impl Limits {
    /// 5 free failures per (client, email), then 1 min, 2 min, 4 min ... up
    /// to 1 h between attempts; 100 failures per client per hour; an email
    /// 10 clients fail on within the hour leaves each of them 2 free
    /// failures. Without Redis, 32,768 entries per table: 16 MB with all
    /// three full (measured, debug build).
    pub fn standard() -> Self {
        Self {
            pair_free: 5,
            pair_free_under_attack: 2,
            backoff_base: Duration::from_secs(60),
            backoff_max: Duration::from_secs(3600),
            forget_short: Duration::from_secs(3600),
            forget_long: Duration::from_secs(24 * 3600),
            client_ceiling: 100,
            attack_clients: 10,
            bucket: Duration::from_secs(600),
            capacity: 32_768,
        }
    }

    /// The window's length.
    pub fn window(&self) -> Duration {
        self.bucket.saturating_mul(BUCKETS as u32)
    }

    pub(super) fn bucket_ms(&self) -> u64 {
        ms(self.bucket).max(1)
    }

    pub(super) fn current_bucket(&self, now: u64) -> u64 {
        now / self.bucket_ms()
    }

    /// The window's oldest bucket. (Near the epoch it would start before
    /// bucket 0; real clocks are decades past that.)
    pub(super) fn first_bucket(&self, now: u64) -> u64 {
        self.current_bucket(now).saturating_sub(BUCKETS as u64 - 1)
    }

    pub(super) fn allowance(&self, under_attack: bool) -> u32 {
        if under_attack {
            self.pair_free_under_attack
        } else {
            self.pair_free
        }
    }

    /// How long a pair with `failures` is remembered after its last one.
    pub(super) fn forget_ms(&self, failures: u32) -> u64 {
        if failures >= self.pair_free {
            ms(self.forget_long)
        } else {
            ms(self.forget_short)
        }
    }

    /// The wait after the last failure before a pair with `failures` may try
    /// again: none within the allowance, then doubling up to the maximum.
    pub(super) fn delay_ms(&self, failures: u32, allowance: u32) -> u64 {
        let Some(doublings) = failures.checked_sub(allowance) else {
            return 0;
        };
        let max = ms(self.backoff_max);
        1u64.checked_shl(doublings)
            .and_then(|factor| ms(self.backoff_base).checked_mul(factor))
            .map_or(max, |delay| delay.min(max))
    }

    /// The pair's failures that still count at `now`.
    pub(super) fn remembered(&self, pair: PairState, now: u64) -> u32 {
        if pair.failures > 0 && now.saturating_sub(pair.last_ms) >= self.forget_ms(pair.failures) {
            0
        } else {
            pair.failures
        }
    }

    /// Whether a pair must stay in a bounded table: it reached backoff (and
    /// is not forgotten yet), or it waits now even under the stricter
    /// allowance an attack brings.
    pub(super) fn pair_is_pinned(&self, pair: PairState, now: u64) -> bool {
        let failures = self.remembered(pair, now);
        failures >= self.pair_free
            || (failures > 0
                && now
                    < pair
                        .last_ms
                        .saturating_add(self.delay_ms(failures, self.pair_free_under_attack)))
    }

    /// The verdict on an attempt, given what the store holds at `now`.
    pub(super) fn judge(&self, view: &View, now: u64) -> Verdict {
        let client_total: u32 = view.client.iter().sum();
        let mut client_wait = 0;
        if client_total >= self.client_ceiling {
            // Wait until enough of the oldest buckets have left the window.
            let first = self.first_bucket(now);
            let mut left = client_total;
            for (i, count) in (0u64..).zip(view.client) {
                left -= count;
                if left < self.client_ceiling {
                    client_wait = (first + i + BUCKETS as u64) * self.bucket_ms() - now;
                    break;
                }
            }
        }
        let under_attack = view.email_clients >= self.attack_clients;
        let allowance = self.allowance(under_attack);
        let failures = self.remembered(view.pair, now);
        let pair_wait = (view.pair.last_ms + self.delay_ms(failures, allowance))
            .saturating_sub(now)
            * u64::from(failures >= allowance);
        if pair_wait == 0 && client_wait == 0 {
            return Verdict::Allowed {
                failures_before: failures,
                allowance,
                under_attack,
                client_failures_before: client_total,
            };
        }
        let (by, wait_ms) = if pair_wait >= client_wait {
            (ThrottledBy::Pair, pair_wait)
        } else {
            (ThrottledBy::Client, client_wait)
        };
        Verdict::Refused(Refused {
            by,
            wait_ms,
            under_attack,
        })
    }
}

pub(super) fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// One (client, email) pair's failures and the time of the last one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct PairState {
    pub(super) failures: u32,
    pub(super) last_ms: u64,
}

/// What the store holds for one attempt.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct View {
    pub(super) pair: PairState,
    /// The client's failures per bucket of the window, oldest first.
    pub(super) client: [u32; BUCKETS],
    /// Clients that started failing on the email within the window.
    pub(super) email_clients: u32,
}

/// An attempt that must wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Refused {
    pub(super) by: ThrottledBy,
    pub(super) wait_ms: u64,
    pub(super) under_attack: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Refused(Refused),
    Allowed {
        /// The pair's failures still remembered, before this attempt.
        failures_before: u32,
        /// Its free failures, given whether the email is under attack.
        allowance: u32,
        under_attack: bool,
        client_failures_before: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_800_000_000_000;

    fn pair(failures: u32, last_ms: u64) -> View {
        View {
            pair: PairState { failures, last_ms },
            ..View::default()
        }
    }

    #[test]
    fn backoff_doubles_from_one_minute_to_an_hour() {
        let limits = Limits::standard();
        let minutes: Vec<u64> = (4..=13)
            .map(|failures| limits.delay_ms(failures, 5) / 60_000)
            .collect();
        assert_eq!(minutes, [0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(limits.delay_ms(u32::MAX, 0), 3_600_000, "no overflow");
        assert_eq!(limits.delay_ms(2, 2), 60_000, "under attack: after 2");
    }

    #[test]
    fn a_pair_waits_after_its_free_failures_and_is_forgotten_later() {
        let limits = Limits::standard();
        assert!(matches!(
            limits.judge(&pair(4, T0), T0),
            Verdict::Allowed {
                failures_before: 4,
                ..
            }
        ));
        assert_eq!(
            limits.judge(&pair(5, T0), T0 + 20_000),
            Verdict::Refused(Refused {
                by: ThrottledBy::Pair,
                wait_ms: 40_000,
                under_attack: false
            })
        );
        assert!(matches!(
            limits.judge(&pair(5, T0), T0 + 60_000),
            Verdict::Allowed {
                failures_before: 5,
                ..
            }
        ));
        // A few typos are forgotten after an hour, a backoff after a day.
        assert_eq!(
            limits.remembered(
                PairState {
                    failures: 4,
                    last_ms: T0
                },
                T0 + 3_600_000
            ),
            0
        );
        assert_eq!(
            limits.remembered(
                PairState {
                    failures: 9,
                    last_ms: T0
                },
                T0 + 3_600_000
            ),
            9
        );
        assert_eq!(
            limits.remembered(
                PairState {
                    failures: 9,
                    last_ms: T0
                },
                T0 + 86_400_000
            ),
            0
        );
    }

    #[test]
    fn under_attack_a_pair_gets_two_free_failures_and_a_fresh_one_is_untouched() {
        let limits = Limits::standard();
        let attacked = |failures| View {
            pair: PairState {
                failures,
                last_ms: T0,
            },
            email_clients: 10,
            ..View::default()
        };
        assert!(matches!(
            limits.judge(&attacked(0), T0),
            Verdict::Allowed {
                under_attack: true,
                allowance: 2,
                ..
            }
        ));
        assert!(matches!(
            limits.judge(&attacked(1), T0),
            Verdict::Allowed { .. }
        ));
        assert_eq!(
            limits.judge(&attacked(2), T0),
            Verdict::Refused(Refused {
                by: ThrottledBy::Pair,
                wait_ms: 60_000,
                under_attack: true
            })
        );
    }

    #[test]
    fn the_client_ceiling_waits_for_its_oldest_failures_to_leave_the_window() {
        let limits = Limits::standard();
        let now = T0 - T0 % 600_000 + 123_000; // 123 s into a bucket
        let mut view = View {
            client: [40, 0, 30, 0, 0, 30],
            ..View::default()
        };
        assert_eq!(
            limits.judge(&view, now),
            Verdict::Refused(Refused {
                by: ThrottledBy::Client,
                // The oldest bucket (40) leaves 600 - 123 s from now.
                wait_ms: 477_000,
                under_attack: false
            })
        );
        view.client = [0, 0, 0, 0, 0, 100];
        assert!(matches!(
            limits.judge(&view, now),
            Verdict::Refused(Refused { by: ThrottledBy::Client, wait_ms, .. }) if wait_ms == 5 * 600_000 + 477_000
        ));
        view.client = [0, 0, 0, 0, 0, 99];
        assert!(matches!(limits.judge(&view, now), Verdict::Allowed { .. }));
    }

    #[test]
    fn the_longer_wait_is_the_answer() {
        let limits = Limits::standard();
        let mut view = pair(12, T0);
        view.client = [0, 0, 0, 0, 0, 100];
        assert!(matches!(
            limits.judge(&view, T0),
            Verdict::Refused(Refused {
                by: ThrottledBy::Pair,
                wait_ms: 3_600_000,
                ..
            })
        ));
    }
}
