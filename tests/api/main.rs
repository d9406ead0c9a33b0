//! HTTP tests: the real server on port 0, driven like a user would.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a failed test"
)]

mod basics;
mod binary;
mod cli;
mod connections;
mod demo_policy;
mod helpers;
mod hostile;
mod inspector;
mod json_api;
mod login;
mod ops;
mod pages;
mod scoped;
mod security;
mod sessions;
mod shared_revocations;
mod shutdown;
mod throttle;
