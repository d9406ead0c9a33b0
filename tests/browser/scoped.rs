//! The max-age and path demo, and deleting: what a browser stores, what
//! it sends where, and when it stops.
//!
//! Deleting runs in both engines. The path and expiry demo runs in Chromium
//! only: it waits out a Max-Age in real time, and how each engine takes
//! Path and Max-Age is measured in both, line by line, by the
//! browser-truth recorder (`tests/browser_truth.rs`).

use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::harness::{Deadline, Engine, Profile, browser_test, in_both_engines};

in_both_engines!(cookies_delete_removes_code_from_the_browser);

#[tokio::test]
async fn code_is_scoped_to_cookies_and_expires_after_its_max_age() {
    browser_test(Engine::Chromium, Profile::Normal, |b| async move {
        let before = OffsetDateTime::now_utc();
        b.goto("/cookies?max_age=3").await;
        assert_eq!(b.text("max-age").await, "3");

        // Stored with the page's path and an expiry 3 s after it was set
        // (WebDriver reports whole seconds, hence the second of slack).
        let code = b.cookie("code").await.expect("the browser stores code");
        let after = OffsetDateTime::now_utc();
        assert_eq!(code.value(), "underscored");
        assert_eq!(code.path(), Some("/cookies"));
        let expires = code
            .expires_datetime()
            .expect("Max-Age makes it a persistent cookie");
        let three = time::Duration::seconds(3);
        assert!(
            before + three - time::Duration::seconds(1) <= expires && expires <= after + three,
            "code expires at {expires}, not 3 s after it was set ({before} .. {after})"
        );

        // Outside /cookies the browser keeps it to itself.
        assert_eq!(b.server_received().await.get("code"), None);
        assert!(b.cookie("code").await.is_none(), "visible to /api/cookies");
        b.goto("/").await;
        assert!(b.cookie("code").await.is_none(), "visible to /");

        // Under /cookies it is sent back (and set again: 3 s from now).
        let set_at = Instant::now();
        b.goto("/cookies?max_age=3").await;
        let received = b.text("received").await;
        assert!(
            received.contains("code") && received.contains("underscored"),
            "the server did not receive code: {received}"
        );

        // Time is the point here: wait for Chromium to let it expire. The
        // deadline is 5x the 3 s a loaded 2-core machine may stretch.
        let deadline = Deadline::after(Duration::from_secs(15));
        while b.cookie("code").await.is_some() {
            assert!(!deadline.passed(), "code still stored 15 s after Max-Age=3");
            deadline.tick().await;
        }
        let lived = set_at.elapsed();
        assert!(
            lived >= Duration::from_millis(2500),
            "code expired after {lived:?}, before its 3 s were up"
        );

        // ... and it is no longer sent, even to /cookies.
        b.goto("/cookies?max_age=0").await;
        assert!(b.has("received-none").await, "an expired code was sent");
    })
    .await;
}

async fn cookies_delete_removes_code_from_the_browser(engine: Engine) {
    browser_test(engine, Profile::Normal, |b| async move {
        b.goto("/cookies").await;
        assert!(b.cookie("code").await.is_some(), "code was not stored");

        b.goto("/cookies/delete").await;
        let header = b.text("set-cookie-header").await;
        assert!(header.contains("Max-Age=0"), "{header}");
        // /cookies/delete is under /cookies: it would see code if it were there.
        assert!(b.cookie("code").await.is_none(), "code is still stored");

        b.goto("/cookies").await;
        assert!(b.has("received-none").await, "a deleted code was sent");
    })
    .await;
}
