//! The max_age/path demo and deleting cookies.

use reqwest::StatusCode;
use time::OffsetDateTime;

use crate::common::{oneshot_app, text_of, the_set_cookie};

#[tokio::test]
async fn cookies_sets_code_for_30_seconds_on_its_own_path() {
    let app = oneshot_app().await;

    let before = OffsetDateTime::now_utc();
    let response = app.get("/cookies").await;

    assert_eq!(response.status(), StatusCode::OK);
    let header = the_set_cookie(&response);
    assert!(
        header.starts_with("code=underscored; Path=/cookies; Max-Age=30; Expires="),
        "{header}"
    );
    let parsed = cookie::Cookie::parse(header.clone()).unwrap();
    let expires = parsed.expires_datetime().expect("an Expires date");
    let ahead = (expires - before).whole_seconds();
    assert!(
        (28..=32).contains(&ahead),
        "Expires is {ahead} s ahead: {header}"
    );
    let html = response.text().await.unwrap();
    assert_eq!(
        text_of(&html, "set-cookie-header"),
        format!("Set-Cookie: {header}")
    );
    assert_eq!(text_of(&html, "max-age"), "30");
}

#[tokio::test]
async fn max_age_can_be_chosen_in_the_query() {
    let app = oneshot_app().await;

    let header = the_set_cookie(&app.get("/cookies?max_age=10").await);
    assert!(header.contains("; Max-Age=10;"), "{header}");

    let header = the_set_cookie(&app.get("/cookies?max_age=0").await);
    assert!(header.contains("; Max-Age=0;"), "{header}");

    let header = the_set_cookie(&app.get("/cookies?max_age=34560000").await);
    assert!(header.contains("; Max-Age=34560000;"), "{header}");
}

#[tokio::test]
async fn a_bad_max_age_is_a_400_page_that_says_why() {
    let app = oneshot_app().await;
    for (query, why) in [
        ("abc", "whole number"),
        ("-5", "whole number"),
        ("34560001", "400 days"),
    ] {
        let response = app.get(&format!("/cookies?max_age={query}")).await;

        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(response.headers().get("set-cookie").is_none());
        assert!(response.text().await.unwrap().contains(why), "{query}");
    }
}

#[tokio::test]
async fn cookies_shows_what_it_received() {
    let app = oneshot_app().await;

    let html = app
        .get_with_cookie("/cookies", "code=underscored; theme=dark%20mode")
        .await
        .text()
        .await
        .unwrap();

    assert!(
        html.contains("<code>theme</code></td><td><code>dark mode</code></td><td>16</td>"),
        "{html}"
    );
    assert!(html.contains("<code>code</code></td><td><code>underscored</code></td><td>15</td>"));
}

#[tokio::test]
async fn the_cookie_is_sent_back_to_its_path_only() {
    let app = oneshot_app().await;
    app.get("/cookies").await;

    let again = app.get("/cookies").await.text().await.unwrap();
    let api = app.get("/api/cookies").await.text().await.unwrap();

    assert!(
        again.contains("<code>code</code>"),
        "the cookie came back to /cookies"
    );
    assert_eq!(api, r#"{"cookies":{}}"#, "but not to /api/cookies");
}

#[tokio::test]
async fn delete_removes_code_at_its_path() {
    let app = oneshot_app().await;
    app.get("/cookies").await;

    let response = app.get("/cookies/delete").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        the_set_cookie(&response),
        "code=; Path=/cookies; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    );
    let html = app.get("/cookies").await.text().await.unwrap();
    assert!(text_of(&html, "received-none").contains("No cookies came with this request"));
}

#[tokio::test]
async fn delete_takes_any_cookie_name() {
    let app = oneshot_app().await;

    let response = app.get("/cookies/delete?name=theme").await;

    assert_eq!(
        the_set_cookie(&response),
        "theme=; Path=/cookies; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    );
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Cookie <code>theme</code> deleted")
    );
}

#[tokio::test]
async fn delete_of_a_secure_prefixed_name_is_itself_secure() {
    let app = oneshot_app().await;

    let response = app.get("/cookies/delete?name=__Secure-theme").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        the_set_cookie(&response),
        "__Secure-theme=; Secure; Path=/cookies; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    );
}

#[tokio::test]
async fn delete_refuses_a_name_that_is_not_a_token() {
    let app = oneshot_app().await;
    for name in ["a%20b", "a%3Bb", "", "a%0D%0ASet-Cookie:%20x=1"] {
        let response = app.get(&format!("/cookies/delete?name={name}")).await;

        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        assert!(response.headers().get("set-cookie").is_none(), "{name}");
    }
}
