//! What a signed-in user does with their own account: edit the profile, and link
//! families (a student hands a one-time pairing code to a parent); either side, or an
//! admin, can end a link.

use axum::{extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use nexus_auth::{Role, tokens};
use nexus_database::levels::ClassLevel;
use nexus_web::{
    ApiError, ErrorBody, Json, Path, auth::CurrentUser, error::ApiResult, net::ClientIp,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    accounts::get_existing_user,
    auth::{Done, MeResponse, me_response},
    code_guard,
    state::AppState,
    validate::{Validator, has_control},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(update_me))
        .routes(routes!(create_pairing_code))
        .routes(routes!(list_children, link_child))
        .routes(routes!(list_parents))
        .routes(routes!(unlink_child))
        .routes(routes!(unlink_parent))
        .routes(routes!(admin_unlink))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileUpdate {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// An empty string removes the phone number.
    pub phone: Option<String>,
    /// Students only.
    #[schema(value_type = Option<ClassLevel>)]
    pub class_level: Option<String>,
    /// Students only; empty removes it.
    pub school_name: Option<String>,
    /// Students only, e.g. `2026-2027`; empty removes it.
    pub academic_year: Option<String>,
}

/// Edit one's own profile (name, phone; for students class level, school and year).
/// Email and role are not editable here. Roles: any signed-in user.
#[utoipa::path(patch, path = "/api/me", tag = "me",
    request_body = ProfileUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, body = MeResponse),
        (status = 403, body = ErrorBody),
    ))]
async fn update_me(
    user: CurrentUser,
    State(state): State<AppState>,
    Json(body): Json<ProfileUpdate>,
) -> ApiResult<Json<MeResponse>> {
    let phone = body.phone.as_deref().map(str::trim);
    let school = body.school_name.as_deref().map(str::trim);
    let year = body.academic_year.as_deref().map(str::trim);
    let mut v = Validator::new();
    if let Some(first) = &body.first_name {
        v.name("firstName", first);
    }
    if let Some(last) = &body.last_name {
        v.name("lastName", last);
    }
    v.phone("phone", phone.filter(|p| !p.is_empty()));
    let student_fields = body.class_level.is_some() || school.is_some() || year.is_some();
    if student_fields && user.role != Role::Student {
        v.fail("classLevel", "Seuls les élèves ont un profil de classe.");
    }
    if let Some(level) = &body.class_level {
        v.check(
            ClassLevel::parse(level).is_some(),
            "classLevel",
            "Niveau attendu : premiere ou terminale.",
        );
    }
    v.check(
        school.is_none_or(|s| s.chars().count() <= 200 && !has_control(s)),
        "schoolName",
        "Doit contenir au plus 200 caractères.",
    );
    v.check(
        year.is_none_or(|y| y.is_empty() || is_school_year(y)),
        "academicYear",
        "Année scolaire attendue sous la forme 2026-2027.",
    );
    v.finish()?;

    let mut tx = state.pool.begin().await?;
    sqlx::query(
        "update users set
            first_name = coalesce($2, first_name),
            last_name = coalesce($3, last_name),
            phone = case when $4::text is null then phone else nullif($4, '') end
         where id = $1",
    )
    .bind(user.id)
    .bind(body.first_name.as_deref().map(str::trim))
    .bind(body.last_name.as_deref().map(str::trim))
    .bind(phone)
    .execute(&mut *tx)
    .await?;
    if student_fields {
        sqlx::query(
            "update student_profiles set
                class_level = coalesce($2, class_level),
                school_name = case when $3::text is null then school_name else nullif($3, '') end,
                academic_year = case when $4::text is null then academic_year else nullif($4, '') end
             where user_id = $1",
        )
        .bind(user.id)
        .bind(body.class_level.as_deref())
        .bind(school)
        .bind(year)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Json(me_response(
        get_existing_user(&state.pool, user.id).await?,
    )))
}

pub fn is_school_year(value: &str) -> bool {
    let Some((a, b)) = value.split_once('-') else {
        return false;
    };
    match (a.parse::<u16>(), b.parse::<u16>()) {
        (Ok(a), Ok(b)) => a.checked_add(1) == Some(b) && (2000..2200).contains(&a),
        _ => false,
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PairingCode {
    pub success: bool,
    /// 8 characters to give to a parent; shown once.
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// Create a one-time code a parent enters to follow this student (valid 7 days; a new
/// code replaces the previous unused one). Roles: student.
#[utoipa::path(post, path = "/api/me/pairing-code", tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 201, body = PairingCode),
        (status = 403, body = ErrorBody),
    ))]
async fn create_pairing_code(
    user: CurrentUser,
    State(state): State<AppState>,
) -> ApiResult<(StatusCode, Json<PairingCode>)> {
    user.require(&[Role::Student])?;
    let code = tokens::generate_pairing_code();
    let mut tx = state.pool.begin().await?;
    sqlx::query("delete from pairing_codes where student_id = $1 and used_at is null")
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    let expires_at: DateTime<Utc> = sqlx::query_scalar(
        "insert into pairing_codes (student_id, code_hash, expires_at)
         values ($1, $2, now() + make_interval(secs => $3)) returning expires_at",
    )
    .bind(user.id)
    .bind(tokens::hash(&code))
    .bind(state.settings.pairing_code_ttl.as_secs_f64())
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(PairingCode {
            success: true,
            code,
            expires_at,
        }),
    ))
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkedPerson {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_level: Option<ClassLevel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub school_name: Option<String>,
    pub linked_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChildrenList {
    pub success: bool,
    pub children: Vec<LinkedPerson>,
}

/// The children this parent follows. Roles: parent.
#[utoipa::path(get, path = "/api/me/children", tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ChildrenList),
        (status = 403, body = ErrorBody),
    ))]
async fn list_children(
    user: CurrentUser,
    State(state): State<AppState>,
) -> ApiResult<Json<ChildrenList>> {
    user.require(&[Role::Parent])?;
    let children = sqlx::query_as(
        "select u.id, u.email, u.first_name, u.last_name, p.class_level, p.school_name, l.created_at as linked_at
         from parent_links l join users u on u.id = l.student_id
         left join student_profiles p on p.user_id = u.id
         where l.parent_id = $1 order by u.first_name, u.id",
    )
    .bind(user.id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(ChildrenList {
        success: true,
        children,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// The code the student created (case, spaces and dashes do not matter).
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChildLinked {
    pub success: bool,
    pub child: LinkedPerson,
}

/// Follow a child with the pairing code they created. Ten wrong codes per account or
/// address in 15 minutes, then 429 until the window ends. Roles: parent.
#[utoipa::path(post, path = "/api/me/children", tag = "me",
    request_body = LinkRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = ChildLinked),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
async fn link_child(
    user: CurrentUser,
    ClientIp(ip): ClientIp,
    State(state): State<AppState>,
    Json(body): Json<LinkRequest>,
) -> ApiResult<(StatusCode, Json<ChildLinked>)> {
    user.require(&[Role::Parent])?;
    code_guard::ensure_may_try(&state, user.id, ip).await?;
    let code = tokens::normalize_pairing_code(&body.code);
    let invalid = || {
        ApiError::bad_request(
            "invalid_pairing_code",
            "Ce code de liaison est invalide ou a expiré.",
        )
    };
    let mut tx = state.pool.begin().await?;
    let student_id: Option<i64> = if code.len() == tokens::PAIRING_CODE_LENGTH {
        sqlx::query_scalar(
            "update pairing_codes set used_at = now(), used_by = $2
             where code_hash = $1 and used_at is null and expires_at > now()
             returning student_id",
        )
        .bind(tokens::hash(&code))
        .bind(user.id)
        .fetch_optional(&mut *tx)
        .await?
    } else {
        None
    };
    let Some(student_id) = student_id else {
        code_guard::record_wrong_code(&state, user.id, ip).await;
        return Err(invalid());
    };
    let inserted = sqlx::query(
        "insert into parent_links (parent_id, student_id) values ($1, $2) on conflict do nothing",
    )
    .bind(user.id)
    .bind(student_id)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(ApiError::conflict(
            "already_linked",
            "Vous suivez déjà cet élève.",
        ));
    }
    let child = sqlx::query_as(
        "select u.id, u.email, u.first_name, u.last_name, p.class_level, p.school_name, l.created_at as linked_at
         from parent_links l join users u on u.id = l.student_id
         left join student_profiles p on p.user_id = u.id
         where l.parent_id = $1 and l.student_id = $2",
    )
    .bind(user.id)
    .bind(student_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(
        parent_id = user.id,
        student_id,
        "parent linked to a student"
    );
    Ok((
        StatusCode::CREATED,
        Json(ChildLinked {
            success: true,
            child,
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParentsList {
    pub success: bool,
    pub parents: Vec<LinkedPerson>,
}

/// Who follows this student: a student always knows which adults see their data.
/// Roles: student.
#[utoipa::path(get, path = "/api/me/parents", tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ParentsList),
        (status = 403, body = ErrorBody),
    ))]
async fn list_parents(
    user: CurrentUser,
    State(state): State<AppState>,
) -> ApiResult<Json<ParentsList>> {
    user.require(&[Role::Student])?;
    let parents = sqlx::query_as(
        "select u.id, u.email, u.first_name, u.last_name, null::text as class_level, null::text as school_name,
                l.created_at as linked_at
         from parent_links l join users u on u.id = l.parent_id
         where l.student_id = $1 order by l.created_at",
    )
    .bind(user.id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(ParentsList {
        success: true,
        parents,
    }))
}

/// Ends a parent–child link; 404 when there is none.
async fn unlink(
    state: &AppState,
    parent_id: i64,
    student_id: i64,
    by: i64,
) -> ApiResult<Json<Done>> {
    let removed = sqlx::query("delete from parent_links where parent_id = $1 and student_id = $2")
        .bind(parent_id)
        .bind(student_id)
        .execute(&state.pool)
        .await?;
    if removed.rows_affected() == 0 {
        return Err(ApiError::not_found("Aucun lien familial ne correspond."));
    }
    tracing::info!(parent_id, student_id, by, "parent link removed");
    Ok(Json(Done {
        success: true,
        message: "Le lien familial est supprimé.".into(),
    }))
}

/// Stop following a child. Roles: parent.
#[utoipa::path(delete, path = "/api/me/children/{studentId}", tag = "me",
    params(("studentId" = i64, Path, description = "The child's user id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Done),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn unlink_child(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(student_id): Path<i64>,
) -> ApiResult<Json<Done>> {
    user.require(&[Role::Parent])?;
    unlink(&state, user.id, student_id, user.id).await
}

/// Remove a parent who follows this student: a student decides which adults see their
/// data. Roles: student.
#[utoipa::path(delete, path = "/api/me/parents/{parentId}", tag = "me",
    params(("parentId" = i64, Path, description = "The parent's user id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Done),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn unlink_parent(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(parent_id): Path<i64>,
) -> ApiResult<Json<Done>> {
    user.require(&[Role::Student])?;
    unlink(&state, parent_id, user.id, user.id).await
}

/// Remove a parent–child link (a family that asks the school). Roles: admin.
#[utoipa::path(delete, path = "/api/users/{studentId}/parents/{parentId}", tag = "users",
    params(("studentId" = i64, Path, description = "The student's user id"),
           ("parentId" = i64, Path, description = "The parent's user id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Done),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn admin_unlink(
    user: CurrentUser,
    State(state): State<AppState>,
    Path((student_id, parent_id)): Path<(i64, i64)>,
) -> ApiResult<Json<Done>> {
    user.require(&[Role::Admin])?;
    unlink(&state, parent_id, student_id, user.id).await
}
