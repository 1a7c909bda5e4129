//! One question to ARIA, whichever way it came (JSON, server-sent events, websocket),
//! answered in named steps. [`ask`] admits the question (who asks, consent, rate, size,
//! the context it names), sets its budget aside and stores it; then:
//! 1. `retrieve`: the course passages for it;
//! 2. `decide`: what to do with it — the support message, a refusal, hints or a full
//!    explanation (run alongside step 1: both wait for the database);
//! 3. `generate_or_refuse`: the answer — written in advance (support, refusal), generated
//!    by the model (streamed to the caller when it listens) or made of the courses;
//! 4. `store_answer`: the answer and the day's usage, stored; then it is returned.
//!
//! Each step takes and returns a type of its own (`Asked`, `Retrieved`, `Decision`,
//! `Reply`, and [`Metadata`] and [`Source`] as stored and returned).
//!
//! Order matters for what is never lost: the question is stored before the model is
//! called, and the answer is stored whatever the model did. Callers run [`ask`] in a
//! task of its own, so a client leaving mid-answer does not cancel it.

use std::time::{Duration, Instant};

use nexus_auth::Role;
use nexus_database::assessments::HelpMode;
use nexus_database::levels::ClassLevel;
use nexus_web::{ApiError, auth::CurrentUser, error::ApiResult};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::types::Json;
use tokio::sync::mpsc::UnboundedSender;

use crate::{
    AppState,
    answer::{self, ChatResponse, Generation, Metadata, OVERSIGHT_NOTICE, Source},
    budget::{self, Reservation},
    code_context::CodeContext,
    metrics::metrics,
    model::{Completion, ModelError, ModelSettings},
    moderation,
    policy::{self, HintFilter, Mode},
    retrieval::Passage,
    sessions::{self, ensure_may_chat},
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

/// The pipeline (see the module's documentation). Everything the question names is
/// checked before it is stored; once stored, it gets an answer.
pub async fn ask(
    state: &AppState,
    user: &CurrentUser,
    question: Question,
    events: Option<&UnboundedSender<Event>>,
) -> ApiResult<ChatResponse> {
    let started = Instant::now();
    let message = admit(state, user, &question.message).await?;
    let context = question.context.as_ref();
    let scope = scope(&state.pool, user, context).await?;
    let mut embedding = embed_in_background(state, message);
    let reservation = reserve(state, user, message).await?;
    let thread = store_question(&state.pool, user.id, &question, message).await?;
    let (flag, level) = tokio::join!(
        moderate(state, user.id, &thread.session_id, "question", message),
        level_of(state, user, context)
    );
    let (flag, level) = (flag?, level?);
    let asked = Asked {
        user,
        message,
        started,
        scope,
        level,
        thread,
    };
    let distress = flag == Some("self_harm");
    let (retrieved, decision) =
        retrieve_and_decide(state, &asked, &mut embedding, distress).await?;
    let reply = generate_or_refuse(state, &asked, &decision, &retrieved.passages, events).await?;
    let metadata = metadata(&asked, &reply, decision.label(), retrieved.ms);
    let message_id = store_answer(state, &asked, &reply, &metadata, reservation).await?;
    Ok(respond(asked, reply, metadata, message_id))
}

/// Who asks, and what: the right to use ARIA, parental consent, the rate limit, the
/// message's length. The message, trimmed.
async fn admit<'a>(state: &AppState, user: &CurrentUser, message: &'a str) -> ApiResult<&'a str> {
    ensure_may_chat(user)?;
    // The API, the hub and ARIA share the database: the same consent rule everywhere.
    if user.role == Role::Student
        && nexus_database::consent::consent_missing(&state.pool, user.id).await?
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
    let message = message.trim();
    if message.is_empty() || message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ApiError::invalid_fields(vec![(
            "message",
            "Entre 1 et 4 000 caractères.".into(),
        )]));
    }
    Ok(message)
}

/// What the question's context narrows, checked before anything is stored: a refused
/// context is a 422, not a stored question without an answer.
struct Scope<'a> {
    /// The code question being worked on (its help mode may refuse the question).
    code: Option<CodeContext>,
    /// The class whose courses are searched first.
    class_id: Option<i64>,
    /// The course being read, resolved when searching (an unknown one is ignored).
    course: Option<&'a CourseRef>,
}

async fn scope<'a>(
    pool: &sqlx::PgPool,
    user: &CurrentUser,
    context: Option<&'a ChatContext>,
) -> ApiResult<Scope<'a>> {
    let code = match context {
        Some(c) => {
            crate::code_context::load(pool, user, c.attempt_id, c.question_id.as_deref()).await?
        }
        None => None,
    };
    let class_id = context_class(pool, user, context.and_then(|c| c.class_id)).await?;
    Ok(Scope {
        code,
        class_id,
        course: context.and_then(|c| c.current_course.as_ref()),
    })
}

/// The question's embedding (CPU, ~15 ms), computed while the database work of the
/// next steps goes on.
fn embed_in_background(state: &AppState, message: &str) -> AbortOnDrop<Option<Vec<f32>>> {
    let retriever = state.retriever.clone();
    let message = message.to_owned();
    AbortOnDrop(tokio::spawn(async move {
        retriever.question_vector(&message).await
    }))
}

/// Budgets are the students' (teachers' and admins' use is counted, not capped). What
/// the answer may cost is reserved now, atomically, and settled with its real count
/// when the answer is stored; released if anything fails meanwhile.
async fn reserve(
    state: &AppState,
    user: &CurrentUser,
    message: &str,
) -> ApiResult<Option<Reservation>> {
    match &state.settings.model {
        Some(model) if user.role == Role::Student => {
            let tokens =
                budget::reservation(model.max_tokens, state.settings.history_tokens, message);
            let reserved = budget::reserve(&state.pool, &state.settings.budget, user.id, tokens);
            Ok(Some(reserved.await?))
        }
        _ => Ok(None),
    }
}

/// Where a stored question is.
struct Thread {
    session_id: String,
    question_id: i64,
}

/// The question is stored before anything else can fail (one transaction: one wait for
/// the disk), in the session it names or a new one.
async fn store_question(
    pool: &sqlx::PgPool,
    user_id: i64,
    question: &Question,
    message: &str,
) -> ApiResult<Thread> {
    let mut tx = pool.begin().await?;
    let named = question.session_id.as_deref();
    let session_id =
        sessions::open(&mut tx, user_id, named, question.create_missing, message).await?;
    let question_id: i64 = sqlx::query_scalar(
        "insert into aria_messages (session_id, message_type, content) values ($1, 'user', $2) returning id",
    )
    .bind(&session_id)
    .bind(message)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Thread {
        session_id,
        question_id,
    })
}

/// A question admitted and stored: what the steps that follow need to know of it.
struct Asked<'a> {
    user: &'a CurrentUser,
    /// Trimmed.
    message: &'a str,
    /// When the question arrived: the answer's timings count from it.
    started: Instant,
    scope: Scope<'a>,
    /// The student's level: the client's, or their profile's.
    level: Option<ClassLevel>,
    thread: Thread,
}

/// Step 1's result: the passages, best first, and how long steps 1 and 2 took.
struct Retrieved {
    passages: Vec<Passage>,
    ms: f64,
}

/// Step 2's result: what to do with the question — decided from the moderation flag,
/// the help policy and the code question, never from the passages found.
enum Decision {
    /// The question shows distress: the support message, nothing else.
    Support,
    /// The help policy's mode: a refusal, hints only, or a full explanation.
    Policy(Mode),
}

impl Decision {
    /// The `policy` of the answer's metadata and of `aria_requests_total`.
    fn label(&self) -> &'static str {
        match self {
            Decision::Support => "support",
            Decision::Policy(mode) => mode.label(),
        }
    }
}

/// Steps 1 and 2, side by side. A question showing distress searches nothing: its
/// answer is the support message.
async fn retrieve_and_decide(
    state: &AppState,
    asked: &Asked<'_>,
    embedding: &mut AbortOnDrop<Option<Vec<f32>>>,
    distress: bool,
) -> ApiResult<(Retrieved, Decision)> {
    let started = Instant::now();
    let search = async {
        if distress {
            return Ok(Vec::new());
        }
        retrieve(state, asked, embedding).await
    };
    let (passages, mode) = tokio::join!(search, help_mode(&state.pool, asked.user, asked.message));
    let (passages, mode) = (passages?, mode?);
    let decision = decide(distress, mode, asked.scope.code.as_ref());
    let ms = millis(started.elapsed());
    metrics().retrieval_seconds.observe(ms / 1000.0);
    metrics()
        .retrieval_top_score
        .observe(passages.first().map_or(0.0, |p| f64::from(p.confidence)));
    Ok((Retrieved { passages, ms }, decision))
}

/// Step 1: the passages, where [`crate::retrieval::Retriever::search_for_student`]
/// looks (the class's courses, the course being read, the student's level).
async fn retrieve(
    state: &AppState,
    asked: &Asked<'_>,
    embedding: &mut AbortOnDrop<Option<Vec<f32>>>,
) -> sqlx::Result<Vec<Passage>> {
    let course_id = current_course(&state.pool, asked.scope.course).await?;
    let vector = (&mut embedding.0).await.ok().flatten();
    state
        .retriever
        .search_for_student(
            asked.message,
            vector.as_deref(),
            asked.scope.class_id,
            asked.level,
            course_id,
            5,
        )
        .await
}

/// The help policy binds students; teachers and admins get full explanations.
async fn help_mode(pool: &sqlx::PgPool, user: &CurrentUser, message: &str) -> sqlx::Result<Mode> {
    if user.role == Role::Student {
        policy::decide(pool, user.id, message).await
    } else {
        Ok(Mode::Explain)
    }
}

/// Step 2: distress first; then the help policy — except that a code question of an
/// exam without help is its content, whatever the wording.
fn decide(distress: bool, mode: Mode, code: Option<&CodeContext>) -> Decision {
    if distress {
        return Decision::Support;
    }
    match code.filter(|c| c.help_mode == HelpMode::None) {
        Some(code) => Decision::Policy(Mode::Refuse(code.title.clone())),
        None => Decision::Policy(mode),
    }
}

/// Step 3's result: the answer and how it was made, before it is stored.
struct Reply {
    text: String,
    confidence: f32,
    sources: Vec<Source>,
    generation: Generation,
    model: ModelUse,
}

/// What the model did for an answer.
struct ModelUse {
    /// The model's name; `extractive` when none of its text is in the answer.
    name: String,
    prompt_tokens: u64,
    completion_tokens: u64,
    /// How long the call took, when the model was called.
    ms: Option<f64>,
    /// From the question's arrival to the model's first piece of text.
    first_token_ms: Option<f64>,
}

impl ModelUse {
    /// No text of the model's: not called (`ms` is `None`), or failed after `ms`.
    fn extractive(ms: Option<f64>) -> Self {
        ModelUse {
            name: "extractive".to_owned(),
            prompt_tokens: 0,
            completion_tokens: 0,
            ms,
            first_token_ms: None,
        }
    }
}

impl Reply {
    /// The support message or a refusal, written in advance: sure of itself, without
    /// sources or model.
    fn written(text: String) -> Self {
        Reply {
            text,
            confidence: 1.0,
            sources: Vec::new(),
            generation: Generation::Skipped,
            model: ModelUse::extractive(None),
        }
    }

    /// An answer made of the passages alone: as sure as the best of them.
    fn from_courses(
        text: String,
        passages: &[Passage],
        generation: Generation,
        model_ms: Option<f64>,
    ) -> Self {
        Reply {
            text,
            confidence: confidence(passages),
            sources: Vec::new(),
            generation,
            model: ModelUse::extractive(model_ms),
        }
    }
}

/// Step 3: the support message or a refusal, written in advance, or an answer.
async fn generate_or_refuse(
    state: &AppState,
    asked: &Asked<'_>,
    decision: &Decision,
    passages: &[Passage],
    events: Option<&UnboundedSender<Event>>,
) -> ApiResult<Reply> {
    match decision {
        Decision::Support => Ok(Reply::written(moderation::SUPPORT.to_owned())),
        Decision::Policy(Mode::Refuse(title)) => Ok(Reply::written(refusal(title))),
        Decision::Policy(mode) => answer(state, asked, mode, passages, events).await,
    }
}

/// The answer to a question on an assessment in progress that allows no help.
fn refusal(title: &str) -> String {
    format!(
        "Tu as une évaluation en cours (« {title} ») : je ne peux pas t'aider sur son contenu tant qu'elle est ouverte. \
         Bon courage ! Je peux t'aider sur un autre sujet, ou reviens me voir une fois ta copie rendue."
    )
}

/// An answer under the help policy: generated when there is a model, from the courses
/// otherwise. In hints mode, code is removed from it unless the model wrote it (its
/// text went through the hints filter as it came). Its sources are the best passages.
async fn answer(
    state: &AppState,
    asked: &Asked<'_>,
    mode: &Mode,
    passages: &[Passage],
    events: Option<&UnboundedSender<Event>>,
) -> ApiResult<Reply> {
    let mut reply = match &state.settings.model {
        Some(model) => generate(state, model, asked, mode, passages, events).await?,
        None => {
            let text = hinted(mode, extractive_answer(passages, OFF));
            Reply::from_courses(text, passages, Generation::Disabled, None)
        }
    };
    if matches!(mode, Mode::Hints(_)) && reply.generation != Generation::Enabled {
        reply.text = policy::without_code(&reply.text);
    }
    reply.sources = passages.iter().take(3).map(answer::source).collect();
    Ok(reply)
}

/// In hints mode, the answer from the courses (no model) says why it gives no solution.
fn hinted(mode: &Mode, answer: String) -> String {
    match mode {
        Mode::Hints(title) => format!(
            "Pendant « {title} », je te donne des pistes plutôt que des solutions.\n\n{answer}"
        ),
        _ => answer,
    }
}

/// Generation proper: the prompt, the model's text shown to the caller as it comes,
/// then moderated. When the model fails, the answer is from the courses.
async fn generate(
    state: &AppState,
    model: &ModelSettings,
    asked: &Asked<'_>,
    mode: &Mode,
    passages: &[Passage],
    events: Option<&UnboundedSender<Event>>,
) -> ApiResult<Reply> {
    let messages = model_messages(state, asked, mode, passages).await?;
    let mut shown = Shown::new(events, matches!(mode, Mode::Hints(_)), asked.started);
    let called = Instant::now();
    let mut on_text = |text: &str| shown.push(text);
    let outcome =
        crate::model::stream(&state.http, model, &state.breaker, &messages, &mut on_text).await;
    let elapsed = called.elapsed();
    let completion = match outcome {
        Ok(completion) if !completion.text.is_empty() => completion,
        outcome => {
            let error = outcome.err().unwrap_or(ModelError::Malformed);
            return Ok(fallback(error, passages, events, elapsed));
        }
    };
    let used = succeeded(model, &completion, elapsed, shown.first_text);
    let reply = Reply {
        text: shown.finish(),
        // Grounded answers are as sure as their best passage; without one, the model
        // answers alone: low confidence.
        confidence: if passages.is_empty() {
            0.2
        } else {
            confidence(passages)
        },
        sources: Vec::new(),
        generation: Generation::Enabled,
        model: used,
    };
    let reply = moderated(state, asked, reply, passages).await?;
    let m = metrics();
    m.tokens
        .with_label_values(&["prompt"])
        .inc_by(reply.model.prompt_tokens);
    m.tokens
        .with_label_values(&["completion"])
        .inc_by(reply.model.completion_tokens);
    Ok(reply)
}

/// The model's messages: [`prompt`]'s, from the session's recent exchange and the
/// student's progress.
async fn model_messages(
    state: &AppState,
    asked: &Asked<'_>,
    mode: &Mode,
    passages: &[Passage],
) -> sqlx::Result<Vec<Value>> {
    let (pool, thread) = (&state.pool, &asked.thread);
    let budget = state.settings.history_tokens;
    let history = recent_history(pool, &thread.session_id, thread.question_id, budget).await?;
    let progress = recent_progress(pool, asked.user).await?;
    let system = system_prompt(
        asked.user,
        asked.level,
        &progress,
        mode,
        passages,
        asked.scope.code.as_ref(),
    );
    Ok(prompt(system, &history, asked.message))
}

/// The model answered: its call counted, and what it cost.
fn succeeded(
    model: &ModelSettings,
    completion: &Completion,
    elapsed: Duration,
    first_text: Option<Duration>,
) -> ModelUse {
    let m = metrics();
    m.model_requests.with_label_values(&["success"]).inc();
    m.model_latency_seconds.observe(elapsed.as_secs_f64());
    if let Some(first) = completion.first_token {
        m.first_token_seconds.observe(first.as_secs_f64());
    }
    ModelUse {
        name: model.model.clone(),
        prompt_tokens: completion.prompt_tokens,
        completion_tokens: completion.completion_tokens,
        ms: Some(millis(elapsed)),
        first_token_ms: first_text.map(millis),
    }
}

/// The model failed (or wrote nothing): counted, logged, the caller told; the answer
/// is from the courses.
fn fallback(
    error: ModelError,
    passages: &[Passage],
    events: Option<&UnboundedSender<Event>>,
    elapsed: Duration,
) -> Reply {
    metrics()
        .model_requests
        .with_label_values(&[error.outcome()])
        .inc();
    tracing::warn!(%error, "model call failed; answering from the courses");
    if let Some(events) = events {
        let _ = events.send(Event::Notice {
            code: "model_unavailable",
            message: "Le modèle de langage ne répond pas : voici ce que disent les cours.",
        });
    }
    let text = extractive_answer(passages, UNAVAILABLE);
    Reply::from_courses(text, passages, Generation::Fallback, Some(millis(elapsed)))
}

/// The generated answer goes through moderation too. A flagged one (already shown,
/// perhaps) is stored and returned as the answer from the courses; the model's use
/// still counts.
async fn moderated(
    state: &AppState,
    asked: &Asked<'_>,
    mut reply: Reply,
    passages: &[Passage],
) -> sqlx::Result<Reply> {
    let session_id = &asked.thread.session_id;
    if moderate(state, asked.user.id, session_id, "answer", &reply.text)
        .await?
        .is_some()
    {
        reply.generation = Generation::Moderated;
        reply.text = extractive_answer(passages, MODERATED);
    }
    Ok(reply)
}

/// What the caller is shown of the model's text while it is written — each piece,
/// through the [`HintFilter`] in hints mode — kept to be stored, and when it started.
struct Shown<'a> {
    events: Option<&'a UnboundedSender<Event>>,
    filter: Option<HintFilter>,
    text: String,
    started: Instant,
    /// From the question's arrival to the model's first piece (even one filtered out).
    first_text: Option<Duration>,
}

impl<'a> Shown<'a> {
    fn new(events: Option<&'a UnboundedSender<Event>>, hints: bool, started: Instant) -> Self {
        Shown {
            events,
            filter: hints.then(HintFilter::default),
            text: String::new(),
            started,
            first_text: None,
        }
    }

    fn push(&mut self, piece: &str) {
        self.first_text
            .get_or_insert_with(|| self.started.elapsed());
        let piece = match &mut self.filter {
            Some(filter) => filter.push(piece),
            None => piece.to_owned(),
        };
        self.show(piece);
    }

    fn show(&mut self, piece: String) {
        if piece.is_empty() {
            return;
        }
        self.text.push_str(&piece);
        if let Some(events) = self.events {
            let _ = events.send(Event::Text(piece));
        }
    }

    /// The model is done: what the filter held back is judged and shown; the text.
    fn finish(mut self) -> String {
        if let Some(rest) = self.filter.as_mut().map(HintFilter::finish) {
            self.show(rest);
        }
        self.text.trim().to_owned()
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The answer's metadata as stored: how it was made, and how long it took until now.
fn metadata(asked: &Asked<'_>, reply: &Reply, policy: &'static str, retrieval_ms: f64) -> Metadata {
    let model = &reply.model;
    Metadata {
        response_time: asked.started.elapsed().as_millis() as u64,
        retrieval_ms,
        model_ms: model.ms,
        first_token_ms: model.first_token_ms,
        tokens_used: model.prompt_tokens + model.completion_tokens,
        model: model.name.clone(),
        generation: reply.generation,
        policy: policy.to_owned(),
        oversight: OVERSIGHT_NOTICE.to_owned(),
        message_id: None,
        reply_to: None,
    }
}

/// Step 4: the answer, the session's last interaction and the day's usage in one
/// transaction, the budget's reservation settled in it. The answer's row id.
async fn store_answer(
    state: &AppState,
    asked: &Asked<'_>,
    reply: &Reply,
    metadata: &Metadata,
    mut reservation: Option<Reservation>,
) -> sqlx::Result<i64> {
    let mut tx = state.pool.begin().await?;
    let message_id: i64 = sqlx::query_scalar(
        "with touched as (update aria_sessions set last_interaction = now() where session_id = $1)
         insert into aria_messages (session_id, message_type, content, metadata, sources, reply_to)
         values ($1, 'assistant', $2, $3, $4, $5) returning id",
    )
    .bind(&asked.thread.session_id)
    .bind(&reply.text)
    .bind(Json(metadata))
    .bind(Json(&reply.sources))
    .bind(asked.thread.question_id)
    .fetch_one(&mut *tx)
    .await?;
    let (settings, model) = (&state.settings.budget, &reply.model);
    let (prompt, completion) = (model.prompt_tokens, model.completion_tokens);
    budget::record(&mut tx, settings, asked.user.id, prompt, completion).await?;
    if let Some(reservation) = &mut reservation {
        reservation.settle(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(message_id)
}

/// The stored answer as returned: its metadata name its row and its question.
fn respond(
    asked: Asked<'_>,
    reply: Reply,
    mut metadata: Metadata,
    message_id: i64,
) -> ChatResponse {
    metadata.message_id = Some(message_id);
    metadata.reply_to = Some(asked.thread.question_id);
    metrics()
        .requests
        .with_label_values(&[metadata.policy.as_str()])
        .inc();
    metrics()
        .request_seconds
        .observe(asked.started.elapsed().as_secs_f64());
    ChatResponse {
        success: true,
        session_id: asked.thread.session_id,
        response: reply.text,
        confidence: reply.confidence,
        sources: reply.sources,
        metadata,
    }
}

/// A task cancelled when its handle is dropped: a request refused after the question's
/// embedding was started (budget, session) does not leave it running.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

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
) -> sqlx::Result<Option<ClassLevel>> {
    match context.and_then(|c| c.user_level.as_deref().and_then(ClassLevel::parse)) {
        Some(level) => Ok(Some(level)),
        None => sqlx::query_scalar("select class_level from student_profiles where user_id = $1")
            .bind(user.id)
            .fetch_optional(&state.pool)
            .await
            .map(Option::flatten),
    }
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

/// Who ARIA is and for whom, the help policy, the course passages to rely on, and the
/// code question being worked on, last.
fn system_prompt(
    user: &CurrentUser,
    level: Option<ClassLevel>,
    progress: &[(String, i32)],
    mode: &Mode,
    passages: &[Passage],
    code: Option<&CodeContext>,
) -> String {
    let audience = match (user.role, level) {
        (Role::Student, Some(ClassLevel::Premiere)) => "un élève de Première",
        (Role::Student, Some(ClassLevel::Terminale)) => "un élève de Terminale",
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
    if let Some(code) = code {
        system.push_str(&code.prompt_block(matches!(mode, Mode::Hints(_))));
    }
    system
}

/// The messages sent to the model: the system message, the recent exchange, the
/// question.
fn prompt(system: String, history: &[(String, String)], question: &str) -> Vec<Value> {
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

/// The confidence of an answer made of the passages: the best passage's (see
/// [`crate::retrieval`]), 0 without any passage.
fn confidence(passages: &[Passage]) -> f32 {
    passages.first().map_or(0.0, |p| p.confidence)
}

/// The answer made of the passages alone, `why` first.
pub fn extractive_answer(passages: &[Passage], why: &str) -> String {
    if passages.is_empty() {
        return format!(
            "{why}, et je n'ai trouvé aucun passage des cours qui corresponde à ta question. \
             Essaie avec d'autres mots, ou demande à ton enseignant."
        );
    }
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
    answer
}
