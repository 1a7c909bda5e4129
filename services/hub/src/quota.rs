//! Per-user limits that hold across a user's connections and every hub instance: the
//! counters live in Redis. A new websocket starts from the user's counts, not from zero.
//!
//! - frame rates (chat, subscriptions, resumes): `nexus_web::ratelimit::RateLimiter`;
//! - open connections: one Redis sorted set per user whose members are connections
//!   (`instance:connection`) scored by their expiry. Connections refresh their entry with
//!   every heartbeat, so those of a crashed instance expire on their own.
//!
//! When Redis is unreachable the frame and subscription limits hold per instance (the
//! rate limiter's in-process fallback) and the connection cap lets clients through (and
//! says so in the log): the hub keeps serving a class during a Redis outage.

use std::{sync::LazyLock, time::Duration};

use nexus_protocol::hub::ErrorFrame;
use nexus_web::{
    ratelimit::{Limit, RateLimiter},
    redis_conn::Redis,
};

/// Adds the connection unless the user already has `ARGV[3]` live ones; 1 if added.
static CLAIM: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
",
    )
});

/// The frames a user may send, counted together over all their connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// `send`, `typing`, `activity`.
    Chat,
    /// `subscribe`, `presence`: each costs a database or Redis read.
    Subscribe,
    Resume,
}

impl Bucket {
    fn name(self) -> &'static str {
        match self {
            Bucket::Chat => "hub_chat",
            Bucket::Subscribe => "hub_subscribe",
            Bucket::Resume => "hub_resume",
        }
    }
}

#[derive(Clone)]
pub struct Quota {
    redis: Redis,
    limiter: RateLimiter,
    /// Distinguishes this instance's connections from other instances'.
    instance: String,
    chat: Limit,
    subscribe: Limit,
    resume: Limit,
    max_connections: usize,
    /// How long a connection's entry lives without a heartbeat.
    ttl: Duration,
}

impl Quota {
    pub fn new(redis: Redis, settings: &crate::settings::HubSettings) -> Self {
        Self {
            limiter: RateLimiter::new(redis.clone()),
            redis,
            instance: uuid::Uuid::new_v4().simple().to_string(),
            chat: settings.chat_limit,
            subscribe: settings.subscribe_limit,
            resume: settings.resume_limit,
            max_connections: settings.max_connections_per_user,
            // A client silent for three heartbeats is closed: its entry outlives it
            // only a little.
            ttl: (settings.ping_interval * 4).max(Duration::from_secs(30)),
        }
    }

    /// Counts one frame; `Err(error frame)` when the user is over the limit.
    pub async fn hit(&self, bucket: Bucket, user_id: i64) -> Result<(), ErrorFrame> {
        let limit = match bucket {
            Bucket::Chat => self.chat,
            Bucket::Subscribe => self.subscribe,
            Bucket::Resume => self.resume,
        };
        self.limiter
            .hit(bucket.name(), &user_id.to_string(), limit)
            .await
            .map_err(ErrorFrame::rate_limited)
    }

    fn key(&self, user_id: i64) -> String {
        self.redis.key(&format!("hub:connections:{user_id}"))
    }

    fn member(&self, connection: u64) -> String {
        format!("{}:{connection}", self.instance)
    }

    /// Counts a new connection; `false` when the user already has the maximum open.
    pub async fn claim_connection(&self, user_id: i64, connection: u64) -> bool {
        let mut conn = self.redis.connection();
        let claimed: redis::RedisResult<i64> = CLAIM
            .key(self.key(user_id))
            .arg(chrono::Utc::now().timestamp_millis())
            .arg(self.member(connection))
            .arg(self.max_connections)
            .arg(self.ttl.as_millis() as u64)
            .invoke_async(&mut conn)
            .await;
        match claimed {
            Ok(claimed) => claimed == 1,
            Err(error) => {
                tracing::warn!(%error, "cannot count connections in Redis; letting this one in");
                true
            }
        }
    }

    /// Keeps a connection's entry alive (every heartbeat); puts it back after Redis lost it.
    pub async fn refresh_connection(&self, user_id: i64, connection: u64) {
        let key = self.key(user_id);
        let mut conn = self.redis.connection();
        let refreshed: redis::RedisResult<()> = redis::pipe()
            .cmd("ZADD")
            .arg(&key)
            .arg(chrono::Utc::now().timestamp_millis() + self.ttl.as_millis() as i64)
            .arg(self.member(connection))
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(self.ttl.as_millis() as u64)
            .ignore()
            .query_async(&mut conn)
            .await;
        if let Err(error) = refreshed {
            tracing::debug!(%error, "cannot refresh a connection's entry");
        }
    }

    pub async fn release_connection(&self, user_id: i64, connection: u64) {
        let mut conn = self.redis.connection();
        let released: redis::RedisResult<()> = redis::cmd("ZREM")
            .arg(self.key(user_id))
            .arg(self.member(connection))
            .query_async(&mut conn)
            .await;
        if let Err(error) = released {
            tracing::debug!(%error, "cannot release a connection's entry; it will expire");
        }
    }
}
