//! Cookies set by JavaScript, and the notice every page shows when the
//! browser blocks cookies.

use crate::harness::{Browser, Deadline, Profile, WAIT, browser_test};

#[tokio::test]
async fn a_cookie_set_by_javascript_reaches_the_server() {
    browser_test(Profile::Normal, |b| async move {
        b.goto("/client").await;
        b.type_into("client-name", "flavour").await;
        b.type_into("client-value", "oatmeal raisin").await;
        b.click("client-submit").await;

        let shown = b.text("client-cookies").await;
        assert!(
            shown.contains("flavour=oatmeal%20raisin"),
            "document.cookie: {shown}"
        );

        b.click("server-view").await;
        b.wait_for_path("/api/cookies").await;
        let received = b.json_cookies().await;
        assert_eq!(
            received.get("flavour").map(String::as_str),
            Some("oatmeal raisin")
        );
    })
    .await;
}

/// What app.js decided: "enabled" or "blocked".
async fn cookie_verdict(b: &Browser) -> String {
    let deadline = Deadline::after(WAIT);
    loop {
        let verdict = b
            .script("return document.documentElement.dataset.cookies || null;")
            .await;
        if let Some(verdict) = verdict.as_str() {
            return verdict.to_owned();
        }
        assert!(!deadline.passed(), "app.js did not run within {WAIT:?}");
        deadline.tick().await;
    }
}

#[tokio::test]
async fn the_notice_shows_when_the_browser_blocks_cookies() {
    browser_test(Profile::CookiesBlocked, |b| async move {
        b.goto("/").await;
        assert_eq!(cookie_verdict(&b).await, "blocked");
        let notice = b.find("cookie-notice").await;
        assert!(
            notice.is_displayed().await.expect("is_displayed"),
            "the notice is hidden"
        );
        assert!(
            notice
                .text()
                .await
                .expect("text")
                .contains("Cookies are blocked")
        );
        // Chromium says cookies are enabled all the same: that's why app.js probes.
        assert_eq!(b.script("return navigator.cookieEnabled;").await, true);

        // The profile really blocks them: a cookie set by the form never comes back.
        b.set_user_id("alice").await;
        assert!(
            b.server_received().await.is_empty(),
            "a blocked browser sent cookies"
        );
    })
    .await;
}

#[tokio::test]
async fn the_notice_stays_hidden_when_cookies_work() {
    browser_test(Profile::Normal, |b| async move {
        b.goto("/").await;
        assert_eq!(cookie_verdict(&b).await, "enabled");
        let notice = b.find("cookie-notice").await;
        assert!(
            !notice.is_displayed().await.expect("is_displayed"),
            "the notice shows"
        );
        // The probe cleaned up after itself.
        assert!(
            b.cookies().await.is_empty(),
            "left behind: {:?}",
            b.cookies().await
        );
    })
    .await;
}
