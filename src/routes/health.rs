use axum::Router;
use axum::routing::get;

use crate::state::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// Process is up and serving.
async fn healthz() -> &'static str {
    "ok"
}
