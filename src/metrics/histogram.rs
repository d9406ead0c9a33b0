//! A latency histogram made of atomics.
//!
//! prometheus-client's `Histogram` takes a mutex on every observation; on
//! the request path of a server whose cheapest route takes microseconds,
//! every worker would queue on it. This one adds to two atomic counters and
//! encodes through prometheus-client like any of its own metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// Upper bounds in microseconds: from a cached page (tens of µs) to the
/// 30 s request timeout.
const BOUNDS_MICROS: [u64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 10_000_000, 30_000_000,
];

/// Cheap to clone: clones share the counts, as prometheus-client's own
/// metrics do, so a request can keep one at hand (`metrics::HANDLES`).
#[derive(Debug, Default, Clone)]
pub struct LatencyHistogram(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    /// Observations per bucket (not cumulative); the last is +Inf.
    counts: [AtomicU64; BOUNDS_MICROS.len() + 1],
    sum_micros: AtomicU64,
}

impl LatencyHistogram {
    pub fn observe(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let bucket = BOUNDS_MICROS
            .iter()
            .position(|&bound| micros <= bound)
            .unwrap_or(BOUNDS_MICROS.len());
        if let Some(count) = self.0.counts.get(bucket) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        self.0.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// (upper bound in seconds, observations) per bucket, not cumulative,
    /// and the total count. Read without a lock, so a scrape racing a request
    /// may see its count but not yet its sum: off by one request at most.
    fn snapshot(&self) -> (Vec<(f64, u64)>, u64) {
        let mut total = 0;
        let buckets = self
            .0
            .counts
            .iter()
            .enumerate()
            .map(|(i, count)| {
                let count = count.load(Ordering::Relaxed);
                total += count;
                let bound = BOUNDS_MICROS
                    .get(i)
                    .map_or(f64::INFINITY, |&micros| micros as f64 / 1e6);
                (bound, count)
            })
            .collect();
        (buckets, total)
    }
}

impl TypedMetric for LatencyHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for LatencyHistogram {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), std::fmt::Error> {
        let (buckets, count) = self.snapshot();
        let sum = self.0.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::registry::Registry;

    use super::*;

    #[test]
    fn observations_land_in_cumulative_buckets_with_their_sum() {
        let histogram = LatencyHistogram::default();
        histogram.observe(Duration::from_micros(80));
        histogram.observe(Duration::from_micros(100));
        histogram.observe(Duration::from_millis(3));
        histogram.observe(Duration::from_secs(60));
        let mut registry = Registry::default();
        registry.register("latency_seconds", "test", histogram);

        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();

        assert!(text.contains("# TYPE latency_seconds histogram"), "{text}");
        assert!(
            text.contains("latency_seconds_bucket{le=\"0.0001\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("latency_seconds_bucket{le=\"0.0025\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("latency_seconds_bucket{le=\"0.005\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("latency_seconds_bucket{le=\"30.0\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("latency_seconds_bucket{le=\"+Inf\"} 4"),
            "{text}"
        );
        assert!(text.contains("latency_seconds_count 4"), "{text}");
        assert!(text.contains("latency_seconds_sum 60.00318"), "{text}");
    }
}
