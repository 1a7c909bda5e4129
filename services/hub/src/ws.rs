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
        ws::{Message, WebSocket, WebSocketUpgrade},
    },
    http::HeaderMap,
    response::Response,
};
use nexus_chat::{ChatError, Member};
use nexus_protocol::{
    Channel, InvalidChannel, RequestedChannel, channel,
    hub::{Activity, ClientFrame, ErrorFrame, ServerFrame},
};
use nexus_web::{
    auth::{Authenticator, CurrentUser},
    ws as handshake,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tokio::{sync::watch, time::Instant};

use crate::{
    AppState, live,
    metrics::metrics,
    quota::Bucket,
    registry::{Control, Outgoing, StreamId},
    stream,
};

/// Channels one connection may follow besides its own `user:{id}`.
pub const MAX_SUBSCRIPTIONS: usize = 64;

pub async fn upgrade(
    State(state): State<AppState>,
    Query(query): Query<handshake::ConnectQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if let Some(refused) = handshake::foreign_origin(&headers, &state.settings.common.cors_origins)
    {
        metrics().auth_failures.inc();
        return refused;
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
    handshake::close_frame((code, reason))
}

/// A valid token: the user and the token's expiry (unix seconds). The checks are the
/// API's, and ARIA's (`nexus_web::ws`): a revoked token is refused here too.
async fn authenticate(auth: &Authenticator, token: &str) -> Result<(CurrentUser, i64), Message> {
    handshake::check(auth, token)
        .await
        .map_err(handshake::close_frame)
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
    fn presence_channels(&self) -> Vec<Channel> {
        self.subscriptions
            .iter()
            .copied()
            .filter(|c| c.has_presence())
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
    let token = match handshake::token(&mut socket, query_token, state.settings.auth_timeout).await
    {
        Ok(token) => token,
        Err(refused) => {
            metrics().auth_failures.inc();
            let _ = socket.send(handshake::close_frame(refused)).await;
            return;
        }
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
        .send(text_frame(ServerFrame::Ready {
            user_id: user.id,
            channels: vec![Channel::User(user.id)],
        }))
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
        let _ = Box::pin(state.presence.leave(channel, user.id, session.id)).await;
    }
    metrics().connections.dec();
    if let Some(frame) = end {
        let _ = socket.send(frame).await;
    }
}

/// How long live events wait for a first client frame, which may be a `resume`.
const RESUME_GRACE: Duration = Duration::from_millis(500);

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
    // Live events wait in the queue until the client's first frame (a reconnecting
    // client sends `resume` on `ready`) or RESUME_GRACE: had one come live before the
    // resume, the resume would replay older events after it, out of order.
    let mut live_open = false;
    let gate = last_heard + RESUME_GRACE;
    let next = |next_ping: Instant, warned: bool, warning: Instant, expiry: Instant| {
        let first = next_ping.min(expiry);
        if warned { first } else { first.min(warning) }
    };
    let timer = tokio::time::sleep_until(next(next_ping, warned, warning, expiry).min(gate));
    tokio::pin!(timer);
    loop {
        tokio::select! {
            event = events.recv(), if live_open => {
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
                        live_open = true;
                        let expires_at = session.expires_at;
                        match Box::pin(handle_client_frame(&text, state, session, socket)).await {
                            Ok(Some(reply)) => { let _ = socket.send(text_frame(reply)).await; }
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
                live_open |= now >= gate;
                if now >= expiry {
                    return Some(close(4401, "token expired"));
                }
                if !warned && now >= warning {
                    warned = true;
                    let _ = socket.send(text_frame(ServerFrame::TokenExpiring { expires_at: session.expires_at })).await;
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
                let due = next(next_ping, warned, warning, expiry);
                timer.as_mut().reset(if live_open { due } else { due.min(gate) });
            }
            _ = &mut stopping => {
                return Some(close(1012, "service restarting, reconnect"));
            }
        }
    }
}

fn text_frame(frame: ServerFrame) -> Message {
    let value = nexus_protocol::to_value(&frame);
    metrics()
        .messages_out
        .with_label_values(&[value["type"].as_str().unwrap_or("other")])
        .inc();
    Message::Text(value.to_string().into())
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
            nexus_database::courses::sees_course(pool, user.role, user.id, id).await
        }
    }
}

/// The frame's `channel`, parsed when the frame was; else the error frame to answer
/// (echoing the name only when it is short).
fn channel_of(requested: RequestedChannel) -> Result<Channel, ErrorFrame> {
    requested.0.map_err(|invalid| {
        let message = match invalid.reason {
            InvalidChannel::TooLong => "Nom de canal trop long.",
            InvalidChannel::Malformed => {
                "Canal invalide : attendu user:ID, class:ID, course:ID ou conversation:ID, \
                 ID en chiffres sans signe ni zéro initial."
            }
        };
        let frame = ErrorFrame::new("invalid_channel", message);
        if invalid.raw.len() <= channel::MAX_LEN {
            frame.on_channel(invalid.raw)
        } else {
            frame
        }
    })
}

/// A frame's answer, or the error frame that answers instead.
type Reply = Result<ServerFrame, ErrorFrame>;

fn answer(reply: Reply) -> Option<ServerFrame> {
    Some(reply.unwrap_or_else(ServerFrame::from))
}

/// Handles a client frame; `Ok(Some(reply))` to answer, `Err(close)` to end. One
/// function a frame type, as mini-redis has one type a command.
async fn handle_client_frame(
    text: &str,
    state: &AppState,
    session: &mut Session,
    socket: &mut WebSocket,
) -> Result<Option<ServerFrame>, Message> {
    let Ok(frame) = ClientFrame::parse(text) else {
        return Ok(answer(Err(ErrorFrame::new(
            "invalid_frame",
            "Trame JSON invalide.",
        ))));
    };
    Ok(match frame {
        ClientFrame::Ping => Some(ServerFrame::Pong),
        ClientFrame::Auth { token } => {
            Some(reauthenticate(state, session, token.unwrap_or_default()).await?)
        }
        ClientFrame::Subscribe { channel } => answer(subscribe(state, session, channel).await),
        ClientFrame::Unsubscribe { channel } => answer(unsubscribe(state, session, channel).await),
        ClientFrame::Presence { channel } => answer(presence(state, session, channel).await),
        ClientFrame::Activity {
            channel,
            course_id,
            section_id,
        } => activity(state, session, channel, course_id, section_id)
            .await
            .err()
            .map(ServerFrame::from),
        ClientFrame::Resume { offset } => answer(resume(state, session, socket, offset).await?),
        ClientFrame::Send {
            conversation_id,
            client_message_id,
            body,
        } => answer(send(state, session, conversation_id, client_message_id, body).await),
        ClientFrame::Typing {
            conversation_id,
            is_typing,
        } => typing(state, session, conversation_id, is_typing)
            .await
            .err()
            .map(ServerFrame::from),
        ClientFrame::Unknown => answer(Err(ErrorFrame::new(
            "unknown_type",
            "Type de trame inconnu.",
        ))),
    })
}

/// A fresh token for the same user, without reconnecting.
async fn reauthenticate(
    state: &AppState,
    session: &mut Session,
    token: String,
) -> Result<ServerFrame, Message> {
    match authenticate(&state.authenticator, &token).await {
        Ok((fresh, expires_at)) if fresh.id == session.user.id => {
            session.user = fresh;
            session.expires_at = expires_at;
            session.token = SecretString::from(token);
            Ok(ServerFrame::Reauthenticated { expires_at })
        }
        Ok(_) => Err(close(4403, "token of another user")),
        Err(frame) => Err(frame),
    }
}

async fn subscribe(state: &AppState, session: &mut Session, channel: RequestedChannel) -> Reply {
    let channel = channel_of(channel)?;
    if !session.subscriptions.contains(&channel) && session.subscriptions.len() >= MAX_SUBSCRIPTIONS
    {
        return Err(ErrorFrame::new(
            "too_many_subscriptions",
            "Trop d'abonnements sur cette connexion : désabonnez-vous d'abord.",
        )
        .on_channel(channel));
    }
    let user_id = session.user.id;
    state
        .quota
        .hit(Bucket::Subscribe, user_id)
        .await
        .map_err(|frame| frame.on_channel(channel))?;
    match may_subscribe(state, session.user, channel).await {
        Ok(true) => {
            state.registry.subscribe(session.id, channel);
            if !session.subscriptions.contains(&channel) {
                session.subscriptions.push(channel);
            }
            let mut presence = None;
            if channel.has_presence() {
                let _ = state.presence.join(channel, user_id, session.id).await;
                presence = Some(state.presence.list(channel).await.unwrap_or_default());
            }
            Ok(ServerFrame::Subscribed { channel, presence })
        }
        Ok(false) => Err(
            ErrorFrame::new("forbidden", "Vous n'avez pas accès à ce canal.").on_channel(channel),
        ),
        Err(_) => Err(
            ErrorFrame::new("unavailable", "Service momentanément indisponible.")
                .on_channel(channel),
        ),
    }
}

async fn unsubscribe(state: &AppState, session: &mut Session, channel: RequestedChannel) -> Reply {
    let channel = channel_of(channel)?;
    state.registry.unsubscribe(session.id, channel);
    if let Some(at) = session.subscriptions.iter().position(|c| *c == channel) {
        session.subscriptions.remove(at);
        if channel.has_presence() {
            let _ = state
                .presence
                .leave(channel, session.user.id, session.id)
                .await;
        }
    }
    Ok(ServerFrame::Unsubscribed { channel })
}

async fn presence(state: &AppState, session: &Session, channel: RequestedChannel) -> Reply {
    let channel = channel_of(channel)?;
    if !session.subscriptions.contains(&channel) || !channel.has_presence() {
        return Err(ErrorFrame::new(
            "not_subscribed",
            "Abonnez-vous d'abord à ce canal de classe ou de conversation.",
        ));
    }
    state
        .quota
        .hit(Bucket::Subscribe, session.user.id)
        .await
        .map_err(|frame| frame.on_channel(channel))?;
    let users = state.presence.list(channel).await.unwrap_or_default();
    Ok(ServerFrame::Presence { channel, users })
}

/// What a student works on, to their class's subscribers; no answer when accepted.
async fn activity(
    state: &AppState,
    session: &Session,
    channel: RequestedChannel,
    course_id: Option<i64>,
    section_id: Option<String>,
) -> Result<(), ErrorFrame> {
    let channel = channel_of(channel)?;
    if !session.subscriptions.contains(&channel) || !matches!(channel, Channel::Class(_)) {
        return Err(ErrorFrame::new(
            "not_subscribed",
            "Abonnez-vous d'abord à ce canal de classe.",
        ));
    }
    state.quota.hit(Bucket::Chat, session.user.id).await?;
    let activity = Activity {
        course_id,
        section_id: section_id.map(|s| s.chars().take(100).collect()),
        at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    };
    let _ = state
        .presence
        .activity(channel, session.user.id, &activity)
        .await;
    Ok(())
}

/// Replays this user's events after `offset`, then answers `resumed`.
async fn resume(
    state: &AppState,
    session: &mut Session,
    socket: &mut WebSocket,
    offset: Option<String>,
) -> Result<Reply, Message> {
    let Some(offset) = offset.as_deref().and_then(StreamId::parse) else {
        return Ok(Err(ErrorFrame::new(
            "invalid_offset",
            "Position de reprise invalide.",
        )));
    };
    if let Err(frame) = state.quota.hit(Bucket::Resume, session.user.id).await {
        return Ok(Err(frame));
    }
    // What was written to the stream before this resume is in the histories once this
    // instance's follower got there (usually already: it blocks on the stream). If it
    // lags, what it has not indexed yet comes live afterwards.
    if let Ok(end) = stream::end(&state.redis).await {
        let mut indexed = state.indexed.clone();
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            indexed.wait_for(|indexed| *indexed >= end),
        )
        .await;
    }
    let missed = stream::missed(
        &state.redis,
        session.user.id,
        offset,
        state.settings.resume_max_events,
    )
    .await;
    let Ok(missed) = missed else {
        return Ok(Err(ErrorFrame::new(
            "history_unavailable",
            "Historique momentanément indisponible ; rechargez vos notifications.",
        )));
    };
    for event in &missed.events {
        if session.replay(socket, event).await.is_err() {
            return Err(close(1001, "gone"));
        }
    }
    // The client has everything up to its offset: live events still queued up to there
    // are duplicates.
    session.last_sent = session.last_sent.max(offset);
    session.replayed = session.replayed.max(offset);
    // With more to come, where the next resume goes on (which may be older than a live
    // event already sent); else the newest sent.
    let next = match missed.events.last().and_then(|e| e.offset) {
        Some(last) if missed.more => last,
        _ => session.last_sent,
    };
    Ok(Ok(ServerFrame::Resumed {
        complete: missed.complete,
        more: missed.more,
        offset: next.to_string(),
    }))
}

/// Stores a chat message (with its delivery event) before acknowledging it.
async fn send(
    state: &AppState,
    session: &Session,
    conversation_id: Option<i64>,
    client_message_id: Option<String>,
    body: Option<String>,
) -> Reply {
    state
        .quota
        .hit(Bucket::Chat, session.user.id)
        .await
        .map_err(|frame| frame.for_message(client_message_id.as_deref()))?;
    let (Some(conversation_id), Some(client_message_id), Some(body)) =
        (conversation_id, client_message_id, body)
    else {
        return Err(ErrorFrame::new(
            "invalid_frame",
            "conversationId, clientMessageId et body sont requis.",
        ));
    };
    let sender = Member {
        id: session.user.id,
        role: session.user.role,
    };
    match nexus_chat::send(
        &state.authenticator.pool,
        sender,
        conversation_id,
        &client_message_id,
        &body,
    )
    .await
    {
        Ok((message, _)) => Ok(ServerFrame::Ack {
            client_message_id,
            conversation_id,
            message: nexus_protocol::to_value(&message),
        }),
        Err(error) => Err(chat_error_frame(error, Some(&client_message_id))),
    }
}

/// Tells the conversation's other members; no answer (over the limit, dropped silently).
async fn typing(
    state: &AppState,
    session: &Session,
    conversation_id: Option<i64>,
    is_typing: Option<bool>,
) -> Result<(), ErrorFrame> {
    let user_id = session.user.id;
    if state.quota.hit(Bucket::Chat, user_id).await.is_err() {
        return Ok(());
    }
    let Some(conversation) = conversation_id else {
        return Err(ErrorFrame::new(
            "invalid_frame",
            "conversationId est requis.",
        ));
    };
    let member = Member {
        id: user_id,
        role: session.user.role,
    };
    let Ok(mut conn) = state.authenticator.pool.acquire().await else {
        return Ok(());
    };
    let members = nexus_chat::ensure_member(&mut conn, member, conversation)
        .await
        .map_err(|error| chat_error_frame(error, None))?;
    let recipients: Vec<i64> = members.into_iter().filter(|m| *m != user_id).collect();
    let payload = json!({
        "eventId": uuid::Uuid::new_v4().to_string(), "conversationId": conversation, "userId": user_id,
        "isTyping": is_typing.unwrap_or(true), "recipients": recipients,
        "createdAt": chrono::Utc::now(),
    });
    let _ = live::publish(&state.redis, "typing", &payload).await;
    Ok(())
}

fn chat_error_frame(error: ChatError, client_id: Option<&str>) -> ErrorFrame {
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
    ErrorFrame::new(code, message).for_message(client_id)
}
