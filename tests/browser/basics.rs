//! The tutorial's form: set `userID`, read it back — whatever was typed.
//!
//! In Chromium only: what is checked here is the server's encoding and
//! escaping. The browser stores and returns an ASCII value as sent, which
//! the browser-truth recorder (`tests/browser_truth.rs`) measures in both
//! engines, character by character.

use crate::harness::{Browser, Engine, Profile, browser_test};

#[tokio::test]
async fn the_form_sets_user_id_and_getcookie_shows_it() {
    browser_test(Engine::Chromium, Profile::Normal, |b| async move {
        b.set_user_id("alice").await;
        assert_eq!(b.text("userid-value").await, "alice");

        b.click("read-link").await;
        b.wait_for_path("/getcookie").await;
        assert_eq!(b.text("userid-value").await, "alice");
        let stored = b.cookie("userID").await.expect("the browser stores userID");
        assert_eq!(stored.value(), "alice");
        assert_eq!(stored.path(), Some("/"));
    })
    .await;
}

/// Set through the form, then read back on `/getcookie`.
async fn round_trip(b: &Browser, typed: &str) -> String {
    b.set_user_id(typed).await;
    assert_eq!(b.text("userid-value").await, typed, "the set page shows");
    b.goto("/getcookie").await;
    b.text("userid-value").await
}

#[tokio::test]
async fn accents_semicolons_and_spaces_come_back_exactly() {
    browser_test(Engine::Chromium, Profile::Normal, |b| async move {
        for typed in ["café", "a;b c"] {
            assert_eq!(round_trip(&b, typed).await, typed);
        }
        // On the wire the value was percent-encoded: a raw `;` would have
        // ended the cookie, and a browser would not send `é` as is.
        let stored = b.cookie("userID").await.expect("the browser stores userID");
        assert_eq!(stored.value(), "a%3Bb%20c");
    })
    .await;
}

#[tokio::test]
async fn markup_in_user_id_is_shown_as_text_and_never_runs() {
    const PAYLOAD: &str =
        r#"<img src=x onerror="window.__cookieLabPwned=true;document.title='pwned'">"#;
    browser_test(Engine::Chromium, Profile::Normal, |b| async move {
        b.set_user_id(PAYLOAD).await;
        b.goto("/getcookie").await;

        assert_eq!(b.text("userid-value").await, PAYLOAD);
        // Escaped, not parsed: no <img> came out of it. (Even if one had,
        // the CSP forbids inline handlers; this checks the escaping itself.)
        let images = b
            .script(r#"return document.querySelectorAll("[data-test='userid-value'] img").length;"#)
            .await;
        assert_eq!(images, 0, "the userID became markup");
        let ran = b
            .script("return window.__cookieLabPwned === true || document.title === 'pwned';")
            .await;
        assert_eq!(ran, false, "the userID's onerror ran");
    })
    .await;
}
