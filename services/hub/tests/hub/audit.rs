//! Regression tests for the security audit's findings about the hub (05, 06, 11).

use super::*;

async fn class_of(hub: &Hub, conversation: i64) -> i64 {
    sqlx::query_scalar("select class_id from conversations where id = $1")
        .bind(conversation)
        .fetch_one(&hub.pool())
        .await
        .expect("class")
}

/// The first frame after connecting: `ready`, or the close code.
async fn connect_outcome(hub: &Hub, token: &str) -> Result<Socket, u16> {
    let mut socket = hub.connect(&format!("?token={token}")).await;
    match next_frame(&mut socket).await {
        Message::Text(text) if text.contains("\"ready\"") => Ok(socket),
        Message::Close(Some(frame)) => Err(u16::from(frame.code)),
        other => panic!("expected ready or a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn audit_05_channel_aliases_are_refused_with_a_clear_error() {
    let settings = settings().await;
    let hub = spawn(&settings).await;
    revocations_heard_by(&settings, 1).await;
    let (teacher, student, conversation) = class_with_conversation(&hub).await;
    let class = class_of(&hub, conversation).await;
    let mut teacher_socket = hub.connect_as(&teacher.1).await;
    assert!(
        subscribe(&mut teacher_socket, &format!("class:{class}"))
            .await
            .is_ok()
    );
    let mut socket = hub.connect_as(&student.1).await;

    for alias in [
        format!("class:0{class}"),
        format!("class:+{class}"),
        format!("class: {class}"),
        format!("CLASS:{class}"),
        format!("class:{class} "),
    ] {
        let reply = subscribe(&mut socket, &alias).await.expect_err(&alias);
        assert_eq!(reply.code, "invalid_channel", "{alias}: {reply:?}");
        assert!(reply.message.contains("Canal"), "{reply:?}");
    }
    let long = format!("class:{}{class}", "0".repeat(8192));
    send_frame(
        &mut socket,
        ClientFrame::Subscribe {
            channel: RequestedChannel::parse(&long),
        },
    )
    .await;
    let reply = wait_for(&mut socket, |f| {
        f["type"] == json!("error") || f["type"] == json!("subscribed")
    })
    .await;
    assert_eq!(reply["code"], json!("invalid_channel"), "{reply}");
    assert!(reply.get("channel").is_none(), "an 8 KB name is not echoed");

    // The one spelling works, and puts the student in the teacher's live view.
    assert!(
        subscribe(&mut socket, &format!("class:{class}"))
            .await
            .is_ok()
    );
    let join = wait_for(&mut teacher_socket, |f| {
        f["topic"] == json!("presence") && f["data"]["userId"] == json!(student.0)
    })
    .await;
    assert_eq!(join["data"]["kind"], json!("join"));
}

#[tokio::test]
async fn audit_05_subscribe_and_resume_are_rate_limited_per_user_across_connections() {
    let mut settings = settings().await;
    settings.subscribe_limit = Limit::new(3, Duration::from_secs(60));
    settings.resume_limit = Limit::new(2, Duration::from_secs(60));
    let hub = spawn(&settings).await;
    let (user, token) = hub.user().await;
    let own = format!("user:{user}");
    let mut first = hub.connect_as(&token).await;
    let mut second = hub.connect_as(&token).await;

    assert!(subscribe(&mut first, &own).await.is_ok());
    assert!(subscribe(&mut second, &own).await.is_ok());
    assert!(subscribe(&mut first, &own).await.is_ok());
    let refused = subscribe(&mut second, &own)
        .await
        .expect_err("over the limit");
    assert_eq!(refused.code, "rate_limited", "{refused:?}");
    assert!(refused.retry_after.is_some_and(|s| s > 0));
    let mut third = hub.connect_as(&token).await;
    assert_eq!(
        subscribe(&mut third, &own)
            .await
            .expect_err("over the limit")
            .code,
        "rate_limited",
        "a new connection does not reset the count"
    );

    for socket in [&mut first, &mut second] {
        let (_, reply) = resume(socket, "1-0").await;
        assert_eq!(reply["type"], json!("resumed"), "{reply}");
    }
    let (_, refused) = resume(&mut third, "1-0").await;
    assert_eq!(refused["code"], json!("rate_limited"), "{refused}");
}

#[tokio::test]
async fn audit_05_a_resume_reads_the_users_own_history_whatever_the_others_traffic() {
    let mut settings = settings().await;
    settings.resume_max_events = 3;
    let hub = spawn(&settings).await;
    let (user, token) = hub.user().await;
    let (other, _) = hub.user().await;
    // A second tab stays open: once it has an event live, a resume can find it.
    let mut witness = hub.connect_as(&token).await;
    let mut socket = hub.connect_as(&token).await;
    hub.publish(user, "vu").await;
    let offset = next_json(&mut socket).await["offset"]
        .as_str()
        .expect("offset")
        .to_owned();
    next_json(&mut witness).await;
    drop(socket);

    // Thousands of entries for someone else, between this user's events.
    let mut conn = redis_connection(&settings).await;
    let mut pipe = redis::pipe();
    for n in 0..2000 {
        let payload = json!({"eventId": format!("o-{n}"), "userId": other, "title": "autre"});
        pipe.cmd("XADD")
            .arg(format!("{}stream:events", settings.common.redis_key_prefix))
            .arg("*")
            .arg("eventId")
            .arg(format!("o-{n}"))
            .arg("topic")
            .arg("notification")
            .arg("payload")
            .arg(payload.to_string())
            .ignore();
    }
    pipe.query_async::<()>(&mut conn).await.expect("traffic");
    let titles = ["un", "deux", "trois", "quatre", "cinq"];
    for title in titles {
        hub.publish(user, title).await;
    }
    wait_for(&mut witness, |f| f["data"]["title"] == json!("cinq")).await;

    let mut socket = hub.connect_as(&token).await;
    let (first, reply) = resume(&mut socket, &offset).await;
    assert_eq!(first, ["un", "deux", "trois"], "at most resume_max_events");
    assert_eq!(
        (reply["complete"].clone(), reply["more"].clone()),
        (json!(false), json!(true)),
        "more remain: {reply}"
    );
    let (rest, reply) = resume(&mut socket, reply["offset"].as_str().expect("offset")).await;
    assert_eq!(rest, ["quatre", "cinq"]);
    assert_eq!(
        (reply["complete"].clone(), reply["more"].clone()),
        (json!(true), json!(false)),
        "{reply}"
    );
}

#[tokio::test]
async fn audit_06_chat_limits_hold_per_user_across_connections() {
    let mut settings = settings().await;
    settings.chat_limit = Limit::new(6, Duration::from_secs(60));
    let hub = spawn(&settings).await;
    let (_, student, conversation) = class_with_conversation(&hub).await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(hub.connect_as(&student.1).await);
    }
    let (mut acked, mut limited) = (0, 0);
    for (tab, socket) in sockets.iter_mut().enumerate() {
        for n in 0..4 {
            send_frame(
                socket,
                send_message(conversation, &format!("t{tab}-{n}"), "spam"),
            )
            .await;
            let reply = wait_for(socket, |f| {
                f["type"] == json!("ack") || f["type"] == json!("error")
            })
            .await;
            match reply["code"].as_str() {
                None => acked += 1,
                Some("rate_limited") => limited += 1,
                Some(other) => panic!("unexpected {other}"),
            }
        }
    }
    assert_eq!((acked, limited), (6, 6), "twelve sends over three tabs");
}

#[tokio::test]
async fn audit_06_a_user_cannot_open_more_connections_than_the_cap_on_any_instance() {
    let mut settings = settings().await;
    settings.max_connections_per_user = 2;
    let first = spawn(&settings).await;
    let second = spawn(&settings).await;
    let (_, token) = first.user().await;
    let (_, other_token) = first.user().await;
    let mut tab_a = first.connect_as(&token).await;
    let _tab_b = second.connect_as(&token).await;

    assert_eq!(connect_outcome(&first, &token).await.err(), Some(4429));
    assert_eq!(connect_outcome(&second, &token).await.err(), Some(4429));
    assert!(
        connect_outcome(&first, &other_token).await.is_ok(),
        "other users are not affected"
    );

    // A closed connection frees its place (once the hub has seen it close).
    tab_a.close(None).await.expect("close");
    let mut attempts = 0;
    while connect_outcome(&second, &token).await.is_err() {
        attempts += 1;
        assert!(attempts < 50, "the closed connection still counts");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn audit_06_typing_and_presence_never_enter_the_replay_stream() {
    let settings = settings().await;
    let hub = spawn(&settings).await;
    revocations_heard_by(&settings, 1).await;
    let (teacher, student, conversation) = class_with_conversation(&hub).await;
    let class = class_of(&hub, conversation).await;
    let mut teacher_socket = hub.connect_as(&teacher.1).await;
    subscribe(&mut teacher_socket, &format!("class:{class}"))
        .await
        .expect("subscribed");
    let mut student_socket = hub.connect_as(&student.1).await;
    subscribe(&mut student_socket, &format!("class:{class}"))
        .await
        .expect("subscribed");
    send_frame(&mut student_socket, typing(conversation)).await;

    // Both still reach the teacher, live, without an offset to resume from.
    let join = wait_for(&mut teacher_socket, |f| {
        f["topic"] == json!("presence") && f["data"]["userId"] == json!(student.0)
    })
    .await;
    let typing = wait_for(&mut teacher_socket, |f| f["topic"] == json!("typing")).await;
    assert!(join.get("offset").is_none() && typing.get("offset").is_none());
    let mut conn = redis_connection(&settings).await;
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(format!("{}stream:events", settings.common.redis_key_prefix))
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .expect("xrange");
    let ephemeral = entries
        .iter()
        .flat_map(|(_, fields)| fields)
        .filter(|(k, v)| k == "topic" && (v == "typing" || v == "presence"))
        .count();
    assert_eq!(
        ephemeral, 0,
        "no typing or presence entry in the replay stream"
    );
}

/// Waits until `count` hub instances listen on the revocation channel (and so on the
/// live one, subscribed in the same command).
pub(crate) async fn revocations_heard_by(settings: &HubSettings, count: i64) -> String {
    let channel = format!("{}auth:revoked", settings.common.redis_key_prefix);
    let mut conn = redis_connection(settings).await;
    for _ in 0..100 {
        let (_, listening): (String, i64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(&channel)
            .query_async(&mut conn)
            .await
            .expect("numsub");
        if listening >= count {
            return channel;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the hub does not listen for revocations");
}

#[tokio::test]
async fn audit_11_a_revoked_token_closes_its_users_sockets_promptly() {
    let settings = settings().await;
    let hub = spawn(&settings).await;
    let channel = revocations_heard_by(&settings, 1).await;
    let (user, _) = hub.user().await;
    // A token of a sign-in session (a refresh-token family), as the API issues them.
    let session = uuid::Uuid::new_v4();
    sqlx::query(
        "insert into auth_tokens (user_id, token_hash, token_type, family_id, expires_at)
         values ($1, $2, 'refresh', $3, now() + interval '1 day')",
    )
    .bind(user)
    .bind(session.to_string())
    .bind(session)
    .execute(&hub.pool())
    .await
    .expect("session");
    let token = hub
        .keys()
        .issue_session_access(user, Role::Student, Some(session));
    let (_, other_token) = hub.user().await;
    let mut socket = hub.connect_as(&token).await;
    let mut other_socket = hub.connect_as(&other_token).await;

    // The user signs out of that session (what the API's logout does).
    sqlx::query("update auth_tokens set revoked_at = now() where family_id = $1")
        .bind(session)
        .execute(&hub.pool())
        .await
        .expect("sign out");
    let mut conn = redis_connection(&settings).await;
    let _: i64 = redis::cmd("PUBLISH")
        .arg(&channel)
        .arg(user.to_string())
        .query_async(&mut conn)
        .await
        .expect("publish");

    let code = tokio::time::timeout(Duration::from_secs(3), close_code(&mut socket))
        .await
        .expect("closed within 3 s");
    assert_eq!(code, 4401);
    send_frame(&mut other_socket, ClientFrame::Ping).await;
    assert_eq!(
        next_json(&mut other_socket).await["type"],
        json!("pong"),
        "other users' sockets stay open"
    );
}

#[tokio::test]
async fn audit_11_revocations_missed_while_redis_was_down_apply_when_it_returns() {
    let mut redis = nexus_testkit::PrivateRedis::start().await;
    let mut settings = settings().await;
    settings.common.redis_url = ConnectionUrl::new(redis.url());
    let hub = spawn(&settings).await;
    revocations_heard_by(&settings, 1).await;
    let (user, token) = hub.user().await;
    let mut socket = hub.connect_as(&token).await;

    redis.stop().await;
    sqlx::query("update users set is_active = false where id = $1")
        .bind(user)
        .execute(&hub.pool())
        .await
        .expect("deactivate");
    // The announcement is lost: nobody hears it while Redis is down.
    redis.restart().await;

    let code = tokio::time::timeout(Duration::from_secs(8), close_code(&mut socket))
        .await
        .expect("closed once the hub listens again");
    assert_eq!(code, 4403, "a disabled account is told not to reconnect");
}
