//! A student's progress report: what the printable page of the web app shows (the
//! browser prints it, or saves it as PDF, with the page's print styles).

use axum::extract::State;
use chrono::{DateTime, Utc};
use nexus_web::{
    ErrorBody, Json, Path, access::ensure_can_view_student, auth::CurrentUser, error::ApiResult,
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    assessments::attempts::student_average,
    dashboard::StudentInfo,
    progress::{CourseProgress, progress_of},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(student_report))
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportResult {
    pub assessment_id: i64,
    pub title: String,
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub kind: String,
    /// The best graded attempt.
    pub score: f64,
    pub max_score: f64,
    pub graded_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StudentReport {
    pub success: bool,
    pub student: StudentInfo,
    /// The classes the student is in (names).
    pub classes: Vec<String>,
    pub courses: Vec<CourseProgress>,
    pub results: Vec<ReportResult>,
    /// Mean of graded attempts' score / max score, in percent.
    pub average_score_percentage: Option<f64>,
    pub generated_at: DateTime<Utc>,
}

/// A student's progress report: courses, graded results (best attempt per assessment)
/// and average. Roles: the student, their parents, their teachers, admins.
#[utoipa::path(get, path = "/api/students/{id}/report", tag = "progress",
    params(("id" = i64, Path, description = "Student id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = StudentReport),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn student_report(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<StudentReport>> {
    ensure_can_view_student(&state.pool, &user, id).await?;
    let pool = &state.pool;
    let student = sqlx::query_as(
        "select u.id, u.first_name, u.last_name, p.class_level from users u
         left join student_profiles p on p.user_id = u.id where u.id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await?;
    let classes = sqlx::query_scalar(
        "select c.name from class_members m join classes c on c.id = m.class_id
         where m.student_id = $1 order by c.archived_at is not null, c.name",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let results = sqlx::query_as(
        "select distinct on (a.id) a.id as assessment_id, a.title, a.type, r.score::float8 as score,
                r.max_score::float8 as max_score, r.graded_at
         from assessment_results r join assessments a on a.id = r.assessment_id
         where r.student_id = $1 and r.status = 'graded' and r.score is not null and r.max_score is not null
         order by a.id, r.score desc",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(Json(StudentReport {
        success: true,
        student,
        classes,
        courses: progress_of(pool, id).await?,
        results,
        average_score_percentage: student_average(pool, id).await?,
        generated_at: Utc::now(),
    }))
}
