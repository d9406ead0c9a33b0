//! The throttle's time: the system clock, or one that tests move by hand so
//! that no test waits out a backoff.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch. Wall-clock time rather than
/// `Instant`, because replicas sharing Redis compare each other's times.
#[derive(Clone, Default)]
pub struct Clock(Option<Arc<AtomicU64>>);

impl Clock {
    pub fn system() -> Self {
        Self(None)
    }

    pub fn now_ms(&self) -> u64 {
        match &self.0 {
            None => unix_ms(SystemTime::now()),
            Some(manual) => manual.load(Ordering::SeqCst),
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("Clock::system"),
            Some(manual) => write!(f, "Clock::manual({})", manual.load(Ordering::SeqCst)),
        }
    }
}

/// A clock that only moves when told to: for tests.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// Starts at the real time, so that Redis keys written under it get
    /// sensible expiry times.
    pub fn starting_now() -> Self {
        Self(Arc::new(AtomicU64::new(unix_ms(SystemTime::now()))))
    }

    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.0.fetch_add(by, Ordering::SeqCst);
    }

    /// The clock to hand to the throttle.
    pub fn clock(&self) -> Clock {
        Clock(Some(Arc::clone(&self.0)))
    }
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let manual = ManualClock::starting_now();
        let clock = manual.clock();
        let start = clock.now_ms();
        assert!(start > 1_700_000_000_000, "starts at the real time");
        assert_eq!(clock.now_ms(), start);
        manual.advance(Duration::from_secs(90));
        assert_eq!(clock.now_ms(), start + 90_000);
    }
}
