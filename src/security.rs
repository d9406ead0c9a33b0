//! Defences the tutorial only warns about: cross-site requests, password
//! guessing, oversized headers, and knowing when a proxy served HTTPS.

pub mod cross_site;
pub mod limits;
pub mod proxy;
pub mod throttle;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// Every request passes here once, in this order: mark who sent it and over
/// what (`proxy`), refuse oversized cookies (`limits`, 431), refuse
/// cross-site state changes (`cross_site`, 403). One middleware rather than
/// three: each `from_fn` costs a boxed future per request.
pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    proxy::mark(&state.config.trust_proxy, &mut request);
    if let Some(refused) = limits::oversized_cookie_header(&request) {
        return refused;
    }
    if let Some(refused) = cross_site::refusal(&request) {
        return refused;
    }
    next.run(request).await
}
