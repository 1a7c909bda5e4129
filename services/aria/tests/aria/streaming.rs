//! The answer as it is written: the websocket's frames, server-sent events, and what
//! happens when the model's stream breaks off or the model keeps failing.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use nexus_auth::Role;
use nexus_protocol::aria::{ClientFrame, ErrorFrame, Generation, Metadata, ServerFrame};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::{Aria, model_at, real_model, spawn, spawn_configured, spawn_with};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(aria: &Aria, session: &str, token: Option<&str>) -> Socket {
    let base = aria.address.replace("http://", "ws://");
    let url = match token {
        Some(token) => format!("{base}/ws/aria/{session}?token={token}"),
        None => format!("{base}/ws/aria/{session}"),
    };
    tokio_tungstenite::connect_async(url)
        .await
        .expect("connect")
        .0
}

/// What a socket receives: a frame, or the close and its code.
#[derive(Debug, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one frame at a time, compared and dropped"
)]
enum Received {
    Frame(ServerFrame),
    Closed(Option<u16>),
}

/// The next frame (60 s at most: the small model answers in well under that).
async fn next(socket: &mut Socket) -> Received {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(60), socket.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("frame");
        match frame {
            Message::Text(text) => {
                return Received::Frame(serde_json::from_str(&text).expect("a server frame"));
            }
            Message::Close(close) => return Received::Closed(close.map(|c| u16::from(c.code))),
            _ => continue,
        }
    }
}

/// The next frame, which must not be a close.
async fn next_frame(socket: &mut Socket) -> ServerFrame {
    match next(socket).await {
        Received::Frame(frame) => frame,
        closed => panic!("expected a frame: {closed:?}"),
    }
}

async fn send(socket: &mut Socket, frame: ClientFrame) {
    socket
        .send(Message::Text(
            serde_json::to_string(&frame).expect("json").into(),
        ))
        .await
        .expect("send");
}

fn question(content: &str) -> ClientFrame {
    ClientFrame::UserMessage {
        content: content.into(),
        timestamp: None,
    }
}

/// The frames of one answer, from `typing` true to `typing` false.
async fn answer_frames(socket: &mut Socket) -> Vec<ServerFrame> {
    let mut frames = vec![next_frame(socket).await];
    while frames.last() != Some(&ServerFrame::Typing { is_typing: false }) {
        frames.push(next_frame(socket).await);
    }
    frames
}

fn is_connected(frame: &ServerFrame) -> bool {
    matches!(frame, ServerFrame::Connected { .. })
}

/// The error frame at `at`, else a panic naming the frames.
fn error_at(frames: &[ServerFrame], at: usize) -> &ErrorFrame {
    match &frames[at] {
        ServerFrame::Error(error) => error,
        _ => panic!("no error frame at {at}: {frames:?}"),
    }
}

/// The stored answer's content and metadata, else a panic naming the frames.
fn response_of(frames: &[ServerFrame]) -> (&str, &Metadata) {
    frames
        .iter()
        .find_map(|f| match f {
            ServerFrame::AiResponse {
                content, metadata, ..
            } => Some((content.as_str(), metadata)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no ai_response: {frames:?}"))
}

async fn stacks_course(aria: &Aria) {
    let (teacher, _) = aria.user(Role::Teacher).await;
    aria.stacks_course(teacher).await;
}

#[tokio::test]
async fn the_websocket_streams_the_answer_in_the_contract_frames() {
    let aria = spawn_with(100, Some(real_model())).await;
    stacks_course(&aria).await;
    let (student, token) = aria.user(Role::Student).await;
    let session = format!("ws-{}", uuid::Uuid::new_v4().simple());
    let mut socket = connect(&aria, &session, Some(&token)).await;
    assert_eq!(
        next_frame(&mut socket).await,
        ServerFrame::Connected {
            session_id: session.clone()
        }
    );
    for (n, content) in ["Qu'est-ce qu'une pile ?", "Et une file ?"]
        .into_iter()
        .enumerate()
    {
        send(
            &mut socket,
            ClientFrame::UserMessage {
                content: content.into(),
                timestamp: Some("2026-11-22T10:00:00Z".into()),
            },
        )
        .await;
        let frames = answer_frames(&mut socket).await;
        assert_eq!(frames[0], ServerFrame::Typing { is_typing: true });
        let chunks: Vec<&str> = frames
            .iter()
            .filter_map(|f| match f {
                ServerFrame::AiChunk { content } => Some(content.as_str()),
                _ => None,
            })
            .collect();
        assert!(chunks.len() > 1, "tokens are streamed: {frames:?}");
        let Some(ServerFrame::AiResponse {
            content,
            confidence,
            sources,
            metadata,
            timestamp,
            ..
        }) = frames
            .iter()
            .find(|f| matches!(f, ServerFrame::AiResponse { .. }))
        else {
            panic!("no ai_response: {frames:?}");
        };
        assert_eq!(
            content.as_str(),
            chunks.concat().trim(),
            "the answer is what was streamed"
        );
        assert!(confidence.is_finite(), "{confidence}");
        assert!(!timestamp.is_empty());
        assert_eq!(metadata.generation, Generation::Enabled);
        if n == 0 {
            assert_eq!(sources[0].section_title, "Les piles");
        }
        assert!(
            frames
                .iter()
                .position(|f| matches!(f, ServerFrame::AiChunk { .. }))
                .expect("chunk")
                < frames
                    .iter()
                    .position(|f| matches!(f, ServerFrame::AiResponse { .. }))
                    .expect("response"),
            "chunks come before the answer"
        );
    }
    // Pings and unknown frames do not close the socket.
    send(&mut socket, ClientFrame::Ping).await;
    assert_eq!(next_frame(&mut socket).await, ServerFrame::Pong);
    socket
        .send(Message::Text("pas du json".into()))
        .await
        .expect("send");
    assert_eq!(
        error_at(&[next_frame(&mut socket).await], 0).code,
        "invalid_frame"
    );
    send(&mut socket, ClientFrame::Ping).await;
    assert_eq!(next_frame(&mut socket).await, ServerFrame::Pong);
    // Both exchanges are stored in the session named by the path, the student's own.
    let stored = aria
        .count(&format!(
            "select count(*) from aria_messages m join aria_sessions s using (session_id)
             where s.session_id = '{session}' and s.user_id = {student}"
        ))
        .await;
    assert_eq!(stored, 4);
}

#[tokio::test]
async fn the_websocket_without_a_model_answers_from_the_courses_and_refuses_strangers() {
    let aria = spawn(100).await;
    stacks_course(&aria).await;
    let (_, token) = aria.user(Role::Student).await;
    let session = format!("ws-{}", uuid::Uuid::new_v4().simple());
    // Authentication by the first frame.
    let mut socket = connect(&aria, &session, None).await;
    send(
        &mut socket,
        ClientFrame::Auth {
            token: token.clone(),
        },
    )
    .await;
    assert!(is_connected(&next_frame(&mut socket).await));
    send(&mut socket, question("C'est quoi une pile ?")).await;
    let frames = answer_frames(&mut socket).await;
    assert!(
        !frames
            .iter()
            .any(|f| matches!(f, ServerFrame::AiChunk { .. })),
        "{frames:?}"
    );
    assert!(
        matches!(frames[1], ServerFrame::AiResponse { .. }),
        "{frames:?}"
    );
    let (text, _) = response_of(&frames);
    assert!(
        text.contains("désactivée") && text.contains("LIFO"),
        "{text}"
    );

    // Another student cannot use that session: an error frame, the socket stays open.
    let (_, other) = aria.user(Role::Student).await;
    let mut intruder = connect(&aria, &session, Some(&other)).await;
    assert!(is_connected(&next_frame(&mut intruder).await));
    send(&mut intruder, question("Montre-moi tout")).await;
    let frames = answer_frames(&mut intruder).await;
    assert_eq!(error_at(&frames, 1).code, "not_found");
    send(&mut intruder, ClientFrame::Ping).await;
    assert_eq!(next_frame(&mut intruder).await, ServerFrame::Pong);

    // Bad input before the answer: an error frame.
    send(&mut socket, question("   ")).await;
    let frames = answer_frames(&mut socket).await;
    let refused = error_at(&frames, 1);
    assert_eq!(refused.code, "invalid_fields", "{frames:?}");
    assert!(
        refused
            .details
            .as_ref()
            .is_some_and(|d| d["message"].is_string()),
        "{frames:?}"
    );

    // Deactivated while connected: the next question closes the socket.
    let (deactivated, deactivated_token) = aria.user(Role::Student).await;
    let mut socket = connect(
        &aria,
        &format!("ws-{}", uuid::Uuid::new_v4().simple()),
        Some(&deactivated_token),
    )
    .await;
    assert!(is_connected(&next_frame(&mut socket).await));
    sqlx::query("update users set is_active = false where id = $1")
        .bind(deactivated)
        .execute(&aria.pool)
        .await
        .expect("deactivate");
    send(&mut socket, question("C'est quoi une pile ?")).await;
    assert_eq!(next(&mut socket).await, Received::Closed(Some(4403)));

    // No token, a bad token, a parent: closed.
    let mut anonymous = connect(&aria, &session, None).await;
    send(&mut anonymous, question("x")).await;
    assert_eq!(next(&mut anonymous).await, Received::Closed(Some(4401)));
    let mut forged = connect(&aria, &session, Some("not-a-token")).await;
    assert_eq!(next(&mut forged).await, Received::Closed(Some(4401)));
    let (_, parent) = aria.user(Role::Parent).await;
    let mut parent = connect(&aria, &session, Some(&parent)).await;
    assert_eq!(next(&mut parent).await, Received::Closed(Some(4403)));

    // A session id that is not one: refused before the upgrade.
    let response = reqwest::get(format!(
        "{}/ws/aria/x'%20or%201=1?token={token}",
        aria.address
    ))
    .await
    .expect("get");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

/// The events of a server-sent-events body: (event, data).
fn events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut kind = None;
            let mut data = None;
            for line in block.lines() {
                if let Some(k) = line.strip_prefix("event:") {
                    kind = Some(k.trim().to_owned());
                }
                if let Some(d) = line.strip_prefix("data:") {
                    data = serde_json::from_str(d.trim()).ok();
                }
            }
            Some((kind?, data?))
        })
        .collect()
}

#[tokio::test]
async fn server_sent_events_stream_the_answer_and_refusals_keep_their_status() {
    let aria = spawn_with(2, Some(real_model())).await;
    stacks_course(&aria).await;
    let (_, token) = aria.user(Role::Student).await;
    let stream = |message: &str| {
        reqwest::Client::new()
            .post(format!("{}/api/aria/chat/stream", aria.address))
            .bearer_auth(&token)
            .json(&json!({"message": message}))
            .send()
    };
    let response = stream("Qu'est-ce qu'une pile ?").await.expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/event-stream")
    );
    let events = events(&response.text().await.expect("body"));
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"typing"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"typing"));
    assert!(
        kinds.iter().filter(|k| **k == "ai_chunk").count() > 1,
        "{kinds:?}"
    );
    let chunks: String = events
        .iter()
        .filter(|(k, _)| k == "ai_chunk")
        .map(|(_, d)| d["content"].as_str().expect("text"))
        .collect();
    let (_, answer) = events
        .iter()
        .find(|(k, _)| k == "ai_response")
        .expect("ai_response");
    assert_eq!(answer["content"].as_str().expect("content"), chunks.trim());
    assert!(answer["metadata"]["firstTokenMs"].is_number(), "{answer}");

    // The limit (2 a minute here) answers 429 with its JSON, not an event stream.
    assert_eq!(
        stream("Et une file ?").await.expect("send").status(),
        StatusCode::OK
    );
    let refused = stream("Encore ?").await.expect("send");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["code"], json!("rate_limited"));
}

/// A stand-in for the provider whose stream breaks off after two pieces of text.
async fn broken_stream_provider() -> String {
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(|| async {
            let pieces = [
                "data: {\"choices\":[{\"delta\":{\"content\":\"Une pile \"}}]}\n\n",
                "data: {\"choices\":[{\"delta\":{\"content\":\"est\"}}]}\n\n",
            ];
            let body = futures::stream::iter(pieces.map(|p| Ok::<_, std::io::Error>(p.to_owned())))
                .chain(futures::stream::once(async {
                    // Long enough for the pieces to leave, then the connection drops.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Err(std::io::Error::other("connection lost"))
                }));
            (
                [("content-type", "text/event-stream")],
                axum::body::Body::from_stream(body),
            )
        }),
    );
    crate::stand_in(app).await
}

#[tokio::test]
async fn a_stream_that_breaks_off_is_answered_from_the_courses_and_nothing_is_lost() {
    let url = broken_stream_provider().await;
    let aria = spawn_with(100, Some(model_at(url, "gpt-test", Duration::from_secs(5)))).await;
    stacks_course(&aria).await;
    let (_, token) = aria.user(Role::Student).await;
    let session = format!("ws-{}", uuid::Uuid::new_v4().simple());
    let mut socket = connect(&aria, &session, Some(&token)).await;
    next(&mut socket).await;
    send(&mut socket, question("Qu'est-ce qu'une pile ?")).await;
    let frames = answer_frames(&mut socket).await;
    let kinds: Vec<String> = frames
        .iter()
        .map(|f| {
            nexus_protocol::to_value(f)["type"]
                .as_str()
                .expect("type")
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "typing",
            "ai_chunk",
            "ai_chunk",
            "error",
            "ai_response",
            "typing"
        ],
        "{frames:?}"
    );
    assert_eq!(error_at(&frames, 3).code, "model_unavailable");
    let (text, metadata) = response_of(&frames);
    assert_eq!(metadata.generation, Generation::Fallback);
    assert!(
        text.contains("LIFO") && text.contains("momentanément indisponible"),
        "{text}"
    );
    assert_eq!(
        aria.count("select count(*) from aria_messages").await,
        2,
        "the question and the answer are kept"
    );
}

#[tokio::test]
async fn the_circuit_breaker_stops_calling_a_model_that_keeps_failing() {
    let (url, calls) = crate::faulty_provider(500, Duration::ZERO).await;
    let mut model = model_at(url, "gpt-test", Duration::from_secs(2));
    model.retries = 0;
    let aria = spawn_configured(100, Some(model), |settings| {
        settings.breaker_failures = 2;
        settings.breaker_cooldown = Duration::from_secs(600);
    })
    .await;
    stacks_course(&aria).await;
    let (_, token) = aria.user(Role::Student).await;
    for _ in 0..4 {
        let (status, answer) = aria.ask(&token, "Qu'est-ce qu'une pile ?").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["metadata"]["generation"], json!("fallback"));
        assert!(answer["response"].as_str().expect("text").contains("LIFO"));
    }
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "after 2 failures in a row the model is not called any more"
    );
}

/// A provider that writes a very long answer (`pieces` of 1,000 characters) as fast as
/// it is read, and says when it has written all of it.
async fn flooding_model(pieces: usize) -> (String, tokio::sync::oneshot::Receiver<()>) {
    let (written, all_written) = tokio::sync::oneshot::channel();
    let written = std::sync::Arc::new(std::sync::Mutex::new(Some(written)));
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move || {
            let written = written.clone();
            async move {
                let piece = format!(
                    "data: {}\n\n",
                    json!({"choices": [{"delta": {"content": "pile ".repeat(200)}}]})
                );
                let body = futures::stream::iter(0..=pieces).map(move |n| {
                    if n == pieces {
                        if let Some(written) = written.lock().expect("lock").take() {
                            let _ = written.send(());
                        }
                        return Ok::<_, std::convert::Infallible>("data: [DONE]\n\n".to_owned());
                    }
                    Ok(piece.clone())
                });
                (
                    [("content-type", "text/event-stream")],
                    axum::body::Body::from_stream(body),
                )
            }
        }),
    );
    (crate::stand_in(app).await, all_written)
}

#[tokio::test]
async fn audit_12_a_client_that_does_not_read_is_disconnected_with_4008() {
    // More than the kernel's socket buffers can hold (Linux: up to tcp_wmem's maximum
    // on ARIA's side; the client's is made small), in 1,000-character pieces.
    let send_buffer: usize = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|s| s.split_whitespace().last()?.parse().ok())
        .unwrap_or(4 << 20);
    let pieces = (2 * send_buffer / 1000).max(8000);
    let (url, all_written) = flooding_model(pieces).await;
    let aria = spawn_configured(
        100,
        Some(model_at(url, "gpt-test", Duration::from_secs(30))),
        |s| s.ws_send_queue = 8,
    )
    .await;
    let (_, token) = aria.user(Role::Student).await;
    // A client with a small receive buffer, that reads nothing while ARIA writes.
    let address = aria.address.trim_start_matches("http://").to_owned();
    let tcp = tokio::net::TcpSocket::new_v4().expect("socket");
    tcp.set_recv_buffer_size(8 * 1024).expect("buffer");
    let stream = tcp
        .connect(address.parse().expect("address"))
        .await
        .expect("connect");
    let url = format!("ws://{address}/ws/aria/slow-reader-01?token={token}");
    let (mut socket, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .expect("upgrade");
    socket
        .send(Message::Text(
            serde_json::to_string(&question("Qu'est-ce qu'une pile ?"))
                .expect("json")
                .into(),
        ))
        .await
        .expect("send");
    tokio::time::timeout(Duration::from_secs(60), all_written)
        .await
        .expect("the whole answer written in time")
        .expect("written");

    // The client reads at last: what was in flight, then the close frame.
    let mut chunks = 0;
    let close = loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame or the close in time");
        match frame {
            Some(Ok(Message::Text(text))) => {
                let frame: ServerFrame = serde_json::from_str(&text).expect("a server frame");
                assert!(
                    !matches!(frame, ServerFrame::AiResponse { .. }),
                    "the slow client was buffered"
                );
                chunks += 1;
            }
            Some(Ok(Message::Close(close))) => break close.expect("a close code"),
            Some(Ok(_)) => {}
            other => panic!("no close frame after {chunks} frames: {other:?}"),
        }
    };
    assert_eq!(u16::from(close.code), 4008, "{close:?}");
    assert_eq!(close.reason.as_str(), "slow consumer");
    assert!(
        chunks < pieces,
        "{chunks} frames: the queue was not bounded"
    );
}

/// Publishes on the revocation channel once ARIA listens to it.
async fn announce_revocation(aria: &Aria, user_id: i64) {
    let url = std::env::var("REDIS_URL").expect("REDIS_URL");
    let mut redis = redis::Client::open(url)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let channel = format!("{}{}", aria.redis_prefix, nexus_web::auth::REVOKED_CHANNEL);
    // ARIA subscribes as it starts; until then a message would be lost (and the
    // check that follows each subscription would do the job instead).
    for _ in 0..100 {
        let (_, subscribers): (String, i64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(&channel)
            .query_async::<(String, i64)>(&mut redis)
            .await
            .expect("numsub");
        if subscribers > 0 {
            let received: i64 = redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(user_id.to_string())
                .query_async(&mut redis)
                .await
                .expect("publish");
            assert!(received > 0);
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("ARIA never subscribed to {channel}");
}

#[tokio::test]
async fn audit_11_a_revocation_closes_the_user_s_websockets_at_once() {
    let aria = spawn(100).await;
    let (student, token) = aria.user(Role::Student).await;
    let (_, other) = aria.user(Role::Student).await;
    let mut sockets = Vec::new();
    for (token, session) in [
        (&token, "revoked-01"),
        (&token, "revoked-02"),
        (&other, "kept-0001"),
    ] {
        let mut socket = connect(&aria, session, Some(token)).await;
        assert!(is_connected(&next_frame(&mut socket).await));
        sockets.push(socket);
    }
    let mut kept = sockets.pop().expect("other");

    sqlx::query("update users set is_active = false where id = $1")
        .bind(student)
        .execute(&aria.pool)
        .await
        .expect("disable");
    announce_revocation(&aria, student).await;

    for socket in &mut sockets {
        let closed = tokio::time::timeout(Duration::from_secs(5), next(socket))
            .await
            .expect("closed promptly");
        assert_eq!(
            closed,
            Received::Closed(Some(4403)),
            "disabled: do not reconnect"
        );
    }
    // Other users' sockets are untouched.
    send(&mut kept, ClientFrame::Ping).await;
    assert_eq!(next_frame(&mut kept).await, ServerFrame::Pong);
}

/// A TCP proxy in front of the real Redis that a test can cut, as if Redis went away
/// and came back. Its URL is `REDIS_URL` with the proxy's address.
struct RedisProxy {
    url: String,
    down: tokio::sync::watch::Sender<bool>,
}

async fn redis_proxy() -> RedisProxy {
    let real = std::env::var("REDIS_URL").expect("REDIS_URL");
    let (scheme, rest) = real.split_once("://").expect("a redis URL");
    let (credentials, rest) = rest.rsplit_once('@').map_or(("", rest), |(c, r)| (c, r));
    let (target, path) = rest.split_once('/').map_or((rest, ""), |(t, p)| (t, p));
    let target = target.to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let at = if credentials.is_empty() {
        String::new()
    } else {
        format!("{credentials}@")
    };
    let url = format!("{scheme}://{at}{address}/{path}");
    let (down, watching) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let mut watching = watching.clone();
            if *watching.borrow() {
                continue;
            }
            let target = target.clone();
            tokio::spawn(async move {
                let Ok(mut server) = tokio::net::TcpStream::connect(&target).await else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    _ = watching.wait_for(|down| *down) => {}
                }
            });
        }
    });
    RedisProxy { url, down }
}

async fn subscribers(redis: &mut redis::aio::MultiplexedConnection, channel: &str) -> i64 {
    let (_, subscribers): (String, i64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query_async(redis)
        .await
        .expect("numsub");
    subscribers
}

/// Polls `PUBSUB NUMSUB` (every 50 ms, 10 s at most) until `done` holds.
async fn wait_subscribers(
    redis: &mut redis::aio::MultiplexedConnection,
    channel: &str,
    done: impl Fn(i64) -> bool,
) {
    for _ in 0..200 {
        if done(subscribers(redis, channel).await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the subscribers of {channel} never reached the expected count");
}

#[tokio::test]
async fn audit_11_after_redis_comes_back_every_socket_is_checked_again() {
    let proxy = redis_proxy().await;
    let proxied = proxy.url.clone();
    let aria = spawn_configured(100, None, move |s| {
        s.common.redis_url = nexus_config::ConnectionUrl::new(proxied);
    })
    .await;
    let (student, token) = aria.user(Role::Student).await;
    let mut socket = connect(&aria, "revoked-meanwhile-01", Some(&token)).await;
    assert!(is_connected(&next_frame(&mut socket).await));
    let mut redis = redis::Client::open(std::env::var("REDIS_URL").expect("REDIS_URL"))
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let channel = format!("{}{}", aria.redis_prefix, nexus_web::auth::REVOKED_CHANNEL);
    wait_subscribers(&mut redis, &channel, |n| n > 0).await;

    // Redis goes away for ARIA; the revocation announced meanwhile reaches nobody.
    proxy.down.send_replace(true);
    wait_subscribers(&mut redis, &channel, |n| n == 0).await;
    sqlx::query("update users set is_active = false where id = $1")
        .bind(student)
        .execute(&aria.pool)
        .await
        .expect("disable");
    let received: i64 = redis::cmd("PUBLISH")
        .arg(&channel)
        .arg(student.to_string())
        .query_async(&mut redis)
        .await
        .expect("publish");
    assert_eq!(received, 0, "the announcement is lost");

    // Redis is back: ARIA subscribes again and checks every socket it holds.
    proxy.down.send_replace(false);
    let closed = tokio::time::timeout(Duration::from_secs(15), next(&mut socket))
        .await
        .expect("closed once Redis is back");
    assert_eq!(closed, Received::Closed(Some(4403)));
    assert!(
        subscribers(&mut redis, &channel).await > 0,
        "subscribed again"
    );
}
