//! Hostile input: malformed Cookie headers on every page, and CR/LF/`;`
//! injection through every input that reaches a Set-Cookie. No input gets a
//! 500, and every Set-Cookie sent is one well-formed header line.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{TestApp, oneshot_app, set_cookies, spawn_app, the_set_cookie};

const GET_PAGES: [&str; 10] = [
    "/",
    "/getcookie",
    "/cookies",
    "/cookies/delete",
    "/login",
    "/profile",
    "/client",
    "/inspect",
    "/api/cookies",
    "/healthz",
];

/// Sends raw bytes (anything, including what HTTP clients refuse to send)
/// and returns the status code and body.
async fn raw_get(app: &TestApp, path: &str, cookie: &[u8]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nCookie: ",
        app.addr
    )
    .into_bytes();
    request.extend_from_slice(cookie);
    request.extend_from_slice(b"\r\n\r\n");
    stream.write_all(&request).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

/// Every Set-Cookie header line of a raw response.
fn raw_set_cookies(response: &str) -> Vec<&str> {
    response
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .collect()
}

const MALFORMED_COOKIE_HEADERS: [(&str, &[u8]); 12] = [
    ("no =", b"novalue; good=1"),
    ("empty name", b"=nameless; good=1"),
    ("only separators", b";;; ;"),
    ("duplicates", b"good=1; good=2; good=3"),
    ("quotes", b"good=\"1\"; q=\"unterminated; r=\"\""),
    ("control characters", b"good=1; ctl=a\x01b\x7f"),
    ("tab", b"good=1;\tt=\tx"),
    ("invalid UTF-8", b"good=1; bad=\xff\xfe\xc3"),
    ("invalid percent-encoding", b"good=1; p=%zz%; q=%AF%FE"),
    ("login cookie garbage", b"good=1; lab_session=%00%FF..; lab_session=."),
    ("very long name", b"good=1; aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1"),
    ("equals in value", b"good=1; e===="),
];

#[tokio::test]
async fn malformed_cookie_headers_never_get_a_500_on_any_page() {
    let app = spawn_app().await;
    for (what, header) in MALFORMED_COOKIE_HEADERS {
        for path in GET_PAGES {
            let (status, response) = raw_get(&app, path, header).await;

            assert!(
                (200..500).contains(&status),
                "{what} on {path}: {status}\n{response}"
            );
            for line in raw_set_cookies(&response) {
                assert!(!line.contains('\r'), "{what} on {path}: {line:?}");
            }
        }
    }
}

#[tokio::test]
async fn bad_pairs_are_skipped_and_the_rest_read() {
    let app = spawn_app().await;
    for (what, header) in MALFORMED_COOKIE_HEADERS {
        let (status, response) = raw_get(&app, "/api/cookies", header).await;
        if what == "control characters" {
            // HTTP forbids them in a header value: hyper answers 400 before
            // the request reaches cookie-lab.
            assert_eq!(status, 400, "{what}");
            continue;
        }
        assert_eq!(status, 200, "{what}");
        let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
        let json: Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
        if what != "only separators" {
            assert_eq!(json["cookies"]["good"], "1", "{what}: {json}");
        }
    }
}

#[tokio::test]
async fn a_cookie_header_past_64_kib_is_431_on_every_page() {
    let app = spawn_app().await;
    let header = format!("big={}", "x".repeat(64 * 1024));
    for path in GET_PAGES {
        let (status, _) = raw_get(&app, path, header.as_bytes()).await;
        assert_eq!(status, 431, "{path}");
    }
}

/// Each Set-Cookie is one line and sets only the cookie it names.
fn assert_one_clean_line(headers: &reqwest::header::HeaderMap, name: &str) {
    let all = set_cookies(headers);
    assert_eq!(all.len(), 1, "{all:?}");
    let line = &all[0];
    assert!(!line.contains(['\r', '\n']), "{line:?}");
    assert!(line.starts_with(&format!("{name}=")), "{line:?}");
    let attributes: Vec<&str> = line
        .split("; ")
        .skip(1)
        .map(|a| a.split('=').next().unwrap_or_default())
        .collect();
    for attribute in attributes {
        assert!(
            [
                "Path",
                "SameSite",
                "Max-Age",
                "Expires",
                "HttpOnly",
                "Secure",
                "Domain",
                "Partitioned"
            ]
            .contains(&attribute),
            "injected attribute {attribute:?} in {line:?}"
        );
    }
}

const INJECTIONS: [&str; 5] = [
    "x\r\nSet-Cookie: evil=1",
    "x; Domain=evil.example",
    "x; Path=/; HttpOnly",
    "x\nLocation: http://evil.example",
    "x\0y",
];

#[tokio::test]
async fn injection_through_the_user_id_form_is_encoded_into_the_value() {
    let app = oneshot_app().await;
    for value in INJECTIONS {
        let response = app
            .post_form("/code/set/cookie", &[("userID", value)])
            .await;

        assert_eq!(response.status(), StatusCode::OK, "{value:?}");
        assert_one_clean_line(response.headers(), "userID");
        let page = app.get("/getcookie").await.text().await.unwrap();
        assert!(!page.contains("evil.example\">"), "{page}");
    }
}

#[tokio::test]
async fn injection_through_cookie_names_is_refused_everywhere() {
    let app = oneshot_app().await;
    // A line break, `;` or `=` would end the name early (another cookie, or
    // extra attributes); an empty name is one Firefox drops.
    for name in ["a\r\nb", "a;b", "a=b", ""] {
        let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();

        let delete = app.get(&format!("/cookies/delete?name={encoded}")).await;
        let workbench = app
            .post_form("/inspect", &[("name", name), ("value", "1")])
            .await;
        let inspect_delete = app.post_form("/inspect/delete", &[("name", name)]).await;
        let api_set = app.get(&format!("/api/cookies/set?{encoded}=1")).await;
        let api_post = app
            .post_json("/api/cookies", &json!({"name": name, "value": "1"}))
            .await;

        for (route, response) in [
            ("/cookies/delete", delete),
            ("/inspect", workbench),
            ("/inspect/delete", inspect_delete),
            ("/api/cookies/set", api_set),
            ("POST /api/cookies", api_post),
        ] {
            assert!(
                response.status().is_client_error(),
                "{route} with {name:?}: {}",
                response.status()
            );
            assert!(
                set_cookies(response.headers()).is_empty(),
                "{route} with {name:?}"
            );
        }
    }
}

/// Names outside RFC 6265's token grammar that both engines store (the
/// browser-truth recording shows it) are set as asked, in one clean line,
/// with advice that servers may not read them back.
#[tokio::test]
async fn names_both_engines_store_are_set_as_asked_with_advice() {
    let app = oneshot_app().await;
    for name in ["a b", "(x)", "a,b", "a@b"] {
        let api_post = app
            .post_json("/api/cookies", &json!({"name": name, "value": "1"}))
            .await;

        assert_eq!(api_post.status(), StatusCode::CREATED, "{name:?}");
        assert_eq!(
            the_set_cookie(&api_post),
            format!("{name}=1; Path=/"),
            "{name:?}"
        );
        let created: Value = api_post.json().await.unwrap();
        assert!(
            created["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w["id"] == "name-not-token"),
            "{name:?}: {created}"
        );
    }
}

#[tokio::test]
async fn injection_through_values_is_percent_encoded_everywhere() {
    let app = oneshot_app().await;
    for value in INJECTIONS {
        let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        let path_encoded = encoded.replace('+', "%20");

        let workbench = app
            .post_form(
                "/inspect",
                &[("name", "v"), ("value", value), ("path", "/")],
            )
            .await;
        let api_set = app.get(&format!("/api/cookies/set?v={encoded}")).await;
        let api_path = app.get(&format!("/api/cookies/set/v/{path_encoded}")).await;
        let api_post = app
            .post_json("/api/cookies", &json!({"name": "v", "value": value}))
            .await;

        for (route, response) in [
            ("/inspect", workbench),
            ("/api/cookies/set", api_set),
            ("/api/cookies/set/v/…", api_path),
            ("POST /api/cookies", api_post),
        ] {
            assert!(
                response.status().is_success() || response.status() == StatusCode::FOUND,
                "{route} {value:?}: {}",
                response.status()
            );
            assert_one_clean_line(response.headers(), "v");
        }
    }
}

#[tokio::test]
async fn injection_through_path_and_domain_is_refused() {
    let app = oneshot_app().await;
    for (field, value, reason) in [
        ("path", "/\r\nSet-Cookie: evil=1", "cannot-be-written"),
        ("path", "/; Domain=evil.example", "cannot-be-written"),
        ("path", "/x\0", "cannot-be-written"),
        ("domain", "127.0.0.1; Secure", "cannot-be-written"),
        ("domain", "127.0.0.1\r\nX-Evil: 1", "cannot-be-written"),
        ("domain", "evil.example", "EXCLUDE_INVALID_DOMAIN"),
    ] {
        let workbench = app
            .post_form("/inspect", &[("name", "v"), ("value", "1"), (field, value)])
            .await;
        let api = app
            .post_json("/api/cookies", &json!({"name": "v", field: value}))
            .await;

        assert_eq!(
            workbench.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value:?}"
        );
        assert!(set_cookies(workbench.headers()).is_empty());
        assert!(
            workbench
                .text()
                .await
                .unwrap()
                .contains(&format!("data-rule=\"{reason}\"")),
            "{field}={value:?}"
        );
        assert_eq!(
            api.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value:?}"
        );
        assert!(set_cookies(api.headers()).is_empty());
        let body: Value = api.json().await.unwrap();
        assert!(
            body["problems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["id"] == reason),
            "{field}={value:?}: {body}"
        );
    }
}

/// Both engines ignore an attribute over 1024 bytes and keep the cookie
/// (recorded in both): it is sent, and the warning says Path is ignored.
#[tokio::test]
async fn an_over_long_path_is_sent_with_a_warning_that_browsers_ignore_it() {
    let app = oneshot_app().await;
    let path = format!("/{}", "p".repeat(1024));

    let api = app
        .post_json(
            "/api/cookies",
            &json!({"name": "v", "value": "1", "path": path}),
        )
        .await;

    assert_eq!(api.status(), StatusCode::CREATED);
    let created: Value = api.json().await.unwrap();
    let said: Vec<String> = created["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| format!("{}: {}", w["engine"], w["message"]))
        .collect();
    for engine in ["Chromium", "Firefox"] {
        assert!(
            said.iter()
                .any(|w| w.contains(&format!("{engine} ignores Path"))),
            "{said:?}"
        );
    }
}

#[tokio::test]
async fn line_breaks_in_a_linted_header_are_unusable_input() {
    let app = oneshot_app().await;

    let response = app
        .post_json(
            "/api/lint",
            &json!({"set_cookie": "a=1\r\nSet-Cookie: evil=1"}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("holds a line break"),
        "{body}"
    );
}

#[tokio::test]
async fn garbage_bodies_and_queries_get_clear_errors_not_500s() {
    let app = spawn_app().await;
    let cases: Vec<(&str, &str, &str, &[u8])> = vec![
        (
            "POST",
            "/login",
            "application/x-www-form-urlencoded",
            b"\xff\xfe=%%%",
        ),
        ("POST", "/login", "text/plain", b"email=a"),
        (
            "POST",
            "/code/set/cookie",
            "application/x-www-form-urlencoded",
            b"userID=%ZZ",
        ),
        (
            "POST",
            "/inspect",
            "application/x-www-form-urlencoded",
            b"name",
        ),
        ("POST", "/api/cookies", "application/json", b"[1,2,3]"),
        ("POST", "/api/cookies", "application/json", b"\xff"),
        (
            "POST",
            "/api/lint",
            "application/json",
            b"{\"set_cookie\": 5}",
        ),
        ("GET", "/cookies?max_age=%FF", "", b""),
        ("GET", "/api/cookies/set?%FF=%FE", "", b""),
    ];
    for (method, path, content_type, body) in cases {
        let mut request = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .body(body.to_vec());
        if !content_type.is_empty() {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();

        assert!(
            !response.status().is_server_error(),
            "{method} {path}: {}",
            response.status()
        );
        if response.status().is_redirection() {
            // `%FF` decodes to U+FFFD, a name both engines store.
            continue;
        }
        assert!(
            !response.text().await.unwrap().is_empty(),
            "{method} {path}: says why"
        );
    }
}

/// A request its handler can't answer within 30 seconds (here: a form body
/// that never ends) gets a 408, with the security headers every answer
/// carries, and is counted. The clock is tokio's paused clock, so the test
/// takes no time.
#[tokio::test(start_paused = true)]
async fn a_request_unanswered_after_the_request_timeout_gets_408() {
    use axum::body::{Body, Bytes};
    use tower::ServiceExt;

    let app = oneshot_app().await;
    let router = cookie_lab::routes::app(app.state.clone());
    let never_ends = futures_util::stream::pending::<Result<Bytes, std::io::Error>>();
    let request = axum::http::Request::post("/code/set/cookie")
        .header("host", "127.0.0.1:5000")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from_stream(never_ends))
        .unwrap();
    let started = tokio::time::Instant::now();

    let response = router.oneshot(request).await.unwrap();

    let waited = started.elapsed();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert!(
        (cookie_lab::routes::REQUEST_TIMEOUT..cookie_lab::routes::REQUEST_TIMEOUT * 2)
            .contains(&waited),
        "answered after {waited:?}"
    );
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    let metrics = app.state.metrics.encode().unwrap();
    assert!(
        metrics.contains(
            "cookie_lab_http_requests_total{method=\"POST\",route=\"/code/set/cookie\",status=\"408\"} 1"
        ),
        "{metrics}"
    );
}
