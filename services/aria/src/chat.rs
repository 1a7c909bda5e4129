//! `POST /api/aria/chat` (the contract's JSON answer) and `POST /api/aria/chat/stream`
//! (the same question, answered as server-sent events while it is generated).

use std::convert::Infallible;

use axum::{
    Router,
    extract::State,
    response::{
        IntoResponse,
        sse::{Event as SseEvent, KeepAlive, Sse},
    },
    routing::post,
};
use futures::{Stream, StreamExt};
use nexus_protocol::{
    aria::{ErrorFrame, ServerFrame},
    to_value,
};
use nexus_web::{ApiError, Json, auth::CurrentUser, error::ApiResult};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::{
    AppState,
    answer::ChatResponse,
    sessions::ensure_may_chat,
    tutor::{self, ChatContext, Event, Question},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/aria/chat", post(chat))
        .route("/api/aria/chat/stream", post(chat_stream))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChatRequest {
    pub session_id: Option<String>,
    pub message: String,
    pub context: Option<ChatContext>,
}

impl From<ChatRequest> for Question {
    fn from(body: ChatRequest) -> Self {
        Question {
            session_id: body.session_id,
            // A client-chosen id is created on first use, as over the websocket.
            create_missing: true,
            message: body.message,
            context: body.context,
        }
    }
}

/// Student, teacher, admin. The answer is prepared in a task of its own: a client
/// that leaves does not cancel it, and it is stored.
async fn chat(
    user: CurrentUser,
    State(state): State<AppState>,
    Json(body): Json<ChatRequest>,
) -> ApiResult<Json<ChatResponse>> {
    let (events, mut received) = mpsc::unbounded_channel();
    tutor::spawn(state, user, body.into(), events);
    while let Some(event) = received.recv().await {
        if let Event::Done(outcome) = event {
            return outcome.map(Json);
        }
    }
    Err(ApiError::internal(anyhow::anyhow!(
        "the answer task ended without an answer"
    )))
}

/// The websocket frame for an event: the same JSON in both transports.
pub fn frame(event: &Event) -> ServerFrame {
    match event {
        Event::Text(text) => ServerFrame::AiChunk {
            content: text.clone(),
        },
        Event::Notice { code, message } => ErrorFrame::new(code, message).into(),
        Event::Done(outcome) => match outcome.as_ref() {
            Ok(answer) => ServerFrame::AiResponse {
                content: answer.response.clone(),
                confidence: answer.confidence,
                sources: answer.sources.clone(),
                session_id: answer.session_id.clone(),
                metadata: answer.metadata.clone(),
                timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            },
            Err(error) => ErrorFrame {
                retry_after: error.retry_after,
                details: error.details.clone(),
                ..ErrorFrame::new(error.code, &error.message)
            }
            .into(),
        },
    }
}

/// Student, teacher, admin. Events: `typing` (`{"isTyping":true}`), `ai_chunk` for each
/// piece of generated text, `error` for a problem (the model failing: an answer from
/// the courses follows), `ai_response` with the stored answer, `typing` false. A
/// request refused before any work (limits, budget, bad input) is a plain JSON error.
async fn chat_stream(
    user: CurrentUser,
    State(state): State<AppState>,
    Json(body): Json<ChatRequest>,
) -> ApiResult<impl IntoResponse> {
    ensure_may_chat(&user)?;
    let (events, mut received) = mpsc::unbounded_channel();
    tutor::spawn(state, user, body.into(), events);
    // Refusals arrive before any text: answer them with their status code.
    let first = match received.recv().await {
        Some(Event::Done(outcome)) => Some(Event::Done(Box::new(Ok((*outcome)?)))),
        other => other,
    };
    let stream = async_stream(first, received);
    // Proxies must pass events on as they come (nginx reads this header).
    Ok((
        [("x-accel-buffering", "no")],
        Sse::new(stream).keep_alive(KeepAlive::default()),
    ))
}

fn sse(kind: &str, data: &Value) -> Result<SseEvent, Infallible> {
    Ok(SseEvent::default().event(kind).data(data.to_string()))
}

fn async_stream(
    first: Option<Event>,
    received: mpsc::UnboundedReceiver<Event>,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let typing = |on: bool| sse("typing", &to_value(&ServerFrame::Typing { is_typing: on }));
    let start = futures::stream::iter([typing(true)]);
    let events = futures::stream::unfold(
        (first, received, false),
        |(first, mut rx, done)| async move {
            if done {
                return None;
            }
            let event = match first {
                Some(event) => Some(event),
                None => rx.recv().await,
            }?;
            let data = to_value(&frame(&event));
            let kind = data["type"].as_str().unwrap_or("message").to_owned();
            let finished = matches!(event, Event::Done(_));
            Some((sse(&kind, &data), (None, rx, finished)))
        },
    );
    start
        .chain(events)
        .chain(futures::stream::iter([typing(false)]))
}
