//! The JSON API (httpbin-compatible where httpbin has the route).

use std::collections::BTreeMap;

use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::cookies::RequestCookies;
use crate::state::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/api/cookies", get(list_cookies))
}

/// httpbin's `{"cookies": {name: value}}`.
#[derive(Serialize)]
struct CookieList {
    cookies: BTreeMap<String, String>,
}

/// `GET /api/cookies`: what the browser sent. With duplicate names the first
/// (most specific) wins, as in Werkzeug.
async fn list_cookies(received: RequestCookies) -> Json<CookieList> {
    let mut cookies = BTreeMap::new();
    for c in received.iter() {
        cookies
            .entry(c.name.clone())
            .or_insert_with(|| c.shown_value().to_owned());
    }
    Json(CookieList { cookies })
}
