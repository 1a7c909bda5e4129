//! Rate limits whose counters live in Redis, so they hold across every replica of a
//! service. Fixed windows that open at the first hit: simple, one round trip, and exact
//! for the contract's "N per window" rules.
//!
//! When Redis is unreachable the limiter lets requests through (and counts that in a
//! metric): the platform keeps serving a class during a Redis outage, at the price of
//! limits not holding for its duration. Argon2 still bounds password guessing.

use std::{sync::OnceLock, time::Duration};

use prometheus::{IntCounterVec, Opts};

use crate::redis_conn::Redis;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u64,
    pub window: Duration,
}

impl Limit {
    pub const fn new(max: u64, window: Duration) -> Self {
        Self { max, window }
    }
}

/// Redis' answer: the count in the window and the milliseconds until it closes.
const HIT: &str = r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
";

#[derive(Clone)]
pub struct RateLimiter {
    redis: Redis,
}

fn outcomes() -> &'static IntCounterVec {
    static METRIC: OnceLock<IntCounterVec> = OnceLock::new();
    METRIC.get_or_init(|| {
        let metric = IntCounterVec::new(
            Opts::new(
                "rate_limit_decisions_total",
                "Rate-limit decisions by bucket and outcome",
            ),
            &["bucket", "outcome"],
        )
        .expect("valid metric definition");
        let _ = nexus_telemetry::registry().register(Box::new(metric.clone()));
        metric
    })
}

impl RateLimiter {
    pub fn new(redis: Redis) -> Self {
        Self { redis }
    }

    fn key(&self, bucket: &str, subject: &str) -> String {
        self.redis.key(&format!("rl:{bucket}:{subject}"))
    }

    /// Counts one hit; `Err(seconds)` when the limit is exceeded, with the time until the
    /// window closes (for `Retry-After`).
    pub async fn hit(&self, bucket: &'static str, subject: &str, limit: Limit) -> Result<(), u64> {
        let script = redis::Script::new(HIT);
        let mut conn = self.redis.connection();
        let window_ms = limit.window.as_millis().max(1) as u64;
        let reply: redis::RedisResult<(u64, i64)> = script
            .key(self.key(bucket, subject))
            .arg(window_ms)
            .invoke_async(&mut conn)
            .await;
        self.decide(bucket, reply, limit, true)
    }

    /// Checks a limit without counting (for failed-login lockouts, which count failures
    /// only).
    pub async fn check(
        &self,
        bucket: &'static str,
        subject: &str,
        limit: Limit,
    ) -> Result<(), u64> {
        let mut conn = self.redis.connection();
        let key = self.key(bucket, subject);
        let reply: redis::RedisResult<(Option<u64>, i64)> = redis::pipe()
            .get(&key)
            .pttl(&key)
            .query_async(&mut conn)
            .await;
        let reply = reply.map(|(count, ttl)| (count.unwrap_or(0) + 1, ttl));
        self.decide(bucket, reply, limit, false)
    }

    /// Forgets a subject's count (a successful login clears its failures).
    pub async fn reset(&self, bucket: &'static str, subject: &str) {
        let mut conn = self.redis.connection();
        let result: redis::RedisResult<()> = redis::cmd("DEL")
            .arg(self.key(bucket, subject))
            .query_async(&mut conn)
            .await;
        if let Err(error) = result {
            tracing::warn!(bucket, %error, "could not reset a rate-limit counter");
        }
    }

    fn decide(
        &self,
        bucket: &'static str,
        reply: redis::RedisResult<(u64, i64)>,
        limit: Limit,
        counting: bool,
    ) -> Result<(), u64> {
        match reply {
            Ok((count, ttl_ms)) if count > limit.max => {
                outcomes().with_label_values(&[bucket, "refused"]).inc();
                let ttl_ms = if ttl_ms > 0 {
                    ttl_ms as u64
                } else {
                    limit.window.as_millis() as u64
                };
                Err(ttl_ms.div_ceil(1000).max(1))
            }
            Ok(_) => {
                if counting {
                    outcomes().with_label_values(&[bucket, "allowed"]).inc();
                }
                Ok(())
            }
            Err(error) => {
                outcomes()
                    .with_label_values(&[bucket, "redis_unavailable"])
                    .inc();
                tracing::warn!(bucket, %error, "rate limiter cannot reach Redis; letting the request through");
                Ok(())
            }
        }
    }
}
