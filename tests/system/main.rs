//! Tests that need more than cargo: the real `cookie-lab` binary (its exit
//! status, log, signals and file limits) and a `redis-server` the tests
//! start and kill themselves. `scripts/test` installs what they need.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a failed test"
)]

mod binary;
mod cli;
#[allow(
    dead_code,
    reason = "each test binary uses part of the shared scaffold"
)]
#[path = "../common/common.rs"]
mod common;
mod connections;
mod lab_store;
mod shared_revocations;
mod shutdown;
mod throttle;
