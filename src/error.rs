//! Errors of HTML routes: each becomes a page that says what went wrong and
//! what to do, with a fitting status. Details of 5xx errors are logged once,
//! here, and never shown.

use std::fmt;

use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::Serialize;

use crate::cookies::{Finding, Refused};
use crate::templates::{ErrorPage, Page};

/// An error page.
#[derive(Debug, Clone)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
    pub details: Vec<String>,
    pub link: (&'static str, &'static str),
}

impl PageError {
    pub fn new(status: StatusCode, title: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            title: title.into(),
            message: message.into(),
            details: Vec::new(),
            link: ("/", "Back to the start page"),
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

    /// A cookie the browser would drop: nothing was sent, and here is why.
    pub fn refused(refused: &Refused) -> Self {
        Self {
            details: refused
                .errors()
                .map(|f| format!("{} ({}) — {}", f.message, f.rule, f.fix))
                .collect(),
            ..Self::unprocessable(
                "The browser would drop this cookie",
                format!(
                    "cookie-lab did not send the cookie {:?}: a browser would reject it without a word, so it is refused here instead.",
                    refused.spec_name
                ),
            )
        }
    }

    pub fn with_link(mut self, href: &'static str, label: &'static str) -> Self {
        self.link = (href, label);
        self
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            title: &self.title,
            message: &self.message,
            details: &self.details,
            link_href: self.link.0,
            link_label: self.link.1,
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

    /// A cookie a browser would reject: 422, nothing set.
    pub fn refused(refused: Refused) -> Self {
        let reasons: Vec<&str> = refused.errors().map(|f| f.message.as_str()).collect();
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: ApiErrorBody {
                error: format!(
                    "cookie {:?} was not set because a browser would reject it: {}",
                    refused.spec_name,
                    reasons.join(" ")
                ),
                problems: refused.findings,
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
        ApiError::new(page.status, page.message).into_response()
    } else {
        page.into_response()
    }
}
