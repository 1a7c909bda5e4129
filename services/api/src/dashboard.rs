//! Dashboards: what each role needs at a glance, one request each.

use std::{sync::LazyLock, time::Instant};

use axum::{body::Bytes, extract::State, response::Response};
use chrono::{DateTime, Utc};
use nexus_auth::Role;
use nexus_database::levels::ClassLevel;
use nexus_web::{
    ApiError, ErrorBody, Json,
    auth::CurrentUser,
    cache::{Fresh, Keep, json_body, json_bytes},
    error::ApiResult,
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{assessments::attempts::STUDENT_AVERAGE, state::AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(student_dashboard))
        .routes(routes!(parent_dashboard))
        .routes(routes!(teacher_dashboard))
        .routes(routes!(admin_dashboard))
}

/// A student is "at risk" when, in a class: their average progress in the class's
/// courses is under this percentage…
pub const AT_RISK_PROGRESS: f64 = 25.0;
/// …or their average graded score is under this percentage…
pub const AT_RISK_SCORE: f64 = 50.0;
/// …or they have done nothing (course or assessment) for this many days.
pub const AT_RISK_INACTIVE_DAYS: i64 = 14;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all(serialize = "camelCase"))]
#[schema(rename_all = "camelCase")]
pub struct DueAssessment {
    pub assessment_id: i64,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub closes_at: Option<DateTime<Utc>>,
    pub attempts_used: i64,
    pub max_attempts: i32,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all(serialize = "camelCase"))]
#[schema(rename_all = "camelCase")]
pub struct RecentResult {
    pub attempt_id: i64,
    pub assessment_id: i64,
    pub title: String,
    pub status: String,
    pub score: Option<f64>,
    pub max_score: Option<f64>,
    pub percentage: Option<f64>,
    pub submitted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Averages {
    /// Mean of graded attempts' score / max score, in percent.
    pub score_percentage: Option<f64>,
    /// Mean progress over the courses started, in percent.
    pub progress_percentage: Option<f64>,
    pub courses_started: usize,
    pub courses_completed: usize,
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StudentInfo {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub class_level: Option<ClassLevel>,
}

/// A course the student started, as the dashboard shows it: its progress, not which
/// sections are done (`GET /api/students/{id}/progress` says, for the course reader).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all(serialize = "camelCase"))]
#[schema(rename_all = "camelCase")]
pub struct DashboardCourse {
    pub course_id: i64,
    pub title: String,
    pub progress_percentage: i32,
    pub time_spent_seconds: i64,
    pub started_at: DateTime<Utc>,
    pub last_accessed: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StudentDashboard {
    pub student: StudentInfo,
    pub courses: Vec<DashboardCourse>,
    pub due_assessments: Vec<DueAssessment>,
    pub recent_results: Vec<RecentResult>,
    pub averages: Averages,
    /// Sections completed per week (Monday, Europe/Paris), the last 8 weeks, oldest first,
    /// weeks without any included: progress over time.
    pub weekly_activity: Vec<WeekActivity>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all(serialize = "camelCase"))]
#[schema(rename_all = "camelCase")]
pub struct WeekActivity {
    /// The Monday the week starts on, `YYYY-MM-DD`.
    pub week_start: String,
    pub sections_completed: i64,
}

/// The published courses the student (`$1`) started.
const COURSES: &str = "select p.course_id, c.title, p.progress_percentage, p.time_spent_seconds,
        p.started_at, p.last_accessed, p.completed_at
    from student_progress p join courses c on c.id = p.course_id
    where p.student_id = $1 and c.is_published";

/// The assessments the student can still take: open now in one of their classes, not yet
/// submitted, attempts left (`$1`: the student).
const DUE_ASSESSMENTS: &str = "select a.id as assessment_id, a.title, a.type,
        case when bool_or(p.closes_at is null) then null else max(p.closes_at) end as closes_at,
        (select count(*) from assessment_results r where r.assessment_id = a.id and r.student_id = $1) as attempts_used,
        a.max_attempts
    from assessments a
    join assessment_classes p on p.assessment_id = a.id
    join class_members m on m.class_id = p.class_id and m.student_id = $1
    join classes c on c.id = p.class_id and c.archived_at is null
    where p.opens_at <= now() and (p.closes_at is null or p.closes_at > now())
      and not exists(select 1 from assessment_results r where r.assessment_id = a.id and r.student_id = $1
                     and r.status in ('submitted', 'graded'))
    group by a.id
    having (select count(*) from assessment_results r where r.assessment_id = a.id and r.student_id = $1) < a.max_attempts
    order by closes_at nulls last, a.id limit 20";

/// The student's (`$1`) ten last attempts handed in.
const RECENT_RESULTS: &str = "select r.id as attempt_id, r.assessment_id,
        (select a.title from assessments a where a.id = r.assessment_id) as title, r.status,
        r.score::float8 as score, r.max_score::float8 as max_score,
        case when r.status = 'graded' then round(r.score / nullif(r.max_score, 0) * 100, 1)::float8 end as percentage,
        r.submitted_at
    from assessment_results r where r.student_id = $1 and r.status <> 'in_progress'
    order by r.submitted_at desc nulls last, r.id desc limit 10";

/// Sections the student (`$1`) completed each of the last 8 weeks (Monday, Europe/Paris).
const WEEKLY_ACTIVITY: &str = "select to_char(w, 'YYYY-MM-DD') as week_start, coalesce(done.n, 0) as sections_completed
    from generate_series(date_trunc('week', now() at time zone 'Europe/Paris') - interval '7 weeks',
                         date_trunc('week', now() at time zone 'Europe/Paris'), interval '1 week') w
    left join (select date_trunc('week', s.completed_at at time zone 'Europe/Paris') as week, count(*) as n
               from section_progress s
               where s.student_id = $1 and s.completed_at
                     >= (date_trunc('week', now() at time zone 'Europe/Paris') - interval '7 weeks') at time zone 'Europe/Paris'
               group by 1) done on done.week = w";

/// When the student's (`$1`) dashboard changes with no write: the next opening or closing
/// of an assessment given to one of their classes, or the next Monday (Europe/Paris, the
/// weekly activity's weeks), whichever comes first.
const NEXT_CHANGE: &str = "select least(
        (select min(t) from class_members m
         join assessment_classes p on p.class_id = m.class_id,
         lateral (values (p.opens_at), (p.closes_at)) as times(t)
         where m.student_id = $1 and t > now()),
        (date_trunc('week', now() at time zone 'Europe/Paris') + interval '1 week') at time zone 'Europe/Paris')";

/// The whole dashboard in one statement (a miss is one round trip, not seven): the
/// student's columns, each list as a JSON array of its query's rows (read back into the
/// types above, which checks their shape), the average and [`NEXT_CHANGE`].
static OVERVIEW: LazyLock<String> = LazyLock::new(|| {
    format!(
        "select u.id, u.first_name, u.last_name, sp.class_level,
            (select coalesce(json_agg(q order by q.last_accessed desc), '[]')
             from ({COURSES}) q) as courses,
            (select coalesce(json_agg(q order by q.closes_at nulls last, q.assessment_id), '[]')
             from ({DUE_ASSESSMENTS}) q) as due_assessments,
            (select coalesce(json_agg(q order by q.submitted_at desc nulls last, q.attempt_id desc), '[]')
             from ({RECENT_RESULTS}) q) as recent_results,
            (select json_agg(q order by q.week_start) from ({WEEKLY_ACTIVITY}) q) as weekly_activity,
            ({STUDENT_AVERAGE}) as score_percentage,
            ({NEXT_CHANGE}) as next_change
         from users u left join student_profiles sp on sp.user_id = u.id where u.id = $1"
    )
});

#[derive(sqlx::FromRow)]
struct OverviewRow {
    #[sqlx(flatten)]
    student: StudentInfo,
    courses: sqlx::types::Json<Vec<DashboardCourse>>,
    due_assessments: sqlx::types::Json<Vec<DueAssessment>>,
    recent_results: sqlx::types::Json<Vec<RecentResult>>,
    weekly_activity: sqlx::types::Json<Vec<WeekActivity>>,
    score_percentage: Option<f64>,
    next_change: DateTime<Utc>,
}

/// The student's dashboard and when it changes with no write.
async fn student_overview(
    generic_plans: &PgPool,
    student_id: i64,
) -> sqlx::Result<(StudentDashboard, DateTime<Utc>)> {
    // One plan for every student, made once per connection (the pool's connections force
    // generic plans). Left to choose, Postgres plans this statement anew for each student
    // (1.3–1.5 ms, twice its execution) as soon as one student's rows are far from the
    // average (in the benchmark, the demo student's 400,000 attempts); the plan made for
    // the average serves them all.
    let row: OverviewRow = sqlx::query_as(sqlx::AssertSqlSafe(OVERVIEW.as_str()))
        .bind(student_id)
        .fetch_one(generic_plans)
        .await?;
    let courses = row.courses.0;
    let started = courses.len();
    let averages = Averages {
        score_percentage: row.score_percentage,
        progress_percentage: (started > 0).then(|| {
            (courses
                .iter()
                .map(|c| f64::from(c.progress_percentage))
                .sum::<f64>()
                / started as f64
                * 10.0)
                .round()
                / 10.0
        }),
        courses_started: started,
        courses_completed: courses.iter().filter(|c| c.completed_at.is_some()).count(),
    };
    let dashboard = StudentDashboard {
        student: row.student,
        courses,
        due_assessments: row.due_assessments.0,
        recent_results: row.recent_results.0,
        averages,
        weekly_activity: row.weekly_activity.0,
    };
    Ok((dashboard, row.next_change))
}

/// The student's dashboard, as JSON, from the cache or read now.
async fn overview_json(state: &AppState, student_id: i64, fresh: bool) -> ApiResult<Bytes> {
    let read = async {
        let (overview, until) = student_overview(&state.generic_plans, student_id).await?;
        let body = json_bytes(&overview)?;
        // The database's clock says when; this process counts it on its own.
        let left = (until - Utc::now()).to_std().unwrap_or_default();
        Ok::<_, ApiError>((body, Keep::Until(Instant::now() + left)))
    };
    (state.dashboards)
        .get_or_read(student_id, fresh, read)
        .await
}

/// Progress per course, assessments due, recent results and averages. Roles: student.
#[utoipa::path(get, path = "/api/dashboard/student", tag = "dashboard",
    security(("bearer" = [])),
    responses(
        (status = 200, body = StudentDashboard),
        (status = 403, body = ErrorBody),
    ))]
async fn student_dashboard(
    user: CurrentUser,
    State(state): State<AppState>,
    Fresh(fresh): Fresh,
) -> ApiResult<Response> {
    user.require(&[Role::Student])?;
    let body = overview_json(&state, user.id, fresh).await?;
    Ok(json_body(body))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParentDashboard {
    pub children: Vec<StudentDashboard>,
}

/// The student dashboard of each linked child. Roles: parent.
#[utoipa::path(get, path = "/api/dashboard/parent", tag = "dashboard",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ParentDashboard),
        (status = 403, body = ErrorBody),
    ))]
async fn parent_dashboard(
    user: CurrentUser,
    State(state): State<AppState>,
    Fresh(fresh): Fresh,
) -> ApiResult<Response> {
    user.require(&[Role::Parent])?;
    let children: Vec<i64> = sqlx::query_scalar(
        "select student_id from parent_links where parent_id = $1 order by student_id",
    )
    .bind(user.id)
    .fetch_all(&state.pool)
    .await?;
    // A `ParentDashboard`, written from its children's JSON.
    let mut body = br#"{"children":["#.to_vec();
    for (i, child) in children.into_iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&overview_json(&state, child, fresh).await?);
    }
    body.extend_from_slice(b"]}");
    Ok(json_body(Bytes::from(body)))
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssessmentStats {
    pub assessment_id: i64,
    pub title: String,
    /// Mean of graded scores, in percent of the maximum.
    pub average_percentage: Option<f64>,
    /// Students of the class who submitted at least once.
    pub submitted: i64,
    /// submitted / students, in percent.
    pub completion_rate: f64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AtRiskStudent {
    pub student_id: i64,
    pub name: String,
    /// `low_progress`, `low_scores`, `inactive`.
    pub reasons: Vec<String>,
    pub average_progress: Option<f64>,
    pub average_score: Option<f64>,
    pub last_activity: Option<DateTime<Utc>>,
}

#[derive(Debug, sqlx::FromRow)]
struct StudentSignals {
    student_id: i64,
    name: String,
    average_progress: Option<f64>,
    average_score: Option<f64>,
    last_activity: Option<DateTime<Utc>>,
    joined_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClassOverview {
    pub class_id: i64,
    pub name: String,
    pub level: ClassLevel,
    pub student_count: i64,
    pub assessments: Vec<AssessmentStats>,
    pub students_at_risk: Vec<AtRiskStudent>,
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToGrade {
    pub attempt_id: i64,
    pub assessment_id: i64,
    pub assessment_title: String,
    pub student_id: i64,
    pub student_name: String,
    pub submitted_at: Option<DateTime<Utc>>,
    pub is_late: bool,
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeacherDashboard {
    pub classes: Vec<ClassOverview>,
    pub grading_queue: Vec<ToGrade>,
}

/// Per class: averages and completion per assessment, students at risk (see the
/// thresholds in docs/LEARNING.md); and the submissions waiting to be graded.
/// Roles: teacher.
#[utoipa::path(get, path = "/api/dashboard/teacher", tag = "dashboard",
    security(("bearer" = [])),
    responses(
        (status = 200, body = TeacherDashboard),
        (status = 403, body = ErrorBody),
    ))]
async fn teacher_dashboard(
    user: CurrentUser,
    State(state): State<AppState>,
) -> ApiResult<Json<TeacherDashboard>> {
    user.require(&[Role::Teacher])?;
    let pool = &state.pool;
    let classes: Vec<(i64, String, ClassLevel, i64)> = sqlx::query_as(
        "select c.id, c.name, c.level, (select count(*) from class_members m where m.class_id = c.id)
         from classes c where c.teacher_id = $1 and c.archived_at is null order by c.name",
    )
    .bind(user.id)
    .fetch_all(pool)
    .await?;
    let mut overviews = Vec::with_capacity(classes.len());
    for (class_id, name, level, student_count) in classes {
        let assessments = sqlx::query_as(
            "select a.id as assessment_id, a.title,
                    round(avg(r.score / nullif(r.max_score, 0)) filter (where r.status = 'graded') * 100, 1)::float8 as average_percentage,
                    count(distinct r.student_id) filter (where r.status <> 'in_progress') as submitted,
                    coalesce(round(count(distinct r.student_id) filter (where r.status <> 'in_progress') * 100.0
                        / nullif($2, 0), 1), 0)::float8 as completion_rate
             from assessment_classes p join assessments a on a.id = p.assessment_id
             left join assessment_results r on r.assessment_id = a.id
                  and r.student_id in (select student_id from class_members where class_id = $1)
             where p.class_id = $1 group by a.id order by a.id",
        )
        .bind(class_id)
        .bind(student_count)
        .fetch_all(pool)
        .await?;
        let signals: Vec<StudentSignals> = sqlx::query_as(
            "select u.id as student_id, u.first_name || ' ' || u.last_name as name,
                (select avg(coalesce(sp.progress_percentage, 0))::float8 from course_classes cc
                    left join student_progress sp on sp.course_id = cc.course_id and sp.student_id = u.id
                    where cc.class_id = m.class_id) as average_progress,
                (select round(avg(r.score / nullif(r.max_score, 0)) * 100, 1)::float8 from assessment_results r
                    join assessment_classes p on p.assessment_id = r.assessment_id and p.class_id = m.class_id
                    where r.student_id = u.id and r.status = 'graded') as average_score,
                greatest((select max(last_accessed) from student_progress where student_id = u.id),
                         (select max(coalesce(submitted_at, started_at)) from assessment_results where student_id = u.id)) as last_activity,
                m.joined_at
             from class_members m join users u on u.id = m.student_id
             where m.class_id = $1 order by u.last_name, u.first_name",
        )
        .bind(class_id)
        .fetch_all(pool)
        .await?;
        let students_at_risk = signals.into_iter().filter_map(at_risk).collect();
        overviews.push(ClassOverview {
            class_id,
            name,
            level,
            student_count,
            assessments,
            students_at_risk,
        });
    }
    let grading_queue = sqlx::query_as(
        "select r.id as attempt_id, a.id as assessment_id, a.title as assessment_title, u.id as student_id,
                u.first_name || ' ' || u.last_name as student_name, r.submitted_at, r.is_late, r.status
         from assessment_results r join assessments a on a.id = r.assessment_id join users u on u.id = r.student_id
         where a.created_by = $1 and r.status in ('submitted', 'refused')
         order by r.submitted_at nulls last limit 100",
    )
    .bind(user.id)
    .fetch_all(pool)
    .await?;
    Ok(Json(TeacherDashboard {
        classes: overviews,
        grading_queue,
    }))
}

fn at_risk(s: StudentSignals) -> Option<AtRiskStudent> {
    let mut reasons = Vec::new();
    if s.average_progress.is_some_and(|p| p < AT_RISK_PROGRESS) {
        reasons.push("low_progress".to_owned());
    }
    if s.average_score.is_some_and(|p| p < AT_RISK_SCORE) {
        reasons.push("low_scores".to_owned());
    }
    let since = s.last_activity.unwrap_or(s.joined_at);
    if Utc::now() - since > chrono::Duration::days(AT_RISK_INACTIVE_DAYS) {
        reasons.push("inactive".to_owned());
    }
    (!reasons.is_empty()).then_some(AtRiskStudent {
        student_id: s.student_id,
        name: s.name,
        reasons,
        average_progress: s.average_progress.map(|p| (p * 10.0).round() / 10.0),
        average_score: s.average_score,
        last_activity: s.last_activity,
    })
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminDashboard {
    pub students: i64,
    pub parents: i64,
    pub teachers: i64,
    pub admins: i64,
    pub inactive_accounts: i64,
    pub classes: i64,
    pub courses_published: i64,
    pub courses_draft: i64,
    pub assessments: i64,
    /// Users who signed in during the last 7 days.
    pub active_users_7d: i64,
    pub attempts_submitted_7d: i64,
    pub registrations_7d: i64,
    pub notifications_pending_relay: i64,
}

/// Platform counts and activity. Roles: admin.
#[utoipa::path(get, path = "/api/dashboard/admin", tag = "dashboard",
    security(("bearer" = [])),
    responses(
        (status = 200, body = AdminDashboard),
        (status = 403, body = ErrorBody),
    ))]
async fn admin_dashboard(
    user: CurrentUser,
    State(state): State<AppState>,
) -> ApiResult<Json<AdminDashboard>> {
    user.require(&[Role::Admin])?;
    let counts = sqlx::query_as(
        "select
            (select count(*) from users where role = 'student') as students,
            (select count(*) from users where role = 'parent') as parents,
            (select count(*) from users where role = 'teacher') as teachers,
            (select count(*) from users where role = 'admin') as admins,
            (select count(*) from users where not is_active) as inactive_accounts,
            (select count(*) from classes where archived_at is null) as classes,
            (select count(*) from courses where is_published) as courses_published,
            (select count(*) from courses where not is_published) as courses_draft,
            (select count(*) from assessments) as assessments,
            (select count(*) from users where last_login_at > now() - interval '7 days') as active_users_7d,
            (select count(*) from assessment_results where submitted_at > now() - interval '7 days') as attempts_submitted_7d,
            (select count(*) from users where created_at > now() - interval '7 days') as registrations_7d,
            (select count(*) from outbox where relayed_at is null) as notifications_pending_relay",
    )
    .fetch_one(&state.pool)
    .await?;
    Ok(Json(counts))
}
