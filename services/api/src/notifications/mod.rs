//! Notifications: stored per recipient, in the transaction of the change that causes
//! them, with an outbox row that the relay sends to Redis for the websocket hub.

use axum::extract::State;
use chrono::{DateTime, Utc};
use nexus_web::{
    ApiError, ErrorBody, Json, Path, Query,
    auth::CurrentUser,
    error::ApiResult,
    pagination::{PageQuery, Pagination},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notifications))
        .routes(routes!(mark_read))
        .routes(routes!(mark_all_read))
}

/// A notification to create. `data` carries ids a client needs to open the subject.
pub struct NewNotification<'a> {
    pub kind: &'a str,
    pub title: String,
    pub body: String,
    pub data: Value,
}

/// Stores the notification for each recipient and queues one event per recipient in
/// the outbox, on the caller's transaction: either the change and its notifications
/// are both kept, or neither.
pub async fn notify(
    conn: &mut PgConnection,
    recipients: &[i64],
    notification: &NewNotification<'_>,
) -> sqlx::Result<()> {
    if recipients.is_empty() {
        return Ok(());
    }
    let rows: Vec<(i64, i64, Uuid, DateTime<Utc>)> = sqlx::query_as(
        "insert into notifications (user_id, kind, title, body, data)
         select unnest($1::bigint[]), $2, $3, $4, $5
         returning id, user_id, event_id, created_at",
    )
    .bind(recipients)
    .bind(notification.kind)
    .bind(&notification.title)
    .bind(&notification.body)
    .bind(&notification.data)
    .fetch_all(&mut *conn)
    .await?;
    for (id, user_id, event_id, created_at) in rows {
        let payload = serde_json::json!({
            "eventId": event_id,
            "notificationId": id,
            "userId": user_id,
            "kind": notification.kind,
            "title": notification.title,
            "body": notification.body,
            "data": notification.data,
            "createdAt": created_at,
        });
        nexus_database::outbox::enqueue(&mut *conn, event_id, "notification", &payload).await?;
    }
    Ok(())
}

/// The parents of these students, for events they follow (graded results).
pub async fn with_parents(conn: &mut PgConnection, students: &[i64]) -> sqlx::Result<Vec<i64>> {
    let mut recipients: Vec<i64> = students.to_vec();
    let parents: Vec<i64> = sqlx::query_scalar(
        "select distinct parent_id from parent_links where student_id = any($1)",
    )
    .bind(students)
    .fetch_all(conn)
    .await?;
    recipients.extend(parents);
    recipients.sort_unstable();
    recipients.dedup();
    Ok(recipients)
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationView {
    pub id: i64,
    /// Stable id of the event, the same in the websocket stream: clients drop duplicates by it.
    pub event_id: Uuid,
    pub kind: String,
    pub title: String,
    pub body: String,
    #[schema(value_type = Object)]
    pub data: Value,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationList {
    pub notifications: Vec<NotificationView>,
    pub unread_count: i64,
    pub pagination: Pagination,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationFilter {
    /// Only unread notifications.
    pub unread: Option<bool>,
}

/// One's notifications, newest first, with the unread count. Roles: any signed-in user.
#[utoipa::path(get, path = "/api/notifications", tag = "notifications",
    params(NotificationFilter, PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = NotificationList),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
async fn list_notifications(
    user: CurrentUser,
    State(state): State<AppState>,
    Query(filter): Query<NotificationFilter>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<NotificationList>> {
    let unread_only = filter.unread.unwrap_or(false);
    let (total, unread_count): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where not $2 or read_at is null), count(*) filter (where read_at is null)
         from notifications where user_id = $1",
    )
    .bind(user.id)
    .bind(unread_only)
    .fetch_one(&state.pool)
    .await?;
    let notifications = sqlx::query_as(
        "select id, event_id, kind, title, body, data, created_at, read_at from notifications
         where user_id = $1 and (not $2 or read_at is null)
         order by id desc limit $3 offset $4",
    )
    .bind(user.id)
    .bind(unread_only)
    .bind(i64::from(page.limit()))
    .bind(page.offset())
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(NotificationList {
        notifications,
        unread_count,
        pagination: page.pagination(total),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadResult {
    pub success: bool,
    pub unread_count: i64,
}

async fn unread_count(pool: &sqlx::PgPool, user_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from notifications where user_id = $1 and read_at is null")
        .bind(user_id)
        .fetch_one(pool)
        .await
}

/// Mark one of one's notifications as read (idempotent). Roles: any signed-in user (their own).
#[utoipa::path(post, path = "/api/notifications/{id}/read", tag = "notifications",
    params(("id" = i64, Path, description = "Notification id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ReadResult),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
async fn mark_read(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<ReadResult>> {
    let found = sqlx::query("update notifications set read_at = coalesce(read_at, now()) where id = $1 and user_id = $2")
        .bind(id)
        .bind(user.id)
        .execute(&state.pool)
        .await?;
    if found.rows_affected() == 0 {
        return Err(ApiError::not_found("Notification introuvable."));
    }
    Ok(Json(ReadResult {
        success: true,
        unread_count: unread_count(&state.pool, user.id).await?,
    }))
}

/// Mark all of one's notifications as read. Roles: any signed-in user.
#[utoipa::path(post, path = "/api/notifications/read-all", tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ReadResult),
        (status = 403, body = ErrorBody),
    ))]
async fn mark_all_read(
    user: CurrentUser,
    State(state): State<AppState>,
) -> ApiResult<Json<ReadResult>> {
    sqlx::query("update notifications set read_at = now() where user_id = $1 and read_at is null")
        .bind(user.id)
        .execute(&state.pool)
        .await?;
    Ok(Json(ReadResult {
        success: true,
        unread_count: 0,
    }))
}
