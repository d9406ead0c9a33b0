//! The counters in this process's memory, for a single server: three
//! bounded tables (pairs, clients, emails).
//!
//! A full table makes room by dropping its least recently used entry that no
//! longer matters, and never one that still does: a pair in backoff, a
//! client at its ceiling, an email under attack. When only such entries are
//! left, a new pair is not stored, so its failures count against its
//! client's ceiling only; a new client or email shares one overflow entry
//! with every other that didn't fit, so those are judged together, more
//! strictly, rather than not at all.

use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};

use lru::LruCache;

use super::policy::{BUCKETS, Limits, PairState, Refused, Verdict, View};
use super::{ClientKey, EmailHash, Reservation};

/// How many least-recently-used entries one insertion looks at before it
/// gives up: bounds the work per request when a table is full of entries
/// that must stay.
const EVICTION_SCAN: usize = 16;
/// At most one "table full" warning this often.
const FULL_WARNING_EVERY_MS: u64 = 10_000;

pub(super) struct Tables {
    inner: Mutex<Inner>,
}

struct Inner {
    pairs: LruCache<(ClientKey, EmailHash), PairState>,
    clients: LruCache<ClientKey, Buckets>,
    client_overflow: Buckets,
    emails: LruCache<EmailHash, Buckets>,
    email_overflow: Buckets,
    next_full_warning_ms: u64,
}

/// Entries held, for tests of the memory bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    pub pairs: usize,
    pub clients: usize,
    pub emails: usize,
}

/// Where a count went, so that a right password can take it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Placement {
    pub(super) pair_stored: bool,
    pub(super) client_overflow: bool,
    pub(super) email_overflow: bool,
}

impl Tables {
    pub(super) fn new() -> Self {
        Self {
            inner: Mutex::new(Inner {
                pairs: LruCache::unbounded(),
                clients: LruCache::unbounded(),
                client_overflow: Buckets::default(),
                emails: LruCache::unbounded(),
                email_overflow: Buckets::default(),
                next_full_warning_ms: 0,
            }),
        }
    }

    /// Every update leaves the tables consistent (no step can panic half
    /// way), so a poisoned lock is used as is.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn tracked(&self) -> Tracked {
        let inner = self.lock();
        Tracked {
            pairs: inner.pairs.len(),
            clients: inner.clients.len(),
            emails: inner.emails.len(),
        }
    }

    /// Judges the attempt and, when it may go ahead, counts it as a failure.
    pub(super) fn attempt(
        &self,
        limits: &Limits,
        client: ClientKey,
        email: EmailHash,
        now: u64,
    ) -> Result<Reservation, Refused> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let capacity = limits.capacity;
        let first = limits.first_bucket(now);
        let pair_key = (client, email);
        let client_buckets = match inner.clients.peek(&client) {
            Some(buckets) => *buckets,
            None if inner.clients.len() < capacity => Buckets::default(),
            None => inner.client_overflow,
        };
        let email_buckets = match inner.emails.peek(&email) {
            Some(buckets) => *buckets,
            None if inner.emails.len() < capacity => Buckets::default(),
            None => inner.email_overflow,
        };
        let view = View {
            pair: inner.pairs.peek(&pair_key).copied().unwrap_or_default(),
            client: client_buckets.window(first),
            email_clients: email_buckets.total(first),
        };
        let (failures_before, allowance, under_attack, client_failures_before) =
            match limits.judge(&view, now) {
                Verdict::Refused(refused) => return Err(refused),
                Verdict::Allowed {
                    failures_before,
                    allowance,
                    under_attack,
                    client_failures_before,
                } => (
                    failures_before,
                    allowance,
                    under_attack,
                    client_failures_before,
                ),
            };

        let bucket = limits.current_bucket(now);
        let counted = PairState {
            failures: failures_before + 1,
            last_ms: now,
        };
        let pair_stored = if let Some(pair) = inner.pairs.get_mut(&pair_key) {
            *pair = counted;
            true
        } else if make_room(&mut inner.pairs, capacity, |pair| {
            !limits.pair_is_pinned(*pair, now)
        }) {
            inner.pairs.put(pair_key, counted);
            true
        } else {
            false
        };
        let client_overflow = !count_in(
            &mut inner.clients,
            &mut inner.client_overflow,
            client,
            bucket,
            capacity,
            |buckets| buckets.total(first) < limits.client_ceiling,
        );
        let new_pair = failures_before == 0;
        let email_overflow = new_pair
            && !count_in(
                &mut inner.emails,
                &mut inner.email_overflow,
                email,
                bucket,
                capacity,
                |buckets| buckets.total(first) < limits.attack_clients,
            );
        if (!pair_stored || client_overflow || email_overflow) && now >= inner.next_full_warning_ms
        {
            inner.next_full_warning_ms = now + FULL_WARNING_EVERY_MS;
            tracing::warn!(
                %client,
                email = %email,
                pair_stored,
                client_overflow,
                email_overflow,
                "login throttle tables full of entries that must stay: this pair counts against its \
                 client's ceiling only, and clients or emails that don't fit share one overflow entry"
            );
        }
        Ok(Reservation {
            bucket,
            failures: counted.failures,
            allowance,
            under_attack,
            client_failures: client_failures_before + 1,
            new_pair,
            placement: Some(Placement {
                pair_stored,
                client_overflow,
                email_overflow,
            }),
        })
    }

    /// The password was right: forget the pair and take back the counts.
    pub(super) fn release(&self, client: ClientKey, email: EmailHash, reservation: &Reservation) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        // Forgotten by zeroing rather than removing: a pair with no failures
        // judges exactly as an absent one, is evictable like one, and keeps
        // its node, so the owner's next login doesn't allocate another.
        if let Some(pair) = inner.pairs.peek_mut(&(client, email)) {
            *pair = PairState::default();
        }
        let placement = reservation.placement.unwrap_or(Placement {
            pair_stored: true,
            client_overflow: false,
            email_overflow: false,
        });
        uncount_in(
            &mut inner.clients,
            &mut inner.client_overflow,
            client,
            reservation.bucket,
            placement.client_overflow,
        );
        if reservation.new_pair {
            uncount_in(
                &mut inner.emails,
                &mut inner.email_overflow,
                email,
                reservation.bucket,
                placement.email_overflow,
            );
        }
    }
}

/// Counts one in `key`'s entry, made if needed; in `overflow` when the table
/// has no room. Says whether the count went to the table.
fn count_in<K: Hash + Eq + Copy>(
    table: &mut LruCache<K, Buckets>,
    overflow: &mut Buckets,
    key: K,
    bucket: u64,
    capacity: usize,
    evictable: impl Fn(&Buckets) -> bool,
) -> bool {
    if let Some(buckets) = table.get_mut(&key) {
        buckets.add(bucket);
        return true;
    }
    if make_room(table, capacity, evictable) {
        let mut buckets = Buckets::default();
        buckets.add(bucket);
        table.put(key, buckets);
        true
    } else {
        overflow.add(bucket);
        false
    }
}

fn uncount_in<K: Hash + Eq>(
    table: &mut LruCache<K, Buckets>,
    overflow: &mut Buckets,
    key: K,
    bucket: u64,
    in_overflow: bool,
) {
    if in_overflow {
        overflow.remove(bucket);
    } else if let Some(buckets) = table.peek_mut(&key) {
        buckets.remove(bucket);
    }
}

/// Whether `table` can take one more entry, after dropping its least
/// recently used entry that `evictable` allows. Entries that must stay are
/// moved to the front on the way, so the next search starts elsewhere.
fn make_room<K: Hash + Eq + Copy, V>(
    table: &mut LruCache<K, V>,
    capacity: usize,
    evictable: impl Fn(&V) -> bool,
) -> bool {
    if table.len() < capacity {
        return true;
    }
    for _ in 0..EVICTION_SCAN {
        let Some((&key, value)) = table.peek_lru() else {
            return capacity > 0;
        };
        if evictable(value) {
            table.pop(&key);
            return true;
        }
        table.promote(&key);
    }
    false
}

/// Counts per bucket of the window: slot `bucket % BUCKETS` holds that
/// bucket's count while it is in the window.
#[derive(Debug, Clone, Copy, Default)]
struct Buckets([(u64, u32); BUCKETS]);

impl Buckets {
    fn count(&self, bucket: u64) -> u32 {
        let (held, count) = self.0[slot(bucket)];
        if held == bucket { count } else { 0 }
    }

    /// Counts of the window starting at `first`, oldest first.
    fn window(&self, first: u64) -> [u32; BUCKETS] {
        let mut counts = [0; BUCKETS];
        for (i, count) in (0u64..).zip(counts.iter_mut()) {
            *count = self.count(first + i);
        }
        counts
    }

    fn total(&self, first: u64) -> u32 {
        self.window(first).iter().sum()
    }

    fn add(&mut self, bucket: u64) {
        let entry = &mut self.0[slot(bucket)];
        if entry.0 != bucket {
            *entry = (bucket, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }

    fn remove(&mut self, bucket: u64) {
        let entry = &mut self.0[slot(bucket)];
        if entry.0 == bucket {
            entry.1 = entry.1.saturating_sub(1);
        }
    }
}

fn slot(bucket: u64) -> usize {
    // The remainder is below BUCKETS, so it fits.
    usize::try_from(bucket % BUCKETS as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_count_within_the_window_only() {
        let mut buckets = Buckets::default();
        buckets.add(100);
        buckets.add(100);
        buckets.add(103);
        assert_eq!(buckets.window(100), [2, 0, 0, 1, 0, 0]);
        assert_eq!(buckets.total(101), 1, "bucket 100 left the window");
        buckets.add(106); // reuses bucket 100's slot
        assert_eq!(buckets.count(100), 0);
        assert_eq!(buckets.total(101), 2);
        buckets.remove(106);
        buckets.remove(106);
        assert_eq!(buckets.count(106), 0, "never below zero");
    }

    #[test]
    fn a_full_table_drops_only_what_may_go() {
        let mut table: LruCache<u32, bool> = LruCache::unbounded();
        for key in 0..4 {
            table.put(key, key == 2); // only 2 may go
        }
        assert!(make_room(&mut table, 4, |may_go| *may_go));
        assert_eq!(table.len(), 3);
        assert!(!table.contains(&2));
        table.put(9, false);
        assert!(!make_room(&mut table, 4, |may_go| *may_go));
        assert_eq!(table.len(), 4, "nothing that must stay was dropped");
    }
}
