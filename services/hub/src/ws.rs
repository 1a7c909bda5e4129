//! `/ws`: one task per connection. It authenticates the client (first frame or
//! `?token=`), registers it for the user's events, optionally replays what a
//! reconnecting client missed, then forwards events, answers pings, warns before the
//! token expires and accepts a new token in place.
//!
//! Close codes: 4401 authentication failed or timed out, 4403 account disabled,
//! 4008 slow consumer (queue full), 1009 frame too large, 1012 service restarting.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{
        Query, State,
        ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade},
    },
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use nexus_chat::{ChatError, Member};
use nexus_web::{
    ApiError,
    auth::{Authenticator, CurrentUser},
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::{sync::watch, time::Instant};

use crate::{
    AppState,
    metrics::metrics,
    registry::{Outgoing, StreamId},
    stream,
};

#[derive(Debug, Deserialize)]
pub struct ConnectQuery {
    token: Option<String>,
}

pub async fn upgrade(
    State(state): State<AppState>,
    Query(query): Query<ConnectQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !nexus_web::auth::origin_allowed(&headers, &state.settings.common.cors_origins) {
        metrics().auth_failures.inc();
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_refused",
            "Origine non autorisée.",
        )
        .into_response();
    }
    let max = state.settings.max_frame_bytes;
    // tungstenite's defaults (128 KiB read buffer, 128 KiB write buffer per socket) would
    // cost over 2 GB at 10,000 connections. Clients send small frames (subscriptions,
    // pings, chat lines): a 1 KiB read buffer holds them, and a larger frame gets room
    // for its whole length when its header is read. Writes go out at once.
    ws.max_frame_size(max)
        .max_message_size(max)
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| connection(socket, state, query.token))
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

fn text(value: Value) -> Message {
    Message::Text(value.to_string().into())
}

/// A valid token: the user and the token's expiry (unix seconds).
async fn authenticate(auth: &Authenticator, token: &str) -> Result<(CurrentUser, i64), Message> {
    let claims = auth
        .keys
        .verify_access(token)
        .map_err(|_| close(4401, "invalid or expired token"))?;
    match auth.load(&claims).await {
        Ok(user) => Ok((user, claims.exp)),
        Err(error) if error.code == "account_disabled" => Err(close(4403, "account disabled")),
        Err(error) if error.status.is_server_error() => Err(close(1011, "try again later")),
        Err(_) => Err(close(4401, "invalid token")),
    }
}

/// Waits for `{"type":"auth","token":…}` as the first frame.
async fn first_frame_token(socket: &mut WebSocket, timeout: Duration) -> Option<String> {
    let frame = tokio::time::timeout(timeout, socket.recv())
        .await
        .ok()??
        .ok()?;
    let Message::Text(text) = frame else {
        return None;
    };
    let value: Value = serde_json::from_str(&text).ok()?;
    (value["type"] == "auth")
        .then(|| value["token"].as_str().map(str::to_owned))
        .flatten()
}

/// One connection's state, owned by its task.
struct Session {
    user: CurrentUser,
    id: u64,
    expires_at: i64,
    /// The offset of the last event written: later duplicates are skipped.
    last_sent: StreamId,
    sends: Bucket,
    /// Channels subscribed beyond the automatic `user:{id}`.
    subscriptions: Vec<String>,
}

impl Session {
    /// Writes an event unless an event at or after its offset was already written (a
    /// live event that a resume also replayed); `Err` when the socket is gone.
    async fn deliver(&mut self, socket: &mut WebSocket, event: &Outgoing) -> Result<(), ()> {
        if event.offset <= self.last_sent {
            return Ok(());
        }
        self.last_sent = event.offset;
        // The frame's bytes are shared, not copied, between the connections it goes to.
        socket
            .send(Message::Text(event.frame.clone()))
            .await
            .map_err(drop)?;
        record_delivery(event);
        Ok(())
    }

    /// When the token expires, and when to warn about it, on tokio's clock.
    fn deadlines(&self, warning: Duration) -> (Instant, Instant) {
        let left = u64::try_from(self.expires_at - chrono::Utc::now().timestamp()).unwrap_or(0);
        let expiry = Instant::now() + Duration::from_secs(left);
        (
            expiry,
            expiry.checked_sub(warning).unwrap_or_else(Instant::now),
        )
    }
}

// Memory per connection: a connection's task holds its future for as long as the socket
// is open, and a future is as large as its largest await point. The rare, large
// awaits (authentication, a client frame's handling with its SQL and Redis calls,
// presence) are boxed so that their state exists only while they run; this keeps an
// idle connection's task about 2 KB instead of ~18 KB (measured with heaptrack).

async fn connection(mut socket: WebSocket, state: AppState, query_token: Option<String>) {
    let token = match query_token {
        Some(token) => Some(token),
        None => first_frame_token(&mut socket, state.settings.auth_timeout).await,
    };
    let Some(token) = token else {
        metrics().auth_failures.inc();
        let _ = socket.send(close(4401, "authentication required")).await;
        return;
    };
    let authenticated = {
        let _slot = state.account_checks.acquire().await;
        Box::pin(authenticate(&state.authenticator, &token)).await
    };
    drop(token);
    let (user, expires_at) = match authenticated {
        Ok(ok) => ok,
        Err(frame) => {
            metrics().auth_failures.inc();
            let _ = socket.send(frame).await;
            return;
        }
    };
    let mut registration = state.registry.register(user.id, state.settings.send_queue);
    metrics().connections.inc();
    metrics().connections_total.inc();
    let mut session = Session {
        user,
        id: registration.id,
        expires_at,
        last_sent: StreamId::default(),
        sends: Bucket::new(SEND_RATE_PER_SECOND, SEND_BURST),
        subscriptions: Vec::new(),
    };
    let _ = socket
        .send(text_frame(
            json!({"type": "ready", "userId": user.id, "channels": [format!("user:{}", user.id)]}),
        ))
        .await;
    let end = serve(
        &mut socket,
        &state,
        &mut session,
        &mut registration.receiver,
    )
    .await;
    state.registry.unregister(registration.id);
    for channel in &session.subscriptions {
        if has_presence(channel) {
            let _ = Box::pin(state.presence.leave(channel, user.id, session.id)).await;
        }
    }
    metrics().connections.dec();
    if let Some(frame) = end {
        let _ = socket.send(frame).await;
    }
}

/// Class and conversation channels track who is online.
fn has_presence(channel: &str) -> bool {
    channel.starts_with("class:") || channel.starts_with("conversation:")
}

/// The connection's loop; returns the close frame to send, if any.
///
/// One timer serves the heartbeat, the expiry warning and the expiry: it is set to
/// whichever comes first and, like the shutdown signal, created once and polled in
/// place. An event wakes ten thousand connections at once in a broadcast; each then
/// polls as little as possible and registers no timer.
async fn serve(
    socket: &mut WebSocket,
    state: &AppState,
    session: &mut Session,
    events: &mut tokio::sync::mpsc::Receiver<Arc<Outgoing>>,
) -> Option<Message> {
    let settings = &state.settings;
    let mut shutdown: watch::Receiver<bool> = state.shutdown.clone();
    let stopping = shutdown.changed();
    tokio::pin!(stopping);
    let mut last_heard = Instant::now();
    let mut next_ping = last_heard + settings.ping_interval;
    let (mut expiry, mut warning) = session.deadlines(settings.expiry_warning);
    let mut warned = false;
    let next = |next_ping: Instant, warned: bool, warning: Instant, expiry: Instant| {
        let first = next_ping.min(expiry);
        if warned { first } else { first.min(warning) }
    };
    let timer = tokio::time::sleep_until(next(next_ping, warned, warning, expiry));
    tokio::pin!(timer);
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else {
                    // The registry dropped us: our queue was full.
                    return Some(close(4008, "slow consumer"));
                };
                if let Some((code, reason)) = event.close {
                    return Some(close(code, reason));
                }
                if session.deliver(socket, &event).await.is_err() {
                    return None;
                }
            }
            frame = socket.recv() => {
                last_heard = Instant::now();
                let frame = match frame {
                    Some(Ok(frame)) => frame,
                    Some(Err(_)) => return Some(close(1009, "frame too large or malformed")),
                    None => return None,
                };
                metrics().messages_in.inc();
                match frame {
                    Message::Text(text) => {
                        let expires_at = session.expires_at;
                        match Box::pin(handle_client_frame(&text, state, session, socket)).await {
                            Ok(Some(value)) => { let _ = socket.send(text_frame(value)).await; }
                            Ok(None) => {}
                            Err(close_frame) => return Some(close_frame),
                        }
                        if session.expires_at != expires_at {
                            // Re-authenticated: the deadlines move with the new token.
                            (expiry, warning) = session.deadlines(settings.expiry_warning);
                            warned = false;
                            timer.as_mut().reset(next(next_ping, warned, warning, expiry));
                        }
                    }
                    Message::Close(_) => return None,
                    _ => {}
                }
            }
            () = &mut timer => {
                let now = Instant::now();
                if now >= expiry {
                    return Some(close(4401, "token expired"));
                }
                if !warned && now >= warning {
                    warned = true;
                    let _ = socket.send(text_frame(json!({"type": "token_expiring", "expiresAt": session.expires_at}))).await;
                }
                if now >= next_ping {
                    if last_heard.elapsed() > settings.ping_interval * 3 {
                        return Some(close(1001, "no heartbeat"));
                    }
                    if socket.send(Message::Ping(Default::default())).await.is_err() {
                        return None;
                    }
                    next_ping = now + settings.ping_interval;
                    let presence: Vec<String> = session.subscriptions.iter().filter(|c| has_presence(c)).cloned().collect();
                    if !presence.is_empty() {
                        let _ = Box::pin(state.presence.refresh(&presence, session.user.id, session.id)).await;
                    }
                }
                timer.as_mut().reset(next(next_ping, warned, warning, expiry));
            }
            _ = &mut stopping => {
                return Some(close(1012, "service restarting, reconnect"));
            }
        }
    }
}

fn text_frame(value: Value) -> Message {
    metrics()
        .messages_out
        .with_label_values(&[value["type"].as_str().unwrap_or("other")])
        .inc();
    text(value)
}

fn record_delivery(event: &Outgoing) {
    metrics().events_out.inc();
    if let Some(created) = event.created_at {
        let seconds = (chrono::Utc::now() - created)
            .num_microseconds()
            .unwrap_or(0) as f64
            / 1e6;
        metrics().delivery_seconds.observe(seconds.max(0.0));
    }
}

/// May this user read this channel? `user:{id}` is one's own; `class:{id}` its teacher
/// and students (admins too); `conversation:{id}` its members; `course:{id}` whoever
/// may see the course.
async fn may_subscribe(
    state: &AppState,
    user: CurrentUser,
    channel: &str,
) -> Result<bool, sqlx::Error> {
    let pool = &state.authenticator.pool;
    let Some((kind, id)) = channel.split_once(':') else {
        return Ok(false);
    };
    let Ok(id) = id.parse::<i64>() else {
        return Ok(false);
    };
    let admin = user.role == nexus_auth::Role::Admin;
    match kind {
        "user" => Ok(id == user.id),
        "class" => {
            let allowed: Option<bool> = sqlx::query_scalar(
                "select c.teacher_id = $2 or exists(select 1 from class_members m where m.class_id = c.id and m.student_id = $2)
                 from classes c where c.id = $1",
            )
            .bind(id)
            .bind(user.id)
            .fetch_optional(pool)
            .await?;
            Ok(allowed.is_some_and(|a| a || admin))
        }
        "conversation" => {
            let mut conn = pool.acquire().await?;
            match nexus_chat::ensure_member(
                &mut conn,
                Member {
                    id: user.id,
                    role: user.role,
                },
                id,
            )
            .await
            {
                Ok(_) => Ok(true),
                Err(ChatError::Database(e)) => Err(e),
                Err(_) => Ok(false),
            }
        }
        "course" => {
            let allowed: Option<bool> = sqlx::query_scalar(
                "select is_published or created_by = $2 or $3 from courses where id = $1",
            )
            .bind(id)
            .bind(user.id)
            .bind(admin)
            .fetch_optional(pool)
            .await?;
            Ok(allowed.unwrap_or(false))
        }
        _ => Ok(false),
    }
}

/// Handles a client frame; `Ok(Some(reply))` to answer, `Err(close)` to end.
async fn handle_client_frame(
    text: &str,
    state: &AppState,
    session: &mut Session,
    socket: &mut WebSocket,
) -> Result<Option<Value>, Message> {
    let user = session.user;
    let user_id = user.id;
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Ok(Some(error_frame("invalid_frame", "Trame JSON invalide.")));
    };
    let channel = value["channel"].as_str().unwrap_or_default().to_owned();
    match value["type"].as_str().unwrap_or_default() {
        "ping" => Ok(Some(json!({"type": "pong"}))),
        "auth" => {
            // A fresh token for the same user, without reconnecting.
            let token = value["token"].as_str().unwrap_or_default();
            match authenticate(&state.authenticator, token).await {
                Ok((fresh, exp)) if fresh.id == user_id => {
                    session.expires_at = exp;
                    Ok(Some(json!({"type": "reauthenticated", "expiresAt": exp})))
                }
                Ok(_) => Err(close(4403, "token of another user")),
                Err(frame) => Err(frame),
            }
        }
        "subscribe" => match may_subscribe(state, user, &channel).await {
            Ok(true) => {
                state.registry.subscribe(session.id, &channel);
                if !session.subscriptions.contains(&channel) {
                    session.subscriptions.push(channel.clone());
                }
                let mut reply = json!({"type": "subscribed", "channel": channel});
                if has_presence(&channel) {
                    let _ = state.presence.join(&channel, user_id, session.id).await;
                    reply["presence"] =
                        json!(state.presence.list(&channel).await.unwrap_or_default());
                }
                Ok(Some(reply))
            }
            Ok(false) => Ok(Some(
                json!({"type": "error", "code": "forbidden", "channel": channel,
                                        "message": "Vous n'avez pas accès à ce canal."}),
            )),
            Err(_) => Ok(Some(error_frame(
                "unavailable",
                "Service momentanément indisponible.",
            ))),
        },
        "unsubscribe" => {
            state.registry.unsubscribe(session.id, &channel);
            if let Some(at) = session.subscriptions.iter().position(|c| *c == channel) {
                session.subscriptions.remove(at);
                if has_presence(&channel) {
                    let _ = state.presence.leave(&channel, user_id, session.id).await;
                }
            }
            Ok(Some(json!({"type": "unsubscribed", "channel": channel})))
        }
        "presence" => {
            if !session.subscriptions.contains(&channel) || !has_presence(&channel) {
                return Ok(Some(error_frame(
                    "not_subscribed",
                    "Abonnez-vous d'abord à ce canal de classe ou de conversation.",
                )));
            }
            let users = state.presence.list(&channel).await.unwrap_or_default();
            Ok(Some(
                json!({"type": "presence", "channel": channel, "users": users}),
            ))
        }
        "activity" => {
            if !session.subscriptions.contains(&channel)
                || !channel.starts_with("class:")
                || !session.sends.take()
            {
                return Ok(Some(error_frame(
                    "not_subscribed",
                    "Abonnez-vous d'abord à ce canal de classe.",
                )));
            }
            let activity = json!({"courseId": value["courseId"].as_i64(), "sectionId": value["sectionId"].as_str().map(|s| s.chars().take(100).collect::<String>()), "at": chrono::Utc::now()});
            let _ = state.presence.activity(&channel, user_id, activity).await;
            Ok(None)
        }
        "resume" => {
            let Some(offset) = value["offset"].as_str().and_then(StreamId::parse) else {
                return Ok(Some(error_frame(
                    "invalid_offset",
                    "Position de reprise invalide.",
                )));
            };
            match stream::missed(
                &state.redis,
                user_id,
                offset,
                state.settings.resume_scan_limit,
            )
            .await
            {
                Ok((events, complete)) => {
                    for event in &events {
                        if session.deliver(socket, event).await.is_err() {
                            return Err(close(1001, "gone"));
                        }
                    }
                    session.last_sent = session.last_sent.max(offset);
                    Ok(Some(
                        json!({"type": "resumed", "complete": complete, "offset": session.last_sent.to_string()}),
                    ))
                }
                Err(_) => Ok(Some(error_frame(
                    "history_unavailable",
                    "Historique momentanément indisponible ; rechargez vos notifications.",
                ))),
            }
        }
        "send" => {
            if !session.sends.take() {
                return Ok(Some(error_frame(
                    "rate_limited",
                    "Trop de messages : ralentissez.",
                )));
            }
            let (Some(conversation), Some(client_id), Some(body)) = (
                value["conversationId"].as_i64(),
                value["clientMessageId"].as_str(),
                value["body"].as_str(),
            ) else {
                return Ok(Some(error_frame(
                    "invalid_frame",
                    "conversationId, clientMessageId et body sont requis.",
                )));
            };
            let sender = Member {
                id: user_id,
                role: user.role,
            };
            // Stored (with its delivery event) before the acknowledgement.
            Ok(Some(
                match nexus_chat::send(
                    &state.authenticator.pool,
                    sender,
                    conversation,
                    client_id,
                    body,
                )
                .await
                {
                    Ok((message, _)) => {
                        json!({"type": "ack", "clientMessageId": client_id, "conversationId": conversation, "message": message})
                    }
                    Err(error) => chat_error_frame(error, Some(client_id)),
                },
            ))
        }
        "typing" => {
            if !session.sends.take() {
                return Ok(None);
            }
            let Some(conversation) = value["conversationId"].as_i64() else {
                return Ok(Some(error_frame(
                    "invalid_frame",
                    "conversationId est requis.",
                )));
            };
            let member = Member {
                id: user_id,
                role: user.role,
            };
            let Ok(mut conn) = state.authenticator.pool.acquire().await else {
                return Ok(None);
            };
            match nexus_chat::ensure_member(&mut conn, member, conversation).await {
                Ok(members) => {
                    let recipients: Vec<i64> =
                        members.into_iter().filter(|m| *m != user_id).collect();
                    let payload = json!({
                        "eventId": uuid::Uuid::new_v4().to_string(), "conversationId": conversation, "userId": user_id,
                        "isTyping": value["isTyping"].as_bool().unwrap_or(true), "recipients": recipients,
                        "createdAt": chrono::Utc::now(),
                    });
                    let _ = stream::publish_ephemeral(&state.redis, "typing", &payload).await;
                    Ok(None)
                }
                Err(error) => Ok(Some(chat_error_frame(error, None))),
            }
        }
        _ => Ok(Some(error_frame("unknown_type", "Type de trame inconnu."))),
    }
}

fn chat_error_frame(error: ChatError, client_id: Option<&str>) -> Value {
    let (code, message) = match error {
        ChatError::NotFound => ("not_found", "Conversation introuvable."),
        ChatError::Forbidden => (
            "forbidden",
            "Vous ne pouvez pas écrire dans cette conversation.",
        ),
        ChatError::Invalid(message) => ("invalid_message", message),
        // Not stored: the client retries with the same clientMessageId.
        ChatError::Database(_) => ("unavailable", "Message non enregistré : réessayez."),
    };
    let mut frame = error_frame(code, message);
    if let Some(client_id) = client_id {
        frame["clientMessageId"] = json!(client_id);
    }
    frame
}

/// Chat frames a connection may send: this many per second on average, with bursts.
const SEND_RATE_PER_SECOND: f64 = 5.0;
const SEND_BURST: f64 = 10.0;

/// A token bucket, per connection (a connection's frames are handled in order by one
/// task, so no locking is needed).
struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: tokio::time::Instant,
}

impl Bucket {
    fn new(rate: f64, burst: f64) -> Self {
        Self {
            tokens: burst,
            rate,
            burst,
            last: tokio::time::Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = tokio::time::Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

fn error_frame(code: &str, message: &str) -> Value {
    json!({"type": "error", "code": code, "message": message})
}
