//! Attempts: a student starts one inside the assessment's window and within the attempt
//! limit, submits answers before the deadline (the server's clock decides), gets the
//! objective questions graded at once; the teacher grades the rest and the result is
//! final. Students never receive correct answers unless the teacher releases them.

use std::collections::BTreeMap;

use axum::{extract::State, http::StatusCode};
use chrono::{DateTime, Duration, Utc};
use nexus_auth::Role;
use nexus_database::assessments::LatePolicy;
use nexus_web::{
    ApiError, ErrorBody, Json, Path, Query,
    auth::CurrentUser,
    error::ApiResult,
    pagination::{PageQuery, Pagination},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    AssessmentRow, FOR_SHARE, StudentAssessment, attempts_of, load, load_locked, load_managed,
    student_window,
};
use crate::{
    access,
    notifications::{NewNotification, notify, with_parents},
    questions::{
        GradeStatus, Question, QuestionGrade, TestResult, answer_shape_ok, code, grade, round2,
    },
    state::AppState,
    validate::Validator,
};

/// Submissions this long after the deadline still count as on time (network, clocks).
pub const GRACE: Duration = Duration::seconds(30);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_attempt, list_attempts))
        .routes(routes!(get_attempt))
        .routes(routes!(submit_attempt))
        .routes(routes!(save_answers))
        .routes(routes!(grade_attempt))
        .routes(routes!(run_code))
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct AttemptRow {
    id: i64,
    assessment_id: i64,
    student_id: i64,
    attempt_number: i32,
    status: String,
    answers: sqlx::types::Json<BTreeMap<String, Value>>,
    breakdown: sqlx::types::Json<BTreeMap<String, QuestionGrade>>,
    score: Option<f64>,
    max_score: Option<f64>,
    started_at: DateTime<Utc>,
    deadline_at: Option<DateTime<Utc>>,
    submitted_at: Option<DateTime<Utc>>,
    is_late: bool,
    feedback: Option<String>,
    graded_at: Option<DateTime<Utc>>,
}

const ATTEMPT_COLUMNS: &str = "id, assessment_id, student_id, attempt_number, status, answers, breakdown,
    score::float8 as score, max_score::float8 as max_score, started_at, deadline_at, submitted_at, is_late, feedback, graded_at";

/// One question of an attempt as shown back: the answer given and its grade; the correct
/// answer and explanation only for staff, or for the student once released and graded.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuestionResult {
    pub question_id: String,
    pub answer: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grade: Option<QuestionGrade>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct_answer: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    pub id: i64,
    pub assessment_id: i64,
    pub student_id: i64,
    pub attempt_number: i32,
    /// `in_progress`, `submitted` (waiting for the teacher), `graded` (final) or
    /// `refused` (late, kept for the teacher).
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub deadline_at: Option<DateTime<Utc>>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub is_late: bool,
    /// Points so far (objective questions until the teacher has graded).
    pub score: Option<f64>,
    pub max_score: Option<f64>,
    pub feedback: Option<String>,
    pub graded_at: Option<DateTime<Utc>>,
    pub results: Vec<QuestionResult>,
    /// While the attempt is in progress: the answers saved so far by
    /// `PUT /api/attempts/{id}/answers`, by question id (to its student and staff).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub draft_answers: Option<BTreeMap<String, Value>>,
}

impl AttemptRow {
    fn view(&self, assessment: &AssessmentRow, staff: bool) -> AttemptView {
        let reveal = staff || (assessment.answers_released && self.status == "graded");
        // Right or wrong per question is itself an answer: students see it with the
        // corrections, once the teacher releases them (the total score they see at once).
        let results = if self.status == "in_progress" && !staff {
            Vec::new()
        } else {
            assessment
                .questions
                .0
                .iter()
                .map(|q| QuestionResult {
                    question_id: q.id.clone(),
                    answer: self.answers.0.get(&q.id).cloned().unwrap_or(Value::Null),
                    grade: reveal
                        .then(|| self.breakdown.0.get(&q.id).cloned())
                        .flatten(),
                    correct_answer: reveal.then(|| q.correct_answer()).filter(|a| !a.is_null()),
                    explanation: if reveal { q.explanation.clone() } else { None },
                })
                .collect()
        };
        AttemptView {
            id: self.id,
            assessment_id: self.assessment_id,
            student_id: self.student_id,
            attempt_number: self.attempt_number,
            status: self.status.clone(),
            started_at: self.started_at,
            deadline_at: self.deadline_at,
            submitted_at: self.submitted_at,
            is_late: self.is_late,
            score: self.score,
            max_score: self.max_score,
            feedback: self.feedback.clone(),
            graded_at: self.graded_at,
            results,
            draft_answers: (self.status == "in_progress").then(|| self.answers.0.clone()),
        }
    }
}

async fn load_attempt(conn: &mut PgConnection, id: i64, lock: bool) -> ApiResult<AttemptRow> {
    let lock = if lock { " for update" } else { "" };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {ATTEMPT_COLUMNS} from assessment_results where id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| ApiError::not_found("Tentative introuvable."))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptStarted {
    pub success: bool,
    pub attempt: AttemptView,
    pub assessment: StudentAssessment,
}

/// Start an attempt (or get back the one in progress). Refused outside the window
/// (409 `assessment_not_open` / `assessment_closed`) and past the attempt limit (409
/// `no_attempts_left`). The deadline is the time limit or the closing, whichever comes
/// first. Roles: student of a class the assessment is published to.
#[utoipa::path(post, path = "/api/assessments/{id}/attempts", tag = "assessments",
    params(("id" = i64, Path, description = "Assessment id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AttemptStarted, description = "The attempt already in progress"),
        (status = 201, body = AttemptStarted),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
async fn start_attempt(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<(StatusCode, Json<AttemptStarted>)> {
    user.require(&[Role::Student])?;
    let window = student_window(&state.pool, id, user.id)
        .await?
        .ok_or_else(|| ApiError::not_found("Évaluation introuvable."))?;
    let mut tx = state.pool.begin().await?;
    // One student's attempts are created one at a time.
    sqlx::query("select pg_advisory_xact_lock($1, $2)")
        .bind(i32::try_from(id % i64::from(i32::MAX)).unwrap_or_default())
        .bind(i32::try_from(user.id % i64::from(i32::MAX)).unwrap_or_default())
        .execute(&mut *tx)
        .await?;
    // The version the student is shown is the version they are graded against: an edit
    // or a deletion waits for this attempt, then sees it and is refused (or came first).
    let assessment = load_locked(&mut *tx, id, FOR_SHARE).await?;
    let existing: Option<AttemptRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {ATTEMPT_COLUMNS} from assessment_results where assessment_id = $1 and student_id = $2 and status = 'in_progress'"
    )))
    .bind(id)
    .bind(user.id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(attempt) = existing {
        let attempts = attempts_of(&mut *tx, id, user.id).await?;
        tx.commit().await?;
        let started = AttemptStarted {
            success: true,
            attempt: attempt.view(&assessment, false),
            assessment: assessment.for_student(&window, user.id, true, attempts),
        };
        return Ok((StatusCode::OK, Json(started)));
    }
    let now = Utc::now();
    if window.opens_at > now {
        return Err(ApiError::conflict(
            "assessment_not_open",
            "Cette évaluation n'est pas encore ouverte.",
        ));
    }
    if window.closes_at.is_some_and(|c| c <= now) {
        return Err(ApiError::conflict(
            "assessment_closed",
            "Cette évaluation est fermée.",
        ));
    }
    let used: i64 = sqlx::query_scalar(
        "select count(*) from assessment_results where assessment_id = $1 and student_id = $2",
    )
    .bind(id)
    .bind(user.id)
    .fetch_one(&mut *tx)
    .await?;
    if used >= i64::from(assessment.max_attempts) {
        return Err(ApiError::conflict(
            "no_attempts_left",
            "Vous avez utilisé toutes vos tentatives.",
        ));
    }
    let by_time_limit = assessment
        .time_limit_minutes
        .map(|m| now + Duration::minutes(i64::from(m)));
    let deadline = match (by_time_limit, window.closes_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let attempt_id: i64 = sqlx::query_scalar(
        "insert into assessment_results (assessment_id, student_id, attempt_number, status, started_at, deadline_at, max_score)
         values ($1, $2, $3, 'in_progress', $4, $5, $6) returning id",
    )
    .bind(id)
    .bind(user.id)
    .bind(i32::try_from(used + 1).unwrap_or(i32::MAX))
    .bind(now)
    .bind(deadline)
    .bind(assessment.max_score())
    .fetch_one(&mut *tx)
    .await?;
    let attempt = load_attempt(&mut tx, attempt_id, false).await?;
    let attempts = attempts_of(&mut *tx, id, user.id).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(AttemptStarted {
            success: true,
            attempt: attempt.view(&assessment, false),
            assessment: assessment.for_student(&window, user.id, true, attempts),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// Answers by question id: an option index (single choice), indices (multiple
    /// choice), a boolean, a string (short answer, code, free text), a number or string
    /// (numeric), item ids in order (ordering). Missing questions count as unanswered.
    #[schema(value_type = Object)]
    pub answers: BTreeMap<String, Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptResponse {
    pub success: bool,
    pub attempt: AttemptView,
}

/// Submit an attempt. Objective questions are graded at once; the attempt is final when
/// nothing is left for the teacher. After the deadline (30 s grace): with the `flag`
/// policy the submission is graded and marked late; with `refuse` it is kept, not
/// graded, and the answer is 409 `attempt_late`. Roles: the student who started it.
#[utoipa::path(post, path = "/api/attempts/{id}/submit", tag = "assessments",
    params(("id" = i64, Path, description = "Attempt id")),
    request_body = Submission,
    security(("bearer" = [])),
    responses(
        (status = 200, body = AttemptResponse),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
async fn submit_attempt(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<Submission>,
) -> ApiResult<Json<AttemptResponse>> {
    user.require(&[Role::Student])?;
    // Code questions with tests run in the sandbox first, outside the transaction: a
    // run takes up to seconds and must not hold the attempt's row lock (nor a pooled
    // connection) meanwhile. The questions cannot change once an attempt exists.
    let mut code_grades = {
        let mut conn = state.pool.acquire().await?;
        let attempt = load_attempt(&mut conn, id, false).await?;
        drop(conn);
        if attempt.student_id != user.id {
            return Err(ApiError::not_found("Tentative introuvable."));
        }
        let assessment = load(&state.pool, attempt.assessment_id).await?;
        check_answers(&assessment.questions.0, &body.answers)?;
        let mut grades = BTreeMap::new();
        if attempt.status == "in_progress" {
            for q in &assessment.questions.0 {
                if let Some(spec) = code::spec(q) {
                    let answer = body.answers.get(&q.id).unwrap_or(&Value::Null);
                    grades.insert(q.id.clone(), state.code.grade(q, &spec, answer).await);
                }
            }
        }
        grades
    };
    let mut tx = state.pool.begin().await?;
    let attempt = load_attempt(&mut tx, id, true).await?;
    if attempt.student_id != user.id {
        return Err(ApiError::not_found("Tentative introuvable."));
    }
    if attempt.status != "in_progress" {
        return Err(ApiError::conflict(
            "already_submitted",
            "Cette tentative a déjà été rendue.",
        ));
    }
    // On the transaction's connection: taking a second one from the pool while holding
    // the first starves the pool under load.
    let assessment = load(&mut *tx, attempt.assessment_id).await?;
    check_answers(&assessment.questions.0, &body.answers)?;
    let now = Utc::now();
    let late = attempt.deadline_at.is_some_and(|d| now > d + GRACE);
    if late && assessment.late_policy == LatePolicy::Refuse {
        sqlx::query(
            "update assessment_results set answers = $2, status = 'refused', submitted_at = $3, is_late = true where id = $1",
        )
        .bind(id)
        .bind(sqlx::types::Json(&body.answers))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        return Err(ApiError::conflict(
            "attempt_late",
            "Le délai est dépassé : vos réponses sont conservées et transmises à votre enseignant, mais ne sont pas notées.",
        ));
    }
    let breakdown: BTreeMap<String, QuestionGrade> = assessment
        .questions
        .0
        .iter()
        .map(|q| {
            let graded = code_grades
                .remove(&q.id)
                .unwrap_or_else(|| grade(q, body.answers.get(&q.id).unwrap_or(&Value::Null)));
            (q.id.clone(), graded)
        })
        .collect();
    let score = round2(breakdown.values().map(|g| g.points).sum());
    let final_now = !breakdown
        .values()
        .any(|g| g.status == GradeStatus::PendingReview);
    sqlx::query(
        "update assessment_results set answers = $2, breakdown = $3, score = $4, status = $5, submitted_at = $6,
            is_late = $7, completed_at = $6, graded_at = case when $8 then $6 end
         where id = $1",
    )
    .bind(id)
    .bind(sqlx::types::Json(&body.answers))
    .bind(sqlx::types::Json(&breakdown))
    .bind(score)
    .bind(if final_now { "graded" } else { "submitted" })
    .bind(now)
    .bind(late)
    .bind(final_now)
    .execute(&mut *tx)
    .await?;
    if final_now {
        notify_graded(&mut tx, &assessment, user.id, id, score).await?;
    } else if let Some(teacher) = assessment.created_by {
        notify(
            &mut tx,
            &[teacher],
            &NewNotification {
                kind: "submission_to_grade",
                title: format!("Copie à corriger : {}", assessment.title),
                body: "Une copie attend votre correction.".into(),
                data: json!({ "assessmentId": assessment.id, "attemptId": id }),
            },
        )
        .await?;
    }
    let attempt = load_attempt(&mut tx, id, false).await?;
    tx.commit().await?;
    Ok(Json(AttemptResponse {
        success: true,
        attempt: attempt.view(&assessment, false),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DraftSaved {
    pub success: bool,
    pub saved_at: DateTime<Utc>,
    /// The answers now stored, by question id.
    #[schema(value_type = Object)]
    pub answers: BTreeMap<String, Value>,
}

/// Save the answers of an attempt in progress without submitting it (autosave: a reload
/// or another device finds them in the attempt's `draftAnswers`). Replaces the answers
/// saved before; nothing is graded. Checked like a submission (422); refused once the
/// attempt is submitted (409 `already_submitted`) or past its deadline and the 30 s
/// grace (409 `attempt_late`: submit instead). Roles: the student who started it.
#[utoipa::path(put, path = "/api/attempts/{id}/answers", tag = "assessments",
    params(("id" = i64, Path, description = "Attempt id")),
    request_body = Submission,
    security(("bearer" = [])),
    responses(
        (status = 200, body = DraftSaved),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
async fn save_answers(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<Submission>,
) -> ApiResult<Json<DraftSaved>> {
    user.require(&[Role::Student])?;
    let mut tx = state.pool.begin().await?;
    // Locked like a submission, so a save racing the submit cannot overwrite its answers.
    let attempt = load_attempt(&mut tx, id, true).await?;
    if attempt.student_id != user.id {
        return Err(ApiError::not_found("Tentative introuvable."));
    }
    if attempt.status != "in_progress" {
        return Err(ApiError::conflict(
            "already_submitted",
            "Cette tentative a déjà été rendue.",
        ));
    }
    let now = Utc::now();
    if attempt.deadline_at.is_some_and(|d| now > d + GRACE) {
        return Err(ApiError::conflict(
            "attempt_late",
            "Le temps est écoulé : les réponses ne peuvent plus être enregistrées, rendez la copie.",
        ));
    }
    let assessment = load(&mut *tx, attempt.assessment_id).await?;
    check_answers(&assessment.questions.0, &body.answers)?;
    sqlx::query("update assessment_results set answers = $2 where id = $1")
        .bind(id)
        .bind(sqlx::types::Json(&body.answers))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Json(DraftSaved {
        success: true,
        saved_at: now,
        answers: body.answers,
    }))
}

/// Answers must name questions of the assessment and have the right shape; nothing is
/// stored otherwise, and the attempt stays open for a corrected submission.
fn check_answers(questions: &[Question], answers: &BTreeMap<String, Value>) -> ApiResult<()> {
    let mut v = Validator::new();
    for (question_id, answer) in answers {
        match questions.iter().find(|q| &q.id == question_id) {
            None => {
                v.fail("answers", format!("Question inconnue : {question_id:.50}"));
            }
            Some(question) if !answer_shape_ok(question, answer) => {
                v.fail(
                    "answers",
                    format!(
                        "Réponse de forme invalide pour la question {question_id:.50} ({}).",
                        question.kind.name()
                    ),
                );
            }
            Some(_) => {}
        }
    }
    v.finish()
}

async fn notify_graded(
    conn: &mut PgConnection,
    assessment: &AssessmentRow,
    student_id: i64,
    attempt_id: i64,
    score: f64,
) -> sqlx::Result<()> {
    let recipients = with_parents(conn, &[student_id]).await?;
    notify(
        conn,
        &recipients,
        &NewNotification {
            kind: "result_graded",
            title: format!("Résultat disponible : {}", assessment.title),
            body: format!("Note : {} / {}", score, assessment.max_score()),
            data: json!({ "assessmentId": assessment.id, "attemptId": attempt_id, "studentId": student_id, "score": score, "maxScore": assessment.max_score() }),
        },
    )
    .await
}

/// An attempt. Roles: its student, their parents, the assessment's author, admins.
#[utoipa::path(get, path = "/api/attempts/{id}", tag = "assessments",
    params(("id" = i64, Path, description = "Attempt id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AttemptResponse),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn get_attempt(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<AttemptResponse>> {
    let mut conn = state.pool.acquire().await?;
    let attempt = load_attempt(&mut conn, id, false).await?;
    drop(conn);
    let assessment = load(&state.pool, attempt.assessment_id).await?;
    let staff = assessment.managed_by(&user);
    let allowed = staff
        || (user.role == Role::Student && attempt.student_id == user.id)
        || (user.role == Role::Parent
            && access::is_parent_of(&state.pool, user.id, attempt.student_id).await?);
    if !allowed {
        return Err(ApiError::not_found("Tentative introuvable."));
    }
    let mut view = attempt.view(&assessment, staff);
    if user.role == Role::Parent {
        // A draft is the student's own work in progress.
        view.draft_answers = None;
    }
    Ok(Json(AttemptResponse {
        success: true,
        attempt: view,
    }))
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptSummary {
    pub id: i64,
    pub student_id: i64,
    pub student_name: String,
    pub attempt_number: i32,
    pub status: String,
    pub score: Option<f64>,
    pub max_score: Option<f64>,
    pub is_late: bool,
    pub submitted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptList {
    pub success: bool,
    pub attempts: Vec<AttemptSummary>,
    pub pagination: Pagination,
}

/// Every attempt at an assessment (the grading queue is the `submitted` ones).
/// Roles: author, admin.
#[utoipa::path(get, path = "/api/assessments/{id}/attempts", tag = "assessments",
    params(("id" = i64, Path, description = "Assessment id"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AttemptList),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn list_attempts(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<AttemptList>> {
    load_managed(&state.pool, &user, id).await?;
    let attempts = sqlx::query_as(
        "select r.id, r.student_id, u.first_name || ' ' || u.last_name as student_name, r.attempt_number, r.status,
                r.score::float8 as score, r.max_score::float8 as max_score, r.is_late, r.submitted_at
         from assessment_results r join users u on u.id = r.student_id
         where r.assessment_id = $1 order by r.submitted_at nulls last, r.id",
    )
    .bind(id)
    .fetch_all(&state.pool)
    .await?;
    let (attempts, pagination) = page.slice(attempts);
    Ok(Json(AttemptList {
        success: true,
        attempts,
        pagination,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualGrade {
    pub points: f64,
    pub feedback: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GradeRequest {
    /// Points (and feedback) per question: required for the questions waiting for
    /// review, optional to override an automatic grade.
    pub questions: BTreeMap<String, ManualGrade>,
    /// Overall feedback to the student.
    pub feedback: Option<String>,
}

/// Grade a submitted (or refused late) attempt; the result is final and the student and
/// their parents are notified. Roles: the assessment's author, admin.
#[utoipa::path(post, path = "/api/attempts/{id}/grade", tag = "assessments",
    params(("id" = i64, Path, description = "Attempt id")),
    request_body = GradeRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = AttemptResponse),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
async fn grade_attempt(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<GradeRequest>,
) -> ApiResult<Json<AttemptResponse>> {
    user.require(&[Role::Teacher, Role::Admin])?;
    let mut tx = state.pool.begin().await?;
    let attempt = load_attempt(&mut tx, id, true).await?;
    let assessment = load(&mut *tx, attempt.assessment_id).await?;
    if !assessment.managed_by(&user) {
        return Err(ApiError::not_found("Tentative introuvable."));
    }
    // An attempt graded by the server alone (code run against tests) stays open to the
    // teacher's review; one a teacher has graded is final.
    let graded_by_server = attempt.status == "graded"
        && assessment
            .questions
            .0
            .iter()
            .any(|q| code::spec(q).is_some())
        && sqlx::query_scalar::<_, bool>(
            "select graded_by is null from assessment_results where id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    match attempt.status.as_str() {
        "submitted" | "refused" => {}
        "graded" if graded_by_server => {}
        "graded" => {
            return Err(ApiError::conflict(
                "already_graded",
                "Cette copie est déjà notée : la note est définitive.",
            ));
        }
        _ => {
            return Err(ApiError::conflict(
                "not_submitted",
                "Cette tentative n'a pas encore été rendue.",
            ));
        }
    }
    let mut breakdown = attempt.breakdown.0.clone();
    let mut v = Validator::new();
    for question in &assessment.questions.0 {
        let entry = breakdown.entry(question.id.clone()).or_insert_with(|| {
            grade(
                question,
                attempt.answers.0.get(&question.id).unwrap_or(&Value::Null),
            )
        });
        match body.questions.get(&question.id) {
            Some(manual)
                if manual.points.is_finite()
                    && (0.0..=question.points).contains(&manual.points) =>
            {
                entry.points = round2(manual.points);
                entry.status = GradeStatus::Reviewed;
                entry.feedback = manual
                    .feedback
                    .clone()
                    .filter(|f| !f.trim().is_empty())
                    .map(|f| f.chars().take(5000).collect());
            }
            Some(_) => {
                v.fail(
                    "questions",
                    format!(
                        "Question {:.50} : points entre 0 et {}.",
                        question.id, question.points
                    ),
                );
            }
            None if entry.status == GradeStatus::PendingReview => {
                v.fail(
                    "questions",
                    format!("Question {:.50} : à noter.", question.id),
                );
            }
            None => {}
        }
    }
    if let Some(unknown) = body
        .questions
        .keys()
        .find(|k| !assessment.questions.0.iter().any(|q| &q.id == *k))
    {
        v.fail("questions", format!("Question inconnue : {unknown:.50}"));
    }
    v.check(
        body.feedback
            .as_deref()
            .is_none_or(|f| f.chars().count() <= 10_000),
        "feedback",
        "Au plus 10 000 caractères.",
    );
    v.finish()?;
    let score = round2(breakdown.values().map(|g| g.points).sum());
    sqlx::query(
        "update assessment_results set breakdown = $2, score = $3, status = 'graded', graded_by = $4, graded_at = now(),
            completed_at = coalesce(completed_at, now()), feedback = $5
         where id = $1",
    )
    .bind(id)
    .bind(sqlx::types::Json(&breakdown))
    .bind(score)
    .bind(user.id)
    .bind(body.feedback.as_deref())
    .execute(&mut *tx)
    .await?;
    notify_graded(&mut tx, &assessment, attempt.student_id, id, score).await?;
    let attempt = load_attempt(&mut tx, id, false).await?;
    tx.commit().await?;
    Ok(Json(AttemptResponse {
        success: true,
        attempt: attempt.view(&assessment, true),
    }))
}

/// A student's (`$1`) mean graded score, in percent of the maximum, one decimal: for
/// dashboards and reports.
pub(crate) const STUDENT_AVERAGE: &str =
    "select round(avg(score / nullif(max_score, 0)) * 100, 1)::float8 from assessment_results
     where student_id = $1 and status = 'graded'";

pub async fn student_average(pool: &PgPool, student_id: i64) -> sqlx::Result<Option<f64>> {
    sqlx::query_scalar(STUDENT_AVERAGE)
        .bind(student_id)
        .fetch_one(pool)
        .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RunRequest {
    pub question_id: String,
    /// The code to run (at most 20,000 characters).
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunResponse {
    pub success: bool,
    /// One result per visible test, in order.
    pub results: Vec<TestResult>,
}

/// Runs code against the visible tests of a code question of an attempt in progress
/// ("Exécuter"). Nothing is graded; the code and the visible tests' results are kept as
/// the question's latest run (table `code_runs`, one row per attempt and question, for
/// ARIA: docs/ARIA.md, "ARIA sees the failing test"). At most 20 runs a minute per student (429);
/// 503 `service_unavailable` when the sandbox cannot run. Roles: the student who
/// started the attempt.
#[utoipa::path(post, path = "/api/attempts/{id}/run", tag = "assessments",
    params(("id" = i64, Path, description = "Attempt id")),
    request_body = RunRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = RunResponse),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
async fn run_code(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<RunRequest>,
) -> ApiResult<Json<RunResponse>> {
    user.require(&[Role::Student])?;
    let mut conn = state.pool.acquire().await?;
    let attempt = load_attempt(&mut conn, id, false).await?;
    drop(conn);
    if attempt.student_id != user.id {
        return Err(ApiError::not_found("Tentative introuvable."));
    }
    if attempt.status != "in_progress" {
        return Err(ApiError::conflict(
            "already_submitted",
            "Cette tentative a déjà été rendue.",
        ));
    }
    if attempt.deadline_at.is_some_and(|d| Utc::now() > d + GRACE) {
        return Err(ApiError::conflict(
            "attempt_late",
            "Le temps est écoulé : rendez la copie.",
        ));
    }
    let assessment = load(&state.pool, attempt.assessment_id).await?;
    let mut v = Validator::new();
    let question = assessment
        .questions
        .0
        .iter()
        .find(|q| q.id == body.question_id);
    v.check(question.is_some(), "questionId", "Question inconnue.");
    v.check(
        body.code.chars().count() <= 20_000,
        "code",
        "Au plus 20 000 caractères.",
    );
    v.finish()?;
    let question = question.expect("checked above");
    let Some(spec) = code::spec(question) else {
        return Err(ApiError::invalid_fields(vec![(
            "questionId",
            "Cette question n'a pas de tests à exécuter.".into(),
        )]));
    };
    state
        .limiter
        .hit("code_runs", &user.id.to_string(), RUN_LIMIT)
        .await
        .map_err(ApiError::too_many_requests)?;
    let started = Utc::now();
    let results = state
        .code
        .run(&spec, &body.code, true)
        .await
        .map_err(code::api_error)?;
    code::store_latest_run(
        &state.pool,
        attempt.id,
        &body.question_id,
        &body.code,
        &results,
        started,
    )
    .await?;
    Ok(Json(RunResponse {
        success: true,
        results,
    }))
}

/// "Exécuter" per student: enough for a TP (one run every 3 s on average).
const RUN_LIMIT: nexus_web::ratelimit::Limit =
    nexus_web::ratelimit::Limit::new(20, std::time::Duration::from_secs(60));
