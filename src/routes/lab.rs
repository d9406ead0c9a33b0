//! The cross-site lab's routes on site A (the address the lab is opened
//! on): the page, starting a run, A's own part of it (its cookies for the
//! redirect chain's middle hop) and clearing. The routes it exercises on
//! site B are in [`peer`], the one named exemption from the cross-site
//! rules.
//!
//! A run goes: `POST /lab/start` → B sets its cookies at top level → A
//! sets its own → the page on A embeds B (iframe, a fetch inside it, an
//! image, a CORS fetch, the fetch again) → a link to B, whose page
//! navigates to B → a form posted to B → the redirect chain
//! `A → B → A → B` → the popup, on a click. Each request to B comes back
//! to A with the next step in the URL, so a reload resumes where it was.

mod peer;

use axum::extract::{FromRequestParts, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, HOST, LOCATION, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::config::Origin;
use crate::cookies::reserved::is_lab_name;
use crate::cookies::{CookieContext, CookiesRefused, RequestCookies, ServedOverHttps, lab_cookies};
use crate::error::{PageError, PageForm, PageQuery};
use crate::lab::plan::{self, Column, Kind, Role, Site};
use crate::lab::report::{Outcome, Report, engine_title};
use crate::lab::run::{ChromiumSetting, FirefoxSetting, fetch_metadata};
use crate::lab::{Browser, LabPolicy, NameSet, Observation, Run, RunId, Update, peer_of, report};
use crate::routes::table::Routes;
use crate::security::cross_site::LabPeerRoute;
use crate::state::AppState;
use crate::templates::{LabCellView, LabPage, LabPeerPage, LabRow, LabRunView, LabUrls, Page};

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/lab", get(page))
        .route("/lab/start", post(start))
        .route("/lab/prepared", get(prepared))
        .route("/lab/redirect", get(redirect))
        .route("/lab/hop", get(hop))
        .route("/lab/clear", post(clear))
        .merge(peer::router())
}

/// The origin a request was made to: its Host, and whether it came over
/// HTTPS.
pub(super) struct RequestOrigin(pub(super) Origin);

impl<S: Send + Sync> FromRequestParts<S> for RequestOrigin {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let host = parts
            .headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .unwrap_or("");
        let https = parts.extensions.get::<ServedOverHttps>().is_some();
        Origin::of_request(host, https).map(Self).map_err(|err| {
            PageError::bad_request(format!(
                "The lab needs the address this request was made to, and its Host header is not one: {err}."
            ))
        })
    }
}

/// The CSP of A's lab pages: its own, plus site B for the iframe, the
/// image, the fetches and the form.
pub(super) fn a_page_csp(b: &Origin) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "default-src 'self'; img-src 'self' {b}; connect-src 'self' {b}; frame-src {b}; \
         form-action 'self' {b}; frame-ancestors 'none'; base-uri 'none'"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(strict_csp()))
}

/// A CSP that allows nothing from elsewhere: what a lab page falls back to
/// if an origin could not be written into a header (it always can).
pub(super) const fn strict_csp() -> &'static str {
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
}

/// A lab response's headers: its CSP, and never cached (each is one run's).
pub(super) fn headers(csp: HeaderValue) -> [(axum::http::HeaderName, HeaderValue); 2] {
    [
        (CONTENT_SECURITY_POLICY, csp),
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

/// A redirect to `location` with `status` (302 for the hops of the redirect
/// chain, 303 after a step).
pub(super) fn redirect_to(status: StatusCode, location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(location) => (
            status,
            [
                (LOCATION, location),
                (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => PageError::lab_run_unknown().into_response(),
    }
}

/// The lab cookies a request carried: this run's, and older runs'.
pub(super) fn observe(id: &RunId, headers: &HeaderMap, at: OffsetDateTime) -> Observation {
    let received = RequestCookies::from_headers(headers);
    let lab = || received.iter().filter(|c| is_lab_name(c.name));
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (fetch_site, fetch_dest) =
        fetch_metadata(header("sec-fetch-site"), header("sec-fetch-dest"));
    Observation {
        at,
        sent: NameSet::of(lab().filter(|c| c.raw_value == id.as_str()).map(|c| c.name)),
        stale: NameSet::of(lab().filter(|c| c.raw_value != id.as_str()).map(|c| c.name)),
        fetch_site,
        fetch_dest,
    }
}

/// The run `id`, if it is kept and `origin` is its site `site`.
pub(super) async fn load(
    state: &AppState,
    id: &str,
    site: Site,
    origin: &Origin,
) -> Result<Run, PageError> {
    let id = RunId::parse(id).ok_or_else(PageError::lab_run_unknown)?;
    let run = state
        .lab
        .get(&id)
        .await
        .map_err(PageError::lab_store_unavailable)?
        .ok_or_else(PageError::lab_run_unknown)?;
    let expected = match site {
        Site::A => &run.a,
        Site::B => &run.b,
    };
    if expected != origin {
        return Err(PageError::lab_run_unknown());
    }
    Ok(run)
}

/// Records what a request to `column` carried, for the run `id`.
pub(super) async fn record(
    state: &AppState,
    id: &str,
    column: Column,
    origin: &Origin,
    request_headers: &HeaderMap,
) -> Result<Run, PageError> {
    let run = load(state, id, column.site(), origin).await?;
    let observation = observe(&run.id, request_headers, OffsetDateTime::now_utc());
    let kept = state
        .lab
        .update(&run.id, Update::Observed(column, observation))
        .await
        .map_err(PageError::lab_store_unavailable)?;
    if !kept {
        return Err(PageError::lab_run_unknown());
    }
    Ok(run)
}

/// A response that sets lab cookies, with the refusals counted.
pub(super) fn with_cookies(
    specs: &[crate::cookies::CookieSpec],
    ctx: &CookieContext,
    answer: impl IntoResponse,
) -> Response {
    let (cookies, refused) = lab_cookies(specs, ctx, OffsetDateTime::now_utc());
    let mut response = (cookies, answer).into_response();
    if !refused.is_empty() {
        let ids = refused.iter().flat_map(|r| r.counted().0).collect();
        response.extensions_mut().insert(CookiesRefused(ids));
    }
    response
}

/// The run's cookies of every kind for `role`.
pub(super) fn specs(id: &RunId, role: Role) -> Vec<crate::cookies::CookieSpec> {
    Kind::ALL
        .into_iter()
        .map(|kind| kind.spec(role, id.as_str()))
        .collect()
}

#[derive(Debug, Deserialize)]
struct LabQuery {
    /// A run to show (and continue).
    id: Option<String>,
    /// The step to run now.
    step: Option<String>,
    /// `1`: start a run on load.
    run: Option<String>,
    third_party: Option<ChromiumSetting>,
    firefox: Option<FirefoxSetting>,
    cleared: Option<String>,
}

/// The steps the page's script runs, each named in the URL that brings
/// the browser back to A.
const STEPS: [&str; 5] = ["embedded", "post", "redirect", "popup", "done"];

/// `GET /lab`: the lab, and a run when `id` names one.
async fn page(
    State(state): State<AppState>,
    RequestOrigin(a): RequestOrigin,
    PageQuery(query): PageQuery<LabQuery>,
) -> Result<Response, PageError> {
    let peer = peer_of(&a, state.config.lab_peer_origin.as_ref());
    let run = match &query.id {
        Some(id) => Some(load(&state, id, Site::A, &a).await?),
        None => None,
    };
    let step = query
        .step
        .as_deref()
        .and_then(|s| STEPS.iter().find(|&&known| known == s).copied())
        .unwrap_or(if run.is_some() { "done" } else { "" });
    let policy = run.as_ref().map_or_else(
        || LabPolicy {
            chromium_third_party: query.third_party.unwrap_or_default(),
            firefox_third_party: query.firefox.unwrap_or_default(),
        },
        |run| run.policy,
    );
    let csp = match &peer {
        Ok(b) => a_page_csp(b),
        Err(_) => HeaderValue::from_static(strict_csp()),
    };
    let view = run
        .as_ref()
        .map(|run| run_view(run, &report(run, OffsetDateTime::now_utc())));
    let page = LabPage {
        a: a.to_string(),
        b: peer.as_ref().ok().map(ToString::to_string),
        no_peer: peer.as_ref().err().map(crate::lab::NoPeer::explain),
        chromium_allow: policy.chromium_third_party == ChromiumSetting::Allow,
        firefox: match policy.firefox_third_party {
            FirefoxSetting::Partition => "partition",
            FirefoxSetting::Reject => "reject",
            FirefoxSetting::Accept => "accept",
        },
        autostart: query.run.as_deref() == Some("1") && run.is_none() && peer.is_ok(),
        cleared: query.cleared.is_some(),
        step,
        run: view,
    };
    Ok((headers(csp), Page(page)).into_response())
}

/// The lab page's view of a run's report.
fn run_view(run: &Run, report: &Report) -> LabRunView {
    let id = run.id.as_str();
    let (a, b) = (&run.a, &run.b);
    let sending: Vec<Column> = Column::ALL
        .into_iter()
        .filter(|c| c.in_sending_matrix())
        .collect();
    let site = |s: Site| match s {
        Site::A => "A's cookies",
        Site::B => "",
    };
    let cell_view = |cell: &crate::lab::report::Cell, needs_click: bool| {
        let observed = cell.observed_outcome.map_or("…", Outcome::label);
        LabCellView {
            context: cell.context,
            observed,
            predicted: cell.predicted_outcome.map_or("no model", Outcome::label),
            tone: match cell.observed_outcome {
                None => "pending",
                Some(o) if o.as_bool() => "ok",
                Some(_) => "no",
            },
            reason: cell.reason.clone(),
            mismatch: cell.agrees == Some(false),
            needs_click: needs_click && cell.observed.is_none(),
        }
    };
    let rows = Kind::ALL
        .into_iter()
        .map(|kind| LabRow {
            cookie: plan::name(kind, Role::Sent),
            attributes: kind.attributes(),
            cells: report
                .cells
                .iter()
                .filter(|c| c.kind == kind && c.half == crate::lab::report::Half::Sending)
                .map(|c| cell_view(c, c.context == Column::Popup.id()))
                .collect(),
        })
        .collect();
    let setting_rows = Kind::ALL
        .into_iter()
        .map(|kind| LabRow {
            cookie: format!(
                "{} / {}",
                plan::name(kind, Role::SetByIframe),
                plan::name(kind, Role::SetByFetch)
            ),
            attributes: kind.attributes(),
            cells: report
                .cells
                .iter()
                .filter(|c| c.kind == kind && c.half == crate::lab::report::Half::Setting)
                .map(|c| cell_view(c, false))
                .collect(),
        })
        .collect();
    let seen = run.observed.len();
    let status = if report.popup_seen {
        "Done.".to_owned()
    } else if report.done {
        "Done, except the popup: it needs a click (browsers block popups that no click opened)."
            .to_owned()
    } else if run.prepared_b.is_none() {
        "Preparing: B sets its cookies.".to_owned()
    } else {
        format!(
            "Running: {seen} of {} requests seen so far.",
            Column::ALL.len()
        )
    };
    LabRunView {
        id: id.to_owned(),
        b: b.to_string(),
        done: report.done,
        popup_seen: report.popup_seen,
        browser: run.browser.describe(),
        model: match run.browser.engine() {
            Some(engine) => format!(
                "{} {}",
                engine_title(engine),
                report.modelled_version.unwrap_or("")
            ),
            None => "none for this browser: observations only".to_owned(),
        },
        policy: match run.browser.engine() {
            Some(crate::engine::Engine::Firefox) => format!(
                "Firefox: {}",
                match run.policy.firefox_third_party {
                    FirefoxSetting::Partition => {
                        "Total Cookie Protection (third-party cookies partitioned)"
                    }
                    FirefoxSetting::Reject => "third-party cookies rejected",
                    FirefoxSetting::Accept => "all cookies accepted",
                }
            ),
            _ => format!(
                "Chromium: third-party cookies {}",
                match run.policy.chromium_third_party {
                    ChromiumSetting::Block => "blocked",
                    ChromiumSetting::Allow => "allowed",
                }
            ),
        },
        status,
        age_at_post: report.cookie_age_at_post_seconds,
        mismatches: report.mismatches,
        notes: report.notes.clone(),
        columns: sending
            .iter()
            .map(|c| (c.id(), c.title(), site(c.site())))
            .collect(),
        rows,
        setting_columns: vec![
            ("set-by-iframe", "set by the iframe", ""),
            ("set-by-fetch", "set by the CORS fetch", ""),
        ],
        setting_rows,
        urls: LabUrls {
            frame: format!("{b}/lab/peer/frame?id={id}"),
            image: format!("{b}/lab/peer/img?id={id}"),
            cors: format!("{b}/lab/peer/cors?id={id}&column=cors-fetch"),
            readback: format!("{b}/lab/peer/cors?id={id}&column=partition-readback"),
            link: format!("{b}/lab/peer/visit?id={id}&column=link"),
            post: format!("{b}/lab/peer/visit?id={id}&column=form-post"),
            redirect: format!("{a}/lab/redirect?id={id}"),
            popup: format!("{b}/lab/peer/visit?id={id}&column=popup"),
            api: format!("/api/lab/{id}"),
            done: format!("/lab?id={id}&step=done"),
        },
    }
}

#[derive(Debug, Deserialize)]
struct StartForm {
    #[serde(default)]
    chromium_third_party: ChromiumSetting,
    #[serde(default)]
    firefox_third_party: FirefoxSetting,
    /// `1` when the page found `navigator.brave`.
    #[serde(default)]
    brave: String,
}

/// `POST /lab/start`: a new run, then to B to set its cookies.
async fn start(
    State(state): State<AppState>,
    RequestOrigin(a): RequestOrigin,
    request_headers: HeaderMap,
    PageForm(form): PageForm<StartForm>,
) -> Result<Response, PageError> {
    let b = peer_of(&a, state.config.lab_peer_origin.as_ref())
        .map_err(|why| PageError::unprocessable("The lab has no second site", why.explain()))?;
    let user_agent = request_headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let run = Run {
        id: RunId::generate().map_err(PageError::internal)?,
        created: OffsetDateTime::now_utc(),
        browser: Browser::from_user_agent(user_agent, form.brave == "1"),
        policy: LabPolicy {
            chromium_third_party: form.chromium_third_party,
            firefox_third_party: form.firefox_third_party,
        },
        a,
        b,
        prepared_b: None,
        prepared_a: None,
        observed: Default::default(),
    };
    state
        .lab
        .create(&run)
        .await
        .map_err(PageError::lab_store_unavailable)?;
    Ok(redirect_to(
        StatusCode::SEE_OTHER,
        &format!("{}/lab/peer/prepare?id={}", run.b, run.id),
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct IdQuery {
    pub(super) id: String,
}

/// `GET /lab/prepared`: back from B, which set its cookies; A sets its own
/// (for the redirect chain's middle hop), then the page runs the steps
/// embedded in it.
async fn prepared(
    State(state): State<AppState>,
    RequestOrigin(a): RequestOrigin,
    ctx: CookieContext,
    PageQuery(query): PageQuery<IdQuery>,
) -> Result<Response, PageError> {
    let run = load(&state, &query.id, Site::A, &a).await?;
    state
        .lab
        .update(&run.id, Update::PreparedA(OffsetDateTime::now_utc()))
        .await
        .map_err(PageError::lab_store_unavailable)?;
    let next = redirect_to(
        StatusCode::SEE_OTHER,
        &format!("/lab?id={}&step=embedded", run.id),
    );
    Ok(with_cookies(&specs(&run.id, Role::Sent), &ctx, next))
}

/// `GET /lab/redirect`: the start of the chain `A → B → A → B`.
async fn redirect(
    State(state): State<AppState>,
    RequestOrigin(a): RequestOrigin,
    PageQuery(query): PageQuery<IdQuery>,
) -> Result<Response, PageError> {
    let run = load(&state, &query.id, Site::A, &a).await?;
    Ok(redirect_to(
        StatusCode::FOUND,
        &format!("{}/lab/peer/hop?id={}&n=1", run.b, run.id),
    ))
}

/// `GET /lab/hop`: the chain's middle hop, back on A: which of A's own lab
/// cookies came along.
async fn hop(
    State(state): State<AppState>,
    RequestOrigin(a): RequestOrigin,
    request_headers: HeaderMap,
    PageQuery(query): PageQuery<IdQuery>,
) -> Result<Response, PageError> {
    let run = record(&state, &query.id, Column::Redirect2, &a, &request_headers).await?;
    Ok(redirect_to(
        StatusCode::FOUND,
        &format!("{}/lab/peer/hop?id={}&n=3", run.b, run.id),
    ))
}

/// `POST /lab/clear`: removes every lab cookie from A's jar (its own and
/// its partition as top-level site), then, through a page, from B's jar
/// under A (an iframe) and B's own (a form posted to B, whose page clears
/// A's jar under B the same way and comes back).
async fn clear(
    State(state): State<AppState>,
    RequestOrigin(a): RequestOrigin,
    ctx: CookieContext,
) -> Result<Response, PageError> {
    let removals = plan::all_removals();
    let Ok(b) = peer_of(&a, state.config.lab_peer_origin.as_ref()) else {
        let back = redirect_to(StatusCode::SEE_OTHER, "/lab?cleared=1");
        return Ok(with_cookies(&removals, &ctx, back));
    };
    // A record of its own names the two sites for B's routes.
    let run = Run {
        id: RunId::generate().map_err(PageError::internal)?,
        created: OffsetDateTime::now_utc(),
        a,
        b,
        browser: Browser::Unmodelled {
            name: "(clearing)".to_owned(),
        },
        policy: LabPolicy::default(),
        prepared_b: None,
        prepared_a: None,
        observed: Default::default(),
    };
    state
        .lab
        .create(&run)
        .await
        .map_err(PageError::lab_store_unavailable)?;
    let frame = format!("{}/lab/peer/clear-frame?id={}", run.b, run.id);
    let post = format!("{}/lab/peer/clear?id={}", run.b, run.id);
    let page = LabPeerPage {
        mode: "clear",
        title: "Clearing the lab's cookies",
        message: "A's lab cookies are removed. Now B's, under A and then at B itself; this page moves on by itself.",
        next: "",
        parent: "",
        frame: &frame,
        post: &post,
    };
    Ok(with_cookies(
        &removals,
        &ctx,
        (headers(a_page_csp(&run.b)), Page(page)),
    ))
}

/// Marks a response that the run's other site may frame (its CSP names
/// that site): see [`LabPeerRoute`].
pub(super) fn framable(mut response: Response, exempt: LabPeerRoute) -> Response {
    response.extensions_mut().insert(exempt);
    response
}
