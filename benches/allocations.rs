//! Heap allocations per request, route by route, through the whole router
//! (every layer, the handler, the response body) with the server's real
//! log subscriber: a counting global allocator (`stats_alloc`) around each
//! request. Deterministic, so it is a count, not a timing.
//!
//!     cargo bench --bench allocations 2>/dev/null
//!
//! (stderr carries the request log lines.) See docs/PERFORMANCE.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "benchmark set-up: a panic is a broken bench"
)]

use std::alloc::System;
use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, header};
use clap::Parser;
use cookie_lab::cli::{Cli, Command};
use cookie_lab::config::Config;
use cookie_lab::keys::KeyRing;
use cookie_lab::revocation::Revocations;
use cookie_lab::routes::App;
use cookie_lab::security::throttle::{Clock, LoginThrottle};
use cookie_lab::state::AppState;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tower::{Service, ServiceExt};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const ROUNDS: usize = 200;

/// Builds one request of a route, afresh each time.
type MakeRequest<'a> = Box<dyn Fn() -> Request<Body> + 'a>;

fn cookies(count: usize, size: usize) -> String {
    (0..count)
        .map(|i| format!("c{i:03}={}", "v".repeat(size - 5)))
        .collect::<Vec<_>>()
        .join("; ")
}

async fn app() -> App {
    // The server's defaults, but no login rate limit: the bench logs in
    // hundreds of times from one address on purpose.
    let cli = Cli::try_parse_from(["cookie-lab", "serve", "--login-rate", "0"]).unwrap();
    let Some(Command::Serve(args)) = cli.command else {
        unreachable!("serve was given")
    };
    let config = Config::from_args(*args).unwrap();
    let revocations = Revocations::in_memory().await.unwrap();
    let throttle = LoginThrottle::for_config(&config, Clock::system()).unwrap();
    let state = AppState::new(config, KeyRing::generate().unwrap(), revocations, throttle);
    cookie_lab::routes::app(state)
}

fn request(method: &str, path: &str, cookie: Option<&str>, form: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "127.0.0.1:5000");
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    match form {
        Some(form) => builder
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

/// Allocations and bytes per request, the request itself built outside
/// the count; the response's status and body are read inside it.
async fn count<S>(app: &S, make: impl Fn() -> Request<Body>) -> (f64, f64, u16)
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone,
{
    let mut status = 0;
    // Warm: lazily built state (label sets, thread-locals) is not per request.
    for _ in 0..3 {
        let response = app.clone().oneshot(make()).await.unwrap();
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
    }
    let (mut allocations, mut bytes) = (0, 0);
    for _ in 0..ROUNDS {
        let request = make();
        let region = Region::new(GLOBAL);
        let response = app.clone().oneshot(request).await.unwrap();
        status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let change = region.change();
        drop(body);
        allocations += change.allocations + change.reallocations;
        bytes += change.bytes_allocated;
    }
    let rounds = ROUNDS as f64;
    (allocations as f64 / rounds, bytes as f64 / rounds, status)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let _log = cookie_lab::telemetry::init(cookie_lab::cli::LogFormat::Text);
    let app = app().await;
    let login = app
        .clone()
        .oneshot(request(
            "POST",
            "/login",
            None,
            Some("email=ada%40example.com&password=code"),
        ))
        .await
        .unwrap();
    let session = login.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let twenty = cookies(20, 200);
    let fifty = cookies(50, 80);

    let routes: [(&str, MakeRequest<'_>); 9] = [
        ("GET /", Box::new(|| request("GET", "/", None, None))),
        (
            "GET /healthz",
            Box::new(|| request("GET", "/healthz", None, None)),
        ),
        (
            "POST /code/set/cookie",
            Box::new(|| request("POST", "/code/set/cookie", None, Some("userID=alice"))),
        ),
        (
            "GET /getcookie",
            Box::new(|| request("GET", "/getcookie", Some("userID=alice"), None)),
        ),
        (
            "POST /login",
            Box::new(|| {
                request(
                    "POST",
                    "/login",
                    None,
                    Some("email=ada%40example.com&password=code"),
                )
            }),
        ),
        (
            "GET /profile",
            Box::new(|| request("GET", "/profile", Some(&session), None)),
        ),
        (
            "GET /api/cookies (20 × 200 B)",
            Box::new(|| request("GET", "/api/cookies", Some(&twenty), None)),
        ),
        (
            "GET /api/cookies (50 × 80 B)",
            Box::new(|| request("GET", "/api/cookies", Some(&fifty), None)),
        ),
        (
            "GET /inspect (20 × 200 B)",
            Box::new(|| request("GET", "/inspect", Some(&twenty), None)),
        ),
    ];
    // What axum itself allocates for a request, with nothing added: the
    // floor's kind of router (bench/floor/), one static page.
    let bare: Router = Router::new().route(
        "/",
        axum::routing::get(|| async { axum::response::Html("<!doctype html><p>hello</p>") }),
    );
    let (allocations, bytes, status) = count(&bare, || request("GET", "/", None, None)).await;
    println!("| route | status | allocations/request | bytes/request |");
    println!("|---|---:|---:|---:|");
    println!(
        "| bare axum router, GET / of a static page | {status} | {allocations:.1} | {bytes:.0} |"
    );
    for (name, make) in &routes {
        let (allocations, bytes, status) = count(&app, make).await;
        println!("| {name} | {status} | {allocations:.1} | {bytes:.0} |");
    }
}
