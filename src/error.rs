//! Errors of HTML routes: each becomes a page that says what went wrong and
//! what to do, with a fitting status. Details of 5xx errors are logged once,
//! here, and never shown.

use std::borrow::Cow;
use std::fmt;

use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::Serialize;

use crate::cookies::{Finding, Refused, Withheld};
use crate::templates::{ErrorPage, Page};

/// An error page.
#[derive(Debug, Clone)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
    pub details: Box<[String]>,
    /// A link onwards: where, and its label.
    pub link: (Cow<'static, str>, &'static str),
    /// A button that posts to a route of this site.
    pub action: Option<&'static PostAction>,
}

/// A button on an error page that posts to a route of this site.
#[derive(Debug)]
pub struct PostAction {
    pub href: &'static str,
    pub label: &'static str,
}

impl PageError {
    pub fn new(status: StatusCode, title: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            title: title.into(),
            message: message.into(),
            details: Box::default(),
            link: (Cow::Borrowed("/"), "Back to the start page"),
            action: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "That request doesn't work",
            message,
        )
    }

    pub fn unprocessable(title: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, title, message)
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Page not found",
            "There is no page at this address. The start page links to every demo.",
        )
    }

    /// A server fault: the cause goes to the log, the user gets a generic page.
    pub fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on our side",
            "The server hit an unexpected problem. Try again; if it keeps happening, the server log says why.",
        )
    }

    /// A cookie that was not sent, and why: 422 when a browser would drop it
    /// or its name is reserved, 403 for a GET from another site (with a
    /// link to try again from this site).
    pub fn refused(refused: &Refused) -> Self {
        match refused.withheld() {
            None => Self {
                details: refused
                    .errors()
                    .map(|f| format!("{} ({}) — {}", f.message, f.label(), f.fix))
                    .collect::<Vec<_>>()
                    .into_boxed_slice(),
                ..Self::unprocessable(
                    "The browser would drop this cookie",
                    format!(
                        "cookie-lab did not send the cookie {:?}: the page that set it would never learn that a browser dropped it (only Firefox's web console and Chromium's DevTools say so), so it is refused here instead.",
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
        }
    }

    pub fn with_link(mut self, href: impl Into<Cow<'static, str>>, label: &'static str) -> Self {
        self.link = (href.into(), label);
        self
    }

    /// Adds a button that posts to `href` on this site.
    pub fn with_action(mut self, action: &'static PostAction) -> Self {
        self.action = Some(action);
        self
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            title: &self.title,
            message: &self.message,
            details: &self.details,
            link_href: &self.link.0,
            link_label: self.link.1,
            action: self.action.map(|a| (a.href, a.label)),
        };
        (self.status, Page(page)).into_response()
    }
}

/// Unwraps a form body, or explains why it could not be read.
pub fn form<T>(form: Result<Form<T>, FormRejection>) -> Result<T, PageError> {
    form.map(|Form(value)| value).map_err(|rejection| {
        PageError::new(
            rejection.status(),
            "The form could not be read",
            format!(
                "{}. Go back and submit the form again.",
                rejection.body_text()
            ),
        )
    })
}

/// Explains a query string that could not be read.
pub fn query_rejection(rejection: QueryRejection) -> PageError {
    PageError::bad_request(format!(
        "The query string could not be read: {}.",
        rejection.body_text()
    ))
}

/// Errors of `/api/*` routes: `{"error": "...", "problems": [...]}` with a
/// fitting status. `problems` lists every finding when a cookie was refused.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ApiErrorBody,
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
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        Self {
            status,
            body: ApiErrorBody {
                error: error.into(),
                problems: Vec::new(),
            },
        }
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "no such API route; see /api/openapi.json",
        )
    }

    /// A cookie that was not sent: 422 (403 for a GET from another site),
    /// nothing set.
    pub fn refused(refused: Refused) -> Self {
        let status = match refused.withheld() {
            Some(Withheld::CrossSite { .. }) => StatusCode::FORBIDDEN,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let error = refused.reason();
        Self {
            status,
            body: ApiErrorBody {
                error,
                problems: refused.findings().to_vec(),
            },
        }
    }

    pub fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal server error; the server log says why",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        Self::new(
            rejection.status(),
            format!(
                "the request body could not be read: {}",
                rejection.body_text()
            ),
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(
            rejection.status(),
            format!(
                "the query string could not be read: {}",
                rejection.body_text()
            ),
        )
    }
}

/// An error as the client expects it: JSON under `/api/`, a page elsewhere.
/// For middleware, which runs before any handler decides.
pub fn error_response(path: &str, page: PageError) -> Response {
    if path.starts_with("/api/") {
        let error = match page.action {
            Some(action) => format!("{} ({}: POST {})", page.message, action.label, action.href),
            None => page.message,
        };
        ApiError::new(page.status, error).into_response()
    } else {
        page.into_response()
    }
}

fn capitalise(sentence: &str) -> String {
    let mut chars = sentence.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}
