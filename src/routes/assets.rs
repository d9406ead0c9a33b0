//! CSS and JS, compiled into the binary so it serves from any directory.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::PageError;
use crate::routes::table::Routes;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../static/style.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../static/app.js"),
    },
    Asset {
        name: "client.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../static/client.js"),
    },
    Asset {
        name: "lab.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../static/lab.js"),
    },
    Asset {
        name: "lab-peer.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../static/lab-peer.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_str!("../../static/favicon.svg"),
    },
];

pub(crate) fn router() -> Routes {
    Routes::new().route("/static/{file}", get(asset))
}

/// `GET /static/*`.
async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            asset.body,
        )
            .into_response(),
        None => PageError::not_found().into_response(),
    }
}
