//! The middleware every request passes through before its handler: the
//! security checks, in order.

use axum::extract::Request;
use axum::response::Response;

use crate::cookies::FromOtherSite;
use crate::security::{cross_site, hosts, limits, proxy};
use crate::state::AppState;

/// Every request passes here once, before its handler, in this order:
/// refuse a Host this server doesn't answer to (`hosts`, 421), mark who
/// sent it and over what (`proxy`), refuse oversized cookies (`limits`,
/// 431), let the lab's routes for its other site through
/// (`cross_site::LabPeerRoute`, the one exemption), refuse cross-site state
/// changes (`cross_site`, 403), and mark safe
/// requests from another site, which then set no demo cookie. `Some` is the
/// answer that replaces the handler's. Synchronous, and called by
/// [`super::pipeline`], so it costs no future of its own.
pub(super) fn check(state: &AppState, request: &mut Request) -> Option<Response> {
    if let Some(allowed) = &state.config.allowed_hosts
        && let Some(refused) = hosts::misdirected(allowed, request)
    {
        return Some(refused);
    }
    proxy::mark(&state.config.trust_proxy, request);
    if let Some(refused) = limits::oversized_cookie_header(request) {
        return Some(refused);
    }
    if let Some(exempt) = cross_site::LabPeerRoute::covering(request.uri().path()) {
        // The one named exemption: the lab's routes for its other site.
        request.extensions_mut().insert(exempt);
        return None;
    }
    if let Some(refused) = cross_site::refusal(request) {
        return Some(refused);
    }
    if request.method().is_safe() && cross_site::is_from_other_site(request.headers()) {
        // Safe requests from elsewhere run (a link must work), but they
        // carry this mark, so no demo cookie is set or deleted.
        let target = request
            .uri()
            .path_and_query()
            .map_or_else(|| "/".to_owned(), ToString::to_string);
        request.extensions_mut().insert(FromOtherSite { target });
    }
    None
}
