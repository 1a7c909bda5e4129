//! The relay of the transactional outbox to Redis (the outbox is written with
//! `nexus_database::outbox::enqueue`). Every API and hub process runs it.
//!
//! Events are rows written in the same transaction as the change that causes them. The
//! relay takes a batch (`for update skip locked`, so replicas share the work), appends
//! each event to a Redis stream, then marks the rows relayed and commits. If Redis is
//! down, nothing is marked and the batch is retried later; if the process dies between
//! the append and the commit, the rows are sent again: delivery is at least once, and
//! every event carries its `eventId` so consumers drop duplicates.

use std::{sync::OnceLock, time::Duration};

use prometheus::{IntCounter, IntGauge};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::redis_conn::Redis;

/// The stream the hub consumes, under the deployment's key prefix.
pub const STREAM: &str = "stream:events";
/// Approximate length the stream is trimmed to: the hub's replay window.
const STREAM_MAX_LEN: usize = 100_000;
const BATCH: i64 = 200;

struct Metrics {
    relayed: IntCounter,
    failures: IntCounter,
    pending: IntGauge,
}

fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let relayed = IntCounter::new(
            "outbox_events_relayed_total",
            "Outbox events appended to the Redis stream",
        )
        .expect("valid metric");
        let failures = IntCounter::new(
            "outbox_relay_failures_total",
            "Relay batches that failed (Redis or Postgres down)",
        )
        .expect("valid metric");
        let pending = IntGauge::new("outbox_pending_events", "Outbox events not yet relayed")
            .expect("valid metric");
        let registry = nexus_telemetry::registry();
        let _ = registry.register(Box::new(relayed.clone()));
        let _ = registry.register(Box::new(failures.clone()));
        let _ = registry.register(Box::new(pending.clone()));
        Metrics {
            relayed,
            failures,
            pending,
        }
    })
}

/// Relays one batch; the number of events sent. `after_publish` runs between the append
/// to Redis and the commit: tests use it to simulate a crash at the worst moment.
pub async fn relay_batch(
    pool: &PgPool,
    redis: &Redis,
    after_publish: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await?;
    let rows: Vec<(i64, Uuid, String, Value)> = sqlx::query_as(
        "select id, event_id, topic, payload from outbox where relayed_at is null
         order by id limit $1 for update skip locked",
    )
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let stream = redis.key(STREAM);
    let mut pipe = redis::pipe();
    for (_, event_id, topic, payload) in &rows {
        pipe.cmd("XADD")
            .arg(&stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(STREAM_MAX_LEN)
            .arg("*")
            .arg("eventId")
            .arg(event_id.to_string())
            .arg("topic")
            .arg(topic)
            .arg("payload")
            .arg(payload.to_string())
            .ignore();
    }
    let mut conn = redis.connection();
    pipe.query_async::<()>(&mut conn).await?;
    after_publish()?;
    let ids: Vec<i64> = rows.iter().map(|(id, ..)| *id).collect();
    sqlx::query("update outbox set relayed_at = now() where id = any($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    metrics().relayed.inc_by(ids.len() as u64);
    Ok(ids.len())
}

pub async fn pending(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from outbox where relayed_at is null")
        .fetch_one(pool)
        .await
}

/// Relays until the process stops: at once when a transaction that wrote events
/// commits (Postgres `NOTIFY`), at least every second otherwise, immediately while there
/// is a backlog, backing off to 5 s while Redis or Postgres fail. Returns when the
/// service stops, after the batch in progress.
pub async fn run_relay(pool: PgPool, redis: Redis, stop: crate::background::Stop) {
    let mut listener: Option<sqlx::postgres::PgListener> = None;
    let mut backoff = Duration::from_millis(200);
    let mut last_gauge = tokio::time::Instant::now() - Duration::from_secs(60);
    while !stop.is_stopping() {
        match relay_batch(&pool, &redis, || Ok(())).await {
            Ok(sent) => {
                backoff = Duration::from_millis(200);
                if sent as i64 == BATCH {
                    continue;
                }
            }
            Err(error) => {
                metrics().failures.inc();
                if backoff >= Duration::from_secs(5) {
                    tracing::debug!(error = %format!("{error:#}"), "outbox relay still failing");
                } else {
                    tracing::warn!(error = %format!("{error:#}"), "outbox relay failed; events stay queued");
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                if stop.during(tokio::time::sleep(backoff)).await.is_none() {
                    return;
                }
                continue;
            }
        }
        if last_gauge.elapsed() >= Duration::from_secs(5) {
            if let Ok(count) = pending(&pool).await {
                metrics().pending.set(count);
            }
            let _ = sqlx::query("delete from outbox where relayed_at < now() - interval '7 days'")
                .execute(&pool)
                .await;
            last_gauge = tokio::time::Instant::now();
        }
        if listener.is_none() {
            listener = listen(&pool).await;
        }
        match listener.as_mut() {
            Some(l) => {
                // A wake-up, or a second without one; a broken listener is replaced.
                match stop
                    .during(tokio::time::timeout(Duration::from_secs(1), l.recv()))
                    .await
                {
                    None => return,
                    Some(Ok(Err(_))) => listener = None,
                    Some(_) => {}
                }
            }
            None => {
                if stop
                    .during(tokio::time::sleep(Duration::from_millis(200)))
                    .await
                    .is_none()
                {
                    return;
                }
            }
        }
    }
}

async fn listen(pool: &PgPool) -> Option<sqlx::postgres::PgListener> {
    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await.ok()?;
    listener
        .listen(nexus_database::outbox::WAKE_CHANNEL)
        .await
        .ok()?;
    Some(listener)
}
