//! `/ws`: one task per connection. It authenticates the client (first frame or
//! `?token=`), registers it for the user's events, optionally replays what a
//! reconnecting client missed, then forwards events, answers pings, warns before the
//! token expires and accepts a new token in place.
//!
//! Close codes: 4401 authentication failed or timed out, or token revoked; 4403 account
//! disabled; 4429 too many connections for this user; 4008 slow consumer (queue full);
//! 1009 frame too large; 1012 service restarting.

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
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::{sync::watch, time::Instant};

use crate::{
    AppState,
    channel::{self, Channel, InvalidChannel},
    live,
    metrics::metrics,
    quota::Bucket,
    registry::{Control, Outgoing, StreamId},
    stream,
};

/// Channels one connection may follow besides its own `user:{id}`.
pub const MAX_SUBSCRIPTIONS: usize = 64;

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

/// A valid token: the user and the token's expiry (unix seconds). The checks are the
/// API's (`Authenticator::authenticate`): a revoked token is refused here too.
async fn authenticate(auth: &Authenticator, token: &str) -> Result<(CurrentUser, i64), Message> {
    let claims = auth
        .verify(token)
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
    /// The connection's current token, checked again when the API announces that some
    /// of the user's tokens were revoked.
    token: SecretString,
    /// The newest offset written, live or replayed: a live event at or before it was
    /// replayed already.
    last_sent: StreamId,
    /// The offset of the first event delivered live. The stream follower hands events to
    /// the connection in stream order from its registration on, so every event of this
    /// user from there on comes (or is queued) live, and every earlier one only through
    /// a resume. A high-water mark alone would take a live event that came before the
    /// `resume` for proof that everything older was sent, and skip what was missed.
    live_from: Option<StreamId>,
    /// The newest offset a resume replayed (a second resume does not repeat the first).
    replayed: StreamId,
    /// Channels subscribed beyond the automatic `user:{id}`.
    subscriptions: Vec<Channel>,
}

impl Session {
    /// Writes a live event unless a resume already replayed it; `Err` when the socket is
    /// gone.
    async fn deliver(&mut self, socket: &mut WebSocket, event: &Outgoing) -> Result<(), ()> {
        if let Some(offset) = event.offset {
            if offset <= self.last_sent {
                return Ok(());
            }
            self.last_sent = offset;
            self.live_from.get_or_insert(offset);
        }
        self.write(socket, event).await
    }

    /// Writes a missed event unless it came (or is queued) live, or was replayed already.
    async fn replay(&mut self, socket: &mut WebSocket, event: &Outgoing) -> Result<(), ()> {
        let Some(offset) = event.offset else {
            return Ok(());
        };
        if offset <= self.replayed || self.live_from.is_some_and(|live| offset >= live) {
            return Ok(());
        }
        self.replayed = offset;
        self.last_sent = self.last_sent.max(offset);
        self.write(socket, event).await
    }

    async fn write(&mut self, socket: &mut WebSocket, event: &Outgoing) -> Result<(), ()> {
        // The frame's bytes are shared, not copied, between the connections it goes to.
        socket
            .send(Message::Text(event.frame.clone()))
            .await
            .map_err(drop)?;
        record_delivery(event);
        Ok(())
    }

    /// Presence channels, by name, to refresh at each heartbeat.
    fn presence_channels(&self) -> Vec<String> {
        self.subscriptions
            .iter()
            .filter(|c| c.has_presence())
            .map(Channel::to_string)
            .collect()
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
    let checked_at = std::time::Instant::now();
    let authenticated = {
        let _slot = state.account_checks.acquire().await;
        Box::pin(authenticate(&state.authenticator, &token)).await
    };
    let token = SecretString::from(token);
    let (user, expires_at) = match authenticated {
        Ok(ok) => ok,
        Err(frame) => {
            metrics().auth_failures.inc();
            let _ = socket.send(frame).await;
            return;
        }
    };
    let mut registration = state
        .registry
        .register(user.id, state.settings.send_queue, checked_at);
    if !Box::pin(state.quota.claim_connection(user.id, registration.id)).await {
        state.registry.unregister(registration.id);
        metrics().auth_failures.inc();
        metrics().connection_cap_refusals.inc();
        let _ = socket.send(close(4429, "too many connections")).await;
        return;
    }
    metrics().connections.inc();
    metrics().connections_total.inc();
    let mut session = Session {
        user,
        id: registration.id,
        expires_at,
        token,
        last_sent: StreamId::default(),
        live_from: None,
        replayed: StreamId::default(),
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
    Box::pin(state.quota.release_connection(user.id, session.id)).await;
    for channel in session.presence_channels() {
        let _ = Box::pin(state.presence.leave(&channel, user.id, session.id)).await;
    }
    metrics().connections.dec();
    if let Some(frame) = end {
        let _ = socket.send(frame).await;
    }
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
                match event.control {
                    Some(Control::Close(code, reason)) => return Some(close(code, reason)),
                    Some(Control::Recheck) => {
                        if let Some(frame) = Box::pin(recheck(state, session)).await {
                            return Some(frame);
                        }
                    }
                    None => {
                        if session.deliver(socket, &event).await.is_err() {
                            return None;
                        }
                    }
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
                    let presence = session.presence_channels();
                    let user_id = session.user.id;
                    Box::pin(async {
                        state.quota.refresh_connection(user_id, session.id).await;
                        let _ = state.presence.refresh(&presence, user_id, session.id).await;
                    }).await;
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

/// After a token revocation was announced for this user (or the announcements may have
/// been missed): checks the connection's token again, as at connection. A database
/// failure keeps the connection open: it proves nothing about the token.
async fn recheck(state: &AppState, session: &mut Session) -> Option<Message> {
    let checked = {
        let _slot = state.account_checks.acquire().await;
        state
            .authenticator
            .authenticate(session.token.expose_secret())
            .await
    };
    let outcome = |outcome: &str| {
        metrics()
            .revocation_checks
            .with_label_values(&[outcome])
            .inc();
    };
    match checked {
        Ok(user) if user.id == session.user.id => {
            outcome("kept");
            session.user = user;
            None
        }
        Err(error) if error.status.is_server_error() => {
            outcome("unavailable");
            tracing::warn!(
                user = session.user.id,
                "cannot check a token again; keeping the connection"
            );
            None
        }
        // Like at connection: a disabled account is told not to reconnect (ARIA does the same).
        Err(error) if error.code == "account_disabled" => {
            outcome("closed");
            Some(close(4403, "account disabled"))
        }
        Ok(_) | Err(_) => {
            outcome("closed");
            Some(close(4401, "token revoked, sign in again"))
        }
    }
}

/// May this user read this channel? `user:{id}` is one's own; `class:{id}` its teacher
/// and students (admins too); `conversation:{id}` its members; `course:{id}` whoever
/// may see the course.
async fn may_subscribe(
    state: &AppState,
    user: CurrentUser,
    channel: Channel,
) -> Result<bool, sqlx::Error> {
    let pool = &state.authenticator.pool;
    let admin = user.role == nexus_auth::Role::Admin;
    match channel {
        Channel::User(id) => Ok(id == user.id),
        Channel::Class(id) => {
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
        Channel::Conversation(id) => {
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
        Channel::Course(id) => {
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
    }
}

/// The frame's `channel`, parsed; else the error frame to answer (echoing the name only
/// when it is short).
fn channel_of(value: &Value) -> Result<Channel, Value> {
    let raw = value["channel"].as_str().unwrap_or_default();
    Channel::parse(raw).map_err(|error| {
        let message = match error {
            InvalidChannel::TooLong => "Nom de canal trop long.",
            InvalidChannel::Malformed => {
                "Canal invalide : attendu user:ID, class:ID, course:ID ou conversation:ID, \
                 ID en chiffres sans signe ni zéro initial."
            }
        };
        let mut frame = error_frame("invalid_channel", message);
        if raw.len() <= channel::MAX_LEN {
            frame["channel"] = json!(raw);
        }
        frame
    })
}

fn with_channel(mut frame: Value, channel: Channel) -> Value {
    frame["channel"] = json!(channel.to_string());
    frame
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
    let quota = &state.quota;
    match value["type"].as_str().unwrap_or_default() {
        "ping" => Ok(Some(json!({"type": "pong"}))),
        "auth" => {
            // A fresh token for the same user, without reconnecting.
            let token = value["token"].as_str().unwrap_or_default();
            match authenticate(&state.authenticator, token).await {
                Ok((fresh, exp)) if fresh.id == user_id => {
                    session.user = fresh;
                    session.expires_at = exp;
                    session.token = SecretString::from(token);
                    Ok(Some(json!({"type": "reauthenticated", "expiresAt": exp})))
                }
                Ok(_) => Err(close(4403, "token of another user")),
                Err(frame) => Err(frame),
            }
        }
        "subscribe" => {
            let channel = match channel_of(&value) {
                Ok(channel) => channel,
                Err(frame) => return Ok(Some(frame)),
            };
            if !session.subscriptions.contains(&channel)
                && session.subscriptions.len() >= MAX_SUBSCRIPTIONS
            {
                return Ok(Some(with_channel(
                    error_frame(
                        "too_many_subscriptions",
                        "Trop d'abonnements sur cette connexion : désabonnez-vous d'abord.",
                    ),
                    channel,
                )));
            }
            if let Err(frame) = quota.hit(Bucket::Subscribe, user_id).await {
                return Ok(Some(with_channel(frame, channel)));
            }
            let name = channel.to_string();
            match may_subscribe(state, user, channel).await {
                Ok(true) => {
                    state.registry.subscribe(session.id, &name);
                    if !session.subscriptions.contains(&channel) {
                        session.subscriptions.push(channel);
                    }
                    let mut reply = json!({"type": "subscribed", "channel": name});
                    if channel.has_presence() {
                        let _ = state.presence.join(&name, user_id, session.id).await;
                        reply["presence"] =
                            json!(state.presence.list(&name).await.unwrap_or_default());
                    }
                    Ok(Some(reply))
                }
                Ok(false) => Ok(Some(with_channel(
                    error_frame("forbidden", "Vous n'avez pas accès à ce canal."),
                    channel,
                ))),
                Err(_) => Ok(Some(with_channel(
                    error_frame("unavailable", "Service momentanément indisponible."),
                    channel,
                ))),
            }
        }
        "unsubscribe" => {
            let channel = match channel_of(&value) {
                Ok(channel) => channel,
                Err(frame) => return Ok(Some(frame)),
            };
            let name = channel.to_string();
            state.registry.unsubscribe(session.id, &name);
            if let Some(at) = session.subscriptions.iter().position(|c| *c == channel) {
                session.subscriptions.remove(at);
                if channel.has_presence() {
                    let _ = state.presence.leave(&name, user_id, session.id).await;
                }
            }
            Ok(Some(json!({"type": "unsubscribed", "channel": name})))
        }
        "presence" => {
            let channel = match channel_of(&value) {
                Ok(channel) => channel,
                Err(frame) => return Ok(Some(frame)),
            };
            if !session.subscriptions.contains(&channel) || !channel.has_presence() {
                return Ok(Some(error_frame(
                    "not_subscribed",
                    "Abonnez-vous d'abord à ce canal de classe ou de conversation.",
                )));
            }
            if let Err(frame) = quota.hit(Bucket::Subscribe, user_id).await {
                return Ok(Some(with_channel(frame, channel)));
            }
            let name = channel.to_string();
            let users = state.presence.list(&name).await.unwrap_or_default();
            Ok(Some(
                json!({"type": "presence", "channel": name, "users": users}),
            ))
        }
        "activity" => {
            let channel = match channel_of(&value) {
                Ok(channel) => channel,
                Err(frame) => return Ok(Some(frame)),
            };
            if !session.subscriptions.contains(&channel) || !matches!(channel, Channel::Class(_)) {
                return Ok(Some(error_frame(
                    "not_subscribed",
                    "Abonnez-vous d'abord à ce canal de classe.",
                )));
            }
            if let Err(frame) = quota.hit(Bucket::Chat, user_id).await {
                return Ok(Some(frame));
            }
            let activity = json!({"courseId": value["courseId"].as_i64(), "sectionId": value["sectionId"].as_str().map(|s| s.chars().take(100).collect::<String>()), "at": chrono::Utc::now()});
            let _ = state
                .presence
                .activity(&channel.to_string(), user_id, activity)
                .await;
            Ok(None)
        }
        "resume" => {
            let Some(offset) = value["offset"].as_str().and_then(StreamId::parse) else {
                return Ok(Some(error_frame(
                    "invalid_offset",
                    "Position de reprise invalide.",
                )));
            };
            if let Err(frame) = quota.hit(Bucket::Resume, user_id).await {
                return Ok(Some(frame));
            }
            // What was written to the stream before this resume is in the histories once
            // this instance's follower got there (usually already: it blocks on the
            // stream). If it lags, what it has not indexed yet comes live afterwards.
            if let Ok(end) = stream::end(&state.redis).await {
                let mut indexed = state.indexed.clone();
                let _ = tokio::time::timeout(
                    Duration::from_secs(1),
                    indexed.wait_for(|indexed| *indexed >= end),
                )
                .await;
            }
            match stream::missed(
                &state.redis,
                user_id,
                offset,
                state.settings.resume_max_events,
            )
            .await
            {
                Ok(missed) => {
                    for event in &missed.events {
                        if session.replay(socket, event).await.is_err() {
                            return Err(close(1001, "gone"));
                        }
                    }
                    // The client has everything up to its offset: live events still
                    // queued up to there are duplicates.
                    session.last_sent = session.last_sent.max(offset);
                    session.replayed = session.replayed.max(offset);
                    // With more to come, where the next resume goes on (which may be
                    // older than a live event already sent); else the newest sent.
                    let next = match missed.events.last().and_then(|e| e.offset) {
                        Some(last) if missed.more => last,
                        _ => session.last_sent,
                    };
                    Ok(Some(
                        json!({"type": "resumed", "complete": missed.complete, "more": missed.more, "offset": next.to_string()}),
                    ))
                }
                Err(_) => Ok(Some(error_frame(
                    "history_unavailable",
                    "Historique momentanément indisponible ; rechargez vos notifications.",
                ))),
            }
        }
        "send" => {
            if let Err(frame) = quota.hit(Bucket::Chat, user_id).await {
                let mut frame = frame;
                if let Some(client_id) = value["clientMessageId"].as_str() {
                    frame["clientMessageId"] = json!(client_id);
                }
                return Ok(Some(frame));
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
            if quota.hit(Bucket::Chat, user_id).await.is_err() {
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
                    let _ = live::publish(&state.redis, "typing", &payload).await;
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
        ChatError::ConsentRequired => (
            "parental_consent_required",
            nexus_database::consent::CONSENT_REQUIRED_MESSAGE,
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

fn error_frame(code: &str, message: &str) -> Value {
    json!({"type": "error", "code": code, "message": message})
}
