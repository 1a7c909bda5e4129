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

/// Students of a class: the teacher's own class (or any, for an admin).
pub async fn ensure_class_owner(
    executor: impl PgExecutor<'_>,
    user: &CurrentUser,
    class_id: i64,
) -> ApiResult<()> {
    user.require(&[Role::Teacher, Role::Admin])?;
    let owner: Option<i64> = sqlx::query_scalar("select teacher_id from classes where id = $1")
        .bind(class_id)
        .fetch_optional(executor)
        .await?;
    match owner {
        Some(owner) if owner == user.id || user.role == Role::Admin => Ok(()),
        Some(_) => Err(ApiError::forbidden()),
        None => Err(ApiError::not_found("Classe introuvable.")),
    }
}
