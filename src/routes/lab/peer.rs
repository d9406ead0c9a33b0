//! The lab's routes for its other site (site B of a run), under
//! [`LabPeerRoute::PREFIX`]: the one named exemption from the cross-site
//! rules. They take requests from A's page in every context (a form
//! posted from A, an iframe in A's page, A's credentialed fetch), record
//! which lab cookies came along, set and remove only lab cookies, and name
//! A, from the run's record, in their CSP (`frame-ancestors`) and CORS
//! headers: no request can make them name another site.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, CONTENT_TYPE, ORIGIN, VARY,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use time::OffsetDateTime;

use super::{
    IdQuery, RequestOrigin, a_page_csp, framable, headers, load, record, redirect_to, specs,
    strict_csp, with_cookies,
};
use crate::config::Origin;
use crate::cookies::CookieContext;
use crate::error::{PageError, PageQuery};
use crate::lab::plan::{self, Column, Role, Site};
use crate::lab::report::PREPARE_PATH_B;
use crate::lab::{Run, Update};
use crate::routes::table::Routes;
use crate::security::cross_site::LabPeerRoute;
use crate::state::AppState;
use crate::templates::{LabPeerPage, Page};

pub(super) fn router() -> Routes {
    Routes::new()
        .route(PREPARE_PATH_B, get(prepare))
        .route(Column::Link.path(), get(visit).post(visit))
        .route(Column::Redirect1.path(), get(hop))
        .route(Column::Iframe.path(), get(frame))
        .route(Column::IframeFetch.path(), get(hit))
        .route(Column::Image.path(), get(image))
        .route(Column::CorsFetch.path(), get(cors))
        .route("/lab/peer/clear", axum::routing::post(clear))
        .route("/lab/peer/clear-frame", get(clear_frame))
}

/// The exemption the guard gave this request: every route here has it,
/// since they all live under the prefix it covers.
struct Exempt(LabPeerRoute);

impl<S: Send + Sync> FromRequestParts<S> for Exempt {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<LabPeerRoute>()
            .copied()
            .map(Self)
            .ok_or_else(PageError::not_found)
    }
}

/// The CSP of a page that `framer`'s pages may embed.
fn framed_csp(framer: &Origin) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "default-src 'self'; frame-ancestors {framer}; base-uri 'none'; form-action 'self'"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(strict_csp()))
}

/// `GET /lab/peer/prepare`: B, at top level, sets its lab cookies, then
/// sends the browser back to A.
async fn prepare(
    State(state): State<AppState>,
    _exempt: Exempt,
    RequestOrigin(origin): RequestOrigin,
    ctx: CookieContext,
    PageQuery(query): PageQuery<IdQuery>,
) -> Result<Response, PageError> {
    let run = load(&state, &query.id, Site::B, &origin).await?;
    state
        .lab
        .update(&run.id, Update::PreparedB(OffsetDateTime::now_utc()))
        .await
        .map_err(PageError::lab_store_unavailable)?;
    let back = redirect_to(
        StatusCode::SEE_OTHER,
        &format!("{}/lab/prepared?id={}", run.a, run.id),
    );
    Ok(with_cookies(&specs(&run.id, Role::Sent), &ctx, back))
}

#[derive(Debug, Deserialize)]
struct StepQuery {
    id: String,
    column: Option<String>,
    n: Option<u8>,
}

/// `GET /lab/peer/visit` (a link, B's own navigation, the popup) and
/// `POST /lab/peer/visit` (A's form): B at top level records what came
/// along, then the browser moves to the next step.
async fn visit(
    State(state): State<AppState>,
    _exempt: Exempt,
    method: Method,
    RequestOrigin(origin): RequestOrigin,
    request_headers: HeaderMap,
    PageQuery(query): PageQuery<StepQuery>,
) -> Result<Response, PageError> {
    let column = match (&method, query.column.as_deref().and_then(Column::from_id)) {
        (&Method::GET, Some(c @ (Column::Link | Column::SameSite | Column::Popup)))
        | (&Method::POST, Some(c @ Column::FormPost)) => c,
        _ => return Err(PageError::not_found()),
    };
    let run = record(&state, &query.id, column, &origin, &request_headers).await?;
    let csp = HeaderValue::from_static(strict_csp());
    Ok(match column {
        Column::Link => {
            // B's own page navigates to B: the one request of the run that
            // this site started itself, where every cookie goes.
            let next = format!(
                "{}?id={}&column={}",
                Column::SameSite.path(),
                run.id,
                Column::SameSite.id()
            );
            let page = LabPeerPage {
                mode: "forward",
                title: "B received the link",
                message: "Recorded what the link from A carried. Now this page (B) navigates to B itself.",
                next: &next,
                parent: "",
                frame: "",
                post: "",
            };
            (headers(csp), Page(page)).into_response()
        }
        Column::SameSite => redirect_to(
            StatusCode::SEE_OTHER,
            &format!("{}/lab?id={}&step=post", run.a, run.id),
        ),
        Column::FormPost => redirect_to(
            StatusCode::SEE_OTHER,
            &format!("{}/lab?id={}&step=redirect", run.a, run.id),
        ),
        _ => {
            let page = LabPeerPage {
                mode: "popup",
                title: "B received the popup",
                message: "Recorded what the popup carried. This window closes itself; if it does not, close it.",
                next: "",
                parent: "",
                frame: "",
                post: "",
            };
            (headers(csp), Page(page)).into_response()
        }
    })
}

/// `GET /lab/peer/hop?n=1|3`: B's hops of the chain `A → B → A → B`.
async fn hop(
    State(state): State<AppState>,
    _exempt: Exempt,
    RequestOrigin(origin): RequestOrigin,
    request_headers: HeaderMap,
    PageQuery(query): PageQuery<StepQuery>,
) -> Result<Response, PageError> {
    let (column, next) = match query.n {
        Some(1) => (Column::Redirect1, "/lab/hop?id="),
        Some(3) => (Column::Redirect3, "/lab?step=popup&id="),
        _ => return Err(PageError::not_found()),
    };
    let run = record(&state, &query.id, column, &origin, &request_headers).await?;
    Ok(redirect_to(
        StatusCode::FOUND,
        &format!("{}{next}{}", run.a, run.id),
    ))
}

/// `GET /lab/peer/frame`: B in an iframe of A's page. Records, tries to
/// set one cookie of each kind, and its script fetches `hit` then tells
/// A's page it is done.
async fn frame(
    State(state): State<AppState>,
    Exempt(exempt): Exempt,
    RequestOrigin(origin): RequestOrigin,
    ctx: CookieContext,
    request_headers: HeaderMap,
    PageQuery(query): PageQuery<IdQuery>,
) -> Result<Response, PageError> {
    let run = record(&state, &query.id, Column::Iframe, &origin, &request_headers).await?;
    let next = format!(
        "{}?id={}&column={}",
        Column::IframeFetch.path(),
        run.id,
        Column::IframeFetch.id()
    );
    let parent = run.a.to_string();
    let page = LabPeerPage {
        mode: "frame",
        title: "B, inside A's page",
        message: "This is site B in an iframe of the lab on site A.",
        next: &next,
        parent: &parent,
        frame: "",
        post: "",
    };
    let answer = (headers(framed_csp(&run.a)), Page(page));
    Ok(framable(
        with_cookies(&specs(&run.id, Role::SetByIframe), &ctx, answer),
        exempt,
    ))
}

/// `GET /lab/peer/hit`: the fetch the iframe makes to its own site.
async fn hit(
    State(state): State<AppState>,
    _exempt: Exempt,
    RequestOrigin(origin): RequestOrigin,
    request_headers: HeaderMap,
    PageQuery(query): PageQuery<IdQuery>,
) -> Result<Response, PageError> {
    record(
        &state,
        &query.id,
        Column::IframeFetch,
        &origin,
        &request_headers,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

/// `GET /lab/peer/img`: an image on A's page.
async fn image(
    State(state): State<AppState>,
    _exempt: Exempt,
    RequestOrigin(origin): RequestOrigin,
    request_headers: HeaderMap,
    PageQuery(query): PageQuery<IdQuery>,
) -> Result<Response, PageError> {
    record(&state, &query.id, Column::Image, &origin, &request_headers).await?;
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static("image/gif")),
            (
                axum::http::header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            ),
        ],
        PIXEL,
    )
        .into_response())
}

/// `GET /lab/peer/cors`: A's `fetch(…, {credentials: "include"})`. CORS
/// allows exactly the run's site A, with credentials; the first of these
/// fetches tries to set one cookie of each kind, the second reads what
/// B's jar under A holds.
async fn cors(
    State(state): State<AppState>,
    _exempt: Exempt,
    RequestOrigin(origin): RequestOrigin,
    ctx: CookieContext,
    request_headers: HeaderMap,
    PageQuery(query): PageQuery<StepQuery>,
) -> Result<Response, PageError> {
    let column = match query.column.as_deref().and_then(Column::from_id) {
        Some(c @ (Column::CorsFetch | Column::PartitionReadback)) => c,
        _ => return Err(PageError::not_found()),
    };
    let run = record(&state, &query.id, column, &origin, &request_headers).await?;
    let body = Json(serde_json::json!({ "run": run.id.as_str(), "recorded": column.id() }));
    let mut response = if column == Column::CorsFetch {
        with_cookies(&specs(&run.id, Role::SetByFetch), &ctx, body)
    } else {
        body.into_response()
    };
    allow_cors(&mut response, &run, &request_headers);
    Ok(response)
}

/// CORS for the run's site A alone: the answer's `Access-Control-Allow-
/// Origin` is A when the request's `Origin` is A, and absent otherwise.
fn allow_cors(response: &mut Response, run: &Run, request_headers: &HeaderMap) {
    let a = run.a.to_string();
    let headers = response.headers_mut();
    headers.insert(VARY, HeaderValue::from_static("Origin"));
    if request_headers.get(ORIGIN).and_then(|o| o.to_str().ok()) == Some(a.as_str())
        && let Ok(value) = HeaderValue::from_str(&a)
    {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

/// `POST /lab/peer/clear`: B at top level removes its lab cookies (its own
/// jar and its partition as top-level site); its page clears A's jar under
/// B in an iframe, then goes back to the lab on A.
async fn clear(
    State(state): State<AppState>,
    _exempt: Exempt,
    RequestOrigin(origin): RequestOrigin,
    ctx: CookieContext,
    PageQuery(query): PageQuery<IdQuery>,
) -> Result<Response, PageError> {
    let run = load(&state, &query.id, Site::B, &origin).await?;
    let frame = format!("{}/lab/peer/clear-frame?id={}", run.a, run.id);
    let next = format!("{}/lab?cleared=1", run.a);
    let page = LabPeerPage {
        mode: "clear",
        title: "Clearing the lab's cookies",
        message: "B's lab cookies are removed. Now A's, under B; then back to the lab.",
        next: &next,
        parent: "",
        frame: &frame,
        post: "",
    };
    Ok(with_cookies(
        &plan::all_removals(),
        &ctx,
        (headers(a_page_csp(&run.a)), Page(page)),
    ))
}

/// `GET /lab/peer/clear-frame`: in an iframe of the other site's page,
/// removes this site's lab cookies from its jar under that site, then tells
/// the page.
async fn clear_frame(
    State(state): State<AppState>,
    Exempt(exempt): Exempt,
    RequestOrigin(origin): RequestOrigin,
    ctx: CookieContext,
    PageQuery(query): PageQuery<IdQuery>,
) -> Result<Response, PageError> {
    // Served by either site of the clearing, framed by the other one.
    let run = match load(&state, &query.id, Site::B, &origin).await {
        Ok(run) => run,
        Err(_) => load(&state, &query.id, Site::A, &origin).await?,
    };
    let framer = if origin == run.b { &run.a } else { &run.b };
    let parent = framer.to_string();
    let page = LabPeerPage {
        mode: "clear-frame",
        title: "Clearing",
        message: "Removed this site's lab cookies from its jar under the page that embeds it.",
        next: "",
        parent: &parent,
        frame: "",
        post: "",
    };
    let answer = (headers(framed_csp(framer)), Page(page));
    Ok(framable(
        with_cookies(&plan::all_removals(), &ctx, answer),
        exempt,
    ))
}
