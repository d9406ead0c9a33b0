//! HTTP tests that need nothing but cargo: the server in this process on
//! port 0 (a temporary data dir, SQLite bundled), driven like a user would,
//! and a `oneshot` tier that calls the router with no socket at all. Tests
//! of the real binary and of Redis are in `tests/system`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a failed test"
)]

mod basics;
#[allow(
    dead_code,
    reason = "each test binary uses part of the shared scaffold"
)]
#[path = "../common/common.rs"]
mod common;
mod connections;
mod demo_policy;
mod engine_truth;
mod hostile;
mod inspector;
mod json_api;
mod lab;
mod login;
mod ops;
mod pages;
mod properties;
mod scoped;
mod security;
mod sessions;
mod throttle;
