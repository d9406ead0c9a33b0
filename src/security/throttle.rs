//! Login throttling that slows password guessing without giving anyone a
//! way to lock other users out.
//!
//! The rules ([`Limits::standard`]):
//! - Failures are counted per (client, email) pair. A pair gets 5 free
//!   failures; after that each attempt waits 1 minute after the pair's last
//!   failure, doubling with each further failure up to 1 hour. A right
//!   password clears the pair.
//! - A client (an IPv4 address, an IPv6 /64, or "unknown": see
//!   [`ClientKey`]) may fail at most 100 times an hour, across all emails.
//! - An email that 10 clients started failing on within the hour is under
//!   attack: each pair on it gets 2 free failures instead of 5. A client
//!   that hasn't failed on it is not affected, so the owner with the right
//!   password gets in from anywhere else, whatever others guess.
//! - An attempt counts as a failure *before* the password is checked and is
//!   given back when the password was right, so that parallel requests can't
//!   all pass the check before the first failure is counted.
//!
//! The counters live in this process (`throttle/memory.rs`: bounded tables
//! that never drop an entry in backoff) or, with `--revocations redis://…`,
//! in that Redis, shared by every replica (`throttle/redis.rs`). A Redis that
//! can't be reached refuses logins with 503, as the revocation store does.
//! Each throttle event is logged with the client and a hash of the email,
//! never the email.

mod clock;
mod memory;
mod policy;
mod redis;

use std::fmt;
use std::time::Duration;

use thiserror::Error;
use xxhash_rust::xxh3::xxh3_64_with_seed;

pub use self::clock::{Clock, ManualClock};
pub use self::memory::Tracked;
pub use self::policy::Limits;
use self::policy::Refused;
use crate::config::{Config, RedisTarget, RevocationStore};
use crate::error::PageError;
pub use crate::security::proxy::ClientKey;

/// An email as the throttle knows it: 64 bits of XXH3 of the trimmed,
/// lower-cased address, shown as 16 hex digits. Logs and Redis keys carry
/// this, never the address. It lets an operator follow one email's events;
/// it doesn't hide an address from someone who guesses it and hashes it too.
///
/// Why a fast non-cryptographic hash (it was SHA-256, some 4,000
/// instructions a login, measured): the hash needs to be stable (every
/// replica and version must compute the same one for its Redis keys and for
/// the logs), not secret (it never was) nor collision resistant. An attacker
/// who made another address collide with a victim's would only share that
/// address's counters, which they get anyway by typing the real address:
/// throttling is per (client, email) pair, so a collision slows no one else
/// down and lets no guess through. The seed stays fixed forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EmailHash([u8; 8]);

/// XXH3's seed for email hashes: any constant, but never another one (see
/// [`EmailHash`]). "cl-thrtl" in ASCII, as SHA-256's prefix named the use.
const EMAIL_HASH_SEED: u64 = u64::from_be_bytes(*b"cl-thrtl");

/// Addresses up to this long (a valid one is at most 254 bytes) are
/// lower-cased on the stack; longer ones take the allocating path.
const EMAIL_HASH_STACK_BYTES: usize = 256;

impl EmailHash {
    pub fn of(email: &str) -> Self {
        let email = email.trim();
        let hash = if email.is_ascii() && email.len() <= EMAIL_HASH_STACK_BYTES {
            // For ASCII text, ASCII lower-casing is exactly what
            // `str::to_lowercase` does, without a String per login.
            let mut buffer = [0u8; EMAIL_HASH_STACK_BYTES];
            let lower = &mut buffer[..email.len()];
            lower.copy_from_slice(email.as_bytes());
            lower.make_ascii_lowercase();
            xxh3_64_with_seed(lower, EMAIL_HASH_SEED)
        } else {
            // Unicode lower-casing depends on context (a final sigma), so
            // it is left to the standard library as it was.
            xxh3_64_with_seed(email.to_lowercase().as_bytes(), EMAIL_HASH_SEED)
        };
        Self(hash.to_be_bytes())
    }
}

impl fmt::Display for EmailHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Hex by hand, written once: eight `{:02x}` writes cost ~2,300
        // instructions (measured), and a Redis login formats seven keys.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; 16];
        for (pair, byte) in hex.chunks_exact_mut(2).zip(self.0) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0x0f)];
        }
        f.write_str(std::str::from_utf8(&hex).map_err(|_| fmt::Error)?)
    }
}

/// Why a login attempt is refused for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// Until the attempt may be made again, in whole seconds (rounded up, so
    /// a client that waits exactly this long is let through).
    pub retry_after: Duration,
    /// Which limit was hit, for the page, the logs and the metrics.
    pub by: ThrottledBy,
    /// The email is being guessed from many clients, so its pairs have fewer
    /// free failures.
    pub under_attack: bool,
}

impl Throttled {
    /// Whose wrong passwords paused this login, for the 429 page.
    pub fn whose(&self) -> &'static str {
        match (self.by, self.under_attack) {
            (ThrottledBy::Pair, false) => "for this email address from your network address",
            (ThrottledBy::Pair, true) => {
                "for this email address from your network address (it is being guessed from many \
                 addresses, so fewer wrong passwords are allowed)"
            }
            (ThrottledBy::Client, _) => "from your network address, for all email addresses",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottledBy {
    /// This (client, email) pair is in backoff.
    Pair,
    /// The client is at its ceiling across all emails.
    Client,
}

impl ThrottledBy {
    pub const ALL: [Self; 2] = [Self::Pair, Self::Client];

    pub fn label(self) -> &'static str {
        match self {
            Self::Pair => "pair",
            Self::Client => "client",
        }
    }
}

/// The throttle's shared store can't be reached: logins can't be checked.
#[derive(Debug, Clone, Error)]
#[error("the login throttle's store is unavailable: {0}")]
pub struct ThrottleUnavailable(String);

impl ThrottleUnavailable {
    /// The 503 page, as when the revocation store is down: nobody is let in
    /// (and no guess is judged) until the counters can be read again.
    pub fn page(&self) -> PageError {
        PageError::throttle_unavailable(self)
    }
}

/// Why [`LoginThrottle::attempt`] gives no go-ahead.
#[derive(Debug, Clone)]
pub enum Refusal {
    Throttled(Throttled),
    Unavailable(ThrottleUnavailable),
}

/// What an allowed attempt counted, so that a right password can take it
/// back.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reservation {
    /// The bucket the client's (and the email's) count went to.
    bucket: u64,
    /// The pair's failures, this attempt included.
    failures: u32,
    /// The pair's free failures.
    allowance: u32,
    under_attack: bool,
    /// The client's failures in the window, this attempt included.
    client_failures: u32,
    /// The pair was new, so the email's count of failing clients went up.
    new_pair: bool,
    /// The memory store's note of where the counts went.
    placement: Option<memory::Placement>,
}

enum Store {
    // Boxed: three tables under a mutex dwarf a Redis handle.
    Memory(Box<memory::Tables>),
    Redis(redis::RedisCounters),
}

pub struct LoginThrottle {
    limits: Limits,
    clock: Clock,
    store: Store,
}

impl LoginThrottle {
    /// The counters in this process: for one server.
    pub fn in_memory(limits: Limits, clock: Clock) -> Self {
        Self {
            limits,
            clock,
            store: Store::Memory(Box::new(memory::Tables::new())),
        }
    }

    /// The counters in Redis, shared by replicas; connected lazily.
    pub fn in_redis(
        target: &RedisTarget,
        limits: Limits,
        clock: Clock,
    ) -> Result<Self, ThrottleUnavailable> {
        Ok(Self {
            limits,
            clock,
            store: Store::Redis(redis::RedisCounters::connect(target)?),
        })
    }

    /// The standard limits, in the Redis that holds revocations if there is
    /// one, else in memory.
    pub fn for_config(config: &Config, clock: Clock) -> Result<Self, ThrottleUnavailable> {
        match &config.revocations {
            RevocationStore::Sqlite => Ok(Self::in_memory(Limits::standard(), clock)),
            RevocationStore::Redis(target) => Self::in_redis(target, Limits::standard(), clock),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// For the start-up log.
    pub fn describe(&self) -> String {
        match &self.store {
            Store::Memory(_) => "memory (this process)".to_owned(),
            Store::Redis(counters) => format!("redis {}", counters.target()),
        }
    }

    /// Entries held in memory (`None` with Redis): for tests of the bound.
    pub fn tracked(&self) -> Option<Tracked> {
        match &self.store {
            Store::Memory(tables) => Some(tables.tracked()),
            Store::Redis(_) => None,
        }
    }

    /// Asks whether `client` may try a password for `email` now. If so, the
    /// attempt is already counted as a failure; say how it ended with
    /// [`Attempt::failed`] or [`Attempt::succeeded`].
    pub async fn attempt(&self, client: ClientKey, email: &str) -> Result<Attempt<'_>, Refusal> {
        let email = EmailHash::of(email);
        let now = self.clock.now_ms();
        let outcome = match &self.store {
            Store::Memory(tables) => tables.attempt(&self.limits, client, email, now),
            Store::Redis(counters) => counters
                .attempt(&self.limits, client, email, now)
                .await
                .map_err(Refusal::Unavailable)?,
        };
        match outcome {
            Ok(reservation) => Ok(Attempt {
                throttle: self,
                client,
                email,
                reservation,
            }),
            Err(Refused {
                by,
                wait_ms,
                under_attack,
            }) => {
                let throttled = Throttled {
                    retry_after: Duration::from_secs(wait_ms.div_ceil(1000).max(1)),
                    by,
                    under_attack,
                };
                tracing::warn!(
                    %client,
                    email = %email,
                    by = by.label(),
                    retry_after_s = throttled.retry_after.as_secs(),
                    under_attack,
                    "login throttled"
                );
                Err(Refusal::Throttled(throttled))
            }
        }
    }
}

/// An attempt the throttle let through, counted as a failure until the
/// password proves right.
#[must_use = "say how the attempt ended: failed() or succeeded()"]
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    client: ClientKey,
    email: EmailHash,
    reservation: Reservation,
}

impl Attempt<'_> {
    /// A wrong password: it stays counted.
    pub fn failed(self) {
        let r = self.reservation;
        let limits = &self.throttle.limits;
        if r.failures >= r.allowance {
            let wait = limits.delay_ms(r.failures, r.allowance) / 1000;
            tracing::warn!(
                client = %self.client,
                email = %self.email,
                failures = r.failures,
                client_failures = r.client_failures,
                under_attack = r.under_attack,
                wait_s = wait,
                "login failed: this client's attempts on this email now wait"
            );
        } else {
            tracing::info!(
                client = %self.client,
                email = %self.email,
                failures = r.failures,
                client_failures = r.client_failures,
                under_attack = r.under_attack,
                "login failed: counted"
            );
        }
        if r.client_failures == limits.client_ceiling {
            tracing::warn!(
                client = %self.client,
                ceiling = limits.client_ceiling,
                "login failed: this client reached its ceiling for all emails"
            );
        }
    }

    /// A right password: the pair's failures are forgotten and this attempt
    /// no longer counts against the client. If the store can't be reached
    /// to say so, the attempt simply stays counted.
    pub async fn succeeded(self) {
        let outcome = match &self.throttle.store {
            Store::Memory(tables) => {
                tables.release(self.client, self.email, &self.reservation);
                Ok(())
            }
            Store::Redis(counters) => {
                counters
                    .release(self.client, self.email, &self.reservation)
                    .await
            }
        };
        if let Err(err) = outcome {
            tracing::warn!(
                client = %self.client,
                email = %self.email,
                error = %err,
                "login succeeded but the throttle could not forget this attempt: it stays counted"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    const ALICE: ClientKey = ClientKey::V4(Ipv4Addr::new(10, 0, 0, 1));
    const BOB: ClientKey = ClientKey::V4(Ipv4Addr::new(10, 0, 0, 2));

    fn small(capacity: usize) -> Limits {
        Limits {
            capacity,
            ..Limits::standard()
        }
    }

    fn throttle(limits: Limits) -> (LoginThrottle, ManualClock) {
        let clock = ManualClock::starting_now();
        (LoginThrottle::in_memory(limits, clock.clock()), clock)
    }

    /// Client number `n`, in 172.16.0.0/12: never ALICE or BOB.
    fn v4(n: u32) -> ClientKey {
        ClientKey::V4(Ipv4Addr::from(0xac10_0000 + n))
    }

    /// One wrong password; panics if the attempt was refused.
    async fn fail(throttle: &LoginThrottle, client: ClientKey, email: &str) {
        match throttle.attempt(client, email).await {
            Ok(attempt) => attempt.failed(),
            Err(refusal) => panic!("{client} {email}: {refusal:?}"),
        }
    }

    async fn refused(
        throttle: &LoginThrottle,
        client: ClientKey,
        email: &str,
    ) -> Option<Throttled> {
        match throttle.attempt(client, email).await {
            Ok(attempt) => {
                // A probe, not a guess: give the count back.
                attempt.succeeded().await;
                None
            }
            Err(Refusal::Throttled(throttled)) => Some(throttled),
            Err(Refusal::Unavailable(err)) => panic!("{err}"),
        }
    }

    #[test]
    fn a_client_is_an_ipv4_address_or_an_ipv6_64() {
        let key = |s: &str| ClientKey::from(s.parse::<IpAddr>().unwrap());
        assert_eq!(
            key("2001:db8:1:2::1"),
            key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("2001:db8:1:2:3:4:5:6").to_string(), "2001:db8:1:2::/64");
        assert_eq!(key("::ffff:198.51.100.7"), key("198.51.100.7"));
        assert_eq!(key("::ffff:198.51.100.7").to_string(), "198.51.100.7");
        assert_ne!(key("198.51.100.7"), key("198.51.100.8"));
    }

    #[test]
    fn an_emails_hash_ignores_case_and_spaces_and_does_not_show_it() {
        let hash = EmailHash::of(" Ada@Example.COM ");
        assert_eq!(hash, EmailHash::of("ada@example.com"));
        assert_ne!(hash, EmailHash::of("ada@example.org"));
        let shown = hash.to_string();
        assert_eq!(shown.len(), 16);
        assert!(shown.bytes().all(|b| b.is_ascii_hexdigit()), "{shown}");
    }

    #[test]
    fn an_emails_hash_never_changes() {
        // Replicas of different versions share Redis keys, and operators
        // follow an email through old logs: the value is pinned. (The
        // reference XXH3, the C library, gives the same.)
        assert_eq!(
            EmailHash::of("ada@example.com").to_string(),
            "439ed52b0cf545eb"
        );
    }

    #[test]
    fn an_emails_hash_is_that_of_its_trimmed_unicode_lower_case() {
        // The stack path (short ASCII) and the allocating one (anything
        // else) must agree with the plain definition.
        let definition = |email: &str| {
            let lower = email.trim().to_lowercase();
            EmailHash(xxh3_64_with_seed(lower.as_bytes(), EMAIL_HASH_SEED).to_be_bytes())
        };
        let long = format!("{}@EXAMPLE.com", "A".repeat(300));
        let edge = format!("{}@X.ORG", "B".repeat(EMAIL_HASH_STACK_BYTES - 6));
        for email in [
            "ada@example.com",
            " Ada@Example.COM\t",
            "",
            " ÉLODIE@Exämple.ORG",
            "ΟΔΥΣ@x.gr",
            long.as_str(),
            edge.as_str(),
        ] {
            assert_eq!(EmailHash::of(email), definition(email), "{email:?}");
        }
        assert_eq!(
            EmailHash::of(" ÉLODIE@Exämple.ORG"),
            EmailHash::of("élodie@exämple.org")
        );
        // A capital sigma at the end of a word lower-cases to a final sigma.
        assert_eq!(EmailHash::of("ΟΔΥΣ@x.gr"), EmailHash::of("οδυς@x.gr"));
    }

    #[tokio::test]
    async fn a_pair_backs_off_exponentially_after_five_failures() {
        let (throttle, clock) = throttle(Limits::standard());
        for _ in 0..5 {
            fail(&throttle, ALICE, "a@x.org").await;
        }
        let mut waits = Vec::new();
        for _ in 0..4 {
            let throttled = refused(&throttle, ALICE, "a@x.org").await.unwrap();
            assert_eq!(throttled.by, ThrottledBy::Pair);
            waits.push(throttled.retry_after.as_secs());
            clock.advance(throttled.retry_after);
            fail(&throttle, ALICE, "a@x.org").await;
        }
        assert_eq!(waits, [60, 120, 240, 480]);
        // Another email from the same client, and the same email from
        // another client, are untouched.
        assert_eq!(refused(&throttle, ALICE, "b@x.org").await, None);
        assert_eq!(refused(&throttle, BOB, "a@x.org").await, None);
    }

    #[tokio::test]
    async fn parallel_attempts_are_counted_before_their_passwords_are_checked() {
        let (throttle, _clock) = throttle(Limits::standard());
        // Six requests in flight at once, none answered yet.
        let mut in_flight = Vec::new();
        for _ in 0..5 {
            in_flight.push(throttle.attempt(ALICE, "a@x.org").await.unwrap());
        }
        assert!(
            matches!(
                throttle.attempt(ALICE, "a@x.org").await,
                Err(Refusal::Throttled(_))
            ),
            "the sixth waits although no failure was reported yet"
        );
        for attempt in in_flight {
            attempt.failed();
        }
    }

    #[tokio::test]
    async fn a_right_password_clears_the_pair_and_gives_back_its_count() {
        let (throttle, _clock) = throttle(Limits {
            client_ceiling: 10,
            ..Limits::standard()
        });
        for _ in 0..4 {
            fail(&throttle, ALICE, "a@x.org").await;
        }
        for _ in 0..20 {
            // Right passwords: never count against the client's ceiling.
            throttle
                .attempt(ALICE, "a@x.org")
                .await
                .unwrap()
                .succeeded()
                .await;
        }
        for _ in 0..5 {
            fail(&throttle, ALICE, "a@x.org").await;
        }
        let throttled = refused(&throttle, ALICE, "a@x.org").await.unwrap();
        assert_eq!(throttled.by, ThrottledBy::Pair, "five free failures again");
        fail(&throttle, ALICE, "b@x.org").await;
        let throttled = refused(&throttle, ALICE, "c@x.org").await.unwrap();
        assert_eq!(
            throttled.by,
            ThrottledBy::Client,
            "the 4 + 5 + 1 failures still count against the client"
        );
    }

    #[tokio::test]
    async fn a_clients_ceiling_counts_every_email_and_lifts_as_the_window_slides() {
        let (throttle, clock) = throttle(Limits::standard());
        for i in 0..100 {
            fail(&throttle, ALICE, &format!("user{i}@x.org")).await;
        }
        let throttled = refused(&throttle, ALICE, "fresh@x.org").await.unwrap();
        assert_eq!(throttled.by, ThrottledBy::Client);
        assert!(throttled.retry_after <= Duration::from_secs(3600));
        assert_eq!(refused(&throttle, BOB, "fresh@x.org").await, None);
        clock.advance(throttled.retry_after);
        assert_eq!(refused(&throttle, ALICE, "fresh@x.org").await, None);
    }

    #[tokio::test]
    async fn an_email_under_attack_slows_only_the_clients_that_failed_on_it() {
        let (throttle, _clock) = throttle(Limits::standard());
        for i in 0..10 {
            fail(&throttle, v4(100 + i), "victim@x.org").await;
        }
        // Each attacker has one failure; under attack the second is the
        // last free one.
        fail(&throttle, v4(100), "victim@x.org").await;
        let throttled = refused(&throttle, v4(100), "victim@x.org").await.unwrap();
        assert!(throttled.under_attack);
        assert_eq!(throttled.by, ThrottledBy::Pair);
        // The owner, at a client with no failures, or with just one typo.
        assert_eq!(refused(&throttle, BOB, "victim@x.org").await, None);
        fail(&throttle, ALICE, "victim@x.org").await;
        assert_eq!(refused(&throttle, ALICE, "victim@x.org").await, None);
        // Other emails are not under attack.
        for _ in 0..4 {
            fail(&throttle, v4(100), "other@x.org").await;
        }
        assert_eq!(refused(&throttle, v4(100), "other@x.org").await, None);
    }

    #[tokio::test]
    async fn ten_thousand_failures_on_fresh_emails_do_not_free_a_locked_pair() {
        // A table far smaller than the flood, so it is flooded many times.
        let (throttle, _clock) = throttle(small(1024));
        for _ in 0..5 {
            fail(&throttle, ALICE, "victim@x.org").await;
        }
        assert!(refused(&throttle, ALICE, "victim@x.org").await.is_some());

        // 10,000 failures, each on a fresh email and from a fresh client:
        // every table is flooded ten times over.
        for i in 0..10_000u32 {
            fail(&throttle, v4(1000 + i), &format!("fresh{i}@x.org")).await;
        }

        let tracked = throttle.tracked().unwrap();
        assert!(tracked.pairs <= 1024, "{tracked:?}");
        assert!(
            tracked.clients <= 1024 && tracked.emails <= 1024,
            "{tracked:?}"
        );
        let still = refused(&throttle, ALICE, "victim@x.org").await;
        assert_eq!(still.map(|t| t.by), Some(ThrottledBy::Pair), "still locked");
    }

    #[tokio::test]
    async fn a_table_full_of_pairs_in_backoff_counts_a_new_pair_against_its_clients_ceiling_only() {
        let limits = Limits {
            capacity: 64,
            client_ceiling: 25,
            ..Limits::standard()
        };
        let (throttle, _clock) = throttle(limits);
        // Flood: 64 pairs in backoff (5 failures each), from 16 clients
        // (20 failures each, under their ceiling).
        for i in 0..64u32 {
            for _ in 0..5 {
                fail(&throttle, v4(i / 4), &format!("locked{i}@x.org")).await;
            }
        }
        assert_eq!(throttle.tracked().unwrap().pairs, 64);

        // A new client on a new email: the table has no room for the pair,
        // so only the client's ceiling (25) stops it, not the pair's 5.
        for n in 0..25 {
            assert_eq!(
                refused(&throttle, BOB, "new@x.org").await.map(|t| t.by),
                None,
                "attempt {n}"
            );
            fail(&throttle, BOB, "new@x.org").await;
        }
        assert_eq!(
            refused(&throttle, BOB, "new@x.org").await.map(|t| t.by),
            Some(ThrottledBy::Client)
        );
        // Nothing in backoff was dropped to make room.
        assert_eq!(throttle.tracked().unwrap().pairs, 64);
        for i in 0..64u32 {
            assert_eq!(
                refused(&throttle, v4(i / 4), &format!("locked{i}@x.org"))
                    .await
                    .map(|t| t.by),
                Some(ThrottledBy::Pair),
                "pair {i}"
            );
        }
    }

    #[tokio::test]
    async fn many_clients_past_the_tables_size_share_one_overflow_entry() {
        let limits = Limits {
            capacity: 8,
            client_ceiling: 3,
            ..Limits::standard()
        };
        let (throttle, _clock) = throttle(limits);
        // Fill the client table with clients at their ceiling.
        for c in 0..8 {
            for e in 0..3 {
                fail(&throttle, v4(c), &format!("u{c}-{e}@x.org")).await;
            }
        }
        // Newcomers don't fit: together they get one ceiling, not one each.
        for c in 100..103 {
            fail(&throttle, v4(c), "someone@x.org").await;
        }
        assert_eq!(
            refused(&throttle, v4(200), "else@x.org")
                .await
                .map(|t| t.by),
            Some(ThrottledBy::Client)
        );
        assert_eq!(throttle.tracked().unwrap().clients, 8);
    }
}
