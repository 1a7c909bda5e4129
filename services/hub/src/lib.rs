//! `nexus-hub`: the platform's real-time side. This slice delivers every notification
//! to each open connection of its recipient, on any hub instance, with resume after a
//! reconnect; class, course and conversation channels with presence; chat.

pub mod live;
pub mod metrics;
pub mod presence;
pub mod quota;
pub mod registry;
pub mod settings;
pub mod stream;
pub mod ws;

use std::sync::Arc;

use axum::{Router, routing::get};
use nexus_web::{auth::Authenticator, health::Dependencies, redis_conn::Redis, service::Service};
use tokio::sync::watch;

use crate::{registry::Registry, settings::HubSettings};

pub const SERVICE: &str = "nexus-hub";

/// The hub's shared state; every request and connection holds a reference to it.
pub type AppState = Arc<Hub>;

pub struct Hub {
    pub settings: Arc<HubSettings>,
    pub authenticator: Authenticator,
    pub redis: Redis,
    pub registry: Registry,
    pub presence: presence::Presence,
    pub quota: quota::Quota,
    /// For the pub/sub subscription, which needs a connection of its own.
    pub redis_client: redis::Client,
    /// How far this instance's stream follower has indexed events for resumes.
    pub indexed: watch::Receiver<registry::StreamId>,
    /// Flips to `true` when the process stops: connections close with 1012.
    pub shutdown: watch::Receiver<bool>,
    /// Account checks at connection running at once. In a reconnection storm thousands
    /// of connections wait for the database; each running check holds ~7 KB of query
    /// state, a waiting one a few bytes. Twice the pool: the pool stays busy.
    pub account_checks: tokio::sync::Semaphore,
}

pub struct Application {
    service: Service,
    state: AppState,
    shutdown: watch::Sender<bool>,
    indexed: watch::Sender<registry::StreamId>,
}

impl Application {
    pub async fn build(settings: HubSettings) -> anyhow::Result<Self> {
        let common = &settings.common;
        let pool = nexus_database::lazy_pool(
            common.database_url.expose(),
            common.database_max_connections,
            nexus_database::Opening::OnDemand,
        )?;
        let redis = Redis::new(common.redis_url.expose(), &common.redis_key_prefix)?;
        let keys = nexus_web::auth::jwt_keys(common);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (indexed, indexed_rx) = watch::channel(registry::StreamId::default());
        let state = Arc::new(Hub {
            authenticator: Authenticator {
                keys,
                pool: pool.clone(),
                api_limit: None,
                // A socket is checked when it opens and again on each revocation
                // announcement, which may arrive before the database's notification: a
                // session cache here could let a revoked socket pass that second check.
                sessions: None,
            },
            redis: redis.clone(),
            registry: Registry::default(),
            presence: presence::Presence::new(redis.clone()),
            quota: quota::Quota::new(redis.clone(), &settings),
            redis_client: redis::Client::open(common.redis_url.expose())
                .map_err(|e| anyhow::anyhow!("REDIS_URL is invalid: {e}"))?,
            indexed: indexed_rx,
            shutdown: shutdown_rx,
            account_checks: tokio::sync::Semaphore::new(
                2 * common.database_max_connections.max(1) as usize,
            ),
            settings: Arc::new(settings),
        });
        let routes = Router::new()
            .route("/ws", get(ws::upgrade))
            .route("/ws/", get(ws::upgrade))
            .with_state(state.clone());
        let dependencies = Dependencies {
            postgres: Some(pool),
            redis: Some(redis),
            ..Dependencies::default()
        };
        let service = Service::bind(
            SERVICE,
            &state.settings.common,
            routes,
            dependencies,
            64 * 1024,
        )
        .await?;
        Ok(Self {
            service,
            state,
            shutdown,
            indexed,
        })
    }

    pub fn port(&self) -> u16 {
        self.service.port()
    }

    pub fn registry(&self) -> Registry {
        self.state.registry.clone()
    }

    /// How far the stream follower got; it changes first when the follower has its
    /// starting point, from which on every event is delivered live (tests wait for it).
    pub fn stream_position(&self) -> watch::Receiver<registry::StreamId> {
        self.indexed.subscribe()
    }

    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tokio::spawn(stream::follow(
            self.state.redis.clone(),
            self.state.registry.clone(),
            self.state.settings.resume_max_events,
            self.indexed,
        ));
        tokio::spawn(live::listen(
            self.state.redis_client.clone(),
            self.state.redis.clone(),
            self.state.registry.clone(),
        ));
        // The hub writes chat events to the outbox too: it relays them itself, at once,
        // rather than waiting for an API process to.
        let (pool, redis) = (
            self.state.authenticator.pool.clone(),
            self.state.redis.clone(),
        );
        self.service.background().spawn("outbox relay", |stop| {
            nexus_web::relay::run_relay(pool, redis, stop)
        });
        let shutdown = self.shutdown;
        // Websocket connections outlive requests: tell them to reconnect elsewhere as
        // soon as the stop begins, then let the server drain.
        let stop = async move {
            stop.await;
            let _ = shutdown.send(true);
        };
        self.service.run_until_stopped(stop).await
    }
}
