//! The inspector page, its workbench and its delete buttons.

use cookie_lab::cookies::login::{self, LoginClaims};
use cookie_lab::domain::Email;
use reqwest::StatusCode;
use time::{Duration, OffsetDateTime};

use crate::common::{
    assert_redirects_to, login_cookie, oneshot_app, set_cookies, text_of, the_set_cookie,
};

/// The "What it is" text of the row for cookie `name`.
fn kind_of(html: &str, name: &str) -> String {
    let row = html
        .find(&format!("data-test=\"cookie-row\" data-name=\"{name}\""))
        .unwrap_or_else(|| panic!("no row for {name} in\n{html}"));
    text_of(&html[row..], "cookie-kind")
}

#[tokio::test]
async fn the_inspector_lists_every_cookie_in_order_with_sizes() {
    let app = oneshot_app().await;

    let response = app
        .get_with_cookie("/inspect", "b=2; a=caf%C3%A9; b=shadow")
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    let html = response.text().await.unwrap();
    assert_eq!(
        text_of(&html, "cookie-count"),
        "3 cookies of 50 per site that RFC 6265 guarantees"
    );
    assert_eq!(
        text_of(&html, "header-bytes"),
        "26 bytes of Cookie header of 8192 a default nginx accepts"
    );
    let b = html.find("data-name=\"b\"").unwrap();
    let a = html.find("data-name=\"a\"").unwrap();
    assert!(b < a, "in the order sent");
    assert!(
        html.contains("<code>café</code></td>"),
        "decoded value shown"
    );
    assert_eq!(
        html.matches("data-name=\"b\"").count(),
        2,
        "duplicates shown"
    );
    assert!(html.contains("shadowed: an earlier cookie has the same name"));
}

#[tokio::test]
async fn the_inspector_shows_a_cookie_the_workbench_set() {
    let app = oneshot_app().await;

    let response = app
        .post_form(
            "/inspect",
            &[
                ("name", "theme"),
                ("value", "dark mode"),
                ("path", "/"),
                ("same_site", "Lax"),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        the_set_cookie(&response),
        "theme=dark%20mode; SameSite=Lax; Path=/"
    );
    let html = response.text().await.unwrap();
    assert_eq!(
        text_of(&html, "sent-header"),
        "Set-Cookie: theme=dark%20mode; SameSite=Lax; Path=/"
    );
    let again = app.get("/inspect").await.text().await.unwrap();
    assert_eq!(kind_of(&again, "theme"), "plain cookie");
    assert!(again.contains("<code>dark mode</code>"));
}

#[tokio::test]
async fn the_workbench_refuses_same_site_none_without_secure_and_says_why() {
    let app = oneshot_app().await;

    let response = app
        .post_form(
            "/inspect",
            &[
                ("name", "id"),
                ("value", "1"),
                ("path", "/"),
                ("same_site", "None"),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        set_cookies(response.headers()).is_empty(),
        "nothing is sent"
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("data-outcome=\"refused\""));
    assert!(html.contains("data-rule=\"EXCLUDE_SAMESITE_NONE_INSECURE\""));
    assert!(html.contains("data-rule=\"CookieRejectedNonRequiresSecure2\""));
    assert!(html.contains("SameSite=None is only accepted together with Secure"));
    assert!(html.contains("Fix: Add Secure"));
    assert!(
        html.contains(r#"value="id""#),
        "the form keeps what was typed"
    );
}

#[tokio::test]
async fn the_workbench_sends_every_attribute_when_valid() {
    let app = oneshot_app().await;

    let response = app
        .post_form(
            "/inspect",
            &[
                ("name", "__Host-prefs"),
                ("value", "1"),
                ("max_age", "60"),
                ("path", "/"),
                ("same_site", "None"),
                ("secure", "on"),
                ("http_only", "on"),
                ("partitioned", "on"),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let header = the_set_cookie(&response);
    assert!(
        header.starts_with("__Host-prefs=1; HttpOnly; SameSite=None; Partitioned; Secure; Path=/; Max-Age=60; Expires="),
        "{header}"
    );
}

#[tokio::test]
async fn bad_workbench_fields_are_listed_not_a_500() {
    let app = oneshot_app().await;

    let response = app
        .post_form(
            "/inspect",
            &[("name", "a"), ("max_age", "soon"), ("expires", "later")],
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(set_cookies(response.headers()).is_empty());
    let html = response.text().await.unwrap();
    assert!(html.contains("Max-Age must be a whole number of seconds"));
    assert!(html.contains("Expires must be a date and time"));
}

#[tokio::test]
async fn delete_removes_the_cookie_at_every_path_visible_here() {
    let app = oneshot_app().await;
    app.post_form(
        "/inspect",
        &[("name", "theme"), ("value", "dark"), ("path", "/")],
    )
    .await;

    let response = app.post_form("/inspect/delete", &[("name", "theme")]).await;

    assert_redirects_to(&response, "/inspect");
    assert_eq!(
        set_cookies(response.headers()),
        [
            "theme=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "theme=; Path=/inspect; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        ]
    );
    let html = app.get("/inspect").await.text().await.unwrap();
    assert!(html.contains("data-test=\"no-cookies\""), "{html}");
}

#[tokio::test]
async fn login_cookies_are_classified_without_showing_their_value() {
    let app = oneshot_app().await;
    let email = Email::parse("ada@example.com").unwrap();
    let now = OffsetDateTime::now_utc();
    let claims = LoginClaims::issue(&email, Duration::days(1), now, app.epoch).unwrap();
    let valid = login::seal(&app.state.keys, login::COOKIE_NAME, &claims).unwrap();
    let mut tampered = valid.clone().into_bytes();
    let i = tampered.len() - 6;
    tampered[i] = if tampered[i] == b'Q' { b'R' } else { b'Q' };
    let tampered = String::from_utf8(tampered).unwrap();
    let mut old = claims.clone();
    old.exp = now - Duration::hours(1);
    let expired = login::seal(&app.state.keys, login::COOKIE_NAME, &old).unwrap();
    let foreign = login::seal(
        &cookie_lab::keys::KeyRing::generate().unwrap(),
        login::COOKIE_NAME,
        &claims,
    )
    .unwrap();

    for (value, want) in [
        (&valid, "login cookie · valid · ada@example.com"),
        (&tampered, "login cookie · tampered"),
        (&expired, "login cookie · expired"),
        (&foreign, "login cookie · sealed by key"),
    ] {
        let html = app
            .get_with_cookie("/inspect", &login_cookie(value))
            .await
            .text()
            .await
            .unwrap();

        assert!(
            kind_of(&html, "lab_session").starts_with(want),
            "{want}: {}",
            kind_of(&html, "lab_session")
        );
        assert!(
            !html.contains(value.as_str()),
            "the sealed value is never echoed"
        );
        assert!(html.contains("(hidden: HttpOnly login cookie)"));
    }
}

#[tokio::test]
async fn a_big_cookie_jar_is_flagged_against_the_limits() {
    let app = oneshot_app().await;
    let header = (0..60)
        .map(|i| format!("c{i}={}", "v".repeat(200)))
        .collect::<Vec<_>>()
        .join("; ");

    let html = app
        .get_with_cookie("/inspect", &header)
        .await
        .text()
        .await
        .unwrap();

    assert!(html.contains("data-rule=\"too-many-cookies\""));
    assert!(html.contains("data-rule=\"cookie-header-too-large\""));
}

#[tokio::test]
async fn a_host_prefixed_cookie_is_deleted_at_the_root_only() {
    let app = oneshot_app().await;

    let response = app
        .post_form("/inspect/delete", &[("name", "__Host-prefs")])
        .await;

    assert_redirects_to(&response, "/inspect");
    assert_eq!(
        set_cookies(response.headers()),
        ["__Host-prefs=; Secure; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"]
    );
}

#[tokio::test]
async fn the_workbench_shows_what_each_engine_stores_side_by_side() {
    let app = oneshot_app().await;

    // Both engines store a space in a name; only Firefox a tab in a value.
    let page = app
        .post_form(
            "/inspect",
            &[
                ("name", "a b"),
                ("value", "1"),
                ("path", "/"),
                ("same_site", "Lax"),
            ],
        )
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"data-engine="chromium" data-stored="true""#),
        "{html}"
    );
    assert!(
        html.contains(r#"data-engine="firefox" data-stored="true""#),
        "{html}"
    );
    assert!(html.contains("Chromium 156"), "{html}");
    assert!(html.contains("Firefox ESR 153"), "{html}");

    let page = app
        .post_form(
            "/inspect",
            &[("name", "__Secure-x"), ("value", "1"), ("path", "/")],
        )
        .await;
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"data-engine="chromium" data-stored="false""#),
        "{html}"
    );
    assert!(
        html.contains(r#"data-engine="firefox" data-stored="false""#),
        "{html}"
    );
    assert!(html.contains(r#"<code data-test="reason">EXCLUDE_INVALID_PREFIX</code>"#));
    assert!(html.contains(r#"<code data-test="reason">CookieRejectedInvalidPrefix</code>"#));
    assert!(
        html.contains("Firefox logs why in its web console"),
        "{html}"
    );
}

#[tokio::test]
async fn the_inspector_shows_nameless_pairs_as_chromium_sends_them() {
    let app = oneshot_app().await;

    let html = app
        .get_with_cookie("/inspect", "novalue; a=1")
        .await
        .text()
        .await
        .unwrap();

    assert_eq!(
        html.matches(r#"data-test="cookie-row""#).count(),
        2,
        "{html}"
    );
    assert!(
        html.contains(r#"<em data-test="nameless">(no name)</em>"#),
        "{html}"
    );
    assert!(html.contains("<code>novalue</code>"), "{html}");
}
