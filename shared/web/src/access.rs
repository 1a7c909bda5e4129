//! Who may see whom: the relations behind the role rules of the learning domain.
//! A parent sees their linked children; a teacher the students of their classes; a
//! student themself; an admin everyone.

use crate::{ApiError, auth::CurrentUser, error::ApiResult};
use nexus_auth::Role;
use sqlx::PgExecutor;

pub async fn is_parent_of(
    executor: impl PgExecutor<'_>,
    parent_id: i64,
    student_id: i64,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists(select 1 from parent_links where parent_id = $1 and student_id = $2)",
    )
    .bind(parent_id)
    .bind(student_id)
    .fetch_one(executor)
    .await
}

pub async fn teaches(
    executor: impl PgExecutor<'_>,
    teacher_id: i64,
    student_id: i64,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists(select 1 from class_members m join classes c on c.id = m.class_id
                       where c.teacher_id = $1 and m.student_id = $2)",
    )
    .bind(teacher_id)
    .bind(student_id)
    .fetch_one(executor)
    .await
}

/// May `user` read this student's learning data (progress, results)? 404 when the
/// student does not exist or is not theirs to see: the answer does not tell which.
pub async fn ensure_can_view_student(
    pool: &sqlx::PgPool,
    user: &CurrentUser,
    student_id: i64,
) -> ApiResult<()> {
    let allowed = match user.role {
        Role::Admin => true,
        Role::Student => user.id == student_id,
        Role::Parent => is_parent_of(pool, user.id, student_id).await?,
        Role::Teacher => teaches(pool, user.id, student_id).await?,
    };
    let is_student: bool =
        sqlx::query_scalar("select exists(select 1 from users where id = $1 and role = 'student')")
            .bind(student_id)
            .fetch_one(pool)
            .await?;
    if allowed && is_student {
        Ok(())
    } else {
        Err(ApiError::not_found("Élève introuvable."))
    }
}

/// The class, if `user` teaches it (or is an admin): whether it is archived. 403 for
/// another teacher's class, 404 when there is none.
async fn owned_class(
    executor: impl PgExecutor<'_>,
    user: &CurrentUser,
    class_id: i64,
) -> ApiResult<bool> {
    user.require(&[Role::Teacher, Role::Admin])?;
    let class: Option<(i64, bool)> =
        sqlx::query_as("select teacher_id, archived_at is not null from classes where id = $1")
            .bind(class_id)
            .fetch_optional(executor)
            .await?;
    match class {
        Some((owner, _)) if owner != user.id && user.role != Role::Admin => {
            Err(ApiError::forbidden())
        }
        Some((_, archived)) => Ok(archived),
        None => Err(ApiError::not_found("Classe introuvable.")),
    }
}

/// Students of a class: the teacher's own class (or any, for an admin).
pub async fn ensure_class_owner(
    executor: impl PgExecutor<'_>,
    user: &CurrentUser,
    class_id: i64,
) -> ApiResult<()> {
    owned_class(executor, user, class_id).await.map(drop)
}

/// Like `ensure_class_owner`, for changes: an archived class is read-only (no new
/// members, courses or assessments) until its teacher restores it.
pub async fn ensure_class_writable(
    executor: impl PgExecutor<'_>,
    user: &CurrentUser,
    class_id: i64,
) -> ApiResult<()> {
    if owned_class(executor, user, class_id).await? {
        Err(class_archived())
    } else {
        Ok(())
    }
}

pub fn class_archived() -> ApiError {
    ApiError::conflict(
        "class_archived",
        "Cette classe est archivée : restaurez-la pour la modifier.",
    )
}

/// May `user` see this class (its name, its courses)? Its teacher and admins, its
/// students, their parents. `None` when the class does not exist.
pub async fn sees_class(
    executor: impl PgExecutor<'_>,
    user: &CurrentUser,
    class_id: i64,
) -> sqlx::Result<Option<bool>> {
    sqlx::query_scalar(
        "select case $3
            when 'admin' then true
            when 'teacher' then c.teacher_id = $2
            when 'student' then exists(select 1 from class_members m where m.class_id = c.id and m.student_id = $2)
            else exists(select 1 from class_members m join parent_links l on l.student_id = m.student_id
                        where m.class_id = c.id and l.parent_id = $2)
         end
         from classes c where c.id = $1",
    )
    .bind(class_id)
    .bind(user.id)
    .bind(user.role.as_str())
    .fetch_optional(executor)
    .await
}
