//! Events from the platform: the API's outbox relay appends them to a Redis stream; every
//! hub instance reads the whole stream and hands each event to its own connections of
//! the recipient. Reading a stream (not pub/sub) is what makes catch-up possible: a
//! client that reconnects gives its last offset and receives what it missed.

use std::{sync::Arc, time::Duration};

use nexus_web::redis_conn::Redis;
use redis::Value;
use serde_json::json;

use crate::registry::{Outgoing, Registry, StreamId};

/// The stream the API's relay writes (see services/api/src/notifications/outbox.rs).
pub const STREAM: &str = "stream:events";
const BATCH: usize = 500;

/// An event for some users, or for the subscribers of a channel, ready to send.
pub struct Addressed {
    pub recipients: Vec<i64>,
    /// For channel events (presence, course updates): the channel's subscribers.
    pub channel: Option<String>,
    /// Ephemeral events (typing) are delivered live and never replayed.
    pub ephemeral: bool,
    pub event: Arc<Outgoing>,
}

/// Reads a stream entry (`[id, [field, value, …]]`) into an event for its recipients:
/// `notification` (one user), `chat` and `typing` (the conversation's members, listed
/// in the payload). Other topics, and unreadable entries, are skipped.
pub fn parse_entry(entry: &Value) -> Option<(StreamId, Option<Addressed>)> {
    let Value::Array(parts) = entry else {
        return None;
    };
    let [Value::BulkString(id), Value::Array(fields)] = parts.as_slice() else {
        return None;
    };
    let offset = StreamId::parse(std::str::from_utf8(id).ok()?)?;
    let field = |name: &str| {
        fields.chunks(2).find_map(|pair| match pair {
            [Value::BulkString(k), Value::BulkString(v)] if k == name.as_bytes() => {
                String::from_utf8(v.clone()).ok()
            }
            _ => None,
        })
    };
    let addressed = (|| {
        let topic = field("topic")?;
        let mut payload: serde_json::Value = serde_json::from_str(&field("payload")?).ok()?;
        let mut subscribers_of = None;
        let mut close = None;
        let (recipients, channel) = match topic.as_str() {
            // An account change the platform wants applied to open connections at once.
            "account" => {
                let user_id = payload["userId"].as_i64()?;
                close = Some(match payload["action"].as_str()? {
                    "deactivated" => (4403, "account disabled"),
                    _ => (4401, "account changed, sign in again"),
                });
                (vec![user_id], format!("user:{user_id}"))
            }
            "notification" => {
                let user_id = payload["userId"].as_i64()?;
                (vec![user_id], format!("user:{user_id}"))
            }
            "chat" | "typing" => {
                let recipients = payload["recipients"]
                    .as_array()?
                    .iter()
                    .filter_map(serde_json::Value::as_i64)
                    .collect();
                let conversation = payload["conversationId"].as_i64()?;
                if let Some(map) = payload.as_object_mut() {
                    map.remove("recipients");
                }
                (recipients, format!("conversation:{conversation}"))
            }
            "presence" => {
                let channel = payload["channel"].as_str()?.to_owned();
                subscribers_of = Some(channel.clone());
                (Vec::new(), channel)
            }
            "course" => {
                let channel = format!("course:{}", payload["courseId"].as_i64()?);
                subscribers_of = Some(channel.clone());
                (Vec::new(), channel)
            }
            _ => return None,
        };
        let created_at = payload["createdAt"].as_str().and_then(|t| t.parse().ok());
        let frame = json!({
            "type": "event",
            "channel": channel,
            "offset": offset.to_string(),
            "eventId": payload["eventId"],
            "topic": topic,
            "data": payload,
        });
        Some(Addressed {
            recipients,
            channel: subscribers_of,
            ephemeral: matches!(topic.as_str(), "typing" | "presence" | "account"),
            event: Arc::new(Outgoing {
                close,
                offset,
                frame: frame.to_string().into(),
                created_at,
            }),
        })
    })();
    Some((offset, addressed))
}

fn entries(reply: &Value) -> Vec<&Value> {
    match reply {
        Value::Array(items) => items.iter().collect(),
        _ => Vec::new(),
    }
}

/// Follows the stream until the process stops, from its end at start-up. After a Redis
/// failure it resumes from the last entry it saw, so live connections miss nothing
/// while Redis comes back.
pub async fn follow(redis: Redis, registry: Registry) {
    let key = redis.key(STREAM);
    let mut last: Option<StreamId> = None;
    let mut backoff = Duration::from_millis(100);
    loop {
        let reply = match last {
            None => last_id(&redis, &key).await.map(|id| {
                last = Some(id);
                Value::Nil
            }),
            Some(from) => {
                let mut conn = redis.connection();
                redis::cmd("XREAD")
                    .arg("COUNT")
                    .arg(BATCH)
                    .arg("BLOCK")
                    .arg(500)
                    .arg("STREAMS")
                    .arg(&key)
                    .arg(from.to_string())
                    .query_async(&mut conn)
                    .await
            }
        };
        match reply {
            Ok(reply) => {
                backoff = Duration::from_millis(100);
                // [[key, [entry, …]]], or nil when nothing came.
                for stream in entries(&reply) {
                    let Value::Array(parts) = stream else {
                        continue;
                    };
                    let Some(items) = parts.get(1) else { continue };
                    for entry in entries(items) {
                        if let Some((offset, addressed)) = parse_entry(entry) {
                            last = Some(offset);
                            if let Some(a) = addressed {
                                for user in &a.recipients {
                                    registry.send(*user, &a.event);
                                }
                                if let Some(channel) = &a.channel {
                                    registry.send_to_channel(channel, &a.event);
                                }
                            }
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "reading the event stream failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// The id of the stream's newest entry (`0-0` for an empty stream).
async fn last_id(redis: &Redis, key: &str) -> redis::RedisResult<StreamId> {
    let mut conn = redis.connection();
    let reply: Value = redis::cmd("XREVRANGE")
        .arg(key)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(&mut conn)
        .await?;
    Ok(entries(&reply)
        .first()
        .and_then(|e| parse_entry(e))
        .map_or(StreamId(0, 0), |(id, _)| id))
}

/// The events for `user_id` after `after`, oldest first, scanning at most `limit`
/// entries. `complete` is false when the scan hit the limit or the offset is older
/// than the stream's history.
pub async fn missed(
    redis: &Redis,
    user_id: i64,
    after: StreamId,
    limit: usize,
) -> redis::RedisResult<(Vec<Arc<Outgoing>>, bool)> {
    let key = redis.key(STREAM);
    let mut conn = redis.connection();
    let first: Value = redis::cmd("XRANGE")
        .arg(&key)
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query_async(&mut conn)
        .await?;
    let oldest = entries(&first)
        .first()
        .and_then(|e| parse_entry(e))
        .map(|(id, _)| id);
    let mut complete = oldest.is_none_or(|oldest| oldest <= after || after == StreamId(0, 0));
    let mut found = Vec::new();
    let mut cursor = after;
    let mut scanned = 0;
    loop {
        let reply: Value = redis::cmd("XRANGE")
            .arg(&key)
            .arg(format!("({cursor}"))
            .arg("+")
            .arg("COUNT")
            .arg(BATCH)
            .query_async(&mut conn)
            .await?;
        let batch = entries(&reply);
        for entry in &batch {
            if let Some((offset, addressed)) = parse_entry(entry) {
                cursor = offset;
                if let Some(a) =
                    addressed.filter(|a| !a.ephemeral && a.recipients.contains(&user_id))
                {
                    found.push(a.event);
                }
            }
        }
        scanned += batch.len();
        if batch.len() < BATCH {
            break;
        }
        if scanned >= limit {
            complete = false;
            break;
        }
    }
    Ok((found, complete))
}

/// Appends an ephemeral event (typing) straight to the stream: nothing to keep, so no
/// outbox; if Redis is down it is simply lost, as a typing indicator may be.
pub async fn publish_ephemeral(
    redis: &Redis,
    topic: &str,
    payload: &serde_json::Value,
) -> redis::RedisResult<()> {
    let mut conn = redis.connection();
    redis::cmd("XADD")
        .arg(redis.key(STREAM))
        .arg("MAXLEN")
        .arg("~")
        .arg(100_000)
        .arg("*")
        .arg("eventId")
        .arg(payload["eventId"].as_str().unwrap_or_default())
        .arg("topic")
        .arg(topic)
        .arg("payload")
        .arg(payload.to_string())
        .query_async(&mut conn)
        .await
}
