//! The right of access: a user asks for all their data (a parent for their linked child),
//! the worker produces the ZIP (`produce_pending`), a notification says it is ready, and
//! only the requester downloads it until it expires (docs/PRIVACY.md, "Data export").

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use nexus_auth::Role;
use nexus_web::{ApiError, ErrorBody, Json, Path, auth::CurrentUser, error::ApiResult};
use serde::Serialize;
use serde_json::json;
use sqlx::PgPool;
use utoipa::ToSchema;

use super::{archive, audit};
use crate::{
    notifications::{NewNotification, notify},
    settings::ApiSettings,
    state::AppState,
};

/// Exports one requester may ask for in 24 hours (each reads all of a person's data).
pub const DAILY_LIMIT: i64 = 3;
/// After this many failed productions an export is marked failed.
const MAX_ATTEMPTS: i32 = 3;

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataExport {
    pub id: i64,
    /// Whose data: the requester, or their child.
    pub subject_id: i64,
    pub subject_name: String,
    /// `pending` (being produced), `ready`, `failed`, `expired` (the file is deleted).
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub ready_at: Option<DateTime<Utc>>,
    /// Downloadable until then.
    pub expires_at: Option<DateTime<Utc>>,
    pub size_bytes: Option<i64>,
    /// `/api/data-exports/{id}/download` once ready.
    pub download_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataExportAnswer {
    pub success: bool,
    pub export: DataExport,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataExportList {
    pub success: bool,
    /// The 20 most recent, newest first.
    pub exports: Vec<DataExport>,
}

const EXPORT_COLUMNS: &str = "e.id, e.subject_id, u.first_name || ' ' || u.last_name as subject_name,
    case when e.status = 'ready' and e.expires_at <= now() then 'expired' else e.status end as status,
    e.created_at, e.ready_at, e.expires_at, e.file_size as size_bytes,
    case when e.status = 'ready' and e.expires_at > now()
         then '/api/data-exports/' || e.id || '/download' end as download_url";

async fn load(pool: &PgPool, id: i64) -> sqlx::Result<DataExport> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {EXPORT_COLUMNS} from data_exports e join users u on u.id = e.subject_id where e.id = $1"
    )))
    .bind(id)
    .fetch_one(pool)
    .await
}

/// Records the request (limits checked), audited, for the worker to produce.
async fn request(state: &AppState, user: &CurrentUser, subject: i64) -> ApiResult<Response> {
    let mut tx = state.pool.begin().await?;
    // One requester's requests are serialised, so two at once cannot both pass the limit.
    sqlx::query("select pg_advisory_xact_lock(hashtext('data_export'), $1::int)")
        .bind((user.id % i64::from(i32::MAX)) as i32)
        .execute(&mut *tx)
        .await?;
    let (pending, today, oldest): (bool, i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "select coalesce(bool_or(status = 'pending' and subject_id = $2), false),
                count(*) filter (where created_at > now() - interval '24 hours'),
                min(created_at) filter (where created_at > now() - interval '24 hours')
         from data_exports where requester_id = $1",
    )
    .bind(user.id)
    .bind(subject)
    .fetch_one(&mut *tx)
    .await?;
    if pending {
        return Err(ApiError::conflict(
            "export_pending",
            "Un export de ces données est déjà en préparation. Vous serez notifié quand il sera prêt.",
        ));
    }
    if today >= DAILY_LIMIT {
        let retry = oldest.map_or(3600, |t| {
            (t + chrono::Duration::hours(24) - Utc::now())
                .num_seconds()
                .max(1) as u64
        });
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "export_limit",
            format!(
                "Vous avez déjà demandé {DAILY_LIMIT} exports ces dernières 24 heures. Réessayez plus tard."
            ),
        );
        error.retry_after = Some(retry);
        return Err(error);
    }
    let id: i64 = sqlx::query_scalar(
        "insert into data_exports (requester_id, subject_id) values ($1, $2) returning id",
    )
    .bind(user.id)
    .bind(subject)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Some(user),
        "data_export_requested",
        Some(subject),
        json!({ "exportId": id }),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        export_id = id,
        requester_id = user.id,
        subject_id = subject,
        "data export requested"
    );
    let export = load(&state.pool, id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(DataExportAnswer {
            success: true,
            export,
        }),
    )
        .into_response())
}

/// Ask for an export of all one's data, produced in the background; a notification
/// (`data_export_ready`) says when it can be downloaded. One in the making at a time, 3
/// per 24 hours. Roles: any signed-in user (their own data).
#[utoipa::path(post, path = "/api/me/data-exports", tag = "privacy",
    security(("bearer" = [])),
    responses(
        (status = 202, body = DataExportAnswer),
        (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "An export of these data is already being produced"),
    ))]
pub async fn request_own(user: CurrentUser, State(state): State<AppState>) -> ApiResult<Response> {
    request(&state, &user, user.id).await
}

/// Ask for an export of a linked child's data (the parent downloads it). Same limits as
/// one's own. Roles: a parent linked to the student (403 for anyone else, whether the
/// student exists or not).
#[utoipa::path(post, path = "/api/students/{id}/data-exports", tag = "privacy",
    params(("id" = i64, Path, description = "Student id")),
    security(("bearer" = [])),
    responses(
        (status = 202, body = DataExportAnswer),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
pub async fn request_child(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    user.require(&[Role::Parent])?;
    if !nexus_web::access::is_parent_of(&state.pool, user.id, id).await? {
        return Err(ApiError::forbidden());
    }
    request(&state, &user, id).await
}

/// The exports one asked for (one's own and one's children's), newest first.
/// Roles: any signed-in user.
#[utoipa::path(get, path = "/api/me/data-exports", tag = "privacy",
    security(("bearer" = [])),
    responses(
        (status = 200, body = DataExportList),
        (status = 403, body = ErrorBody),
    ))]
pub async fn list_own(
    user: CurrentUser,
    State(state): State<AppState>,
) -> ApiResult<Json<DataExportList>> {
    let exports = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {EXPORT_COLUMNS} from data_exports e join users u on u.id = e.subject_id
         where e.requester_id = $1 order by e.id desc limit 20"
    )))
    .bind(user.id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(DataExportList {
        success: true,
        exports,
    }))
}

#[derive(sqlx::FromRow)]
struct Stored {
    subject_id: i64,
    status: String,
    expires_at: Option<DateTime<Utc>>,
    file: Option<Vec<u8>>,
}

/// Download a ready export (a ZIP). Roles: its requester only; 404 for anyone else, as
/// for an export that does not exist. 409 while it is being produced or when it failed,
/// 410 once expired.
#[utoipa::path(get, path = "/api/data-exports/{id}/download", tag = "privacy",
    params(("id" = i64, Path, description = "Export id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The ZIP", content((Vec<u8> = "application/zip"))),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 410, body = ErrorBody),
    ))]
pub async fn download(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let row: Option<Stored> = sqlx::query_as(
        "select subject_id, status, expires_at, file from data_exports where id = $1 and requester_id = $2",
    )
    .bind(id)
    .bind(user.id)
    .fetch_optional(&state.pool)
    .await?;
    let Some(Stored {
        subject_id: subject,
        status,
        expires_at,
        file,
    }) = row
    else {
        return Err(ApiError::not_found("Export introuvable."));
    };
    let expired = status == "expired" || expires_at.is_some_and(|t| t <= Utc::now());
    if expired {
        return Err(ApiError::new(
            StatusCode::GONE,
            "export_expired",
            "Cet export a expiré et a été supprimé. Demandez-en un nouveau.",
        ));
    }
    let file = match (status.as_str(), file) {
        ("ready", Some(file)) => file,
        ("failed", _) => {
            return Err(ApiError::conflict(
                "export_failed",
                "La préparation de cet export a échoué. Demandez-en un nouveau.",
            ));
        }
        _ => {
            return Err(ApiError::conflict(
                "export_not_ready",
                "Cet export est encore en préparation. Réessayez dans quelques instants.",
            ));
        }
    };
    let mut tx = state.pool.begin().await?;
    sqlx::query("update data_exports set downloaded_at = now() where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut *tx,
        Some(&user),
        "data_export_downloaded",
        Some(subject),
        json!({ "exportId": id }),
    )
    .await?;
    tx.commit().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"nexus-donnees-{id}.zip\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        file,
    )
        .into_response())
}

/// Produces the pending exports, one at a time, each in its own transaction: the row is
/// locked (`skip locked`: replicas share the work) until the file and the notification
/// are stored, so a crash leaves it pending for the next round. Returns how many were
/// finished (ready or failed).
pub async fn produce_pending(
    pool: &PgPool,
    settings: &ApiSettings,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let mut done = 0;
    loop {
        let mut tx = pool.begin().await?;
        let claimed: Option<(i64, i64, i64, i32)> = sqlx::query_as(
            "select id, requester_id, subject_id, attempts from data_exports
             where status = 'pending' order by id limit 1 for update skip locked",
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, requester, subject, attempts)) = claimed else {
            return Ok(done);
        };
        let built = match archive::collect(pool, subject, requester != subject, now).await {
            Ok(Some(data)) => tokio::task::spawn_blocking(move || archive::build_zip(&data))
                .await
                .map_err(anyhow::Error::from)
                .and_then(|r| r),
            Ok(None) => Err(anyhow::anyhow!("the subject no longer exists")),
            Err(error) => Err(error.into()),
        };
        let expires_at = now
            + chrono::Duration::from_std(settings.privacy.export_ttl)
                .unwrap_or(chrono::Duration::days(7));
        let for_child = requester != subject;
        let subject_first_name: String =
            sqlx::query_scalar("select first_name from users where id = $1")
                .bind(subject)
                .fetch_optional(&mut *tx)
                .await?
                .unwrap_or_default();
        match built {
            Ok(zip) => {
                sqlx::query(
                    "update data_exports set status = 'ready', file = $2, file_size = $3,
                            ready_at = $4, expires_at = $5, attempts = attempts + 1
                     where id = $1",
                )
                .bind(id)
                .bind(&zip)
                .bind(zip.len() as i64)
                .bind(now)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
                let title = if for_child {
                    format!("Les données de {subject_first_name} sont prêtes")
                } else {
                    "Vos données sont prêtes".to_owned()
                };
                let body = format!(
                    "L'export est prêt à être téléchargé jusqu'au {} (Mes données).",
                    crate::dates::date_time(expires_at)
                );
                notify(
                    &mut tx,
                    &[requester],
                    &NewNotification {
                        kind: "data_export_ready",
                        title,
                        body,
                        data: json!({
                            "exportId": id,
                            "subjectId": subject,
                            "downloadUrl": format!("/api/data-exports/{id}/download"),
                        }),
                    },
                )
                .await?;
                tx.commit().await?;
                tracing::info!(export_id = id, bytes = zip.len(), "data export ready");
                done += 1;
            }
            Err(error) if attempts + 1 >= MAX_ATTEMPTS => {
                sqlx::query(
                    "update data_exports set status = 'failed', attempts = attempts + 1 where id = $1",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
                notify(
                    &mut tx,
                    &[requester],
                    &NewNotification {
                        kind: "data_export_failed",
                        title: "L'export de données a échoué".to_owned(),
                        body: "La préparation de l'export n'a pas abouti. Vous pouvez en demander un nouveau."
                            .to_owned(),
                        data: json!({ "exportId": id, "subjectId": subject }),
                    },
                )
                .await?;
                tx.commit().await?;
                tracing::warn!(export_id = id, error = %format!("{error:#}"), "data export failed");
                done += 1;
            }
            Err(error) => {
                sqlx::query("update data_exports set attempts = attempts + 1 where id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                tracing::warn!(export_id = id, error = %format!("{error:#}"), "data export failed; retrying next round");
                // Leave it for the next round rather than spinning on it now.
                return Ok(done);
            }
        }
    }
}
