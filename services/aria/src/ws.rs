//! `WebSocket /ws/aria/{sessionId}`, the contract's frames.
//!
//! Authentication: `?token=<accessToken>` or a first frame `{"type":"auth","token":…}`
//! within 10 s; without a valid one the socket closes with 4401 (4403 for a disabled
//! account). The socket closes with 4401 when the token expires, and with 4403 at the
//! next question once the account is disabled or its role may not use ARIA. When the
//! API announces that a user's tokens were revoked, their sockets are checked again at
//! once ([`crate::revocation`]). The session named in the path is the user's own, or is
//! created under that name by the first message (8–100 letters, digits, `-`, `_`).
//!
//! Frames to the client wait in a bounded queue (`ARIA_WS_SEND_QUEUE`): a client that
//! does not read fast enough to keep it from filling is disconnected with 4008 `slow
//! consumer` rather than buffered without limit.
//!
//! Client → server: `{"type":"user_message","content":"…","timestamp":"…"}` and
//! `{"type":"ping"}`. Server → client, per question: `typing` true, `ai_chunk` frames
//! as the model writes, `ai_response` (the stored answer), `typing` false. Problems are
//! `{"type":"error","code","message"}` frames and the socket stays open. Questions are
//! answered one at a time, in order; a client that leaves mid-answer still gets its
//! answer stored.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{Message, WebSocket},
    },
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use futures::{SinkExt, StreamExt};
use nexus_protocol::aria::{ClientFrame, ErrorFrame, ServerFrame};
use nexus_web::ws::{Close, SLOW_CONSUMER};
use nexus_web::{
    ApiError, Path, Query,
    auth::CurrentUser,
    ws::{self as handshake, close_frame as close},
};
use tokio::sync::{mpsc, watch};

use crate::{
    AppState,
    chat::frame,
    sessions::{ensure_may_chat, valid_session_id},
    tutor::{self, Event, Question},
};

/// Questions waiting while one is answered; more are refused with an error frame.
const QUEUE: usize = 4;
const MAX_FRAME: usize = 64 * 1024;

pub async fn upgrade(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
    Query(query): Query<handshake::ConnectQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if let Some(refused) = handshake::foreign_origin(&headers, &state.settings.common.cors_origins)
    {
        return refused;
    }
    if !valid_session_id(&session_id) {
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

/// How long a closing socket waits for the client to take its close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Asks a socket to close: its reader stops, frames still queued are dropped and the
/// close frame goes out next. The first request wins.
#[derive(Debug, Clone)]
pub struct Closer(Arc<watch::Sender<Option<Close>>>);

impl Closer {
    /// Whether this request is the first.
    pub fn close(&self, code: Close) -> bool {
        self.0.send_if_modified(|current| {
            let first = current.is_none();
            if first {
                *current = Some(code);
            }
            first
        })
    }
}

/// Resolves with the close asked for; never, when none can be asked any more.
async fn requested(closing: &mut watch::Receiver<Option<Close>>) -> Close {
    if let Ok(close) = closing.wait_for(Option::is_some).await
        && let Some(close) = *close
    {
        return close;
    }
    std::future::pending().await
}

/// The frames waiting for one client, at most `ARIA_WS_SEND_QUEUE`: when full, the
/// client is too slow and the socket closes (4008).
#[derive(Clone)]
struct Outbox {
    frames: mpsc::Sender<Message>,
    closer: Closer,
}

impl Outbox {
    fn send(&self, frame: Message) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.frames.try_send(frame)
            && self.closer.close(SLOW_CONSUMER)
        {
            tracing::info!("ARIA websocket client too slow: closed");
            crate::metrics::metrics()
                .ws_closes
                .with_label_values(&["slow_consumer"])
                .inc();
        }
    }
}

/// Sends the queued frames until the queue ends or a close is asked for; then the
/// close frame, if the client takes it within [`CLOSE_GRACE`].
async fn write(
    mut sink: futures::stream::SplitSink<WebSocket, Message>,
    mut frames: mpsc::Receiver<Message>,
    mut closing: watch::Receiver<Option<Close>>,
) {
    let code = loop {
        let frame = tokio::select! {
            biased;
            code = requested(&mut closing) => break code,
            frame = frames.recv() => match frame {
                Some(frame) => frame,
                None => return,
            },
        };
        // A client that does not read blocks this send: a close request ends it.
        tokio::select! {
            biased;
            code = requested(&mut closing) => break code,
            sent = sink.send(frame) => if sent.is_err() {
                return;
            },
        }
    };
    drop(frames);
    let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(close(code))).await;
}

fn text(frame: &ServerFrame) -> Message {
    Message::Text(nexus_protocol::to_text(frame).into())
}

fn error(code: &str, message: &str) -> Message {
    text(&ErrorFrame::new(code, message).into())
}

/// The shared handshake (`nexus_web::ws`), then ARIA's own rule: its roles. The token,
/// the user and when the token expires (unix seconds).
async fn authenticate(
    state: &AppState,
    socket: &mut WebSocket,
    token: Option<String>,
) -> Result<(String, CurrentUser, i64), Close> {
    let token = handshake::token(socket, token, Duration::from_secs(10)).await?;
    let (user, expires_at) = handshake::check(&state.authenticator, &token).await?;
    let user = may_chat(Ok(user))?;
    Ok((token, user, expires_at))
}

/// The user as the database knows them now: refused once disabled, signed out of the
/// token's session, or when their role may not use ARIA any more.
async fn current_user(state: &AppState, token: &str) -> Result<CurrentUser, Close> {
    may_chat(state.authenticator.authenticate(token).await)
}

/// Whether a socket's token still holds (after a revocation): `None` when it does, or
/// when it cannot be told now (the database is down: the socket stays open).
pub async fn recheck(state: &AppState, token: &str) -> Option<Close> {
    match may_chat(state.authenticator.authenticate(token).await) {
        Err((1011, _)) | Ok(_) => None,
        Err(close) => Some(close),
    }
}

fn may_chat(user: Result<CurrentUser, ApiError>) -> Result<CurrentUser, Close> {
    match user {
        Ok(user) => ensure_may_chat(&user)
            .map(|()| user)
            .map_err(|_| (4403, "ARIA is for students, teachers and admins")),
        Err(error) => Err(handshake::refusal(&error)),
    }
}

async fn connection(
    mut socket: WebSocket,
    state: AppState,
    session_id: String,
    token: Option<String>,
) {
    let (token, user, expires_at) = match authenticate(&state, &mut socket, token).await {
        Ok(authenticated) => authenticated,
        Err(code) => {
            let _ = socket.send(close(code)).await;
            return;
        }
    };
    let (sink, mut stream) = socket.split();
    let (frames, outgoing) = mpsc::channel::<Message>(state.settings.ws_send_queue.max(1));
    let (closing, mut close_requested) = watch::channel(None);
    let out = Outbox {
        frames,
        closer: Closer(Arc::new(closing)),
    };
    let writer = tokio::spawn(write(sink, outgoing, close_requested.clone()));
    // Until the socket ends, a revocation of the user's tokens checks this one again.
    let registration = state
        .sockets
        .register(user.id, token.clone(), out.closer.clone());
    out.send(text(&ServerFrame::Connected {
        session_id: session_id.clone(),
    }));
    let (questions, mut queued) = mpsc::channel::<String>(QUEUE);
    let worker = {
        let out = out.clone();
        tokio::spawn(async move {
            while let Some(content) = queued.recv().await {
                answer(&state, &token, &session_id, content, &out).await;
            }
        })
    };
    // The socket lives as long as its token: the client reconnects with a new one.
    let lifetime = Duration::from_secs(
        u64::try_from(expires_at - chrono::Utc::now().timestamp()).unwrap_or(0),
    );
    read(
        &mut stream,
        &mut close_requested,
        lifetime,
        &questions,
        &out,
    )
    .await;
    drop(registration);
    // The connection ends once the writer is done (its close frame sent), not when the
    // answers still being prepared are stored.
    drop(stream);
    // The client left: questions already received are still answered and stored.
    drop(questions);
    let _ = worker.await;
    drop(out);
    let _ = writer.await;
}

/// Reads the client's frames until it leaves, a close is asked for, or the token
/// expires: questions go to the worker (or are refused `busy`), pings are answered.
async fn read(
    stream: &mut futures::stream::SplitStream<WebSocket>,
    close_requested: &mut watch::Receiver<Option<Close>>,
    lifetime: Duration,
    questions: &mpsc::Sender<String>,
    out: &Outbox,
) {
    let expiry = tokio::time::sleep(lifetime);
    tokio::pin!(expiry);
    loop {
        let message = tokio::select! {
            message = stream.next() => message,
            _ = requested(close_requested) => return,
            () = &mut expiry => {
                let _ = out.closer.close((4401, "token expired"));
                return;
            }
        };
        let Some(Ok(message)) = message else {
            return;
        };
        let Message::Text(frame) = message else {
            if matches!(message, Message::Close(_)) {
                return;
            }
            continue;
        };
        match ClientFrame::parse(&frame) {
            ClientFrame::UserMessage { content, .. } => {
                if questions.try_send(content).is_err() {
                    out.send(error(
                        "busy",
                        "ARIA répond encore à tes questions précédentes : attends sa réponse.",
                    ));
                }
            }
            ClientFrame::Ping => out.send(text(&ServerFrame::Pong)),
            ClientFrame::Auth { .. } | ClientFrame::Invalid => {
                out.send(error(
                    "invalid_frame",
                    "Message non reconnu : attendu {\"type\":\"user_message\",\"content\":\"…\"}.",
                ));
            }
        }
    }
}

async fn answer(state: &AppState, token: &str, session_id: &str, content: String, out: &Outbox) {
    // Deactivation, a role change or a sign-out since the connection: no more answers.
    let user = match current_user(state, token).await {
        Ok(user) => user,
        Err(code) => {
            let _ = out.closer.close(code);
            return;
        }
    };
    let typing = |on: bool| text(&ServerFrame::Typing { is_typing: on });
    out.send(typing(true));
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
        out.send(text(&frame(&event)));
        if done {
            break;
        }
    }
    out.send(typing(false));
}
