//! Events from the platform: the API's outbox relay appends them to a Redis stream; every
//! hub instance reads the whole stream and hands each event to its own connections of
//! the recipient. The hubs also index each replayable event in its recipients' own
//! histories (`history:{user}`: short streams of the events' offsets, without content):
//! a client that reconnects gives its last offset and receives what it missed, looked up
//! by offset from its history alone, so a resume costs what it returns whatever the
//! other users' traffic.
//!
//! Live-only frames (typing, presence) never enter either stream: see `live`.

use std::{
    sync::{Arc, LazyLock},
    time::Duration,
};

use nexus_protocol::{Channel, hub::ServerFrame};
use nexus_web::redis_conn::Redis;
use redis::Value;
use tokio::sync::watch;

use crate::registry::{Control, Outgoing, Registry, StreamId};

/// The stream the API's relay writes (see services/api/src/notifications/outbox.rs).
pub const STREAM: &str = "stream:events";
const BATCH: usize = 500;
/// Each user's own history, `history:{user}`: what a resume reads (see `index`).
const HISTORY: &str = "history";
/// The last global offset this deployment's hubs indexed, and the first one ever.
const INDEXED: &str = "stream:indexed";
const INDEX_ORIGIN: &str = "stream:index-origin";
/// A user's history is dropped after a week without events.
pub const HISTORY_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// An event for some users, or for the subscribers of a channel, ready to send.
pub struct Addressed {
    pub recipients: Vec<i64>,
    /// For channel events (presence, course updates): the channel's subscribers.
    pub channel: Option<Channel>,
    /// Ephemeral events (typing, presence, account orders) are delivered live and never
    /// replayed.
    pub ephemeral: bool,
    pub event: Arc<Outgoing>,
}

/// Reads a stream entry (`[id, [field, value, …]]`) into its offset and its event.
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
        let payload = serde_json::from_str(&field("payload")?).ok()?;
        address(&field("topic")?, payload, Some(offset))
    })();
    Some((offset, addressed))
}

/// An event for its recipients: `notification` (one user), `chat` and `typing` (the
/// conversation's members, listed in the payload), `presence` and `course` (a channel's
/// subscribers), `account` (an order to a user's connections). Other topics, and
/// unreadable payloads, give `None`. Live-only events have no offset.
pub fn address(
    topic: &str,
    mut payload: serde_json::Value,
    offset: Option<StreamId>,
) -> Option<Addressed> {
    let mut subscribers_of = None;
    let mut control = None;
    let (recipients, channel) = match topic {
        // An account change the platform wants applied to open connections at once.
        "account" => {
            let user_id = payload["userId"].as_i64()?;
            control = Some(match payload["action"].as_str()? {
                "deactivated" => Control::Close(4403, "account disabled"),
                _ => Control::Close(4401, "account changed, sign in again"),
            });
            (vec![user_id], Channel::User(user_id))
        }
        "notification" => {
            let user_id = payload["userId"].as_i64()?;
            (vec![user_id], Channel::User(user_id))
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
            (recipients, Channel::Conversation(conversation))
        }
        "presence" => {
            let channel = Channel::parse(payload["channel"].as_str()?).ok()?;
            subscribers_of = Some(channel);
            (Vec::new(), channel)
        }
        "course" => {
            let channel = Channel::Course(payload["courseId"].as_i64()?);
            subscribers_of = Some(channel);
            (Vec::new(), channel)
        }
        _ => return None,
    };
    let created_at = payload["createdAt"].as_str().and_then(|t| t.parse().ok());
    let frame = ServerFrame::Event {
        channel,
        offset: offset.map(|offset| offset.to_string()),
        event_id: payload["eventId"].clone(),
        topic: topic.to_owned(),
        data: payload,
    };
    Some(Addressed {
        recipients,
        channel: subscribers_of,
        ephemeral: matches!(topic, "typing" | "presence" | "account"),
        event: Arc::new(Outgoing {
            control,
            offset,
            frame: nexus_protocol::to_text(&frame).into(),
            created_at,
        }),
    })
}

fn entries(reply: &Value) -> Vec<&Value> {
    match reply {
        Value::Array(items) => items.iter().collect(),
        _ => Vec::new(),
    }
}

/// Appends an event's offset to each recipient's history: an entry whose id is the
/// event's offset in the global stream, with no content (the event stays in the global
/// stream only). Every hub instance indexes every event: Redis refuses an id that is not
/// above the history's newest, so the second instance's append is a no-op (`pcall`).
const INDEX: &str = r"
for _, key in ipairs(KEYS) do
  redis.pcall('XADD', key, 'MAXLEN', '~', ARGV[2], ARGV[1], 'e', '')
  redis.call('PEXPIRE', key, ARGV[3])
end
return 0
";

fn history_key(redis: &Redis, user_id: i64) -> String {
    redis.key(&format!("{HISTORY}:{user_id}"))
}

/// Follows the stream until the process stops. Each batch is first written to its
/// recipients' histories, then handed to this instance's connections: a connection never
/// receives live an event that a resume could not find.
///
/// It starts where this deployment's hubs stopped indexing (`stream:indexed`), so events
/// written while no hub ran are indexed too, but only those after start-up are delivered
/// live. After a Redis failure it resumes from the last entry it saw.
///
/// `indexed` tells how far it got: a resume waits for it to reach the end of the stream.
pub async fn follow(
    redis: Redis,
    registry: Registry,
    history_len: usize,
    indexed: watch::Sender<StreamId>,
) {
    let key = redis.key(STREAM);
    let mut last: Option<StreamId> = None;
    let mut live_after = StreamId::default();
    let mut backoff = Duration::from_millis(100);
    loop {
        let reply = match last {
            None => start(&redis).await.map(|(from, end)| {
                last = Some(from);
                live_after = end;
                indexed.send_replace(from);
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
        let reply = match reply {
            Ok(reply) => reply,
            Err(error) => {
                tracing::warn!(%error, "reading the event stream failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        // [[key, [entry, …]]], or nil when nothing came.
        let mut batch = Vec::new();
        for stream in entries(&reply) {
            let Value::Array(parts) = stream else {
                continue;
            };
            let Some(items) = parts.get(1) else { continue };
            batch.extend(entries(items).into_iter().filter_map(parse_entry));
        }
        let Some(&(newest, _)) = batch.last() else {
            continue;
        };
        if let Err(error) = index(&redis, &batch, newest, history_len).await {
            // Not delivered either: the batch is read and indexed again (appending an
            // offset twice is refused by the history), so nothing goes live that a
            // resume could not find.
            tracing::warn!(%error, "indexing events for resume failed; retrying");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
            continue;
        }
        last = Some(newest);
        indexed.send_replace(newest);
        for (offset, addressed) in batch {
            let Some(a) = addressed.filter(|_| offset > live_after) else {
                continue;
            };
            for user in &a.recipients {
                registry.send(*user, &a.event);
            }
            if let Some(channel) = &a.channel {
                registry.send_to_channel(*channel, &a.event);
            }
        }
    }
}

/// The id of the stream's newest entry (`0-0` for an empty stream).
pub async fn end(redis: &Redis) -> redis::RedisResult<StreamId> {
    let mut conn = redis.connection();
    let newest: Value = redis::cmd("XREVRANGE")
        .arg(redis.key(STREAM))
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(&mut conn)
        .await?;
    Ok(entries(&newest)
        .first()
        .and_then(|e| parse_entry(e))
        .map_or(StreamId(0, 0), |(id, _)| id))
}

/// Where to read from (the last indexed offset, else the end) and the end of the stream
/// now (`0-0` for an empty stream); records the index's origin the first time.
async fn start(redis: &Redis) -> redis::RedisResult<(StreamId, StreamId)> {
    let end = end(redis).await?;
    let mut conn = redis.connection();
    let indexed: Option<String> = redis::cmd("GET")
        .arg(redis.key(INDEXED))
        .query_async(&mut conn)
        .await?;
    let _: () = redis::cmd("SET")
        .arg(redis.key(INDEX_ORIGIN))
        .arg(end.to_string())
        .arg("NX")
        .query_async(&mut conn)
        .await?;
    let from = indexed.as_deref().and_then(StreamId::parse).unwrap_or(end);
    Ok((from.min(end), end))
}

/// Writes a batch's replayable events to their recipients' histories, and moves the
/// deployment's index cursor. (Two instances may move it back and forth: an older
/// cursor only means entries indexed twice, which the histories refuse.)
async fn index(
    redis: &Redis,
    batch: &[(StreamId, Option<Addressed>)],
    newest: StreamId,
    history_len: usize,
) -> redis::RedisResult<()> {
    let mut pipe = redis::pipe();
    for (offset, addressed) in batch {
        let Some(a) = addressed
            .as_ref()
            .filter(|a| !a.ephemeral && !a.recipients.is_empty())
        else {
            continue;
        };
        pipe.cmd("EVAL").arg(INDEX).arg(a.recipients.len());
        for user in &a.recipients {
            pipe.arg(history_key(redis, *user));
        }
        pipe.arg(offset.to_string())
            .arg(history_len)
            .arg(HISTORY_TTL.as_millis() as u64)
            .ignore();
    }
    pipe.cmd("SET")
        .arg(redis.key(INDEXED))
        .arg(newest.to_string())
        .ignore();
    // After Redis lost its data the histories start again from here: older offsets are
    // answered `complete: false`.
    if let Some((first, _)) = batch.first() {
        pipe.cmd("SET")
            .arg(redis.key(INDEX_ORIGIN))
            .arg(first.to_string())
            .arg("NX")
            .ignore();
    }
    let mut conn = redis.connection();
    pipe.query_async(&mut conn).await
}

/// The events of a user's history after an offset, read from the global stream by id
/// (one lookup per event returned), with what tells whether the history is whole: the
/// newest id trimmed away, the index's origin, and how many events the global stream no
/// longer holds.
static READ_HISTORY: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local ids = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])
local found, lost = {}, 0
for _, entry in ipairs(ids) do
  local event = redis.call('XRANGE', KEYS[3], entry[1], entry[1])
  if #event == 1 then table.insert(found, event[1]) else lost = lost + 1 end
end
local deleted = '0-0'
if redis.call('EXISTS', KEYS[1]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'max-deleted-entry-id' then deleted = info[i + 1] end
  end
end
return {found, deleted, redis.call('GET', KEYS[2]) or '', #ids, lost}
",
    )
});

/// What a resume replays.
pub struct Missed {
    /// Oldest first.
    pub events: Vec<Arc<Outgoing>>,
    /// More remain after the last of `events`: resume again from it.
    pub more: bool,
    /// False when more remain or the history may have lost some (trimmed, expired,
    /// older than the index, or gone from the stream).
    pub complete: bool,
}

/// The events for `user_id` after `after`, at most `max`: the work is one read of the
/// user's own history and one lookup per event, bounded by what it may return.
pub async fn missed(
    redis: &Redis,
    user_id: i64,
    after: StreamId,
    max: usize,
) -> redis::RedisResult<Missed> {
    let mut conn = redis.connection();
    let (found, deleted, origin, listed, lost): (Value, String, String, usize, usize) =
        READ_HISTORY
            .key(history_key(redis, user_id))
            .key(redis.key(INDEX_ORIGIN))
            .key(redis.key(STREAM))
            .arg(format!("({after}"))
            .arg(max + 1)
            .invoke_async(&mut conn)
            .await?;
    let more = listed > max;
    let mut events: Vec<Arc<Outgoing>> = entries(&found)
        .into_iter()
        .filter_map(parse_entry)
        .filter_map(|(_, addressed)| addressed)
        .filter(|a| !a.ephemeral && a.recipients.contains(&user_id))
        .map(|a| a.event)
        .collect();
    events.truncate(max);
    let trimmed = StreamId::parse(&deleted).is_some_and(|deleted| deleted > after);
    let from_start = after == StreamId(0, 0);
    let before_index = StreamId::parse(&origin).is_none_or(|origin| after < origin);
    let expired =
        after.0 + (HISTORY_TTL.as_millis() as u64) < chrono::Utc::now().timestamp_millis() as u64;
    let complete = !more && lost == 0 && !trimmed && (from_start || (!before_index && !expired));
    Ok(Missed {
        more: more && !events.is_empty(),
        events,
        complete,
    })
}
