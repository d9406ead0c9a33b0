//! The inspector: every cookie the request carried and what it is, a
//! workbench that sets a cookie with any attributes (or says why a browser
//! would drop it), and a delete button per cookie. It replaces the browser's
//! dev tools that the tutorial sends readers to.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use super::no_store;
use crate::cookies::budget::{BROWSER_MAX_COOKIES_PER_SITE, WARN_COOKIE_COUNT, WARN_HEADER_BYTES};
use crate::cookies::inspect::{CookieKind, InspectedCookie, inspect};
use crate::cookies::login::LoginCookie;
use crate::cookies::reserved::reserved;
use crate::cookies::{
    CookieContext, CookieSpec, NamePrefix, Refused, RequestCookies, SameSite, SetCookies,
    check_request, prepare,
};
use crate::domain::CookieName;
use crate::error::{PageError, PageForm};
use crate::routes::table::Routes;
use crate::session::check_inspected;
use crate::state::AppState;
use crate::templates::{
    InspectPage, InspectRow, Page, Workbench, WorkbenchOutcome, engine_columns, format_utc,
};

/// The most cookies the inspector lists: what Chromium keeps for one site.
const MAX_ROWS: usize = BROWSER_MAX_COOKIES_PER_SITE;

/// The paths a cookie visible at `/inspect` can have (without a Domain):
/// a delete button removes the cookie at each.
const VISIBLE_PATHS: [&str; 2] = ["/", "/inspect"];

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/inspect", get(show).post(workbench))
        .route("/inspect/delete", post(delete))
}

/// `GET /inspect`.
async fn show(State(state): State<AppState>, received: RequestCookies) -> Response {
    page(&state, &received, Workbench::default(), None).await
}

/// The workbench's fields, as the browser posts them.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WorkbenchForm {
    name: String,
    value: String,
    max_age: String,
    expires: String,
    path: String,
    domain: String,
    secure: Option<String>,
    http_only: Option<String>,
    same_site: String,
    partitioned: Option<String>,
}

/// `POST /inspect`: set the workbench's cookie, or refuse it with reasons.
async fn workbench(
    State(state): State<AppState>,
    ctx: CookieContext,
    received: RequestCookies,
    PageForm(form): PageForm<WorkbenchForm>,
) -> Result<Response, PageError> {
    let now = OffsetDateTime::now_utc();
    let echo = Workbench {
        name: form.name.clone(),
        value: form.value.clone(),
        max_age: form.max_age.clone(),
        expires: form.expires.clone(),
        path: form.path.clone(),
        domain: form.domain.clone(),
        secure: form.secure.is_some(),
        http_only: form.http_only.is_some(),
        same_site: form.same_site.clone(),
        partitioned: form.partitioned.is_some(),
    };
    let spec = match spec_from_form(form) {
        Ok(spec) => spec,
        Err(problems) => {
            let outcome = WorkbenchOutcome::Invalid { problems };
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                page(&state, &received, echo, Some(outcome)).await,
            )
                .into_response());
        }
    };
    Ok(match prepare(&spec, &ctx, now) {
        Ok(cookie) => {
            let outcome = WorkbenchOutcome::Sent {
                header: cookie.header().to_owned(),
                warnings: cookie.warnings().to_vec(),
                engines: engine_columns(&cookie.report()),
            };
            let html = page(&state, &received, echo, Some(outcome)).await;
            (SetCookies::one(cookie), html).into_response()
        }
        Err(refused) => {
            let outcome = if refused.withheld().is_some() {
                WorkbenchOutcome::Invalid {
                    problems: vec![refused.reason()],
                }
            } else {
                WorkbenchOutcome::Refused {
                    header: spec.to_header_value(now),
                    errors: refused.errors().cloned().collect(),
                    warnings: refused.warnings().cloned().collect(),
                    engines: refused.report().map(engine_columns).unwrap_or_default(),
                }
            };
            // The page is the answer; the refusal still counts in /metrics.
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Extension(refused.counted()),
                page(&state, &received, echo, Some(outcome)).await,
            )
                .into_response()
        }
    })
}

fn spec_from_form(form: WorkbenchForm) -> Result<CookieSpec, Vec<String>> {
    let mut problems = Vec::new();
    let max_age = match form.max_age.trim() {
        "" => None,
        raw => match raw.parse::<i64>() {
            Ok(seconds) => Some(Duration::seconds(seconds)),
            Err(_) => {
                problems.push(format!(
                    "Max-Age must be a whole number of seconds, got {raw:?}."
                ));
                None
            }
        },
    };
    let expires = match form.expires.trim() {
        "" => None,
        raw => match parse_expires(raw) {
            Some(at) => Some(at),
            None => {
                problems.push(format!(
                    "Expires must be a date and time like 2027-01-31T12:00 (UTC), got {raw:?}."
                ));
                None
            }
        },
    };
    let same_site = match form.same_site.trim() {
        "" => None,
        raw => match raw.parse::<SameSite>() {
            Ok(same_site) => Some(same_site),
            Err(err) => {
                problems.push(format!("{err}."));
                None
            }
        },
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let optional = |text: String| {
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_owned())
    };
    Ok(CookieSpec {
        max_age,
        expires,
        path: optional(form.path),
        domain: optional(form.domain),
        secure: form.secure.is_some(),
        http_only: form.http_only.is_some(),
        same_site,
        partitioned: form.partitioned.is_some(),
        ..CookieSpec::new(form.name.trim(), form.value)
    })
}

/// A `datetime-local` value (taken as UTC) or an RFC 3339 date-time.
fn parse_expires(raw: &str) -> Option<OffsetDateTime> {
    if let Ok(at) = OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339) {
        return Some(at);
    }
    let minutes = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    PrimitiveDateTime::parse(raw, &minutes)
        .or_else(|_| PrimitiveDateTime::parse(raw, &seconds))
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

#[derive(Deserialize)]
struct DeleteForm {
    name: String,
}

/// `POST /inspect/delete`: removes a cookie at every path visible here.
async fn delete(
    ctx: CookieContext,
    PageForm(form): PageForm<DeleteForm>,
) -> Result<Response, PageError> {
    let name = CookieName::parse(&form.name).map_err(|e| {
        PageError::bad_request(e.to_string()).with_link("/inspect", "Back to the inspector")
    })?;
    let now = OffsetDateTime::now_utc();
    let mut cookies = SetCookies::new();
    for path in removal_paths(name.as_str()) {
        let spec = CookieSpec::removal(name.as_str(), Some((*path).to_owned()), None);
        let back =
            |r: Refused| PageError::refused(&r).with_link("/inspect", "Back to the inspector");
        cookies
            .push(prepare(&spec, &ctx, now).map_err(back)?)
            .map_err(back)?;
    }
    Ok((cookies, Redirect::to("/inspect")).into_response())
}

/// Where a cookie of this name visible here can live: a `__Host-` cookie
/// only at `/` (a removal elsewhere would itself break the prefix's rules).
fn removal_paths(name: &str) -> &'static [&'static str] {
    if NamePrefix::of(name).is_some_and(NamePrefix::requires_host_only_root) {
        &VISIBLE_PATHS[..1]
    } else {
        &VISIBLE_PATHS
    }
}

async fn page(
    state: &AppState,
    received: &RequestCookies,
    workbench: Workbench,
    outcome: Option<WorkbenchOutcome>,
) -> Response {
    let now = OffsetDateTime::now_utc();
    let mut inspected = inspect(received, &state.keys, now);
    // A 64 KiB header holds some 16,000 tiny cookies: the page shows as
    // many as a browser keeps for a site and counts the rest.
    inspected.truncate(MAX_ROWS);
    if let Err(err) = check_inspected(state, &mut inspected, now).await {
        return PageError::store_unavailable(err).into_response();
    }
    let rows = inspected.iter().map(row).collect();
    let page = InspectPage {
        rows,
        not_shown: received.len().saturating_sub(MAX_ROWS),
        count: received.len(),
        header_bytes: received.header_bytes(),
        warn_count: WARN_COOKIE_COUNT,
        warn_bytes: WARN_HEADER_BYTES,
        budget: check_request(received),
        workbench,
        outcome,
    };
    (no_store(), Page(page)).into_response()
}

fn row(inspected: &InspectedCookie<'_>) -> InspectRow {
    let cookie = inspected.cookie;
    let (kind, tone) = match &inspected.kind {
        CookieKind::Plain { decodable: true } => ("plain cookie".to_owned(), "neutral"),
        CookieKind::Plain { decodable: false } => (
            "plain cookie · its %-escapes aren't UTF-8, so the raw value is shown".to_owned(),
            "warn",
        ),
        CookieKind::Login(LoginCookie::Valid { claims, current_key }) => (
            format!(
                "login cookie · valid · {} · expires {}{}",
                claims.email,
                format_utc(claims.exp),
                if *current_key { "" } else { " · sealed by an older key (resealed on the next /profile visit)" }
            ),
            "ok",
        ),
        CookieKind::Login(LoginCookie::Tampered) => (
            "login cookie · tampered: not sealed by any of our keys under this name — means logged out".to_owned(),
            "bad",
        ),
        CookieKind::Login(LoginCookie::Expired { claims }) => (
            format!("login cookie · expired {} — means logged out", format_utc(claims.exp)),
            "bad",
        ),
        CookieKind::Login(LoginCookie::UnknownKey { key_id }) => (
            format!("login cookie · sealed by key {key_id}, which this server doesn't hold — means logged out"),
            "bad",
        ),
        CookieKind::Login(LoginCookie::Revoked { claims }) => (
            format!("login cookie · revoked: {} logged out of this session — means logged out", claims.email),
            "bad",
        ),
        CookieKind::Login(LoginCookie::Absent) => ("login cookie".to_owned(), "neutral"),
    };
    let kind = if inspected.shadowed {
        format!(
            "{kind} · shadowed: an earlier cookie has the same name, and servers read the first"
        )
    } else {
        kind
    };
    let kind = if inspected.unchecked {
        format!("{kind} · not checked against logouts (one request checks at most two sessions)")
    } else {
        kind
    };
    InspectRow {
        name: cookie.name.to_owned(),
        value: cookie.shown_value().to_owned(),
        bytes: cookie.size(),
        kind,
        tone,
        login: cookie.is_login_cookie(),
        deletable: CookieName::parse(cookie.name).is_ok() && reserved(cookie.name).is_none(),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn expires_accepts_datetime_local_and_rfc3339() {
        assert_eq!(
            parse_expires("2027-01-31T12:00"),
            Some(datetime!(2027-01-31 12:00 UTC))
        );
        assert_eq!(
            parse_expires("2027-01-31T12:00:30"),
            Some(datetime!(2027-01-31 12:00:30 UTC))
        );
        assert_eq!(
            parse_expires("2027-01-31T12:00:00+01:00"),
            Some(datetime!(2027-01-31 11:00 UTC))
        );
        assert_eq!(parse_expires("tomorrow"), None);
    }

    #[test]
    fn form_errors_are_collected_not_panicked_on() {
        let form = WorkbenchForm {
            name: "a".into(),
            max_age: "soon".into(),
            expires: "later".into(),
            same_site: "sometimes".into(),
            ..WorkbenchForm::default()
        };
        assert_eq!(spec_from_form(form).unwrap_err().len(), 3);
    }

    #[test]
    fn host_prefixed_cookies_are_only_removed_at_the_root() {
        // Found by a browser test: the /inspect removal of a __Host- cookie
        // broke the prefix's Path=/ rule, so the whole delete was refused.
        assert_eq!(removal_paths("__Host-prefs"), ["/"]);
        assert_eq!(removal_paths("__host-Http-x"), ["/"]);
        assert_eq!(removal_paths("theme"), ["/", "/inspect"]);
    }
}
