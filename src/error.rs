//! Every error answer, in one file: each status has one named constructor
//! here, for pages ([`PageError`]) and for the JSON API ([`ApiError`]), and
//! the extractors ([`PageForm`], [`PageQuery`], [`ApiJson`], [`ApiQuery`])
//! whose rejections already are the right answer.
//!
//! Nothing here logs. The cause of a server-side failure travels in the
//! response's extensions ([`FailureCause`]), and so do the reasons a cookie
//! was refused ([`CookiesRefused`]): the layer that writes the request's
//! one log line and counts its metrics reads them there.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cookies::{CookiesRefused, Finding, Refused, Withheld};
use crate::telemetry::FailureCause;
use crate::templates::{ErrorPage, Page};

/// An error page.
#[derive(Debug, Clone)]
pub struct PageError {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
    pub details: Box<[String]>,
    /// A link onwards: where, and its label.
    pub link: (Cow<'static, str>, &'static str),
    /// What only some errors carry.
    extras: Option<Box<Extras>>,
}

/// The parts of an error most errors don't have.
#[derive(Debug, Clone, Default)]
struct Extras {
    /// A button that posts to a route of this site.
    action: Option<&'static PostAction>,
    /// Seconds, for `Retry-After`.
    retry_after: Option<u64>,
    /// `Cache-Control: no-store` (a page about a login).
    no_store: bool,
    cause: Option<String>,
    refused: Option<CookiesRefused>,
}

/// A button on an error page that posts to a route of this site.
#[derive(Debug)]
pub struct PostAction {
    pub href: &'static str,
    pub label: &'static str,
}

impl PageError {
    fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            title,
            message: message.into(),
            details: Box::default(),
            link: (Cow::Borrowed("/"), "Back to the start page"),
            extras: None,
        }
    }

    fn extras(&mut self) -> &mut Extras {
        self.extras.get_or_insert_with(Box::default)
    }

    fn with_cause(mut self, cause: impl fmt::Display) -> Self {
        self.extras().cause = Some(cause.to_string());
        self
    }

    fn retry_after(mut self, wait: Duration) -> Self {
        self.extras().retry_after = Some(wait.as_secs().max(1));
        self.extras().no_store = true;
        self
    }

    /// 400: a query string or value that can't be read.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "That request doesn't work",
            message,
        )
    }

    /// 400, 413, 415 or 422: a form body that can't be read.
    pub fn form_rejected(rejection: &FormRejection) -> Self {
        Self::body_unreadable(rejection.status(), &rejection.body_text())
    }

    /// 400, 413, 415 or 422: a form body that can't be read, with the words
    /// of axum's rejection.
    fn body_unreadable(status: StatusCode, text: &str) -> Self {
        Self::new(
            status,
            "The form could not be read",
            format!("{text}. Go back and submit the form again."),
        )
    }

    /// 400: a query string that can't be read.
    pub fn query_rejected(rejection: &QueryRejection) -> Self {
        Self::bad_request(format!(
            "The query string could not be read: {}.",
            rejection.body_text()
        ))
    }

    /// 401: the tutorial's error page for a wrong password; no cookie set.
    pub fn wrong_password() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Login failed",
            "The email or password is wrong. No cookie was set.",
        )
        .with_link("/login", "Try again")
    }

    /// 403: a state-changing request from another site; `why` says how the
    /// browser told.
    pub fn cross_site(method: &str, why: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Cross-site request refused",
            format!(
                "cookie-lab refused this {method} request because {why}. Only pages of this site may change its \
                 cookies or log you in and out. If you submitted a form here, reload the page and try again."
            ),
        )
    }

    /// 404.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Page not found",
            "There is no page at this address. The start page links to every demo.",
        )
    }

    /// 421: a Host this server doesn't answer to (`--allowed-hosts`).
    pub fn misdirected() -> Self {
        Self::new(
            StatusCode::MISDIRECTED_REQUEST,
            "Wrong host name",
            "This server doesn't answer to the host name in this request. Use the address you were given \
             for cookie-lab.",
        )
    }

    /// 404: a lab run that is not (or no longer) kept, or not this site's.
    pub fn lab_run_unknown() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "This lab run is gone",
            "The cross-site lab keeps a run for 10 minutes, and this one is not (or no longer) here, or              it belongs to the lab's other site. Start a new run.",
        )
        .with_link("/lab", "Back to the lab")
    }

    /// 503: the lab's run store (Redis, when replicas share one) can't be
    /// reached, so no step can be recorded.
    pub fn lab_store_unavailable(cause: impl fmt::Display) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The lab can't record right now",
            "The store that keeps the cross-site lab's runs can't be reached, so this step was not              recorded. Try the run again in a minute.",
        )
        .with_link("/lab", "Back to the lab")
        .with_cause(cause)
    }

    /// 422: input that makes no sense here.
    pub fn unprocessable(title: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, title, message)
    }

    /// A cookie that was not sent, and why: 422 when a browser would drop it
    /// or its name is reserved, 403 for a GET from another site (with a
    /// link to try again from this site).
    pub fn refused(refused: &Refused) -> Self {
        let mut page = match refused.withheld() {
            None => Self {
                details: refused
                    .errors()
                    .map(|f| format!("{} ({}) — {}", f.message, f.label(), f.fix))
                    .collect::<Vec<_>>()
                    .into_boxed_slice(),
                ..Self::unprocessable(
                    "The browser would drop this cookie",
                    format!(
                        "cookie-lab did not send the cookie {:?}: the page that set it would never learn that a \
                         browser dropped it (only Firefox's web console and Chromium's DevTools say so), so it \
                         is refused here instead.",
                        refused.spec_name()
                    ),
                )
            },
            Some(Withheld::CrossSite { retry }) => Self::new(
                StatusCode::FORBIDDEN,
                "Nothing was set: this came from another site",
                "Your browser came here from a page on another site, so cookie-lab changed none of this site's \
                 cookies: a link elsewhere must not be able to change them. If you meant to, follow the link \
                 below, from this site.",
            )
            .with_link(retry.clone(), "Try again from this site"),
            Some(Withheld::ReservedName(_) | Withheld::ResponseCap) => Self::unprocessable(
                "Nothing was set",
                format!("{}.", capitalise(&refused.reason())),
            ),
        };
        page.extras().refused = Some(refused.counted());
        page
    }

    /// 429: too many wrong passwords; `whose` says whose (from your
    /// address, for this email from your address).
    pub fn too_many_attempts(wait: Duration, until: &str, whose: &str) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed logins",
            format!(
                "There were too many wrong passwords {whose} recently, so logins are paused. Try again in {} \
                 seconds (at {until}).",
                wait.as_secs().max(1)
            ),
        )
        .with_link("/login", "Back to the login page")
        .retry_after(wait)
    }

    /// 429: a right password, past `--login-rate`.
    pub fn too_many_sessions(wait: Duration) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many logins",
            format!(
                "Your password was right, but there were too many new logins from your address or for this \
                 email in the last minute, so no new session was made. Try again in {} seconds.",
                wait.as_secs().max(1)
            ),
        )
        .with_link("/login", "Back to the login page")
        .retry_after(wait)
    }

    /// 431: more cookies than cookie-lab reads, with the way out.
    pub fn cookie_header_too_large(bytes: usize, limit: usize, clear: &'static PostAction) -> Self {
        let mut page = Self::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Too many cookies",
            format!(
                "Your browser sent {} KiB of cookies with this request; cookie-lab reads at most {} KiB. The \
                 button below clears this site's cookies (you will be logged out); or clear them in your \
                 browser's settings, then reload.",
                bytes.div_ceil(1024),
                limit / 1024
            ),
        );
        page.extras().action = Some(clear);
        page
    }

    /// 500: a server fault. The cause goes to the log line, the user gets a
    /// generic page.
    pub fn internal(cause: impl fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on our side",
            "The server hit an unexpected problem. Try again; if it keeps happening, the server log says why.",
        )
        .with_cause(cause)
    }

    /// 503: the revocation store can't be reached, so nobody is let in.
    pub fn store_unavailable(cause: impl fmt::Display) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Logins can't be checked right now",
            "cookie-lab can't reach the store that records logged-out sessions, so it can't tell a live login \
             from a logged-out one and lets nobody in for now. Try again in a minute.",
        )
        .with_cause(cause)
    }

    /// 503: the throttle's shared counters can't be reached, so no guess is
    /// judged.
    pub fn throttle_unavailable(cause: impl fmt::Display) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Logins can't be checked right now",
            "cookie-lab can't reach the store that counts failed logins, which every replica shares, so it \
             can't tell whether this login may be tried and lets nobody log in for now. Try again in a minute.",
        )
        .with_cause(cause)
    }

    /// 503: a logout that could not be recorded, and the truth that the
    /// session still works.
    pub fn logout_failed(cause: impl fmt::Display) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Logout failed: you are still logged in",
            "cookie-lab couldn't record the logout, so your session is still active and a copy of your cookie \
             would still work. Your browser keeps its cookie, so you can try again in a minute.",
        )
        .with_link("/profile", "Back to your profile")
        .with_cause(cause)
    }

    pub fn with_link(mut self, href: impl Into<Cow<'static, str>>, label: &'static str) -> Self {
        self.link = (href.into(), label);
        self
    }

    /// The button, if the page has one.
    pub fn action(&self) -> Option<&'static PostAction> {
        self.extras.as_ref().and_then(|e| e.action)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let extras = self.extras.map(|e| *e).unwrap_or_default();
        let page = ErrorPage {
            title: self.title,
            message: &self.message,
            details: &self.details,
            link_href: &self.link.0,
            link_label: self.link.1,
            action: extras.action.map(|a| (a.href, a.label)),
        };
        let mut response = (self.status, Page(page)).into_response();
        finish(&mut response, extras);
        response
    }
}

/// Adds what an error's extras ask for to its response.
fn finish(response: &mut Response, extras: Extras) {
    if let Some(seconds) = extras.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if extras.no_store {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(cause) = extras.cause {
        response.extensions_mut().insert(FailureCause(cause));
    }
    if let Some(refused) = extras.refused {
        response.extensions_mut().insert(refused);
    }
}

/// Errors of `/api/*` routes: `{"error": "...", "problems": [...]}` with a
/// fitting status. `problems` lists every finding when a cookie was refused.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ApiErrorBody,
    extras: Option<Box<Extras>>,
}

/// The JSON of every API error.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiErrorBody {
    /// What went wrong and what to do, in a sentence.
    pub error: String,
    /// For a refused cookie: every finding, errors first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Finding>,
}

impl ApiError {
    fn new(status: StatusCode, error: impl Into<String>) -> Self {
        Self {
            status,
            body: ApiErrorBody {
                error: error.into(),
                problems: Vec::new(),
            },
            extras: None,
        }
    }

    /// 404.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "no such API route; see /api/openapi.json",
        )
    }

    /// 404: no lab run with this id (runs are kept for 10 minutes).
    pub fn lab_run_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "no lab run with this id: the cross-site lab keeps a run for 10 minutes; start a new one at /lab",
        )
    }

    /// 503: the lab's run store can't be reached.
    pub fn lab_store_unavailable(cause: impl fmt::Display) -> Self {
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the store that keeps the lab's runs can't be reached; try again in a minute",
        );
        error.extras = Some(Box::new(Extras {
            cause: Some(cause.to_string()),
            ..Extras::default()
        }));
        error
    }

    /// 422: input that is not what the route takes.
    pub fn unprocessable(error: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, error)
    }

    /// A cookie that was not sent: 422 (403 for a GET from another site),
    /// nothing set.
    pub fn refused(refused: Refused) -> Self {
        let status = match refused.withheld() {
            Some(Withheld::CrossSite { .. }) => StatusCode::FORBIDDEN,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let mut error = Self::new(status, refused.reason());
        error.body.problems = refused.findings().to_vec();
        error.extras = Some(Box::new(Extras {
            refused: Some(refused.counted()),
            ..Extras::default()
        }));
        error
    }

    /// 500: the cause goes to the log line.
    pub fn internal(cause: impl fmt::Display) -> Self {
        let mut error = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal server error; the server log says why",
        );
        error.extras = Some(Box::new(Extras {
            cause: Some(cause.to_string()),
            ..Extras::default()
        }));
        error
    }

    /// The same error as a page would say it, for middleware that answers
    /// before any route decides (a button becomes a sentence).
    pub fn from_page(page: PageError) -> Self {
        let mut extras = page.extras.map(|e| *e).unwrap_or_default();
        let error = match extras.action.take() {
            Some(action) => format!("{} ({}: POST {})", page.message, action.label, action.href),
            None => page.message,
        };
        let mut api = Self::new(page.status, error);
        api.extras = Some(Box::new(extras));
        api
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let extras = self.extras.map(|e| *e).unwrap_or_default();
        let mut response = (self.status, Json(self.body)).into_response();
        finish(&mut response, extras);
        response
    }
}

/// An error as the client expects it: JSON under `/api/`, a page elsewhere.
/// For middleware, which runs before any handler decides.
pub fn error_response(path: &str, page: PageError) -> Response {
    if path.starts_with("/api/") {
        ApiError::from_page(page).into_response()
    } else {
        page.into_response()
    }
}

/// Form and JSON bodies larger than this get a 413: every form here is
/// tiny, and the largest legitimate one (a 4 KB cookie value) fits four
/// times over. Bodies are only read by [`PageForm`] and [`ApiJson`], which
/// apply it themselves: a `DefaultBodyLimit` layer would cost every request
/// an extension (and, as a `Router::layer`, a boxed service and future).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A form body for a page route; a body that can't be read is already the
/// error page that says why (axum's `Form` rejection, word for word).
pub struct PageForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PageForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let method = request.method();
        if method == axum::http::Method::GET
            || method == axum::http::Method::HEAD
            || !has_content_type(request.headers(), FORM_CONTENT_TYPE)
        {
            // A query, or a body axum's `Form` refuses without reading it.
            return axum_form(request, state).await;
        }
        let bytes = read_body(request)
            .await
            .map_err(|(status, text)| PageError::body_unreadable(status, &text))?;
        // Decoded straight away: axum's `Form` also tracks the path of the
        // field being read (serde_path_to_error) for its error message,
        // which cost more than the decoding. Only a form that fails is
        // decoded again by `Form`, for that message.
        if let Ok(value) = serde_urlencoded::from_bytes(&bytes) {
            return Ok(Self(value));
        }
        let again = Request::post("/")
            .header(header::CONTENT_TYPE, FORM_CONTENT_TYPE)
            .body(axum::body::Body::from(bytes))
            .map_err(PageError::internal)?;
        axum_form(again, state).await
    }
}

const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

async fn axum_form<T: DeserializeOwned, S: Send + Sync>(
    request: Request,
    state: &S,
) -> Result<PageForm<T>, PageError> {
    Form::<T>::from_request(limited(request), state)
        .await
        .map(|Form(value)| PageForm(value))
        .map_err(|rejection| PageError::form_rejected(&rejection))
}

/// axum's test for a content type (`extract::has_content_type`).
fn has_content_type(headers: &axum::http::HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with(expected))
}

/// The request with its body cut at [`MAX_BODY_BYTES`], for axum's own
/// extractors (which then say "length limit exceeded" as they would under
/// `DefaultBodyLimit`).
fn limited(request: Request) -> Request {
    request.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, MAX_BODY_BYTES)))
}

/// The body, at most [`MAX_BODY_BYTES`]; else the status and text of
/// axum's rejection for a body that can't be buffered. What
/// `axum::body::to_bytes` does, without its queue of frames: a body in one
/// frame (any small form) is kept as it arrived, with no allocation.
async fn read_body(request: Request) -> Result<axum::body::Bytes, (StatusCode, String)> {
    use http_body_util::BodyExt as _;

    let refusal = |err: axum::BoxError| {
        let status = if err.is::<http_body_util::LengthLimitError>() {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::BAD_REQUEST
        };
        (status, format!("Failed to buffer the request body: {err}"))
    };
    let mut body = http_body_util::Limited::new(request.into_body(), MAX_BODY_BYTES);
    let mut first = axum::body::Bytes::new();
    let mut joined: Option<Vec<u8>> = None;
    while let Some(frame) = body.frame().await {
        // Trailers are not part of the body (nor of to_bytes's answer).
        let Ok(data) = frame.map_err(refusal)?.into_data() else {
            continue;
        };
        match &mut joined {
            Some(joined) => joined.extend_from_slice(&data),
            None if first.is_empty() => first = data,
            None => {
                let mut both = Vec::with_capacity(first.len() + data.len());
                both.extend_from_slice(&first);
                both.extend_from_slice(&data);
                joined = Some(both);
            }
        }
    }
    Ok(joined.map_or(first, axum::body::Bytes::from))
}

/// A query string for a page route.
pub struct PageQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for PageQuery<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| PageError::query_rejected(&rejection))
    }
}

/// A JSON body for an API route; one that can't be read is already the
/// JSON error that says why (400, 415 or 422).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let unreadable = |status, text: &str| {
            ApiError::new(
                status,
                format!("the request body could not be read: {text}"),
            )
        };
        let rejected =
            |rejection: JsonRejection| unreadable(rejection.status(), &rejection.body_text());
        // The usual content type goes straight to the parser; any other is
        // judged by axum's `Json`, which knows every JSON media type.
        let plain_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|value| value == "application/json");
        if !plain_json {
            return Json::<T>::from_request(limited(request), state)
                .await
                .map(|Json(value)| Self(value))
                .map_err(rejected);
        }
        let bytes = read_body(request)
            .await
            .map_err(|(status, text)| unreadable(status, &text))?;
        Json::<T>::from_bytes(&bytes)
            .map(|Json(value)| Self(value))
            .map_err(rejected)
    }
}

/// A query string for an API route.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection: QueryRejection| {
                ApiError::new(
                    rejection.status(),
                    format!(
                        "the query string could not be read: {}",
                        rejection.body_text()
                    ),
                )
            })
    }
}

fn capitalise(sentence: &str) -> String {
    let mut chars = sentence.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::extract::DefaultBodyLimit;
    use serde::Deserialize;
    use tower::ServiceExt;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct OneField {
        #[serde(rename = "userID")]
        user_id: String,
    }

    fn request(content_type: Option<&str>, body: impl Into<Body>) -> Request {
        let mut builder = Request::post("/");
        if let Some(content_type) = content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        builder.body(body.into()).unwrap()
    }

    /// What axum's own extractor answered under `DefaultBodyLimit`, as the
    /// routes used them before the extractors applied the limit.
    async fn axum_answer<E>(request: Request) -> (StatusCode, String)
    where
        E: FromRequest<()> + Send + 'static,
        E::Rejection: std::fmt::Display + IntoResponse,
    {
        let extract = tower::service_fn(|request: Request| async move {
            Ok::<_, std::convert::Infallible>(match E::from_request(request, &()).await {
                Ok(_) => (StatusCode::OK, String::new()),
                Err(rejection) => {
                    let text = rejection.to_string();
                    (rejection.into_response().status(), text)
                }
            })
        });
        tower::Layer::layer(&DefaultBodyLimit::max(MAX_BODY_BYTES), extract)
            .oneshot(request)
            .await
            .unwrap()
    }

    /// The cases reach the refusals: two bodies over the limit, and at
    /// least four other ways to fail.
    fn assert_cases_refused(refused: &[StatusCode]) {
        let too_large = refused
            .iter()
            .filter(|s| **s == StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(too_large.count(), 2, "{refused:?}");
        assert!(refused.len() >= 6, "{refused:?}");
    }

    fn form_cases() -> Vec<(Option<&'static str>, String)> {
        let form = Some(FORM_CONTENT_TYPE);
        vec![
            (form, "userID=alice".to_owned()),
            (form, format!("userID={}", "x".repeat(MAX_BODY_BYTES - 7))),
            (form, format!("userID={}", "x".repeat(MAX_BODY_BYTES - 6))),
            (form, format!("userID={}", "x".repeat(17 * 1024))),
            (form, "user=alice".to_owned()),
            (form, "userID=a&userID=b".to_owned()),
            (form, "userID=%ZZ%FF".to_owned()),
            (
                Some("application/x-www-form-urlencoded; charset=utf-8"),
                "userID=b".to_owned(),
            ),
            (Some("text/plain"), "userID=alice".to_owned()),
            (Some("text/plain"), "x".repeat(17 * 1024)),
            (None, "userID=alice".to_owned()),
        ]
    }

    /// Both answers to the same body, `make` building it twice: axum's
    /// `Form` under the 16 KiB `DefaultBodyLimit`, and `PageForm`'s, held to
    /// the same status and words. The status, and `PageForm`'s value.
    async fn page_form_as_axum(
        content_type: Option<&str>,
        make: impl Fn() -> Body,
        case: &str,
    ) -> (StatusCode, Option<OneField>) {
        let (status, text) = axum_answer::<Form<OneField>>(request(content_type, make())).await;
        match PageForm::<OneField>::from_request(request(content_type, make()), &()).await {
            Ok(PageForm(value)) => {
                assert_eq!(status, StatusCode::OK, "{case}: {value:?}");
                (status, Some(value))
            }
            Err(page) => {
                assert_eq!(page.status, status, "{case}");
                assert_eq!(
                    page.message,
                    format!("{text}. Go back and submit the form again."),
                    "{case}"
                );
                (status, None)
            }
        }
    }

    /// `PageForm` reads the body and decodes it itself, but every answer is
    /// the one axum's `Form` gave under the 16 KiB `DefaultBodyLimit`: the
    /// value, or the status and words of the error.
    #[tokio::test]
    async fn page_form_answers_as_axum_form_under_the_body_limit() {
        let mut refused = Vec::new();
        for (content_type, body) in form_cases() {
            let case = format!("{content_type:?} {}", &body[..body.len().min(40)]);
            let make = || Body::from(body.clone());
            match page_form_as_axum(content_type, make, &case).await {
                (_, Some(value)) => {
                    let expected: OneField = serde_urlencoded::from_str(&body).unwrap();
                    assert_eq!(value, expected, "{case}");
                }
                (status, None) => refused.push(status),
            }
        }
        assert_cases_refused(&refused);
    }

    /// A body that arrives in these frames, or fails where one is `None`.
    fn in_frames(frames: &[Option<String>]) -> Body {
        let frames: Vec<Result<String, std::io::Error>> = frames
            .iter()
            .map(|frame| {
                frame
                    .clone()
                    .ok_or_else(|| std::io::Error::other("the connection broke"))
            })
            .collect();
        Body::from_stream(futures_util::stream::iter(frames))
    }

    /// A form in several frames (an empty one among them) is joined; one
    /// over the limit only in total, or one whose stream fails, is refused
    /// with axum's status and words.
    #[tokio::test]
    async fn a_body_in_many_frames_is_read_as_axum_reads_it() {
        let frame = |text: &str| Some(text.to_owned());
        let half = "x".repeat(MAX_BODY_BYTES / 2);
        let cases = [
            vec![frame("user"), frame(""), frame("ID=al"), frame("ice")],
            vec![frame(""), frame("userID=alice")],
            vec![frame("userID="), frame(&half), frame(&half)],
            vec![frame("userID=a"), None],
        ];
        let mut answers = Vec::new();
        for frames in &cases {
            let case = format!("{frames:.20?}");
            let make = || in_frames(frames);
            let (status, value) = page_form_as_axum(Some(FORM_CONTENT_TYPE), make, &case).await;
            if let Some(value) = value {
                assert_eq!(value.user_id, "alice");
            }
            answers.push(status);
        }
        assert_eq!(
            answers,
            [
                StatusCode::OK,
                StatusCode::OK,
                StatusCode::PAYLOAD_TOO_LARGE,
                StatusCode::BAD_REQUEST
            ]
        );
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code, reason = "only read by Debug")]
    struct Named {
        name: String,
    }

    /// `ApiJson` likewise answers as axum's `Json` under the limit.
    #[tokio::test]
    async fn api_json_answers_as_axum_json_under_the_body_limit() {
        let json = Some("application/json");
        let cases = [
            (json, r#"{"name":"a"}"#.to_owned()),
            (json, format!(r#"{{"name":"{}"}}"#, "x".repeat(17 * 1024))),
            (
                json,
                format!(r#"{{"name":"{}"}}"#, "x".repeat(MAX_BODY_BYTES - 12)),
            ),
            (json, r#"{"name":"#.to_owned()),
            (json, r#"{"name":1}"#.to_owned()),
            (json, "{}".to_owned()),
            (
                Some("application/vnd.api+json"),
                r#"{"name":"a"}"#.to_owned(),
            ),
            (Some("application/vnd.api+json"), "x".repeat(17 * 1024)),
            (Some("text/plain"), r#"{"name":"a"}"#.to_owned()),
            (None, r#"{"name":"a"}"#.to_owned()),
        ];
        let mut refused = Vec::new();
        for (content_type, body) in cases {
            let (status, text) =
                axum_answer::<Json<Named>>(request(content_type, body.clone())).await;
            let ours =
                ApiJson::<Named>::from_request(request(content_type, body.clone()), &()).await;
            let case = format!("{content_type:?} {}", &body[..body.len().min(40)]);
            match ours {
                Ok(ApiJson(value)) => assert_eq!(status, StatusCode::OK, "{case}: {value:?}"),
                Err(error) => {
                    refused.push(status);
                    assert_eq!(error.status, status, "{case}");
                    assert_eq!(
                        error.body.error,
                        format!("the request body could not be read: {text}"),
                        "{case}"
                    );
                }
            }
        }
        assert_cases_refused(&refused);
    }
}
