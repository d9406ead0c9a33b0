//! Browser tests: the real server on port 0 and a real, headless Chromium
//! (chromedriver) or Firefox ESR (geckodriver) — what a browser actually
//! does with every cookie cookie-lab sends. The flows where the engines can
//! differ run in both; one browser at a time (see `harness`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a failed test"
)]

mod basics;
mod client;
#[allow(
    dead_code,
    reason = "each test binary uses part of the shared scaffold"
)]
#[path = "../common/common.rs"]
mod common;
mod harness;
mod inspector;
mod lab;
mod login;
mod scoped;
mod screenshots;
#[path = "../common/webdriver.rs"]
mod webdriver;
