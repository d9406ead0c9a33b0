//! One typed template per page (askama: compiled in, auto-escaped).
//! The names follow the tutorial's templates.

use std::sync::LazyLock;

use askama::Template;
use axum::body::Bytes;

use crate::cookies::Finding;
use crate::engine::{Engine, Outcome};
use crate::lint::LintReport;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A time as pages show it: `2026-11-26 22:45:20 UTC`. Written digit by
/// digit: through `time`'s format descriptions it cost 1.6k instructions a
/// call, and `/profile` makes two.
pub fn format_utc(at: time::OffsetDateTime) -> String {
    let year = at.year();
    if !(0..=9999).contains(&year) {
        return at.to_string();
    }
    let mut text = String::with_capacity(23);
    // Each value is below 10000 (the year) or 100 (the rest), so every
    // digit is below 10.
    let year = year.unsigned_abs();
    for place in [1000, 100, 10, 1] {
        text.push(char::from(b'0' + (year / place % 10) as u8));
    }
    let rest = [
        ('-', u8::from(at.month())),
        ('-', at.day()),
        (' ', at.hour()),
        (':', at.minute()),
        (':', at.second()),
    ];
    for (separator, value) in rest {
        text.push(separator);
        text.push(char::from(b'0' + value / 10));
        text.push(char::from(b'0' + value % 10));
    }
    text.push_str(" UTC");
    text
}

/// Renders a template as an HTML response.
pub struct Page<T>(pub T);

/// A page rendered on this thread grows this buffer once and then reuses
/// it: rendering into a fresh `String` regrew it two or three times per
/// page (askama's size hint is the template's text, not the page's), each
/// a large allocation. The page leaves as one copy of its exact size.
const RENDER_BUFFER_KEPT: usize = 64 * 1024;

thread_local! {
    static RENDER_BUFFER: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

impl<T: Template> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        let rendered = RENDER_BUFFER.with(|buffer| {
            // Rendering never renders another page, but if it ever did, the
            // inner one just gets a buffer of its own.
            let Ok(mut buffer) = buffer.try_borrow_mut() else {
                return self.0.render().map(Bytes::from);
            };
            buffer.clear();
            buffer.reserve(T::SIZE_HINT);
            self.0.render_into(&mut *buffer)?;
            // A page too large to keep the buffer for leaves in it, uncopied.
            Ok(if buffer.capacity() > RENDER_BUFFER_KEPT {
                Bytes::from(std::mem::take(&mut *buffer))
            } else {
                Bytes::copy_from_slice(buffer.as_bytes())
            })
        });
        match rendered {
            Ok(html) => html_response(html),
            Err(err) => render_failed(&err),
        }
    }
}

/// Room for every header a page's response ends up with (the type, the
/// length, the security headers, a few `Set-Cookie`, `Cache-Control`...), so
/// the map is allocated once instead of regrown as they are added.
const PAGE_HEADERS: usize = 12;

/// An HTML response, as axum's `Html` makes it, with room for its headers.
fn html_response(html: Bytes) -> Response {
    let mut response = Response::new(axum::body::Body::from(html));
    let headers = response.headers_mut();
    headers.reserve(PAGE_HEADERS);
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

fn render_failed(err: &dyn std::fmt::Display) -> Response {
    let mut response = (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response();
    response
        .extensions_mut()
        .insert(crate::telemetry::FailureCause(format!(
            "a template failed to render: {err}"
        )));
    response
}

/// `/`, which shows nothing of the request: rendered once, then every
/// answer shares the bytes.
pub fn index_page() -> Response {
    static HTML: LazyLock<Result<Bytes, String>> = LazyLock::new(|| {
        IndexPage
            .render()
            .map(Bytes::from)
            .map_err(|err| err.to_string())
    });
    match &*HTML {
        Ok(html) => html_response(html.clone()),
        Err(err) => render_failed(err),
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
        engines: Vec<EngineColumn>,
    },
    Refused {
        header: String,
        errors: Vec<Finding>,
        warnings: Vec<Finding>,
        engines: Vec<EngineColumn>,
    },
    Invalid {
        problems: Vec<String>,
    },
}

/// One engine's column of the workbench's side-by-side verdict.
pub struct EngineColumn {
    /// `Chromium 156`, `Firefox ESR 153`.
    pub engine: String,
    /// `chromium` or `firefox`, for tests.
    pub id: &'static str,
    pub stored: bool,
    /// What the engine does, in a few words.
    pub outcome: &'static str,
    /// The cookie as this engine stores it: (attribute, value).
    pub rows: Vec<(&'static str, String)>,
    /// The engine's reasons: (its id, what it means).
    pub reasons: Vec<(&'static str, &'static str)>,
}

/// Each engine's verdict of `report`, as columns side by side.
pub fn engine_columns(report: &LintReport) -> Vec<EngineColumn> {
    [
        (Engine::Chromium, "Chromium", report.modelled.chromium),
        (Engine::Firefox, "Firefox", report.modelled.firefox),
    ]
    .into_iter()
    .map(|(engine, name, version)| {
        let verdict = report.engines.get(engine);
        let mut rows = Vec::new();
        if let Some(cookie) = verdict.cookie.as_ref().filter(|_| verdict.stored) {
            let same_site = |s: &crate::engine::SameSite| {
                serde_json::to_value(s)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            };
            rows = vec![
                ("Name", cookie.name.clone()),
                ("Value", cookie.value.clone()),
                (
                    "Domain",
                    if cookie.host_only {
                        format!("{} (this host only)", cookie.domain)
                    } else {
                        format!("{} and its subdomains", cookie.domain)
                    },
                ),
                ("Path", cookie.path.clone()),
                (
                    "Expires",
                    if cookie.capped {
                        format!("{} (capped at 400 days)", cookie.expires)
                    } else {
                        cookie.expires.clone()
                    },
                ),
                ("Secure", yes_no(cookie.secure)),
                ("HttpOnly", yes_no(cookie.http_only)),
                (
                    "SameSite",
                    format!(
                        "{} (acts as {})",
                        same_site(&cookie.same_site),
                        same_site(&cookie.effective_same_site)
                    ),
                ),
                ("Partitioned", yes_no(cookie.partitioned)),
            ];
        }
        let reasons = verdict
            .reasons
            .iter()
            .chain(&verdict.warnings)
            .map(|r| (r.id, r.explanation))
            .chain(
                verdict
                    .ignored
                    .iter()
                    .filter(|i| !i.cause.is_harmless())
                    .map(|i| (i.reason.unwrap_or("ignored"), i.explanation)),
            )
            .collect();
        EngineColumn {
            engine: format!("{name} {version}"),
            id: engine.name(),
            stored: verdict.stored,
            outcome: match verdict.outcome {
                Outcome::Stored => "stores it",
                Outcome::Rejected => "drops it",
                Outcome::Deleted => "deletes any cookie it matches",
                Outcome::Blocked => "blocks it (third-party setting)",
                Outcome::ResponseFailed => "fails the whole response",
            },
            rows,
            reasons,
        }
    })
    .collect()
}

fn yes_no(flag: bool) -> String {
    if flag { "yes" } else { "no" }.to_owned()
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

/// `/lab`: the cross-site lab.
#[derive(Template)]
#[template(path = "lab.html")]
pub struct LabPage {
    /// Site A, this page's origin.
    pub a: String,
    /// Site B, when there is one.
    pub b: Option<String>,
    /// Why there is no site B.
    pub no_peer: Option<String>,
    /// The third-party settings pre-selected in the form.
    pub chromium_allow: bool,
    pub firefox: &'static str,
    /// `?run=1`: the page starts a run as soon as it loads.
    pub autostart: bool,
    /// Back from clearing the lab's cookies.
    pub cleared: bool,
    /// The step the page's script runs now (`embedded`, `post`,
    /// `redirect`, `popup`, `done`), or empty.
    pub step: &'static str,
    pub run: Option<LabRunView>,
}

/// A run on the lab page.
pub struct LabRunView {
    pub id: String,
    pub b: String,
    /// Every step that needs no click has been seen.
    pub done: bool,
    pub popup_seen: bool,
    pub browser: String,
    pub model: String,
    pub policy: String,
    pub status: String,
    pub age_at_post: Option<i64>,
    pub mismatches: usize,
    pub notes: Vec<String>,
    /// (id, title, the site whose cookies it carries).
    pub columns: Vec<(&'static str, &'static str, &'static str)>,
    pub rows: Vec<LabRow>,
    pub setting_columns: Vec<(&'static str, &'static str, &'static str)>,
    pub setting_rows: Vec<LabRow>,
    pub urls: LabUrls,
}

/// Where the page's script sends each step.
pub struct LabUrls {
    pub frame: String,
    pub image: String,
    pub cors: String,
    pub readback: String,
    pub link: String,
    pub post: String,
    pub redirect: String,
    pub popup: String,
    pub api: String,
    pub done: String,
}

/// A row of a lab matrix: one cookie.
pub struct LabRow {
    pub cookie: String,
    pub attributes: &'static str,
    pub cells: Vec<LabCellView>,
}

/// A cell of a lab matrix.
pub struct LabCellView {
    pub context: &'static str,
    /// What the browser did (`sent`, `not sent`, `stored`, …, or `…`).
    pub observed: &'static str,
    /// The model's prediction, or `no model`.
    pub predicted: &'static str,
    /// `ok`, `no`, `pending`: the cell's colour.
    pub tone: &'static str,
    pub reason: String,
    pub mismatch: bool,
    /// The popup cell before its click.
    pub needs_click: bool,
}

/// The small pages the lab's site B answers with (and the clearing pages).
#[derive(Template)]
#[template(path = "lab_peer.html")]
pub struct LabPeerPage<'a> {
    /// What `static/lab-peer.js` does: `forward`, `popup`, `frame`,
    /// `clear-frame`, `clear`.
    pub mode: &'static str,
    pub title: &'a str,
    pub message: &'a str,
    /// Where to go next (or, in a frame, the fetch to make), or empty.
    pub next: &'a str,
    /// The origin of the page that frames this one (for `postMessage`), or
    /// empty.
    pub parent: &'a str,
    /// An iframe to load (clearing the other site's partition), or empty.
    pub frame: &'a str,
    /// A form to post once the iframe is done, or empty.
    pub post: &'a str,
}

#[cfg(test)]
mod format_utc_tests {
    use time::macros::datetime;

    use super::format_utc;

    /// The digits written by hand are what `time`'s format description wrote.
    #[test]
    fn times_read_as_the_format_description_wrote_them() {
        let described =
            time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
        for at in [
            datetime!(2026-11-26 22:45:20 UTC),
            datetime!(0001-01-01 00:00:00 UTC),
            datetime!(9999-12-31 23:59:59 UTC),
            datetime!(2026-03-09 07:05:01 UTC),
        ] {
            assert_eq!(format_utc(at), at.format(described).unwrap());
        }
        assert_eq!(
            format_utc(datetime!(2026-11-26 22:45:20 UTC)),
            "2026-11-26 22:45:20 UTC"
        );
    }
}
