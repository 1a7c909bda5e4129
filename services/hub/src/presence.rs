//! Who is online in a class or a conversation, across hub instances: one Redis sorted
//! set per channel whose members are connections (`user:instance:connection`) scored
//! by their expiry. A user with several tabs is online once; they join with their first
//! connection and leave with their last. Connections refresh their entries with every
//! heartbeat, so those of a crashed instance expire on their own.

use std::{sync::LazyLock, time::Duration};

use nexus_protocol::{
    Channel,
    hub::{Activity, PresenceUser},
};
use nexus_web::redis_conn::Redis;
use serde_json::{Value, json};

use crate::live;

pub const TTL: Duration = Duration::from_secs(60);
/// At most this many users in a presence list.
pub const LIST_CAP: usize = 500;

/// Adds the connection; returns true when it is the user's first in the channel.
static JOIN: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local present = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(m, 1, string.len(ARGV[3])) == ARGV[3] then present = 1 end
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]) * 2)
if present == 1 then return 0 else return 1 end
",
    )
});

/// Removes the connection; returns true when it was the user's last in the channel.
static LEAVE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local now = tonumber(ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(m, 1, string.len(ARGV[3])) == ARGV[3] then return 0 end
end
redis.call('HDEL', KEYS[2], ARGV[4])
return 1
",
    )
});

#[derive(Clone)]
pub struct Presence {
    redis: Redis,
    /// Distinguishes this instance's connections from other instances'.
    instance: String,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Presence {
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            instance: uuid::Uuid::new_v4().simple().to_string(),
        }
    }

    fn keys(&self, channel: Channel) -> (String, String) {
        (
            self.redis.key(&format!("presence:{channel}")),
            self.redis.key(&format!("presence-activity:{channel}")),
        )
    }

    fn member(&self, user_id: i64, connection: u64) -> String {
        format!("{user_id}:{}:{connection}", self.instance)
    }

    pub async fn join(
        &self,
        channel: Channel,
        user_id: i64,
        connection: u64,
    ) -> redis::RedisResult<()> {
        let (key, _) = self.keys(channel);
        let mut conn = self.redis.connection();
        let first: i64 = JOIN
            .key(key)
            .arg(now_ms())
            .arg(self.member(user_id, connection))
            .arg(format!("{user_id}:"))
            .arg(TTL.as_millis() as i64)
            .invoke_async(&mut conn)
            .await?;
        if first == 1 {
            self.announce(channel, json!({"kind": "join", "userId": user_id}))
                .await?;
        }
        Ok(())
    }

    pub async fn leave(
        &self,
        channel: Channel,
        user_id: i64,
        connection: u64,
    ) -> redis::RedisResult<()> {
        let (key, activity) = self.keys(channel);
        let mut conn = self.redis.connection();
        let last: i64 = LEAVE
            .key(key)
            .key(activity)
            .arg(now_ms())
            .arg(self.member(user_id, connection))
            .arg(format!("{user_id}:"))
            .arg(user_id)
            .invoke_async(&mut conn)
            .await?;
        if last == 1 {
            self.announce(channel, json!({"kind": "leave", "userId": user_id}))
                .await?;
        }
        Ok(())
    }

    /// Pushes the expiry of this connection's entries forward (every heartbeat).
    pub async fn refresh(
        &self,
        channels: &[Channel],
        user_id: i64,
        connection: u64,
    ) -> redis::RedisResult<()> {
        if channels.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for channel in channels {
            let (key, _) = self.keys(*channel);
            pipe.cmd("ZADD")
                .arg(&key)
                .arg("XX")
                .arg(now_ms() + TTL.as_millis() as i64)
                .arg(self.member(user_id, connection))
                .ignore();
            pipe.cmd("PEXPIRE")
                .arg(&key)
                .arg(TTL.as_millis() as i64 * 2)
                .ignore();
        }
        let mut conn = self.redis.connection();
        pipe.query_async(&mut conn).await
    }

    /// What a student reports working on (course, section), for the teacher's live view.
    pub async fn activity(
        &self,
        channel: Channel,
        user_id: i64,
        activity: &Activity,
    ) -> redis::RedisResult<()> {
        let activity = nexus_protocol::to_value(activity);
        let (_, activity_key) = self.keys(channel);
        let mut conn = self.redis.connection();
        let _: () = redis::pipe()
            .cmd("HSET")
            .arg(&activity_key)
            .arg(user_id)
            .arg(activity.to_string())
            .ignore()
            .cmd("PEXPIRE")
            .arg(&activity_key)
            .arg(TTL.as_millis() as i64 * 60)
            .ignore()
            .query_async(&mut conn)
            .await?;
        self.announce(
            channel,
            json!({"kind": "activity", "userId": user_id, "activity": activity}),
        )
        .await
    }

    /// Who is online, with what they last reported.
    pub async fn list(&self, channel: Channel) -> redis::RedisResult<Vec<PresenceUser>> {
        let (key, activity_key) = self.keys(channel);
        let mut conn = self.redis.connection();
        let (members, activity): (Vec<String>, std::collections::HashMap<String, String>) =
            redis::pipe()
                .cmd("ZRANGEBYSCORE")
                .arg(&key)
                .arg(now_ms())
                .arg("+inf")
                .cmd("HGETALL")
                .arg(&activity_key)
                .query_async(&mut conn)
                .await?;
        let mut users: Vec<i64> = members
            .iter()
            .filter_map(|m| m.split(':').next()?.parse().ok())
            .collect();
        users.sort_unstable();
        users.dedup();
        // A class is tens of people; the cap keeps an oversized channel from answering
        // every subscriber with a list as long as itself.
        users.truncate(LIST_CAP);
        Ok(users
            .into_iter()
            .map(|user_id| PresenceUser {
                user_id,
                activity: activity
                    .get(&user_id.to_string())
                    .and_then(|a| serde_json::from_str(a).ok()),
            })
            .collect())
    }

    async fn announce(&self, channel: Channel, mut event: Value) -> redis::RedisResult<()> {
        event["eventId"] = json!(uuid::Uuid::new_v4().to_string());
        event["channel"] = json!(channel.to_string());
        event["createdAt"] = json!(chrono::Utc::now());
        live::publish(&self.redis, "presence", &event).await
    }
}
