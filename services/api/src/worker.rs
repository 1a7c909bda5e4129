//! Background work of the API process: the outbox relay, and the "due soon" reminders
//! (the digests and the mail queue: `digest::run`, `mail::queue::run`).
//! Every replica runs it; row locks (`skip locked`) keep replicas from doing the same
//! work twice.

use std::time::Duration;

use nexus_web::{background::Background, redis_conn::Redis};
use sqlx::PgPool;

use crate::assessments::notify_due_soon;

pub fn spawn(background: &Background, pool: PgPool, redis: Redis) {
    let relay_pool = pool.clone();
    background.spawn("outbox relay", |stop| {
        nexus_web::relay::run_relay(relay_pool, redis, stop)
    });
    background.spawn("due-soon reminders", |stop| async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        while stop.during(tick.tick()).await.is_some() {
            match notify_due_soon(&pool).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(publications = n, "due-soon reminders queued"),
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "due-soon reminders failed; retrying next minute")
                }
            }
        }
    });
}
