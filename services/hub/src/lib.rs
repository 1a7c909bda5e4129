//! `nexus-hub`: the websocket hub: real-time notifications, presence and chat (issue 4). This slice serves health, readiness and metrics.

use axum::Router;
use nexus_config::CommonSettings;
use nexus_web::{health::Dependencies, redis_conn::Redis, service::Service};

pub const SERVICE: &str = "nexus-hub";
pub const PORT_VAR: &str = "HUB_PORT";
pub const DEFAULT_PORT: u16 = 8080;

pub struct Application {
    service: Service,
}

impl Application {
    pub async fn build(common: CommonSettings) -> anyhow::Result<Self> {
        let pool = nexus_database::lazy_pool(
            common.database_url.expose(),
            common.database_max_connections,
        )?;
        let redis = Redis::new(common.redis_url.expose(), &common.redis_key_prefix)?;
        let dependencies = Dependencies {
            postgres: Some(pool),
            redis: Some(redis),
        };
        let service =
            Service::bind(SERVICE, &common, Router::new(), dependencies, 64 * 1024).await?;
        Ok(Self { service })
    }

    pub fn port(&self) -> u16 {
        self.service.port()
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.service.run_until_stopped(shutdown).await
    }
}
