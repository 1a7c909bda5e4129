//! `/ws`: one task per connection. It authenticates the client (first frame or
//! `?token=`), registers it for the user's events, optionally replays what a
//! reconnecting client missed, then forwards events, answers pings, warns before the
//! token expires and accepts a new token in place.
//!
//! Close codes: 4401 authentication failed or timed out, 4403 account disabled,
//! 4008 slow consumer (queue full), 1009 frame too large, 1012 service restarting.

use std::time::Duration;

use axum::{
    extract::{
        Query, State,
        ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use nexus_chat::{ChatError, Member};
use nexus_web::{
    ApiError,
    auth::{Authenticator, CurrentUser},
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::watch;

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
    // Browsers always send Origin: only the platform's own front ends may connect.
    // Clients that are not browsers send none and are judged by their token alone.
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok())
        && !state
            .settings
            .common
            .cors_origins
            .iter()
            .any(|allowed| allowed == origin)
    {
        metrics().auth_failures.inc();
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_refused",
            "Origine non autorisée.",
        )
        .into_response();
    }
    let max = state.settings.max_frame_bytes;
    ws.max_frame_size(max)
        .max_message_size(max)
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
    match auth.load(claims.user_id).await {
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
    let (user, mut expires_at) = match authenticate(&state.authenticator, &token).await {
        Ok(ok) => ok,
        Err(frame) => {
            metrics().auth_failures.inc();
            let _ = socket.send(frame).await;
            return;
        }
    };
    let user_id = user.id;
    let mut registration = state.registry.register(user_id, state.settings.send_queue);
    metrics().connections.inc();
    metrics().connections_total.inc();
    let _ = socket
        .send(text_frame(
            json!({"type": "ready", "userId": user_id, "channels": [format!("user:{user_id}")]}),
        ))
        .await;
    let end = serve(
        &mut socket,
        &state,
        user,
        &mut expires_at,
        &mut registration.receiver,
    )
    .await;
    state.registry.unregister(user_id, registration.id);
    metrics().connections.dec();
    if let Some(frame) = end {
        let _ = socket.send(frame).await;
    }
}

/// The connection's loop; returns the close frame to send, if any.
async fn serve(
    socket: &mut WebSocket,
    state: &AppState,
    user: CurrentUser,
    expires_at: &mut i64,
    events: &mut tokio::sync::mpsc::Receiver<Outgoing>,
) -> Option<Message> {
    let mut shutdown: watch::Receiver<bool> = state.shutdown.clone();
    let mut ping = tokio::time::interval(state.settings.ping_interval);
    ping.tick().await;
    let mut last_heard = tokio::time::Instant::now();
    let mut last_sent = StreamId::default();
    let mut warned = false;
    let mut sends = Bucket::new(SEND_RATE_PER_SECOND, SEND_BURST);
    loop {
        let until_expiry = Duration::from_secs(
            u64::try_from(*expires_at - chrono::Utc::now().timestamp()).unwrap_or(0),
        );
        let until_warning = until_expiry.saturating_sub(state.settings.expiry_warning);
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else {
                    // The registry dropped us: our queue was full.
                    return Some(close(4008, "slow consumer"));
                };
                if event.offset <= last_sent {
                    continue;
                }
                last_sent = event.offset;
                if socket.send(Message::Text(event.frame.as_ref().into())).await.is_err() {
                    return None;
                }
                record_delivery(&event);
            }
            frame = socket.recv() => {
                last_heard = tokio::time::Instant::now();
                let frame = match frame {
                    Some(Ok(frame)) => frame,
                    Some(Err(_)) => return Some(close(1009, "frame too large or malformed")),
                    None => return None,
                };
                metrics().messages_in.inc();
                match frame {
                    Message::Text(text) => {
                        let reply = handle_client_frame(&text, state, user, expires_at, &mut last_sent, &mut sends, socket).await;
                        match reply {
                            Ok(Some(value)) => { let _ = socket.send(text_frame(value)).await; }
                            Ok(None) => {}
                            Err(close_frame) => return Some(close_frame),
                        }
                        warned = false;
                    }
                    Message::Close(_) => return None,
                    _ => {}
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > state.settings.ping_interval * 3 {
                    return Some(close(1001, "no heartbeat"));
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return None;
                }
            }
            () = tokio::time::sleep(until_warning), if !warned => {
                warned = true;
                let _ = socket.send(text_frame(json!({"type": "token_expiring", "expiresAt": *expires_at}))).await;
            }
            () = tokio::time::sleep(until_expiry) => {
                return Some(close(4401, "token expired"));
            }
            _ = shutdown.changed() => {
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
    metrics().messages_out.with_label_values(&["event"]).inc();
    if let Some(created) = event.created_at {
        let seconds = (chrono::Utc::now() - created)
            .num_microseconds()
            .unwrap_or(0) as f64
            / 1e6;
        metrics().delivery_seconds.observe(seconds.max(0.0));
    }
}

/// Handles a client frame; `Ok(Some(reply))` to answer, `Err(close)` to end.
async fn handle_client_frame(
    text: &str,
    state: &AppState,
    user: CurrentUser,
    expires_at: &mut i64,
    last_sent: &mut StreamId,
    sends: &mut Bucket,
    socket: &mut WebSocket,
) -> Result<Option<Value>, Message> {
    let user_id = user.id;
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Ok(Some(error_frame("invalid_frame", "Trame JSON invalide.")));
    };
    match value["type"].as_str().unwrap_or_default() {
        "ping" => Ok(Some(json!({"type": "pong"}))),
        "auth" => {
            // A fresh token for the same user, without reconnecting.
            let token = value["token"].as_str().unwrap_or_default();
            match authenticate(&state.authenticator, token).await {
                Ok((fresh, exp)) if fresh.id == user_id => {
                    *expires_at = exp;
                    Ok(Some(json!({"type": "reauthenticated", "expiresAt": exp})))
                }
                Ok(_) => Err(close(4403, "token of another user")),
                Err(frame) => Err(frame),
            }
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
                    for event in events {
                        if event.offset > *last_sent {
                            *last_sent = event.offset;
                            if socket
                                .send(Message::Text(event.frame.as_ref().into()))
                                .await
                                .is_err()
                            {
                                return Err(close(1001, "gone"));
                            }
                            record_delivery(&event);
                        }
                    }
                    *last_sent = (*last_sent).max(offset);
                    Ok(Some(
                        json!({"type": "resumed", "complete": complete, "offset": last_sent.to_string()}),
                    ))
                }
                Err(_) => Ok(Some(error_frame(
                    "history_unavailable",
                    "Historique momentanément indisponible ; rechargez vos notifications.",
                ))),
            }
        }
        "send" => {
            if !sends.take() {
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
            if !sends.take() {
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
            let mut conn = match state.authenticator.pool.acquire().await {
                Ok(conn) => conn,
                Err(_) => return Ok(None),
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
