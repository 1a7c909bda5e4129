//! Writing to the transactional outbox, from any service: the event is stored in the
//! caller's transaction, and a `NOTIFY` wakes the relay as soon as it commits.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// The channel the relay listens on.
pub const WAKE_CHANNEL: &str = "nexus_outbox";

pub async fn enqueue(
    conn: &mut PgConnection,
    event_id: Uuid,
    topic: &str,
    payload: &Value,
) -> sqlx::Result<()> {
    sqlx::query("insert into outbox (event_id, topic, payload) values ($1, $2, $3)")
        .bind(event_id)
        .bind(topic)
        .bind(payload)
        .execute(&mut *conn)
        .await?;
    // Delivered at commit, once per transaction whatever the number of events.
    sqlx::query("select pg_notify($1, '')")
        .bind(WAKE_CHANNEL)
        .execute(conn)
        .await?;
    Ok(())
}
