//! Runs in this process: a map, and the ids in the order they were made,
//! which is the order they expire and the order they are evicted in (so a
//! queue does what an LRU would, without reordering on reads).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

use super::{Bounds, MAX_RUN_BYTES, StoreUnavailable};
use crate::lab::run::{Run, RunId, Update};

pub struct MemoryRuns {
    bounds: Bounds,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    runs: HashMap<RunId, Entry>,
    /// Oldest first.
    order: VecDeque<(RunId, Instant)>,
    bytes: usize,
}

struct Entry {
    run: Run,
    bytes: usize,
}

/// What a run costs: its serialised size (what Redis would hold), plus
/// the id twice (map key and queue).
fn cost(run: &Run) -> usize {
    serde_json::to_vec(run).map_or(MAX_RUN_BYTES, |json| json.len()) + 2 * run.id.as_str().len()
}

impl MemoryRuns {
    pub fn new(bounds: Bounds) -> Self {
        Self {
            bounds,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Nothing here panics while holding the lock, and if it did the map
        // would still be whole: use it.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn create(&self, run: &Run, now: Instant) -> Result<(), StoreUnavailable> {
        let bytes = cost(run);
        if bytes > MAX_RUN_BYTES.min(self.bounds.max_bytes) {
            return Err(StoreUnavailable(format!(
                "a run of {bytes} bytes is larger than a run may be"
            )));
        }
        let mut inner = self.lock();
        inner.expire(now, self.bounds);
        while !inner.order.is_empty()
            && (inner.runs.len() >= self.bounds.max_runs
                || inner.bytes + bytes > self.bounds.max_bytes)
        {
            inner.evict_oldest(None);
        }
        if let Some(old) = inner.runs.insert(
            run.id.clone(),
            Entry {
                run: run.clone(),
                bytes,
            },
        ) {
            inner.bytes -= old.bytes;
            inner.order.retain(|(id, _)| id != &run.id);
        }
        inner.bytes += bytes;
        inner.order.push_back((run.id.clone(), now));
        Ok(())
    }

    pub fn update(&self, id: &RunId, update: Update, now: Instant) -> bool {
        let mut inner = self.lock();
        inner.expire(now, self.bounds);
        let Some(entry) = inner.runs.get_mut(id) else {
            return false;
        };
        let mut run = entry.run.clone();
        run.apply(update);
        let bytes = cost(&run);
        if bytes > MAX_RUN_BYTES {
            // Keep the run as it was rather than let one grow without end.
            return true;
        }
        let old = std::mem::replace(entry, Entry { run, bytes });
        inner.bytes = inner.bytes - old.bytes + bytes;
        while inner.bytes > self.bounds.max_bytes && inner.order.len() > 1 {
            inner.evict_oldest(Some(id));
        }
        true
    }

    pub fn get(&self, id: &RunId, now: Instant) -> Option<Run> {
        let mut inner = self.lock();
        inner.expire(now, self.bounds);
        inner.runs.get(id).map(|e| e.run.clone())
    }

    /// How many runs are held, and their bytes: for tests of the bounds.
    pub fn held(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.runs.len(), inner.bytes)
    }
}

impl Inner {
    fn expire(&mut self, now: Instant, bounds: Bounds) {
        while let Some((_, made)) = self.order.front() {
            if now.saturating_duration_since(*made) < bounds.ttl {
                break;
            }
            self.evict_oldest(None);
        }
    }

    /// Drops the oldest run, or the oldest other than `keep`.
    fn evict_oldest(&mut self, keep: Option<&RunId>) {
        let position = self.order.iter().position(|(id, _)| Some(id) != keep);
        if let Some((id, _)) = position.and_then(|i| self.order.remove(i))
            && let Some(entry) = self.runs.remove(&id)
        {
            self.bytes -= entry.bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use time::OffsetDateTime;

    use super::*;
    use crate::config::Origin;
    use crate::engine::Engine;
    use crate::lab::browser::Browser;
    use crate::lab::plan::Column;
    use crate::lab::run::{LabPolicy, NameSet, Observation};

    fn run() -> Run {
        Run {
            id: RunId::generate().unwrap(),
            created: OffsetDateTime::UNIX_EPOCH,
            a: Origin::parse("http://127.0.0.1:5000").unwrap(),
            b: Origin::parse("http://localhost:5000").unwrap(),
            browser: Browser::Modelled {
                engine: Engine::Chromium,
                version: "156".to_owned(),
            },
            policy: LabPolicy::default(),
            prepared_b: None,
            prepared_a: None,
            observed: Default::default(),
        }
    }

    fn observed(names: &[&str]) -> Update {
        Update::Observed(
            Column::Link,
            Observation {
                at: OffsetDateTime::UNIX_EPOCH,
                sent: NameSet::of(names.iter().copied()),
                stale: NameSet::default(),
                fetch_site: None,
                fetch_dest: None,
            },
        )
    }

    const ROOMY: Bounds = Bounds {
        max_runs: 100,
        max_bytes: 1 << 20,
        ttl: Duration::from_secs(600),
    };

    #[test]
    fn a_run_is_kept_updated_once_per_step_and_read_back() {
        let store = MemoryRuns::new(ROOMY);
        let now = Instant::now();
        let r = run();
        store.create(&r, now).unwrap();
        assert!(store.update(&r.id, observed(&["lab-lax"]), now));
        assert!(
            store.update(&r.id, observed(&["lab-strict"]), now),
            "a second record of a step is ignored"
        );
        let back = store.get(&r.id, now).unwrap();
        assert!(back.observed[&Column::Link].sent.contains("lab-lax"));
        assert!(!back.observed[&Column::Link].sent.contains("lab-strict"));
        assert!(!store.update(&RunId::generate().unwrap(), observed(&[]), now));
    }

    #[test]
    fn runs_expire_after_the_ttl() {
        let store = MemoryRuns::new(ROOMY);
        let start = Instant::now();
        let r = run();
        store.create(&r, start).unwrap();
        assert!(store.get(&r.id, start + Duration::from_secs(599)).is_some());
        assert!(store.get(&r.id, start + Duration::from_secs(600)).is_none());
        assert!(!store.update(&r.id, observed(&[]), start + Duration::from_secs(601)));
        assert_eq!(store.held(), (0, 0));
    }

    #[test]
    fn past_the_count_bound_the_oldest_run_goes() {
        let store = MemoryRuns::new(Bounds {
            max_runs: 3,
            ..ROOMY
        });
        let now = Instant::now();
        let runs: Vec<Run> = (0..5).map(|_| run()).collect();
        for r in &runs {
            store.create(r, now).unwrap();
        }
        assert_eq!(store.held().0, 3);
        assert!(store.get(&runs[0].id, now).is_none());
        assert!(store.get(&runs[1].id, now).is_none());
        assert!(store.get(&runs[4].id, now).is_some());
    }

    #[test]
    fn past_the_byte_bound_the_oldest_runs_go() {
        let one = cost(&run());
        let store = MemoryRuns::new(Bounds {
            max_bytes: one * 2 + one / 2,
            ..ROOMY
        });
        let now = Instant::now();
        let runs: Vec<Run> = (0..4).map(|_| run()).collect();
        for r in &runs {
            store.create(r, now).unwrap();
            assert!(store.held().1 <= one * 2 + one / 2);
        }
        assert_eq!(store.held().0, 2);
        assert!(store.get(&runs[3].id, now).is_some());
        // A run that grows pushes out an older one, never itself.
        assert!(store.update(
            &runs[3].id,
            observed(&["lab-lax", "lab-none", "lab-strict"]),
            now
        ));
        assert!(store.held().1 <= one * 2 + one / 2);
        assert!(store.get(&runs[3].id, now).is_some());
    }
}
