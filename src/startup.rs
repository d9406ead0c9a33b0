//! Binding and serving: what `main` runs and what the tests start on port 0.

pub mod connections;

use std::future::Future;
use std::net::SocketAddr;

use crate::routes::App;
use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::{Config, ConnectionLimits};
use crate::keys;
use crate::revocation::Revocations;
use crate::routes;
use crate::security::throttle::{Clock, LoginThrottle};
use crate::state::AppState;

/// How often idle login-rate keys are forgotten.
const FORGET_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
/// How often, in minutes, expired revocations are forgotten.
const PRUNE_EVERY_MINUTES: u64 = 10;

/// A bound, ready-to-serve cookie-lab.
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    app: App,
    state: AppState,
    /// The configured caps, lowered if the open-file limit can't hold them.
    connections: ConnectionLimits,
}

impl Application {
    /// Loads (or creates) the key ring and binds the listener. Every start-up
    /// problem is an error that says what to fix, never a panic.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Clock::system()).await
    }

    /// [`Self::build`], with the login throttle reading `clock`: tests move
    /// it instead of waiting out a backoff.
    pub async fn build_with_clock(config: Config, clock: Clock) -> anyhow::Result<Self> {
        let (ring, source) = keys::load_or_create(&config.data_dir, config.env_keys.as_deref())
            .context("could not load the login-cookie key ring")?;
        tracing::info!(key_ring = %source, current_key = %ring.current().id(), keys = ring.keys().len(), "key ring loaded");
        let revocations = Revocations::open(&config.revocations, &config.data_dir)
            .await
            .context("could not open the revocation store")?;
        match revocations.ping().await {
            Ok(()) => {
                tracing::info!(store = %revocations.describe(), "revocation store ready");
                for problem in revocations.configuration_problems().await {
                    tracing::warn!(
                        store = %revocations.describe(),
                        problem = %problem,
                        "Redis is not set up to keep revocations: a restart or memory pressure would \
                         forget logouts (everyone is then logged out, never let back in); run it with \
                         --appendonly yes and --maxmemory-policy noeviction"
                    );
                }
            }
            // Start anyway: replicas may come up before Redis does. Until it
            // answers, /readyz says 503 and logins are refused with a page
            // that says why; it recovers by itself.
            Err(err) => tracing::warn!(
                store = %revocations.describe(),
                error = %err,
                "revocation store unreachable at start: logins are refused (503) until it answers"
            ),
        }
        let connections = connections::fit_to_this_process(config.connections);
        let throttle = LoginThrottle::for_config(&config, clock)
            .context("could not prepare the login throttle's store")?;
        tracing::info!(store = %throttle.describe(), trusted_proxies = %config.trust_proxy, "login throttle ready");
        if config.trust_proxy.trusts_everyone() {
            tracing::warn!(
                "--trust-proxy includes a /0 range: any client that reaches this port can pick its own \
                 address and scheme with X-Forwarded-For and X-Forwarded-Proto"
            );
        }
        let listener = TcpListener::bind(&config.addr)
            .await
            .with_context(|| format!("could not listen on {}", config.addr))?;
        let local_addr = listener
            .local_addr()
            .context("could not read the bound address")?;
        let state = AppState::new(config, ring, revocations, throttle);
        tracing::info!(store = %state.lab.describe(), "lab run store ready");
        let app = routes::app(state.clone());
        spawn_pruning(state.clone());
        keep_timer_wheel_armed();
        Ok(Self {
            listener,
            local_addr,
            app,
            state,
            connections,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The connection limits in force: the configured ones, with the caps
    /// lowered if the open-file limit can't hold them.
    pub fn connection_limits(&self) -> ConnectionLimits {
        self.connections
    }

    /// Serves until `shutdown` resolves; then refuses new connections, lets
    /// in-flight requests finish for up to `--shutdown-grace`, and leaves the
    /// revocation store complete. Past the grace it returns an error naming
    /// how many requests were cut off, so the exit status says so.
    pub async fn run_until_stopped<F>(self, shutdown: F) -> std::io::Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let Self {
            listener,
            local_addr,
            app,
            state,
            connections,
        } = self;
        let grace = state.config.shutdown_grace;
        let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            let _ = stopping.send(());
        };
        tracing::info!("cookie-lab listening on http://{local_addr}");
        let serve = async {
            connections::serve(
                listener,
                app,
                connections,
                state.metrics.clone(),
                state.config.replica_name.as_deref(),
                signal,
            )
            .await;
            Ok(())
        };
        let grace_over = async move {
            if stopped.await.is_err() {
                // The signal future was dropped without firing: serve ended
                // some other way, and that branch wins.
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(grace).await;
        };
        let outcome = tokio::select! {
            served = serve => served,
            () = grace_over => {
                let cut_off = state.metrics.in_flight_now();
                tracing::error!(cut_off, grace = ?grace, "shutdown grace ran out: exiting with requests still in flight");
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "the shutdown grace ({}) ran out with {cut_off} request(s) still in flight",
                        humantime::format_duration(grace)
                    ),
                ))
            }
        };
        match state.revocations.close().await {
            Ok(()) => {
                tracing::info!(store = %state.revocations.describe(), "revocation store closed")
            }
            Err(err) => tracing::error!(error = %err, "could not flush the revocation store"),
        }
        if outcome.is_ok() {
            tracing::info!("shut down: every in-flight request was answered");
        }
        outcome
    }
}

/// Keeps one timer pending that fires sooner than any request's timeout.
/// Without it tokio's timer wheel is empty between requests (each request's
/// timeout is gone when it answers), so registering the next request's
/// timeout wakes the I/O driver: one eventfd `write(2)` per request, and an
/// extra `epoll_wait` return (tokio-rs/tokio#5207). With an earlier deadline
/// always pending, a new timeout never moves the driver's next wake-up.
fn keep_timer_wheel_armed() {
    tokio::spawn(async {
        loop {
            tokio::time::sleep(crate::routes::REQUEST_TIMEOUT / 2).await;
        }
    });
}

/// Forgets login-rate keys whose allowance is full again every minute (a
/// key recovers within one), and expired revocations every ten, for as long
/// as the server runs.
fn spawn_pruning(state: AppState) {
    tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(FORGET_EVERY);
        for minute in 0u64.. {
            every_minute.tick().await;
            state.login_rate.forget_idle();
            if minute % PRUNE_EVERY_MINUTES != 0 {
                continue;
            }
            match state
                .revocations
                .prune(time::OffsetDateTime::now_utc())
                .await
            {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "expired revocations forgotten"),
                Err(err) => tracing::warn!(error = %err, "could not prune revocations"),
            }
        }
    });
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
