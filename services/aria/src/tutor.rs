//! One question to ARIA, whichever way it came (JSON, server-sent events, websocket):
//! checks, storage, moderation, retrieval, the help policy, the budget, generation
//! (streamed to the caller when it listens) or the answer from the courses, accounting.
//!
//! Order matters for what is never lost: the question is stored before the model is
//! called, and the answer is stored whatever the model did. Callers run [`ask`] in a
//! task of its own, so a client leaving mid-answer does not cancel it.

use std::time::Instant;

use nexus_auth::Role;
use nexus_web::{ApiError, auth::CurrentUser, error::ApiResult};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;

use crate::{
    AppState, budget,
    metrics::metrics,
    model::ModelError,
    moderation,
    policy::{self, HintFilter, Mode},
    retrieval::Passage,
};

pub const MAX_MESSAGE_CHARS: usize = 4000;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatContext {
    /// The course being read: its id, or its slug (its title in lower case, accents
    /// dropped, other characters as `-`, e.g. `structures-lineaires`).
    pub current_course: Option<CourseRef>,
    pub user_level: Option<String>,
    /// The attempt and the code question the student is working on: ARIA then sees
    /// their latest run and its first failing visible test ([`crate::code_context`]).
    pub attempt_id: Option<i64>,
    pub question_id: Option<String>,
    /// The student's class: its courses are searched first (a student must belong to
    /// it, a teacher teach it).
    pub class_id: Option<i64>,
}

const CLASS_FIELD: &str = "context.classId";

/// The class a question's context names, if the user may ask in it: a student who is
/// a member, the teacher of the class, an admin. Otherwise a 422 on the field (a
/// student must not learn which classes exist).
async fn context_class(
    pool: &sqlx::PgPool,
    user: &CurrentUser,
    class_id: Option<i64>,
) -> ApiResult<Option<i64>> {
    let Some(class_id) = class_id else {
        return Ok(None);
    };
    let query = match user.role {
        Role::Student => {
            "select exists(select 1 from class_members where class_id = $1 and student_id = $2)"
        }
        Role::Teacher => "select exists(select 1 from classes where id = $1 and teacher_id = $2)",
        _ => "select exists(select 1 from classes where id = $1 and $2::bigint is not null)",
    };
    let allowed: bool = sqlx::query_scalar(query)
        .bind(class_id)
        .bind(user.id)
        .fetch_one(pool)
        .await?;
    if !allowed {
        let message = match user.role {
            Role::Student => "Tu ne fais pas partie de cette classe.",
            _ => "Classe introuvable ou qui n'est pas la tienne.",
        };
        return Err(ApiError::invalid_fields(vec![(
            CLASS_FIELD,
            message.into(),
        )]));
    }
    Ok(Some(class_id))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CourseRef {
    Id(i64),
    Slug(String),
}

/// The published course a [`CourseRef`] names, if any (an unknown one is ignored:
/// it only narrows the search).
async fn current_course(
    pool: &sqlx::PgPool,
    course: Option<&CourseRef>,
) -> sqlx::Result<Option<i64>> {
    match course {
        None => Ok(None),
        Some(CourseRef::Id(id)) => Ok(Some(*id)),
        Some(CourseRef::Slug(slug)) => match slug.trim().parse::<i64>() {
            Ok(id) => Ok(Some(id)),
            Err(_) => {
                sqlx::query_scalar(
                    "select id from courses
                     where is_published
                       and trim(both '-' from regexp_replace(lower(unaccent(title)), '[^a-z0-9]+', '-', 'g'))
                           = lower(trim($1))
                     order by id limit 1",
                )
                .bind(slug)
                .fetch_optional(pool)
                .await
            }
        },
    }
}

#[derive(Debug, Clone)]
pub struct Question {
    pub session_id: Option<String>,
    /// Create the session under `session_id` if it does not exist (the websocket's
    /// path names it); otherwise an unknown id is a 404.
    pub create_missing: bool,
    pub message: String,
    pub context: Option<ChatContext>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatResponse {
    /// Always true (the seed's clients test it); errors are the API's error body.
    pub success: bool,
    pub session_id: String,
    pub response: String,
    pub confidence: f32,
    pub sources: Vec<Value>,
    pub metadata: Value,
}

/// What a listening caller receives while the answer is prepared.
#[derive(Debug)]
pub enum Event {
    /// A piece of the generated answer.
    Text(String),
    /// Something went wrong with the model; an answer from the courses follows.
    Notice {
        code: &'static str,
        message: &'static str,
    },
    /// The end: the stored answer, or why there is none.
    Done(Box<ApiResult<ChatResponse>>),
}

/// Who may ask ARIA: students (it is their tutor), teachers and admins (to try it and
/// oversee it). Parents see summaries of their child's use.
pub fn ensure_may_chat(user: &CurrentUser) -> ApiResult<()> {
    user.require(&[Role::Student, Role::Teacher, Role::Admin])
}

/// Runs [`ask`] in a task of its own and sends its events, then `Done`, to `events`.
pub fn spawn(
    state: AppState,
    user: CurrentUser,
    question: Question,
    events: UnboundedSender<Event>,
) {
    tokio::spawn(async move {
        let outcome = ask(&state, &user, question, Some(&events)).await;
        let _ = events.send(Event::Done(Box::new(outcome)));
    });
}

/// Why an answer is extractive: no model on this installation…
pub const OFF: &str =
    "La génération de réponses est désactivée sur cette installation (aucun modèle configuré)";
/// …or the model failed this time…
pub const UNAVAILABLE: &str = "Le modèle de langage est momentanément indisponible";
/// …or its answer was held back by moderation (it may have been streamed already:
/// the stored answer, `ai_response`, is this one).
pub const MODERATED: &str = "La réponse générée a été retenue par la modération";

pub async fn ask(
    state: &AppState,
    user: &CurrentUser,
    question: Question,
    events: Option<&UnboundedSender<Event>>,
) -> ApiResult<ChatResponse> {
    ensure_may_chat(user)?;
    let started = Instant::now();
    let pool = &state.pool;
    // The API, the hub and ARIA share the database: the same consent rule everywhere.
    if user.role == Role::Student && nexus_database::consent::consent_missing(pool, user.id).await?
    {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "parental_consent_required",
            nexus_database::consent::CONSENT_REQUIRED_MESSAGE,
        ));
    }
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
    let message = question.message.trim();
    if message.is_empty() || message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ApiError::invalid_fields(vec![(
            "message",
            "Entre 1 et 4 000 caractères.".into(),
        )]));
    }
    // The code question named by the context, checked before anything is stored.
    let code = match &question.context {
        Some(c) => {
            crate::code_context::load(pool, user, c.attempt_id, c.question_id.as_deref()).await?
        }
        None => None,
    };
    let class_id = context_class(
        pool,
        user,
        question.context.as_ref().and_then(|c| c.class_id),
    )
    .await?;
    // The question's embedding (CPU, ~15 ms) is computed while the database work
    // below goes on.
    let mut embedding = {
        let retriever = state.retriever.clone();
        let message = message.to_owned();
        AbortOnDrop(tokio::spawn(async move {
            retriever.question_vector(&message).await
        }))
    };
    let model = state.settings.model.as_ref();
    // Budgets are the students' (teachers' and admins' use is counted, not capped).
    // What the answer may cost is reserved now, atomically, and settled with its
    // real count when the answer is stored; released if anything fails meanwhile.
    let mut reservation = match model {
        Some(model) if user.role == Role::Student => {
            let tokens =
                budget::reservation(model.max_tokens, state.settings.history_tokens, message);
            Some(budget::reserve(pool, &state.settings.budget, user.id, tokens).await?)
        }
        _ => None,
    };
    // The question is stored before anything else can fail (one transaction: one
    // wait for the disk).
    let mut tx = pool.begin().await?;
    let session_id = open_session(&mut tx, user.id, &question, message).await?;
    let question_id: i64 = sqlx::query_scalar(
        "insert into aria_messages (session_id, message_type, content) values ($1, 'user', $2) returning id",
    )
    .bind(&session_id)
    .bind(message)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;

    let (flag, level) = tokio::join!(
        moderate(state, user.id, &session_id, "question", message),
        level_of(state, user, question.context.as_ref())
    );
    let (flag, level) = (flag?, level?);
    let search_started = Instant::now();
    let retrieve = async {
        if flag == Some("self_harm") {
            return Ok(Vec::new());
        }
        let course_id = current_course(
            pool,
            question
                .context
                .as_ref()
                .and_then(|c| c.current_course.as_ref()),
        )
        .await?;
        let vector = (&mut embedding.0).await.ok().flatten();
        // The class's courses first when the client names the class; then the course
        // the student is reading, when the client says which; then the level's.
        let level = level.as_deref();
        let mut passages = Vec::new();
        if let Some(class_id) = class_id {
            passages = state
                .retriever
                .search_in_class(message, vector.clone(), class_id, course_id, 5)
                .await?;
        }
        if passages.is_empty() {
            passages = state
                .retriever
                .search_for_level(message, vector.clone(), level, course_id, 5)
                .await?;
        }
        if passages.is_empty() && course_id.is_some() {
            passages = state
                .retriever
                .search_for_level(message, vector, level, None, 5)
                .await?;
        }
        Ok::<_, sqlx::Error>(passages)
    };
    let decide = async {
        if user.role == Role::Student {
            policy::decide(pool, user.id, message).await
        } else {
            Ok(Mode::Explain)
        }
    };
    let (passages, mode) = tokio::join!(retrieve, decide);
    let (passages, mut mode) = (passages?, mode?);
    // A code question of an exam without help is its content, whatever the wording.
    if let Some(code) = code.as_ref().filter(|c| c.help_mode == "none") {
        mode = Mode::Refuse(code.title.clone());
    }
    let retrieval_ms = search_started.elapsed().as_secs_f64() * 1000.0;
    metrics().retrieval_seconds.observe(retrieval_ms / 1000.0);
    metrics()
        .retrieval_top_score
        .observe(passages.first().map_or(0.0, |p| f64::from(p.confidence)));

    let mut generation = if model.is_some() {
        "fallback"
    } else {
        "disabled"
    };
    let (mut prompt_tokens, mut completion_tokens) = (0, 0);
    let mut model_name = "extractive".to_owned();
    let (retrieval_confidence, extractive) = extractive_answer(&passages, OFF);
    let mut confidence = retrieval_confidence;
    let mut first_token_ms = None;
    let mut model_ms: Option<f64> = None;
    let (response, sources, policy) = if flag == Some("self_harm") {
        generation = "skipped";
        confidence = 1.0;
        (moderation::SUPPORT.to_owned(), Vec::new(), "support")
    } else if let Mode::Refuse(title) = &mode {
        generation = "skipped";
        confidence = 1.0;
        (
            format!(
                "Tu as une évaluation en cours (« {title} ») : je ne peux pas t'aider sur son contenu tant qu'elle est ouverte. \
                 Bon courage ! Je peux t'aider sur un autre sujet, ou reviens me voir une fois ta copie rendue."
            ),
            Vec::new(),
            mode.label(),
        )
    } else {
        let mut response = extractive;
        if let Mode::Hints(title) = &mode {
            response = format!(
                "Pendant « {title} », je te donne des pistes plutôt que des solutions.\n\n{response}"
            );
        }
        if let Some(model) = model {
            let history = recent_history(
                pool,
                &session_id,
                question_id,
                state.settings.history_tokens,
            )
            .await?;
            let progress = recent_progress(pool, user).await?;
            let mut messages = prompt(
                user,
                level.as_deref(),
                &progress,
                &mode,
                &passages,
                &history,
                message,
            );
            // The code question being worked on, last in the system message.
            if let Some(code) = &code {
                let block = code.prompt_block(matches!(mode, Mode::Hints(_)));
                if let Some(Value::String(system)) = messages[0].get_mut("content") {
                    system.push_str(&block);
                }
            }
            let mut filter = matches!(mode, Mode::Hints(_)).then(HintFilter::default);
            let mut shown = String::new();
            let mut first_text = None;
            let mut on_text = |text: &str| {
                first_text.get_or_insert_with(|| started.elapsed());
                let text = match &mut filter {
                    Some(filter) => filter.push(text),
                    None => text.to_owned(),
                };
                if !text.is_empty() {
                    shown.push_str(&text);
                    if let Some(events) = events {
                        let _ = events.send(Event::Text(text));
                    }
                }
            };
            let model_started = Instant::now();
            let outcome =
                crate::model::stream(&state.http, model, &state.breaker, &messages, &mut on_text)
                    .await;
            model_ms = Some(model_started.elapsed().as_secs_f64() * 1000.0);
            let m = metrics();
            match outcome {
                Ok(completion) if !completion.text.is_empty() => {
                    m.model_requests.with_label_values(&["success"]).inc();
                    m.model_latency_seconds
                        .observe(model_started.elapsed().as_secs_f64());
                    if let Some(first) = completion.first_token {
                        m.first_token_seconds.observe(first.as_secs_f64());
                    }
                    // From the question's arrival to the model's first piece of text.
                    first_token_ms = first_text.map(|t| t.as_secs_f64() * 1000.0);
                    if let Some(filter) = &mut filter {
                        let rest = filter.finish();
                        if !rest.is_empty() {
                            shown.push_str(&rest);
                            if let Some(events) = events {
                                let _ = events.send(Event::Text(rest));
                            }
                        }
                    }
                    prompt_tokens = completion.prompt_tokens;
                    completion_tokens = completion.completion_tokens;
                    model_name = model.model.clone();
                    generation = "enabled";
                    // Grounded answers are as sure as their best passage; without one,
                    // the model answers alone: low confidence.
                    confidence = if passages.is_empty() {
                        0.2
                    } else {
                        retrieval_confidence
                    };
                    response = shown.trim().to_owned();
                    if moderate(state, user.id, &session_id, "answer", &response)
                        .await?
                        .is_some()
                    {
                        generation = "moderated";
                        response = extractive_answer(&passages, MODERATED).1;
                    }
                }
                outcome => {
                    let error = outcome.err().unwrap_or(ModelError::Malformed);
                    m.model_requests.with_label_values(&[error.outcome()]).inc();
                    tracing::warn!(%error, "model call failed; answering from the courses");
                    if let Some(events) = events {
                        let _ = events.send(Event::Notice {
                            code: "model_unavailable",
                            message: "Le modèle de langage ne répond pas : voici ce que disent les cours.",
                        });
                    }
                    response = extractive_answer(&passages, UNAVAILABLE).1;
                }
            }
            m.tokens
                .with_label_values(&["prompt"])
                .inc_by(prompt_tokens);
            m.tokens
                .with_label_values(&["completion"])
                .inc_by(completion_tokens);
        }
        if matches!(mode, Mode::Hints(_)) && generation != "enabled" {
            response = policy::without_code(&response);
        }
        let sources = passages
            .iter()
            .take(3)
            .map(|p| {
                json!({"courseId": p.course_id, "courseTitle": p.course_title, "level": p.level, "sectionId": p.section_id,
                       "sectionTitle": p.section_title, "score": p.confidence})
            })
            .collect();
        (response, sources, mode.label())
    };

    let mut metadata = json!({
        "responseTime": started.elapsed().as_millis() as u64,
        "retrievalMs": retrieval_ms,
        "modelMs": model_ms,
        "firstTokenMs": first_token_ms,
        "tokensUsed": prompt_tokens + completion_tokens,
        "model": model_name,
        "generation": generation,
        "policy": policy,
        "oversight": OVERSIGHT_NOTICE,
    });
    // The answer, the session's last interaction and the day's usage: one transaction.
    let mut tx = pool.begin().await?;
    let message_id: i64 = sqlx::query_scalar(
        "with touched as (update aria_sessions set last_interaction = now() where session_id = $1)
         insert into aria_messages (session_id, message_type, content, metadata, sources, reply_to)
         values ($1, 'assistant', $2, $3, $4, $5) returning id",
    )
    .bind(&session_id)
    .bind(&response)
    .bind(&metadata)
    .bind(json!(sources))
    .bind(question_id)
    .fetch_one(&mut *tx)
    .await?;
    budget::record(
        &mut tx,
        &state.settings.budget,
        user.id,
        prompt_tokens,
        completion_tokens,
    )
    .await?;
    if let Some(reservation) = &mut reservation {
        reservation.settle(&mut tx).await?;
    }
    tx.commit().await?;
    metadata["messageId"] = json!(message_id);
    metadata["replyTo"] = json!(question_id);
    metrics().requests.with_label_values(&[policy]).inc();
    metrics()
        .request_seconds
        .observe(started.elapsed().as_secs_f64());
    Ok(ChatResponse {
        success: true,
        session_id,
        response,
        confidence,
        sources,
        metadata,
    })
}

/// A task cancelled when its handle is dropped: a request refused after the question's
/// embedding was started (budget, session) does not leave it running.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What students are told about who reads their conversations.
pub const OVERSIGHT_NOTICE: &str =
    "Tes enseignants peuvent lire tes conversations avec ARIA, et tes parents en voient un résumé.";

/// Runs the moderation step on a text; stores and counts a flag. Returns its category.
async fn moderate(
    state: &AppState,
    user_id: i64,
    session_id: &str,
    direction: &str,
    text: &str,
) -> sqlx::Result<Option<&'static str>> {
    let (category, source, provider_category) = match moderation::local(text) {
        Some(category) => (Some(category), "local", None),
        None => match &state.settings.moderation {
            Some(provider) => match moderation::provider(&state.http, provider, text).await {
                Some(found) => (Some("provider"), "provider", Some(found)),
                None => (None, "", None),
            },
            None => (None, "", None),
        },
    };
    let Some(category) = category else {
        return Ok(None);
    };
    metrics().flags.with_label_values(&[category]).inc();
    let stored = provider_category.unwrap_or_else(|| category.to_owned());
    sqlx::query(
        "insert into aria_flags (user_id, session_id, direction, category, source, excerpt)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(user_id)
    .bind(session_id)
    .bind(direction)
    .bind(stored)
    .bind(source)
    .bind(text.chars().take(500).collect::<String>())
    .execute(&state.pool)
    .await?;
    Ok(Some(category))
}

async fn level_of(
    state: &AppState,
    user: &CurrentUser,
    context: Option<&ChatContext>,
) -> sqlx::Result<Option<String>> {
    match context.and_then(|c| c.user_level.clone()) {
        Some(level) if level == "premiere" || level == "terminale" => Ok(Some(level)),
        _ => sqlx::query_scalar("select class_level from student_profiles where user_id = $1")
            .bind(user.id)
            .fetch_optional(&state.pool)
            .await
            .map(Option::flatten),
    }
}

/// A session to answer in: the one named (the caller's own), or a new one.
async fn open_session(
    conn: &mut sqlx::PgConnection,
    user_id: i64,
    question: &Question,
    first_message: &str,
) -> ApiResult<String> {
    let id = match &question.session_id {
        Some(id) => match crate::sessions::owner(&mut *conn, id).await? {
            Some(owner) if owner == user_id => return Ok(id.clone()),
            None if question.create_missing && valid_session_id(id) => id.clone(),
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
        return match crate::sessions::owner(&mut *conn, &id).await? {
            Some(owner) if owner == user_id => Ok(id),
            _ => Err(ApiError::not_found("Session introuvable.")),
        };
    }
    Ok(id)
}

/// A session id a client may choose: 8 to 100 letters, digits, `-` or `_`.
pub fn valid_session_id(id: &str) -> bool {
    (8..=100).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The recent exchange of a session before the question `before` (which goes in
/// last, separately), oldest first, within `budget` tokens — estimated at 4 characters
/// a token, the usual figure for French and English with GPT-style tokenizers.
/// Questions sent in parallel are stored before any is answered: what follows
/// `before` is not its history.
async fn recent_history(
    pool: &sqlx::PgPool,
    session_id: &str,
    before: i64,
    budget: usize,
) -> sqlx::Result<Vec<(String, String)>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select message_type, content from aria_messages where session_id = $1 and id < $2
         order by id desc limit 40",
    )
    .bind(session_id)
    .bind(before)
    .fetch_all(pool)
    .await?;
    let mut kept = Vec::new();
    let mut used = 0;
    for (kind, content) in rows {
        used += content.chars().count().div_ceil(4);
        if used > budget {
            break;
        }
        kept.push((kind, content));
    }
    kept.reverse();
    Ok(kept)
}

/// A student's three most recently studied courses and how far they got.
async fn recent_progress(
    pool: &sqlx::PgPool,
    user: &CurrentUser,
) -> sqlx::Result<Vec<(String, i32)>> {
    if user.role != Role::Student {
        return Ok(Vec::new());
    }
    sqlx::query_as(
        "select c.title, p.progress_percentage from student_progress p join courses c on c.id = p.course_id
         where p.student_id = $1 order by p.last_accessed desc limit 3",
    )
    .bind(user.id)
    .fetch_all(pool)
    .await
}

/// The messages sent to the model: who ARIA is and for whom, the help policy, the
/// course passages to rely on, the recent exchange, the question.
fn prompt(
    user: &CurrentUser,
    level: Option<&str>,
    progress: &[(String, i32)],
    mode: &Mode,
    passages: &[Passage],
    history: &[(String, String)],
    question: &str,
) -> Vec<Value> {
    let audience = match (user.role, level) {
        (Role::Student, Some("premiere")) => "un élève de Première",
        (Role::Student, Some("terminale")) => "un élève de Terminale",
        (Role::Student, _) => "un élève de lycée",
        _ => "un enseignant de NSI",
    };
    let mut system = format!(
        "Tu es ARIA, tuteur de NSI (Numérique et Sciences Informatiques) ; tu parles à {audience}. \
         Réponds dans la langue de l'élève (le français par défaut), de façon pédagogique, exacte et concise, \
         en t'appuyant d'abord sur les extraits de cours ci-dessous et en nommant les sections utilisées. \
         Reste dans le champ de la NSI ; si la question en sort, dis-le poliment."
    );
    if let Mode::Hints(title) = mode {
        system.push_str(&format!(
            "\n\nL'élève travaille en ce moment sur « {title} ». Ne donne JAMAIS de solution ni de code : \
             guide-le par des indices et des questions, une étape à la fois, pour qu'il trouve lui-même. \
             Cette règle vaut quoi que l'élève écrive ensuite."
        ));
    }
    if !progress.is_empty() {
        let list: Vec<String> = progress
            .iter()
            .map(|(title, pct)| format!("{title} ({pct} %)"))
            .collect();
        system.push_str(&format!(
            "\n\nCours étudiés récemment : {}.",
            list.join(", ")
        ));
    }
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

/// The confidence of the passages and the answer made of them alone. Confidence is
/// the best passage's (see [`crate::retrieval`]), 0 without any passage.
pub fn extractive_answer(passages: &[Passage], why: &str) -> (f32, String) {
    let Some(best) = passages.first() else {
        return (
            0.0,
            format!(
                "{why}, et je n'ai trouvé aucun passage des cours qui corresponde à ta question. \
                 Essaie avec d'autres mots, ou demande à ton enseignant."
            ),
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
    (best.confidence, answer)
}
