//! Classes: how a teacher gets students. A teacher creates a class with a join code;
//! students join with it, or accept the teacher's invitation (a teacher never enrols a
//! child without the child's side agreeing); the teacher sees the roster, removes
//! students and archives the class at the end of the year (read-only from then on).

use axum::{extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use nexus_auth::{Role, tokens};
use nexus_database::levels::ClassLevel;
use nexus_web::{
    ApiError, ErrorBody, Json, Path, Query,
    access::{class_archived, sees_class},
    auth::CurrentUser,
    error::{ApiResult, unique_violation},
    net::ClientIp,
    pagination::{PageQuery, Pagination},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    access::{ensure_class_owner, ensure_class_writable},
    auth::Done,
    code_guard,
    notifications::{NewNotification, notify},
    state::AppState,
    validate::{Validator, has_control},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_classes, create_class))
        .routes(routes!(get_class, update_class))
        .routes(routes!(join_class))
        .routes(routes!(invite_student))
        .routes(routes!(cancel_invitation))
        .routes(routes!(remove_student))
        .routes(routes!(list_my_invitations))
        .routes(routes!(accept_invitation))
        .routes(routes!(decline_invitation))
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClassView {
    pub id: i64,
    pub name: String,
    pub level: ClassLevel,
    pub school_year: String,
    pub teacher_id: i64,
    pub teacher_name: String,
    /// Shown to the class's teacher and admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_code: Option<String>,
    /// Whether the join code is accepted (teacher and admins only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_code_enabled: Option<bool>,
    /// When the join code stops working, if ever (teacher and admins only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_code_expires_at: Option<DateTime<Utc>>,
    pub student_count: i64,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
}

const CLASS_VIEW: &str = "select c.id, c.name, c.level, c.school_year, c.teacher_id,
        t.first_name || ' ' || t.last_name as teacher_name,
        case when $1 then c.join_code end as join_code,
        case when $1 then c.join_code_enabled end as join_code_enabled,
        case when $1 then c.join_code_expires_at end as join_code_expires_at,
        (select count(*) from class_members m where m.class_id = c.id) as student_count,
        c.archived_at is not null as archived, c.created_at
    from classes c join users t on t.id = c.teacher_id";

#[derive(Debug, Serialize, ToSchema)]
pub struct ClassList {
    pub success: bool,
    pub classes: Vec<ClassView>,
    pub pagination: Pagination,
}

/// The caller's classes: a teacher's own, a student's joined, a parent's children's,
/// all for an admin. Roles: any signed-in user.
#[utoipa::path(get, path = "/api/classes", tag = "classes",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ClassList),
        (status = 403, body = ErrorBody),
    ))]
async fn list_classes(
    user: CurrentUser,
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<ClassList>> {
    let staff = matches!(user.role, Role::Teacher | Role::Admin);
    let filter = match user.role {
        Role::Admin => "true",
        Role::Teacher => "c.teacher_id = $2",
        Role::Student => {
            "exists(select 1 from class_members m where m.class_id = c.id and m.student_id = $2)"
        }
        Role::Parent => {
            "exists(select 1 from class_members m join parent_links l on l.student_id = m.student_id
                    where m.class_id = c.id and l.parent_id = $2)"
        }
    };
    let classes = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{CLASS_VIEW} where {filter} order by c.archived_at is not null, c.school_year desc, c.name"
    )))
    .bind(staff)
    .bind(user.id)
    .fetch_all(&state.pool)
    .await?;
    let (classes, pagination) = page.slice(classes);
    Ok(Json(ClassList {
        success: true,
        classes,
        pagination,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewClass {
    pub name: String,
    #[schema(value_type = ClassLevel)]
    pub level: String,
    /// e.g. `2026-2027`.
    pub school_year: String,
    /// Admins only: the teacher who owns the class (default: the caller).
    pub teacher_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClassResponse {
    pub success: bool,
    pub class: ClassView,
}

fn validate_class(name: &str, level: &str, year: &str) -> ApiResult<()> {
    Validator::new()
        .check(
            !name.trim().is_empty() && name.trim().chars().count() <= 100 && !has_control(name),
            "name",
            "Doit contenir entre 1 et 100 caractères.",
        )
        .check(
            ClassLevel::parse(level).is_some(),
            "level",
            "Niveau attendu : premiere ou terminale.",
        )
        .check(
            crate::me::is_school_year(year),
            "schoolYear",
            "Année scolaire attendue sous la forme 2026-2027.",
        )
        .finish()
}

async fn class_view(pool: &sqlx::PgPool, id: i64, staff: bool) -> ApiResult<ClassView> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{CLASS_VIEW} where c.id = $2")))
        .bind(staff)
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| ApiError::not_found("Classe introuvable."))
}

/// Create a class with a fresh join code. Roles: teacher, admin.
#[utoipa::path(post, path = "/api/classes", tag = "classes",
    request_body = NewClass,
    security(("bearer" = [])),
    responses(
        (status = 201, body = ClassResponse),
        (status = 403, body = ErrorBody),
    ))]
async fn create_class(
    user: CurrentUser,
    State(state): State<AppState>,
    Json(body): Json<NewClass>,
) -> ApiResult<(StatusCode, Json<ClassResponse>)> {
    user.require(&[Role::Teacher, Role::Admin])?;
    validate_class(&body.name, &body.level, &body.school_year)?;
    let teacher_id = match (user.role, body.teacher_id) {
        (Role::Admin, Some(id)) => {
            let is_teacher: bool = sqlx::query_scalar(
                "select exists(select 1 from users where id = $1 and role = 'teacher')",
            )
            .bind(id)
            .fetch_one(&state.pool)
            .await?;
            if !is_teacher {
                return Err(ApiError::invalid_fields(vec![(
                    "teacherId",
                    "Enseignant introuvable.".into(),
                )]));
            }
            id
        }
        (Role::Admin, None) => user.id,
        (_, Some(_)) => {
            return Err(ApiError::invalid_fields(vec![(
                "teacherId",
                "Réservé aux administrateurs.".into(),
            )]));
        }
        (_, None) => user.id,
    };
    // A join-code collision is astronomically rare; retry once rather than fail.
    let mut attempt = 0;
    let id: i64 = loop {
        let inserted = sqlx::query_scalar(
            "insert into classes (teacher_id, name, level, school_year, join_code) values ($1, $2, $3, $4, $5) returning id",
        )
        .bind(teacher_id)
        .bind(body.name.trim())
        .bind(&body.level)
        .bind(&body.school_year)
        .bind(tokens::generate_pairing_code())
        .fetch_one(&state.pool)
        .await;
        match inserted {
            Err(e) if attempt == 0 && unique_violation(&e) == Some("classes_join_code_key") => {
                attempt += 1
            }
            other => break other?,
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(ClassResponse {
            success: true,
            class: class_view(&state.pool, id, true).await?,
        }),
    ))
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RosterEntry {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClassDetail {
    pub success: bool,
    pub class: ClassView,
    /// The roster, for the class's teacher and admins; absent for students.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub students: Option<Vec<RosterEntry>>,
    /// Invitations not yet accepted, for the class's teacher and admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitations: Option<Vec<PendingInvitation>>,
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingInvitation {
    pub id: i64,
    /// The address the teacher typed.
    pub email: String,
    pub created_at: DateTime<Utc>,
}

/// A class; with its roster for its teacher and admins. Students see classes they are
/// in, parents their children's. Roles: any signed-in user with access to the class.
#[utoipa::path(get, path = "/api/classes/{id}", tag = "classes",
    params(("id" = i64, Path, description = "Class id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ClassDetail),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn get_class(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<ClassDetail>> {
    let owner: Option<i64> = sqlx::query_scalar("select teacher_id from classes where id = $1")
        .bind(id)
        .fetch_optional(&state.pool)
        .await?;
    let owner = owner.ok_or_else(|| ApiError::not_found("Classe introuvable."))?;
    let manages = user.role == Role::Admin || owner == user.id;
    if !sees_class(&state.pool, &user, id).await?.unwrap_or(false) {
        return Err(ApiError::not_found("Classe introuvable."));
    }
    let (students, invitations) = if manages {
        let students = sqlx::query_as(
            "select u.id, u.first_name, u.last_name, u.email, m.joined_at from class_members m
             join users u on u.id = m.student_id where m.class_id = $1 order by u.last_name, u.first_name",
        )
        .bind(id)
        .fetch_all(&state.pool)
        .await?;
        let invitations = sqlx::query_as(
            "select id, email, created_at from class_invitations where class_id = $1 order by created_at, id",
        )
        .bind(id)
        .fetch_all(&state.pool)
        .await?;
        (Some(students), Some(invitations))
    } else {
        (None, None)
    };
    Ok(Json(ClassDetail {
        success: true,
        class: class_view(&state.pool, id, manages).await?,
        students,
        invitations,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClassUpdate {
    pub name: Option<String>,
    #[schema(value_type = Option<ClassLevel>)]
    pub level: Option<String>,
    pub school_year: Option<String>,
    /// `true` archives the class (read-only, no new members), `false` restores it.
    pub archived: Option<bool>,
    /// `true` replaces the join code (the old one stops working).
    pub regenerate_join_code: Option<bool>,
    /// `false` switches the join code off (students can then only be invited).
    pub join_code_enabled: Option<bool>,
    /// When the join code stops working; `null` removes the expiry.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub join_code_expires_at: Option<Option<DateTime<Utc>>>,
}

/// Tells a field given as `null` (`Some(None)`) from a field left out (`None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Rename, archive or restore a class; renew, switch off or give an expiry to its join
/// code. An archived class only accepts being restored. Roles: the class's teacher, admin.
#[utoipa::path(patch, path = "/api/classes/{id}", tag = "classes",
    params(("id" = i64, Path, description = "Class id")),
    request_body = ClassUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ClassResponse),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn update_class(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<ClassUpdate>,
) -> ApiResult<Json<ClassResponse>> {
    ensure_class_owner(&state.pool, &user, id).await?;
    // Read, decide and write under the row's lock: two changes at once (a rename and
    // an archiving) both apply instead of the second undoing the first.
    let mut tx = state.pool.begin().await?;
    let (name, level, year, archived): (String, String, String, bool) = sqlx::query_as(
        "select name, level, school_year, archived_at is not null from classes where id = $1 for update",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    let restores = body.archived == Some(false);
    let changes_more = body.name.is_some()
        || body.level.is_some()
        || body.school_year.is_some()
        || body.regenerate_join_code.is_some()
        || body.join_code_enabled.is_some()
        || body.join_code_expires_at.is_some();
    if archived && !restores && changes_more {
        return Err(class_archived());
    }
    let name = body.name.as_deref().map_or(name, |n| n.trim().to_owned());
    let level = body.level.unwrap_or(level);
    let year = body.school_year.unwrap_or(year);
    validate_class(&name, &level, &year)?;
    let code = body
        .regenerate_join_code
        .unwrap_or(false)
        .then(tokens::generate_pairing_code);
    sqlx::query(
        "update classes set name = $2, level = $3, school_year = $4,
            archived_at = case when $5::bool is null then archived_at
                               when $5 then coalesce(archived_at, now()) else null end,
            join_code = coalesce($6, join_code),
            join_code_enabled = coalesce($7, join_code_enabled),
            join_code_expires_at = case when $8 then $9 when $6::text is not null then null
                                        else join_code_expires_at end
         where id = $1",
    )
    .bind(id)
    .bind(&name)
    .bind(&level)
    .bind(&year)
    .bind(body.archived)
    .bind(code)
    .bind(body.join_code_enabled)
    .bind(body.join_code_expires_at.is_some())
    .bind(body.join_code_expires_at.flatten())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(ClassResponse {
        success: true,
        class: class_view(&state.pool, id, true).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    /// The class's join code, as the teacher shows it.
    pub code: String,
}

/// Join a class with its code. Ten wrong codes per account or address in 15 minutes,
/// then 429 until the window ends. Roles: student.
#[utoipa::path(post, path = "/api/classes/join", tag = "classes",
    request_body = JoinRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ClassResponse),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
async fn join_class(
    user: CurrentUser,
    ClientIp(ip): ClientIp,
    State(state): State<AppState>,
    Json(body): Json<JoinRequest>,
) -> ApiResult<Json<ClassResponse>> {
    user.require(&[Role::Student])?;
    code_guard::ensure_may_try(&state, user.id, ip).await?;
    let code = tokens::normalize_pairing_code(&body.code);
    // A switched-off or expired code is answered like a wrong one.
    let class: Option<i64> = sqlx::query_scalar(
        "select id from classes where join_code = $1 and join_code_enabled
            and (join_code_expires_at is null or join_code_expires_at > now())",
    )
    .bind(&code)
    .fetch_optional(&state.pool)
    .await?;
    let Some(id) = class else {
        code_guard::record_wrong_code(&state, user.id, ip).await;
        return Err(ApiError::not_found(
            "Aucune classe ne correspond à ce code.",
        ));
    };
    let mut tx = state.pool.begin().await?;
    add_member(&mut tx, id, user.id).await?;
    tx.commit().await?;
    Ok(Json(ClassResponse {
        success: true,
        class: class_view(&state.pool, id, false).await?,
    }))
}

/// Adds a student; archived classes take no new members.
async fn add_member(
    conn: &mut sqlx::PgConnection,
    class_id: i64,
    student_id: i64,
) -> ApiResult<()> {
    let archived: bool =
        sqlx::query_scalar("select archived_at is not null from classes where id = $1 for share")
            .bind(class_id)
            .fetch_one(&mut *conn)
            .await?;
    if archived {
        return Err(class_archived());
    }
    let inserted = sqlx::query(
        "insert into class_members (class_id, student_id) values ($1, $2) on conflict do nothing",
    )
    .bind(class_id)
    .bind(student_id)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(ApiError::conflict(
            "already_member",
            "Cet élève fait déjà partie de la classe.",
        ));
    }
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddStudent {
    /// The student's account email.
    pub email: String,
}

/// Invite a student by email. Nothing changes for the teacher until the student accepts:
/// the answer is the same whether or not a student account has this address (and
/// whether or not they are already in the class). A student with that address is
/// notified and sees the invitation under `/api/me/class-invitations`. Roles: the
/// class's teacher, admin.
#[utoipa::path(post, path = "/api/classes/{id}/students", tag = "classes",
    params(("id" = i64, Path, description = "Class id")),
    request_body = AddStudent,
    security(("bearer" = [])),
    responses(
        (status = 202, body = Done),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
async fn invite_student(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<AddStudent>,
) -> ApiResult<(StatusCode, Json<Done>)> {
    ensure_class_writable(&state.pool, &user, id).await?;
    let email = crate::validate::normalize_email(&body.email);
    Validator::new()
        .check(
            crate::validate::is_email(&email),
            "email",
            "Adresse e-mail invalide.",
        )
        .finish()?;
    let mut tx = state.pool.begin().await?;
    let created: Option<i64> = sqlx::query_scalar(
        "insert into class_invitations (class_id, email, invited_by) values ($1, $2, $3)
         on conflict (class_id, email) do nothing returning id",
    )
    .bind(id)
    .bind(&email)
    .bind(user.id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(invitation_id) = created {
        let invited: Vec<i64> = sqlx::query_scalar(
            "select u.id from users u join classes c on c.id = $2
             where lower(u.email) = $1 and u.role = 'student' and u.is_active
               and not exists(select 1 from class_members m where m.class_id = c.id and m.student_id = u.id)",
        )
        .bind(&email)
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let class_name: String = sqlx::query_scalar("select name from classes where id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        notify(
            &mut tx,
            &invited,
            &NewNotification {
                kind: "class_invitation",
                title: format!("Invitation à rejoindre la classe {class_name}"),
                body: "Acceptez-la ou refusez-la depuis votre espace.".into(),
                data: serde_json::json!({ "invitationId": invitation_id, "classId": id }),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Done {
            success: true,
            message: "Invitation envoyée. L'élève rejoindra la classe quand il l'aura acceptée."
                .into(),
        }),
    ))
}

/// Withdraw an invitation not yet accepted. Roles: the class's teacher, admin.
#[utoipa::path(delete, path = "/api/classes/{id}/invitations/{invitationId}", tag = "classes",
    params(("id" = i64, Path, description = "Class id"), ("invitationId" = i64, Path, description = "Invitation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Done),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn cancel_invitation(
    user: CurrentUser,
    State(state): State<AppState>,
    Path((id, invitation_id)): Path<(i64, i64)>,
) -> ApiResult<Json<Done>> {
    ensure_class_owner(&state.pool, &user, id).await?;
    let removed = sqlx::query("delete from class_invitations where id = $1 and class_id = $2")
        .bind(invitation_id)
        .bind(id)
        .execute(&state.pool)
        .await?;
    if removed.rows_affected() == 0 {
        return Err(ApiError::not_found("Invitation introuvable."));
    }
    Ok(Json(Done {
        success: true,
        message: "Invitation retirée.".into(),
    }))
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClassInvitation {
    pub id: i64,
    pub class_id: i64,
    pub class_name: String,
    pub level: ClassLevel,
    pub teacher_name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationList {
    pub success: bool,
    pub invitations: Vec<ClassInvitation>,
}

/// The invitations addressed to this student's email. Roles: student.
#[utoipa::path(get, path = "/api/me/class-invitations", tag = "classes",
    security(("bearer" = [])),
    responses(
        (status = 200, body = InvitationList),
        (status = 403, body = ErrorBody),
    ))]
async fn list_my_invitations(
    user: CurrentUser,
    State(state): State<AppState>,
) -> ApiResult<Json<InvitationList>> {
    user.require(&[Role::Student])?;
    let invitations = sqlx::query_as(
        "select i.id, c.id as class_id, c.name as class_name, c.level,
                t.first_name || ' ' || t.last_name as teacher_name, i.created_at
         from class_invitations i join classes c on c.id = i.class_id
         join users t on t.id = c.teacher_id join users me on me.id = $1
         where i.email = lower(me.email) and c.archived_at is null
           and not exists(select 1 from class_members m where m.class_id = c.id and m.student_id = me.id)
         order by i.created_at, i.id",
    )
    .bind(user.id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(InvitationList {
        success: true,
        invitations,
    }))
}

/// The invitation, if it is addressed to this student; it is used up either way.
async fn take_invitation(
    conn: &mut sqlx::PgConnection,
    user: &CurrentUser,
    invitation_id: i64,
) -> ApiResult<i64> {
    user.require(&[Role::Student])?;
    sqlx::query_scalar(
        "delete from class_invitations i using users me
         where i.id = $1 and me.id = $2 and i.email = lower(me.email)
         returning i.class_id",
    )
    .bind(invitation_id)
    .bind(user.id)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| ApiError::not_found("Invitation introuvable."))
}

/// Accept an invitation: the student joins the class. Roles: student (the invitee).
#[utoipa::path(post, path = "/api/me/class-invitations/{id}/accept", tag = "classes",
    params(("id" = i64, Path, description = "Invitation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ClassResponse),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
async fn accept_invitation(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(invitation_id): Path<i64>,
) -> ApiResult<Json<ClassResponse>> {
    let mut tx = state.pool.begin().await?;
    let class_id = take_invitation(&mut tx, &user, invitation_id).await?;
    add_member(&mut tx, class_id, user.id).await?;
    tx.commit().await?;
    Ok(Json(ClassResponse {
        success: true,
        class: class_view(&state.pool, class_id, false).await?,
    }))
}

/// Decline an invitation. Roles: student (the invitee).
#[utoipa::path(post, path = "/api/me/class-invitations/{id}/decline", tag = "classes",
    params(("id" = i64, Path, description = "Invitation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Done),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
async fn decline_invitation(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(invitation_id): Path<i64>,
) -> ApiResult<Json<Done>> {
    let mut tx = state.pool.begin().await?;
    take_invitation(&mut tx, &user, invitation_id).await?;
    tx.commit().await?;
    Ok(Json(Done {
        success: true,
        message: "Invitation refusée.".into(),
    }))
}

/// Remove a student from the class. Roles: the class's teacher, admin.
#[utoipa::path(delete, path = "/api/classes/{id}/students/{studentId}", tag = "classes",
    params(("id" = i64, Path, description = "Class id"), ("studentId" = i64, Path, description = "Student id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Done),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ))]
async fn remove_student(
    user: CurrentUser,
    State(state): State<AppState>,
    Path((id, student_id)): Path<(i64, i64)>,
) -> ApiResult<Json<Done>> {
    ensure_class_writable(&state.pool, &user, id).await?;
    let removed = sqlx::query("delete from class_members where class_id = $1 and student_id = $2")
        .bind(id)
        .bind(student_id)
        .execute(&state.pool)
        .await?;
    if removed.rows_affected() == 0 {
        return Err(ApiError::not_found(
            "Cet élève ne fait pas partie de la classe.",
        ));
    }
    Ok(Json(Done {
        success: true,
        message: "Élève retiré de la classe.".into(),
    }))
}
