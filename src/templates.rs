//! One typed template per page (askama: compiled in, auto-escaped).
//! The names follow the tutorial's templates.

use askama::Template;

use crate::cookies::Finding;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// A time as pages show it: `2026-11-26 22:45:20 UTC`.
pub fn format_utc(at: time::OffsetDateTime) -> String {
    at.format(time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
    ))
    .unwrap_or_else(|_| at.to_string())
}

/// Renders a template as an HTML response.
pub struct Page<T>(pub T);

impl<T: Template> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        match self.0.render() {
            Ok(html) => Html(html).into_response(),
            Err(err) => {
                tracing::error!(error = %err, "template failed to render");
                (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
            }
        }
    }
}

/// `/`: the tutorial's form.
#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage;

/// After `POST /code/set/cookie`.
#[derive(Template)]
#[template(path = "readcookie.html")]
pub struct ReadCookiePage<'a> {
    pub user_id: &'a str,
    pub set_cookie: &'a str,
}

/// `/getcookie`.
#[derive(Template)]
#[template(path = "getcookie.html")]
pub struct GetCookiePage<'a> {
    pub user_id: Option<&'a str>,
}

/// A received cookie as a table row.
pub struct CookieRow<'a> {
    pub name: &'a str,
    pub value: &'a str,
    pub bytes: usize,
}

/// `/cookies`: the max_age/path demo.
#[derive(Template)]
#[template(path = "cookies.html")]
pub struct CookiesPage<'a> {
    pub received: Vec<CookieRow<'a>>,
    pub header_bytes: usize,
    pub set_cookie: &'a str,
    pub max_age: u32,
}

/// `/cookies/delete`.
#[derive(Template)]
#[template(path = "deleted.html")]
pub struct DeletedPage<'a> {
    pub name: &'a str,
    pub set_cookie: &'a str,
}

/// `GET /login`.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub email: &'a str,
}

/// After a good `POST /login`.
#[derive(Template)]
#[template(path = "success.html")]
pub struct SuccessPage<'a> {
    pub email: &'a str,
}

/// `/profile`.
#[derive(Template)]
#[template(path = "profile.html")]
pub struct ProfilePage<'a> {
    pub email: &'a str,
    pub issued: String,
    pub expires: String,
}

/// `/client`: cookies set from JavaScript.
#[derive(Template)]
#[template(path = "client.html")]
pub struct ClientPage;

/// One row of the inspector's table.
pub struct InspectRow {
    pub name: String,
    pub value: String,
    pub bytes: usize,
    /// What the cookie is, in words.
    pub kind: String,
    /// `ok`, `warn`, `bad` or `neutral`: the badge colour.
    pub tone: &'static str,
    /// The login cookie: offer "log out" rather than "delete".
    pub login: bool,
    /// False for names no Set-Cookie could address (not a token).
    pub deletable: bool,
}

/// The workbench's fields, to fill the form in again.
#[derive(Debug, Clone)]
pub struct Workbench {
    pub name: String,
    pub value: String,
    pub max_age: String,
    pub expires: String,
    pub path: String,
    pub domain: String,
    pub secure: bool,
    pub http_only: bool,
    pub same_site: String,
    pub partitioned: bool,
}

impl Default for Workbench {
    fn default() -> Self {
        Self {
            name: String::new(),
            value: String::new(),
            max_age: String::new(),
            expires: String::new(),
            path: "/".to_owned(),
            domain: String::new(),
            secure: false,
            http_only: false,
            same_site: "Lax".to_owned(),
            partitioned: false,
        }
    }
}

/// What the workbench did with the last submission.
pub enum WorkbenchOutcome {
    Sent {
        header: String,
        warnings: Vec<Finding>,
    },
    Refused {
        header: String,
        errors: Vec<Finding>,
        warnings: Vec<Finding>,
    },
    Invalid {
        problems: Vec<String>,
    },
}

/// `/inspect`.
#[derive(Template)]
#[template(path = "inspect.html")]
pub struct InspectPage {
    pub rows: Vec<InspectRow>,
    /// Cookies past the rows shown.
    pub not_shown: usize,
    pub count: usize,
    pub header_bytes: usize,
    pub warn_count: usize,
    pub warn_bytes: usize,
    pub budget: Vec<Finding>,
    pub workbench: Workbench,
    pub outcome: Option<WorkbenchOutcome>,
}

/// Every error, the tutorial's failed login included.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub details: &'a [String],
    pub link_href: &'a str,
    pub link_label: &'a str,
    /// A button that posts to this site: where, and its label.
    pub action: Option<(&'static str, &'static str)>,
}
