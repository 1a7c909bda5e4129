//! The audit log of data rights: who did what to whose data. Written in the same
//! transaction as the act it records; read by admins only.

use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use nexus_auth::Role;
use nexus_web::{ErrorBody, Json, auth::CurrentUser, error::ApiResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgExecutor;
use utoipa::{IntoParams, ToSchema};

use crate::state::AppState;

/// Records an act. `actor` is `None` for the system (the purge job).
pub async fn record(
    executor: impl PgExecutor<'_>,
    actor: Option<&CurrentUser>,
    action: &str,
    subject_id: Option<i64>,
    details: Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into audit_log (actor_id, actor_role, action, subject_id, details)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(actor.map(|a| a.id))
    .bind(actor.map(|a| a.role.as_str()))
    .bind(action)
    .bind(subject_id)
    .bind(details)
    .execute(executor)
    .await
    .map(drop)
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: i64,
    /// Absent for the system (the purge job).
    pub actor_id: Option<i64>,
    pub actor_role: Option<String>,
    /// The actor's name now (absent once the account is erased).
    pub actor_name: Option<String>,
    /// `consent_given`, `consent_withdrawn`, `data_export_requested`, `data_export_downloaded`,
    /// `deletion_requested`, `account_erased`, `retention_purge`.
    pub action: String,
    pub subject_id: Option<i64>,
    pub subject_name: Option<String>,
    #[schema(value_type = Object)]
    pub details: Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub success: bool,
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries older than this id.
    pub before: Option<i64>,
    /// Only entries about this user (as subject or actor).
    #[serde(rename = "userId")]
    pub user_id: Option<i64>,
    /// 1 to 100, default 50.
    pub limit: Option<i64>,
}

/// The audit log, newest first. Roles: admin.
#[utoipa::path(get, path = "/api/admin/audit-log", tag = "privacy",
    params(AuditQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AuditPage),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
pub async fn list(
    user: CurrentUser,
    State(state): State<AppState>,
    Query(query): Query<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    user.require(&[Role::Admin])?;
    let limit = query.limit.unwrap_or(50).clamp(1, 100);
    let entries: Vec<AuditEntry> = sqlx::query_as(
        "select a.id, a.actor_id, a.actor_role, a.action, a.subject_id, a.details, a.created_at,
                actor.first_name || ' ' || actor.last_name as actor_name,
                subject.first_name || ' ' || subject.last_name as subject_name
         from audit_log a
         left join users actor on actor.id = a.actor_id
         left join users subject on subject.id = a.subject_id
         where ($1::bigint is null or a.id < $1)
           and ($2::bigint is null or a.subject_id = $2 or a.actor_id = $2)
         order by a.id desc limit $3",
    )
    .bind(query.before)
    .bind(query.user_id)
    .bind(limit + 1)
    .fetch_all(&state.pool)
    .await?;
    let more = entries.len() as i64 > limit;
    let entries: Vec<AuditEntry> = entries.into_iter().take(limit as usize).collect();
    Ok(Json(AuditPage {
        success: true,
        next_before: if more {
            entries.last().map(|e| e.id)
        } else {
            None
        },
        entries,
    }))
}
