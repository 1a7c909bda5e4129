//! Assessments (quiz, TP, exam, project): written by a teacher, published to classes
//! with opening and closing dates, taken by students in attempts (`attempts.rs`).

pub mod attempts;

use axum::{extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use nexus_auth::Role;
use nexus_database::assessments::{AssessmentKind, HelpMode, LatePolicy};
use nexus_web::{
    ApiError, ErrorBody, Json, Path, Query,
    auth::CurrentUser,
    error::ApiResult,
    pagination::{PageQuery, Pagination},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    access::ensure_class_writable,
    auth::Done,
    dates,
    notifications::{NewNotification, notify},
    questions::{self, Question, StudentQuestion, code, validate_questions},
    state::AppState,
    validate::{Validator, has_control},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_assessments, create_assessment))
        .routes(routes!(
            get_assessment,
            replace_assessment,
            update_settings,
            delete_assessment
        ))
        .routes(routes!(publish_assessment))
        .routes(routes!(unpublish_assessment))
        .merge(attempts::router())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssessmentRow {
    pub id: i64,
    pub course_id: Option<i64>,
    pub title: String,
    #[sqlx(rename = "type")]
    pub kind: AssessmentKind,
    pub description: Option<String>,
    pub questions: sqlx::types::Json<Vec<Question>>,
    pub max_score: Option<f64>,
    pub time_limit_minutes: Option<i32>,
    pub max_attempts: i32,
    pub late_policy: LatePolicy,
    pub answers_released: bool,
    pub help_mode: HelpMode,
    pub is_published: bool,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

pub const ASSESSMENT_COLUMNS: &str = "a.id, a.course_id, a.title, a.type, a.description, a.questions,
    a.max_score::float8 as max_score, a.time_limit_minutes, a.max_attempts, a.late_policy, a.answers_released,
    a.help_mode, a.is_published, a.created_by, a.created_at";

pub async fn load(executor: impl sqlx::PgExecutor<'_>, id: i64) -> ApiResult<AssessmentRow> {
    load_locked(executor, id, "").await
}

/// How a transaction holds an assessment's row while it decides on it.
pub const FOR_SHARE: &str = " for share";
pub const FOR_UPDATE: &str = " for update";

/// `load`, taking a row lock until the transaction ends: starting an attempt holds the
/// row `FOR_SHARE`, so an edit or a deletion (`FOR_UPDATE`, then the attempts check)
/// either happens entirely before the attempt (which then sees the new version, or no
/// assessment) or sees the attempt and is refused. Never the mix of both.
pub async fn load_locked(
    executor: impl sqlx::PgExecutor<'_>,
    id: i64,
    lock: &'static str,
) -> ApiResult<AssessmentRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {ASSESSMENT_COLUMNS} from assessments a where a.id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(executor)
    .await?
    .ok_or_else(|| ApiError::not_found("Évaluation introuvable."))
}

impl AssessmentRow {
    pub fn managed_by(&self, user: &CurrentUser) -> bool {
        user.role == Role::Admin || (user.role == Role::Teacher && self.created_by == Some(user.id))
    }
}

/// The author or an admin; anyone else gets a 404 (the assessment's existence is not
/// theirs to learn), except students, who reach published ones through other routes.
pub async fn load_managed(pool: &PgPool, user: &CurrentUser, id: i64) -> ApiResult<AssessmentRow> {
    let row = load(pool, id).await?;
    if row.managed_by(user) {
        Ok(row)
    } else {
        Err(ApiError::not_found("Évaluation introuvable."))
    }
}

/// One class an assessment is published to, with its window.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Publication {
    pub class_id: i64,
    pub opens_at: DateTime<Utc>,
    pub closes_at: Option<DateTime<Utc>>,
}

/// The whole assessment, answers included: for its author and admins.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeacherAssessment {
    pub id: i64,
    pub course_id: Option<i64>,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: AssessmentKind,
    pub description: Option<String>,
    pub questions: Vec<Question>,
    pub max_score: f64,
    pub time_limit_minutes: Option<i32>,
    pub max_attempts: i32,
    pub late_policy: LatePolicy,
    pub answers_released: bool,
    /// As the teacher set it (`default`: by the kind).
    pub help_mode: HelpMode,
    pub is_published: bool,
    pub publications: Vec<Publication>,
}

/// What a student sees before and during an attempt: no answers, no explanations; no
/// questions before the window opens, nor after it closes unless the teacher released
/// the answers (a student in the middle of an attempt keeps them).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StudentAssessment {
    pub id: i64,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: AssessmentKind,
    pub description: Option<String>,
    pub max_score: f64,
    pub time_limit_minutes: Option<i32>,
    pub max_attempts: i32,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    /// `upcoming` (not open yet), `open` or `closed`.
    pub availability: Availability,
    /// Whether `questions` holds the questions (see `availability`).
    pub questions_visible: bool,
    pub questions: Vec<StudentQuestion>,
    /// How ARIA helps during an attempt, `default` resolved by type (as ARIA does):
    /// `explain` (full explanations), `hints` (hints, no code) or `none` (questions on
    /// this assessment refused); never `default`.
    pub help_mode: HelpMode,
    /// `flag` (a late submission is graded and marked late) or `refuse`.
    pub late_policy: LatePolicy,
    /// Whether the teacher released the corrections (right or wrong per question).
    pub answers_released: bool,
    /// The student's own attempts, oldest first.
    pub attempts: Vec<AttemptBrief>,
}

/// One of a student's attempts, as listed with the assessment.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptBrief {
    pub id: i64,
    pub attempt_number: i32,
    /// `in_progress`, `submitted`, `graded` or `refused`.
    pub status: String,
    pub score: Option<f64>,
    pub max_score: Option<f64>,
    pub started_at: DateTime<Utc>,
    pub deadline_at: Option<DateTime<Utc>>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub graded_at: Option<DateTime<Utc>>,
    pub is_late: bool,
}

/// A student's attempts at an assessment, oldest first.
pub async fn attempts_of(
    executor: impl sqlx::PgExecutor<'_>,
    assessment_id: i64,
    student_id: i64,
) -> sqlx::Result<Vec<AttemptBrief>> {
    sqlx::query_as(
        "select id, attempt_number, status, score::float8 as score, max_score::float8 as max_score, started_at,
                deadline_at, submitted_at, graded_at, is_late
         from assessment_results where assessment_id = $1 and student_id = $2 order by attempt_number",
    )
    .bind(assessment_id)
    .bind(student_id)
    .fetch_all(executor)
    .await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Upcoming,
    Open,
    Closed,
}

impl AssessmentRow {
    pub fn max_score(&self) -> f64 {
        self.max_score
            .unwrap_or_else(|| self.questions.0.iter().map(|q| q.points).sum())
    }

    /// The student's view; `questions_visible` is decided by the caller (`may_see_questions`),
    /// `attempts` are the student's (`attempts_of`).
    pub fn for_student(
        &self,
        window: &Window,
        student_id: i64,
        questions_visible: bool,
        attempts: Vec<AttemptBrief>,
    ) -> StudentAssessment {
        StudentAssessment {
            id: self.id,
            title: self.title.clone(),
            kind: self.kind,
            description: self.description.clone(),
            max_score: self.max_score(),
            time_limit_minutes: self.time_limit_minutes,
            max_attempts: self.max_attempts,
            opens_at: Some(window.opens_at),
            closes_at: window.closes_at,
            availability: window.availability(Utc::now()),
            questions_visible,
            questions: if questions_visible {
                self.questions
                    .0
                    .iter()
                    .map(|q| q.for_student(student_id))
                    .collect()
            } else {
                Vec::new()
            },
            help_mode: self.help_mode.effective(self.kind),
            late_policy: self.late_policy,
            answers_released: self.answers_released,
            attempts,
        }
    }

    /// Outside an attempt, a student sees the questions while the window is open, and
    /// after it closes only if the teacher released the answers.
    pub fn may_see_questions(&self, window: &Window) -> bool {
        match window.availability(Utc::now()) {
            Availability::Upcoming => false,
            Availability::Open => true,
            Availability::Closed => self.answers_released,
        }
    }

    async fn for_teacher(self, pool: &PgPool) -> ApiResult<TeacherAssessment> {
        let publications = sqlx::query_as(
            "select class_id, opens_at, closes_at from assessment_classes where assessment_id = $1 order by class_id",
        )
        .bind(self.id)
        .fetch_all(pool)
        .await?;
        Ok(TeacherAssessment {
            max_score: self.max_score(),
            id: self.id,
            course_id: self.course_id,
            title: self.title,
            kind: self.kind,
            description: self.description,
            questions: self.questions.0,
            time_limit_minutes: self.time_limit_minutes,
            max_attempts: self.max_attempts,
            late_policy: self.late_policy,
            answers_released: self.answers_released,
            help_mode: self.help_mode,
            is_published: self.is_published,
            publications,
        })
    }
}

/// The most lenient window among the student's classes the assessment is published to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Window {
    pub opens_at: DateTime<Utc>,
    pub closes_at: Option<DateTime<Utc>>,
}

impl Window {
    pub fn availability(&self, now: DateTime<Utc>) -> Availability {
        if now < self.opens_at {
            Availability::Upcoming
        } else if self.closes_at.is_some_and(|c| c <= now) {
            Availability::Closed
        } else {
            Availability::Open
        }
    }
}

pub async fn student_window(
    pool: &PgPool,
    assessment_id: i64,
    student_id: i64,
) -> sqlx::Result<Option<Window>> {
    // No row when the student is in none of the classes (the `having`); an open-ended
    // publication makes the whole window open-ended.
    sqlx::query_as(
        "select min(p.opens_at) as opens_at,
                case when bool_or(p.closes_at is null) then null else max(p.closes_at) end as closes_at
         from assessment_classes p
         join class_members m on m.class_id = p.class_id
         join classes c on c.id = p.class_id
         where p.assessment_id = $1 and m.student_id = $2 and c.archived_at is null
         having count(*) > 0",
    )
    .bind(assessment_id)
    .bind(student_id)
    .fetch_optional(pool)
    .await
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssessmentSummary {
    pub id: i64,
    pub title: String,
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub kind: AssessmentKind,
    pub course_id: Option<i64>,
    pub max_score: Option<f64>,
    pub time_limit_minutes: Option<i32>,
    pub is_published: bool,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    /// For students: attempts used so far.
    pub attempts_used: Option<i64>,
    pub max_attempts: i32,
    /// For students: their latest attempt (none before the first).
    pub latest_attempt_id: Option<i64>,
    /// `in_progress`, `submitted`, `graded` or `refused`.
    pub latest_status: Option<String>,
    pub latest_score: Option<f64>,
    pub latest_max_score: Option<f64>,
    pub latest_deadline_at: Option<DateTime<Utc>>,
    pub latest_submitted_at: Option<DateTime<Utc>>,
    pub latest_graded_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentList {
    pub success: bool,
    pub assessments: Vec<AssessmentSummary>,
    pub pagination: Pagination,
}

/// Assessments: a teacher's own, all for an admin, those published to a student's
/// classes for a student. Roles: student, teacher, admin.
#[utoipa::path(get, path = "/api/assessments", tag = "assessments",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AssessmentList),
        (status = 403, body = ErrorBody),
    ))]
async fn list_assessments(
    user: CurrentUser,
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<AssessmentList>> {
    user.require(&[Role::Student, Role::Teacher, Role::Admin])?;
    let assessments = if user.role == Role::Student {
        sqlx::query_as(
            "select a.id, a.title, a.type, a.course_id, a.max_score::float8 as max_score, a.time_limit_minutes,
                    a.is_published, min(p.opens_at) as opens_at,
                    case when bool_or(p.closes_at is null) then null else max(p.closes_at) end as closes_at,
                    (select count(*) from assessment_results r where r.assessment_id = a.id and r.student_id = $1) as attempts_used,
                    a.max_attempts, l.id as latest_attempt_id, l.status as latest_status, l.score::float8 as latest_score,
                    l.max_score::float8 as latest_max_score, l.deadline_at as latest_deadline_at,
                    l.submitted_at as latest_submitted_at, l.graded_at as latest_graded_at
             from assessments a
             join assessment_classes p on p.assessment_id = a.id
             join class_members m on m.class_id = p.class_id and m.student_id = $1
             join classes c on c.id = p.class_id and c.archived_at is null
             left join lateral (select r.* from assessment_results r where r.assessment_id = a.id and r.student_id = $1
                                order by r.attempt_number desc limit 1) l on true
             group by a.id, l.id, l.status, l.score, l.max_score, l.deadline_at, l.submitted_at, l.graded_at
             order by closes_at nulls last, a.id",
        )
        .bind(user.id)
        .fetch_all(&state.pool)
        .await?
    } else {
        sqlx::query_as(
            "select a.id, a.title, a.type, a.course_id, a.max_score::float8 as max_score, a.time_limit_minutes,
                    a.is_published, null::timestamptz as opens_at, null::timestamptz as closes_at, null::bigint as attempts_used,
                    a.max_attempts, null::int8 as latest_attempt_id, null::text as latest_status, null::float8 as latest_score,
                    null::float8 as latest_max_score, null::timestamptz as latest_deadline_at,
                    null::timestamptz as latest_submitted_at, null::timestamptz as latest_graded_at
             from assessments a where $1 or a.created_by = $2 order by a.id desc",
        )
        .bind(user.role == Role::Admin)
        .bind(user.id)
        .fetch_all(&state.pool)
        .await?
    };
    let (assessments, pagination) = page.slice(assessments);
    Ok(Json(AssessmentList {
        success: true,
        assessments,
        pagination,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssessmentInput {
    pub title: String,
    /// `quiz`, `tp`, `exam` or `project`.
    // A string, so that an unknown word gets its field's French message; OpenAPI
    // publishes the words.
    #[serde(rename = "type")]
    #[schema(value_type = AssessmentKind)]
    pub kind: String,
    pub description: Option<String>,
    pub course_id: Option<i64>,
    pub questions: Vec<Question>,
    /// Minutes from the start of an attempt; none = untimed.
    pub time_limit_minutes: Option<i32>,
    /// Attempts per student (default 1).
    pub max_attempts: Option<i32>,
    /// `flag` (default: late submissions are graded and marked late) or `refuse`
    /// (kept for the teacher, not graded, the student gets 409).
    #[schema(value_type = Option<LatePolicy>)]
    pub late_policy: Option<String>,
    /// How ARIA may help during an attempt: `default` (by type), `explain`, `hints`, `none`.
    #[schema(value_type = Option<HelpMode>)]
    pub help_mode: Option<String>,
}

/// The settings a teacher may give on creation and change at any time.
fn check_settings(
    v: &mut Validator,
    max_attempts: Option<i32>,
    late_policy: Option<&str>,
    help_mode: Option<&str>,
) {
    v.check(
        max_attempts.is_none_or(|n| (1..=100).contains(&n)),
        "maxAttempts",
        "Entre 1 et 100 tentatives.",
    )
    .check(
        late_policy.is_none_or(|p| LatePolicy::parse(p).is_some()),
        "latePolicy",
        "flag ou refuse.",
    )
    .check(
        help_mode.is_none_or(|m| HelpMode::parse(m).is_some()),
        "helpMode",
        "default, explain, hints ou none.",
    );
}

/// The whole assessment as it now stands, as its author sees it after a change.
async fn saved(pool: &PgPool, id: i64) -> ApiResult<AssessmentSaved> {
    let assessment = load(pool, id).await?.for_teacher(pool).await?;
    Ok(AssessmentSaved {
        success: true,
        assessment,
    })
}

impl AssessmentInput {
    async fn validate(&self, pool: &PgPool, user: &CurrentUser) -> ApiResult<()> {
        let mut v = Validator::new();
        v.check(
            !self.title.trim().is_empty()
                && self.title.chars().count() <= 200
                && !has_control(&self.title),
            "title",
            "Doit contenir entre 1 et 200 caractères.",
        )
        .check(
            AssessmentKind::parse(&self.kind).is_some(),
            "type",
            "Type attendu : quiz, tp, exam ou project.",
        )
        .check(
            self.description
                .as_deref()
                .is_none_or(|d| d.chars().count() <= 10_000),
            "description",
            "Au plus 10 000 caractères.",
        )
        .check(
            self.time_limit_minutes
                .is_none_or(|t| (1..=1440).contains(&t)),
            "timeLimitMinutes",
            "Entre 1 et 1440 minutes.",
        );
        check_settings(
            &mut v,
            self.max_attempts,
            self.late_policy.as_deref(),
            self.help_mode.as_deref(),
        );
        validate_questions(&self.questions, &mut v);
        if let Some(course_id) = self.course_id {
            let visible =
                nexus_database::courses::sees_course(pool, user.role, user.id, course_id).await?;
            v.check(visible, "courseId", "Cours introuvable.");
        }
        v.finish()
    }

    fn max_score(&self) -> f64 {
        questions::round2(self.questions.iter().map(|q| q.points).sum())
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentSaved {
    pub success: bool,
    pub assessment: TeacherAssessment,
}

/// Write an assessment (a draft until published to a class). Roles: teacher, admin.
#[utoipa::path(post, path = "/api/assessments", tag = "assessments",
    request_body = AssessmentInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = AssessmentSaved),
        (status = 403, body = ErrorBody),
    ))]
async fn create_assessment(
    user: CurrentUser,
    State(state): State<AppState>,
    Json(body): Json<AssessmentInput>,
) -> ApiResult<(StatusCode, Json<AssessmentSaved>)> {
    user.require(&[Role::Teacher, Role::Admin])?;
    body.validate(&state.pool, &user).await?;
    code::check_questions(&state.code, &body.questions).await?;
    let id: i64 = sqlx::query_scalar(
        "insert into assessments (course_id, title, type, description, questions, max_score, time_limit_minutes,
                                  max_attempts, late_policy, help_mode, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, coalesce($8, 1), coalesce($9, 'flag'), coalesce($10, 'default'), $11)
         returning id",
    )
    .bind(body.course_id)
    .bind(body.title.trim())
    .bind(&body.kind)
    .bind(body.description.as_deref())
    .bind(sqlx::types::Json(&body.questions))
    .bind(body.max_score())
    .bind(body.time_limit_minutes)
    .bind(body.max_attempts)
    .bind(body.late_policy.as_deref())
    .bind(body.help_mode.as_deref())
    .bind(user.id)
    .fetch_one(&state.pool)
    .await?;
    Ok((StatusCode::CREATED, Json(saved(&state.pool, id).await?)))
}

/// `view` tells which shape this is: `teacher` (whole, with answers) or `student`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "view", rename_all = "lowercase")]
pub enum AssessmentView {
    Teacher(TeacherAssessment),
    Student(StudentAssessment),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentResponse {
    pub success: bool,
    pub assessment: AssessmentView,
}

/// An assessment: whole for its author and admins; without answers for a student of a
/// class it is published to. Roles: teacher (author), admin, student (published to them).
#[utoipa::path(get, path = "/api/assessments/{id}", tag = "assessments",
    params(("id" = i64, Path, description = "Assessment id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AssessmentResponse),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn get_assessment(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<AssessmentResponse>> {
    let row = load(&state.pool, id).await?;
    let assessment = if row.managed_by(&user) {
        AssessmentView::Teacher(row.for_teacher(&state.pool).await?)
    } else if user.role == Role::Student {
        let window = student_window(&state.pool, id, user.id)
            .await?
            .ok_or_else(|| ApiError::not_found("Évaluation introuvable."))?;
        let attempts = attempts_of(&state.pool, id, user.id).await?;
        let in_attempt = attempts.iter().any(|a| a.status == "in_progress");
        let visible = in_attempt || row.may_see_questions(&window);
        AssessmentView::Student(row.for_student(&window, user.id, visible, attempts))
    } else {
        return Err(ApiError::not_found("Évaluation introuvable."));
    };
    Ok(Json(AssessmentResponse {
        success: true,
        assessment,
    }))
}

async fn has_attempts(executor: impl sqlx::PgExecutor<'_>, id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("select exists(select 1 from assessment_results where assessment_id = $1)")
        .bind(id)
        .fetch_one(executor)
        .await
}

/// The author's (or an admin's) assessment, its row locked for a change, provided no
/// student has started it: the check and the change are one transaction.
async fn lock_unstarted(
    tx: &mut sqlx::PgConnection,
    user: &CurrentUser,
    id: i64,
) -> ApiResult<AssessmentRow> {
    let row = load_locked(&mut *tx, id, FOR_UPDATE).await?;
    if !row.managed_by(user) {
        return Err(ApiError::not_found("Évaluation introuvable."));
    }
    if has_attempts(&mut *tx, id).await? {
        return Err(locked_by_attempts());
    }
    Ok(row)
}

fn locked_by_attempts() -> ApiError {
    ApiError::conflict(
        "assessment_has_attempts",
        "Des élèves ont déjà commencé cette évaluation : ses questions ne peuvent plus changer.",
    )
}

/// Replace an assessment's questions and settings, as long as no student has started
/// it (grades must keep meaning what they meant). Roles: author, admin.
#[utoipa::path(put, path = "/api/assessments/{id}", tag = "assessments",
    params(("id" = i64, Path, description = "Assessment id")),
    request_body = AssessmentInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = AssessmentSaved),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
async fn replace_assessment(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<AssessmentInput>,
) -> ApiResult<Json<AssessmentSaved>> {
    load_managed(&state.pool, &user, id).await?;
    body.validate(&state.pool, &user).await?;
    code::check_questions(&state.code, &body.questions).await?;
    let mut tx = state.pool.begin().await?;
    lock_unstarted(&mut tx, &user, id).await?;
    sqlx::query(
        "update assessments set course_id = $2, title = $3, type = $4, description = $5, questions = $6, max_score = $7,
            time_limit_minutes = $8, max_attempts = coalesce($9, max_attempts), late_policy = coalesce($10, late_policy),
            help_mode = coalesce($11, help_mode)
         where id = $1",
    )
    .bind(id)
    .bind(body.course_id)
    .bind(body.title.trim())
    .bind(&body.kind)
    .bind(body.description.as_deref())
    .bind(sqlx::types::Json(&body.questions))
    .bind(body.max_score())
    .bind(body.time_limit_minutes)
    .bind(body.max_attempts)
    .bind(body.late_policy.as_deref())
    .bind(body.help_mode.as_deref())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(saved(&state.pool, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsUpdate {
    /// Let students see the correct answers and explanations of their graded attempts.
    pub answers_released: Option<bool>,
    pub max_attempts: Option<i32>,
    #[schema(value_type = Option<LatePolicy>)]
    pub late_policy: Option<String>,
    #[schema(value_type = Option<HelpMode>)]
    pub help_mode: Option<String>,
}

/// Change settings that may change at any time (releasing answers, attempts, late
/// policy, ARIA's help mode). Roles: author, admin.
#[utoipa::path(patch, path = "/api/assessments/{id}", tag = "assessments",
    params(("id" = i64, Path, description = "Assessment id")),
    request_body = SettingsUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, body = AssessmentSaved),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn update_settings(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<SettingsUpdate>,
) -> ApiResult<Json<AssessmentSaved>> {
    load_managed(&state.pool, &user, id).await?;
    let mut v = Validator::new();
    check_settings(
        &mut v,
        body.max_attempts,
        body.late_policy.as_deref(),
        body.help_mode.as_deref(),
    );
    v.finish()?;
    sqlx::query(
        "update assessments set answers_released = coalesce($2, answers_released), max_attempts = coalesce($3, max_attempts),
            late_policy = coalesce($4, late_policy), help_mode = coalesce($5, help_mode) where id = $1",
    )
    .bind(id)
    .bind(body.answers_released)
    .bind(body.max_attempts)
    .bind(body.late_policy.as_deref())
    .bind(body.help_mode.as_deref())
    .execute(&state.pool)
    .await?;
    Ok(Json(saved(&state.pool, id).await?))
}

/// Delete an assessment nobody has started. Roles: author, admin.
#[utoipa::path(delete, path = "/api/assessments/{id}", tag = "assessments",
    params(("id" = i64, Path, description = "Assessment id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Done),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
async fn delete_assessment(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<Done>> {
    let mut tx = state.pool.begin().await?;
    lock_unstarted(&mut tx, &user, id).await?;
    sqlx::query("delete from assessments where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Json(Done {
        success: true,
        message: "Évaluation supprimée.".into(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishRequest {
    pub class_id: i64,
    /// Default: now.
    pub opens_at: Option<DateTime<Utc>>,
    /// Default: never closes.
    pub closes_at: Option<DateTime<Utc>>,
}

/// Publish to one of one's classes (or change its window there); the class's students
/// are notified. Roles: author who teaches the class, admin.
#[utoipa::path(post, path = "/api/assessments/{id}/publish", tag = "assessments",
    params(("id" = i64, Path, description = "Assessment id")),
    request_body = PublishRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = AssessmentSaved),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
async fn publish_assessment(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<PublishRequest>,
) -> ApiResult<Json<AssessmentSaved>> {
    let row = load_managed(&state.pool, &user, id).await?;
    ensure_class_writable(&state.pool, &user, body.class_id).await?;
    let opens_at = body.opens_at.unwrap_or_else(Utc::now);
    Validator::new()
        .check(
            body.closes_at.is_none_or(|c| c > opens_at),
            "closesAt",
            "La fermeture doit suivre l'ouverture.",
        )
        .finish()?;
    let mut tx = state.pool.begin().await?;
    let first_time: bool = sqlx::query_scalar(
        "insert into assessment_classes (assessment_id, class_id, opens_at, closes_at) values ($1, $2, $3, $4)
         on conflict (assessment_id, class_id) do update set opens_at = excluded.opens_at, closes_at = excluded.closes_at,
            due_soon_notified_at = case when assessment_classes.closes_at is distinct from excluded.closes_at
                                        then null else assessment_classes.due_soon_notified_at end
         returning xmax = 0",
    )
    .bind(id)
    .bind(body.class_id)
    .bind(opens_at)
    .bind(body.closes_at)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("update assessments set is_published = true where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if first_time {
        let students: Vec<i64> =
            sqlx::query_scalar("select student_id from class_members where class_id = $1")
                .bind(body.class_id)
                .fetch_all(&mut *tx)
                .await?;
        let due = body
            .closes_at
            .map(|c| format!(" À rendre avant le {}.", dates::date_time(c)))
            .unwrap_or_default();
        notify(
            &mut tx,
            &students,
            &NewNotification {
                kind: "assessment_published",
                title: format!("Nouvelle évaluation : {}", row.title),
                body: format!("Une évaluation ({}) est disponible.{due}", row.kind.label()),
                data: json!({ "assessmentId": id, "classId": body.class_id, "closesAt": body.closes_at }),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Json(saved(&state.pool, id).await?))
}

/// Withdraw an assessment from a class (attempts already made are kept).
/// Roles: author who teaches the class, admin.
#[utoipa::path(delete, path = "/api/assessments/{id}/classes/{classId}", tag = "assessments",
    params(("id" = i64, Path, description = "Assessment id"), ("classId" = i64, Path, description = "Class id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Done),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
async fn unpublish_assessment(
    user: CurrentUser,
    State(state): State<AppState>,
    Path((id, class_id)): Path<(i64, i64)>,
) -> ApiResult<Json<Done>> {
    load_managed(&state.pool, &user, id).await?;
    ensure_class_writable(&state.pool, &user, class_id).await?;
    let mut tx = state.pool.begin().await?;
    let removed =
        sqlx::query("delete from assessment_classes where assessment_id = $1 and class_id = $2")
            .bind(id)
            .bind(class_id)
            .execute(&mut *tx)
            .await?;
    if removed.rows_affected() == 0 {
        return Err(ApiError::not_found(
            "Cette évaluation n'est pas publiée dans cette classe.",
        ));
    }
    sqlx::query(
        "update assessments set is_published = exists(select 1 from assessment_classes where assessment_id = $1) where id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(Done {
        success: true,
        message: "Évaluation retirée de la classe.".into(),
    }))
}

/// Notifies the students who have not submitted of assessments closing within 24 hours,
/// once per publication. Run periodically by the background worker.
pub async fn notify_due_soon(pool: &PgPool) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await?;
    let due: Vec<(i64, i64, String, DateTime<Utc>)> = sqlx::query_as(
        "select p.assessment_id, p.class_id, a.title, p.closes_at from assessment_classes p
         join assessments a on a.id = p.assessment_id
         where p.due_soon_notified_at is null and p.closes_at > now() and p.closes_at <= now() + interval '24 hours'
           and p.opens_at <= now()
         for update of p skip locked",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (assessment_id, class_id, title, closes_at) in &due {
        let students: Vec<i64> = sqlx::query_scalar(
            "select m.student_id from class_members m where m.class_id = $1
             and not exists(select 1 from assessment_results r where r.assessment_id = $2 and r.student_id = m.student_id
                            and r.status <> 'in_progress')",
        )
        .bind(class_id)
        .bind(assessment_id)
        .fetch_all(&mut *tx)
        .await?;
        notify(
            &mut tx,
            &students,
            &NewNotification {
                kind: "assessment_due_soon",
                title: format!("À rendre bientôt : {title}"),
                body: format!("Cette évaluation ferme le {}.", dates::date_time(*closes_at)),
                data: json!({ "assessmentId": assessment_id, "classId": class_id, "closesAt": closes_at }),
            },
        )
        .await?;
        sqlx::query("update assessment_classes set due_soon_notified_at = now() where assessment_id = $1 and class_id = $2")
            .bind(assessment_id)
            .bind(class_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(due.len())
}
