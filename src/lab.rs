//! The cross-site lab (`/lab`): site A (the address the lab was opened on)
//! sets cookies of every SameSite kind on site B (the other loopback name,
//! or `--lab-peer-origin`), exercises B from links, forms, redirects,
//! iframes, images, fetches and a popup, and shows which cookies each
//! request carried and which cookies B's cross-site responses could store,
//! beside the engine model's prediction for the browser and its reason.
//!
//! * [`plan`]: the kinds of cookie, their names, the contexts in order.
//! * [`run`]: one run, and what each request carried.
//! * [`store`]: runs in memory or in Redis, bounded and expiring.
//! * [`report`](mod@report): a run as a matrix of observed and predicted cells.
//! * [`sites`]: which site is B; [`browser`]: which engine runs it.

pub mod browser;
pub mod plan;
pub mod report;
pub mod run;
pub mod sites;
pub mod store;

pub use browser::Browser;
pub use report::{Report, report};
pub use run::{LabPolicy, NameSet, Observation, Run, RunId, Update};
pub use sites::{NoPeer, peer_of};
pub use store::{Bounds, LabStore, StoreUnavailable};
