//! Metrics for Prometheus at `/metrics` (the OpenMetrics text format, which
//! Prometheus reads): requests by route and status, latency, login cookies
//! refused by reason, cookies refused by engine reason or policy, logins, failures and
//! throttles, and connections: open, refused at a cap, timed out.
//!
//! One [`Metrics`] per server (in [`crate::state::AppState`]), so servers in
//! one process (the tests) count apart. Labels are the route *template*
//! (`/api/cookies/set/{name}/{value}`), never the raw path: paths can carry
//! cookie values. The per-request cost is kept to a look through the label
//! sets this thread has seen ([`HANDLES`]) and a few atomic adds: no hashing,
//! no lock and no allocation once a label set exists (the stock histogram
//! has a mutex, so latency uses [`histogram`]).

mod histogram;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::Method;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Metric, Registry, Unit};

use crate::cookies::login::LoginCookie;
use crate::cookies::{CookiesRefused, policy};
use crate::engine::{ReasonId, ReasonKind};
use crate::security::throttle::ThrottledBy;
pub use histogram::LatencyHistogram;

/// Why a connection is refused past a cap: its client's share, or all.
pub const CONNECTION_REFUSALS: [&str; 2] = ["per_client", "total"];
/// Which timeout closed a connection.
pub const CONNECTION_TIMEOUTS: [&str; 2] = ["header_read", "keep_alive"];

/// The `Content-Type` of `/metrics`.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every metric of one server. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    /// Tells this server's metrics apart in the per-thread [`HANDLES`].
    id: u64,
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, LatencyHistogram>,
    in_flight: Gauge,
    login_cookies_rejected: Family<ReasonLabels, Counter>,
    cookies_refused: Family<RuleLabels, Counter>,
    logins: Counter,
    login_failures: Counter,
    login_throttled: Family<ByLabels, Counter>,
    logins_rate_limited: Counter,
    connections_open: Gauge,
    connections_refused: Family<ReasonLabels, Counter>,
    connections_timed_out: Family<TimeoutLabels, Counter>,
}

/// How many label sets each thread keeps the metrics of at hand: more
/// than the routes and statuses a server answers most.
const HANDLES_KEPT: usize = 32;

/// The request counter and latency histogram of one (server, method,
/// route, status), shared with the [`Family`] that exports them. Kept per
/// thread so a request finds its metrics by comparing a few words instead
/// of hashing its labels twice under the families' read locks.
struct Handles {
    server: u64,
    method: &'static str,
    route: Route,
    status: u16,
    requests: Counter,
    latency: LatencyHistogram,
}

thread_local! {
    static HANDLES: std::cell::RefCell<(Vec<Handles>, usize)> =
        const { std::cell::RefCell::new((Vec::new(), 0)) };
}

/// The route a request matched: its template, or none (a 404 from the
/// fallback). Never the request's own path.
#[derive(Clone, Debug)]
pub enum Route {
    Matched(Arc<str>),
    Unmatched,
}

impl Route {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Matched(template) => template,
            Self::Unmatched => "unmatched",
        }
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl std::hash::Hash for Route {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> fmt::Result {
        fmt::Write::write_str(encoder, self.as_str())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: Route,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Route,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ByLabels {
    by: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TimeoutLabels {
    timeout: &'static str,
}

/// Why a login cookie did not log anyone in: `LoginCookie::label()` of each
/// refused kind.
const REJECTION_REASONS: [&str; 4] = ["tampered", "expired", "revoked", "unknown_key"];

/// A new metric, registered under `name`; the registry keeps a handle.
fn registered<M: Metric + Clone + Default>(registry: &mut Registry, name: &str, help: &str) -> M {
    let metric = M::default();
    registry.register(name, help, metric.clone());
    metric
}

impl Metrics {
    pub fn new(replica_name: Option<&str>) -> Self {
        let mut registry = Registry::with_prefix("cookie_lab");
        let requests: Family<RequestLabels, Counter> = registered(
            &mut registry,
            "http_requests",
            "HTTP requests answered, by method, route template and status",
        );
        let latency = Family::<RouteLabels, LatencyHistogram>::default();
        registry.register_with_unit(
            "http_request_duration",
            "Time from request to response head, by route template",
            Unit::Seconds,
            latency.clone(),
        );
        let in_flight: Gauge = registered(
            &mut registry,
            "http_requests_in_flight",
            "Requests being answered right now",
        );
        let login_cookies_rejected: Family<ReasonLabels, Counter> = registered(
            &mut registry,
            "login_cookies_rejected",
            "Login cookies that did not log anyone in, by reason",
        );
        let cookies_refused: Family<RuleLabels, Counter> = registered(
            &mut registry,
            "cookies_refused",
            "Cookies not sent, by the engine's reason Chromium or Firefox would drop them for, or cookie-lab's policy",
        );
        let logins: Counter = registered(&mut registry, "logins", "Successful logins");
        let login_failures: Counter = registered(
            &mut registry,
            "login_failures",
            "Logins refused for a wrong password",
        );
        let login_throttled: Family<ByLabels, Counter> = registered(
            &mut registry,
            "login_throttled",
            "Logins refused with 429 after too many failures: by a (client, email) pair in backoff, or a client at its ceiling",
        );
        let logins_rate_limited: Counter = registered(
            &mut registry,
            "logins_rate_limited",
            "Correct passwords refused with 429 because the client or email created too many sessions (--login-rate)",
        );
        let connections_open: Gauge = registered(
            &mut registry,
            "connections_open",
            "Client connections open right now",
        );
        let connections_refused: Family<ReasonLabels, Counter> = registered(
            &mut registry,
            "connections_refused",
            "Connections answered 503 and closed at once because a cap was reached: \
             per_client (one client's share) or total (all connections)",
        );
        let connections_timed_out: Family<TimeoutLabels, Counter> = registered(
            &mut registry,
            "connections_timed_out",
            "Connections closed by a timeout: header_read (a request's headers came too slowly, \
             or nothing came) or keep_alive (idle between requests)",
        );
        let mut build = vec![("version", env!("CARGO_PKG_VERSION").to_owned())];
        if let Some(name) = replica_name {
            build.push(("replica", name.to_owned()));
        }
        registry.register("build", "This build of cookie-lab", Info::new(build));

        // Every label value that can occur, at zero, so a dashboard sees a
        // flat line instead of a missing series until the first event.
        for reason in REJECTION_REASONS {
            drop(login_cookies_rejected.get_or_create(&ReasonLabels { reason }));
        }
        for reason in ReasonId::ALL
            .iter()
            .map(|r| r.meta())
            .filter(|meta| meta.kind == ReasonKind::Exclusion)
        {
            drop(cookies_refused.get_or_create(&RuleLabels { reason: reason.id }));
        }
        for reason in policy::ALL {
            drop(cookies_refused.get_or_create(&RuleLabels { reason }));
        }
        for by in ThrottledBy::ALL {
            drop(login_throttled.get_or_create(&ByLabels { by: by.label() }));
        }
        for reason in CONNECTION_REFUSALS {
            drop(connections_refused.get_or_create(&ReasonLabels { reason }));
        }
        for timeout in CONNECTION_TIMEOUTS {
            drop(connections_timed_out.get_or_create(&TimeoutLabels { timeout }));
        }

        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Self(Arc::new(Inner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            registry,
            requests,
            latency,
            in_flight,
            login_cookies_rejected,
            cookies_refused,
            logins,
            login_failures,
            login_throttled,
            logins_rate_limited,
            connections_open,
            connections_refused,
            connections_timed_out,
        }))
    }

    /// One answered request.
    pub fn record_request(&self, method: &'static str, route: &Route, status: u16, took: Duration) {
        let inner = &self.0;
        HANDLES.with(|handles| {
            let mut handles = handles.borrow_mut();
            let (known, next) = &mut *handles;
            let found = known.iter().position(|h| {
                h.server == inner.id
                    && h.status == status
                    && std::ptr::eq(h.method, method)
                    && h.route == *route
            });
            let handle = match found {
                Some(at) => &known[at],
                None => {
                    let handle = Handles {
                        server: inner.id,
                        method,
                        route: route.clone(),
                        status,
                        requests: inner
                            .requests
                            .get_or_create(&RequestLabels {
                                method,
                                route: route.clone(),
                                status,
                            })
                            .clone(),
                        latency: inner
                            .latency
                            .get_or_create(&RouteLabels {
                                route: route.clone(),
                            })
                            .clone(),
                    };
                    let at = if known.len() < HANDLES_KEPT {
                        known.push(handle);
                        known.len() - 1
                    } else {
                        let at = *next;
                        known[at] = handle;
                        *next = (at + 1) % HANDLES_KEPT;
                        at
                    };
                    &known[at]
                }
            };
            handle.requests.inc();
            handle.latency.observe(took);
        });
    }

    pub(crate) fn in_flight(&self) -> &Gauge {
        &self.0.in_flight
    }

    /// Requests being answered right now.
    pub fn in_flight_now(&self) -> i64 {
        self.0.in_flight.get()
    }

    /// Counts a login cookie that was presented but logs nobody in; valid
    /// and absent ones are not rejections.
    pub fn login_cookie_read(&self, found: &LoginCookie) {
        match found {
            LoginCookie::Absent | LoginCookie::Valid { .. } => {}
            LoginCookie::Tampered
            | LoginCookie::Expired { .. }
            | LoginCookie::UnknownKey { .. }
            | LoginCookie::Revoked { .. } => {
                self.0
                    .login_cookies_rejected
                    .get_or_create(&ReasonLabels {
                        reason: found.label(),
                    })
                    .inc();
            }
        }
    }

    /// Counts a cookie that was not sent, once per engine reason or
    /// cookie-lab policy that refused it (a cookie can break several, in
    /// both engines).
    pub fn cookie_refused(&self, refused: &CookiesRefused) {
        for &reason in &refused.0 {
            self.0
                .cookies_refused
                .get_or_create(&RuleLabels { reason })
                .inc();
        }
    }

    pub fn login_succeeded(&self) {
        self.0.logins.inc();
    }

    pub fn login_failed(&self) {
        self.0.login_failures.inc();
    }

    pub fn login_throttled(&self, by: ThrottledBy) {
        self.0
            .login_throttled
            .get_or_create(&ByLabels { by: by.label() })
            .inc();
    }

    pub fn login_rate_limited(&self) {
        self.0.logins_rate_limited.inc();
    }

    pub fn connection_opened(&self) {
        self.0.connections_open.inc();
    }

    pub fn connection_closed(&self) {
        self.0.connections_open.dec();
    }

    /// Client connections open right now.
    pub fn connections_open_now(&self) -> i64 {
        self.0.connections_open.get()
    }

    /// A connection refused past a cap; `reason` is `per_client` or `total`.
    pub fn connection_refused(&self, reason: &'static str) {
        self.0
            .connections_refused
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    /// A connection closed by a timeout: `header_read` or `keep_alive`.
    pub fn connection_timed_out(&self, timeout: &'static str) {
        self.0
            .connections_timed_out
            .get_or_create(&TimeoutLabels { timeout })
            .inc();
    }

    /// Everything, in the OpenMetrics text format.
    pub fn encode(&self) -> Result<String, fmt::Error> {
        let mut text = String::with_capacity(16 * 1024);
        prometheus_client::encoding::text::encode(&mut text, &self.0.registry)?;
        Ok(text)
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Metrics")
    }
}

/// A fixed set of values: a label can't grow with whatever method a client
/// makes up.
pub(crate) fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-thread handles keep two servers' counts apart, and stay
    /// right when more label sets pass through a thread than it keeps.
    #[test]
    fn requests_are_counted_per_server_and_label_set() {
        let (first, second) = (Metrics::new(None), Metrics::new(None));
        let statuses: Vec<u16> = (200..200 + 2 * HANDLES_KEPT as u16).collect();
        for round in 0..3 {
            for &status in &statuses {
                first.record_request("GET", &Route::Unmatched, status, Duration::from_micros(50));
                if round == 0 {
                    second.record_request(
                        "POST",
                        &Route::Unmatched,
                        status,
                        Duration::from_micros(50),
                    );
                }
            }
        }
        let (first, second) = (first.encode().unwrap(), second.encode().unwrap());
        for status in statuses {
            let line = |method| {
                format!(
                    "cookie_lab_http_requests_total{{method=\"{method}\",route=\"unmatched\",status=\"{status}\"}}"
                )
            };
            assert!(first.contains(&format!("{} 3\n", line("GET"))), "{first}");
            assert!(
                second.contains(&format!("{} 1\n", line("POST"))),
                "{second}"
            );
            assert!(!second.contains(&line("GET")), "{second}");
        }
        assert!(
            first.contains(
                "cookie_lab_http_request_duration_seconds_count{route=\"unmatched\"} 192"
            ),
            "{first}"
        );
    }

    #[test]
    fn every_refusal_reason_and_rule_starts_at_zero() {
        let text = Metrics::new(Some("web-1")).encode().unwrap();

        for reason in REJECTION_REASONS {
            assert!(
                text.contains(&format!(
                    "cookie_lab_login_cookies_rejected_total{{reason=\"{reason}\"}} 0"
                )),
                "{text}"
            );
        }
        assert!(text.contains(
            "cookie_lab_cookies_refused_total{reason=\"EXCLUDE_SAMESITE_NONE_INSECURE\"} 0"
        ));
        assert!(text.contains(
            "cookie_lab_cookies_refused_total{reason=\"CookieRejectedInvalidPrefix\"} 0"
        ));
        assert!(
            !text.contains("reason=\"WARN_ATTRIBUTE_VALUE_EXCEEDS_MAX_SIZE\""),
            "warnings never refuse a cookie"
        );
        assert!(text.contains(&format!(
            "cookie_lab_build_info{{version=\"{}\",replica=\"web-1\"}} 1",
            env!("CARGO_PKG_VERSION")
        )));
        assert!(text.contains("cookie_lab_connections_refused_total{reason=\"per_client\"} 0"));
        assert!(text.contains("cookie_lab_connections_refused_total{reason=\"total\"} 0"));
        assert!(text.contains("cookie_lab_connections_timed_out_total{timeout=\"header_read\"} 0"));
        assert!(text.contains("cookie_lab_connections_timed_out_total{timeout=\"keep_alive\"} 0"));
        assert!(text.contains("cookie_lab_connections_open 0"));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn each_reason_a_cookie_was_refused_for_counts_once() {
        let metrics = Metrics::new(None);

        metrics.cookie_refused(&CookiesRefused(vec![
            "EXCLUDE_INVALID_PREFIX",
            "cross-site",
        ]));

        let text = metrics.encode().unwrap();
        assert!(
            text.contains("cookie_lab_cookies_refused_total{reason=\"EXCLUDE_INVALID_PREFIX\"} 1")
        );
        assert!(text.contains("cookie_lab_cookies_refused_total{reason=\"cross-site\"} 1"));
    }

    #[test]
    fn methods_map_to_a_fixed_set() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
