//! The JSON API: httpbin-compatible cookie routes (demo endpoints that change
//! state on GET, exactly as httpbin does), plus setting and linting cookies.
//! The OpenAPI document is generated from these handlers, so it can't drift.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::cookies::{
    CookieContext, CookieSpec, Finding, RequestCookies, SameSite, SetCookies, prepare,
};
use crate::engine::{Context, Scheme, SetterUrl};
use crate::error::{ApiError, ApiErrorBody, ApiJson, ApiQuery};
use crate::lab::{Report, RunId};
use crate::lint::{LintReport, line_bytes};
use crate::routes::table::Routes;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "cookie-lab API",
        description = "Cookies as JSON: what the browser sent, httpbin-compatible set/delete, \
                       setting a cookie with every attribute, and linting Set-Cookie headers."
    ),
    tags((name = "httpbin", description = "Compatible with httpbin.org's /cookies routes. Demo endpoints: they change cookies on GET, as httpbin does.")),
    tags((name = "cookies", description = "Set and lint cookies, with the rules browsers enforce.")),
    tags((name = "lab", description = "The cross-site lab's runs: what each request to the other site carried, beside the engine model's prediction."))
)]
struct ApiDoc;

pub(crate) fn router() -> Routes {
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(list_cookies, create_cookie))
        .routes(routes!(set_cookies_from_query))
        .routes(routes!(set_cookie_from_path))
        .routes(routes!(delete_cookies))
        .routes(routes!(lint))
        .routes(routes!(lab_run))
        .split_for_parts();
    let document: Arc<str> = match openapi.to_json() {
        Ok(json) => json.into(),
        Err(err) => {
            tracing::error!(error = %err, "could not serialise the OpenAPI document");
            Arc::from("{}")
        }
    };
    Routes::documented(router, &openapi)
        .route(
            "/api/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, JSON)], document.to_string()) }),
        )
        .route("/api/{*rest}", get(not_found).post(not_found))
}

/// Static, so no response copies it.
const JSON: HeaderValue = HeaderValue::from_static("application/json");

async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// httpbin's `{"cookies": {name: value}}`.
#[derive(Serialize, utoipa::ToSchema)]
struct CookieList<'a> {
    /// Each cookie the request carried, decoded. With duplicate names the
    /// first (most specific path) wins. The login cookie's value is hidden.
    #[schema(value_type = BTreeMap<String, String>)]
    cookies: BTreeMap<&'a str, &'a str>,
}

/// The cookies the request carried.
#[utoipa::path(
    get,
    path = "/api/cookies",
    tag = "httpbin",
    responses((status = OK, description = "The cookies the browser sent", body = CookieList<'_>))
)]
async fn list_cookies(received: RequestCookies) -> Result<Response, ApiError> {
    // Borrowed from the request: no copy of any name or value.
    let mut cookies = BTreeMap::new();
    for c in received.iter() {
        cookies.entry(c.name).or_insert_with(|| c.shown_value());
    }
    // Sized from the header up front: axum's Json starts at 128 bytes and
    // regrows (copying) about six times for a 4 KB cookie jar.
    let mut body = Vec::with_capacity(received.header_bytes() + 64);
    serde_json::to_writer(&mut body, &CookieList { cookies }).map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, JSON)], body).into_response())
}

/// Sets each query parameter as a cookie with `Path=/`, then redirects to
/// `/api/cookies` — like httpbin's `/cookies/set?name=value`.
#[utoipa::path(
    get,
    path = "/api/cookies/set",
    tag = "httpbin",
    params(("params" = BTreeMap<String, String>, Query, style = Form, explode, description = "name=value pairs to set")),
    responses(
        (status = FOUND, description = "Every cookie set; redirects to /api/cookies", headers(("location" = String), ("set-cookie" = String))),
        (status = UNPROCESSABLE_ENTITY, description = "A browser would reject one of them; none was set", body = ApiErrorBody),
    )
)]
async fn set_cookies_from_query(
    ctx: CookieContext,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let specs = pairs
        .into_iter()
        .map(|(name, value)| CookieSpec::httpbin(name, value));
    send_all_then_list(specs, &ctx)
}

/// Sets one cookie with `Path=/`, then redirects to `/api/cookies` — like
/// httpbin's `/cookies/set/{name}/{value}`.
#[utoipa::path(
    get,
    path = "/api/cookies/set/{name}/{value}",
    tag = "httpbin",
    params(("name" = String, Path, description = "Cookie name"), ("value" = String, Path, description = "Cookie value")),
    responses(
        (status = FOUND, description = "Cookie set; redirects to /api/cookies", headers(("location" = String), ("set-cookie" = String))),
        (status = UNPROCESSABLE_ENTITY, description = "A browser would reject it; nothing was set", body = ApiErrorBody),
    )
)]
async fn set_cookie_from_path(
    ctx: CookieContext,
    Path((name, value)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    send_all_then_list([CookieSpec::httpbin(name, value)], &ctx)
}

/// Deletes each named cookie (`Max-Age=0`, `Expires` at the epoch, `Path=/`),
/// then redirects to `/api/cookies` — like httpbin's `/cookies/delete?name`.
#[utoipa::path(
    get,
    path = "/api/cookies/delete",
    tag = "httpbin",
    params(("params" = BTreeMap<String, String>, Query, style = Form, explode, description = "names to delete; values are ignored")),
    responses(
        (status = FOUND, description = "Deleted; redirects to /api/cookies", headers(("location" = String), ("set-cookie" = String))),
        (status = UNPROCESSABLE_ENTITY, description = "A name is not a valid cookie name; nothing was deleted", body = ApiErrorBody),
    )
)]
async fn delete_cookies(
    ctx: CookieContext,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let specs = pairs
        .into_iter()
        .map(|(name, _)| CookieSpec::removal(name, Some("/".to_owned()), None));
    send_all_then_list(specs, &ctx)
}

/// Prepares every cookie or none, then answers httpbin's 302 to the list.
fn send_all_then_list(
    specs: impl IntoIterator<Item = CookieSpec>,
    ctx: &CookieContext,
) -> Result<Response, ApiError> {
    let now = OffsetDateTime::now_utc();
    let mut cookies = SetCookies::new();
    for spec in specs {
        cookies
            .push(prepare(&spec, ctx, now).map_err(ApiError::refused)?)
            .map_err(ApiError::refused)?;
    }
    Ok((
        StatusCode::FOUND,
        [(header::LOCATION, "/api/cookies")],
        cookies,
        (),
    )
        .into_response())
}

/// A cookie with every `set_cookie` parameter.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewCookie {
    /// An RFC 7230 token.
    name: String,
    /// Any text; percent-encoded on the wire where it isn't a cookie-octet.
    #[serde(default)]
    value: String,
    /// Seconds; also writes the matching `Expires`. 0 or less deletes.
    max_age: Option<i64>,
    /// RFC 3339 date-time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    expires: Option<OffsetDateTime>,
    /// Defaults to `/`; an empty string sends no Path attribute.
    path: Option<String>,
    domain: Option<String>,
    #[serde(default)]
    secure: bool,
    #[serde(default)]
    http_only: bool,
    same_site: Option<SameSite>,
    #[serde(default)]
    partitioned: bool,
}

impl From<NewCookie> for CookieSpec {
    fn from(new: NewCookie) -> Self {
        CookieSpec {
            max_age: new.max_age.map(time::Duration::seconds),
            expires: new.expires,
            path: match new.path {
                None => Some("/".to_owned()),
                Some(path) if path.is_empty() => None,
                Some(path) => Some(path),
            },
            domain: new.domain.filter(|d| !d.is_empty()),
            secure: new.secure,
            http_only: new.http_only,
            same_site: new.same_site,
            partitioned: new.partitioned,
            ..CookieSpec::new(new.name, new.value)
        }
    }
}

/// The cookie that was set.
#[derive(Serialize, utoipa::ToSchema)]
struct CookieCreated {
    /// The exact `Set-Cookie` header sent with this response.
    set_cookie: String,
    /// What browsers will change about it, or why it is risky.
    warnings: Vec<Finding>,
}

/// Sets a cookie with every attribute, unless a browser would reject it.
#[utoipa::path(
    post,
    path = "/api/cookies",
    tag = "cookies",
    request_body = NewCookie,
    responses(
        (status = CREATED, description = "Set: the header sent, and any warnings", body = CookieCreated, headers(("set-cookie" = String))),
        (status = BAD_REQUEST, description = "The body is not valid JSON", body = ApiErrorBody),
        (status = UNSUPPORTED_MEDIA_TYPE, description = "The body is not application/json", body = ApiErrorBody),
        (status = UNPROCESSABLE_ENTITY, description = "A browser would reject the cookie (nothing was set), or a field is missing or mistyped", body = ApiErrorBody),
    )
)]
async fn create_cookie(
    ctx: CookieContext,
    ApiJson(new): ApiJson<NewCookie>,
) -> Result<Response, ApiError> {
    let spec = CookieSpec::from(new);
    let cookie = prepare(&spec, &ctx, OffsetDateTime::now_utc()).map_err(ApiError::refused)?;
    let body = CookieCreated {
        set_cookie: cookie.header().to_owned(),
        warnings: cookie.warnings().to_vec(),
    };
    Ok((StatusCode::CREATED, SetCookies::one(cookie), Json(body)).into_response())
}

/// A `Set-Cookie` line and where it would be set.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LintRequest {
    /// The header value, with or without `Set-Cookie:`. Bytes that are not
    /// text (a tab, a control character, invalid UTF-8) are written `\xNN`.
    set_cookie: String,
    /// Host of the page that sets it; defaults to this request's host.
    host: Option<String>,
    /// Scheme of that page; defaults to this request's.
    scheme: Option<Scheme>,
    /// Path of that page (it decides the default Path); defaults to `/`.
    path: Option<String>,
    /// The request context: `same-site` (the default, a page or request of
    /// the site itself), `cross-site-top-level` (a link from another site),
    /// or `cross-site-iframe`, `cross-site-fetch`, `cross-site-image` (this
    /// site embedded in a page of another).
    #[serde(default)]
    #[schema(value_type = String, example = "same-site")]
    context: Context,
}

/// What Chromium and Firefox each store for a `Set-Cookie` line (the engine
/// model of `cookie-lab lint`). Sets nothing.
#[utoipa::path(
    post,
    path = "/api/lint",
    tag = "cookies",
    request_body = LintRequest,
    responses(
        (status = OK, description = "The overall verdict, and each engine's: whether it stores the cookie, the cookie as stored, the attributes it ignored, and its reasons", body = LintReport),
        (status = BAD_REQUEST, description = "The body is not valid JSON", body = ApiErrorBody),
        (status = UNPROCESSABLE_ENTITY, description = "set_cookie is not one Set-Cookie line, or the host or path is not one", body = ApiErrorBody),
    )
)]
async fn lint(
    ctx: CookieContext,
    ApiJson(request): ApiJson<LintRequest>,
) -> Result<Json<LintReport>, ApiError> {
    let unusable = ApiError::unprocessable;
    let scheme = match request.scheme {
        Some(scheme) => scheme,
        None if ctx.https() => Scheme::Https,
        None => Scheme::Http,
    };
    let url_given = request.host.is_some();
    let host = request.host.as_deref().unwrap_or(ctx.host());
    let path = request.path.as_deref().unwrap_or("/");
    let setter = SetterUrl::new(scheme, host, path).map_err(|err| unusable(err.to_string()))?;
    let line = line_bytes(&request.set_cookie).map_err(|err| unusable(err.to_string()))?;
    Ok(Json(crate::lint::lint(
        &line,
        &setter,
        request.context,
        OffsetDateTime::now_utc(),
        url_given,
    )))
}

/// One run of the cross-site lab: for every lab cookie and context, what
/// the browser did (`observed`), what the engine model predicts for that
/// browser and the third-party setting chosen before the run
/// (`predicted`), and why; the sending cells first, then what B's
/// cross-site responses could set. `null` marks a step not reached yet, or
/// a browser the model does not cover. Runs are kept for 10 minutes.
#[utoipa::path(
    get,
    path = "/api/lab/{run}",
    tag = "lab",
    params(("run" = String, Path, description = "The run's id: the lab page's data-lab-run")),
    responses(
        (status = OK, description = "The run's cells, observed and predicted", body = Report),
        (status = NOT_FOUND, description = "No run with this id (runs are kept for 10 minutes)", body = ApiErrorBody),
        (status = SERVICE_UNAVAILABLE, description = "The store that keeps runs can't be reached", body = ApiErrorBody),
    )
)]
async fn lab_run(
    State(state): State<AppState>,
    Path(run): Path<String>,
) -> Result<Json<Report>, ApiError> {
    let id = RunId::parse(&run).ok_or_else(ApiError::lab_run_not_found)?;
    let run = state
        .lab
        .get(&id)
        .await
        .map_err(ApiError::lab_store_unavailable)?
        .ok_or_else(ApiError::lab_run_not_found)?;
    Ok(Json(crate::lab::report(&run, OffsetDateTime::now_utc())))
}
