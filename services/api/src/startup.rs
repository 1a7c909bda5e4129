//! Builds the API from its settings; tests start the same thing on port 0.

use std::sync::Arc;

use axum::{Router, extract::Request, middleware::Next, response::Response};
use nexus_database::Opening;
use nexus_web::{
    auth::Authenticator, cache::Invalidations, health::Dependencies, ratelimit::RateLimiter,
    redis_conn::Redis, service::Service,
};

use crate::{
    caches,
    mail::Mailer,
    openapi,
    settings::ApiSettings,
    state::{AppState, Shared},
};

pub const SERVICE: &str = "nexus-api";

pub struct Application {
    service: Service,
    state: AppState,
}

impl Application {
    pub async fn build(settings: ApiSettings) -> anyhow::Result<Self> {
        let common = &settings.common;
        // All connections opened at start and kept: a burst of requests never waits for
        // Postgres to fork new backends (`Opening::AllAtStart`).
        let pool = nexus_database::lazy_pool(
            common.database_url.expose(),
            common.database_max_connections,
            Opening::AllAtStart,
        )?;
        if settings.migrate_on_start {
            let pool = nexus_database::connect_with_retry(
                common.database_url.expose(),
                2,
                std::time::Duration::from_secs(30),
            )
            .await?;
            nexus_database::migrate(&pool).await?;
        }
        let redis = Redis::new(common.redis_url.expose(), &common.redis_key_prefix)?;
        let limiter = RateLimiter::new(redis.clone());
        let jwt = nexus_web::auth::jwt_keys(common);
        let sessions = Arc::new(nexus_web::auth::session_cache());
        let authenticator = Authenticator {
            keys: jwt.clone(),
            pool: pool.clone(),
            api_limit: Some((limiter.clone(), settings.rate_limits.api_per_user)),
            sessions: Some(sessions.clone()),
        };
        let course_bodies = Arc::new(caches::course_bodies());
        let catalogue_pages = Arc::new(caches::catalogue_pages());
        let dashboards = Arc::new(caches::dashboards());
        let class_progress = Arc::new(caches::class_progress_cache());
        let invalidations = Invalidations::default()
            .with(caches::COURSE_CHANGED, course_bodies.clone())
            .with(caches::COURSE_CHANGED, catalogue_pages.clone())
            .with(nexus_web::auth::AUTH_CHANGED, sessions)
            .with(caches::STUDENT_CHANGED, dashboards.clone())
            .with(caches::CLASS_CHANGED, class_progress.clone());
        let state = AppState::new(Shared {
            mailer: Mailer::from_settings(&settings.mail)?,
            pool: pool.clone(),
            // A quarter of the pool's size more, for the dashboards, opened at start too.
            generic_plans: nexus_database::lazy_pool_with_generic_plans(
                common.database_url.expose(),
                common.database_max_connections.div_ceil(4).max(2),
                Opening::AllAtStart,
            )?,
            redis: redis.clone(),
            limiter,
            jwt,
            authenticator,
            code: crate::questions::code::CodeRunner::new(),
            mail_wake: crate::mail::queue::Wake::default(),
            course_bodies,
            catalogue_pages,
            dashboards,
            class_progress,
            invalidations: Arc::new(invalidations),
            settings: Arc::new(settings),
        });
        let (api, spec) = openapi::split(openapi::api_router().with_state(state.clone()));
        let api = api.layer(axum::middleware::from_fn_with_state(
            state.clone(),
            settle_writes,
        ));
        let routes = Router::new().merge(api).merge(openapi::docs_router(spec));
        let service = Service::bind(
            SERVICE,
            &state.settings.common,
            routes,
            Dependencies {
                postgres: Some(pool),
                redis: Some(redis),
                ..Dependencies::default()
            },
            state.settings.body_limit,
        )
        .await?;
        Ok(Self { service, state })
    }

    pub fn port(&self) -> u16 {
        self.service.port()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // Without their listener the caches stay off (every read goes to Postgres).
        let (pool, invalidations) = (self.state.pool.clone(), self.state.invalidations.clone());
        self.service
            .background()
            .spawn("cache listener", |stop| invalidations.run(pool, stop));
        if self.state.settings.run_worker {
            // They stop with the service, after the requests, each finishing its round.
            let (state, background) = (&self.state, self.service.background());
            crate::worker::spawn(background, state.pool.clone(), state.redis.clone());
            let (pool, settings) = (state.pool.clone(), state.settings.clone());
            background.spawn("privacy jobs", |stop| {
                crate::privacy::jobs::run(pool, settings, stop)
            });
            let (pool, settings) = (state.pool.clone(), state.settings.clone());
            background.spawn("digests", |stop| crate::digest::run(pool, settings, stop));
            let (pool, mailer, wake) = (
                state.pool.clone(),
                state.mailer.clone(),
                state.mail_wake.clone(),
            );
            background.spawn("mail queue", |stop| {
                crate::mail::queue::run(pool, mailer, wake, stop)
            });
        }
        self.service.run_until_stopped(shutdown).await
    }
}

/// After a request that changed something, waits until the caches of this process have
/// heard of it (`Invalidations::settle`): the client's next request reads its change.
async fn settle_writes(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let reads = request.method().is_safe();
    let response = next.run(request).await;
    if !reads && response.status().is_success() {
        state.invalidations.settle(&state.pool).await;
    }
    response
}
