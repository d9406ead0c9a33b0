//! Defences the tutorial only warns about: cross-site requests, password
//! guessing, oversized headers, and knowing when a proxy served HTTPS.

pub mod cross_site;
pub mod hosts;
pub mod limits;
pub mod login_rate;
pub mod proxy;
pub mod throttle;
