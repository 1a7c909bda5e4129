//! The retention policy (docs/PRIVACY.md, "Retention"): ARIA conversations idle for
//! `ARIA_RETENTION_SECONDS`, notifications older than `NOTIFICATION_RETENTION_SECONDS`
//! and the files of expired exports are deleted. `purge` takes `now` so tests control
//! time; the worker calls it every `PRIVACY_PURGE_INTERVAL_SECONDS`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::PgPool;

use super::audit;
use crate::settings::PrivacySettings;

/// How many rows one run deleted. Counts only: never whose.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PurgeCounts {
    pub aria_sessions: u64,
    pub aria_messages: u64,
    pub notifications: u64,
    pub export_files: u64,
}

impl PurgeCounts {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

fn cutoff(now: DateTime<Utc>, keep: std::time::Duration) -> DateTime<Utc> {
    now - chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX)
}

/// One purge, in one transaction, recorded in the audit log as a system action
/// (`retention_purge`, with the counts) when it deleted anything.
pub async fn purge(
    pool: &PgPool,
    settings: &PrivacySettings,
    now: DateTime<Utc>,
) -> sqlx::Result<PurgeCounts> {
    let mut tx = pool.begin().await?;
    let aria_cutoff = cutoff(now, settings.aria_retention);
    let aria_messages = sqlx::query(
        "delete from aria_messages m using aria_sessions s
         where m.session_id = s.session_id and s.last_interaction < $1",
    )
    .bind(aria_cutoff)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let aria_sessions = sqlx::query("delete from aria_sessions where last_interaction < $1")
        .bind(aria_cutoff)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let notifications = sqlx::query("delete from notifications where created_at < $1")
        .bind(cutoff(now, settings.notification_retention))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let export_files = sqlx::query(
        "update data_exports set file = null, status = 'expired'
         where file is not null and expires_at <= $1",
    )
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let counts = PurgeCounts {
        aria_sessions,
        aria_messages,
        notifications,
        export_files,
    };
    if !counts.is_empty() {
        audit::record(&mut *tx, None, "retention_purge", None, json!(counts)).await?;
    }
    tx.commit().await?;
    Ok(counts)
}
