//! `nexus-hub` over real TCP websockets, against real Redis and Postgres: the stream
//! the API's outbox relay writes is written here directly, with the same shape.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use nexus_auth::{JwtKeys, Role};
use nexus_config::ConnectionUrl;
use nexus_hub::{Application, settings::HubSettings};
use nexus_protocol::{
    RequestedChannel,
    hub::{ClientFrame, ErrorFrame, PresenceUser, ServerFrame},
};
use nexus_web::ratelimit::Limit;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

mod audit;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Hub {
    address: String,
    settings: HubSettings,
}

/// Settings with a fresh, migrated database and Redis prefix of their own.
async fn settings() -> HubSettings {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut settings = HubSettings::from_env().expect("settings");
    nexus_testkit::isolate(&mut settings.common, "hubtest").await;
    settings.common.cors_origins = vec!["https://app.nexus-reussite.fr".into()];
    settings.auth_timeout = Duration::from_millis(500);
    settings
}

/// A running hub, not waited for (its Redis may be down on purpose).
async fn spawn_unchecked(settings: &HubSettings) -> Hub {
    let app = Application::build(settings.clone()).await.expect("build");
    let address = format!("127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    Hub {
        address,
        settings: settings.clone(),
    }
}

/// A running hub, ready: its stream follower has its starting point (what is published
/// from now on is delivered live) and it listens on the live and revocation channels.
/// Waiting for both replaces a fixed pause before publishing.
async fn spawn(settings: &HubSettings) -> Hub {
    let app = Application::build(settings.clone()).await.expect("build");
    let address = format!("127.0.0.1:{}", app.port());
    let mut position = app.stream_position();
    let listening = listening_for_revocations(settings).await;
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    tokio::time::timeout(Duration::from_secs(10), position.changed())
        .await
        .expect("the stream follower starts within 10 s")
        .expect("follower");
    audit::revocations_heard_by(settings, listening + 1).await;
    Hub {
        address,
        settings: settings.clone(),
    }
}

/// How many hub instances listen on this deployment's revocation channel.
async fn listening_for_revocations(settings: &HubSettings) -> i64 {
    let mut conn = redis::Client::open(settings.common.redis_url.expose())
        .expect("redis")
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection");
    let (_, listening): (String, i64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(format!("{}auth:revoked", settings.common.redis_key_prefix))
        .query_async(&mut conn)
        .await
        .expect("numsub");
    listening
}

impl Hub {
    /// A student in the database and a valid access token for them.
    async fn user(&self) -> (i64, String) {
        self.user_with_role(Role::Student).await
    }

    fn pool(&self) -> sqlx::PgPool {
        nexus_database::lazy_pool(
            self.settings.common.database_url.expose(),
            2,
            nexus_database::Opening::OnDemand,
        )
        .expect("pool")
    }

    async fn user_with_role(&self, role: Role) -> (i64, String) {
        let pool = self.pool();
        let id: i64 = sqlx::query_scalar(
            "insert into users (email, password_hash, first_name, last_name, role) values ($1, 'x', 'A', 'B', $2) returning id",
        )
        .bind(format!("{}@lycee.fr", uuid::Uuid::new_v4().simple()))
        .bind(role.as_str())
        .fetch_one(&pool)
        .await
        .expect("user");
        (id, self.keys().issue_access(id, role))
    }

    fn keys(&self) -> JwtKeys {
        let c = &self.settings.common;
        JwtKeys::new(
            c.jwt_secret.expose_secret().as_bytes(),
            &c.jwt_audience,
            c.access_token_ttl,
        )
    }

    async fn connect(&self, query: &str) -> Socket {
        let (socket, _) =
            tokio_tungstenite::connect_async(format!("ws://{}/ws{query}", self.address))
                .await
                .expect("connect");
        socket
    }

    /// Connected and authenticated with `?token=`; the `ready` frame consumed.
    async fn connect_as(&self, token: &str) -> Socket {
        let mut socket = self.connect(&format!("?token={token}")).await;
        let ready = next_server(&mut socket).await;
        assert!(matches!(ready, ServerFrame::Ready { .. }), "{ready:?}");
        socket
    }

    /// Appends a notification for `user_id` to the stream, as the API's relay does;
    /// returns its eventId.
    async fn publish(&self, user_id: i64, title: &str) -> String {
        publish_to(
            self.settings.common.redis_url.expose(),
            &self.settings.common.redis_key_prefix,
            user_id,
            title,
        )
        .await
    }

    /// Polls `/ready` until it answers `status` (the hub noticed an outage, or its end).
    async fn wait_ready(&self, status: u16) {
        for _ in 0..200 {
            let answer = reqwest::get(format!("http://{}/ready", self.address)).await;
            if answer.is_ok_and(|a| a.status().as_u16() == status) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("/ready never answered {status}");
    }
}

/// Another user's socket, to tell when the hub's stream follower (which reads the stream
/// in order) has read every event published before: until then, an event published for a
/// user who is not connected could still reach their next socket live (seen in CI under
/// load, 2026-12-05 and 2026-12-06).
struct Witness {
    user: i64,
    socket: Socket,
}

impl Witness {
    async fn connect(hub: &Hub) -> Self {
        let (user, token) = hub.user().await;
        let socket = hub.connect_as(&token).await;
        Self { user, socket }
    }

    /// Returns once the follower has read everything published so far.
    async fn caught_up(&mut self, hub: &Hub) {
        hub.publish(self.user, "témoin").await;
        assert_eq!(
            next_json(&mut self.socket).await["data"]["title"],
            json!("témoin")
        );
    }
}

async fn publish_to(redis_url: &str, prefix: &str, user_id: i64, title: &str) -> String {
    let client = redis::Client::open(redis_url).expect("redis");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection");
    let event_id = uuid::Uuid::new_v4().to_string();
    let payload = json!({"eventId": event_id, "notificationId": 1, "userId": user_id, "kind": "result_graded",
                         "title": title, "body": "", "data": {}, "createdAt": chrono::Utc::now()});
    let _: String = redis::cmd("XADD")
        .arg(format!("{prefix}stream:events"))
        .arg("*")
        .arg("eventId")
        .arg(&event_id)
        .arg("topic")
        .arg("notification")
        .arg("payload")
        .arg(payload.to_string())
        .query_async(&mut conn)
        .await
        .expect("xadd");
    event_id
}

async fn next_frame(socket: &mut Socket) -> Message {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame within 10 s")
            .expect("socket open")
            .expect("frame");
        if !matches!(message, Message::Ping(_) | Message::Pong(_)) {
            return message;
        }
    }
}

/// The next frame, which must be one of the protocol's server frames.
async fn next_server(socket: &mut Socket) -> ServerFrame {
    match next_frame(socket).await {
        Message::Text(text) => serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("not a server frame ({e}): {text}")),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// The next frame, typed (it must be one of the protocol's), as JSON to look into.
async fn next_json(socket: &mut Socket) -> Value {
    nexus_protocol::to_value(&next_server(socket).await)
}

/// An event's data (the notification, the chat message, the presence change…).
fn data_of(frame: ServerFrame) -> Value {
    match frame {
        ServerFrame::Event { data, .. } => data,
        other => panic!("expected an event, got {other:?}"),
    }
}

async fn send_frame(socket: &mut Socket, frame: ClientFrame) {
    socket
        .send(Message::Text(
            serde_json::to_string(&frame).expect("json").into(),
        ))
        .await
        .expect("send");
}

fn auth(token: &str) -> ClientFrame {
    ClientFrame::Auth {
        token: Some(token.to_owned()),
    }
}

async fn redis_connection(settings: &HubSettings) -> redis::aio::MultiplexedConnection {
    redis::Client::open(settings.common.redis_url.expose())
        .expect("redis")
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection")
}

/// Sends `resume` and collects the titles of the events replayed, up to the `resumed` (or
/// `error`) frame, which it returns too.
async fn resume(socket: &mut Socket, offset: &str) -> (Vec<String>, Value) {
    send_frame(socket, resume_from(offset)).await;
    let mut titles = Vec::new();
    loop {
        let frame = next_json(socket).await;
        match frame["type"].as_str() {
            Some("resumed") | Some("error") => return (titles, frame),
            Some("event") => titles.push(frame["data"]["title"].as_str().expect("title").into()),
            _ => {}
        }
    }
}

fn resume_from(offset: &str) -> ClientFrame {
    ClientFrame::Resume {
        offset: Some(offset.to_owned()),
    }
}

fn send_message(conversation: i64, client_message_id: &str, body: &str) -> ClientFrame {
    ClientFrame::Send {
        conversation_id: Some(conversation),
        client_message_id: Some(client_message_id.to_owned()),
        body: Some(body.to_owned()),
    }
}

fn typing(conversation: i64) -> ClientFrame {
    ClientFrame::Typing {
        conversation_id: Some(conversation),
        is_typing: None,
    }
}

async fn close_code(socket: &mut Socket) -> u16 {
    loop {
        match next_frame(socket).await {
            Message::Close(Some(frame)) => return u16::from(frame.code),
            Message::Close(None) => return 1005,
            _ => continue,
        }
    }
}

#[tokio::test]
async fn a_notification_reaches_every_tab_of_its_user_on_any_hub_instance() {
    let settings = settings().await;
    let first = spawn(&settings).await;
    let second = spawn(&settings).await;
    let (user, token) = first.user().await;
    let (other, other_token) = first.user().await;
    let mut tab_a = first.connect_as(&token).await;
    let mut tab_b = second.connect_as(&token).await;
    let mut stranger = second.connect_as(&other_token).await;

    let event_id = first.publish(user, "Résultat disponible").await;
    for tab in [&mut tab_a, &mut tab_b] {
        let frame = next_json(tab).await;
        assert_eq!(frame["type"], json!("event"));
        assert_eq!(frame["channel"], json!(format!("user:{user}")));
        assert_eq!(frame["eventId"], json!(event_id));
        assert_eq!(frame["data"]["title"], json!("Résultat disponible"));
        assert!(frame["offset"].as_str().is_some_and(|o| o.contains('-')));
    }
    // The other user gets their own event, not this one.
    first.publish(other, "Pour l'autre").await;
    assert_eq!(
        data_of(next_server(&mut stranger).await)["title"],
        json!("Pour l'autre")
    );
}

#[tokio::test]
async fn a_client_authenticates_with_its_first_frame_and_can_renew_its_token_in_place() {
    let settings = settings().await;
    let hub = spawn(&settings).await;
    let (user, token) = hub.user().await;
    let mut socket = hub.connect("").await;
    send_frame(&mut socket, auth(&token)).await;
    assert_eq!(next_json(&mut socket).await["userId"], json!(user));
    send_frame(&mut socket, ClientFrame::Ping).await;
    assert_eq!(next_json(&mut socket).await["type"], json!("pong"));
    let fresh = hub.keys().issue_access(user, Role::Student);
    send_frame(&mut socket, auth(&fresh)).await;
    assert_eq!(
        next_json(&mut socket).await["type"],
        json!("reauthenticated")
    );
    socket
        .send(Message::Text("not json".into()))
        .await
        .expect("send");
    assert_eq!(
        next_json(&mut socket).await["code"],
        json!("invalid_frame"),
        "a bad frame is an error frame, the socket stays open"
    );
    hub.publish(user, "Toujours là").await;
    assert_eq!(
        data_of(next_server(&mut socket).await)["title"],
        json!("Toujours là")
    );
}

/// An access token for `user` that expires `seconds` from now.
fn token_expiring_in(hub: &Hub, user: i64, seconds: i64) -> (String, i64) {
    let now = chrono::Utc::now().timestamp();
    let claims = nexus_auth::AccessClaims {
        sub: user.to_string(),
        user_id: user,
        role: Role::Student,
        exp: now + seconds,
        iat: now,
        aud: hub.settings.common.jwt_audience.clone(),
        token_type: "access".into(),
        jti: uuid::Uuid::new_v4().to_string(),
        sid: None,
    };
    (hub.keys().sign(&claims), claims.exp)
}

#[tokio::test]
async fn an_expiring_token_is_warned_renewed_in_place_and_enforced_at_the_new_expiry() {
    let mut settings = settings().await;
    settings.expiry_warning = Duration::from_secs(2);
    let hub = spawn(&settings).await;
    let (user, _) = hub.user().await;
    let started = std::time::Instant::now();
    let (short, short_exp) = token_expiring_in(&hub, user, 3);
    let mut socket = hub.connect_as(&short).await;
    let warning = next_json(&mut socket).await;
    assert_eq!(warning["type"], json!("token_expiring"), "{warning}");
    assert_eq!(warning["expiresAt"], json!(short_exp));

    let (renewed, renewed_exp) = token_expiring_in(&hub, user, 8);
    send_frame(&mut socket, auth(&renewed)).await;
    let reply = next_json(&mut socket).await;
    assert_eq!(
        (reply["type"].clone(), reply["expiresAt"].clone()),
        (json!("reauthenticated"), json!(renewed_exp))
    );
    // The next frame is the renewed token's warning, two seconds before its expiry:
    // the first token's expiry went by without closing the socket.
    let warning = next_json(&mut socket).await;
    assert_eq!(warning["type"], json!("token_expiring"), "{warning}");
    assert_eq!(warning["expiresAt"], json!(renewed_exp));
    assert!(started.elapsed() > Duration::from_secs(3));
    assert_eq!(close_code(&mut socket).await, 4401, "closed at the expiry");
}

#[tokio::test]
async fn bad_tokens_silence_and_foreign_origins_are_refused() {
    let settings = settings().await;
    let hub = spawn(&settings).await;
    let (user, _) = hub.user().await;
    let mut forged = hub.connect("?token=abc.def.ghi").await;
    assert_eq!(close_code(&mut forged).await, 4401);

    let mut expired_claims = nexus_auth::AccessClaims {
        sub: user.to_string(),
        user_id: user,
        role: Role::Student,
        exp: chrono::Utc::now().timestamp() - 60,
        iat: chrono::Utc::now().timestamp() - 3600,
        aud: "nexus-reussite".into(),
        token_type: "access".into(),
        jti: "x".into(),
        sid: None,
    };
    let mut expired = hub
        .connect(&format!("?token={}", hub.keys().sign(&expired_claims)))
        .await;
    assert_eq!(close_code(&mut expired).await, 4401);
    expired_claims.exp = chrono::Utc::now().timestamp() + 600;
    expired_claims.token_type = "refresh".into();
    let mut wrong_type = hub
        .connect(&format!("?token={}", hub.keys().sign(&expired_claims)))
        .await;
    assert_eq!(close_code(&mut wrong_type).await, 4401);

    let mut silent = hub.connect("").await;
    assert_eq!(
        close_code(&mut silent).await,
        4401,
        "no auth frame within the timeout"
    );

    let mut request = format!("ws://{}/ws", hub.address)
        .into_client_request()
        .expect("request");
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().expect("header"));
    let refused = tokio_tungstenite::connect_async(request).await;
    assert!(
        refused.is_err(),
        "the upgrade is refused for a foreign origin"
    );
    let mut allowed = format!("ws://{}/ws", hub.address)
        .into_client_request()
        .expect("request");
    allowed.headers_mut().insert(
        "origin",
        "https://app.nexus-reussite.fr".parse().expect("header"),
    );
    assert!(tokio_tungstenite::connect_async(allowed).await.is_ok());
}

#[tokio::test]
async fn a_reconnecting_client_gets_what_it_missed_once_then_live_events() {
    let settings = settings().await;
    let hub = spawn(&settings).await;
    let (user, token) = hub.user().await;
    let mut socket = hub.connect_as(&token).await;
    hub.publish(user, "un").await;
    let seen = next_json(&mut socket).await;
    let offset = seen["offset"].as_str().expect("offset").to_owned();
    drop(socket);

    hub.publish(user, "deux").await;
    hub.publish(user, "trois").await;
    let mut socket = hub.connect_as(&token).await;
    send_frame(&mut socket, resume_from(&offset)).await;
    let mut titles = Vec::new();
    loop {
        let frame = next_json(&mut socket).await;
        if frame["type"] == json!("resumed") {
            assert_eq!(frame["complete"], json!(true));
            break;
        }
        titles.push(frame["data"]["title"].as_str().expect("title").to_owned());
    }
    assert_eq!(
        titles,
        ["deux", "trois"],
        "what was missed, in order, and not what was seen: {titles:?}"
    );
    hub.publish(user, "quatre").await;
    let live = next_json(&mut socket).await;
    assert_eq!(
        live["data"]["title"],
        json!("quatre"),
        "then live events, with no duplicate in between"
    );
}

/// An event published between the reconnection and its `resume` (CI, 2026-12-03: it
/// came live first, then the resume replayed the older one after it).
#[tokio::test]
async fn race_05_an_event_published_while_reconnecting_comes_after_what_was_missed() {
    let settings = settings().await;
    let hub = spawn(&settings).await;
    let (user, token) = hub.user().await;
    let mut socket = hub.connect_as(&token).await;
    hub.publish(user, "un").await;
    let offset = next_json(&mut socket).await["offset"]
        .as_str()
        .expect("offset")
        .to_owned();
    drop(socket);

    hub.publish(user, "deux").await;
    let mut socket = hub.connect_as(&token).await;
    hub.publish(user, "trois").await;
    // Wait until the follower has indexed "trois", and so handed it to the new
    // connection's queue, before the resume.
    let mut conn = redis_connection(&settings).await;
    let history = format!("{}history:{user}", settings.common.redis_key_prefix);
    for _ in 0..200 {
        let indexed: usize = redis::cmd("XLEN")
            .arg(&history)
            .query_async(&mut conn)
            .await
            .expect("xlen");
        if indexed >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (titles, resumed) = resume(&mut socket, &offset).await;
    assert_eq!(resumed["type"], json!("resumed"), "{resumed}");
    assert_eq!(titles, ["deux", "trois"], "oldest first, once each");
}

#[tokio::test]
async fn race_04_resume_after_a_live_event_replays_what_was_missed() {
    let settings = settings().await;
    let hub = spawn(&settings).await;
    let (user, token) = hub.user().await;
    let mut socket = hub.connect_as(&token).await;
    let mut witness = Witness::connect(&hub).await;
    hub.publish(user, "vu").await;
    let offset = next_json(&mut socket).await["offset"]
        .as_str()
        .expect("offset")
        .to_owned();
    drop(socket);
    hub.publish(user, "manqué").await;
    witness.caught_up(&hub).await;

    // Reconnected: a live event arrives between `ready` and `resume`.
    let mut socket = hub.connect_as(&token).await;
    hub.publish(user, "en direct").await;
    let live = next_json(&mut socket).await;
    assert_eq!(live["data"]["title"], json!("en direct"));
    send_frame(&mut socket, resume_from(&offset)).await;
    let mut titles = Vec::new();
    let resumed = loop {
        let frame = next_json(&mut socket).await;
        if frame["type"] == json!("resumed") {
            break frame;
        }
        titles.push(frame["data"]["title"].as_str().expect("title").to_owned());
    };
    assert_eq!(
        titles,
        ["manqué"],
        "what was missed, and not the live event again"
    );
    assert_eq!(resumed["complete"], json!(true));
    assert_eq!(
        resumed["offset"], live["offset"],
        "the newest offset delivered"
    );

    hub.publish(user, "après").await;
    assert_eq!(
        data_of(next_server(&mut socket).await)["title"],
        json!("après"),
        "then live events, with no duplicate in between"
    );
}

#[tokio::test]
async fn race_04_a_resume_in_pieces_after_a_live_event_replays_everything_missed_once() {
    let mut settings = settings().await;
    settings.resume_max_events = 1;
    let hub = spawn(&settings).await;
    let (user, token) = hub.user().await;
    let mut socket = hub.connect_as(&token).await;
    let mut witness = Witness::connect(&hub).await;
    hub.publish(user, "vu").await;
    let mut offset = next_json(&mut socket).await["offset"]
        .as_str()
        .expect("offset")
        .to_owned();
    drop(socket);
    hub.publish(user, "manqué 1").await;
    hub.publish(user, "manqué 2").await;
    witness.caught_up(&hub).await;
    let mut socket = hub.connect_as(&token).await;
    hub.publish(user, "en direct").await;
    assert_eq!(
        data_of(next_server(&mut socket).await)["title"],
        json!("en direct")
    );

    let mut titles = Vec::new();
    let resumed = loop {
        send_frame(&mut socket, resume_from(&offset)).await;
        let resumed = loop {
            let frame = next_json(&mut socket).await;
            if frame["type"] == json!("resumed") {
                break frame;
            }
            titles.push(frame["data"]["title"].as_str().expect("title").to_owned());
        };
        offset = resumed["offset"].as_str().expect("offset").to_owned();
        if resumed["more"] != json!(true) {
            break resumed;
        }
    };
    assert_eq!(titles, ["manqué 1", "manqué 2"]);
    assert_eq!(resumed["complete"], json!(true), "{resumed}");
}

#[tokio::test]
async fn a_slow_consumer_is_disconnected_with_4008() {
    let mut settings = settings().await;
    settings.send_queue = 4;
    let hub = spawn(&settings).await;
    let (user, token) = hub.user().await;
    let mut socket = hub.connect_as(&token).await;
    // Only this test gives a queue this small: the process-wide counter moves for it.
    let dropped_before = nexus_hub::metrics::metrics().slow_consumers.get();
    let client = redis::Client::open(settings.common.redis_url.expose()).expect("redis");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let mut pipe = redis::pipe();
    let big = "x".repeat(4000);
    for n in 0..3000 {
        let payload = json!({"eventId": n.to_string(), "userId": user, "title": big, "createdAt": chrono::Utc::now()});
        pipe.cmd("XADD")
            .arg(format!("{}stream:events", settings.common.redis_key_prefix))
            .arg("*")
            .arg("eventId")
            .arg(n.to_string())
            .arg("topic")
            .arg("notification")
            .arg("payload")
            .arg(payload.to_string())
            .ignore();
    }
    pipe.query_async::<()>(&mut conn).await.expect("burst");
    // The client reads nothing until the hub has dropped it (its queue overflowed).
    let mut waited = 0;
    while nexus_hub::metrics::metrics().slow_consumers.get() == dropped_before {
        waited += 1;
        assert!(waited < 400, "the hub never dropped the slow consumer");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(close_code(&mut socket).await, 4008);
}

#[tokio::test]
async fn after_a_redis_restart_connections_still_get_their_notifications() {
    let mut redis = nexus_testkit::PrivateRedis::start().await;
    let mut settings = settings().await;
    settings.common.redis_url = ConnectionUrl::new(redis.url());
    let hub = spawn(&settings).await;
    let (user, token) = hub.user().await;
    let mut socket = hub.connect_as(&token).await;
    hub.publish(user, "avant").await;
    assert_eq!(
        data_of(next_server(&mut socket).await)["title"],
        json!("avant")
    );

    redis.stop().await;
    hub.wait_ready(503).await;
    redis.restart().await;
    hub.wait_ready(200).await;
    hub.publish(user, "après").await;
    assert_eq!(
        data_of(next_server(&mut socket).await)["title"],
        json!("après"),
        "the socket stayed open and the event arrived"
    );
}

#[tokio::test]
async fn it_is_healthy_ready_and_exposes_metrics() {
    let settings = settings().await;
    let hub = spawn(&settings).await;
    let client = reqwest::Client::new();
    let ready: Value = client
        .get(format!("http://{}/ready", hub.address))
        .send()
        .await
        .expect("ready")
        .json()
        .await
        .expect("json");
    assert_eq!(ready["checks"], json!({"postgres": "up", "redis": "up"}));
    let (_, token) = hub.user().await;
    let _socket = hub.connect_as(&token).await;
    let metrics = client
        .get(format!("http://{}/metrics", hub.address))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for name in [
        "hub_connections ",
        "hub_connections_total",
        "hub_messages_out_total",
        "hub_delivery_latency_seconds",
        "hub_slow_consumers_dropped_total",
        "hub_connection_cap_refusals_total",
    ] {
        assert!(metrics.contains(name), "{name} missing");
    }
}

#[tokio::test]
async fn it_is_not_ready_without_redis_and_says_so() {
    let mut settings = settings().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    settings.common.redis_url = ConnectionUrl::new(format!("redis://127.0.0.1:{port}"));
    let hub = spawn_unchecked(&settings).await;
    let ready = reqwest::get(format!("http://{}/ready", hub.address))
        .await
        .expect("ready");
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["failed"], json!(["redis"]));
}

/// A class with its teacher and one student, and the class's conversation.
async fn class_with_conversation(hub: &Hub) -> ((i64, String), (i64, String), i64) {
    let teacher = hub.user_with_role(Role::Teacher).await;
    let student = hub.user_with_role(Role::Student).await;
    let pool = hub.pool();
    let class: i64 = sqlx::query_scalar(
        "insert into classes (teacher_id, name, level, school_year, join_code) values ($1, 'NSI', 'terminale', '2026-2027', $2) returning id",
    )
    .bind(teacher.0)
    .bind(uuid::Uuid::new_v4().simple().to_string()[..8].to_uppercase())
    .fetch_one(&pool)
    .await
    .expect("class");
    sqlx::query("insert into class_members (class_id, student_id) values ($1, $2)")
        .bind(class)
        .bind(student.0)
        .execute(&pool)
        .await
        .expect("member");
    let conversation: i64 = sqlx::query_scalar(
        "insert into conversations (kind, class_id) values ('class', $1) returning id",
    )
    .bind(class)
    .fetch_one(&pool)
    .await
    .expect("conversation");
    (teacher, student, conversation)
}

#[tokio::test]
async fn a_chat_message_is_stored_then_acknowledged_and_delivered_once_across_instances() {
    let settings = settings().await;
    let first = spawn(&settings).await;
    let second = spawn(&settings).await;
    let (teacher, student, conversation) = class_with_conversation(&first).await;
    let mut student_socket = first.connect_as(&student.1).await;
    let mut teacher_socket = second.connect_as(&teacher.1).await;

    let message = send_message(conversation, "c-1", "Bonjour Monsieur");
    send_frame(&mut student_socket, message.clone()).await;
    let ack = next_json(&mut student_socket).await;
    assert_eq!(ack["type"], json!("ack"), "{ack}");
    let message_id = ack["message"]["id"].as_i64().expect("id");
    let stored: String = sqlx::query_scalar("select body from messages where id = $1")
        .bind(message_id)
        .fetch_one(&first.pool())
        .await
        .expect("stored before the ack");
    assert_eq!(stored, "Bonjour Monsieur");

    let delivered = next_json(&mut teacher_socket).await;
    assert_eq!(
        delivered["channel"],
        json!(format!("conversation:{conversation}"))
    );
    assert_eq!(
        delivered["data"]["message"]["body"],
        json!("Bonjour Monsieur")
    );
    assert!(
        delivered["data"].get("recipients").is_none(),
        "the member list stays server-side"
    );
    // The sender's other tabs get it too: the event goes to every member.
    assert_eq!(
        data_of(next_server(&mut student_socket).await)["message"]["id"],
        json!(message_id)
    );

    // A retry (say the ack was lost) acknowledges the same message and delivers nothing new.
    send_frame(&mut student_socket, message).await;
    let retry = next_json(&mut student_socket).await;
    assert_eq!(retry["message"]["id"], json!(message_id));
    send_frame(
        &mut teacher_socket,
        send_message(conversation, "t-1", "Bonjour Léa"),
    )
    .await;
    let next = loop {
        let frame = next_json(&mut student_socket).await;
        if frame["type"] == json!("event") {
            break frame;
        }
    };
    assert_eq!(
        next["data"]["message"]["body"],
        json!("Bonjour Léa"),
        "no duplicate of the first message came before it"
    );
    let count: i64 = sqlx::query_scalar("select count(*) from messages")
        .fetch_one(&first.pool())
        .await
        .expect("count");
    assert_eq!(count, 2);
}

#[tokio::test]
async fn typing_reaches_the_others_and_strangers_cannot_write() {
    let settings = settings().await;
    let hub = spawn(&settings).await;
    let (teacher, student, conversation) = class_with_conversation(&hub).await;
    let (_, stranger) = hub.user_with_role(Role::Student).await;
    let mut student_socket = hub.connect_as(&student.1).await;
    let mut teacher_socket = hub.connect_as(&teacher.1).await;
    let mut stranger_socket = hub.connect_as(&stranger).await;
    send_frame(&mut student_socket, typing(conversation)).await;
    let typing = next_json(&mut teacher_socket).await;
    assert_eq!(typing["topic"], json!("typing"));
    assert_eq!(typing["data"]["userId"], json!(student.0));

    send_frame(
        &mut stranger_socket,
        send_message(conversation, "s", "intrus"),
    )
    .await;
    let refused = next_json(&mut stranger_socket).await;
    assert_eq!(refused["type"], json!("error"));
    assert_eq!(refused["code"], json!("not_found"));
    send_frame(&mut stranger_socket, ClientFrame::Ping).await;
    assert_eq!(
        next_json(&mut stranger_socket).await["type"],
        json!("pong"),
        "the socket stays open"
    );
}

#[tokio::test]
async fn a_connection_sending_too_fast_is_told_to_slow_down() {
    let mut settings = settings().await;
    // A window longer than the test, however loaded the machine.
    settings.chat_limit = Limit::new(10, Duration::from_secs(120));
    let hub = spawn(&settings).await;
    let (_, student, conversation) = class_with_conversation(&hub).await;
    let mut socket = hub.connect_as(&student.1).await;
    for n in 0..30 {
        send_frame(
            &mut socket,
            send_message(conversation, &format!("r-{n}"), "spam"),
        )
        .await;
    }
    let mut limited = 0;
    let mut acked = 0;
    while limited + acked < 30 {
        let frame = next_json(&mut socket).await;
        match frame["type"].as_str() {
            Some("ack") => acked += 1,
            Some("error") if frame["code"] == json!("rate_limited") => limited += 1,
            _ => {}
        }
    }
    assert!(
        limited > 0 && acked >= 10,
        "acked {acked}, limited {limited}"
    );
}

/// Waits for a frame matching `pred`, skipping others (pongs, unrelated events).
async fn wait_for(socket: &mut Socket, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        let frame = next_json(socket).await;
        if pred(&frame) {
            return frame;
        }
    }
}

/// The answer to a `subscribe`: who is online there (class and conversation channels),
/// or the refusal. Other frames meanwhile (events, pongs) are skipped.
async fn subscribe(
    socket: &mut Socket,
    channel: &str,
) -> Result<Option<Vec<PresenceUser>>, ErrorFrame> {
    send_frame(
        socket,
        ClientFrame::Subscribe {
            channel: RequestedChannel::parse(channel),
        },
    )
    .await;
    loop {
        match next_server(socket).await {
            ServerFrame::Subscribed {
                channel: subscribed,
                presence,
            } if subscribed.to_string() == channel => return Ok(presence),
            ServerFrame::Error(error) if error.channel.as_deref() == Some(channel) => {
                return Err(error);
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn channels_are_open_only_to_those_who_may_read_them() {
    let settings = settings().await;
    let hub = spawn(&settings).await;
    let (teacher, student, conversation) = class_with_conversation(&hub).await;
    let class: i64 = sqlx::query_scalar("select class_id from conversations where id = $1")
        .bind(conversation)
        .fetch_one(&hub.pool())
        .await
        .expect("class");
    let other_student = hub.user_with_role(Role::Student).await;
    let parent = hub.user_with_role(Role::Parent).await;
    let other_teacher = hub.user_with_role(Role::Teacher).await;
    let admin = hub.user_with_role(Role::Admin).await;
    let pool = hub.pool();
    let published: i64 = sqlx::query_scalar("insert into courses (title, level, is_published, created_by) values ('Graphes', 'terminale', true, $1) returning id")
        .bind(teacher.0)
        .fetch_one(&pool)
        .await
        .expect("course");
    let draft: i64 = sqlx::query_scalar("insert into courses (title, level, is_published, created_by) values ('Brouillon', 'terminale', false, $1) returning id")
        .bind(teacher.0)
        .fetch_one(&pool)
        .await
        .expect("course");

    let class_channel = format!("class:{class}");
    let conversation_channel = format!("conversation:{conversation}");
    let published_channel = format!("course:{published}");
    let draft_channel = format!("course:{draft}");
    // Who, with which token, and for each channel whether they may subscribe.
    type Expectation<'a> = (&'a str, &'a (i64, String), Vec<(&'a str, bool)>);
    let expectations: Vec<Expectation> = vec![
        (
            "teacher",
            &teacher,
            vec![
                (&class_channel, true),
                (&conversation_channel, true),
                (&published_channel, true),
                (&draft_channel, true),
            ],
        ),
        (
            "student",
            &student,
            vec![
                (&class_channel, true),
                (&conversation_channel, true),
                (&published_channel, true),
                (&draft_channel, false),
            ],
        ),
        (
            "other student",
            &other_student,
            vec![
                (&class_channel, false),
                (&conversation_channel, false),
                (&published_channel, true),
                (&draft_channel, false),
            ],
        ),
        (
            "parent",
            &parent,
            vec![
                (&class_channel, false),
                (&conversation_channel, false),
                (&published_channel, true),
                (&draft_channel, false),
            ],
        ),
        (
            "other teacher",
            &other_teacher,
            vec![
                (&class_channel, false),
                (&conversation_channel, false),
                (&published_channel, true),
                (&draft_channel, false),
            ],
        ),
        (
            "admin",
            &admin,
            vec![
                (&class_channel, true),
                // Admins are not members of other people's conversations (audit 09):
                // they read one only through the API's recorded review.
                (&conversation_channel, false),
                (&published_channel, true),
                (&draft_channel, true),
            ],
        ),
    ];
    for (who, user, channels) in expectations {
        let mut socket = hub.connect_as(&user.1).await;
        for (channel, allowed) in channels {
            let reply = subscribe(&mut socket, channel).await;
            assert_eq!(reply.is_ok(), allowed, "{who} on {channel}: {reply:?}");
        }
        let foreign_user = subscribe(&mut socket, &format!("user:{}", user.0 + 100_000)).await;
        assert!(foreign_user.is_err(), "{who}: another user's channel");
        assert_eq!(
            subscribe(&mut socket, "nonsense")
                .await
                .expect_err("refused")
                .code,
            "invalid_channel"
        );
        send_frame(&mut socket, ClientFrame::Ping).await;
        assert_eq!(
            wait_for(&mut socket, |f| f["type"] == json!("pong")).await["type"],
            json!("pong"),
            "{who}: still open"
        );
    }
}

#[tokio::test]
async fn presence_counts_a_user_with_two_tabs_once_across_instances() {
    let settings = settings().await;
    let first = spawn(&settings).await;
    let second = spawn(&settings).await;
    let (teacher, student, conversation) = class_with_conversation(&first).await;
    let class: i64 = sqlx::query_scalar("select class_id from conversations where id = $1")
        .bind(conversation)
        .fetch_one(&first.pool())
        .await
        .expect("class");
    let channel = format!("class:{class}");
    let mut teacher_socket = second.connect_as(&teacher.1).await;
    subscribe(&mut teacher_socket, &channel)
        .await
        .expect("subscribed");

    let mut tab_a = first.connect_as(&student.1).await;
    let joined = subscribe(&mut tab_a, &channel)
        .await
        .expect("subscribed")
        .expect("a class channel has presence");
    let online: Vec<i64> = joined.iter().map(|p| p.user_id).collect();
    assert!(
        online.contains(&teacher.0) && online.contains(&student.0),
        "{joined:?}"
    );
    // (The teacher first sees their own join.)
    let join = wait_for(&mut teacher_socket, |f| {
        f["topic"] == json!("presence") && f["data"]["userId"] == json!(student.0)
    })
    .await;
    assert_eq!(
        (join["data"]["kind"].clone(), join["data"]["userId"].clone()),
        (json!("join"), json!(student.0))
    );

    let mut tab_b = second.connect_as(&student.1).await;
    subscribe(&mut tab_b, &channel).await.expect("subscribed");
    send_frame(
        &mut tab_b,
        ClientFrame::Activity {
            channel: RequestedChannel::parse(&channel),
            course_id: Some(7),
            section_id: Some("ch1-s2".into()),
        },
    )
    .await;
    let activity = wait_for(&mut teacher_socket, |f| {
        f["topic"] == json!("presence") && f["data"]["userId"] == json!(student.0)
    })
    .await;
    assert_eq!(
        activity["data"]["kind"],
        json!("activity"),
        "the second tab is no second join: {activity}"
    );
    assert_eq!(activity["data"]["activity"]["sectionId"], json!("ch1-s2"));

    send_frame(
        &mut teacher_socket,
        ClientFrame::Presence {
            channel: RequestedChannel::parse(&channel),
        },
    )
    .await;
    let list = wait_for(&mut teacher_socket, |f| f["type"] == json!("presence")).await;
    let users = list["users"].as_array().expect("users");
    assert_eq!(
        users
            .iter()
            .filter(|u| u["userId"] == json!(student.0))
            .count(),
        1,
        "two tabs, one student: {list}"
    );
    assert_eq!(
        users
            .iter()
            .find(|u| u["userId"] == json!(student.0))
            .expect("student")["activity"]["courseId"],
        json!(7)
    );

    drop(tab_a);
    // Once the hub has seen the first tab close, only the second is in the channel.
    let key = format!(
        "{}presence:{channel}",
        first.settings.common.redis_key_prefix
    );
    let mut conn = redis_connection(&first.settings).await;
    let mut tabs = usize::MAX;
    for _ in 0..200 {
        let members: Vec<String> = redis::cmd("ZRANGE")
            .arg(&key)
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await
            .expect("zrange");
        let prefix = format!("{}:", student.0);
        tabs = members.iter().filter(|m| m.starts_with(&prefix)).count();
        if tabs == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(tabs, 1, "the hub did not see the first tab close");
    send_frame(
        &mut teacher_socket,
        ClientFrame::Presence {
            channel: RequestedChannel::parse(&channel),
        },
    )
    .await;
    let still = wait_for(&mut teacher_socket, |f| f["type"] == json!("presence")).await;
    assert!(
        still["users"]
            .as_array()
            .expect("users")
            .iter()
            .any(|u| u["userId"] == json!(student.0)),
        "one tab left: still online"
    );
    drop(tab_b);
    let leave = wait_for(&mut teacher_socket, |f| {
        f["topic"] == json!("presence") && f["data"]["kind"] == json!("leave")
    })
    .await;
    assert_eq!(leave["data"]["userId"], json!(student.0));
}

#[tokio::test]
async fn course_events_reach_the_course_channel() {
    let settings = settings().await;
    let hub = spawn(&settings).await;
    let (teacher, student, _) = class_with_conversation(&hub).await;
    let course: i64 = sqlx::query_scalar("insert into courses (title, level, is_published, created_by) values ('Graphes', 'terminale', true, $1) returning id")
        .bind(teacher.0)
        .fetch_one(&hub.pool())
        .await
        .expect("course");
    let mut socket = hub.connect_as(&student.1).await;
    subscribe(&mut socket, &format!("course:{course}"))
        .await
        .expect("subscribed");
    let client = redis::Client::open(settings.common.redis_url.expose()).expect("redis");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let _: String = redis::cmd("XADD")
        .arg(format!("{}stream:events", settings.common.redis_key_prefix))
        .arg("*")
        .arg("eventId")
        .arg("e-1")
        .arg("topic")
        .arg("course")
        .arg("payload")
        .arg(json!({"courseId": course, "action": "updated", "eventId": "e-1"}).to_string())
        .query_async(&mut conn)
        .await
        .expect("xadd");
    let event = wait_for(&mut socket, |f| f["type"] == json!("event")).await;
    assert_eq!(event["channel"], json!(format!("course:{course}")));
    assert_eq!(event["data"]["action"], json!("updated"));
}

#[tokio::test]
async fn a_deactivated_account_is_disconnected_at_once_and_a_role_change_asks_to_sign_in_again() {
    let settings = settings().await;
    let hub = spawn(&settings).await;
    let (user, token) = hub.user().await;
    let (other, other_token) = hub.user().await;
    let mut socket = hub.connect_as(&token).await;
    let mut other_socket = hub.connect_as(&other_token).await;
    let client = redis::Client::open(settings.common.redis_url.expose()).expect("redis");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    for (user_id, action) in [(user, "deactivated"), (other, "role_changed")] {
        let _: String = redis::cmd("XADD")
            .arg(format!("{}stream:events", settings.common.redis_key_prefix))
            .arg("*")
            .arg("eventId")
            .arg(action)
            .arg("topic")
            .arg("account")
            .arg("payload")
            .arg(json!({"eventId": action, "userId": user_id, "action": action}).to_string())
            .query_async(&mut conn)
            .await
            .expect("xadd");
    }
    assert_eq!(close_code(&mut socket).await, 4403);
    assert_eq!(close_code(&mut other_socket).await, 4401);
}

#[tokio::test]
async fn a_stopping_hub_tells_its_clients_to_reconnect_elsewhere() {
    let settings = settings().await;
    let app = Application::build(settings.clone()).await.expect("build");
    let address = format!("127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let hub = Hub { address, settings };
    let (_, token) = hub.user().await;
    let mut socket = hub.connect_as(&token).await;
    stop.send(()).expect("stop");
    assert_eq!(close_code(&mut socket).await, 1012);
}
