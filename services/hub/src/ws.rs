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
use nexus_web::{ApiError, auth::Authenticator};
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
async fn authenticate(auth: &Authenticator, token: &str) -> Result<(i64, i64), Message> {
    let claims = auth
        .keys
        .verify_access(token)
        .map_err(|_| close(4401, "invalid or expired token"))?;
    match auth.load(claims.user_id).await {
        Ok(user) => Ok((user.id, claims.exp)),
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
    let (user_id, mut expires_at) = match authenticate(&state.authenticator, &token).await {
        Ok(ok) => ok,
        Err(frame) => {
            metrics().auth_failures.inc();
            let _ = socket.send(frame).await;
            return;
        }
    };
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
        user_id,
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
    user_id: i64,
    expires_at: &mut i64,
    events: &mut tokio::sync::mpsc::Receiver<Outgoing>,
) -> Option<Message> {
    let mut shutdown: watch::Receiver<bool> = state.shutdown.clone();
    let mut ping = tokio::time::interval(state.settings.ping_interval);
    ping.tick().await;
    let mut last_heard = tokio::time::Instant::now();
    let mut last_sent = StreamId::default();
    let mut warned = false;
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
                        let reply = handle_client_frame(&text, state, user_id, expires_at, &mut last_sent, socket).await;
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
    user_id: i64,
    expires_at: &mut i64,
    last_sent: &mut StreamId,
    socket: &mut WebSocket,
) -> Result<Option<Value>, Message> {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Ok(Some(error_frame("invalid_frame", "Trame JSON invalide.")));
    };
    match value["type"].as_str().unwrap_or_default() {
        "ping" => Ok(Some(json!({"type": "pong"}))),
        "auth" => {
            // A fresh token for the same user, without reconnecting.
            let token = value["token"].as_str().unwrap_or_default();
            match authenticate(&state.authenticator, token).await {
                Ok((id, exp)) if id == user_id => {
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
        _ => Ok(Some(error_frame("unknown_type", "Type de trame inconnu."))),
    }
}

fn error_frame(code: &str, message: &str) -> Value {
    json!({"type": "error", "code": code, "message": message})
}
