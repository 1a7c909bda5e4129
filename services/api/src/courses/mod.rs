//! Courses (contract §Courses): teachers write them as drafts, publish them and assign
//! them to their classes; students and parents only ever see published courses.

pub mod content;

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use nexus_auth::Role;
use nexus_database::courses::push_visible;
use nexus_database::levels::ClassLevel;
use nexus_web::{
    ApiError, ErrorBody, Json, Path, Query,
    auth::CurrentUser,
    cache::{Fresh, Keep, json_body, json_bytes},
    error::ApiResult,
    pagination::{PageQuery, Pagination},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use self::content::CourseContent;
use crate::{
    access::ensure_class_writable,
    auth::Done,
    caches::CataloguePage,
    notifications::{NewNotification, notify},
    state::AppState,
    validate::{Validator, has_control},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_courses, create_course))
        .routes(routes!(get_course, replace_course, delete_course))
        .routes(routes!(publish_course))
        .routes(routes!(unpublish_course))
        .routes(routes!(assign_course))
        .routes(routes!(unassign_course))
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CourseSummary {
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    pub level: ClassLevel,
    pub category: Option<String>,
    /// Estimated time in minutes.
    pub duration: Option<i32>,
    pub is_published: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CourseList {
    pub courses: Vec<CourseSummary>,
    pub pagination: Pagination,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct CourseFilter {
    #[param(value_type = Option<ClassLevel>)]
    pub level: Option<String>,
    /// e.g. `algorithmique`, `programmation`, `reseaux`, `donnees`.
    #[param(max_length = 50)]
    pub category: Option<String>,
    /// Full-text search in French: accents and plurals do not matter.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Only courses assigned to this class (one the caller may see, else 404).
    pub class_id: Option<i64>,
    /// Teachers: only the courses they wrote.
    pub mine: Option<bool>,
}

/// Published courses (and a teacher's own drafts), filtered, searched, paginated.
/// Roles: any signed-in user.
#[utoipa::path(get, path = "/api/courses", tag = "courses",
    params(CourseFilter, PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CourseList),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn list_courses(
    user: CurrentUser,
    State(state): State<AppState>,
    Query(filter): Query<CourseFilter>,
    Query(page): Query<PageQuery>,
    Fresh(fresh): Fresh,
) -> ApiResult<Response> {
    // A class's courses are listed only to who may see the class.
    if let Some(class_id) = filter.class_id
        && nexus_web::access::sees_class(&state.pool, &user, class_id).await? != Some(true)
    {
        return Err(ApiError::not_found("Classe introuvable."));
    }
    // Students and parents see published courses only: a page of the catalogue, searched
    // or not, is the same for all of them.
    let shared = matches!(user.role, Role::Student | Role::Parent)
        && filter.class_id.is_none()
        && !filter.mine.unwrap_or(false);
    if !shared {
        return Ok(Json(read_list(&state, &user, &filter, &page).await?).into_response());
    }
    // As `read_list` reads them (the length of a key is bounded like the filters').
    let short = |text: &Option<String>| {
        (text.as_deref())
            .filter(|t| !t.is_empty())
            .map(|t| t.chars().take(50).collect::<String>())
    };
    let key = CataloguePage {
        search: search_words(&filter.q),
        level: short(&filter.level),
        category: short(&filter.category),
        page: page.page(),
        limit: page.limit(),
    };
    let read = async {
        let list = read_list(&state, &user, &filter, &page).await?;
        let body = json_bytes(&list)?;
        Ok::<_, ApiError>((body, Keep::Yes))
    };
    let body = (state.catalogue_pages)
        .get_or_read(key, fresh, read)
        .await?;
    Ok(json_body(body))
}

/// What a search looks for: the words given, trimmed, at most 200 characters; none for
/// a blank search.
fn search_words(q: &Option<String>) -> Option<String> {
    q.as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(|q| q.chars().take(200).collect())
}

async fn read_list(
    state: &AppState,
    user: &CurrentUser,
    filter: &CourseFilter,
    page: &PageQuery,
) -> ApiResult<CourseList> {
    let q = search_words(&filter.q);
    let level = filter.level.as_deref().filter(|l| !l.is_empty());
    let category = filter
        .category
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|c| c.chars().take(50).collect::<String>());
    let build = |select: &str| {
        let mut query = QueryBuilder::<Postgres>::new(select);
        query.push(" from courses c where ");
        push_visible(&mut query, user.role, user.id);
        if let Some(level) = level {
            query.push(" and c.level = ").push_bind(level.to_owned());
        }
        if let Some(category) = &category {
            query.push(" and c.category = ").push_bind(category.clone());
        }
        if let Some(q) = &q {
            query
                .push(" and c.search @@ websearch_to_tsquery('nexus_fr', ")
                .push_bind(q.clone())
                .push(")");
        }
        if let Some(class_id) = filter.class_id {
            query
                .push(" and exists(select 1 from course_classes cc where cc.course_id = c.id and cc.class_id = ")
                .push_bind(class_id)
                .push(")");
        }
        if filter.mine.unwrap_or(false) {
            query.push(" and c.created_by = ").push_bind(user.id);
        }
        query
    };
    let mut listing = build(
        "select c.id, c.title, c.description, c.level, c.category, c.estimated_time as duration, c.is_published",
    );
    match &q {
        Some(q) => listing
            .push(" order by ts_rank(c.search_head, websearch_to_tsquery('nexus_fr', ")
            .push_bind(q.clone())
            .push(")) desc, c.id"),
        None => listing.push(" order by c.id"),
    };
    listing
        .push(" limit ")
        .push_bind(i64::from(page.limit()))
        .push(" offset ")
        .push_bind(page.offset());
    // The total: searches, a class's courses and "mine" are counted (their sets are
    // small, or the search must rank them anyway); the plain catalogue, filtered by
    // level and category, reads `course_counts`, which a trigger keeps exact in the
    // transaction of every change (migration 20261203000500). Counting 5,000 rows on
    // every page was most of a list request's time at 10,000 courses.
    let mut total_query = if q.is_some()
        || filter.class_id.is_some()
        || filter.mine.unwrap_or(false)
    {
        build("select count(*)")
    } else {
        let mut query = QueryBuilder::<Postgres>::new(
            "select (select coalesce(sum(k.n), 0) from course_counts k where ",
        );
        query.push(match user.role {
            Role::Admin => "true",
            _ => "k.is_published",
        });
        if let Some(level) = level {
            query.push(" and k.level = ").push_bind(level.to_owned());
        }
        if let Some(category) = &category {
            query.push(" and k.category = ").push_bind(category.clone());
        }
        query.push(")::bigint");
        if user.role == Role::Teacher {
            // Plus the teacher's own drafts (few; `courses_created_by_idx`).
            query
                .push(" + (select count(*) from courses c where not c.is_published and c.created_by = ")
                .push_bind(user.id);
            if let Some(level) = level {
                query.push(" and c.level = ").push_bind(level.to_owned());
            }
            if let Some(category) = &category {
                query.push(" and c.category = ").push_bind(category.clone());
            }
            query.push(")");
        }
        query
    };
    let (total, courses): (i64, Vec<CourseSummary>) = if q.is_some() {
        // A common word matches a large share of the courses; the planner then prefers a
        // sequential scan, not knowing that testing each row means reading its large text
        // vector (measured: 109 ms against 12 ms through the GIN index at 10,000 courses).
        // Searches therefore run with sequential scans off, in a transaction of their own
        // (the only listing that opens one).
        let mut tx = state.pool.begin().await?;
        sqlx::query("set local enable_seqscan = off")
            .execute(&mut *tx)
            .await?;
        let total = total_query.build_query_scalar().fetch_one(&mut *tx).await?;
        let courses = listing
            .build_query_as::<CourseSummary>()
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        (total, courses)
    } else {
        // No transaction: two reads on one connection (one acquire from the pool).
        let mut conn = state.pool.acquire().await?;
        let total = total_query
            .build_query_scalar()
            .fetch_one(&mut *conn)
            .await?;
        let courses = listing
            .build_query_as::<CourseSummary>()
            .fetch_all(&mut *conn)
            .await?;
        (total, courses)
    };
    Ok(CourseList {
        courses,
        pagination: page.pagination(total),
    })
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CourseDetail {
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    pub level: ClassLevel,
    pub category: Option<String>,
    #[schema(value_type = CourseContent)]
    pub content: RawJson,
    #[schema(value_type = Vec<String>)]
    pub prerequisites: RawJson,
    #[schema(value_type = Vec<String>)]
    pub objectives: RawJson,
    /// Minutes.
    pub estimated_time: Option<i32>,
    pub is_published: bool,
    pub created_by: Option<i64>,
    pub updated_at: DateTime<Utc>,
}

/// JSON text from Postgres passed through as is: course content can be large, and
/// parsing it only to write it back is wasted work on the hottest read of the API.
#[derive(Debug, Clone, sqlx::Type)]
#[sqlx(transparent)]
pub struct RawJson(pub String);

impl Serialize for RawJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Borrowed, not copied: a course's content is ~20 KB.
        let raw: &serde_json::value::RawValue =
            serde_json::from_str(&self.0).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

/// Loads a course if `user` may see it; 404 otherwise (a draft's existence is not revealed).
pub async fn visible_course(pool: &PgPool, user: &CurrentUser, id: i64) -> ApiResult<CourseDetail> {
    let mut query = QueryBuilder::new(
        "select c.id, c.title, c.description, c.level, c.category, c.content_text as content,
                c.prerequisites::text as prerequisites, c.objectives::text as objectives,
                c.estimated_time, c.is_published, c.created_by, c.updated_at
         from courses c where c.id = ",
    );
    query.push_bind(id).push(" and ");
    push_visible(&mut query, user.role, user.id);
    query
        .build_query_as()
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| ApiError::not_found("Cours introuvable."))
}

/// A course with its chapters, sections, examples and exercises. Roles: any signed-in
/// user who may see it (drafts: their author and admins).
#[utoipa::path(get, path = "/api/courses/{id}", tag = "courses",
    params(("id" = i64, Path, description = "Course id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CourseDetail),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn get_course(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Fresh(fresh): Fresh,
) -> ApiResult<Response> {
    // Only published courses are kept, and every signed-in user may see a published
    // course (`push_visible`): a hit needs no check of who asks.
    let read = async {
        let course = visible_course(&state.pool, &user, id).await?;
        let body = json_bytes(&course)?;
        let keep = if course.is_published {
            Keep::Yes
        } else {
            Keep::No
        };
        Ok::<_, ApiError>((body, keep))
    };
    let body = (state.course_bodies).get_or_read(id, fresh, read).await?;
    Ok(json_body(body))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CourseInput {
    pub title: String,
    pub description: Option<String>,
    #[schema(value_type = ClassLevel)]
    pub level: String,
    /// Lower-case slug, e.g. `algorithmique`.
    pub category: Option<String>,
    pub content: CourseContent,
    #[serde(default)]
    pub prerequisites: Vec<String>,
    #[serde(default)]
    pub objectives: Vec<String>,
    /// Minutes.
    pub estimated_time: Option<i32>,
}

impl CourseInput {
    pub fn validate(&self) -> ApiResult<()> {
        let mut v = Validator::new();
        v.check(
            !self.title.trim().is_empty()
                && self.title.chars().count() <= 200
                && !has_control(&self.title),
            "title",
            "Doit contenir entre 1 et 200 caractères.",
        )
        .check(
            self.description
                .as_deref()
                .is_none_or(|d| d.chars().count() <= 5000),
            "description",
            "Au plus 5 000 caractères.",
        )
        .check(
            ClassLevel::parse(&self.level).is_some(),
            "level",
            "Niveau attendu : premiere ou terminale.",
        )
        .check(
            self.category.as_deref().is_none_or(|c| {
                (1..=50).contains(&c.len())
                    && c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-')
            }),
            "category",
            "Catégorie en minuscules sans accent (ex. algorithmique).",
        )
        .check(
            self.prerequisites.len() <= 20
                && self
                    .prerequisites
                    .iter()
                    .all(|p| (1..=300).contains(&p.chars().count())),
            "prerequisites",
            "Au plus 20 prérequis de 1 à 300 caractères.",
        )
        .check(
            self.objectives.len() <= 20
                && self
                    .objectives
                    .iter()
                    .all(|o| (1..=300).contains(&o.chars().count())),
            "objectives",
            "Au plus 20 objectifs de 1 à 300 caractères.",
        )
        .check(
            self.estimated_time
                .is_none_or(|t| (0..=100_000).contains(&t)),
            "estimatedTime",
            "Durée en minutes, entre 0 et 100 000.",
        );
        self.content.validate(&mut v);
        v.finish()
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CourseSaved {
    pub success: bool,
    pub course: CourseDetail,
}

/// Write a new course; it starts as a draft. Roles: teacher, admin.
#[utoipa::path(post, path = "/api/courses", tag = "courses",
    request_body = CourseInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CourseSaved),
        (status = 403, body = ErrorBody),
    ))]
async fn create_course(
    user: CurrentUser,
    State(state): State<AppState>,
    Json(body): Json<CourseInput>,
) -> ApiResult<(StatusCode, Json<CourseSaved>)> {
    user.require(&[Role::Teacher, Role::Admin])?;
    body.validate()?;
    let id: i64 = sqlx::query_scalar(
        "insert into courses (title, description, level, category, content, prerequisites, objectives, estimated_time, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
    )
    .bind(body.title.trim())
    .bind(body.description.as_deref())
    .bind(&body.level)
    .bind(body.category.as_deref())
    .bind(sqlx::types::Json(&body.content))
    .bind(sqlx::types::Json(&body.prerequisites))
    .bind(sqlx::types::Json(&body.objectives))
    .bind(body.estimated_time)
    .bind(user.id)
    .fetch_one(&state.pool)
    .await?;
    let course = visible_course(&state.pool, &user, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(CourseSaved {
            success: true,
            course,
        }),
    ))
}

/// The course's author or an admin may change it; others get 403 if they can see it,
/// 404 if they cannot.
async fn ensure_author(pool: &PgPool, user: &CurrentUser, id: i64) -> ApiResult<CourseDetail> {
    let course = visible_course(pool, user, id).await?;
    if user.role == Role::Admin
        || (user.role == Role::Teacher && course.created_by == Some(user.id))
    {
        Ok(course)
    } else {
        Err(ApiError::forbidden())
    }
}

/// A course event for the services that index courses (ARIA), through the outbox.
async fn course_event(conn: &mut PgConnection, course_id: i64, action: &str) -> sqlx::Result<()> {
    nexus_database::outbox::enqueue(
        conn,
        uuid::Uuid::new_v4(),
        "course",
        &json!({ "courseId": course_id, "action": action }),
    )
    .await
}

/// Replace a course's content and metadata. Roles: its author, admin.
#[utoipa::path(put, path = "/api/courses/{id}", tag = "courses",
    params(("id" = i64, Path, description = "Course id")),
    request_body = CourseInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CourseSaved),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn replace_course(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<CourseInput>,
) -> ApiResult<Json<CourseSaved>> {
    let existing = ensure_author(&state.pool, &user, id).await?;
    body.validate()?;
    let mut tx = state.pool.begin().await?;
    sqlx::query(
        "update courses set title = $2, description = $3, level = $4, category = $5, content = $6,
            prerequisites = $7, objectives = $8, estimated_time = $9 where id = $1",
    )
    .bind(id)
    .bind(body.title.trim())
    .bind(body.description.as_deref())
    .bind(&body.level)
    .bind(body.category.as_deref())
    .bind(sqlx::types::Json(&body.content))
    .bind(sqlx::types::Json(&body.prerequisites))
    .bind(sqlx::types::Json(&body.objectives))
    .bind(body.estimated_time)
    .execute(&mut *tx)
    .await?;
    if existing.is_published {
        course_event(&mut tx, id, "updated").await?;
    }
    tx.commit().await?;
    Ok(Json(CourseSaved {
        success: true,
        course: visible_course(&state.pool, &user, id).await?,
    }))
}

/// Delete a course (its progress records and class assignments go with it).
/// Roles: its author, admin.
#[utoipa::path(delete, path = "/api/courses/{id}", tag = "courses",
    params(("id" = i64, Path, description = "Course id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Done),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn delete_course(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<Done>> {
    let existing = ensure_author(&state.pool, &user, id).await?;
    let mut tx = state.pool.begin().await?;
    sqlx::query("delete from courses where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if existing.is_published {
        course_event(&mut tx, id, "unpublished").await?;
    }
    tx.commit().await?;
    Ok(Json(Done {
        success: true,
        message: "Cours supprimé.".into(),
    }))
}

/// Students of the classes a course is assigned to (optionally one class).
async fn students_of_course_classes(
    conn: &mut PgConnection,
    course_id: i64,
    class_id: Option<i64>,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "select distinct m.student_id from course_classes cc join class_members m on m.class_id = cc.class_id
         join classes c on c.id = cc.class_id
         where cc.course_id = $1 and ($2::bigint is null or cc.class_id = $2) and c.archived_at is null",
    )
    .bind(course_id)
    .bind(class_id)
    .fetch_all(conn)
    .await
}

async fn notify_course_available(
    conn: &mut PgConnection,
    course_id: i64,
    title: &str,
    class_id: Option<i64>,
) -> sqlx::Result<()> {
    let students = students_of_course_classes(conn, course_id, class_id).await?;
    notify(
        conn,
        &students,
        &NewNotification {
            kind: "course_published",
            title: format!("Nouveau cours : {title}"),
            body: "Un nouveau cours est disponible pour ta classe.".into(),
            data: json!({ "courseId": course_id }),
        },
    )
    .await
}

/// Publish a course: students and parents can see it, and the students of the classes
/// it is assigned to are notified. Roles: its author, admin.
#[utoipa::path(post, path = "/api/courses/{id}/publish", tag = "courses",
    params(("id" = i64, Path, description = "Course id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CourseSaved),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
async fn publish_course(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<CourseSaved>> {
    let existing = ensure_author(&state.pool, &user, id).await?;
    if !existing.is_published {
        let sections = serde_json::from_str::<CourseContent>(&existing.content.0)
            .map(|c| c.section_ids().len())
            .unwrap_or(0);
        if sections == 0 {
            return Err(ApiError::invalid_fields(vec![(
                "content",
                "Un cours publié contient au moins une section.".into(),
            )]));
        }
        let mut tx = state.pool.begin().await?;
        // Only the request that flips the state notifies: ten publishes at once make one
        // notification per student, not ten (the row lock serialises them).
        let flipped = sqlx::query(
            "update courses set is_published = true, published_at = now() where id = $1 and not is_published",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if flipped.rows_affected() == 1 {
            notify_course_available(&mut tx, id, &existing.title, None).await?;
            course_event(&mut tx, id, "published").await?;
        }
        tx.commit().await?;
    }
    Ok(Json(CourseSaved {
        success: true,
        course: visible_course(&state.pool, &user, id).await?,
    }))
}

/// Take a course back to draft: students and parents no longer see it.
/// Roles: its author, admin.
#[utoipa::path(post, path = "/api/courses/{id}/unpublish", tag = "courses",
    params(("id" = i64, Path, description = "Course id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CourseSaved),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn unpublish_course(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<CourseSaved>> {
    let existing = ensure_author(&state.pool, &user, id).await?;
    if existing.is_published {
        let mut tx = state.pool.begin().await?;
        let flipped =
            sqlx::query("update courses set is_published = false where id = $1 and is_published")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        if flipped.rows_affected() == 1 {
            course_event(&mut tx, id, "unpublished").await?;
        }
        tx.commit().await?;
    }
    Ok(Json(CourseSaved {
        success: true,
        course: visible_course(&state.pool, &user, id).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignRequest {
    pub class_id: i64,
}

/// Assign a course to one of one's classes; if it is published, the class's students
/// are notified. Roles: teacher (author of the course and teacher of the class), admin.
#[utoipa::path(post, path = "/api/courses/{id}/classes", tag = "courses",
    params(("id" = i64, Path, description = "Course id")),
    request_body = AssignRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Done),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
async fn assign_course(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<AssignRequest>,
) -> ApiResult<(StatusCode, Json<Done>)> {
    let course = ensure_author(&state.pool, &user, id).await?;
    ensure_class_writable(&state.pool, &user, body.class_id).await?;
    let mut tx = state.pool.begin().await?;
    let inserted = sqlx::query(
        "insert into course_classes (course_id, class_id) values ($1, $2) on conflict do nothing",
    )
    .bind(id)
    .bind(body.class_id)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(ApiError::conflict(
            "already_assigned",
            "Ce cours est déjà attribué à cette classe.",
        ));
    }
    if course.is_published {
        notify_course_available(&mut tx, id, &course.title, Some(body.class_id)).await?;
    }
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(Done {
            success: true,
            message: "Cours attribué à la classe.".into(),
        }),
    ))
}

/// Withdraw a course from a class. Roles: teacher of the class, admin.
#[utoipa::path(delete, path = "/api/courses/{id}/classes/{classId}", tag = "courses",
    params(("id" = i64, Path, description = "Course id"), ("classId" = i64, Path, description = "Class id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Done),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
async fn unassign_course(
    user: CurrentUser,
    State(state): State<AppState>,
    Path((id, class_id)): Path<(i64, i64)>,
) -> ApiResult<Json<Done>> {
    ensure_class_writable(&state.pool, &user, class_id).await?;
    let removed = sqlx::query("delete from course_classes where course_id = $1 and class_id = $2")
        .bind(id)
        .bind(class_id)
        .execute(&state.pool)
        .await?;
    if removed.rows_affected() == 0 {
        return Err(ApiError::not_found(
            "Ce cours n'est pas attribué à cette classe.",
        ));
    }
    Ok(Json(Done {
        success: true,
        message: "Cours retiré de la classe.".into(),
    }))
}
