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
mod pipeline;
mod scoped;
mod table;

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, header};

use crate::error::PageError;
use crate::state::AppState;

pub use self::pipeline::{App, PipelineFuture};
pub use crate::error::MAX_BODY_BYTES as MAX_FORM_BYTES;
/// A request that takes longer than this is answered with 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Scripts only from our own origin (no inline script anywhere), no framing.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// On every response, including the answers that never reach the router
/// (a connection refused at a cap, `startup::connections`). Values built
/// once: every response clones them (a static `Bytes` clone copies nothing).
pub(crate) static SECURITY_HEADERS: [(HeaderName, HeaderValue); 4] = [
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    ),
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    ),
];

/// The whole application: every route, inside the checks, headers, metrics
/// and log line of [`pipeline`]. No body limit layer: the only extractors
/// that read a body apply [`MAX_FORM_BYTES`] (`error::PageForm`,
/// `error::ApiJson`).
pub fn app(state: AppState) -> App {
    let (router, templates) = every_route().into_parts();
    let router = router
        .fallback(|| async { PageError::not_found() })
        .with_state(state.clone());
    App::new(router, templates, state, REQUEST_TIMEOUT)
}

fn every_route() -> table::Routes {
    basics::router()
        .merge(scoped::router())
        .merge(login::router())
        .merge(client::router())
        .merge(inspector::router())
        .merge(lab::router())
        .merge(api::router())
        .merge(assets::router())
        .merge(health::router())
}

/// `Cache-Control: no-store` for pages that show login state, so a shared or
/// back-button cache never shows one user's page to another. A static
/// value: a `&str` would be copied into a new header value on each response.
pub(crate) fn no_store() -> [(HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}
