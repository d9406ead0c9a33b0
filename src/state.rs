use std::ops::Deref;
use std::sync::Arc;

use crate::config::Config;
use crate::keys::KeyRing;

/// What every handler can reach: validated config and the key ring.
/// Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub config: Config,
    pub keys: KeyRing,
}

impl AppState {
    pub fn new(config: Config, keys: KeyRing) -> Self {
        Self(Arc::new(Shared { config, keys }))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
