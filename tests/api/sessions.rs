//! What a login and a logout do to the sessions a browser presents, and
//! how the store's failures close the door: findings 7, 9 and 11 of the
//! 2026-11-29 security review.

use reqwest::StatusCode;

use crate::common::{assert_redirects_to, login_cookie, oneshot_app, text_of};

#[tokio::test]
async fn logout_revokes_every_valid_session_the_browser_presented() {
    let app = oneshot_app().await;
    let planted = login_cookie(&app.new_session("mallory@example.com").await);
    let own = login_cookie(&app.new_session("ada@example.com").await);

    // A cookie planted at a more specific path comes first, then garbage.
    let header = format!("{planted}; lab_session=garbage; {own}");
    let logout = app.post_with_cookie("/logout", &header, &[]).await;

    assert_redirects_to(&logout, "/login");
    assert_redirects_to(&app.get_with_cookie("/profile", &own).await, "/login");
    assert_redirects_to(&app.get_with_cookie("/profile", &planted).await, "/login");
}

#[tokio::test]
async fn logging_in_again_revokes_the_session_presented() {
    let app = oneshot_app().await;
    let alice = login_cookie(&app.new_session("alice@example.com").await);

    let relogin = app
        .post_with_cookie(
            "/login",
            &alice,
            &[("email", "mallory@example.com"), ("password", "code")],
        )
        .await;

    assert_eq!(relogin.status(), StatusCode::OK);
    assert_redirects_to(&app.get_with_cookie("/profile", &alice).await, "/login");
}

#[tokio::test]
async fn while_sqlite_cannot_write_logins_and_readyz_fail_closed_and_logout_says_so() {
    let app = oneshot_app().await;
    let live = login_cookie(&app.new_session("ada@example.com").await);
    app.state
        .revocations
        .simulate_write_failure(true)
        .await
        .unwrap();

    let logout = app.post_with_cookie("/logout", &live, &[]).await;
    assert_eq!(logout.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        text_of(&logout.text().await.unwrap(), "error-message")
            .contains("your session is still active")
    );
    let readyz = app.get("/readyz").await;
    assert_eq!(readyz.status(), StatusCode::SERVICE_UNAVAILABLE);
    let login = app.login("bob@example.com", "code").await;
    assert_eq!(login.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(login.headers().get("set-cookie").is_none());

    app.state
        .revocations
        .simulate_write_failure(false)
        .await
        .unwrap();
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    assert_eq!(
        app.login("bob@example.com", "code").await.status(),
        StatusCode::OK
    );
    assert_redirects_to(&app.post_with_cookie("/logout", &live, &[]).await, "/login");
    assert_redirects_to(&app.get_with_cookie("/profile", &live).await, "/login");
}

#[tokio::test]
async fn the_inspector_shows_at_most_180_rows_for_a_64_kib_header() {
    let app = oneshot_app().await;
    let pairs: Vec<String> = (0..7_000).map(|i| format!("c{i}=1")).collect();
    let header = pairs.join("; ");
    assert!(header.len() < 64 * 1024);

    let response = app.get_with_cookie("/inspect", &header).await;

    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert_eq!(page.matches("data-test=\"cookie-row\"").count(), 180);
    assert!(
        text_of(&page, "not-shown").starts_with("6820 more cookies not shown"),
        "{}",
        text_of(&page, "not-shown")
    );
    // The review measured 7.2 MB for such a request; now it is bounded.
    assert!(page.len() < 200 * 1024, "{} bytes", page.len());
}

/// Finding 7 of the 2026-11-29 review: with the public demo password, one
/// client created sessions (and revocations) as fast as it could send.
#[tokio::test]
async fn past_the_login_rate_a_correct_password_gets_429_and_no_session() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = crate::common::test_config(tmp.path());
    config.login_rate = 3;
    let app = crate::common::spawn_with(config).await;
    for i in 0..3 {
        let response = app.login(&format!("u{i}@example.com"), "code").await;
        assert_eq!(response.status(), StatusCode::OK, "login {i}");
    }

    let refused = app.login("u3@example.com", "code").await;

    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().get("set-cookie").is_none());
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&wait), "one session every 20 s: {wait}");
    assert!(
        text_of(&refused.text().await.unwrap(), "error-message").contains("too many new logins")
    );
    // Another client address is not held up by this one.
    let elsewhere = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap()
        .post(app.url("/login"))
        .form(&[("email", "bystander@example.com"), ("password", "code")])
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::OK);
}
