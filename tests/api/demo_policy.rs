//! What demo routes may not do: set or delete a reserved name (login CSRF,
//! logout CSRF), change anything on a GET from another site, or set more
//! than one response may (cookie bombs); and the 431 page's way out.
//! Each test reproduces a finding of the 2026-11-29 security review.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION};

use crate::common::{TestApp, oneshot_app, set_cookies, text_of, the_set_cookie};

/// Every demo route that sets or deletes cookies on a GET, with a query
/// naming `lab_session`: the ways the review logged a victim in or out.
const RESERVED_GETS: [&str; 5] = [
    "/api/cookies/set?lab_session=attacker",
    "/api/cookies/set/lab_session/attacker",
    "/api/cookies/delete?lab_session",
    "/api/cookies/delete?__Host-lab_session",
    "/cookies/delete?name=lab_session",
];

/// Every demo route that sets or deletes cookies on a GET, with harmless names.
const COOKIE_SETTING_GETS: [&str; 5] = [
    "/api/cookies/set?theme=dark",
    "/api/cookies/set/theme/dark",
    "/api/cookies/delete?theme",
    "/cookies",
    "/cookies/delete",
];

async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(request, true).await
}

#[tokio::test]
async fn a_cross_site_link_cannot_log_a_victim_in_as_the_attacker() {
    let attacker_app = oneshot_app().await;
    let attacker = attacker_app.log_in("attacker@evil.example").await;
    let app = oneshot_app().await;
    let victim = app.log_in("victim@example.org").await;
    let planted = url_encode(&attacker);

    for path in [
        format!("/api/cookies/set?lab_session={planted}"),
        format!("/api/cookies/set/lab_session/{planted}"),
        format!("/api/cookies/set?__host-lab_session={planted}"),
    ] {
        // Cross-site, as the review's meta refresh, and from the same
        // site: a reserved name is refused either way.
        for headers in [
            &[
                ("sec-fetch-site", "cross-site"),
                ("sec-fetch-mode", "navigate"),
            ][..],
            &[("sec-fetch-site", "same-origin")][..],
            &[][..],
        ] {
            let response = get_with(&app, &path, headers).await;
            assert!(
                response.status().is_client_error(),
                "{path} {headers:?}: {}",
                response.status()
            );
            assert!(set_cookies(response.headers()).is_empty(), "{path}");
        }
    }
    let profile = app.get("/profile").await;
    assert_eq!(profile.status(), StatusCode::OK);
    assert_eq!(
        text_of(&profile.text().await.unwrap(), "profile-email"),
        "Logged in as victim@example.org",
        "still the victim's own login ({victim})"
    );
}

#[tokio::test]
async fn demo_routes_refuse_reserved_names_whole_with_422() {
    let app = oneshot_app().await;
    for path in RESERVED_GETS {
        let response = app.get(path).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}"
        );
        assert!(set_cookies(response.headers()).is_empty(), "{path}");
        let body = response.text().await.unwrap();
        assert!(body.contains("reserved"), "{path}: {body}");
    }
    // Refused whole: the ordinary name beside the reserved one isn't set.
    let response = app
        .get("/api/cookies/set?theme=dark&lab_session=x&lang=en")
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(set_cookies(response.headers()).is_empty());
    let json: serde_json::Value = response.json().await.unwrap();
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .contains("\"lab_session\" is reserved"),
        "{json}"
    );
}

#[tokio::test]
async fn the_workbench_and_the_json_api_refuse_reserved_names() {
    let app = oneshot_app().await;
    for name in [
        "lab_session",
        "__Host-lab_session",
        "cookie_lab_probe",
        "lab-strict",
    ] {
        let response = app
            .post_json(
                "/api/cookies",
                &serde_json::json!({"name": name, "value": "x"}),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}"
        );
        assert!(set_cookies(response.headers()).is_empty(), "{name}");

        let response = app
            .post_form("/inspect", &[("name", name), ("value", "x"), ("path", "/")])
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}"
        );
        assert!(set_cookies(response.headers()).is_empty(), "{name}");
        assert!(
            response.text().await.unwrap().contains("is reserved"),
            "{name}"
        );

        let response = app.post_form("/inspect/delete", &[("name", name)]).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}"
        );
        assert!(set_cookies(response.headers()).is_empty(), "{name}");
    }
}

#[tokio::test]
async fn a_cookie_setting_get_from_another_site_sets_nothing_and_says_why() {
    let app = oneshot_app().await;
    for path in COOKIE_SETTING_GETS {
        for headers in [
            &[("sec-fetch-site", "cross-site")][..],
            // A browser without Fetch Metadata: Origin, else Referer.
            &[("origin", "http://evil.example")][..],
            &[("referer", "http://evil.example/attack.html")][..],
        ] {
            let response = get_with(&app, path, headers).await;
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{path} {headers:?}"
            );
            assert!(set_cookies(response.headers()).is_empty(), "{path}");
            let body = response.text().await.unwrap();
            assert!(body.contains("another site"), "{path}: {body}");
            if !path.starts_with("/api/") {
                // A same-site link to try again: this very request.
                assert_eq!(text_of(&body, "error-link"), "Try again from this site");
                assert!(body.contains(&format!("href=\"{path}\"")), "{body}");
            }
        }
    }
}

#[tokio::test]
async fn same_site_and_non_browser_gets_keep_httpbin_parity() {
    let app = oneshot_app().await;
    for headers in [
        &[("sec-fetch-site", "same-origin")][..],
        &[("sec-fetch-site", "same-site")][..],
        &[("sec-fetch-site", "none")][..],
        &[][..],
        &[("referer", "http://127.0.0.1:9/elsewhere")][..],
    ] {
        let response = get_with(&app, "/api/cookies/set?theme=dark", headers).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{headers:?}");
        assert_eq!(response.headers()[LOCATION], "/api/cookies");
        assert_eq!(the_set_cookie(&response), "theme=dark; Path=/");
    }
    // A link from elsewhere to a page that sets nothing is served as usual.
    let response = get_with(&app, "/getcookie", &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn one_response_sets_at_most_20_cookies_and_8_kib() {
    let app = oneshot_app().await;
    let twenty: Vec<String> = (0..20).map(|i| format!("c{i}=v")).collect();
    let response = app
        .get(&format!("/api/cookies/set?{}", twenty.join("&")))
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(set_cookies(response.headers()).len(), 20);

    let twenty_one: Vec<String> = (0..21).map(|i| format!("d{i}=v")).collect();
    let response = app
        .get(&format!("/api/cookies/set?{}", twenty_one.join("&")))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(set_cookies(response.headers()).is_empty());

    // The review's 60 KB query: about 10,000 cookies asked for, none set.
    let flood: Vec<String> = (0..7000).map(|i| format!("c{i}=v")).collect();
    let response = app
        .get(&format!("/api/cookies/set?{}", flood.join("&")))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(set_cookies(response.headers()).is_empty());

    // Three cookies of 3.9 KB come to over 8 KiB of Set-Cookie.
    let big = "x".repeat(3900);
    let response = app
        .get(&format!("/api/cookies/set?a={big}&b={big}&c={big}"))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(set_cookies(response.headers()).is_empty());
    let response = app.get(&format!("/api/cookies/set?a={big}&b={big}")).await;
    assert_eq!(response.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn the_431_page_offers_a_button_that_clears_the_cookies_it_received() {
    let app = oneshot_app().await;
    app.log_in("ada@example.com").await;
    let value = "v".repeat(3900);
    let bomb: Vec<String> = (0..20).map(|i| format!("bomb{i}={value}")).collect();
    let cookie_header = format!("{}; lab_session=whatever", bomb.join("; "));

    let page = app.get_with_cookie("/", &cookie_header).await;
    assert_eq!(page.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert!(page.headers().contains_key(CONTENT_SECURITY_POLICY));
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<form method="post" action="/cookies/clear" data-test="error-action">"#),
        "{html}"
    );

    // The button's POST carries the same oversized header and is answered.
    let cleared = app
        .send(
            app.client
                .post(app.url("/cookies/clear"))
                .header("Cookie", &cookie_header)
                .header("Origin", format!("http://{}", app.addr)),
            false,
        )
        .await;
    assert_eq!(cleared.status(), StatusCode::SEE_OTHER);
    assert_eq!(cleared.headers()[LOCATION], "/inspect");
    assert_eq!(cleared.headers()["clear-site-data"], "\"cookies\"");
    let removals = set_cookies(cleared.headers());
    assert_eq!(removals.len(), 21, "one removal per distinct name");
    for (i, removal) in removals.iter().take(20).enumerate() {
        assert_eq!(
            removal,
            &format!("bomb{i}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
        );
    }
    assert_eq!(
        removals[20],
        "lab_session=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    );

    // From another site it is refused like every other POST.
    let refused = app
        .send(
            app.client
                .post(app.url("/cookies/clear"))
                .header("sec-fetch-site", "cross-site"),
            true,
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(set_cookies(refused.headers()).is_empty());
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
