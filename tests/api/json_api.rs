//! The JSON API: httpbin-compatible routes, setting and linting cookies,
//! errors as JSON, and the generated OpenAPI document.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use serde_json::{Value, json};

use crate::common::{oneshot_app, set_cookies, spawn_app, the_set_cookie};

#[tokio::test]
async fn set_from_the_query_sets_each_with_path_slash_and_redirects_like_httpbin() {
    let app = oneshot_app().await;

    let response = app.get("/api/cookies/set?k=v&foo=%22bar:baz%22").await;

    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers().get(LOCATION).unwrap(), "/api/cookies");
    assert_eq!(
        set_cookies(response.headers()),
        ["k=v; Path=/", "foo=\"bar:baz\"; Path=/"]
    );
    let listed: Value = app.get("/api/cookies").await.json().await.unwrap();
    assert_eq!(listed, json!({"cookies": {"k": "v", "foo": "bar:baz"}}));
}

#[tokio::test]
async fn set_from_the_path_sets_one_cookie() {
    let app = oneshot_app().await;

    let response = app.get("/api/cookies/set/name/a%20b").await;

    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(the_set_cookie(&response), "name=a%20b; Path=/");
    let listed: Value = app.get("/api/cookies").await.json().await.unwrap();
    assert_eq!(listed, json!({"cookies": {"name": "a b"}}));
}

#[tokio::test]
async fn delete_removes_each_named_cookie_and_redirects() {
    let app = oneshot_app().await;
    app.get("/api/cookies/set?k=v&keep=1").await;

    let response = app.get("/api/cookies/delete?k").await;

    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers().get(LOCATION).unwrap(), "/api/cookies");
    assert_eq!(
        the_set_cookie(&response),
        "k=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    );
    let listed: Value = app.get("/api/cookies").await.json().await.unwrap();
    assert_eq!(listed, json!({"cookies": {"keep": "1"}}));
}

#[tokio::test]
async fn deleting_a_prefixed_cookie_keeps_what_its_prefix_requires() {
    // Without Secure (and HttpOnly for __Http-) the browser ignores the
    // removal, so the cookie would survive its deletion.
    let app = oneshot_app().await;

    let response = app.get("/api/cookies/delete?__Host-Http-id").await;

    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        the_set_cookie(&response),
        "__Host-Http-id=; HttpOnly; Secure; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    );
}

#[tokio::test]
async fn a_set_with_one_bad_name_sets_nothing_and_says_why() {
    let app = oneshot_app().await;

    // A tab in a name: Chromium drops the cookie (Firefox would keep it).
    let response = app.get("/api/cookies/set?good=1&bad%09name=2").await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(set_cookies(response.headers()).is_empty());
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains(r#""bad\tname" was not set because a browser would reject it"#),
        "{body}"
    );
    assert_eq!(body["problems"][0]["id"], "EXCLUDE_DISALLOWED_CHARACTER");
    assert_eq!(body["problems"][0]["engine"], "chromium");
}

#[tokio::test]
async fn post_sets_a_cookie_with_every_attribute_and_returns_the_header() {
    let app = oneshot_app().await;
    let body = json!({
        "name": "prefs", "value": "dark mode", "max_age": 3600, "path": "/", "domain": "127.0.0.1",
        "secure": true, "http_only": true, "same_site": "Strict", "partitioned": true
    });

    let response = app.post_json("/api/cookies", &body).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let header = the_set_cookie(&response);
    assert!(
        header.starts_with(
            "prefs=dark%20mode; HttpOnly; SameSite=Strict; Partitioned; Secure; Path=/; Domain=127.0.0.1; Max-Age=3600; Expires="
        ),
        "{header}"
    );
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["set_cookie"], header);
    // Only what Chromium says of a Secure cookie from an http page on
    // localhost; the Expires written beside Max-Age is not a warning.
    let warnings: Vec<&str> = created["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(warnings, ["WARN_SECURE_ACCESS_GRANTED_NON_CRYPTOGRAPHIC"]);
}

#[tokio::test]
async fn post_reports_warnings_but_still_sets() {
    let app = oneshot_app().await;

    let response = app
        .post_json(
            "/api/cookies",
            &json!({"name": "session_id", "value": "1", "max_age": 40_000_000}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(set_cookies(response.headers()).len(), 1);
    let created: Value = response.json().await.unwrap();
    let ids: Vec<&str> = created["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "lifetime-capped",
            "session-without-httponly",
            "samesite-unspecified"
        ]
    );
    assert_eq!(created["warnings"][0]["severity"], "warning");
}

#[tokio::test]
async fn post_refuses_what_a_browser_would_reject_with_422_and_sets_nothing() {
    let app = oneshot_app().await;
    for (body, reason) in [
        (
            json!({"name": "id", "value": "1", "same_site": "None"}),
            "EXCLUDE_SAMESITE_NONE_INSECURE",
        ),
        (
            json!({"name": "__Host-id", "value": "1", "secure": true, "path": "/app"}),
            "EXCLUDE_INVALID_PREFIX",
        ),
        (
            json!({"name": "id", "value": "1", "domain": "example.com"}),
            "EXCLUDE_INVALID_DOMAIN",
        ),
        (
            json!({"name": "id", "value": "x".repeat(5000)}),
            "EXCLUDE_NAME_VALUE_PAIR_EXCEEDS_MAX_SIZE",
        ),
        (
            json!({"name": "id", "path": "/; Domain=evil.example"}),
            "cannot-be-written",
        ),
    ] {
        let response = app.post_json("/api/cookies", &body).await;

        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        assert!(set_cookies(response.headers()).is_empty(), "{body}");
        let error: Value = response.json().await.unwrap();
        assert!(
            error["error"]
                .as_str()
                .unwrap()
                .contains(" was not set because "),
            "{error}"
        );
        assert_eq!(error["problems"][0]["id"], reason, "{error}");
        assert_eq!(error["problems"][0]["severity"], "error");
        assert!(!error["problems"][0]["fix"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn bad_bodies_get_json_errors_with_fitting_statuses() {
    let app = spawn_app().await;
    let post = |body: &'static str, content_type: &'static str| {
        app.client
            .post(app.url("/api/cookies"))
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
    };

    let cases = [
        (
            post("{\"name\": ", "application/json").await.unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            post("name=x", "application/x-www-form-urlencoded")
                .await
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            post("{\"value\": \"x\"}", "application/json")
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            post("{\"name\": \"x\", \"httponly\": true}", "application/json")
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            post(
                "{\"name\": \"x\", \"same_site\": \"sometimes\"}",
                "application/json",
            )
            .await
            .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            post(
                "{\"name\": \"x\", \"expires\": \"tomorrow\"}",
                "application/json",
            )
            .await
            .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];

    for (response, status) in cases {
        assert_eq!(response.status(), status);
        assert_eq!(
            response.headers().get(CONTENT_TYPE).unwrap(),
            "application/json"
        );
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .starts_with("the request body could not be read"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn same_site_is_read_in_any_case() {
    let app = oneshot_app().await;

    let response = app
        .post_json(
            "/api/cookies",
            &json!({"name": "a", "same_site": "lax", "expires": "2030-01-01T00:00:00Z"}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let header = the_set_cookie(&response);
    assert!(
        header.contains("SameSite=Lax") && header.contains("Expires=Tue, 01 Jan 2030 00:00:00 GMT"),
        "{header}"
    );
}

#[tokio::test]
async fn lint_reports_each_engines_verdict_and_sets_nothing() {
    let app = oneshot_app().await;

    let response = app
        .post_json(
            "/api/lint",
            &json!({"set_cookie": "Set-Cookie: __Host-id=1; Path=/app", "host": "localhost"}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert!(set_cookies(response.headers()).is_empty());
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["set_cookie"], "__Host-id=1; Path=/app");
    assert_eq!(report["verdict"], "rejected");
    assert_eq!(report["url"], "http://localhost/");
    for (engine, reason) in [
        ("chromium", "EXCLUDE_INVALID_PREFIX"),
        ("firefox", "CookieRejectedInvalidPrefix"),
    ] {
        let verdict = &report["engines"][engine];
        assert_eq!(verdict["stored"], false, "{engine}");
        assert_eq!(verdict["outcome"], "rejected", "{engine}");
        assert_eq!(verdict["reasons"][0]["id"], reason, "{engine}");
        assert_eq!(verdict["reasons"][0]["drops_the_cookie"], true);
        assert!(verdict["reasons"][0]["fix"].as_str().unwrap().len() > 10);
    }
}

#[tokio::test]
async fn lint_gives_each_engines_cookie_for_the_host_scheme_path_and_context_asked() {
    let app = &oneshot_app().await;
    let lint = |body: Value| async move {
        let response = app.post_json("/api/lint", &body).await;
        assert_eq!(response.status(), StatusCode::OK, "{body}");
        response.json::<Value>().await.unwrap()
    };

    let nameless =
        lint(json!({"set_cookie": "novalue", "host": "localhost", "path": "/p/q/r"})).await;
    let secure_http =
        lint(json!({"set_cookie": "id=1; Secure", "host": "example.com", "scheme": "http"})).await;
    let secure_https =
        lint(json!({"set_cookie": "id=1; Secure; SameSite=Lax", "host": "example.com", "scheme": "https"}))
            .await;
    let tab = lint(json!({"set_cookie": "v=a\\x09b", "host": "localhost"})).await;
    let embedded =
        lint(json!({"set_cookie": "n=1", "host": "localhost", "context": "cross-site-iframe"}))
            .await;

    let cookie = |report: &Value, engine: &str| report["engines"][engine]["cookie"].clone();
    assert_eq!(cookie(&nameless, "chromium")["name"], "");
    assert_eq!(cookie(&nameless, "chromium")["value"], "novalue");
    assert_eq!(cookie(&nameless, "chromium")["path"], "/p/q");
    assert_eq!(cookie(&nameless, "firefox")["name"], "novalue");
    assert_eq!(cookie(&nameless, "firefox")["value"], "");
    assert_eq!(secure_http["verdict"], "rejected");
    assert_eq!(
        secure_http["engines"]["chromium"]["reasons"][0]["id"],
        "EXCLUDE_SECURE_ONLY"
    );
    assert_eq!(secure_https["verdict"], "accepted");
    assert_eq!(tab["engines"]["chromium"]["stored"], false);
    assert_eq!(tab["engines"]["firefox"]["stored"], true);
    assert_eq!(cookie(&tab, "firefox")["value"], "a\\x09b");
    assert_eq!(embedded["engines"]["chromium"]["outcome"], "blocked");
    assert_eq!(embedded["engines"]["firefox"]["stored"], true);
    assert_eq!(cookie(&embedded, "firefox")["partitioned"], true);
    assert_eq!(embedded["measured"], true);
}

#[tokio::test]
async fn lint_refuses_what_is_not_one_set_cookie_line() {
    let app = oneshot_app().await;
    for (body, says) in [
        (json!({"set_cookie": "  "}), "empty"),
        (
            json!({"set_cookie": "a=1", "path": "relative"}),
            "does not start with /",
        ),
        (
            json!({"set_cookie": "a=1", "host": "bad host"}),
            "not a host name",
        ),
        (json!({"set_cookie": "a=\\xZZ"}), "\\x"),
        (
            json!({"set_cookie": "a=1", "context": "cross-site"}),
            "unknown context \"cross-site\": one of same-site, cross-site-top-level,",
        ),
        (
            json!({"set_cookie": "a=1", "scheme": "ftp"}),
            "unknown variant `ftp`",
        ),
    ] {
        let response = app.post_json("/api/lint", &body).await;

        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let error: Value = response.json().await.unwrap();
        assert!(
            error["error"].as_str().unwrap().contains(says),
            "{body}: {error}"
        );
    }
}

#[tokio::test]
async fn unknown_api_routes_answer_json_404() {
    let app = oneshot_app().await;

    let response = app.get("/api/nope").await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("/api/openapi.json")
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let app = oneshot_app().await;

    let response = app.get("/api/openapi.json").await;

    assert_eq!(response.status(), StatusCode::OK);
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/cookies", "get"),
        ("/api/cookies", "post"),
        ("/api/cookies/set", "get"),
        ("/api/cookies/set/{name}/{value}", "get"),
        ("/api/cookies/delete", "get"),
        ("/api/lint", "post"),
        ("/api/lab/{run}", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path} missing");
    }
    let report = &document["components"]["schemas"]["LintReport"]["properties"];
    for field in ["verdict", "engines", "advice", "context", "url"] {
        assert!(report[field].is_object(), "LintReport.{field}: {report}");
    }
    let engine = &document["components"]["schemas"]["EngineReport"]["properties"];
    for field in ["stored", "cookie", "ignored", "reasons"] {
        assert!(engine[field].is_object(), "EngineReport.{field}: {engine}");
    }
}
