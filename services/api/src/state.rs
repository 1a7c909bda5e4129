use std::sync::Arc;

use nexus_auth::JwtKeys;
use nexus_web::{
    auth::{Authenticator, HasAuthenticator},
    ratelimit::RateLimiter,
    redis_conn::Redis,
};
use sqlx::PgPool;

use crate::{
    caches::{CataloguePages, ClassProgressCache, CourseBodies, Dashboards},
    mail::Mailer,
    settings::ApiSettings,
};

/// What every handler reads, behind one `Arc`: extractors clone the state for each
/// request, and cloning a dozen fields (each an atomic count shared by both cores) was a
/// fifth of the API's CPU on a cached read.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub pool: PgPool,
    /// Connections that plan each statement once for all its parameters, for the
    /// students' dashboards (`nexus_database::lazy_pool_with_generic_plans`).
    pub generic_plans: PgPool,
    pub redis: Redis,
    pub limiter: RateLimiter,
    pub jwt: JwtKeys,
    pub mailer: Mailer,
    pub settings: Arc<ApiSettings>,
    pub authenticator: Authenticator,
    /// Runs students' code (the bounded sandbox queue).
    pub code: crate::questions::code::CodeRunner,
    /// Wakes this process's mail delivery after a request queued a mail.
    pub mail_wake: crate::mail::queue::Wake,
    /// The JSON of published courses' details, by id (`caches::CourseBodies`).
    pub course_bodies: Arc<CourseBodies>,
    /// Pages of the catalogue as students and parents get them (`caches::CataloguePages`).
    pub catalogue_pages: Arc<CataloguePages>,
    /// Students' dashboards, by student id (`caches::Dashboards`).
    pub dashboards: Arc<Dashboards>,
    /// Classes' progress tables, by class id (`caches::ClassProgressCache`).
    pub class_progress: Arc<ClassProgressCache>,
    /// The listener that keeps the caches above (and the sessions') exact.
    pub invalidations: Arc<nexus_web::cache::Invalidations>,
}

impl HasAuthenticator for AppState {
    fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }
}
