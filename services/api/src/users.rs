//! Accounts as an administrator manages them: list, create staff, edit, activate, change
//! roles.

use axum::http::StatusCode;
use nexus_auth::Role;
use nexus_database::levels::ClassLevel;
use nexus_web::{
    ApiError, ErrorBody, Json, Path, Query,
    auth::CurrentUser,
    error::ApiResult,
    pagination::{PageQuery, Pagination},
};
use serde::{Deserialize, Serialize};
// The SQL assembled here joins constant fragments only; every value is a bind parameter.
use sqlx::AssertSqlSafe;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    accounts::{self, USER_VIEW, UserView, get_existing_user},
    state::AppState,
    validate::Validator,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(set_user_status))
        .routes(routes!(set_user_role))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// Only users of this role.
    pub role: Option<Role>,
    /// Matches email, first or last name (case-insensitive).
    #[param(max_length = 100)]
    pub q: Option<String>,
    pub is_active: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserView>,
    pub pagination: Pagination,
}

/// List users. Roles: admin.
#[utoipa::path(get, path = "/api/users", tag = "users",
    params(UserFilter, PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserList),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
async fn list_users(
    user: CurrentUser,
    axum::extract::State(state): axum::extract::State<AppState>,
    Query(filter): Query<UserFilter>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<UserList>> {
    user.require(&[Role::Admin])?;
    let search = filter
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(|q| {
            format!(
                "%{}%",
                escape_like(&q.chars().take(100).collect::<String>())
            )
        });
    let role = filter.role.map(Role::as_str);
    let condition = "where ($1::text is null or u.role = $1)
        and ($2::text is null or u.email ilike $2 or u.first_name ilike $2 or u.last_name ilike $2)
        and ($3::bool is null or u.is_active = $3) and u.anonymised_at is null";
    let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "select count(*) from users u {condition}"
    )))
    .bind(role)
    .bind(&search)
    .bind(filter.is_active)
    .fetch_one(&state.pool)
    .await?;
    let users: Vec<UserView> = sqlx::query_as(AssertSqlSafe(format!(
        "{USER_VIEW} {condition} order by u.id limit $4 offset $5"
    )))
    .bind(role)
    .bind(&search)
    .bind(filter.is_active)
    .bind(i64::from(page.limit()))
    .bind(page.offset())
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(UserList {
        users,
        pagination: page.pagination(total),
    }))
}

/// `%` and `_` typed by a person are literal characters, not wildcards.
fn escape_like(raw: &str) -> String {
    raw.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserCreated {
    pub success: bool,
    pub message: String,
    pub user_id: i64,
}

/// Create an account of any role (teachers and admins are created this way). Roles: admin.
#[utoipa::path(post, path = "/api/users", tag = "users",
    request_body = accounts::NewAccount,
    security(("bearer" = [])),
    responses(
        (status = 201, body = UserCreated),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
async fn create_user(
    user: CurrentUser,
    axum::extract::State(state): axum::extract::State<AppState>,
    Json(body): Json<accounts::NewAccount>,
) -> ApiResult<(StatusCode, Json<UserCreated>)> {
    user.require(&[Role::Admin])?;
    let role = body.role;
    let user_id = accounts::create(&state.pool, body).await?;
    tracing::info!(admin = user.id, user_id, role = %role, "account created by an admin");
    Ok((
        StatusCode::CREATED,
        Json(UserCreated {
            success: true,
            message: "Compte créé.".into(),
            user_id,
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub success: bool,
    pub user: UserView,
}

/// One user. Roles: admin.
#[utoipa::path(get, path = "/api/users/{id}", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserResponse),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
async fn get_user(
    user: CurrentUser,
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<UserResponse>> {
    user.require(&[Role::Admin])?;
    Ok(Json(UserResponse {
        success: true,
        user: get_existing_user(&state.pool, id).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusRequest {
    pub is_active: bool,
}

/// Activate or deactivate an account; deactivation ends its sessions at once. An admin
/// cannot deactivate themselves. Roles: admin.
#[utoipa::path(patch, path = "/api/users/{id}/status", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    request_body = StatusRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserResponse),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ))]
async fn set_user_status(
    user: CurrentUser,
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<StatusRequest>,
) -> ApiResult<Json<UserResponse>> {
    user.require(&[Role::Admin])?;
    refuse_self(&user, id)?;
    let mut tx = state.pool.begin().await?;
    crate::privacy::deletion::refuse_reactivation(&mut tx, id, body.is_active).await?;
    let updated = sqlx::query("update users set is_active = $2 where id = $1")
        .bind(id)
        .bind(body.is_active)
        .execute(&mut *tx)
        .await?;
    if updated.rows_affected() == 0 {
        return Err(ApiError::not_found("Utilisateur introuvable."));
    }
    if !body.is_active {
        accounts::tokens::revoke_all_refresh(&mut *tx, id).await?;
        account_event(&mut tx, id, "deactivated").await?;
    }
    tx.commit().await?;
    if !body.is_active {
        state.authenticator.revoked(&state.redis, id).await;
    }
    tracing::info!(
        admin = user.id,
        user_id = id,
        active = body.is_active,
        "account status changed"
    );
    Ok(Json(UserResponse {
        success: true,
        user: get_existing_user(&state.pool, id).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserUpdate {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// A new address must be confirmed again (the account is marked unverified).
    pub email: Option<String>,
    /// Empty to remove it.
    pub phone: Option<String>,
    /// Students only.
    #[schema(value_type = Option<ClassLevel>)]
    pub class_level: Option<String>,
    /// Students only; empty to remove it.
    pub school_name: Option<String>,
}

/// Edit a user's name, email, phone and (for a student) class level and school. Fields
/// left out stay as they are. Roles: admin.
#[utoipa::path(patch, path = "/api/users/{id}", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    request_body = UserUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserResponse),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ))]
async fn update_user(
    user: CurrentUser,
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<UserUpdate>,
) -> ApiResult<Json<UserResponse>> {
    user.require(&[Role::Admin])?;
    let current = get_existing_user(&state.pool, id).await?;
    let is_student = current.role == Role::Student;
    let email = body.email.as_deref().map(crate::validate::normalize_email);
    let phone = body.phone.as_deref().map(str::trim);
    let school = body.school_name.as_deref().map(str::trim);
    let mut v = Validator::new();
    if let Some(first) = &body.first_name {
        v.name("firstName", first);
    }
    if let Some(last) = &body.last_name {
        v.name("lastName", last);
    }
    if let Some(email) = &email {
        v.email("email", email);
    }
    v.phone("phone", phone.filter(|p| !p.is_empty()));
    if let Some(level) = &body.class_level {
        v.check(
            is_student && ClassLevel::parse(level).is_some(),
            "classLevel",
            if is_student {
                "Niveau attendu : premiere ou terminale."
            } else {
                "Seuls les élèves ont un niveau de classe."
            },
        );
    }
    if let Some(school) = school {
        v.check(
            is_student && school.chars().count() <= 200 && !crate::validate::has_control(school),
            "schoolName",
            if is_student {
                "Doit contenir au plus 200 caractères."
            } else {
                "Seuls les élèves ont un établissement."
            },
        );
    }
    v.finish()?;
    let email_changed = email
        .as_deref()
        .is_some_and(|e| e != current.email.to_lowercase());
    let mut tx = state.pool.begin().await?;
    let updated = sqlx::query(
        "update users set first_name = coalesce($2, first_name), last_name = coalesce($3, last_name),
                email = coalesce($4, email), is_verified = is_verified and not $5,
                phone = case when $6 then nullif($7, '') else phone end
         where id = $1",
    )
    .bind(id)
    .bind(body.first_name.as_deref().map(str::trim))
    .bind(body.last_name.as_deref().map(str::trim))
    .bind(email.as_deref())
    .bind(email_changed)
    .bind(phone.is_some())
    .bind(phone)
    .execute(&mut *tx)
    .await;
    match updated {
        Err(e) if nexus_web::error::unique_violation(&e) == Some("users_email_lower_key") => {
            return Err(ApiError::conflict(
                "email_taken",
                "Un compte existe déjà avec cette adresse e-mail.",
            ));
        }
        other => {
            other?;
        }
    }
    if is_student {
        sqlx::query(
            "update student_profiles set class_level = coalesce($2, class_level),
                    school_name = case when $3 then nullif($4, '') else school_name end
             where user_id = $1",
        )
        .bind(id)
        .bind(body.class_level.as_deref())
        .bind(school.is_some())
        .bind(school)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    tracing::info!(admin = user.id, user_id = id, email_changed, "user edited");
    Ok(Json(UserResponse {
        success: true,
        user: get_existing_user(&state.pool, id).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleRequest {
    pub role: Role,
    /// Needed when making a student of someone without a student profile.
    #[schema(value_type = Option<ClassLevel>)]
    pub class_level: Option<String>,
}

/// Change a user's role; it takes effect on their next request. An admin cannot change
/// their own role. Roles: admin.
#[utoipa::path(patch, path = "/api/users/{id}/role", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    request_body = RoleRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserResponse),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ))]
async fn set_user_role(
    user: CurrentUser,
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<RoleRequest>,
) -> ApiResult<Json<UserResponse>> {
    user.require(&[Role::Admin])?;
    refuse_self(&user, id)?;
    let mut tx = state.pool.begin().await?;
    let exists: Option<bool> = sqlx::query_scalar(
        "select exists(select 1 from student_profiles where user_id = u.id) from users u where u.id = $1 for update",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let has_profile = exists.ok_or_else(|| ApiError::not_found("Utilisateur introuvable."))?;
    if body.role == Role::Student && !has_profile {
        let level = body.class_level.as_deref().unwrap_or_default();
        Validator::new()
            .check(
                ClassLevel::parse(level).is_some(),
                "classLevel",
                "Niveau attendu : premiere ou terminale.",
            )
            .finish()?;
        sqlx::query("insert into student_profiles (user_id, class_level) values ($1, $2)")
            .bind(id)
            .bind(level)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("update users set role = $2 where id = $1")
        .bind(id)
        .bind(body.role.as_str())
        .execute(&mut *tx)
        .await?;
    account_event(&mut tx, id, "role_changed").await?;
    tx.commit().await?;
    state.authenticator.revoked(&state.redis, id).await;
    tracing::info!(admin = user.id, user_id = id, role = %body.role, "role changed");
    Ok(Json(UserResponse {
        success: true,
        user: get_existing_user(&state.pool, id).await?,
    }))
}

/// Tells the hub to close the account's open connections (they were authorised under
/// the old status or role).
async fn account_event(
    conn: &mut sqlx::PgConnection,
    user_id: i64,
    action: &str,
) -> sqlx::Result<()> {
    let event_id = uuid::Uuid::new_v4();
    let payload = serde_json::json!({"eventId": event_id, "userId": user_id, "action": action, "createdAt": chrono::Utc::now()});
    nexus_database::outbox::enqueue(conn, event_id, "account", &payload).await
}

fn refuse_self(user: &CurrentUser, target: i64) -> ApiResult<()> {
    if user.id == target {
        return Err(ApiError::conflict(
            "cannot_change_self",
            "Un administrateur ne peut pas modifier son propre statut ni son propre rôle.",
        ));
    }
    Ok(())
}
