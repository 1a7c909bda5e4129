//! What every service does the same way at start-up: crypto provider, logs, Sentry, and
//! binding its listener with the common middleware stack around its routes.

use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use nexus_config::CommonSettings;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::{
    background::Background,
    health::{self, Dependencies},
    middleware::{StackSettings, stack},
};

/// Process-wide set-up; keep the returned guard alive for the life of the process (it
/// flushes Sentry events on exit).
pub fn init(service: &'static str, common: &CommonSettings) -> Option<sentry::ClientInitGuard> {
    // rustls is linked with more than one provider through dependencies: pick one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    nexus_telemetry::init_tracing(service);
    let environment = format!("{:?}", common.environment).to_lowercase();
    let guard = nexus_telemetry::init_sentry(
        common.sentry_dsn.as_ref().map(ExposeSecret::expose_secret),
        service,
        &environment,
    );
    tracing::info!(
        service,
        environment,
        port = common.port,
        database = %common.database_url.redacted(),
        redis = %common.redis_url.redacted(),
        sentry = guard.is_some(),
        "starting"
    );
    guard
}

/// A bound service, ready to run: tests build it on port 0 and read the port.
pub struct Service {
    name: &'static str,
    listener: TcpListener,
    router: Router,
    drain: std::time::Duration,
    background: Background,
}

impl Service {
    pub async fn bind(
        name: &'static str,
        common: &CommonSettings,
        routes: Router,
        dependencies: Dependencies,
        body_limit: usize,
    ) -> anyhow::Result<Self> {
        let router = stack(
            routes.merge(health::router(dependencies)),
            StackSettings {
                service: name,
                cors_origins: common.cors_origins.clone(),
                trusted_proxies: common.trusted_proxies.clone(),
                body_limit,
            },
        );
        let address = SocketAddr::new(common.bind_addr, common.port);
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("binding {address}"))?;
        Ok(Self {
            name,
            listener,
            router,
            drain: common.shutdown_timeout,
            background: Background::default(),
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(service = self.name, port = self.port(), "listening");
        let served = crate::serve::serve(self.listener, self.router, shutdown, self.drain).await;
        // Requests drained: now the loops finish their round.
        self.background.shutdown(self.drain).await;
        served
    }

    /// Where the service's background loops run: they stop with it.
    pub fn background(&self) -> &Background {
        &self.background
    }
}
