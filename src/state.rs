use axum::extract::FromRef;
use std::ops::Deref;
use std::sync::Arc;

use crate::config::Config;
use crate::keys::KeyRing;
use crate::lab::LabStore;
use crate::metrics::Metrics;
use crate::revocation::Revocations;
use crate::security::login_rate::LoginRate;
use crate::security::throttle::LoginThrottle;

/// What every handler can reach: validated config, the key ring, the
/// revocation store, the login throttle, the metrics and the lab's runs. Cheap to clone (one
/// `Arc`).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub config: Config,
    pub keys: KeyRing,
    pub revocations: Revocations,
    pub throttle: LoginThrottle,
    /// `--login-rate`: sessions created per client and per email.
    pub login_rate: LoginRate,
    pub metrics: Metrics,
    /// The cross-site lab's runs.
    pub lab: LabStore,
}

impl AppState {
    pub fn new(
        config: Config,
        keys: KeyRing,
        revocations: Revocations,
        throttle: LoginThrottle,
    ) -> Self {
        let metrics = Metrics::new(config.replica_name.as_deref());
        let login_rate = LoginRate::new(config.login_rate);
        let lab = LabStore::for_config(&config);
        Self(Arc::new(Shared {
            metrics,
            login_rate,
            config,
            keys,
            revocations,
            throttle,
            lab,
        }))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl FromRef<AppState> for Metrics {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}
