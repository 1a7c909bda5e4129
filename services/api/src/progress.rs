//! Progress: a student records how far they are in a course and which sections they
//! have completed; parents see their children's, teachers their classes', admins all.

use axum::{extract::State, response::Response};
use chrono::{DateTime, Utc};
use nexus_auth::Role;
use nexus_web::{
    ApiError, ErrorBody, Json, Path,
    auth::CurrentUser,
    cache::{Fresh, Keep, json_body, json_bytes},
    error::ApiResult,
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    access::{ensure_can_view_student, ensure_class_owner},
    courses::{content::CourseContent, visible_course},
    state::AppState,
    validate::Validator,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(record_progress))
        .routes(routes!(student_progress))
        .routes(routes!(class_progress))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProgressUpdate {
    /// 0 to 100. When absent, it is computed from the completed sections.
    pub progress_percentage: Option<i32>,
    /// A section of the course the student worked on.
    pub section_id: Option<String>,
    /// Marks `sectionId` completed (or not).
    pub section_completed: Option<bool>,
    /// Time spent since the last update, in seconds (added up; at most 4 hours at once).
    pub time_spent_seconds: Option<i64>,
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CourseProgress {
    pub course_id: i64,
    pub title: String,
    pub progress_percentage: i32,
    pub time_spent_seconds: i64,
    pub started_at: DateTime<Utc>,
    pub last_accessed: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub sections_completed: i64,
    /// Ids of the completed sections.
    pub completed_sections: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgressResponse {
    pub success: bool,
    pub progress: CourseProgress,
}

/// The rows of [`CourseProgress`], to complete with a `where` on `p` (student_progress)
/// and `c` (courses). Completed sections come from `section_progress_done_idx` alone.
pub(crate) const PROGRESS_VIEW: &str = "select p.course_id, c.title, p.progress_percentage, p.time_spent_seconds, p.started_at,
        p.last_accessed, p.completed_at, done.n as sections_completed,
        coalesce(done.ids, '{}') as completed_sections
    from student_progress p join courses c on c.id = p.course_id
    cross join lateral (select count(*) as n, array_agg(s.section_id order by s.section_id) as ids
        from section_progress s
        where s.student_id = p.student_id and s.course_id = p.course_id and s.completed_at is not null) done";

/// Record one's progress in a course (published, or visible to the student).
/// Roles: student.
#[utoipa::path(put, path = "/api/courses/{id}/progress", tag = "progress",
    params(("id" = i64, Path, description = "Course id")),
    request_body = ProgressUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ProgressResponse),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn record_progress(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(course_id): Path<i64>,
    Json(body): Json<ProgressUpdate>,
) -> ApiResult<Json<ProgressResponse>> {
    user.require(&[Role::Student])?;
    let course = visible_course(&state.pool, &user, course_id).await?;
    let content: CourseContent =
        serde_json::from_str(&course.content.0).unwrap_or(CourseContent { chapters: vec![] });
    let sections = content.section_ids();
    let mut v = Validator::new();
    v.check(
        body.progress_percentage
            .is_none_or(|p| (0..=100).contains(&p)),
        "progressPercentage",
        "Entre 0 et 100.",
    )
    .check(
        body.time_spent_seconds
            .is_none_or(|t| (0..=4 * 3600).contains(&t)),
        "timeSpentSeconds",
        "Entre 0 et 14 400 secondes.",
    )
    .check(
        body.section_id
            .as_deref()
            .is_none_or(|s| sections.contains(&s)),
        "sectionId",
        "Cette section n'existe pas dans ce cours.",
    )
    .check(
        body.section_completed.is_none() || body.section_id.is_some(),
        "sectionId",
        "Précisez la section.",
    );
    v.finish()?;
    let spent = body.time_spent_seconds.unwrap_or(0);
    let mut tx = state.pool.begin().await?;
    // The course may be deleted meanwhile: hold it (a deletion waits for this update,
    // then removes it with the course) or answer 404, never a foreign-key error.
    let still_there: Option<i32> =
        sqlx::query_scalar("select 1 from courses where id = $1 for key share")
            .bind(course_id)
            .fetch_optional(&mut *tx)
            .await?;
    if still_there.is_none() {
        return Err(ApiError::not_found("Cours introuvable."));
    }
    sqlx::query(
        "insert into student_progress (student_id, course_id) values ($1, $2) on conflict (student_id, course_id) do nothing",
    )
    .bind(user.id)
    .bind(course_id)
    .execute(&mut *tx)
    .await?;
    // One update of a student's progress in a course at a time: the percentage is
    // computed from the sections stored, and two completions at once must both count.
    sqlx::query(
        "select 1 from student_progress where student_id = $1 and course_id = $2 for update",
    )
    .bind(user.id)
    .bind(course_id)
    .execute(&mut *tx)
    .await?;
    if let Some(section) = &body.section_id {
        sqlx::query(
            "insert into section_progress (student_id, course_id, section_id, completed_at, time_spent_seconds)
             values ($1, $2, $3, case when $4 then now() end, $5)
             on conflict (student_id, course_id, section_id) do update set
                completed_at = case when $4 is null then section_progress.completed_at
                                    when $4 then coalesce(section_progress.completed_at, now()) else null end,
                time_spent_seconds = section_progress.time_spent_seconds + $5,
                last_accessed = now()",
        )
        .bind(user.id)
        .bind(course_id)
        .bind(section)
        .bind(body.section_completed)
        .bind(spent)
        .execute(&mut *tx)
        .await?;
    }
    let percentage = match body.progress_percentage {
        Some(p) => Some(p),
        None if body.section_id.is_some() && !sections.is_empty() => {
            let done: i64 = sqlx::query_scalar(
                "select count(*) from section_progress where student_id = $1 and course_id = $2
                 and completed_at is not null and section_id = any($3)",
            )
            .bind(user.id)
            .bind(course_id)
            .bind(&sections)
            .fetch_one(&mut *tx)
            .await?;
            Some(i32::try_from(done * 100 / sections.len() as i64).unwrap_or(100))
        }
        None => None,
    };
    sqlx::query(
        "update student_progress set
            progress_percentage = coalesce($3, progress_percentage),
            time_spent_seconds = time_spent_seconds + $4,
            last_accessed = now(),
            completed_at = case when coalesce($3, progress_percentage) = 100 then coalesce(completed_at, now()) else null end
         where student_id = $1 and course_id = $2",
    )
    .bind(user.id)
    .bind(course_id)
    .bind(percentage)
    .bind(spent)
    .execute(&mut *tx)
    .await?;
    // Read back inside the transaction: once it commits the course may be deleted.
    let progress = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{PROGRESS_VIEW} where p.student_id = $1 and p.course_id = $2"
    )))
    .bind(user.id)
    .bind(course_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(ProgressResponse {
        success: true,
        progress,
    }))
}

pub async fn progress_of(pool: &PgPool, student_id: i64) -> sqlx::Result<Vec<CourseProgress>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{PROGRESS_VIEW} where p.student_id = $1 and c.is_published order by p.last_accessed desc"
    )))
    .bind(student_id)
    .fetch_all(pool)
    .await
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StudentProgressResponse {
    pub success: bool,
    pub student_id: i64,
    pub courses: Vec<CourseProgress>,
}

/// A student's progress in every course they started. Roles: the student, their
/// parents, their teachers, admins.
#[utoipa::path(get, path = "/api/students/{id}/progress", tag = "progress",
    params(("id" = i64, Path, description = "Student id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = StudentProgressResponse),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn student_progress(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<StudentProgressResponse>> {
    ensure_can_view_student(&state.pool, &user, id).await?;
    Ok(Json(StudentProgressResponse {
        success: true,
        student_id: id,
        courses: progress_of(&state.pool, id).await?,
    }))
}

/// A course assigned to the class: a column of its progress table.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClassCourse {
    pub id: i64,
    pub title: String,
}

// Read from the statement's JSON rows (snake_case, as the columns): hence `Deserialize`
// and the rename for serializing only.
/// A student of the class: a row of its progress table.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all(serialize = "camelCase"))]
#[schema(rename_all = "camelCase")]
pub struct ClassStudentProgress {
    pub id: i64,
    pub name: String,
    /// Their latest activity in the class's courses (none yet: null).
    pub last_accessed: Option<DateTime<Utc>>,
    /// Their percentage in each course, in the order of `courses` (0 when not started).
    pub progress: Vec<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClassProgressResponse {
    pub success: bool,
    /// The courses assigned to the class, by id.
    pub courses: Vec<ClassCourse>,
    /// The class's students (by last name, first name), each with one percentage per
    /// course.
    pub students: Vec<ClassStudentProgress>,
}

/// The table of [`ClassProgressResponse`] in one statement, both lists as JSON: 25
/// students × 25 courses are 25 rows of 25 numbers, not 625 rows that repeat names and
/// titles (which cost the API ~1 ms a page to decode and write, 158 KB). Each student's
/// row reads their `student_progress` rows by (student, course) in the courses' order.
const CLASS_PROGRESS: &str = "with assigned as (
        select c.id, c.title from course_classes cc join courses c on c.id = cc.course_id
        where cc.class_id = $1),
    ids as (select coalesce(array_agg(id order by id), '{}') as ids from assigned)
    select (select coalesce(json_agg(a order by a.id), '[]') from assigned a) as courses,
           (select coalesce(json_agg(s order by s.last_name, s.first_name, s.id), '[]') from (
                select u.id, u.first_name || ' ' || u.last_name as name, u.last_name, u.first_name,
                       r.last_accessed, coalesce(r.progress, '{}') as progress
                from class_members m join users u on u.id = m.student_id
                cross join ids
                cross join lateral (
                    select max(p.last_accessed) as last_accessed,
                           array_agg(coalesce(p.progress_percentage, 0) order by c.n) as progress
                    from unnest(ids.ids) with ordinality c(id, n)
                    left join student_progress p on p.student_id = u.id and p.course_id = c.id) r
                where m.class_id = $1) s) as students";

#[derive(sqlx::FromRow)]
struct ClassProgressTable {
    courses: sqlx::types::Json<Vec<ClassCourse>>,
    students: sqlx::types::Json<Vec<ClassStudentProgress>>,
}

/// The progress of a class's students in the courses assigned to it.
/// Roles: the class's teacher, admin.
#[utoipa::path(get, path = "/api/classes/{id}/progress", tag = "progress",
    params(("id" = i64, Path, description = "Class id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ClassProgressResponse),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn class_progress(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Fresh(fresh): Fresh,
) -> ApiResult<Response> {
    // One connection for the check and, on a miss, the read: one checkout (and sqlx's
    // ping when it comes back) instead of two.
    let mut conn = state.pool.acquire().await?;
    ensure_class_owner(&mut *conn, &user, id).await?;
    let read = async {
        let table: ClassProgressTable = sqlx::query_as(CLASS_PROGRESS)
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        let body = ClassProgressResponse {
            success: true,
            courses: table.courses.0,
            students: table.students.0,
        };
        let body = json_bytes(&body)?;
        Ok::<_, ApiError>((body, Keep::Yes))
    };
    let body = (state.class_progress).get_or_read(id, fresh, read).await?;
    Ok(json_body(body))
}
