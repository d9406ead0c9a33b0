//! cookie-lab: the "How to use cookies in Flask" tutorial as a Rust web service.
//!
//! Every page of the tutorial is a route in [`routes`]; every `Set-Cookie`
//! the service sends is built and checked by [`cookies`]; the login cookie is
//! sealed with the keys in [`keys`]. [`startup::Application`] binds a socket
//! and serves the router, which is what both `main` and the tests use.

pub mod cli;
pub mod commands;
pub mod config;
pub mod cookies;
pub mod domain;
pub mod engine;
pub mod error;
pub mod keys;
pub mod lab;
pub mod lint;
pub mod metrics;
pub mod redis_link;
pub mod revocation;
pub mod routes;
pub mod security;
pub mod session;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod templates;
#[cfg(test)]
mod test_support;
