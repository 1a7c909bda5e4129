//! Conversations: who may have them, a user's own sessions (open, list, read, rename,
//! delete), ratings of answers, and what the adults around a student see — teachers
//! read their students' sessions and the moderation flags, parents get a summary
//! without the content.
//!
//! The answer pipeline ([`crate::tutor`]) opens its sessions here; this module does
//! not depend on it (what both need of an answer is in [`crate::answer`]).

use axum::{
    Router,
    extract::State,
    routing::{get, post},
};
use nexus_auth::Role;
use nexus_web::{
    ApiError, Json, Path, Query,
    access::{ensure_can_view_student, teaches},
    auth::CurrentUser,
    error::ApiResult,
    pagination::{PageQuery, Pagination},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::{AppState, answer::OVERSIGHT_NOTICE, metrics::metrics};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/aria/sessions", get(list_own))
        .route(
            "/api/aria/sessions/{id}",
            get(read).patch(rename).delete(delete),
        )
        .route("/api/aria/messages/{id}/rating", post(rate))
        .route("/api/aria/students/{id}/sessions", get(list_of_student))
        .route("/api/aria/students/{id}/summary", get(summary))
        .route("/api/aria/flags", get(list_flags))
        .route("/api/aria/flags/{id}/review", post(review_flag))
}

/// Who may ask ARIA: students (it is their tutor), teachers and admins (to try it and
/// oversee it). Parents see summaries of their child's use.
pub fn ensure_may_chat(user: &CurrentUser) -> ApiResult<()> {
    user.require(&[Role::Student, Role::Teacher, Role::Admin])
}

/// A session id a client may choose: 8 to 100 letters, digits, `-` or `_`.
pub fn valid_session_id(id: &str) -> bool {
    (8..=100).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub async fn owner(
    executor: impl sqlx::PgExecutor<'_>,
    session_id: &str,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("select user_id from aria_sessions where session_id = $1")
        .bind(session_id)
        .fetch_optional(executor)
        .await
}

/// A session to answer in: the one named (the caller's own), or a new one, titled
/// after its first message. An unknown name is created only when `create_missing`
/// (the websocket's path, a client-chosen id); otherwise it is a 404.
pub async fn open(
    conn: &mut sqlx::PgConnection,
    user_id: i64,
    named: Option<&str>,
    create_missing: bool,
    first_message: &str,
) -> ApiResult<String> {
    let id = match named {
        Some(id) => match owner(&mut *conn, id).await? {
            Some(owner) if owner == user_id => return Ok(id.to_owned()),
            None if create_missing && valid_session_id(id) => id.to_owned(),
            _ => return Err(ApiError::not_found("Session introuvable.")),
        },
        None => uuid::Uuid::new_v4().to_string(),
    };
    let title: String = first_message.chars().take(80).collect();
    let inserted = sqlx::query(
        "insert into aria_sessions (user_id, session_id, title) values ($1, $2, $3)
         on conflict (session_id) do nothing",
    )
    .bind(user_id)
    .bind(&id)
    .bind(title)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        // Created meanwhile, by another socket: whose is it?
        return match owner(&mut *conn, &id).await? {
            Some(owner) if owner == user_id => Ok(id),
            _ => Err(ApiError::not_found("Session introuvable.")),
        };
    }
    Ok(id)
}

/// The session exists and is the user's own; 404 otherwise (another's session is not
/// revealed).
async fn ensure_own(pool: &PgPool, user: &CurrentUser, id: &str) -> ApiResult<()> {
    match owner(pool, id).await? {
        Some(owner) if owner == user.id => Ok(()),
        _ => Err(ApiError::not_found("Session introuvable.")),
    }
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct SessionSummary {
    session_id: String,
    title: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    last_interaction: chrono::DateTime<chrono::Utc>,
    messages: i64,
    /// The number of rows of the whole list (the page's envelope carries it).
    #[serde(skip)]
    total_count: i64,
}

/// One page of a user's sessions, most recent first, with the contract's envelope.
async fn sessions_of(
    pool: &PgPool,
    user_id: i64,
    page: &PageQuery,
) -> sqlx::Result<(Vec<SessionSummary>, Pagination)> {
    let sessions: Vec<SessionSummary> = sqlx::query_as(
        "select s.session_id, s.title, s.created_at, s.last_interaction,
                (select count(*) from aria_messages m where m.session_id = s.session_id) as messages,
                count(*) over () as total_count
         from aria_sessions s where s.user_id = $1 order by s.last_interaction desc, s.session_id
         limit $2 offset $3",
    )
    .bind(user_id)
    .bind(i64::from(page.limit()))
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    let total = match sessions.first() {
        Some(first) => first.total_count,
        // An empty page: past the end, or nothing at all.
        None => {
            sqlx::query_scalar("select count(*) from aria_sessions where user_id = $1")
                .bind(user_id)
                .fetch_one(pool)
                .await?
        }
    };
    Ok((sessions, page.pagination(total)))
}

/// Student, teacher, admin: their own sessions.
async fn list_own(
    user: CurrentUser,
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Value>> {
    ensure_may_chat(&user)?;
    let (sessions, pagination) = sessions_of(&state.pool, user.id, &page).await?;
    Ok(Json(
        json!({"success": true, "sessions": sessions, "pagination": pagination, "oversight": OVERSIGHT_NOTICE}),
    ))
}

/// Teacher of the student, admin: the student's sessions. (Parents get the summary.)
async fn list_of_student(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Value>> {
    user.require(&[Role::Teacher, Role::Admin])?;
    ensure_can_view_student(&state.pool, &user, id).await?;
    let (sessions, pagination) = sessions_of(&state.pool, id, &page).await?;
    Ok(Json(
        json!({"success": true, "studentId": id, "sessions": sessions, "pagination": pagination}),
    ))
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct MessageView {
    id: i64,
    message_type: String,
    content: String,
    sources: Value,
    helpful: Option<bool>,
    rating_comment: Option<String>,
    /// For an answer, the question it answers.
    reply_to: Option<i64>,
    created_at: chrono::DateTime<chrono::Utc>,
}

/// The owner; a teacher of the owner; an admin. Others get 404.
async fn read(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let not_found = || ApiError::not_found("Session introuvable.");
    let owner = owner(&state.pool, &id).await?.ok_or_else(not_found)?;
    let allowed = match user.role {
        Role::Admin => true,
        Role::Teacher => owner == user.id || teaches(&state.pool, user.id, owner).await?,
        Role::Student => owner == user.id,
        Role::Parent => false,
    };
    if !allowed {
        return Err(not_found());
    }
    let messages: Vec<MessageView> = sqlx::query_as(
        "select id, message_type, content, sources, helpful, rating_comment, reply_to, created_at from aria_messages
         where session_id = $1 order by id",
    )
    .bind(&id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(
        json!({"success": true, "sessionId": id, "userId": owner, "messages": messages}),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rename {
    title: String,
}

/// The owner only.
async fn rename(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<Rename>,
) -> ApiResult<Json<Value>> {
    ensure_may_chat(&user)?;
    ensure_own(&state.pool, &user, &id).await?;
    let title = body.title.trim();
    if title.is_empty() || title.chars().count() > 100 {
        return Err(ApiError::invalid_fields(vec![(
            "title",
            "Entre 1 et 100 caractères.".into(),
        )]));
    }
    sqlx::query("update aria_sessions set title = $2 where session_id = $1")
        .bind(&id)
        .bind(title)
        .execute(&state.pool)
        .await?;
    Ok(Json(json!({"success": true})))
}

/// The owner only. Moderation flags keep their own copy of the text.
async fn delete(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    ensure_may_chat(&user)?;
    ensure_own(&state.pool, &user, &id).await?;
    sqlx::query("delete from aria_sessions where session_id = $1")
        .bind(&id)
        .execute(&state.pool)
        .await?;
    Ok(Json(json!({"success": true})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rating {
    helpful: bool,
    comment: Option<String>,
}

/// The owner of the session rates one of ARIA's answers (again to change it).
async fn rate(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<Rating>,
) -> ApiResult<Json<Value>> {
    ensure_may_chat(&user)?;
    let comment = body
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > 1000) {
        return Err(ApiError::invalid_fields(vec![(
            "comment",
            "1 000 caractères au plus.".into(),
        )]));
    }
    let updated = sqlx::query(
        "update aria_messages m set helpful = $3, rating_comment = $4, rated_at = now()
         from aria_sessions s
         where m.id = $1 and s.session_id = m.session_id and s.user_id = $2 and m.message_type = 'assistant'",
    )
    .bind(id)
    .bind(user.id)
    .bind(body.helpful)
    .bind(comment)
    .execute(&state.pool)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(ApiError::not_found("Réponse introuvable."));
    }
    metrics()
        .ratings
        .with_label_values(&[if body.helpful { "true" } else { "false" }])
        .inc();
    Ok(Json(json!({"success": true})))
}

/// A parent's view of their child's use of ARIA — how much, when, on which courses,
/// whether anything was flagged — without the conversations. The parent, the student
/// themself, their teachers, admins.
async fn summary(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    ensure_can_view_student(&state.pool, &user, id).await?;
    let (sessions, questions_7d, questions_30d, last_activity, flags): (
        i64,
        i64,
        i64,
        Option<chrono::DateTime<chrono::Utc>>,
        i64,
    ) = sqlx::query_as(
        "select (select count(*) from aria_sessions where user_id = $1),
                (select count(*) from aria_messages m join aria_sessions s on s.session_id = m.session_id
                  where s.user_id = $1 and m.message_type = 'user' and m.created_at > now() - interval '7 days'),
                (select count(*) from aria_messages m join aria_sessions s on s.session_id = m.session_id
                  where s.user_id = $1 and m.message_type = 'user' and m.created_at > now() - interval '30 days'),
                (select max(last_interaction) from aria_sessions where user_id = $1),
                (select count(*) from aria_flags where user_id = $1 and created_at > now() - interval '30 days')",
    )
    .bind(id)
    .fetch_one(&state.pool)
    .await?;
    let courses: Vec<(String, i64)> = sqlx::query_as(
        "select src->>'courseTitle' as title, count(*) from aria_messages m
         join aria_sessions s on s.session_id = m.session_id, jsonb_array_elements(m.sources) src
         where s.user_id = $1 and m.created_at > now() - interval '30 days' and src->>'courseTitle' is not null
         group by 1 order by 2 desc, 1 limit 5",
    )
    .bind(id)
    .fetch_all(&state.pool)
    .await?;
    let courses: Vec<Value> = courses
        .into_iter()
        .map(|(title, answers)| json!({"courseTitle": title, "answers": answers}))
        .collect();
    Ok(Json(json!({
        "success": true,
        "studentId": id,
        "sessions": sessions,
        "questionsLast7Days": questions_7d,
        "questionsLast30Days": questions_30d,
        "lastActivity": last_activity,
        "topCourses": courses,
        "flagsLast30Days": flags,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FlagFilter {
    /// `open` (default) or `all`.
    status: Option<String>,
    /// Read through `PageQuery`; named here so that the filter's strictness accepts them.
    #[allow(dead_code)]
    page: Option<u32>,
    #[allow(dead_code)]
    limit: Option<u32>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct FlagView {
    id: i64,
    user_id: i64,
    first_name: String,
    last_name: String,
    session_id: String,
    direction: String,
    category: String,
    source: String,
    excerpt: String,
    reviewed_at: Option<chrono::DateTime<chrono::Utc>>,
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(skip)]
    total_count: i64,
}

/// Teachers: the flags of their students; admins: all. Newest first, paginated.
async fn list_flags(
    user: CurrentUser,
    State(state): State<AppState>,
    Query(filter): Query<FlagFilter>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Value>> {
    user.require(&[Role::Teacher, Role::Admin])?;
    let open_only = match filter.status.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(_) => {
            return Err(ApiError::invalid_fields(vec![(
                "status",
                "« open » ou « all ».".into(),
            )]));
        }
    };
    const VISIBLE: &str = "from aria_flags f join users u on u.id = f.user_id
         where ($1 or exists(select 1 from class_members m join classes c on c.id = m.class_id
                             where m.student_id = f.user_id and c.teacher_id = $2))
           and (not $3 or f.reviewed_at is null)";
    let flags: Vec<FlagView> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select f.id, f.user_id, u.first_name, u.last_name, f.session_id, f.direction, f.category,
                f.source, f.excerpt, f.reviewed_at, f.created_at, count(*) over () as total_count
         {VISIBLE} order by f.created_at desc, f.id desc limit $4 offset $5"
    )))
    .bind(user.role == Role::Admin)
    .bind(user.id)
    .bind(open_only)
    .bind(i64::from(page.limit()))
    .bind(page.offset())
    .fetch_all(&state.pool)
    .await?;
    let total: i64 = match flags.first() {
        Some(first) => first.total_count,
        None => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) {VISIBLE}")))
                .bind(user.role == Role::Admin)
                .bind(user.id)
                .bind(open_only)
                .fetch_one(&state.pool)
                .await?
        }
    };
    Ok(Json(
        json!({"success": true, "flags": flags, "pagination": page.pagination(total)}),
    ))
}

/// A teacher of the student, or an admin, marks a flag as seen.
async fn review_flag(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    user.require(&[Role::Teacher, Role::Admin])?;
    let student: Option<i64> = sqlx::query_scalar("select user_id from aria_flags where id = $1")
        .bind(id)
        .fetch_optional(&state.pool)
        .await?;
    let allowed = match student {
        Some(student) => user.role == Role::Admin || teaches(&state.pool, user.id, student).await?,
        None => false,
    };
    if !allowed {
        return Err(ApiError::not_found("Signalement introuvable."));
    }
    sqlx::query("update aria_flags set reviewed_by = $2, reviewed_at = now() where id = $1")
        .bind(id)
        .bind(user.id)
        .execute(&state.pool)
        .await?;
    Ok(Json(json!({"success": true})))
}
