//! `/health` (the process runs), `/ready` (its dependencies answer) and `/metrics`.

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use serde_json::json;
use sqlx::PgPool;

use crate::redis_conn::Redis;

/// What a service depends on, checked by `/ready`.
#[derive(Clone, Default)]
pub struct Dependencies {
    pub postgres: Option<PgPool>,
    pub redis: Option<Redis>,
    /// Other servers, up when a GET of the URL answers 2xx within 3 s (e.g. Qdrant's
    /// `/readyz`).
    pub http: Vec<(&'static str, String)>,
}

pub fn router<S>(dependencies: Dependencies) -> Router<S> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .with_state(dependencies)
}

async fn health() -> impl IntoResponse {
    axum::Json(json!({ "status": "healthy", "timestamp": chrono::Utc::now() }))
}

async fn ready(State(deps): State<Dependencies>) -> impl IntoResponse {
    let postgres = async {
        match &deps.postgres {
            Some(pool) => Some(nexus_database::ping(pool).await),
            None => None,
        }
    };
    let redis = async {
        match &deps.redis {
            Some(redis) => Some(redis.ping().await),
            None => None,
        }
    };
    let others = futures::future::join_all(deps.http.iter().map(|(name, url)| async move {
        // One client for the process: building one loads the TLS roots each time.
        static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
        let up = CLIENT
            .get_or_init(reqwest::Client::new)
            .get(url)
            .timeout(std::time::Duration::from_secs(3))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        (*name, Some(up))
    }));
    let ((postgres, redis), others) = tokio::join!(async { tokio::join!(postgres, redis) }, others);
    let status = |up: Option<bool>| match up {
        Some(true) => json!("up"),
        Some(false) => json!("down"),
        None => serde_json::Value::Null,
    };
    let all: Vec<(&str, Option<bool>)> = [("postgres", postgres), ("redis", redis)]
        .into_iter()
        .chain(others)
        .collect();
    let failed: Vec<&str> = all
        .iter()
        .filter(|(_, up)| *up == Some(false))
        .map(|(name, _)| *name)
        .collect();
    let checks: serde_json::Map<String, serde_json::Value> = all
        .iter()
        .map(|(name, up)| ((*name).to_owned(), status(*up)))
        .collect();
    let body = json!({
        "status": if failed.is_empty() { "ready" } else { "not_ready" },
        "failed": failed,
        "checks": checks,
        "timestamp": chrono::Utc::now(),
    });
    let code = if failed.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body))
}

async fn metrics() -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        nexus_telemetry::render(),
    )
}
