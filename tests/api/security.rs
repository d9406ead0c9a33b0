//! Cross-site protection, login throttling, revocation on logout, key
//! rotation, HTTPS behind a trusted proxy, and size limits.

use cookie_lab::cli::{KeysAction, KeysArgs};
use cookie_lab::commands;
use cookie_lab::config::TrustedProxies;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};

use crate::common::{
    assert_redirects_to, login_cookie, login_value, oneshot_app, set_cookies, spawn_app,
    spawn_with, test_config, text_of, the_set_cookie,
};

const EMAIL: &str = "ada@example.com";

/// Every state-changing route, with a body it accepts; none is exempt
/// from the cross-site rules (the lab's routes for its other site, under
/// `/lab/peer/`, are the one exemption, tested in `lab.rs`).
pub(crate) const STATE_CHANGING: [(&str, &str, &str); 9] = [
    (
        "/login",
        "application/x-www-form-urlencoded",
        "email=ada%40example.com&password=code",
    ),
    ("/logout", "application/x-www-form-urlencoded", ""),
    (
        "/code/set/cookie",
        "application/x-www-form-urlencoded",
        "userID=alice",
    ),
    (
        "/inspect",
        "application/x-www-form-urlencoded",
        "name=a&value=1&path=%2F",
    ),
    (
        "/inspect/delete",
        "application/x-www-form-urlencoded",
        "name=a",
    ),
    (
        "/api/cookies",
        "application/json",
        r#"{"name": "a", "value": "1"}"#,
    ),
    ("/api/lint", "application/json", r#"{"set_cookie": "a=1"}"#),
    ("/lab/start", "application/x-www-form-urlencoded", ""),
    ("/lab/clear", "application/x-www-form-urlencoded", ""),
];

#[tokio::test]
async fn cross_site_posts_are_refused_on_every_state_changing_route() {
    let app = oneshot_app().await;
    for (path, content_type, body) in STATE_CHANGING {
        for (header, value) in [
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-site", "same-site"),
            ("origin", "http://evil.example"),
            ("origin", "null"),
        ] {
            let response = app
                .send(
                    app.client
                        .post(app.url(path))
                        .header(CONTENT_TYPE, content_type)
                        .header(header, value)
                        .body(body),
                    true,
                )
                .await;

            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{path} with {header}: {value}"
            );
            assert!(
                set_cookies(response.headers()).is_empty(),
                "{path}: nothing changes"
            );
            assert!(
                response.headers().get("content-security-policy").is_some(),
                "error pages keep the headers"
            );
            let text = response.text().await.unwrap();
            if path.starts_with("/api/") {
                assert!(
                    text.starts_with("{\"error\":\"cookie-lab refused this POST request"),
                    "{path}: {text}"
                );
            } else {
                assert!(
                    text.contains("Cross-site request refused"),
                    "{path}: {text}"
                );
            }
        }
    }
}

#[tokio::test]
async fn same_origin_posts_and_non_browser_clients_pass() {
    let app = oneshot_app().await;
    let origin = app.url("");
    for (header, value) in [
        ("sec-fetch-site", "same-origin"),
        ("sec-fetch-site", "none"),
        ("origin", origin.as_str()),
    ] {
        let response = app
            .send(
                app.client
                    .post(app.url("/code/set/cookie"))
                    .header(header, value)
                    .form(&[("userID", "alice")]),
                true,
            )
            .await;

        assert_eq!(response.status(), StatusCode::OK, "{header}: {value}");
    }
    // No Sec-Fetch-Site and no Origin: curl, scripts.
    assert_eq!(
        app.post_form("/code/set/cookie", &[("userID", "alice")])
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_cross_site_get_is_still_served() {
    let app = oneshot_app().await;

    let response = app
        .send(
            app.client
                .get(app.url("/"))
                .header("sec-fetch-site", "cross-site"),
            true,
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_sixth_wrong_password_in_a_row_is_refused_with_429_and_retry_after() {
    let app = oneshot_app().await;
    for attempt in 1..=5 {
        assert_eq!(
            app.login(EMAIL, "guess").await.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }

    let sixth = app.login(EMAIL, "guess").await;
    let even_right = app.login(EMAIL, "code").await;

    assert_eq!(sixth.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = sixth
        .headers()
        .get(RETRY_AFTER)
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // The first backoff of a (client, email) pair: one minute.
    assert!((59..=60).contains(&retry), "Retry-After {retry}");
    let html = sixth.text().await.unwrap();
    assert!(
        text_of(&html, "error-message").contains(&format!("Try again in {retry} seconds")),
        "{html}"
    );
    assert_eq!(
        even_right.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "no guessing while paused"
    );
    assert!(set_cookies(even_right.headers()).is_empty());
}

#[tokio::test]
async fn a_success_resets_the_pairs_failures() {
    let app = oneshot_app().await;
    for _ in 0..4 {
        app.login(EMAIL, "guess").await;
    }
    assert_eq!(app.login(EMAIL, "code").await.status(), StatusCode::OK);

    for attempt in 1..=5 {
        assert_eq!(
            app.login(EMAIL, "guess").await.status(),
            StatusCode::UNAUTHORIZED,
            "five free failures again: attempt {attempt}"
        );
    }
    assert_eq!(
        app.login(EMAIL, "guess").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn forwarded_addresses_only_count_behind_a_trusted_proxy() {
    let app = spawn_app().await;
    // Untrusted: X-Forwarded-For is ignored, so rotating it doesn't make
    // each guess a new client.
    let guess = |i: usize| {
        app.client
            .post(app.url("/login"))
            .header("x-forwarded-for", format!("10.9.0.{i}"))
            .form(&[("email", EMAIL), ("password", "guess")])
            .send()
    };
    for i in 0..5 {
        assert_eq!(guess(i).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }

    let response = guess(99).await.unwrap();

    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "throttled by the real peer address"
    );
}

#[tokio::test]
async fn a_logged_out_cookie_stops_working_even_as_a_copy() {
    let app = oneshot_app().await;
    let copy = app.log_in(EMAIL).await;
    let header = login_cookie(&copy);
    assert_eq!(
        app.get_with_cookie("/profile", &header).await.status(),
        StatusCode::OK
    );

    assert_redirects_to(&app.post_form("/logout", &[]).await, "/login");

    let response = app.get_with_cookie("/profile", &header).await;
    assert_redirects_to(&response, "/login");
    assert!(
        the_set_cookie(&response).starts_with("lab_session=; "),
        "the copy is cleared too"
    );
    let inspected = app
        .get_with_cookie("/inspect", &header)
        .await
        .text()
        .await
        .unwrap();
    assert!(inspected.contains("login cookie · revoked"), "{inspected}");
}

#[tokio::test]
async fn a_revocation_survives_a_restart() {
    let app = oneshot_app().await;
    let copy = app.log_in(EMAIL).await;
    app.post_form("/logout", &[]).await;

    let app = app.restart().await;

    assert_redirects_to(&app.profile_with(&copy).await, "/login");
}

#[tokio::test]
async fn every_login_gets_a_new_session_so_logging_out_one_keeps_the_other() {
    let app = oneshot_app().await;
    let first = app.log_in(EMAIL).await;
    let second = app.log_in(EMAIL).await;
    assert_ne!(first, second);

    app.send(
        app.client
            .post(app.url("/logout"))
            .header("cookie", login_cookie(&first)),
        true,
    )
    .await;

    assert_redirects_to(&app.profile_with(&first).await, "/login");
    assert_eq!(app.profile_with(&second).await.status(), StatusCode::OK);
}

fn keys(app_data_dir: &std::path::Path, action: KeysAction) {
    commands::keys::run(KeysArgs {
        data_dir: app_data_dir.to_owned(),
        action,
    })
    .unwrap();
}

#[tokio::test]
async fn a_user_stays_logged_in_across_a_rotation_and_is_logged_out_when_the_old_key_is_dropped() {
    let app = spawn_app().await;
    let original = app.log_in(EMAIL).await;
    let header = login_cookie(&original);

    keys(&app.data_dir, KeysAction::Rotate { drop_old: false });
    let app = app.restart().await;

    let response = app.get_with_cookie("/profile", &header).await;
    assert_eq!(response.status(), StatusCode::OK, "old keys still open");
    let reissued = the_set_cookie(&response);
    assert!(
        reissued.contains("; HttpOnly; SameSite=Lax; Path=/; Max-Age="),
        "{reissued}"
    );
    let resealed = login_value(&reissued);
    assert_ne!(
        resealed.split('.').next(),
        original.split('.').next(),
        "under the new key"
    );

    keys(&app.data_dir, KeysAction::DropOld);
    let app = app.restart().await;

    assert_redirects_to(&app.get_with_cookie("/profile", &header).await, "/login");
    assert_eq!(
        app.profile_with(&resealed).await.status(),
        StatusCode::OK,
        "the reissued cookie survives the drop"
    );
}

#[tokio::test]
async fn an_emergency_rotation_logs_everyone_out() {
    let app = oneshot_app().await;
    let value = app.log_in(EMAIL).await;

    keys(&app.data_dir, KeysAction::Rotate { drop_old: true });
    let app = app.restart().await;

    assert_redirects_to(&app.profile_with(&value).await, "/login");
}

#[tokio::test]
async fn behind_a_trusted_https_proxy_the_login_cookie_is_secure_and_host_prefixed() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.trust_proxy = TrustedProxies::parse("127.0.0.1").unwrap();
    let app = spawn_with(config).await;

    let response = app
        .send(
            app.client
                .post(app.url("/login"))
                .header("x-forwarded-proto", "https")
                .form(&[("email", EMAIL), ("password", "code")]),
            true,
        )
        .await;

    let header = the_set_cookie(&response);
    assert!(header.starts_with("__Host-lab_session="), "{header}");
    assert!(
        header.contains("; HttpOnly; SameSite=Lax; Secure; Path=/;"),
        "{header}"
    );
    let value = login_value(&header);
    let profile = app
        .send(
            app.client
                .get(app.url("/profile"))
                .header("x-forwarded-proto", "https")
                .header("cookie", format!("__Host-lab_session={value}")),
            true,
        )
        .await;
    assert_eq!(profile.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_trust_a_forwarded_proto_is_ignored_and_plain_http_stays_usable() {
    let app = oneshot_app().await;

    let response = app
        .send(
            app.client
                .post(app.url("/login"))
                .header("x-forwarded-proto", "https")
                .form(&[("email", EMAIL), ("password", "code")]),
            true,
        )
        .await;

    let header = the_set_cookie(&response);
    assert!(header.starts_with("lab_session="), "{header}");
    assert!(!header.contains("Secure"), "{header}");
    assert_eq!(app.get("/profile").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_cookie_header_over_64_kib_gets_431() {
    let app = oneshot_app().await;
    let header = (0..17)
        .map(|i| format!("c{i}={}", "v".repeat(4000)))
        .collect::<Vec<_>>()
        .join("; ");
    assert!(header.len() > 64 * 1024);

    let page = app.get_with_cookie("/", &header).await;
    let api = app.get_with_cookie("/api/cookies", &header).await;

    assert_eq!(page.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("cookie-lab reads at most 64 KiB")
    );
    assert_eq!(api.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert!(api.text().await.unwrap().starts_with("{\"error\":"));
}

#[tokio::test]
async fn the_tutorials_80_kb_example_is_refused_but_20_cookies_of_3_kb_pass() {
    let app = oneshot_app().await;
    let jar = |size: usize| {
        (0..20)
            .map(|i| format!("c{i}={}", "v".repeat(size)))
            .collect::<Vec<_>>()
            .join("; ")
    };

    assert_eq!(
        app.get_with_cookie("/inspect", &jar(4000)).await.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    let html = app
        .get_with_cookie("/inspect", &jar(3000))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-rule=\"cookie-header-too-large\""));
}

#[tokio::test]
async fn pages_that_show_login_state_are_never_cached() {
    let app = oneshot_app().await;
    let login = app.login(EMAIL, "code").await;
    assert_eq!(login.headers().get("cache-control").unwrap(), "no-store");
    for path in ["/login", "/profile", "/inspect"] {
        let response = app.get(path).await;
        assert_eq!(
            response.headers().get("cache-control").unwrap(),
            "no-store",
            "{path}"
        );
    }
    assert_eq!(
        app.post_form("/logout", &[])
            .await
            .headers()
            .get("cache-control")
            .unwrap(),
        "no-store"
    );
}

#[tokio::test]
async fn with_allowed_hosts_other_host_names_get_421_but_health_checks_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = test_config(tmp.path());
    config.allowed_hosts =
        cookie_lab::config::AllowedHosts::parse(&["cookies.test".to_owned()]).unwrap();
    let app = spawn_with(config).await;
    let with_host = |path: &str, host: &str| {
        app.client
            .get(app.url(path))
            .header("Host", host.to_owned())
            .send()
    };

    // A DNS-rebinding page reaches the server under its own name.
    for path in ["/", "/metrics", "/api/openapi.json", "/inspect"] {
        let response = with_host(path, "rebound.evil.example:5000").await.unwrap();
        assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST, "{path}");
        assert!(response.headers().contains_key("content-security-policy"));
    }
    let json = with_host("/api/cookies", "127.0.0.1").await.unwrap();
    assert_eq!(json.status(), StatusCode::MISDIRECTED_REQUEST);
    assert!(json.text().await.unwrap().starts_with("{\"error\":"));
    for path in ["/healthz", "/readyz"] {
        let response = with_host(path, "10.0.0.7:5000").await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let served = with_host("/", "cookies.test:5000").await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
}

/// Every error path cookie-lab controls carries the security headers
/// (hyper's own answers are covered in tests/api/connections.rs).
#[tokio::test]
async fn error_answers_carry_the_security_headers() {
    let app = oneshot_app().await;
    let big_form = "userID=".to_owned() + &"x".repeat(20 * 1024);
    let answers = [
        app.get("/no-such-page").await,
        app.send(app.client.put(app.url("/login")), true).await,
        app.send(
            app.client
                .post(app.url("/code/set/cookie"))
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(big_form),
            true,
        )
        .await,
        app.get_with_cookie("/", &format!("a={}", "x".repeat(70 * 1024)))
            .await,
        app.send(
            app.client
                .post(app.url("/logout"))
                .header("sec-fetch-site", "cross-site"),
            true,
        )
        .await,
        app.get("/api/cookies/set?lab_session=x").await,
    ];
    for response in answers {
        let status = response.status();
        assert!(status.is_client_error(), "{status}");
        for header in [
            "content-security-policy",
            "x-content-type-options",
            "x-frame-options",
            "referrer-policy",
        ] {
            assert!(
                response.headers().contains_key(header),
                "{status}: {header}"
            );
        }
    }
}
