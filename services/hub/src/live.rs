//! What the hubs learn over Redis pub/sub rather than the event stream:
//!
//! - live-only frames (typing, presence), published by the hubs themselves. Kept out of
//!   the event stream, a flood of them can never push a notification out of what a
//!   resume replays; lost when Redis is down, as a typing indicator may be;
//! - token revocations, which the API announces on `nexus_web::auth::REVOKED_CHANNEL`
//!   with the user id: that user's connections check their token again.
//!
//! Pub/sub messages sent while a hub is not subscribed are lost: after each
//! (re)subscription every connection of the instance checks its token once.

use std::time::Duration;

use futures::StreamExt;
use nexus_web::redis_conn::Redis;
use redis::Value as RedisValue;
use serde_json::{Value, json};

use crate::{registry::Registry, stream};

/// The pub/sub channel (under the key prefix) of live-only frames.
pub const LIVE_CHANNEL: &str = "hub:live";

/// Publishes a live-only event (`typing`, `presence`) to every hub instance.
pub async fn publish(redis: &Redis, topic: &str, payload: &Value) -> redis::RedisResult<()> {
    let mut conn = redis.connection();
    redis::cmd("PUBLISH")
        .arg(redis.key(LIVE_CHANNEL))
        .arg(json!({"topic": topic, "payload": payload}).to_string())
        .query_async(&mut conn)
        .await
}

/// Listens until the process stops, subscribing again after each Redis failure.
pub async fn listen(client: redis::Client, redis: Redis, registry: Registry) {
    let live = redis.key(LIVE_CHANNEL);
    let revoked = redis.key(nexus_web::auth::REVOKED_CHANNEL);
    let mut backoff = Duration::from_millis(100);
    loop {
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub
                .subscribe(&[live.as_str(), revoked.as_str()][..])
                .await?;
            redis::RedisResult::Ok(pubsub)
        };
        let pubsub = match tokio::time::timeout(Duration::from_secs(2), subscribed).await {
            Ok(Ok(pubsub)) => pubsub,
            Ok(Err(error)) => {
                tracing::warn!(%error, "subscribing to live events failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
            Err(_) => {
                tracing::warn!("subscribing to live events timed out; retrying");
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        // Revocations announced while we were not listening are lost: check every token.
        registry.revoke_all();
        let (mut sink, mut messages) = pubsub.split();
        // A connection that dies without a reset (a network partition) never ends the
        // stream: a ping that goes unanswered does.
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.tick().await;
        loop {
            tokio::select! {
                message = messages.next() => match message {
                    Some(message) => dispatch(&message, &revoked, &registry),
                    None => break,
                },
                _ = heartbeat.tick() => {
                    let pong = tokio::time::timeout(HEARTBEAT, sink.ping::<RedisValue>()).await;
                    if !matches!(pong, Ok(Ok(_))) {
                        break;
                    }
                }
            }
        }
        tracing::warn!("the live events subscription ended; subscribing again");
    }
}

/// How often the subscription's connection is checked.
const HEARTBEAT: Duration = Duration::from_secs(10);

fn dispatch(message: &redis::Msg, revoked: &str, registry: &Registry) {
    let Ok(payload) = std::str::from_utf8(message.get_payload_bytes()) else {
        return;
    };
    if message.get_channel_name() == revoked {
        match payload.trim().parse::<i64>() {
            Ok(user) => registry.revoke(user),
            Err(_) => tracing::warn!(payload, "unreadable token revocation"),
        }
    } else if let Ok(value) = serde_json::from_str::<Value>(payload)
        && let Some(topic) = value["topic"].as_str()
        && let Some(a) = stream::address(topic, value["payload"].clone(), None)
            .filter(|a| a.ephemeral && a.event.control.is_none())
    {
        for user in &a.recipients {
            registry.send(*user, &a.event);
        }
        if let Some(channel) = &a.channel {
            registry.send_to_channel(*channel, &a.event);
        }
    }
}
