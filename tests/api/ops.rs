//! What operators get: /readyz, /metrics and X-Served-By.

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;

use crate::common::{TestApp, assert_redirects_to, oneshot_app, spawn_with, tampered, test_config};

const EMAIL: &str = "ada@example.com";

async fn metrics(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[CONTENT_TYPE],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    response.text().await.unwrap()
}

/// The value of the sample named exactly `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn readyz_is_200_when_the_key_ring_and_store_are_ready() {
    let app = oneshot_app().await;

    let response = app.get("/readyz").await;

    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(text.starts_with("ready\n"), "{text}");
    assert!(text.contains("key ring: ok (1 key(s)"), "{text}");
    assert!(text.contains("revocation store: ok (sqlite)"), "{text}");
}

#[tokio::test]
async fn metrics_count_a_tampered_login_cookie_as_tampered() {
    let app = oneshot_app().await;
    let value = app.log_in(EMAIL).await;

    let response = app.profile_with(&tampered(&value)).await;

    assert_redirects_to(&response, "/login");
    let text = metrics(&app).await;
    let rejected = |reason: &str| {
        sample(
            &text,
            &format!("cookie_lab_login_cookies_rejected_total{{reason=\"{reason}\"}}"),
        )
    };
    assert_eq!(rejected("tampered"), Some(1.0), "{text}");
    assert_eq!(rejected("expired"), Some(0.0));
    assert_eq!(rejected("revoked"), Some(0.0));
    assert_eq!(rejected("unknown_key"), Some(0.0));
    assert_eq!(sample(&text, "cookie_lab_logins_total"), Some(1.0));
}

#[tokio::test]
async fn metrics_count_a_revoked_cookie_as_revoked() {
    let app = oneshot_app().await;
    let value = app.log_in(EMAIL).await;
    app.post_form("/logout", &[]).await;

    let response = app.profile_with(&value).await;

    assert_redirects_to(&response, "/login");
    let text = metrics(&app).await;
    assert_eq!(
        sample(
            &text,
            "cookie_lab_login_cookies_rejected_total{reason=\"revoked\"}"
        ),
        Some(1.0),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_count_refused_cookies_by_rule() {
    let app = oneshot_app().await;

    let api = app
        .send(
            app.client
                .post(app.url("/api/cookies"))
                .json(&serde_json::json!({"name": "a", "value": "1", "same_site": "None"})),
            true,
        )
        .await;
    let page = app
        .post_form(
            "/inspect",
            &[("name", "__Host-id"), ("value", "1"), ("path", "/app")],
        )
        .await;

    assert_eq!(api.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = metrics(&app).await;
    let refused = |rule: &str| {
        sample(
            &text,
            &format!("cookie_lab_cookies_refused_total{{reason=\"{rule}\"}}"),
        )
    };
    assert_eq!(
        refused("EXCLUDE_SAMESITE_NONE_INSECURE"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(refused("CookieRejectedNonRequiresSecure2"), Some(1.0));
    assert_eq!(
        refused("EXCLUDE_INVALID_PREFIX"),
        Some(1.0),
        "one refused cookie, though it breaks the prefix's rules twice"
    );
    assert_eq!(
        refused("EXCLUDE_NAME_VALUE_PAIR_EXCEEDS_MAX_SIZE"),
        Some(0.0)
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status_never_raw_paths() {
    let app = oneshot_app().await;
    app.get("/api/cookies/set/flavour/s3cr3t-value").await;
    app.get("/profile").await;
    app.get("/no-such-page/s3cr3t-path").await;
    let oversized = "a=".to_owned() + &"x".repeat(70 * 1024);
    let too_large = app.get_with_cookie("/profile", &oversized).await;
    assert_eq!(
        too_large.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );

    let text = metrics(&app).await;

    let requests = |labels: &str| {
        sample(
            &text,
            &format!("cookie_lab_http_requests_total{{{labels}}}"),
        )
    };
    assert_eq!(
        requests(r#"method="GET",route="/api/cookies/set/{name}/{value}",status="302""#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        requests(r#"method="GET",route="/profile",status="303""#),
        Some(1.0)
    );
    assert_eq!(
        requests(r#"method="GET",route="/profile",status="431""#),
        Some(1.0),
        "answers of the middleware count too"
    );
    assert_eq!(
        requests(r#"method="GET",route="unmatched",status="404""#),
        Some(1.0)
    );
    assert!(!text.contains("s3cr3t"), "no raw path in a label: {text}");
    assert_eq!(
        sample(
            &text,
            r#"cookie_lab_http_request_duration_seconds_count{route="/profile"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"cookie_lab_http_request_duration_seconds_bucket{le="+Inf",route="/profile"}"#
        )
        .or_else(|| sample(
            &text,
            r#"cookie_lab_http_request_duration_seconds_bucket{route="/profile",le="+Inf"}"#
        )),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "cookie_lab_http_requests_in_flight"),
        Some(1.0),
        "the scrape itself"
    );
}

#[tokio::test]
async fn metrics_count_login_failures_and_throttles() {
    let app = oneshot_app().await;
    for _ in 0..5 {
        assert_eq!(
            app.login(EMAIL, "guess").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }

    let sixth = app.login(EMAIL, "guess").await;

    assert_eq!(sixth.status(), StatusCode::TOO_MANY_REQUESTS);
    let text = metrics(&app).await;
    assert_eq!(
        sample(&text, "cookie_lab_login_failures_total"),
        Some(5.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "cookie_lab_login_throttled_total{by=\"pair\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "cookie_lab_login_throttled_total{by=\"client\"}"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(sample(&text, "cookie_lab_logins_total"), Some(0.0));
}

#[tokio::test]
async fn x_served_by_names_the_replica_only_when_asked() {
    let unnamed = oneshot_app().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.replica_name = Some("web-2".to_owned());
    let named = spawn_with(config).await;

    let plain = unnamed.get("/").await;
    let page = named.get("/").await;
    let error = named.get("/no-such-page").await;

    assert!(plain.headers().get("x-served-by").is_none());
    assert_eq!(page.headers()["x-served-by"], "web-2");
    assert_eq!(error.headers()["x-served-by"], "web-2", "error pages too");
    let text = metrics(&named).await;
    assert!(
        text.contains(&format!(
            r#"cookie_lab_build_info{{version="{}",replica="web-2"}} 1"#,
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_count_cookies_withheld_by_policy_by_policy() {
    let app = oneshot_app().await;

    let cross_site = app
        .send(
            app.client
                .get(app.url("/api/cookies/set?theme=dark"))
                .header("sec-fetch-site", "cross-site"),
            true,
        )
        .await;
    let reserved = app
        .post_form("/inspect", &[("name", "lab_session"), ("value", "x")])
        .await;

    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(reserved.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = metrics(&app).await;
    let refused = |reason: &str| {
        sample(
            &text,
            &format!("cookie_lab_cookies_refused_total{{reason=\"{reason}\"}}"),
        )
    };
    assert_eq!(refused("cross-site"), Some(1.0), "{text}");
    assert_eq!(refused("reserved-name"), Some(1.0), "{text}");
    assert_eq!(refused("response-cap"), Some(0.0), "{text}");
    assert_eq!(refused("cannot-be-written"), Some(0.0), "{text}");
}
