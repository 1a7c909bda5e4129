//! `WebSocket /ws/aria/{sessionId}`, the contract's frames.
//!
//! Authentication: `?token=<accessToken>` or a first frame `{"type":"auth","token":…}`
//! within 10 s; without a valid one the socket closes with 4401 (4403 for a disabled
//! account). The socket closes with 4401 when the token expires, and with 4403 at the
//! next question once the account is disabled or its role may not use ARIA. The session named in the path is the user's own, or is created under that
//! name by the first message (8–100 letters, digits, `-`, `_`).
//!
//! Client → server: `{"type":"user_message","content":"…","timestamp":"…"}` and
//! `{"type":"ping"}`. Server → client, per question: `typing` true, `ai_chunk` frames
//! as the model writes, `ai_response` (the stored answer), `typing` false. Problems are
//! `{"type":"error","code","message"}` frames and the socket stays open. Questions are
//! answered one at a time, in order; a client that leaves mid-answer still gets its
//! answer stored.

use std::time::Duration;

use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, Utf8Bytes, WebSocket},
    },
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use futures::{SinkExt, StreamExt};
use nexus_auth::AccessClaims;
use nexus_web::{ApiError, Path, Query, auth::CurrentUser};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::{
    AppState,
    chat::frame,
    tutor::{self, Event, Question},
};

#[derive(Debug, Deserialize)]
pub struct ConnectQuery {
    token: Option<String>,
}

/// Questions waiting while one is answered; more are refused with an error frame.
const QUEUE: usize = 4;
const MAX_FRAME: usize = 64 * 1024;

pub async fn upgrade(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
    Query(query): Query<ConnectQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !nexus_web::auth::origin_allowed(&headers, &state.settings.common.cors_origins) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_refused",
            "Origine non autorisée.",
        )
        .into_response();
    }
    if !tutor::valid_session_id(&session_id) {
        return ApiError::bad_request(
            "invalid_session_id",
            "Identifiant de session invalide (8 à 100 lettres, chiffres, - ou _).",
        )
        .into_response();
    }
    ws.max_frame_size(MAX_FRAME)
        .max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| connection(socket, state, session_id, query.token))
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

fn text(value: &Value) -> Message {
    Message::Text(value.to_string().into())
}

fn error(code: &str, message: &str) -> Value {
    json!({"type": "error", "code": code, "message": message})
}

/// A valid token: the user and the token's claims (its expiry, its session).
async fn authenticate(
    state: &AppState,
    socket: &mut WebSocket,
    token: Option<String>,
) -> Result<(CurrentUser, AccessClaims), Message> {
    let token = match token {
        Some(token) => token,
        None => {
            let first = tokio::time::timeout(Duration::from_secs(10), socket.recv()).await;
            let Ok(Some(Ok(Message::Text(frame)))) = first else {
                return Err(close(4401, "authentication required"));
            };
            let value: Value = serde_json::from_str(&frame).unwrap_or_default();
            match (value["type"].as_str(), value["token"].as_str()) {
                (Some("auth"), Some(token)) => token.to_owned(),
                _ => return Err(close(4401, "authentication required")),
            }
        }
    };
    let auth = &state.authenticator;
    let claims = auth
        .verify(&token)
        .map_err(|_| close(4401, "invalid or expired token"))?;
    current_user(state, &claims)
        .await
        .map(|user| (user, claims))
}

/// The user as the database knows them now: refused once disabled, or when their role
/// may not use ARIA any more.
async fn current_user(state: &AppState, claims: &AccessClaims) -> Result<CurrentUser, Message> {
    match state.authenticator.load(claims).await {
        Ok(user) => tutor::ensure_may_chat(&user)
            .map(|()| user)
            .map_err(|_| close(4403, "ARIA is for students, teachers and admins")),
        Err(error) if error.code == "account_disabled" => Err(close(4403, "account disabled")),
        Err(error) if error.status.is_server_error() => Err(close(1011, "try again later")),
        Err(_) => Err(close(4401, "invalid token")),
    }
}

async fn connection(
    mut socket: WebSocket,
    state: AppState,
    session_id: String,
    token: Option<String>,
) {
    let (_, claims) = match authenticate(&state, &mut socket, token).await {
        Ok(authenticated) => authenticated,
        Err(frame) => {
            let _ = socket.send(frame).await;
            return;
        }
    };
    let (mut sink, mut stream) = socket.split();
    let (out, mut outgoing) = mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(async move {
        while let Some(message) = outgoing.recv().await {
            if sink.send(message).await.is_err() {
                break;
            }
        }
    });
    let _ = out.send(text(&json!({"type": "connected", "sessionId": session_id})));
    let (questions, mut queued) = mpsc::channel::<String>(QUEUE);
    let worker = {
        let out = out.clone();
        tokio::spawn(async move {
            while let Some(content) = queued.recv().await {
                answer(&state, &claims, &session_id, content, &out).await;
            }
        })
    };
    // The socket lives as long as its token: the client reconnects with a new one.
    let lifetime = Duration::from_secs(
        u64::try_from(claims.exp - chrono::Utc::now().timestamp()).unwrap_or(0),
    );
    let expiry = tokio::time::sleep(lifetime);
    tokio::pin!(expiry);
    loop {
        let message = tokio::select! {
            message = stream.next() => message,
            () = &mut expiry => {
                let _ = out.send(close(4401, "token expired"));
                break;
            }
        };
        let Some(Ok(message)) = message else {
            break;
        };
        let Message::Text(frame) = message else {
            if matches!(message, Message::Close(_)) {
                break;
            }
            continue;
        };
        let value: Value = serde_json::from_str(&frame).unwrap_or(Value::Null);
        match (value["type"].as_str(), value["content"].as_str()) {
            (Some("user_message"), Some(content)) => {
                if questions.try_send(content.to_owned()).is_err() {
                    let _ = out.send(text(&error(
                        "busy",
                        "ARIA répond encore à tes questions précédentes : attends sa réponse.",
                    )));
                }
            }
            (Some("ping"), _) => {
                let _ = out.send(text(&json!({"type": "pong"})));
            }
            _ => {
                let _ = out.send(text(&error(
                    "invalid_frame",
                    "Message non reconnu : attendu {\"type\":\"user_message\",\"content\":\"…\"}.",
                )));
            }
        }
    }
    // The client left: questions already received are still answered and stored.
    drop(questions);
    let _ = worker.await;
    drop(out);
    let _ = writer.await;
}

async fn answer(
    state: &AppState,
    claims: &AccessClaims,
    session_id: &str,
    content: String,
    out: &mpsc::UnboundedSender<Message>,
) {
    // Deactivation, a role change or a sign-out since the connection: no more answers.
    let user = match current_user(state, claims).await {
        Ok(user) => user,
        Err(close) => {
            let _ = out.send(close);
            return;
        }
    };
    let typing = |on: bool| text(&json!({"type": "typing", "isTyping": on}));
    let _ = out.send(typing(true));
    let (events, mut received) = mpsc::unbounded_channel();
    let question = Question {
        session_id: Some(session_id.to_owned()),
        create_missing: true,
        message: content,
        context: None,
    };
    tutor::spawn(state.clone(), user, question, events);
    while let Some(event) = received.recv().await {
        let done = matches!(event, Event::Done(_));
        let _ = out.send(text(&frame(&event)));
        if done {
            break;
        }
    }
    let _ = out.send(typing(false));
}
