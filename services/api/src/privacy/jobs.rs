//! The privacy work of the background worker: producing requested exports (every second,
//! so a request is ready within moments), then the retention purge and the erasure of
//! accounts past their grace period (every `PRIVACY_PURGE_INTERVAL_SECONDS`). Logs carry
//! counts and export ids, never names.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use sqlx::PgPool;

use super::{erasure, export, retention};
use crate::settings::ApiSettings;

pub async fn run(pool: PgPool, settings: Arc<ApiSettings>, stop: nexus_web::background::Stop) {
    let mut exports = tokio::time::interval(Duration::from_secs(1));
    exports.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut purge =
        tokio::time::interval(settings.privacy.purge_interval.max(Duration::from_secs(1)));
    purge.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.during(std::future::pending::<()>()) => return,
            _ = exports.tick() => {
                if let Err(error) = export::produce_pending(&pool, &settings, Utc::now()).await {
                    tracing::warn!(error = %format!("{error:#}"), "data exports failed; retrying next round");
                }
            }
            _ = purge.tick() => {
                match retention::purge(&pool, &settings.privacy, Utc::now()).await {
                    Ok(counts) if counts.is_empty() => {}
                    Ok(counts) => tracing::info!(
                        aria_sessions = counts.aria_sessions,
                        aria_messages = counts.aria_messages,
                        notifications = counts.notifications,
                        export_files = counts.export_files,
                        "retention purge"
                    ),
                    Err(error) => {
                        tracing::warn!(error = %format!("{error:#}"), "retention purge failed; retrying next interval")
                    }
                }
                // Accounts whose grace period is over (docs/PRIVACY.md, "Deletion and erasure").
                match erasure::erase_due(&pool, Utc::now()).await {
                    Ok(erasure::Erased { accounts: 0, .. }) => {}
                    Ok(done) => tracing::info!(accounts = done.accounts, "accounts erased"),
                    Err(error) => {
                        tracing::warn!(error = %format!("{error:#}"), "erasure failed; retrying at the next interval")
                    }
                }
            }
        }
    }
}
