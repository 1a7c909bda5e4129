//! The API's read caches: what each keeps, how many at most, and which Postgres
//! notification empties it (`startup.rs` wires each to its channel). Their readers are
//! the handlers (`courses`, `dashboard`, `progress`); `state::Shared` holds them, so they
//! live here, below both.

use std::time::Duration;

use axum::body::Bytes;
use nexus_web::cache::{NotifiedCache, NotifiedKey};

/// How long any of these keeps a value that nothing changed: a bound on memory, not what
/// keeps them exact (the notifications do).
const KEPT_AT_MOST: Duration = Duration::from_secs(600);

/// The body of `GET /api/courses/{id}` for published courses, by id: the same for every
/// reader, and the API's hottest read (~17 KB each). The `nexus_course_changed`
/// notifications (a trigger on `courses`, migration `20261206000300`) keep it exact on
/// every replica (and a request that changed one answers only once this process heard of
/// it: `Invalidations::settle`). At most [`COURSE_BODIES_CAPACITY`] courses (~20 MB).
pub type CourseBodies = NotifiedCache<i64, Bytes>;
pub const COURSE_CHANGED: &str = "nexus_course_changed";
pub const COURSE_BODIES_CAPACITY: usize = 1_000;

pub fn course_bodies() -> CourseBodies {
    NotifiedCache::new("course_bodies", COURSE_BODIES_CAPACITY, KEPT_AT_MOST)
}

/// A page of the catalogue as every student and parent gets it: the body of
/// `GET /api/courses` with these filters and search, and no class or `mine`. Any change
/// to a course (`nexus_course_changed`, on insert, update and delete) empties the whole
/// cache: a course moves between pages, totals and searches. At most
/// [`CATALOGUE_PAGES_CAPACITY`] pages (~5 KB for ten courses, ~50 KB for a hundred).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CataloguePage {
    pub search: Option<String>,
    pub level: Option<String>,
    pub category: Option<String>,
    pub page: u32,
    pub limit: u32,
}

impl NotifiedKey for CataloguePage {
    fn from_payload(_: &str) -> Option<Self> {
        None
    }
}

pub type CataloguePages = NotifiedCache<CataloguePage, Bytes>;
pub const CATALOGUE_PAGES_CAPACITY: usize = 1_000;

pub fn catalogue_pages() -> CataloguePages {
    NotifiedCache::new("catalogue_pages", CATALOGUE_PAGES_CAPACITY, KEPT_AT_MOST)
}

/// Students' dashboards as their JSON, by student id: the body of
/// `GET /api/dashboard/student` and each child of the parent's. The
/// `nexus_student_changed` notifications (triggers of migration `20261206000500`, on every
/// table a dashboard shows) keep it exact on every replica; what changes with the time
/// alone (an assessment opening or closing, a new week) is kept only until then
/// (`dashboard::NEXT_CHANGE`). At most [`DASHBOARDS_CAPACITY`] students (~9 KB each in the
/// benchmark's school: ~45 MB).
pub type Dashboards = NotifiedCache<i64, Bytes>;
pub const STUDENT_CHANGED: &str = "nexus_student_changed";
pub const DASHBOARDS_CAPACITY: usize = 5_000;

pub fn dashboards() -> Dashboards {
    NotifiedCache::new("dashboards", DASHBOARDS_CAPACITY, KEPT_AT_MOST)
}

/// Classes' progress tables as their JSON, by class id (the body of
/// `GET /api/classes/{id}/progress`; who may read it is checked on every request). The
/// `nexus_class_changed` notifications (migration `20261206000500`) keep it exact on every
/// replica. At most [`CLASS_PROGRESS_CAPACITY`] classes (~6.4 KB each for 25 students and
/// 25 courses: ~2 MB).
pub type ClassProgressCache = NotifiedCache<i64, Bytes>;
pub const CLASS_CHANGED: &str = "nexus_class_changed";
pub const CLASS_PROGRESS_CAPACITY: usize = 300;

pub fn class_progress_cache() -> ClassProgressCache {
    NotifiedCache::new("class_progress", CLASS_PROGRESS_CAPACITY, KEPT_AT_MOST)
}
