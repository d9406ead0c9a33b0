//! What every request goes through around its handler, as one service
//! around axum's router: the security checks ([`super::guard`]), the request
//! timeout (408), the response headers every answer carries, the metrics
//! (route, status, latency, in flight, cookies refused) and the request's
//! one log line.
//!
//! One service rather than eight layers (a recorder, five header setters,
//! tower-http's timeout and a `from_fn` guard): each layer wraps the response
//! future once more, and the `from_fn` guard boxed one per request. Outside
//! the router rather than a `Router::layer`, which costs every request one
//! more boxed clone of the route and one more boxed future. Outside the
//! router axum's `MatchedPath` doesn't exist yet, so the route's template
//! comes from [`super::table`]. The timeout's timer
//! is only armed when the handler first has to wait: most answers are ready
//! on their first poll and never touch the timer wheel. Measured in
//! docs/PERFORMANCE.md.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header::X_FRAME_OPTIONS;
use axum::http::{HeaderName, HeaderValue, Response, StatusCode};
use axum::response::IntoResponse;
use axum::routing::future::RouteFuture;
use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tower::Service;

use super::guard;
use super::table::Templates;
use crate::cookies::CookiesRefused;
use crate::metrics::{Metrics, Route, method_label};
use crate::security::cross_site::LabPeerRoute;
use crate::state::AppState;
use crate::telemetry::{FailureCause, log_request};

/// Names the replica that answered, when `--replica-name` is set.
const X_SERVED_BY: HeaderName = HeaderName::from_static("x-served-by");

/// The whole application: the pipeline around axum's router; see the module
/// documentation. Cloning it is two reference counts.
#[derive(Clone)]
pub struct App {
    router: Router,
    shared: Arc<Shared>,
}

struct Shared {
    state: AppState,
    templates: Templates,
    served_by: Option<HeaderValue>,
    timeout: Duration,
}

impl App {
    pub(super) fn new(
        router: Router,
        templates: Templates,
        state: AppState,
        timeout: Duration,
    ) -> Self {
        // The name was checked at start-up to be a valid header value.
        let served_by = state
            .config
            .replica_name
            .as_deref()
            .and_then(|name| HeaderValue::from_str(name).ok());
        Self {
            router,
            shared: Arc::new(Shared {
                state,
                templates,
                served_by,
                timeout,
            }),
        }
    }

    /// Answers one request: what `Service::call` does, from a shared
    /// reference, so a connection needs no clone of the application per
    /// request.
    pub fn answer(&self, mut request: Request) -> PipelineFuture {
        let shared = &*self.shared;
        let route = shared.templates.route_of(request.uri().path());
        let metrics = &shared.state.metrics;
        metrics.in_flight().inc();
        let pending = Pending {
            metrics: metrics.clone(),
            served_by: shared.served_by.clone(),
            method: method_label(request.method()),
            route,
            started: Instant::now(),
            timeout: shared.timeout,
        };
        let stage = match guard::check(&shared.state, &mut request) {
            Some(refused) => Stage::Answered {
                response: Some(refused),
            },
            // The router is always ready (axum's `Router::poll_ready`), so
            // it is called without waiting on it.
            None => Stage::Handler {
                future: self.router.clone().call(request),
                deadline: None,
            },
        };
        PipelineFuture {
            stage,
            pending: Some(pending),
        }
    }
}

impl Service<Request> for App {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = PipelineFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        self.answer(request)
    }
}

/// What the response still needs. Dropping it (answered, or abandoned
/// because the client went away) ends the request's time in flight.
struct Pending {
    metrics: Metrics,
    served_by: Option<HeaderValue>,
    method: &'static str,
    route: Route,
    started: Instant,
    timeout: Duration,
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.metrics.in_flight().dec();
    }
}

impl Pending {
    /// The headers, the metrics and the log line of a finished response.
    fn finish(&self, response: &mut Response<Body>) {
        // A response the lab lets its other site frame carries the
        // exemption (its own CSP names that site): no X-Frame-Options then.
        let framable = response.extensions().get::<LabPeerRoute>().is_some();
        let headers = response.headers_mut();
        for (name, value) in &super::SECURITY_HEADERS {
            if framable && name == X_FRAME_OPTIONS {
                continue;
            }
            // One hash lookup: a header a handler set is kept.
            headers.entry(name).or_insert_with(|| value.clone());
        }
        if let Some(served_by) = &self.served_by {
            headers.insert(X_SERVED_BY, served_by.clone());
        }
        let status = response.status().as_u16();
        let took = self.started.elapsed();
        self.metrics
            .record_request(self.method, &self.route, status, took);
        let extensions = response.extensions();
        if let Some(refused) = extensions.get::<CookiesRefused>() {
            self.metrics.cookie_refused(refused);
        }
        log_request(
            self.method,
            self.route.as_str(),
            status,
            took,
            extensions.get::<FailureCause>(),
        );
    }
}

pin_project! {
    #[project = StageProjection]
    enum Stage {
        /// The guard answered; the handler never runs.
        Answered { response: Option<Response<Body>> },
        /// The handler runs, with its timer once it has had to wait.
        Handler {
            #[pin]
            future: RouteFuture<Infallible>,
            deadline: Option<Pin<Box<Sleep>>>,
        },
    }
}

pin_project! {
    /// The answer to one request, headers, metrics and log line included.
    pub struct PipelineFuture {
        #[pin]
        stage: Stage,
        pending: Option<Pending>,
    }
}

impl Future for PipelineFuture {
    type Output = Result<Response<Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match this.stage.project() {
            StageProjection::Answered { response } => match response.take() {
                Some(response) => Ok(response),
                None => return Poll::Pending,
            },
            StageProjection::Handler { future, deadline } => match future.poll(cx) {
                Poll::Ready(result) => result,
                Poll::Pending => {
                    let Some(pending) = this.pending.as_ref() else {
                        return Poll::Pending;
                    };
                    let sleep = deadline.get_or_insert_with(|| {
                        let at = pending.started + pending.timeout;
                        Box::pin(tokio::time::sleep_until(at.into()))
                    });
                    ready!(sleep.as_mut().poll(cx));
                    Ok(StatusCode::REQUEST_TIMEOUT.into_response())
                }
            },
        };
        let mut result = result;
        if let (Ok(response), Some(pending)) = (&mut result, this.pending.take()) {
            pending.finish(response);
        }
        Poll::Ready(result)
    }
}
