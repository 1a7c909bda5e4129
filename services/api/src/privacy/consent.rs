//! Parental consent for students under 15 (issue #17). The rule itself lives in
//! `nexus_database::consent`, shared with the hub and ARIA.

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use nexus_auth::Role;
use nexus_web::{ApiError, ErrorBody, Json, auth::CurrentUser, error::ApiResult};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::audit;
use crate::{accounts::require_verified, state::AppState};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsentStatus {
    pub success: bool,
    pub student_id: i64,
    /// Under 15 by the birth date given (false when no birth date is known).
    pub under_age: bool,
    /// A parent has consented, and is still linked.
    pub given: bool,
    /// Whether ARIA and chat are blocked now for lack of consent.
    pub blocked: bool,
    pub given_by: Option<String>,
    pub given_at: Option<DateTime<Utc>>,
}

async fn is_parent_of(state: &AppState, parent: i64, student: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from parent_links where parent_id = $1 and student_id = $2)",
    )
    .bind(parent)
    .bind(student)
    .fetch_one(&state.pool)
    .await
}

async fn status(state: &AppState, student: i64) -> ApiResult<ConsentStatus> {
    let row: Option<(bool, Option<String>, Option<DateTime<Utc>>)> = sqlx::query_as(
        "select coalesce(u.date_of_birth > current_date - make_interval(years => $2), false),
                p.first_name || ' ' || p.last_name, c.given_at
         from users u
         left join parental_consents c on c.student_id = u.id
              and exists (select 1 from parent_links l
                          where l.parent_id = c.parent_id and l.student_id = c.student_id)
         left join users p on p.id = c.parent_id
         where u.id = $1 and u.role = 'student'",
    )
    .bind(student)
    .bind(nexus_database::consent::DIGITAL_CONSENT_AGE)
    .fetch_optional(&state.pool)
    .await?;
    let (under_age, given_by, given_at) =
        row.ok_or_else(|| ApiError::not_found("Élève introuvable."))?;
    let given = given_at.is_some();
    Ok(ConsentStatus {
        success: true,
        student_id: student,
        under_age,
        given,
        blocked: under_age && !given,
        given_by,
        given_at,
    })
}

/// A student's consent status. Roles: the student, a parent linked to them.
#[utoipa::path(get, path = "/api/students/{id}/consent", tag = "privacy",
    params(("id" = i64, Path, description = "Student id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ConsentStatus),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
pub async fn get_consent(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<ConsentStatus>> {
    let allowed = match user.role {
        Role::Student => user.id == id,
        Role::Parent => is_parent_of(&state, user.id, id).await?,
        _ => false,
    };
    if !allowed {
        return Err(ApiError::forbidden());
    }
    Ok(Json(status(&state, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentChange {
    /// `true` gives consent, `false` withdraws it.
    pub given: bool,
}

/// Give or withdraw consent for a linked child. Withdrawing takes effect at once (ARIA
/// and chat check on every message). Roles: a parent linked to the student, with a
/// verified email address.
#[utoipa::path(put, path = "/api/students/{id}/consent", tag = "privacy",
    params(("id" = i64, Path, description = "Student id")),
    request_body = ConsentChange,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ConsentStatus),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
pub async fn set_consent(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<ConsentChange>,
) -> ApiResult<Json<ConsentStatus>> {
    user.require(&[Role::Parent])?;
    if !is_parent_of(&state, user.id, id).await? {
        return Err(ApiError::forbidden());
    }
    require_verified(&state.pool, user.id).await?;
    let mut tx = state.pool.begin().await?;
    if body.given {
        sqlx::query(
            "insert into parental_consents (student_id, parent_id) values ($1, $2)
             on conflict (student_id) do update set parent_id = excluded.parent_id, given_at = now()",
        )
        .bind(id)
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query("delete from parental_consents where student_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    let action = if body.given {
        "consent_given"
    } else {
        "consent_withdrawn"
    };
    audit::record(&mut *tx, Some(&user), action, Some(id), json!({})).await?;
    tx.commit().await?;
    tracing::info!(
        parent_id = user.id,
        student_id = id,
        action,
        "parental consent changed"
    );
    Ok(Json(status(&state, id).await?))
}
