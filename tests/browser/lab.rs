//! The cross-site lab, run whole in a real browser: Chromium as it comes
//! (third-party cookies blocked), Chromium with third-party cookies
//! allowed, and Firefox with its default Total Cookie Protection — and
//! Firefox set to accept, then to reject, third-party cookies, so that the
//! model's Firefox rules for those settings are measured too. Each
//! opens `/lab?run=1` on 127.0.0.1 (site A; site B is `localhost` on the
//! same port), waits for `data-lab-done`, clicks the popup cell (a real
//! WebDriver click: a popup that no click opened proves nothing), reads
//! `GET /api/lab/{run}`, and requires that every cell the browser observed
//! equals the engine model's prediction for that engine and setting,
//! listing every mismatch. Then it clears the lab's cookies from one of
//! the two sites and requires that the jar, read whole (every site and
//! partition), holds no lab cookie.
//!
//! With `COOKIE_LAB_SCREENSHOTS=dir` each saves the matrix as
//! `lab-<engine>.png` (the README's pictures); `-- --nocapture` prints the
//! matrix as text.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;

use crate::harness::{Browser, Deadline, Engine, Profile, browser_test};

/// A run takes a few seconds (about ten requests and six page loads); this
/// is five times that, for a busy 2-core machine.
const RUN_WAIT: std::time::Duration = std::time::Duration::from_secs(50);

/// Waits until the page's root element has `attribute`, or fails saying
/// where the browser is and what the page says.
async fn wait_for_root(b: &Browser, attribute: &str, why: &str) {
    let deadline = Deadline::after(RUN_WAIT);
    loop {
        // A navigation may be under way: a failed script is another try.
        let has = b
            .client
            .execute(
                &format!("return document.documentElement.hasAttribute('{attribute}');"),
                Vec::new(),
            )
            .await;
        if matches!(has, Ok(Value::Bool(true))) {
            return;
        }
        if deadline.passed() {
            let at = b
                .client
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let text = b
                .client
                .execute(
                    "return document.body ? document.body.innerText : '';",
                    Vec::new(),
                )
                .await
                .map(|t| {
                    t.as_str()
                        .unwrap_or_default()
                        .chars()
                        .take(600)
                        .collect::<String>()
                })
                .unwrap_or_default();
            panic!(
                "{why}: no {attribute} within {RUN_WAIT:?}; the browser is at {at}, showing:\n{text}"
            );
        }
        deadline.tick().await;
    }
}

/// Site B must be reachable from the browser, or the run could not say
/// anything: fail with why, never skip.
async fn assert_site_b_reachable(b: &Browser) {
    let url = b.other_site_url("/healthz");
    if let Err(err) = b.goto_url(&url).await {
        panic!("the browser could not load site B at {url}: {err}");
    }
    let body = b
        .script("return document.body ? document.body.innerText : '';")
        .await;
    assert_eq!(
        body.as_str().map(str::trim),
        Some("ok"),
        "the browser reached {url} but not cookie-lab there (is localhost this machine?)"
    );
}

/// Runs the whole lab (`query` adds the run's settings), clicks the popup
/// cell, and returns the report.
async fn run_the_lab(b: &Browser, query: &str) -> Value {
    assert_site_b_reachable(b).await;
    b.goto(&format!("/lab?run=1{query}")).await;
    wait_for_root(
        b,
        "data-lab-done",
        "the lab's automatic steps did not finish",
    )
    .await;
    let run = b
        .script("return document.documentElement.dataset.labRun;")
        .await
        .as_str()
        .expect("data-lab-run")
        .to_owned();
    let status = b.text("lab-status").await;
    assert!(
        status.contains("needs a click"),
        "before the click: {status}"
    );
    assert!(b.has("lab-popup").await, "the popup cell asks for a click");
    b.click("lab-popup").await;
    wait_for_root(
        b,
        "data-lab-popup-seen",
        "the popup's request did not arrive",
    )
    .await;
    let report: Value = reqwest::get(b.url(&format!("/api/lab/{run}")))
        .await
        .expect("the API answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(report["run"], run.as_str());
    report
}

/// Every cell observed and equal to the prediction, or a failure listing
/// each one that is not.
fn assert_observed_equals_predicted(report: &Value, engine: &str, policy: &str) {
    assert_eq!(report["engine"], engine, "{report}");
    assert_eq!(report["modelled"], true);
    let cells = report["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), 6 * 11 + 12, "every cookie in every context");
    let mut mismatches = String::new();
    for cell in cells {
        if cell["agrees"] != Value::Bool(true) {
            let _ = writeln!(
                mismatches,
                "  {} × {}: observed {}, predicted {} ({})",
                cell["cookie"].as_str().unwrap_or("?"),
                cell["context"].as_str().unwrap_or("?"),
                cell["observed_outcome"],
                cell["predicted_outcome"],
                cell["reason"].as_str().unwrap_or("")
            );
        }
    }
    assert!(
        mismatches.is_empty(),
        "{engine} ({policy}): the browser did not do what the model predicts in these cells:\n{mismatches}"
    );
    assert_eq!(report["mismatches"], 0);
}

/// The matrix as text, for `--nocapture` (and the README).
fn print_matrix(report: &Value, title: &str) {
    let mut text = format!("{title}\n");
    let cells = report["cells"].as_array().expect("cells");
    let mut cookies: Vec<&str> = Vec::new();
    for cell in cells {
        let cookie = cell["cookie"].as_str().unwrap_or("?");
        if !cookies.contains(&cookie) {
            cookies.push(cookie);
        }
    }
    for cookie in cookies {
        let _ = write!(text, "  {cookie:24}");
        for cell in cells.iter().filter(|c| c["cookie"] == cookie) {
            let _ = write!(
                text,
                " {}:{}",
                cell["context"].as_str().unwrap_or("?"),
                cell["observed_outcome"].as_str().unwrap_or("-")
            );
        }
        text.push('\n');
    }
    eprintln!("{text}");
}

/// Where to save screenshots, from `COOKIE_LAB_SCREENSHOTS`.
fn screenshot_dir() -> Option<PathBuf> {
    std::env::var_os("COOKIE_LAB_SCREENSHOTS")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
}

/// The run's part of the page (both matrices) as a PNG, 1600 CSS pixels
/// wide: the lab's table needs more room than the other pages.
async fn shoot(b: &Browser, name: &str) {
    b.script("if (document.activeElement) document.activeElement.blur();")
        .await;
    // The window as tall as the page, so the whole run is in view.
    let full_page = b.screenshot(1600, 900).await;
    assert!(full_page.starts_with(b"\x89PNG"), "a PNG");
    let png = b
        .find("lab-run-view")
        .await
        .screenshot()
        .await
        .expect("a screenshot of the run");
    if let Some(dir) = screenshot_dir() {
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        eprintln!("saved {}", path.display());
    }
}

/// Clears the lab's cookies with the button on `site` (A's page or B's),
/// and requires a jar without a lab cookie, partitioned ones included.
async fn clear_and_check_the_jar(b: &Browser, from_site_b: bool) {
    let lab_cookies = |jar: &[(String, String)]| -> Vec<String> {
        jar.iter()
            .filter(|(name, _)| {
                let bare = name.trim_start_matches("__Host-");
                bare.starts_with("lab-")
            })
            .map(|(name, domain)| format!("{name} ({domain})"))
            .collect()
    };
    let before = lab_cookies(&b.jar().await);
    assert!(
        before.len() >= 12,
        "the run left lab cookies on both sites: {before:?}"
    );
    if from_site_b {
        b.goto_url(&b.other_site_url("/lab"))
            .await
            .expect("B's lab page");
    } else {
        b.goto("/lab").await;
    }
    b.click("lab-clear").await;
    let deadline = Deadline::after(RUN_WAIT);
    while !b.has("lab-cleared").await {
        assert!(
            !deadline.passed(),
            "clearing did not come back to the lab within {RUN_WAIT:?}"
        );
        deadline.tick().await;
    }
    // The last removals come from a frame of the page that says "cleared",
    // and a loaded machine may show the page before the frame's answer is
    // in the jar: wait for the jar (RUN_WAIT bounds it), never assume.
    let deadline = Deadline::after(RUN_WAIT);
    loop {
        let after = lab_cookies(&b.jar().await);
        if after.is_empty() {
            break;
        }
        assert!(
            !deadline.passed(),
            "left in the jar {RUN_WAIT:?} after clearing: {after:?}"
        );
        deadline.tick().await;
    }
}

#[tokio::test]
async fn chromium_as_it_comes_does_what_the_model_predicts_in_every_cell() {
    browser_test(Engine::Chromium, Profile::Normal, |b| async move {
        let report = run_the_lab(&b, "").await;
        print_matrix(&report, "Chromium 156, third-party cookies blocked");
        assert_observed_equals_predicted(&report, "chromium", "third-party cookies blocked");
        assert_eq!(report["policy"]["chromium_third_party"], "block");
        // The lesson, as observed: nothing goes to B embedded in A.
        for cell in report["cells"].as_array().unwrap() {
            if ["iframe", "image", "cors-fetch", "iframe-fetch"]
                .contains(&cell["context"].as_str().unwrap())
            {
                assert_eq!(cell["observed"], false, "{cell}");
            }
        }
        b.goto(&format!("/lab?id={}", report["run"].as_str().unwrap()))
            .await;
        shoot(&b, "lab-chromium").await;
        clear_and_check_the_jar(&b, false).await;
    })
    .await;
}

#[tokio::test]
async fn chromium_with_third_party_cookies_allowed_does_what_the_model_predicts_in_every_cell() {
    browser_test(
        Engine::Chromium,
        Profile::ThirdPartyCookiesAllowed,
        |b| async move {
            let report = run_the_lab(&b, "&third_party=allow").await;
            print_matrix(&report, "Chromium 156, third-party cookies allowed");
            assert_observed_equals_predicted(&report, "chromium", "third-party cookies allowed");
            assert_eq!(report["policy"]["chromium_third_party"], "allow");
            let iframe_none = report["cells"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["cookie"] == "lab-none" && c["context"] == "iframe")
                .unwrap();
            assert_eq!(iframe_none["observed"], true, "None goes to the iframe now");
            b.goto(&format!("/lab?id={}", report["run"].as_str().unwrap()))
                .await;
            shoot(&b, "lab-chromium-3pc").await;
            clear_and_check_the_jar(&b, false).await;
        },
    )
    .await;
}

#[tokio::test]
async fn firefox_as_it_comes_does_what_the_model_predicts_in_every_cell() {
    browser_test(Engine::Firefox, Profile::Normal, |b| async move {
        let report = run_the_lab(&b, "").await;
        print_matrix(&report, "Firefox ESR 153, Total Cookie Protection");
        assert_observed_equals_predicted(&report, "firefox", "Total Cookie Protection");
        assert_eq!(report["policy"]["firefox_third_party"], "partition");
        b.goto(&format!("/lab?id={}", report["run"].as_str().unwrap()))
            .await;
        shoot(&b, "lab-firefox").await;
        // From B's page this time: both sites have the button.
        clear_and_check_the_jar(&b, true).await;
    })
    .await;
}

#[tokio::test]
async fn firefox_accepting_all_cookies_does_what_the_model_predicts_in_every_cell() {
    browser_test(
        Engine::Firefox,
        Profile::ThirdPartyCookiesAllowed,
        |b| async move {
            let report = run_the_lab(&b, "&firefox=accept").await;
            print_matrix(&report, "Firefox ESR 153, all cookies accepted");
            assert_observed_equals_predicted(&report, "firefox", "all cookies accepted");
        },
    )
    .await;
}

#[tokio::test]
async fn firefox_rejecting_third_party_cookies_does_what_the_model_predicts_in_every_cell() {
    browser_test(
        Engine::Firefox,
        Profile::ThirdPartyCookiesRejected,
        |b| async move {
            let report = run_the_lab(&b, "&firefox=reject").await;
            print_matrix(&report, "Firefox ESR 153, third-party cookies rejected");
            assert_observed_equals_predicted(&report, "firefox", "third-party cookies rejected");
        },
    )
    .await;
}
