//! The form that sets `userID` and the page that reads it back.

use reqwest::StatusCode;

use crate::common::{oneshot_app, set_cookies, text_of, the_set_cookie};

#[tokio::test]
async fn the_home_page_shows_the_tutorials_form_and_links_every_demo() {
    let app = oneshot_app().await;

    let response = app.get("/").await;

    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"action="/code/set/cookie""#));
    assert!(html.contains(r#"name="userID""#));
    for link in [
        "/getcookie",
        "/cookies",
        "/cookies/delete",
        "/login",
        "/client",
        "/api/cookies",
    ] {
        assert!(
            html.contains(&format!(r#"href="{link}""#)),
            "no link to {link}"
        );
    }
}

#[tokio::test]
async fn submitting_the_form_sets_user_id_and_links_to_read_it() {
    let app = oneshot_app().await;

    let response = app
        .post_form("/code/set/cookie", &[("userID", "alice")])
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        the_set_cookie(&response),
        "userID=alice; SameSite=Lax; Path=/"
    );
    let html = response.text().await.unwrap();
    assert_eq!(text_of(&html, "userid-value"), "alice");
    assert_eq!(
        text_of(&html, "set-cookie-header"),
        "Set-Cookie: userID=alice; SameSite=Lax; Path=/"
    );
    assert!(html.contains(r#"href="/getcookie""#));
}

#[tokio::test]
async fn getcookie_reads_the_cookie_back() {
    let app = oneshot_app().await;
    app.post_form("/code/set/cookie", &[("userID", "alice")])
        .await;

    let response = app.get("/getcookie").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        text_of(&response.text().await.unwrap(), "userid-value"),
        "alice"
    );
}

#[tokio::test]
async fn getcookie_without_a_cookie_is_a_friendly_page() {
    let app = oneshot_app().await;

    let response = app.get("/getcookie").await;

    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(text_of(&html, "no-cookie").contains("sent no userID cookie"));
}

#[tokio::test]
async fn any_text_round_trips_exactly() {
    for (typed, on_the_wire) in [
        ("a;b c", "userID=a%3Bb%20c"),
        ("café", "userID=caf%C3%A9"),
        ("\"bar:baz\"", "userID=%22bar:baz%22"),
        ("100% sure, really\\", "userID=100%25%20sure%2C%20really%5C"),
        (
            "日本語 🍪",
            "userID=%E6%97%A5%E6%9C%AC%E8%AA%9E%20%F0%9F%8D%AA",
        ),
    ] {
        let app = oneshot_app().await;

        let set = app
            .post_form("/code/set/cookie", &[("userID", typed)])
            .await;
        let read = app.get("/getcookie").await;

        assert!(
            the_set_cookie(&set).starts_with(&format!("{on_the_wire};")),
            "{typed:?}"
        );
        assert_eq!(text_of(&read.text().await.unwrap(), "userid-value"), typed);
    }
}

#[tokio::test]
async fn markup_in_a_cookie_is_shown_as_text() {
    let app = oneshot_app().await;
    let evil = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    app.post_form("/code/set/cookie", &[("userID", evil)]).await;

    let html = app.get("/getcookie").await.text().await.unwrap();

    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("<img src=x"));
    assert!(html.contains("&#60;script&#62;"));
    assert_eq!(text_of(&html, "userid-value"), evil);
}

#[tokio::test]
async fn a_value_too_large_for_browsers_is_refused_and_nothing_is_set() {
    let app = oneshot_app().await;

    let response = app
        .post_form("/code/set/cookie", &[("userID", &"x".repeat(4097))])
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(set_cookies(response.headers()).is_empty());
    let html = response.text().await.unwrap();
    assert!(
        text_of(&html, "error-details").contains("EXCLUDE_NAME_VALUE_PAIR_EXCEEDS_MAX_SIZE"),
        "{html}"
    );
}

#[tokio::test]
async fn the_largest_value_browsers_keep_is_accepted() {
    let app = oneshot_app().await;

    // "userID" is 6 bytes; 6 + 4090 = 4096.
    let response = app
        .post_form("/code/set/cookie", &[("userID", &"x".repeat(4090))])
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        the_set_cookie(&response).len(),
        "userID=".len() + 4090 + "; SameSite=Lax; Path=/".len()
    );
}

#[tokio::test]
async fn the_size_limit_counts_the_encoded_bytes() {
    let app = oneshot_app().await;

    // 1400 × "é" is 2800 bytes of text but 8400 bytes once percent-encoded.
    let response = app
        .post_form("/code/set/cookie", &[("userID", &"é".repeat(1400))])
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(set_cookies(response.headers()).is_empty());
}

#[tokio::test]
async fn an_empty_user_id_is_refused_with_a_reason() {
    let app = oneshot_app().await;

    let response = app.post_form("/code/set/cookie", &[("userID", "")]).await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(set_cookies(response.headers()).is_empty());
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("the user ID is empty")
    );
}

#[tokio::test]
async fn a_form_without_the_field_is_a_clear_error_not_a_500() {
    let app = oneshot_app().await;

    let response = app.post_form("/code/set/cookie", &[("other", "x")]).await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("The form could not be read")
    );
}
