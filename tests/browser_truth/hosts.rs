//! The hosts every line is set from. All of them are 127.0.0.1 underneath.

/// A name that is not loopback to the browsers (so not a potentially
/// trustworthy origin over http), mapped to 127.0.0.1 by each engine.
pub(crate) const NON_LOOPBACK: &str = "cookie-lab.test";

/// Every host a line is recorded from, in recording order.
pub(crate) const HOSTS: [&str; 4] = ["localhost", "sub.localhost", "127.0.0.1", NON_LOOPBACK];
