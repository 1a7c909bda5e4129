//! `/health` (the process runs), `/ready` (its dependencies answer) and `/metrics`.

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use serde_json::json;
use sqlx::PgPool;

use crate::redis_conn::Redis;

/// What a service depends on, checked by `/ready`.
#[derive(Clone)]
pub struct Dependencies {
    pub postgres: Option<PgPool>,
    pub redis: Option<Redis>,
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
    let (postgres, redis) = tokio::join!(postgres, redis);
    let status = |up: Option<bool>| match up {
        Some(true) => json!("up"),
        Some(false) => json!("down"),
        None => serde_json::Value::Null,
    };
    let failed: Vec<&str> = [("postgres", postgres), ("redis", redis)]
        .into_iter()
        .filter(|(_, up)| *up == Some(false))
        .map(|(name, _)| name)
        .collect();
    let body = json!({
        "status": if failed.is_empty() { "ready" } else { "not_ready" },
        "failed": failed,
        "checks": { "postgres": status(postgres), "redis": status(redis) },
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
