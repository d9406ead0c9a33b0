//! The route table: axum's router, and beside it the templates it was built
//! from, matched the way axum matches them.
//!
//! Why the templates are kept twice: the pipeline (`super::pipeline`) runs
//! outside axum's router so that it costs no boxed service and future of its
//! own on each request, and outside the router axum's `MatchedPath` doesn't
//! exist yet. So the pipeline names a request's route with the same matcher
//! axum uses (`matchit`, the version axum depends on) over the same
//! templates. A test holds the two to the same answer for every route and
//! for paths no route takes.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::routing::MethodRouter;

use crate::metrics::Route;
use crate::state::AppState;

/// Routes being declared: every module's router is built through this type,
/// so no route reaches axum without its template.
pub(crate) struct Routes {
    router: Router<AppState>,
    templates: BTreeSet<String>,
}

impl Routes {
    pub(crate) fn new() -> Self {
        Self {
            router: Router::new(),
            templates: BTreeSet::new(),
        }
    }

    pub(crate) fn route(mut self, path: &str, method_router: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, method_router);
        self.templates.insert(path.to_owned());
        self
    }

    pub(crate) fn merge(mut self, other: Self) -> Self {
        self.router = self.router.merge(other.router);
        self.templates.extend(other.templates);
        self
    }

    /// Routes that utoipa-axum registered: it gives axum each path of the
    /// OpenAPI document as written there, so those paths are the templates.
    pub(crate) fn documented(router: Router<AppState>, openapi: &utoipa::openapi::OpenApi) -> Self {
        Self {
            router,
            templates: openapi.paths.paths.keys().cloned().collect(),
        }
    }

    #[cfg(test)]
    pub(crate) fn templates(&self) -> impl Iterator<Item = &str> {
        self.templates.iter().map(String::as_str)
    }

    /// The router, and the matcher that names its routes.
    pub(crate) fn into_parts(self) -> (Router<AppState>, Templates) {
        let mut matcher = matchit::Router::new();
        for template in self.templates {
            let name: Arc<str> = Arc::from(template.as_str());
            // axum already inserted this template into the same matcher
            // (`Router::route` panics on one it can't take), so this can't
            // fail; if it ever did, the route's requests would be counted
            // and logged as unmatched, and the routes test would say so.
            if let Err(err) = matcher.insert(template, name) {
                tracing::error!(error = %err, "a route template can't be matched");
            }
        }
        (self.router, Templates { matcher })
    }
}

/// Names the route a path takes, as axum's router would.
pub(crate) struct Templates {
    matcher: matchit::Router<Arc<str>>,
}

impl Templates {
    /// The template of the route that takes `path`, or `Unmatched` (the
    /// fallback's 404). A path a route takes with another method is still
    /// that route (axum answers it 405 there).
    pub(crate) fn route_of(&self, path: &str) -> Route {
        self.matcher.at(path).map_or(Route::Unmatched, |found| {
            Route::Matched(Arc::clone(found.value))
        })
    }
}

#[cfg(test)]
mod tests {
    use axum::extract::{MatchedPath, Request};
    use axum::http::{HeaderValue, StatusCode};
    use axum::middleware::{self, Next};
    use axum::response::{IntoResponse, Response};
    use clap::Parser;
    use tower::ServiceExt;

    use crate::cli::{Cli, Command};
    use crate::config::Config;
    use crate::keys::KeyRing;
    use crate::revocation::Revocations;
    use crate::security::throttle::{Clock, LoginThrottle};
    use crate::state::AppState;

    async fn state() -> AppState {
        let cli = Cli::try_parse_from(["cookie-lab", "serve"]).expect("the defaults parse");
        let Some(Command::Serve(args)) = cli.command else {
            unreachable!("serve was given")
        };
        let config = Config::from_args(*args).expect("the defaults are a config");
        let revocations = Revocations::in_memory().await.expect("a store in memory");
        let throttle = LoginThrottle::for_config(&config, Clock::system()).expect("a throttle");
        let keys = KeyRing::generate().expect("a key ring");
        AppState::new(config, keys, revocations, throttle)
    }

    /// A path the template takes: each parameter filled in.
    fn filled(template: &str) -> String {
        template
            .split('/')
            .map(|segment| match segment.strip_prefix('{') {
                Some(name) if name.starts_with('*') => "a/b",
                Some(_) => "v",
                None => segment,
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Answers with the template axum matched, without running a handler.
    async fn report_matched_path(request: Request, _: Next) -> Response {
        let template = request
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", MatchedPath::as_str);
        let mut response = StatusCode::OK.into_response();
        let value = HeaderValue::from_str(template).expect("a template is a header value");
        response.headers_mut().insert("x-template", value);
        response
    }

    /// A path of every route the product has (SPEC.md), written out rather
    /// than taken from the table, so a route missing from the table fails.
    const EVERY_PATH: &[&str] = &[
        "/",
        "/code/set/cookie",
        "/getcookie",
        "/cookies",
        "/cookies/delete",
        "/cookies/clear",
        "/login",
        "/profile",
        "/logout",
        "/client",
        "/inspect",
        "/inspect/delete",
        "/lab",
        "/lab/start",
        "/lab/prepared",
        "/lab/redirect",
        "/lab/hop",
        "/lab/clear",
        "/lab/peer/prepare",
        "/lab/peer/visit",
        "/lab/peer/hop",
        "/lab/peer/frame",
        "/lab/peer/hit",
        "/lab/peer/img",
        "/lab/peer/cors",
        "/lab/peer/clear",
        "/lab/peer/clear-frame",
        "/api/cookies",
        "/api/cookies/set",
        "/api/cookies/set/a/b",
        "/api/cookies/delete",
        "/api/lint",
        "/api/lab/1",
        "/api/openapi.json",
        "/api/other",
        "/static/app.css",
        "/healthz",
        "/readyz",
        "/metrics",
    ];

    /// Paths no route takes, or that only a catch-all takes.
    const NO_ROUTE: &[&str] = &[
        "//",
        "/nope",
        "/GETCOOKIE",
        "/getcookie%2F",
        "/%2F",
        "/a%20b",
        "/api",
        "/api/",
        "/static/",
        "/lab/",
        "/index.html",
        "*",
    ];

    /// For every route's path, and for paths beside them no route takes
    /// (a trailing slash, one more segment, case, encoded slashes, the
    /// root), the table names the route axum's router matched.
    #[tokio::test]
    async fn every_path_is_named_as_axum_names_it() {
        let routes = crate::routes::every_route();
        let templates: Vec<String> = routes.templates().map(str::to_owned).collect();
        let (router, table) = routes.into_parts();
        let axum = router
            .fallback(|| async { StatusCode::NOT_FOUND })
            .layer(middleware::from_fn(report_matched_path))
            .with_state(state().await);

        let mut paths: Vec<String> = EVERY_PATH
            .iter()
            .chain(NO_ROUTE)
            .map(|path| (*path).to_owned())
            .collect();
        for template in &templates {
            let path = filled(template);
            paths.push(format!("{path}/"));
            paths.push(format!("{path}/x"));
            paths.push(path.to_uppercase());
            paths.push(path);
        }
        let mut unmatched = 0;
        for path in &paths {
            let request = Request::get(path.as_str())
                .body(axum::body::Body::empty())
                .expect("a request");
            let response = axum.clone().oneshot(request).await.expect("infallible");
            let axum_says = response.headers()["x-template"].to_str().expect("ASCII");
            let ours = table.route_of(path);
            assert_eq!(ours.as_str(), axum_says, "{path}");
            unmatched += usize::from(axum_says == "unmatched");
        }
        // Both kinds were tried: every template matched, and some paths none.
        for template in &templates {
            assert_eq!(table.route_of(&filled(template)).as_str(), template);
        }
        assert!(unmatched >= NO_ROUTE.len(), "{unmatched} unmatched paths");
    }
}
