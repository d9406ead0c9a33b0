//! Pages that aren't a cookie flow of their own, and what every page shares.

use reqwest::StatusCode;

use crate::common::oneshot_app;

#[tokio::test]
async fn healthz_answers_ok() {
    let app = oneshot_app().await;

    let response = app.get("/healthz").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn the_client_page_sets_cookies_with_its_own_script() {
    let app = oneshot_app().await;

    let html = app.get("/client").await.text().await.unwrap();

    assert!(html.contains(r#"<script src="/static/client.js" defer></script>"#));
    assert!(html.contains(r#"id="client-form""#));
    assert!(html.contains(r#"href="/api/cookies""#));
}

#[tokio::test]
async fn every_page_carries_the_cookies_disabled_notice_hidden_until_needed() {
    let app = oneshot_app().await;
    for path in [
        "/",
        "/getcookie",
        "/cookies",
        "/login",
        "/client",
        "/no-such-page",
    ] {
        let html = app.get(path).await.text().await.unwrap();

        assert!(html.contains(r#"id="cookie-notice""#), "{path}");
        assert!(html.contains("This site needs cookies"), "{path}");
        assert!(
            html.contains(r#"<script src="/static/app.js" defer></script>"#),
            "{path}"
        );
        assert!(!html.contains("<script>"), "no inline script on {path}");
    }
    let script = app.get("/static/app.js").await.text().await.unwrap();
    assert!(
        script.contains("cookie_lab_probe"),
        "the notice writes a probe cookie, not just cookieEnabled"
    );
}

#[tokio::test]
async fn static_files_are_served_with_their_types() {
    let app = oneshot_app().await;
    for (path, content_type) in [
        ("/static/style.css", "text/css; charset=utf-8"),
        ("/static/app.js", "text/javascript; charset=utf-8"),
        ("/static/client.js", "text/javascript; charset=utf-8"),
        ("/static/favicon.svg", "image/svg+xml"),
    ] {
        let response = app.get(path).await;

        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.headers().get("content-type").unwrap(),
            content_type
        );
    }
    assert_eq!(
        app.get("/static/../Cargo.toml").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/static/nope.js").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_unknown_address_is_a_404_page() {
    let app = oneshot_app().await;

    let response = app.get("/no-such-page").await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = oneshot_app().await;
    for path in [
        "/",
        "/login",
        "/static/style.css",
        "/api/cookies",
        "/no-such-page",
    ] {
        let response = app.get(path).await;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };

        let csp = header("content-security-policy").unwrap_or_default();
        assert!(csp.starts_with("default-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(
            header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            header("referrer-policy").as_deref(),
            Some("same-origin"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn api_cookies_lists_what_was_sent_like_httpbin() {
    let app = oneshot_app().await;

    let response = app
        .get_with_cookie("/api/cookies", "b=2; a=caf%C3%A9; a=second")
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"cookies":{"a":"café","b":"2"}}"#
    );
}

#[tokio::test]
async fn no_page_or_api_echoes_the_login_cookie_value() {
    let app = oneshot_app().await;
    app.login("ada@example.com", "code").await;
    for path in ["/api/cookies", "/cookies"] {
        let body = app.get(path).await.text().await.unwrap();

        assert!(
            body.contains("(hidden: HttpOnly login cookie)"),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn a_form_body_over_16_kib_is_refused_with_413() {
    let app = oneshot_app().await;

    let response = app
        .post_form("/code/set/cookie", &[("userID", &"x".repeat(17 * 1024))])
        .await;

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.headers().get("set-cookie").is_none());
}
