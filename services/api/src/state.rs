use std::sync::Arc;

use axum::extract::FromRef;
use nexus_auth::JwtKeys;
use nexus_web::{auth::Authenticator, ratelimit::RateLimiter, redis_conn::Redis};
use sqlx::PgPool;

use crate::{mail::Mailer, settings::ApiSettings};

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub redis: Redis,
    pub limiter: RateLimiter,
    pub jwt: JwtKeys,
    pub mailer: Mailer,
    pub settings: Arc<ApiSettings>,
    pub authenticator: Authenticator,
    /// Runs students' code (the bounded sandbox queue).
    pub code: crate::assessments::code::CodeRunner,
    /// Wakes this process's mail delivery after a request queued a mail.
    pub mail_wake: crate::mail::queue::Wake,
    /// The JSON of published courses' details, by id (`courses::CourseBodies`).
    pub course_bodies: Arc<crate::courses::CourseBodies>,
    /// Pages of the catalogue as students and parents get them (`courses::CataloguePages`).
    pub catalogue_pages: Arc<crate::courses::CataloguePages>,
    /// Students' dashboards, by student id (`dashboard::Dashboards`).
    pub dashboards: Arc<crate::dashboard::Dashboards>,
    /// Classes' progress tables, by class id (`progress::ClassProgressCache`).
    pub class_progress: Arc<crate::progress::ClassProgressCache>,
    /// The listener that keeps the caches above (and the sessions') exact.
    pub invalidations: Arc<nexus_web::cache::Invalidations>,
}

impl FromRef<AppState> for Authenticator {
    fn from_ref(state: &AppState) -> Self {
        state.authenticator.clone()
    }
}
