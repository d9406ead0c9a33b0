//! The caps on open connections: all clients together, and each client.

use crate::security::proxy::ClientKey;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::metrics::Metrics;

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its client already holds its share of connections.
    PerClient,
    /// The server holds as many connections as it may.
    Total,
}

impl Refusal {
    pub const ALL: [Self; 2] = [Self::PerClient, Self::Total];

    /// The metric label.
    pub fn label(self) -> &'static str {
        crate::metrics::CONNECTION_REFUSALS[self.index()]
    }

    fn index(self) -> usize {
        match self {
            Self::PerClient => 0,
            Self::Total => 1,
        }
    }
}

/// Counts open connections against the caps.
pub(super) struct Caps {
    max_open: usize,
    max_per_client: usize,
    /// One lock per connection opened or closed, held for a hash-map update.
    counts: Mutex<Counts>,
    metrics: Metrics,
}

#[derive(Default)]
struct Counts {
    open: usize,
    /// Only clients with a connection open, so it is never larger than the
    /// cap on open connections.
    by_client: HashMap<ClientKey, usize>,
}

impl Caps {
    pub(super) fn new(max_open: usize, max_per_client: usize, metrics: Metrics) -> Self {
        Self {
            max_open,
            max_per_client,
            counts: Mutex::default(),
            metrics,
        }
    }

    pub(super) fn max_open(&self) -> usize {
        self.max_open
    }

    pub(super) fn max_per_client(&self) -> usize {
        self.max_per_client
    }

    /// A slot for a connection from `peer`, held until the slot is dropped;
    /// or why there is none. A client over its share is told so first, even
    /// when the server is full too: it is the one to back off.
    pub(super) fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Slot, Refusal> {
        let client = ClientKey::from(peer);
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let held = counts.by_client.get(&client).copied().unwrap_or(0);
        if held >= self.max_per_client {
            return Err(Refusal::PerClient);
        }
        if counts.open >= self.max_open {
            return Err(Refusal::Total);
        }
        counts.open += 1;
        counts.by_client.insert(client, held + 1);
        drop(counts);
        self.metrics.connection_opened();
        Ok(Slot {
            caps: Arc::clone(self),
            client,
        })
    }

    fn release(&self, client: ClientKey) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.open = counts.open.saturating_sub(1);
        match counts.by_client.get_mut(&client) {
            Some(held) if *held > 1 => *held -= 1,
            _ => {
                counts.by_client.remove(&client);
            }
        }
        drop(counts);
        self.metrics.connection_closed();
    }
}

/// One open connection, counted until dropped.
pub(super) struct Slot {
    caps: Arc<Caps>,
    client: ClientKey,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.caps.release(self.client);
    }
}

/// How often, at most, refusals are logged while a cap is hit: an attack
/// refused thousands of times a second must not flood the log.
pub(super) const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Refusals to log: the first at once, then a sum at most every
/// [`REPORT_EVERY`].
#[derive(Debug, Default)]
pub(super) struct RefusalLog {
    last_report: Option<Instant>,
    /// Since the last report, by [`Refusal::index`].
    refused: [u64; 2],
    last_client: Option<ClientKey>,
}

/// One log line's worth of refusals.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Report {
    pub(super) per_client: u64,
    pub(super) total: u64,
    pub(super) last_client: ClientKey,
}

impl RefusalLog {
    /// Counts a refusal; the report to log now, if one is due.
    pub(super) fn refused(
        &mut self,
        refusal: Refusal,
        peer: IpAddr,
        now: Instant,
    ) -> Option<Report> {
        self.refused[refusal.index()] += 1;
        self.last_client = Some(ClientKey::from(peer));
        match self.last_report {
            Some(last) if now < last + REPORT_EVERY => None,
            _ => self.report(now),
        }
    }

    /// When refusals not yet logged are due to be, if there are any.
    pub(super) fn due(&self) -> Option<Instant> {
        if self.refused == [0, 0] {
            return None;
        }
        Some(
            self.last_report
                .map_or_else(Instant::now, |last| last + REPORT_EVERY),
        )
    }

    /// The refusals not yet logged, if any.
    pub(super) fn report(&mut self, now: Instant) -> Option<Report> {
        let last_client = self.last_client?;
        let [per_client, total] = std::mem::take(&mut self.refused);
        if per_client + total == 0 {
            return None;
        }
        self.last_report = Some(now);
        Some(Report {
            per_client,
            total,
            last_client,
        })
    }
}

impl Report {
    pub(super) fn log(&self, caps: &Caps) {
        tracing::warn!(
            refused = self.per_client + self.total,
            over_client_cap = self.per_client,
            over_total_cap = self.total,
            last_client = %self.last_client,
            max_connections = caps.max_open(),
            max_connections_per_client = caps.max_per_client(),
            "connection cap reached: {} connection(s) answered 503 and closed since the last report",
            self.per_client + self.total,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_client_is_an_ipv4_address_or_an_ipv6_64() {
        assert_eq!(ClientKey::from(ip("192.0.2.7")).to_string(), "192.0.2.7");
        assert_eq!(
            ClientKey::from(ip("::ffff:192.0.2.7")).to_string(),
            "192.0.2.7"
        );
        assert_eq!(
            ClientKey::from(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")).to_string(),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            ClientKey::from(ip("2001:db8:1:2::1")),
            ClientKey::from(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            ClientKey::from(ip("2001:db8:1:2::1")),
            ClientKey::from(ip("2001:db8:1:3::1"))
        );
    }

    #[test]
    fn each_client_gets_its_share_and_all_together_the_total() {
        let caps = Arc::new(Caps::new(3, 2, Metrics::new(None)));

        let a1 = caps.admit(ip("2001:db8::1")).unwrap();
        let _a2 = caps.admit(ip("2001:db8::2")).unwrap();
        assert_eq!(
            caps.admit(ip("2001:db8::3")).err(),
            Some(Refusal::PerClient),
            "the same /64"
        );
        let _b = caps.admit(ip("192.0.2.1")).unwrap();
        assert_eq!(caps.admit(ip("192.0.2.2")).err(), Some(Refusal::Total));
        assert_eq!(
            caps.admit(ip("2001:db8::4")).err(),
            Some(Refusal::PerClient),
            "over its share and the total: its share is what it must hear about"
        );

        drop(a1);
        let _c = caps.admit(ip("192.0.2.2")).unwrap();
        assert_eq!(caps.metrics.connections_open_now(), 3);
    }

    #[test]
    fn closed_connections_free_their_client_entry() {
        let caps = Arc::new(Caps::new(10, 10, Metrics::new(None)));
        let slots: Vec<_> = (1..=5)
            .map(|i| caps.admit(ip(&format!("192.0.2.{i}"))).unwrap())
            .collect();
        drop(slots);
        let counts = caps.counts.lock().unwrap();
        assert_eq!(counts.open, 0);
        assert!(counts.by_client.is_empty());
    }

    #[test]
    fn refusals_are_logged_at_once_then_summed_every_10_seconds() {
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        let mut log = RefusalLog::default();
        assert_eq!(log.due(), None);

        let first = log.refused(Refusal::PerClient, ip("192.0.2.1"), at(0));
        assert_eq!(
            first,
            Some(Report {
                per_client: 1,
                total: 0,
                last_client: ip("192.0.2.1").into()
            })
        );
        assert_eq!(log.due(), None, "nothing left to report");
        for _ in 0..4 {
            assert_eq!(
                log.refused(Refusal::PerClient, ip("192.0.2.1"), at(3)),
                None
            );
        }
        assert_eq!(
            log.refused(Refusal::Total, ip("::ffff:192.0.2.9"), at(4)),
            None
        );
        assert_eq!(log.due(), Some(at(10)));

        assert_eq!(
            log.report(at(10)),
            Some(Report {
                per_client: 4,
                total: 1,
                last_client: ip("192.0.2.9").into()
            })
        );
        assert_eq!(log.due(), None);
        assert_eq!(log.report(at(20)), None, "no refusals, no line");
        assert!(
            log.refused(Refusal::Total, ip("192.0.2.3"), at(30))
                .is_some(),
            "quiet for 10 s: the next refusal is logged at once"
        );
    }
}
