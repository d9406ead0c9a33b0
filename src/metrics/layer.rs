//! The middleware that records every request: its metrics (route, status,
//! latency, how many are in flight, the cookies it refused) and its one log
//! line (with the cause of a server-side failure). Handlers and error pages
//! leave both in the response's extensions, so they neither log nor count.
//!
//! A plain tower layer rather than `axum::middleware::from_fn`, so that the
//! request path pays no boxed future for it. The log line replaces
//! tower-http's TraceLayer, whose per-request span cost a third of a
//! `/healthz` request (measured, docs/PERFORMANCE.md): one event with the
//! method, route template, status and latency says the same.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::MatchedPath;
use axum::http::{Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use super::{Metrics, Route, method_label};
use crate::cookies::CookiesRefused;
use crate::telemetry::FailureCause;

/// Counts every request the wrapped service answers.
#[derive(Clone)]
pub struct RecordLayer {
    metrics: Metrics,
}

impl RecordLayer {
    pub fn new(metrics: Metrics) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for RecordLayer {
    type Service = Record<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Record {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Record<S> {
    inner: S,
    metrics: Metrics,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Record<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = RecordFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // Router::layer runs after routing, so the template is known here.
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or(Route::Unmatched, |path| Route::Matched(path.clone()));
        self.metrics.in_flight().inc();
        let pending = Pending {
            metrics: self.metrics.clone(),
            method: method_label(request.method()),
            route,
            started: Instant::now(),
        };
        RecordFuture {
            inner: self.inner.call(request),
            pending: Some(pending),
        }
    }
}

/// What the response still needs to be recorded. Dropping it (answered, or
/// abandoned because the client went away) ends the request's time in flight.
struct Pending {
    metrics: Metrics,
    method: &'static str,
    route: Route,
    started: Instant,
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.metrics.in_flight().dec();
    }
}

pin_project! {
    pub struct RecordFuture<F> {
        #[pin]
        inner: F,
        pending: Option<Pending>,
    }
}

impl<F, ResBody, E> Future for RecordFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        if let (Ok(response), Some(pending)) = (&result, this.pending.take()) {
            let status = response.status().as_u16();
            let took = pending.started.elapsed();
            pending
                .metrics
                .record_request(pending.method, &pending.route, status, took);
            let extensions = response.extensions();
            if let Some(refused) = extensions.get::<CookiesRefused>() {
                pending.metrics.cookie_refused(refused);
            }
            crate::telemetry::log_request(
                pending.method,
                pending.route.as_str(),
                status,
                took,
                extensions.get::<FailureCause>(),
            );
        }
        Poll::Ready(result)
    }
}
