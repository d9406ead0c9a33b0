//! Cookies set by JavaScript, and the notice every page shows when the
//! browser blocks cookies — in both engines: how a browser reports blocked
//! cookies to scripts is exactly where they differ.

use cookie::SameSite;

use crate::harness::{Browser, Deadline, Engine, Profile, WAIT, browser_test, in_both_engines};

in_both_engines!(
    a_cookie_set_by_javascript_reaches_the_server,
    the_notice_shows_when_the_browser_blocks_cookies,
    the_notice_stays_hidden_when_cookies_work,
);

async fn a_cookie_set_by_javascript_reaches_the_server(engine: Engine) {
    browser_test(engine, Profile::Normal, |b| async move {
        b.goto("/client").await;
        b.type_into("client-name", "flavour").await;
        b.type_into("client-value", "oatmeal raisin").await;
        b.click("client-submit").await;

        let shown = b.text("client-cookies").await;
        assert!(
            shown.contains("flavour=oatmeal%20raisin"),
            "document.cookie: {shown}"
        );
        // Stored as client.js wrote it: SameSite=Lax, readable by scripts,
        // a session cookie.
        let stored = b
            .cookie("flavour")
            .await
            .expect("the browser stores flavour");
        assert_eq!(stored.value(), "oatmeal%20raisin");
        assert_eq!(stored.same_site(), Some(SameSite::Lax));
        assert_eq!(stored.http_only(), Some(false));
        assert_eq!(stored.path(), Some("/"));
        assert_eq!(stored.expires(), None, "a session cookie");

        // Written without SameSite, a cookie is stored as "unspecified",
        // which classic WebDriver can't express: each driver reports its
        // engine's default instead, Lax for Chromium and None for Firefox.
        b.script("document.cookie = 'bare=1; Path=/'; return null;")
            .await;
        let bare = b.cookie("bare").await.expect("the browser stores bare");
        let reported = match b.engine {
            Engine::Chromium => SameSite::Lax,
            Engine::Firefox => SameSite::None,
        };
        assert_eq!(bare.same_site(), Some(reported));

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

async fn the_notice_shows_when_the_browser_blocks_cookies(engine: Engine) {
    browser_test(engine, Profile::CookiesBlocked, |b| async move {
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

        // What each engine tells scripts, and why app.js probes: Chromium
        // says cookies are enabled all the same.
        let said = b.script("return navigator.cookieEnabled;").await;
        let probe = b
            .script("document.cookie = 'probe=1; Path=/'; return document.cookie;")
            .await;
        match b.engine {
            Engine::Chromium => assert_eq!(said, true, "navigator.cookieEnabled"),
            Engine::Firefox => assert_eq!(said, false, "navigator.cookieEnabled"),
        }
        // Neither throws on a write; the cookie is simply not there.
        assert_eq!(probe, "", "document.cookie after a write");

        // The profile really blocks them: a cookie set by the form never comes back.
        b.set_user_id("alice").await;
        assert!(
            b.server_received().await.is_empty(),
            "a blocked browser sent cookies"
        );
    })
    .await;
}

async fn the_notice_stays_hidden_when_cookies_work(engine: Engine) {
    browser_test(engine, Profile::Normal, |b| async move {
        b.goto("/").await;
        assert_eq!(cookie_verdict(&b).await, "enabled");
        let notice = b.find("cookie-notice").await;
        assert!(
            !notice.is_displayed().await.expect("is_displayed"),
            "the notice shows"
        );
        assert_eq!(b.script("return navigator.cookieEnabled;").await, true);
        // The probe cleaned up after itself.
        assert!(
            b.cookies().await.is_empty(),
            "left behind: {:?}",
            b.cookies().await
        );
    })
    .await;
}
