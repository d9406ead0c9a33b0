//! Screenshots of the main pages, as a person sees them in Chromium (the
//! pictures in the README; one engine is enough for them).
//!
//! Always run (they are also a check that every main page renders), and save
//! the PNGs only when `COOKIE_LAB_SCREENSHOTS` names a directory:
//!
//! ```sh
//! COOKIE_LAB_SCREENSHOTS=docs/screenshots cargo test --test browser screenshots
//! ```

use std::path::PathBuf;

use crate::harness::{Browser, Engine, PASSWORD, Profile, WINDOW, browser_test};

/// Where to save, from `COOKIE_LAB_SCREENSHOTS` (relative paths are relative
/// to the crate root, where `cargo test` runs tests).
fn target_dir() -> Option<PathBuf> {
    std::env::var_os("COOKIE_LAB_SCREENSHOTS")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
}

/// Width and height from a PNG's header.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().expect("4 bytes"));
    (be(16), be(20))
}

async fn shoot(b: &Browser, name: &str) {
    // No focus ring or blinking caret in the pictures.
    b.script("if (document.activeElement) document.activeElement.blur();")
        .await;
    let png = b.screenshot(WINDOW.0, WINDOW.1).await;
    let (width, height) = png_size(&png);
    assert!(
        width == WINDOW.0 && height >= WINDOW.1,
        "{name}.png is {width}x{height}"
    );
    if let Some(dir) = target_dir() {
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        eprintln!("saved {} ({width}x{height})", path.display());
    }
}

#[tokio::test]
async fn screenshots_of_the_main_pages() {
    browser_test(Engine::Chromium, Profile::Normal, |b| async move {
        b.goto("/").await;
        b.find("userid-input").await;
        shoot(&b, "home").await;

        b.set_user_id("Ada Lovelace").await;
        shoot(&b, "cookie-set").await;

        b.goto("/cookies").await;
        b.goto("/cookies").await;
        b.find("received").await;
        shoot(&b, "max-age").await;

        b.goto("/login").await;
        b.type_into("login-email", "ada@example.com").await;
        shoot(&b, "login").await;

        b.log_in("ada@example.com", "wrong").await;
        b.find("error").await;
        shoot(&b, "error").await;

        b.log_in("ada@example.com", PASSWORD).await;
        b.click("profile-link").await;
        b.find("profile-email").await;
        shoot(&b, "profile").await;

        b.goto("/client").await;
        // Submitted without a click, so the shot has no hovered button.
        b.script("document.getElementById('client-form').requestSubmit();")
            .await;
        let ran = b.text("client-assignment").await;
        assert!(ran.starts_with("document.cookie ="), "{ran}");
        shoot(&b, "client").await;

        // By now the browser holds userID, theme and the login cookie.
        b.goto("/inspect").await;
        b.find("inspected").await;
        shoot(&b, "inspector").await;
    })
    .await;
}

#[tokio::test]
async fn screenshot_of_the_cookies_blocked_notice() {
    browser_test(Engine::Chromium, Profile::CookiesBlocked, |b| async move {
        b.goto("/").await;
        let notice = b.find("cookie-notice").await;
        assert!(notice.is_displayed().await.expect("is_displayed"));
        shoot(&b, "cookies-blocked").await;
    })
    .await;
}
