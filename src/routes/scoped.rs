//! The max_age/path demo and deleting cookies.

use axum::http::HeaderName;
use axum::response::IntoResponse;
use axum::response::Redirect;
use axum::routing::{get, post};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::cookies::{CookieContext, CookieSpec, RequestCookies, SetCookies, clear, prepare};
use crate::domain::{CookieName, MaxAge};
use crate::error::{PageError, PageQuery};
use crate::routes::table::Routes;
use crate::security::limits::CLEAR_COOKIES_ROUTE;
use crate::templates::{CookieRow, CookiesPage, DeletedPage, Page};

const DEMO_COOKIE: &str = "code";
const DEMO_VALUE: &str = "underscored";
/// The tutorial scopes its cookie to the page's own path.
const DEMO_PATH: &str = "/cookies";

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/cookies", get(cookies))
        .route("/cookies/delete", get(delete))
        .route(CLEAR_COOKIES_ROUTE, post(clear))
}

#[derive(Deserialize)]
struct CookiesQuery {
    max_age: Option<String>,
}

/// Flask: `cookie()` — logs what it received and sets
/// `code=underscored; Max-Age=30; Path=/cookies`.
async fn cookies(
    ctx: CookieContext,
    received: RequestCookies,
    PageQuery(query): PageQuery<CookiesQuery>,
) -> Result<impl IntoResponse, PageError> {
    let max_age = match query.max_age.as_deref() {
        None | Some("") => MaxAge::DEMO_DEFAULT,
        Some(raw) => MaxAge::parse(raw).map_err(|e| PageError::bad_request(e.to_string()))?,
    };
    // The tutorial's "terminal output": which cookies came back, by name and
    // size only. Values never reach the log.
    tracing::info!(count = received.len(), cookies = %received.summary(), "cookies received");

    let spec = CookieSpec::new(DEMO_COOKIE, DEMO_VALUE)
        .path(DEMO_PATH)
        .max_age(max_age.duration());
    let cookie =
        prepare(&spec, &ctx, OffsetDateTime::now_utc()).map_err(|r| PageError::refused(&r))?;
    let page = CookiesPage {
        received: received
            .iter()
            .map(|c| CookieRow {
                name: c.name,
                value: c.shown_value(),
                bytes: c.size(),
            })
            .collect(),
        header_bytes: received.header_bytes(),
        set_cookie: cookie.header(),
        max_age: max_age.seconds(),
    };
    let html = Page(page).into_response();
    Ok((SetCookies::one(cookie), html))
}

#[derive(Deserialize)]
struct DeleteQuery {
    name: Option<String>,
}

/// Flask: `del_cookie()` — `set_cookie('code', max_age=0, path='/cookies')`.
/// Sent whether or not the browser has the cookie, like Flask.
async fn delete(
    ctx: CookieContext,
    PageQuery(query): PageQuery<DeleteQuery>,
) -> Result<impl IntoResponse, PageError> {
    let name = CookieName::parse(query.name.as_deref().unwrap_or(DEMO_COOKIE))
        .map_err(|e| PageError::bad_request(e.to_string()))?;
    let spec = CookieSpec::removal(name.as_str(), Some(DEMO_PATH.to_owned()), None);
    let cookie =
        prepare(&spec, &ctx, OffsetDateTime::now_utc()).map_err(|r| PageError::refused(&r))?;
    let page = DeletedPage {
        name: name.as_str(),
        set_cookie: cookie.header(),
    };
    let html = Page(page).into_response();
    Ok((SetCookies::one(cookie), html))
}

/// `Clear-Site-Data`: browsers that honour it (on secure origins, localhost
/// included) drop every cookie of the site, whatever its path or domain.
const CLEAR_SITE_DATA: HeaderName = HeaderName::from_static("clear-site-data");

/// The 431 page's way out: removes every cookie the request carried, even
/// when there are too many to read a page with, then shows the inspector.
async fn clear(ctx: CookieContext, received: RequestCookies) -> impl IntoResponse {
    let removals = clear::removals_for(&received, &ctx, OffsetDateTime::now_utc());
    tracing::info!(removals = removals.len(), "clearing the site's cookies");
    (
        removals,
        [(CLEAR_SITE_DATA, "\"cookies\"")],
        Redirect::to("/inspect"),
    )
}
