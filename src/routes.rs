//! The route table and the middleware every request goes through.

mod api;
mod assets;
mod basics;
mod client;
mod guard;
mod health;
mod inspector;
mod lab;
mod login;
mod scoped;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use tower::ServiceBuilder;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::error::PageError;
use crate::metrics::RecordLayer;
use crate::security::cross_site::LabPeerRoute;
use crate::state::AppState;

/// Form bodies larger than this get a 413: every form here is tiny, and the
/// largest legitimate one (a 4 KB cookie value) fits four times over.
pub const MAX_FORM_BYTES: usize = 16 * 1024;
/// A request that takes longer than this is answered with 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Scripts only from our own origin (no inline script anywhere), no framing.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// On every response, including the answers that never reach the router
/// (a connection refused at a cap, `startup::connections`).
pub(crate) const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "same-origin"),
];

/// Names the replica that answered, when `--replica-name` is set.
const X_SERVED_BY: HeaderName = HeaderName::from_static("x-served-by");

/// The whole application: every route, plus logging, metrics, limits and
/// headers.
pub fn app(state: AppState) -> Router {
    // The name was checked at start-up to be a valid header value.
    let served_by = state
        .config
        .replica_name
        .as_deref()
        .and_then(|name| HeaderValue::from_str(name).ok());
    let [csp, nosniff, frames, referrer] = SECURITY_HEADERS;
    Router::new()
        .merge(basics::router())
        .merge(scoped::router())
        .merge(login::router())
        .merge(client::router())
        .merge(inspector::router())
        .merge(lab::router())
        .merge(api::router())
        .merge(assets::router())
        .merge(health::router())
        .fallback(|| async { PageError::not_found() })
        .layer(
            ServiceBuilder::new()
                // Outside the layers that answer on their own (431, 403, 408),
                // so their answers are counted too.
                .layer(RecordLayer::new(state.metrics.clone()))
                // `None` adds nothing: without a name there is no header.
                .layer(SetResponseHeaderLayer::overriding(X_SERVED_BY, served_by))
                // Outside everything else, so error pages from the layers
                // below carry the security headers too.
                .layer(security_header(csp))
                .layer(security_header(nosniff))
                .layer(frame_options(frames))
                .layer(security_header(referrer))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    REQUEST_TIMEOUT,
                ))
                .layer(from_fn_with_state(state.clone(), guard::guard))
                .layer(DefaultBodyLimit::max(MAX_FORM_BYTES)),
        )
        .with_state(state)
}

fn security_header(
    (name, value): (HeaderName, &'static str),
) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// `X-Frame-Options`, except on a response the lab lets its other site
/// frame (marked with the exemption, [`LabPeerRoute`]; its own CSP then
/// names the one site that may frame it). Reading one extension is all it
/// costs the other routes.
fn frame_options(
    (name, value): (HeaderName, &'static str),
) -> SetResponseHeaderLayer<impl FnMut(&Response) -> Option<HeaderValue> + Clone> {
    SetResponseHeaderLayer::if_not_present(name, move |response: &Response| {
        response
            .extensions()
            .get::<LabPeerRoute>()
            .is_none()
            .then(|| HeaderValue::from_static(value))
    })
}

/// `Cache-Control: no-store` for pages that show login state, so a shared or
/// back-button cache never shows one user's page to another.
pub(crate) fn no_store() -> [(HeaderName, &'static str); 1] {
    [(header::CACHE_CONTROL, "no-store")]
}
