//! `POST /api/aria/chat` and the sessions. This slice answers from the courses
//! (extractive): the passages most relevant to the question, with their sources, and it
//! says that generation is off. Calling an OpenAI-compatible model, streaming and the
//! websocket are the next steps of issue 5.

use std::time::Instant;

use axum::{Router, extract::State, http::StatusCode, routing::get};
use nexus_auth::Role;
use nexus_web::{ApiError, Json, Path, auth::CurrentUser, error::ApiResult};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{AppState, metrics::metrics, retrieval};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/aria/chat", axum::routing::post(chat))
        .route("/api/aria/sessions", get(list_sessions))
        .route(
            "/api/aria/sessions/{id}",
            get(get_session)
                .patch(rename_session)
                .delete(delete_session),
        )
}

pub const MAX_MESSAGE_CHARS: usize = 4000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatContext {
    pub current_course: Option<i64>,
    pub user_level: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChatRequest {
    pub session_id: Option<String>,
    pub message: String,
    pub context: Option<ChatContext>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatResponse {
    pub session_id: String,
    pub response: String,
    pub confidence: f32,
    pub sources: Vec<Value>,
    pub metadata: Value,
}

/// Who may use ARIA: students (it is their tutor), teachers and admins (to try it and
/// oversee it). Parents see summaries elsewhere (issue 5).
fn ensure_may_chat(user: &CurrentUser) -> ApiResult<()> {
    user.require(&[Role::Student, Role::Teacher, Role::Admin])
}

/// An attempt in progress at an assessment during which ARIA must not help: an exam by
/// default, or any assessment whose teacher chose `helpMode: none`.
async fn blocking_assessment(pool: &sqlx::PgPool, user_id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "select a.title from assessment_results r join assessments a on a.id = r.assessment_id
         where r.student_id = $1 and r.status = 'in_progress'
           and (r.deadline_at is null or r.deadline_at > now())
           and (a.help_mode = 'none' or (a.help_mode = 'default' and a.type = 'exam'))
         limit 1",
    )
    .bind(user_id)
    .fetch_optional(pool)
    .await
}

async fn chat(
    user: CurrentUser,
    State(state): State<AppState>,
    Json(body): Json<ChatRequest>,
) -> ApiResult<Json<ChatResponse>> {
    ensure_may_chat(&user)?;
    let started = Instant::now();
    state
        .limiter
        .hit("aria", &user.id.to_string(), state.settings.chat_limit)
        .await
        .map_err(|retry| {
            let mut error = ApiError::too_many_requests(retry);
            error.message =
                "Tu as envoyé beaucoup de messages à ARIA : attends un peu avant de continuer."
                    .into();
            error
        })?;
    let message = body.message.trim();
    if message.is_empty() || message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ApiError::invalid_fields(vec![(
            "message",
            "Entre 1 et 4 000 caractères.".into(),
        )]));
    }
    let session_id =
        open_session(&state.pool, user.id, body.session_id.as_deref(), message).await?;
    // The question is stored before anything else can fail.
    sqlx::query(
        "insert into aria_messages (session_id, message_type, content) values ($1, 'user', $2)",
    )
    .bind(&session_id)
    .bind(message)
    .execute(&state.pool)
    .await?;

    let level = match body.context.as_ref().and_then(|c| c.user_level.clone()) {
        Some(level) if level == "premiere" || level == "terminale" => Some(level),
        _ => {
            sqlx::query_scalar("select class_level from student_profiles where user_id = $1")
                .bind(user.id)
                .fetch_optional(&state.pool)
                .await?
        }
    };
    let mut generation = "none";
    let mut tokens_used = 0;
    let mut model_name = "extractive".to_owned();
    let (response, confidence, sources, policy, retrieval_ms) = match blocking_assessment(
        &state.pool,
        user.id,
    )
    .await?
    {
        Some(title) if user.role == Role::Student => (
            format!(
                "Tu as une évaluation en cours (« {title} ») : je ne peux pas t'aider pendant qu'elle est ouverte. \
                 Bon courage ! Reviens me voir une fois ta copie rendue."
            ),
            1.0,
            Vec::new(),
            "exam_in_progress",
            0.0,
        ),
        _ => {
            let search_started = Instant::now();
            let passages = retrieval::search(&state.pool, message, level.as_deref(), 5).await?;
            let retrieval_ms = search_started.elapsed().as_secs_f64() * 1000.0;
            metrics().retrieval_seconds.observe(retrieval_ms / 1000.0);
            let (mut response, confidence) = extractive_answer(&passages, OFF);
            generation = "disabled";
            if let Some(model) = &state.settings.model {
                let history = recent_history(&state.pool, &session_id).await?;
                let messages = prompt(level.as_deref(), &passages, &history, message);
                let started_model = Instant::now();
                let outcome = crate::model::complete(&state.http, model, &messages).await;
                let model_metrics = crate::metrics::model_metrics();
                model_metrics
                    .latency_seconds
                    .observe(started_model.elapsed().as_secs_f64());
                match outcome {
                    Ok(completion) if !completion.text.is_empty() => {
                        model_metrics.requests.with_label_values(&["success"]).inc();
                        model_metrics
                            .tokens
                            .with_label_values(&["prompt"])
                            .inc_by(completion.prompt_tokens);
                        model_metrics
                            .tokens
                            .with_label_values(&["completion"])
                            .inc_by(completion.completion_tokens);
                        tokens_used = completion.prompt_tokens + completion.completion_tokens;
                        response = completion.text;
                        generation = "enabled";
                        model_name = model.model.clone();
                    }
                    Ok(_) => {
                        model_metrics.requests.with_label_values(&["error"]).inc();
                        generation = "fallback";
                        response = extractive_answer(&passages, UNAVAILABLE).0;
                    }
                    Err(error) => {
                        model_metrics
                            .requests
                            .with_label_values(&[error.outcome()])
                            .inc();
                        tracing::warn!(%error, "model call failed; answering from the courses");
                        generation = "fallback";
                        response = extractive_answer(&passages, UNAVAILABLE).0;
                    }
                }
            }
            let sources = passages
                .iter()
                .take(3)
                .map(|p| json!({"courseId": p.course_id, "courseTitle": p.course_title, "sectionId": p.section_id,
                                "sectionTitle": p.section_title, "score": p.score}))
                .collect();
            (response, confidence, sources, "explain", retrieval_ms)
        }
    };
    let metadata = json!({
        "responseTime": started.elapsed().as_millis() as u64,
        "retrievalMs": retrieval_ms,
        "tokensUsed": tokens_used,
        "model": model_name,
        "generation": generation,
        "policy": policy,
    });
    sqlx::query("insert into aria_messages (session_id, message_type, content, metadata, sources) values ($1, 'assistant', $2, $3, $4)")
        .bind(&session_id)
        .bind(&response)
        .bind(&metadata)
        .bind(json!(sources))
        .execute(&state.pool)
        .await?;
    sqlx::query("update aria_sessions set last_interaction = now() where session_id = $1")
        .bind(&session_id)
        .execute(&state.pool)
        .await?;
    metrics().requests.with_label_values(&[policy]).inc();
    Ok(Json(ChatResponse {
        session_id,
        response,
        confidence,
        sources,
        metadata,
    }))
}

/// The recent exchange of a session (before the current question), oldest first,
/// bounded by size: about 4 characters a token, so ~1,500 tokens at most.
async fn recent_history(
    pool: &sqlx::PgPool,
    session_id: &str,
) -> sqlx::Result<Vec<(String, String)>> {
    const BUDGET_CHARS: usize = 6_000;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select message_type, content from aria_messages where session_id = $1 order by id desc limit 21",
    )
    .bind(session_id)
    .fetch_all(pool)
    .await?;
    let mut kept = Vec::new();
    let mut used = 0;
    // The newest row is the question being answered: it goes in last, separately.
    for (kind, content) in rows.into_iter().skip(1) {
        used += content.chars().count();
        if used > BUDGET_CHARS {
            break;
        }
        kept.push((kind, content));
    }
    kept.reverse();
    Ok(kept)
}

/// The messages sent to the model: who ARIA is and for whom, the course passages to
/// rely on, the recent exchange, the question.
fn prompt(
    level: Option<&str>,
    passages: &[retrieval::Passage],
    history: &[(String, String)],
    question: &str,
) -> Vec<Value> {
    let level = match level {
        Some("premiere") => "de Première",
        Some("terminale") => "de Terminale",
        _ => "de lycée",
    };
    let mut system = format!(
        "Tu es ARIA, tuteur de NSI (Numérique et Sciences Informatiques) pour un élève {level}. \
         Réponds dans la langue de l'élève (le français par défaut), de façon pédagogique, exacte et concise, \
         en t'appuyant d'abord sur les extraits de cours ci-dessous et en nommant les sections utilisées. \
         Reste dans le champ de la NSI ; si la question en sort, dis-le poliment."
    );
    if passages.is_empty() {
        system.push_str(
            "\n\nAucun extrait de cours ne correspond à la question : dis-le, puis aide au mieux.",
        );
    }
    for (n, passage) in passages.iter().take(5).enumerate() {
        system.push_str(&format!(
            "\n\n[{}] {} — {} :\n{}",
            n + 1,
            passage.course_title,
            passage.section_title,
            passage.excerpt
        ));
    }
    let mut messages = vec![json!({"role": "system", "content": system})];
    for (kind, content) in history {
        let role = if kind == "assistant" {
            "assistant"
        } else {
            "user"
        };
        messages.push(json!({"role": role, "content": content}));
    }
    messages.push(json!({"role": "user", "content": question}));
    messages
}

/// Why an answer is extractive: no model on this installation…
pub const OFF: &str =
    "La génération de réponses est désactivée sur cette installation (aucun modèle configuré)";
/// …or the model failed this time.
pub const UNAVAILABLE: &str = "Le modèle de langage est momentanément indisponible";

/// The answer from the passages alone, and its confidence: the best passage's rank
/// mapped to 0..1 (`s / (s + 0.1)`: a rank of 0.1 gives 0.5), 0 without any passage.
pub fn extractive_answer(passages: &[retrieval::Passage], why: &str) -> (String, f32) {
    let Some(best) = passages.first() else {
        return (
            format!(
                "{why}, et je n'ai trouvé aucun passage des cours qui corresponde à ta question. \
                 Essaie avec d'autres mots, ou demande à ton enseignant."
            ),
            0.0,
        );
    };
    let mut answer =
        format!("{why} : voici les passages des cours qui répondent le mieux à ta question.\n");
    for passage in passages.iter().take(3) {
        answer.push_str(&format!(
            "\n**{} — {}**\n{}\n",
            passage.course_title,
            passage.section_title,
            passage.excerpt.trim()
        ));
    }
    (answer, best.score / (best.score + 0.1))
}

async fn open_session(
    pool: &sqlx::PgPool,
    user_id: i64,
    requested: Option<&str>,
    first_message: &str,
) -> ApiResult<String> {
    if let Some(id) = requested {
        owned(pool, user_id, id).await?;
        return Ok(id.to_owned());
    }
    let id = uuid::Uuid::new_v4().to_string();
    let title: String = first_message.chars().take(80).collect();
    sqlx::query("insert into aria_sessions (user_id, session_id, title) values ($1, $2, $3)")
        .bind(user_id)
        .bind(&id)
        .bind(title)
        .execute(pool)
        .await?;
    Ok(id)
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct SessionSummary {
    session_id: String,
    title: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    last_interaction: chrono::DateTime<chrono::Utc>,
}

async fn list_sessions(user: CurrentUser, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    ensure_may_chat(&user)?;
    let sessions: Vec<SessionSummary> = sqlx::query_as(
        "select session_id, title, created_at, last_interaction from aria_sessions where user_id = $1 order by last_interaction desc limit 100",
    )
    .bind(user.id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(json!({"success": true, "sessions": sessions})))
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct MessageView {
    id: i64,
    message_type: String,
    content: String,
    sources: Value,
    created_at: chrono::DateTime<chrono::Utc>,
}

/// The session exists and is `user_id`'s; 404 otherwise (another's session is not
/// revealed).
async fn owned(pool: &sqlx::PgPool, user_id: i64, id: &str) -> ApiResult<()> {
    let owner: Option<i64> =
        sqlx::query_scalar("select user_id from aria_sessions where session_id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    match owner {
        Some(owner) if owner == user_id => Ok(()),
        _ => Err(ApiError::not_found("Session introuvable.")),
    }
}

async fn get_session(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    ensure_may_chat(&user)?;
    owned(&state.pool, user.id, &id).await?;
    let messages: Vec<MessageView> = sqlx::query_as(
        "select id, message_type, content, sources, created_at from aria_messages where session_id = $1 order by id",
    )
    .bind(&id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(
        json!({"success": true, "sessionId": id, "messages": messages}),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rename {
    title: String,
}

async fn rename_session(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<Rename>,
) -> ApiResult<Json<Value>> {
    ensure_may_chat(&user)?;
    owned(&state.pool, user.id, &id).await?;
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

async fn delete_session(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    ensure_may_chat(&user)?;
    owned(&state.pool, user.id, &id).await?;
    sqlx::query("delete from aria_sessions where session_id = $1")
        .bind(&id)
        .execute(&state.pool)
        .await?;
    Ok((StatusCode::OK, Json(json!({"success": true}))))
}
