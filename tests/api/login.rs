//! The login app and its cookie: success, failure, profile, logout, and
//! every way of faking a login.

use cookie_lab::cookies::login::{self, LoginClaims};
use cookie_lab::domain::Email;
use cookie_lab::keys::KeyRing;
use reqwest::StatusCode;
use time::{Duration, OffsetDateTime};

use crate::common::{
    assert_redirects_to, login_value, oneshot_app, set_cookies, spawn_app, tampered, text_of,
    the_set_cookie,
};

const EMAIL: &str = "ada@example.com";

#[tokio::test]
async fn the_login_page_is_a_form() {
    let app = oneshot_app().await;

    let response = app.get("/login").await;

    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"action="/login""#));
    assert!(html.contains(r#"name="email""#) && html.contains(r#"name="password""#));
}

#[tokio::test]
async fn the_right_password_shows_success_and_sets_a_sealed_http_only_cookie() {
    let app = oneshot_app().await;

    let response = app.login(EMAIL, "code").await;

    assert_eq!(response.status(), StatusCode::OK);
    let header = the_set_cookie(&response);
    let value = login_value(&header);
    assert!(
        header.contains("; HttpOnly; SameSite=Lax; Path=/; Max-Age=604800; Expires="),
        "{header}"
    );
    assert!(
        !value.contains("ada"),
        "the email must not be readable in the cookie"
    );
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    let html = response.text().await.unwrap();
    assert!(text_of(&html, "success-message").contains("You are logged in as ada@example.com"));
    assert!(html.contains(r#"href="/profile""#));
}

#[tokio::test]
async fn the_profile_reads_the_email_from_the_login_cookie() {
    let app = oneshot_app().await;
    app.login(EMAIL, "code").await;

    let response = app.get("/profile").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    assert_eq!(
        text_of(&response.text().await.unwrap(), "profile-email"),
        "Logged in as ada@example.com"
    );
}

#[tokio::test]
async fn a_wrong_password_is_a_401_error_page_and_no_cookie() {
    let app = oneshot_app().await;

    let response = app.login(EMAIL, "guess").await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookies(response.headers()).is_empty());
    let html = response.text().await.unwrap();
    assert!(html.contains("Login failed"));
    assert!(text_of(&html, "error-message").contains("email or password is wrong"));
    assert_redirects_to(&app.get("/profile").await, "/login");
}

#[tokio::test]
async fn a_malformed_email_is_refused_with_a_reason() {
    let app = oneshot_app().await;

    let response = app.login("not-an-email", "code").await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(set_cookies(response.headers()).is_empty());
    assert!(response.text().await.unwrap().contains("exactly one @"));
}

#[tokio::test]
async fn without_a_login_cookie_the_profile_sends_you_to_login() {
    let app = oneshot_app().await;

    let response = app.get("/profile").await;

    assert_redirects_to(&response, "/login");
    assert!(set_cookies(response.headers()).is_empty());
}

#[tokio::test]
async fn logout_clears_the_cookie_and_sends_you_to_login() {
    let app = oneshot_app().await;
    app.login(EMAIL, "code").await;

    let response = app.post_form("/logout", &[]).await;

    assert_redirects_to(&response, "/login");
    assert_eq!(
        the_set_cookie(&response),
        "lab_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    );
    assert_redirects_to(&app.get("/profile").await, "/login");
}

#[tokio::test]
async fn the_tutorials_forgeable_email_cookie_logs_nobody_in() {
    let app = oneshot_app().await;

    let response = app
        .get_with_cookie("/profile", &format!("email={EMAIL}"))
        .await;

    assert_redirects_to(&response, "/login");
}

#[tokio::test]
async fn a_login_cookie_made_up_by_hand_is_refused_and_cleared() {
    let app = oneshot_app().await;
    let kid = app.state.keys.current().id();
    for forged in [
        EMAIL.to_owned(),
        format!("{kid}.{EMAIL}"),
        format!("{kid}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="),
    ] {
        let response = app.profile_with(&forged).await;

        assert_redirects_to(&response, "/login");
        assert!(
            the_set_cookie(&response).starts_with("lab_session=; "),
            "{forged}"
        );
    }
}

#[tokio::test]
async fn a_tampered_login_cookie_is_refused() {
    let app = oneshot_app().await;
    let value = app.log_in(EMAIL).await;
    let tampered = tampered(&value);
    assert_ne!(tampered, value);

    let genuine = app.profile_with(&value).await;
    let response = app.profile_with(&tampered).await;

    assert_eq!(genuine.status(), StatusCode::OK);
    assert_redirects_to(&response, "/login");
}

#[tokio::test]
async fn an_expired_login_cookie_is_refused_even_if_the_browser_sends_it() {
    let app = oneshot_app().await;
    let now = OffsetDateTime::now_utc();
    let mut claims = LoginClaims::issue(
        &Email::parse(EMAIL).unwrap(),
        Duration::days(7),
        now - Duration::days(8),
        app.epoch,
    )
    .unwrap();
    claims.exp = now - Duration::seconds(1);
    let expired = login::seal(&app.state.keys, login::COOKIE_NAME, &claims).unwrap();

    let response = app.profile_with(&expired).await;

    assert_redirects_to(&response, "/login");
}

#[tokio::test]
async fn a_login_cookie_sealed_under_another_key_is_refused() {
    let app = oneshot_app().await;
    let other = KeyRing::generate().unwrap();
    let claims = LoginClaims::issue(
        &Email::parse(EMAIL).unwrap(),
        Duration::days(7),
        OffsetDateTime::now_utc(),
        app.epoch,
    )
    .unwrap();
    let foreign = login::seal(&other, login::COOKIE_NAME, &claims).unwrap();

    let response = app.profile_with(&foreign).await;

    assert_redirects_to(&response, "/login");
}

#[tokio::test]
async fn a_cookie_sealed_for_another_name_is_refused() {
    let app = oneshot_app().await;
    let claims = LoginClaims::issue(
        &Email::parse(EMAIL).unwrap(),
        Duration::days(7),
        OffsetDateTime::now_utc(),
        app.epoch,
    )
    .unwrap();
    let for_other_name = login::seal(&app.state.keys, "userID", &claims).unwrap();

    let response = app.profile_with(&for_other_name).await;

    assert_redirects_to(&response, "/login");
}

#[tokio::test]
async fn a_restart_on_the_same_data_dir_logs_nobody_out() {
    let app = spawn_app().await;
    app.login(EMAIL, "code").await;
    assert_eq!(app.get("/profile").await.status(), StatusCode::OK);

    let app = app.restart().await;

    let response = app.get("/profile").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("<strong>ada@example.com</strong>")
    );
}

#[tokio::test]
async fn a_cookie_from_an_older_key_is_reissued_under_the_current_one() {
    let app = spawn_app().await;
    let claims = LoginClaims::issue(
        &Email::parse(EMAIL).unwrap(),
        Duration::days(7),
        OffsetDateTime::now_utc(),
        app.epoch,
    )
    .unwrap();
    let mut ring = KeyRing::generate().unwrap();
    let old_value = login::seal(&ring, login::COOKIE_NAME, &claims).unwrap();
    // The server's key becomes the current key of a ring that still holds the old one.
    let server_secret = app.state.keys.current().secret_base64();
    let old_secret = ring.current().secret_base64();
    ring = KeyRing::from_env_value(&format!("{server_secret},{old_secret}")).unwrap();
    let mut config = crate::common::test_config(&app.data_dir);
    config.env_keys = Some(format!("{server_secret},{old_secret}"));
    let rotated = crate::common::spawn_with(config).await;

    let response = rotated.profile_with(&old_value).await;

    assert_eq!(response.status(), StatusCode::OK);
    let reissued = the_set_cookie(&response);
    let value = login_value(&reissued);
    assert!(
        value.starts_with(&format!("{}.", ring.current().id())),
        "{reissued}"
    );
    assert!(
        reissued.contains("; HttpOnly; SameSite=Lax; Path=/; Max-Age="),
        "{reissued}"
    );
    assert_eq!(
        login::open(&ring, login::COOKIE_NAME, &value, OffsetDateTime::now_utc()).valid_claims(),
        Some(&claims),
        "same claims, same expiry"
    );
}
