//! Rate limits whose counters live in Redis, so they hold across every replica of a
//! service. Fixed windows that open at the first hit: simple, one round trip, and exact
//! for the contract's "N per window" rules.
//!
//! When Redis is unreachable the limits do not vanish: each process falls back to an
//! in-process limiter (`governor`'s GCRA, the same `max` per `window` with a burst of
//! `max`), counted in a metric. During an outage a limit then holds per replica rather
//! than across replicas, which still stops a flood; see docs/SECURITY.md.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, LazyLock, Mutex, OnceLock},
    time::{Duration, Instant},
};

use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock};
use prometheus::{IntCounterVec, Opts};

use crate::redis_conn::Redis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limit {
    pub max: u64,
    pub window: Duration,
}

impl Limit {
    pub const fn new(max: u64, window: Duration) -> Self {
        Self { max, window }
    }
}

/// Redis' answer: the count in the window and the milliseconds until it closes. A static
/// so that its SHA-1 (Redis runs it by that hash: `EVALSHA`) is worked out once, not on
/// every request.
static HIT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
",
    )
});

#[derive(Clone)]
pub struct RateLimiter {
    redis: Redis,
    fallback: Arc<Fallback>,
}

type Keyed = Arc<DefaultKeyedRateLimiter<String>>;

/// The in-process limits used while Redis cannot be reached.
#[derive(Default)]
struct Fallback {
    /// One keyed GCRA limiter per bucket and limit.
    limiters: Mutex<HashMap<(&'static str, Limit), Keyed>>,
    /// Subjects refused by a counting hit, until when: what `check` (which does not
    /// count, and which GCRA cannot answer without counting) consults.
    blocked: Mutex<HashMap<(&'static str, String), Instant>>,
    /// Hits since the last sweep of forgotten keys.
    hits: std::sync::atomic::AtomicU64,
}

impl Fallback {
    fn limiter(&self, bucket: &'static str, limit: Limit) -> Keyed {
        let mut limiters = self.limiters.lock().unwrap_or_else(|e| e.into_inner());
        limiters
            .entry((bucket, limit))
            .or_insert_with(|| {
                let max = NonZeroU32::new(limit.max.clamp(1, u64::from(u32::MAX)) as u32)
                    .unwrap_or(NonZeroU32::MIN);
                let period = (limit.window / max.get()).max(Duration::from_nanos(1));
                let quota = Quota::with_period(period)
                    .unwrap_or_else(|| Quota::per_second(max))
                    .allow_burst(max);
                Arc::new(DefaultKeyedRateLimiter::keyed(quota))
            })
            .clone()
    }

    /// Counts a hit in process; `Err(seconds)` when over the limit.
    fn hit(&self, bucket: &'static str, subject: &str, limit: Limit) -> Result<(), u64> {
        let limiter = self.limiter(bucket, limit);
        if self.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 4096 == 4095 {
            self.sweep(&limiter);
        }
        match limiter.check_key(&subject.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
                // Blocked for at least the wait, at most the window (a check then frees).
                let until = Instant::now() + wait.max(Duration::from_secs(1)).min(limit.window);
                self.blocked
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert((bucket, subject.to_owned()), until);
                Err(wait.as_secs().max(1))
            }
        }
    }

    /// Whether a counting hit refused this subject lately; `Err(seconds)` if so.
    fn check(&self, bucket: &'static str, subject: &str) -> Result<(), u64> {
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        let key = (bucket, subject.to_owned());
        match blocked.get(&key) {
            Some(until) if *until > Instant::now() => {
                Err(until.duration_since(Instant::now()).as_secs().max(1))
            }
            Some(_) => {
                blocked.remove(&key);
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn reset(&self, bucket: &'static str, subject: &str) {
        self.blocked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(bucket, subject.to_owned()));
    }

    /// Keeps memory bounded: forget subjects whose state is back to full.
    fn sweep(&self, limiter: &DefaultKeyedRateLimiter<String>) {
        limiter.retain_recent();
        limiter.shrink_to_fit();
        let now = Instant::now();
        self.blocked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, until| *until > now);
    }
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
        Self {
            redis,
            fallback: Arc::default(),
        }
    }

    fn key(&self, bucket: &str, subject: &str) -> String {
        self.redis.key(&format!("rl:{bucket}:{subject}"))
    }

    /// Counts one hit; `Err(seconds)` when the limit is exceeded, with the time until the
    /// window closes (for `Retry-After`).
    pub async fn hit(&self, bucket: &'static str, subject: &str, limit: Limit) -> Result<(), u64> {
        let mut conn = self.redis.connection();
        let window_ms = limit.window.as_millis().max(1) as u64;
        let reply: redis::RedisResult<(u64, i64)> = HIT
            .key(self.key(bucket, subject))
            .arg(window_ms)
            .invoke_async(&mut conn)
            .await;
        self.decide(bucket, subject, reply, limit, true)
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
        self.decide(bucket, subject, reply, limit, false)
    }

    /// Forgets a subject's count (a successful login clears its failures).
    pub async fn reset(&self, bucket: &'static str, subject: &str) {
        self.fallback.reset(bucket, subject);
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
        subject: &str,
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
                tracing::warn!(bucket, %error, "rate limiter cannot reach Redis; limiting in process");
                let decision = if counting {
                    self.fallback.hit(bucket, subject, limit)
                } else {
                    self.fallback.check(bucket, subject)
                };
                if decision.is_err() {
                    outcomes().with_label_values(&[bucket, "refused"]).inc();
                }
                decision
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A limiter whose Redis never answers: nothing listens on port 1.
    fn without_redis() -> RateLimiter {
        RateLimiter::new(Redis::new("redis://127.0.0.1:1", "test:").expect("url"))
    }

    /// Audit finding 7: with Redis down every limit used to let everything through.
    #[tokio::test]
    async fn audit_07_limits_hold_in_process_when_redis_is_down() {
        let limiter = without_redis();
        let limit = Limit::new(3, Duration::from_secs(60));
        for n in 0..3 {
            assert_eq!(limiter.hit("t", "alice", limit).await, Ok(()), "hit {n}");
        }
        let refused = limiter.hit("t", "alice", limit).await;
        assert!(refused.is_err(), "the fourth hit passed");
        // A peek now says no too, and other subjects are not affected.
        assert!(limiter.check("t", "alice", limit).await.is_err());
        assert_eq!(limiter.hit("t", "bob", limit).await, Ok(()));
        // A reset (a successful login) frees the subject for peeks.
        limiter.reset("t", "alice").await;
        assert_eq!(limiter.check("t", "alice", limit).await, Ok(()));
    }
}
