//! Deletion requests (issue #17, docs/PRIVACY.md "Deletion and erasure"): the account is
//! disabled at once and erased by `erasure::erase_due` once the grace period is over.
//! Who may ask: the user themself, a parent for a linked child, an admin for anyone
//! else. Who may cancel: whoever asked it (the user themself by signing in again with
//! `POST /api/auth/deletion/cancel`), or an admin.

use axum::{extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use nexus_auth::{Role, password};
use nexus_web::{
    ApiError, ErrorBody, Json, Path, auth::CurrentUser, error::ApiResult, net::ClientIp,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::audit;
use crate::{dates, state::AppState, validate::normalize_email};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_own_deletion))
        .routes(routes!(cancel_own_deletion))
        .routes(routes!(
            child_deletion_status,
            request_child_deletion,
            cancel_child_deletion
        ))
        .routes(routes!(request_user_deletion, cancel_user_deletion))
        .routes(routes!(list_pending))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletionConfirm {
    /// The caller's own password, typed again.
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeletionStatus {
    pub success: bool,
    pub user_id: i64,
    pub pending: bool,
    pub requested_at: Option<DateTime<Utc>>,
    /// When the account will be erased.
    pub erase_after: Option<DateTime<Utc>>,
    #[schema(value_type = Option<String>)]
    pub requested_by_role: Option<Role>,
    /// Whether the caller may cancel it.
    pub can_cancel: bool,
    pub message: String,
}

#[derive(sqlx::FromRow)]
struct Pending {
    requested_by: i64,
    requested_by_role: Role,
    requested_at: DateTime<Utc>,
    erase_after: DateTime<Utc>,
    was_active: bool,
}

async fn pending(
    conn: &mut PgConnection,
    user_id: i64,
    lock: bool,
) -> sqlx::Result<Option<Pending>> {
    let sql = if lock {
        "select requested_by, requested_by_role, requested_at, erase_after, was_active
         from deletion_requests where user_id = $1 for update"
    } else {
        "select requested_by, requested_by_role, requested_at, erase_after, was_active
         from deletion_requests where user_id = $1"
    };
    sqlx::query_as(sql).bind(user_id).fetch_optional(conn).await
}

/// The answer to a sign-in (with the right password) on an account waiting for erasure:
/// when it happens and how to cancel. Falls back to the plain "disabled" answer for an
/// account an admin disabled.
pub async fn login_refusal(pool: &sqlx::PgPool, user_id: i64) -> ApiResult<ApiError> {
    let mut conn = pool.acquire().await?;
    let Some(p) = pending(&mut conn, user_id, false).await? else {
        return Ok(nexus_web::auth::account_disabled());
    };
    let date = dates::long_date(p.erase_after);
    let self_asked = p.requested_by == user_id;
    let message = if self_asked {
        format!(
            "La suppression de ce compte a été demandée : il sera effacé définitivement le {date}. \
             Pour l'annuler, choisissez « Annuler la suppression » et saisissez à nouveau votre mot de passe."
        )
    } else {
        let by = if p.requested_by_role == Role::Parent {
            "par votre parent"
        } else {
            "par l'administration"
        };
        format!(
            "La suppression de ce compte a été demandée {by} : il sera effacé définitivement le {date}. \
             Seule la personne qui l'a demandée, ou l'administration de votre établissement, peut l'annuler."
        )
    };
    Ok(
        ApiError::new(StatusCode::FORBIDDEN, "deletion_pending", message).with_details(json!({
            "eraseAfter": p.erase_after,
            "canCancel": self_asked,
        })),
    )
}

/// Checks the caller's password, typed again (wrong ones count against a per-account
/// limit, like failed sign-ins).
async fn check_password(state: &AppState, user_id: i64, typed: &str) -> ApiResult<()> {
    let limit = state.settings.rate_limits.login_failures;
    let key = user_id.to_string();
    state
        .limiter
        .check("deletion_password", &key, limit)
        .await
        .map_err(ApiError::too_many_requests)?;
    let hash: String = sqlx::query_scalar("select password_hash from users where id = $1")
        .bind(user_id)
        .fetch_one(&state.pool)
        .await?;
    let ok = typed.chars().count() <= password::MAX_LENGTH
        && password::verify(typed.to_owned(), Some(hash)).await?;
    if !ok {
        let _ = state.limiter.hit("deletion_password", &key, limit).await;
        return Err(ApiError::invalid_fields(vec![(
            "password",
            "Mot de passe incorrect.".into(),
        )]));
    }
    Ok(())
}

/// Disables `target` and records the request; the caller has been authorised.
async fn open_request(
    state: &AppState,
    actor: &CurrentUser,
    target: i64,
) -> ApiResult<DeletionStatus> {
    let mut tx = state.pool.begin().await?;
    let row: Option<(Role, bool, Option<DateTime<Utc>>)> =
        sqlx::query_as("select role, is_active, anonymised_at from users where id = $1 for update")
            .bind(target)
            .fetch_optional(&mut *tx)
            .await?;
    // Anonymous accounts that keep erased users' grades are not accounts of anyone.
    let (role, active) = match row {
        Some((role, active, None)) => (role, active),
        _ => return Err(ApiError::not_found("Utilisateur introuvable.")),
    };
    if let Some(p) = pending(&mut tx, target, true).await? {
        return Err(ApiError::conflict(
            "deletion_pending",
            format!(
                "La suppression de ce compte est déjà demandée (effacement le {}).",
                dates::long_date(p.erase_after)
            ),
        ));
    }
    if role == Role::Admin {
        let others: i64 = sqlx::query_scalar(
            "select count(*) from users u where u.role = 'admin' and u.is_active and u.id <> $1
               and not exists (select 1 from deletion_requests d where d.user_id = u.id)",
        )
        .bind(target)
        .fetch_one(&mut *tx)
        .await?;
        if others == 0 {
            return Err(ApiError::conflict(
                "last_admin",
                "C'est le dernier compte administrateur actif : créez-en un autre avant de le supprimer.",
            ));
        }
    }
    let grace = state.settings.privacy.erasure_grace;
    let (requested_at, erase_after): (DateTime<Utc>, DateTime<Utc>) = sqlx::query_as(
        "insert into deletion_requests (user_id, requested_by, requested_by_role, erase_after, was_active)
         values ($1, $2, $3, now() + make_interval(secs => $4), $5)
         returning requested_at, erase_after",
    )
    .bind(target)
    .bind(actor.id)
    .bind(actor.role.as_str())
    .bind(grace.as_secs_f64())
    .bind(active)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("update users set is_active = false where id = $1")
        .bind(target)
        .execute(&mut *tx)
        .await?;
    let sessions = crate::accounts::tokens::revoke_all_refresh(&mut *tx, target).await?;
    account_closed_event(&mut tx, target).await?;
    audit::record(
        &mut *tx,
        Some(actor),
        "deletion_requested",
        Some(target),
        json!({"role": role, "eraseAfter": erase_after}),
    )
    .await?;
    tx.commit().await?;
    // Access tokens and open sockets (hub, ARIA) of the account stop working now.
    state.authenticator.revoked(&state.redis, target).await;
    tracing::info!(
        actor = actor.id,
        user_id = target,
        sessions_ended = sessions,
        "account deletion requested"
    );
    Ok(DeletionStatus {
        success: true,
        user_id: target,
        pending: true,
        requested_at: Some(requested_at),
        erase_after: Some(erase_after),
        requested_by_role: Some(actor.role),
        can_cancel: actor.id != target,
        message: format!(
            "Le compte est désactivé. Il sera effacé définitivement le {}, sauf annulation d'ici là.",
            dates::long_date(erase_after)
        ),
    })
}

/// Tells the hub to close the account's open connections.
async fn account_closed_event(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<()> {
    let event_id = uuid::Uuid::new_v4();
    let payload = json!({"eventId": event_id, "userId": user_id, "action": "deactivated", "createdAt": Utc::now()});
    nexus_database::outbox::enqueue(conn, event_id, "account", &payload).await
}

/// Who may cancel a pending request: whoever asked it, or an admin.
enum Canceller<'a> {
    User(&'a CurrentUser),
    /// The account holder, identified by their password (they cannot hold a session).
    Holder(i64),
}

async fn close_request(
    state: &AppState,
    canceller: Canceller<'_>,
    target: i64,
) -> ApiResult<DeletionStatus> {
    let mut tx = state.pool.begin().await?;
    let p = pending(&mut tx, target, true).await?.ok_or_else(|| {
        ApiError::not_found("Aucune suppression n'est en attente pour ce compte.")
    })?;
    let (actor_id, allowed) = match &canceller {
        Canceller::User(user) => (
            user.id,
            user.role == Role::Admin || p.requested_by == user.id,
        ),
        Canceller::Holder(id) => (*id, p.requested_by == *id),
    };
    if !allowed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Seule la personne qui a demandé la suppression, ou un administrateur, peut l'annuler.",
        ));
    }
    sqlx::query("delete from deletion_requests where user_id = $1")
        .bind(target)
        .execute(&mut *tx)
        .await?;
    sqlx::query("update users set is_active = $2 where id = $1")
        .bind(target)
        .bind(p.was_active)
        .execute(&mut *tx)
        .await?;
    match canceller {
        Canceller::User(user) => {
            audit::record(
                &mut *tx,
                Some(user),
                "deletion_cancelled",
                Some(target),
                json!({}),
            )
            .await?
        }
        Canceller::Holder(id) => {
            sqlx::query(
                "insert into audit_log (actor_id, actor_role, action, subject_id, details)
                 select id, role, 'deletion_cancelled', id, '{}' from users where id = $1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    tracing::info!(
        actor = actor_id,
        user_id = target,
        "account deletion cancelled"
    );
    Ok(DeletionStatus {
        success: true,
        user_id: target,
        pending: false,
        requested_at: None,
        erase_after: None,
        requested_by_role: None,
        can_cancel: false,
        message: "La suppression est annulée : le compte est rétabli.".into(),
    })
}

/// Ask for the deletion of one's own account, typing one's password again. The account
/// is disabled at once (every session ends) and erased after the grace period
/// (`ERASURE_GRACE_SECONDS`, 30 days by default). Roles: any signed-in user (not the last
/// active admin).
#[utoipa::path(post, path = "/api/me/deletion", tag = "privacy",
    request_body = DeletionConfirm,
    security(("bearer" = [])),
    responses(
        (status = 202, body = DeletionStatus),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
pub async fn request_own_deletion(
    user: CurrentUser,
    State(state): State<AppState>,
    Json(body): Json<DeletionConfirm>,
) -> ApiResult<(StatusCode, Json<DeletionStatus>)> {
    check_password(&state, user.id, &body.password).await?;
    let status = open_request(&state, &user, user.id).await?;
    Ok((StatusCode::ACCEPTED, Json(status)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolderCredentials {
    pub email: String,
    pub password: String,
}

/// Cancel the deletion one asked for oneself, during the grace period. The account
/// cannot sign in, so the holder proves who they are with their email and password (the
/// sign-in limits apply). A deletion asked by a parent or an admin is not cancelled this
/// way (403). Roles: anyone (no token).
#[utoipa::path(post, path = "/api/auth/deletion/cancel", tag = "privacy",
    request_body = HolderCredentials,
    responses(
        (status = 200, body = DeletionStatus),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
pub async fn cancel_own_deletion(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<HolderCredentials>,
) -> ApiResult<Json<DeletionStatus>> {
    let limits = &state.settings.rate_limits;
    state
        .limiter
        .hit("login_ip", &ip.to_string(), limits.login_per_ip)
        .await
        .map_err(ApiError::too_many_requests)?;
    let email = normalize_email(&body.email);
    let invalid = || {
        ApiError::unauthorized(
            "invalid_credentials",
            "Adresse e-mail ou mot de passe incorrect.",
        )
    };
    if email.len() > 254 || body.password.chars().count() > password::MAX_LENGTH {
        return Err(invalid());
    }
    let pair = format!("{email}|{ip}");
    state
        .limiter
        .check("login_failures", &pair, limits.login_failures)
        .await
        .map_err(ApiError::too_many_requests)?;
    let account: Option<(i64, String)> =
        sqlx::query_as("select id, password_hash from users where lower(email) = $1")
            .bind(&email)
            .fetch_optional(&state.pool)
            .await?;
    let verified = password::verify(body.password, account.as_ref().map(|a| a.1.clone())).await?;
    let Some((user_id, _)) = account.filter(|_| verified) else {
        let _ = state
            .limiter
            .hit("login_failures", &pair, limits.login_failures)
            .await;
        return Err(invalid());
    };
    state.limiter.reset("login_failures", &pair).await;
    Ok(Json(
        close_request(&state, Canceller::Holder(user_id), user_id).await?,
    ))
}

async fn require_linked_parent(
    state: &AppState,
    user: &CurrentUser,
    student: i64,
) -> ApiResult<()> {
    user.require(&[Role::Parent])?;
    if !nexus_web::access::is_parent_of(&state.pool, user.id, student).await? {
        return Err(ApiError::forbidden());
    }
    Ok(())
}

/// Whether a deletion of this child's account is pending. Roles: a parent linked to the
/// student, an admin.
#[utoipa::path(get, path = "/api/students/{id}/deletion", tag = "privacy",
    params(("id" = i64, Path, description = "Student id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DeletionStatus),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
pub async fn child_deletion_status(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<DeletionStatus>> {
    if user.role != Role::Admin {
        require_linked_parent(&state, &user, id).await?;
    }
    let mut conn = state.pool.acquire().await?;
    let p = pending(&mut conn, id, false).await?;
    Ok(Json(DeletionStatus {
        success: true,
        user_id: id,
        pending: p.is_some(),
        requested_at: p.as_ref().map(|p| p.requested_at),
        erase_after: p.as_ref().map(|p| p.erase_after),
        requested_by_role: p.as_ref().map(|p| p.requested_by_role),
        can_cancel: p
            .as_ref()
            .is_some_and(|p| user.role == Role::Admin || p.requested_by == user.id),
        message: match &p {
            Some(p) => format!(
                "Suppression demandée : le compte sera effacé le {}.",
                dates::long_date(p.erase_after)
            ),
            None => "Aucune suppression en attente.".into(),
        },
    }))
}

/// Ask for the deletion of a linked child's account, typing one's own password again.
/// The child's account is disabled at once and erased after the grace period. Roles: a
/// parent linked to the student.
#[utoipa::path(post, path = "/api/students/{id}/deletion", tag = "privacy",
    params(("id" = i64, Path, description = "Student id")),
    request_body = DeletionConfirm,
    security(("bearer" = [])),
    responses(
        (status = 202, body = DeletionStatus),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ))]
pub async fn request_child_deletion(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<DeletionConfirm>,
) -> ApiResult<(StatusCode, Json<DeletionStatus>)> {
    require_linked_parent(&state, &user, id).await?;
    check_password(&state, user.id, &body.password).await?;
    let status = open_request(&state, &user, id).await?;
    Ok((StatusCode::ACCEPTED, Json(status)))
}

/// Cancel the deletion of a linked child's account, during the grace period. Roles: the
/// parent who asked for it (still linked).
#[utoipa::path(delete, path = "/api/students/{id}/deletion", tag = "privacy",
    params(("id" = i64, Path, description = "Student id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DeletionStatus),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
pub async fn cancel_child_deletion(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<DeletionStatus>> {
    require_linked_parent(&state, &user, id).await?;
    Ok(Json(
        close_request(&state, Canceller::User(&user), id).await?,
    ))
}

/// Delete any other user's account, typing one's own password again: this is how admins
/// delete users (there is no immediate deletion). Disabled at once, erased after the
/// grace period. Roles: admin (for their own account: `POST /api/me/deletion`).
#[utoipa::path(post, path = "/api/admin/users/{id}/deletion", tag = "privacy",
    params(("id" = i64, Path, description = "User id")),
    request_body = DeletionConfirm,
    security(("bearer" = [])),
    responses(
        (status = 202, body = DeletionStatus),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ))]
pub async fn request_user_deletion(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<DeletionConfirm>,
) -> ApiResult<(StatusCode, Json<DeletionStatus>)> {
    user.require(&[Role::Admin])?;
    if id == user.id {
        return Err(ApiError::conflict(
            "cannot_change_self",
            "Pour supprimer votre propre compte, passez par « Mon compte ».",
        ));
    }
    check_password(&state, user.id, &body.password).await?;
    let status = open_request(&state, &user, id).await?;
    Ok((StatusCode::ACCEPTED, Json(status)))
}

/// Cancel any pending deletion. Roles: admin.
#[utoipa::path(delete, path = "/api/admin/users/{id}/deletion", tag = "privacy",
    params(("id" = i64, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DeletionStatus),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
pub async fn cancel_user_deletion(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<DeletionStatus>> {
    user.require(&[Role::Admin])?;
    Ok(Json(
        close_request(&state, Canceller::User(&user), id).await?,
    ))
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingDeletion {
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub requested_by: i64,
    pub requested_by_role: Role,
    pub requested_at: DateTime<Utc>,
    pub erase_after: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PendingDeletions {
    pub success: bool,
    pub deletions: Vec<PendingDeletion>,
}

/// Pending deletions, soonest erasure first (at most 500). Roles: admin.
#[utoipa::path(get, path = "/api/admin/deletions", tag = "privacy",
    security(("bearer" = [])),
    responses(
        (status = 200, body = PendingDeletions),
        (status = 403, body = ErrorBody),
    ))]
pub async fn list_pending(
    user: CurrentUser,
    State(state): State<AppState>,
) -> ApiResult<Json<PendingDeletions>> {
    user.require(&[Role::Admin])?;
    let deletions = sqlx::query_as(
        "select d.user_id, u.first_name || ' ' || u.last_name as name, u.email, u.role,
                d.requested_by, d.requested_by_role, d.requested_at, d.erase_after
         from deletion_requests d join users u on u.id = d.user_id
         order by d.erase_after, d.user_id limit 500",
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(PendingDeletions {
        success: true,
        deletions,
    }))
}

/// An account waiting for erasure is re-enabled by cancelling the deletion, not by
/// `PATCH /api/users/{id}/status` (which would leave it enabled and still due).
pub async fn refuse_reactivation(
    conn: &mut PgConnection,
    user_id: i64,
    activate: bool,
) -> ApiResult<()> {
    if activate && pending(conn, user_id, true).await?.is_some() {
        return Err(ApiError::conflict(
            "deletion_pending",
            "La suppression de ce compte est en attente : annulez-la pour le réactiver.",
        ));
    }
    Ok(())
}
