//! A Redis connection that never blocks start-up: it connects on first use and
//! reconnects by itself, so a service runs (degraded) while Redis is down.

use std::{sync::Arc, time::Duration};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

#[derive(Clone)]
pub struct Redis {
    manager: ConnectionManager,
    prefix: Arc<str>,
}

impl Redis {
    pub fn new(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client =
            redis::Client::open(url).map_err(|e| anyhow::anyhow!("REDIS_URL is invalid: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let manager = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Self {
            manager,
            prefix: prefix.into(),
        })
    }

    pub fn connection(&self) -> ConnectionManager {
        self.manager.clone()
    }

    /// A key in this deployment's namespace.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{}", self.prefix, suffix)
    }

    pub async fn ping(&self) -> bool {
        let mut conn = self.connection();
        let reply: Result<Result<String, _>, _> = tokio::time::timeout(
            Duration::from_secs(2),
            redis::cmd("PING").query_async(&mut conn),
        )
        .await;
        matches!(reply, Ok(Ok(pong)) if pong == "PONG")
    }
}
