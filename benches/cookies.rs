//! Micro-benchmarks of the per-request cookie work: reading a Cookie header,
//! sealing and opening the login cookie, building and checking a Set-Cookie,
//! rendering the profile page. `cargo bench`; see docs/PERFORMANCE.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "benchmark set-up: a panic is a broken bench"
)]

use std::hint::black_box;

use askama::Template;
use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use cookie_lab::cookies::login::{self, LoginClaims};
use cookie_lab::cookies::{CookieContext, CookieSpec, RequestCookies, SameSite, prepare};
use cookie_lab::domain::Email;
use cookie_lab::keys::KeyRing;
use cookie_lab::templates::{ProfilePage, format_utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use time::{Duration, OffsetDateTime};

fn cookie_header(count: usize) -> HeaderMap {
    let header = (0..count)
        .map(|i| format!("c{i:02}={}", "v".repeat(196)))
        .collect::<Vec<_>>()
        .join("; ");
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, HeaderValue::from_str(&header).unwrap());
    headers
}

fn read_cookie_header(c: &mut Criterion) {
    let mut group = c.benchmark_group("read Cookie header");
    for count in [1, 20, 50] {
        let headers = cookie_header(count);
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{count} cookies")),
            &headers,
            |b, h| {
                b.iter(|| RequestCookies::from_headers(black_box(h)));
            },
        );
    }
    group.finish();
}

fn login_cookie(c: &mut Criterion) {
    let ring = KeyRing::generate().unwrap();
    let now = OffsetDateTime::now_utc();
    let claims = LoginClaims::issue(
        &Email::parse("ada@example.com").unwrap(),
        Duration::days(7),
        now,
        1,
    )
    .unwrap();
    let sealed = login::seal(&ring, login::COOKIE_NAME, &claims).unwrap();
    let mut group = c.benchmark_group("login cookie");
    group.bench_function("encrypt", |b| {
        b.iter(|| login::seal(&ring, login::COOKIE_NAME, black_box(&claims)).unwrap())
    });
    group.bench_function("decrypt", |b| {
        b.iter(|| login::open(&ring, login::COOKIE_NAME, black_box(&sealed), now))
    });
    group.bench_function("encrypt + decrypt", |b| {
        b.iter(|| {
            let value = login::seal(&ring, login::COOKIE_NAME, black_box(&claims)).unwrap();
            login::open(&ring, login::COOKIE_NAME, &value, now)
        });
    });
    group.finish();
}

fn build_and_lint(c: &mut Criterion) {
    let ctx = CookieContext::new("127.0.0.1:5000", false);
    let now = OffsetDateTime::now_utc();
    let plain = CookieSpec::new("userID", "alice").same_site(SameSite::Lax);
    let full = CookieSpec {
        max_age: Some(Duration::days(7)),
        ..CookieSpec::new("__Host-prefs", "dark mode; compact")
            .secure(true)
            .http_only(true)
            .same_site(SameSite::Strict)
    };
    let mut group = c.benchmark_group("build + lint Set-Cookie");
    group.bench_function("userID=alice", |b| {
        b.iter(|| prepare(black_box(&plain), &ctx, now).unwrap())
    });
    group.bench_function("every attribute", |b| {
        b.iter(|| prepare(black_box(&full), &ctx, now).unwrap())
    });
    group.finish();
}

fn render_profile(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let claims = LoginClaims::issue(
        &Email::parse("ada@example.com").unwrap(),
        Duration::days(7),
        now,
        1,
    )
    .unwrap();
    // What GET /profile does to render its page: the template, with the
    // login's two times formatted for people.
    c.bench_function("render the profile page", |b| {
        b.iter(|| {
            let claims = black_box(&claims);
            ProfilePage {
                email: &claims.email,
                issued: format_utc(claims.iat),
                expires: format_utc(claims.exp),
            }
            .render()
            .unwrap()
        });
    });
}

criterion_group!(
    benches,
    read_cookie_header,
    login_cookie,
    build_and_lint,
    render_profile
);
criterion_main!(benches);
