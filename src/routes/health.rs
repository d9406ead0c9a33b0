//! For operators and load balancers: liveness, readiness and metrics.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::no_store;
use crate::error::PageError;
use crate::metrics;
use crate::revocation::RevocationError;
use crate::routes::table::Routes;
use crate::state::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Process is up and serving.
async fn healthz() -> &'static str {
    "ok"
}

/// Ready to serve logins: the key ring is loaded and the revocation store
/// answers. 503 otherwise, naming the part that failed, so a load balancer
/// stops sending traffic and an operator knows where to look.
async fn readyz(State(state): State<AppState>) -> Response {
    // The server never starts without a key ring, so this part can't fail
    // once it serves; it is listed so the answer covers what logins need.
    let keys = format!(
        "key ring: ok ({} key(s), sealing with {})",
        state.keys.keys().len(),
        state.keys.current().id()
    );
    let (status, summary, store) = match state.revocations.ping().await {
        Ok(()) => (
            StatusCode::OK,
            "ready",
            format!("revocation store: ok ({})", state.revocations.kind()),
        ),
        Err(err) => {
            tracing::warn!(error = %err, store = %state.revocations.describe(), "not ready: revocation store unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: logins can't be checked",
                match &err {
                    RevocationError::Unavailable(why) => format!(
                        "revocation store: unreachable ({}): {why}",
                        state.revocations.kind()
                    ),
                },
            )
        }
    };
    (status, no_store(), format!("{summary}\n{keys}\n{store}\n")).into_response()
}

/// Prometheus scrapes this; see the README for the metric names.
async fn metrics(State(state): State<AppState>) -> Response {
    match state.metrics.encode() {
        Ok(text) => (
            [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
            no_store(),
            text,
        )
            .into_response(),
        Err(err) => {
            PageError::internal(format!("could not encode the metrics: {err}")).into_response()
        }
    }
}
