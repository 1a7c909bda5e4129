//! Who may see whom: the relations behind the role rules of the learning domain. A
//! parent sees their linked children; a teacher the students of their classes; a student
//! themself; an admin everyone. Plain answers here; `nexus_web::access` turns them into
//! the HTTP answers (403, 404, 409) the services give.

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

/// May this user read the learning data (progress, results) of `student_id`? False too
/// when that account is not a student's, or does not exist.
pub async fn may_view_student(
    pool: &sqlx::PgPool,
    role: Role,
    user_id: i64,
    student_id: i64,
) -> sqlx::Result<bool> {
    let allowed = match role {
        Role::Admin => true,
        Role::Student => user_id == student_id,
        Role::Parent => is_parent_of(pool, user_id, student_id).await?,
        Role::Teacher => teaches(pool, user_id, student_id).await?,
    };
    let is_student: bool =
        sqlx::query_scalar("select exists(select 1 from users where id = $1 and role = 'student')")
            .bind(student_id)
            .fetch_one(pool)
            .await?;
    Ok(allowed && is_student)
}

/// A class as its teacher (or an admin) holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassOwnership {
    /// Theirs (or any, for an admin); an archived class is read-only.
    Owned {
        archived: bool,
    },
    /// Another teacher's.
    Other,
    Missing,
}

/// Whether the class is this teacher's (any class is an admin's).
pub async fn class_ownership(
    executor: impl PgExecutor<'_>,
    role: Role,
    user_id: i64,
    class_id: i64,
) -> sqlx::Result<ClassOwnership> {
    let class: Option<(i64, bool)> =
        sqlx::query_as("select teacher_id, archived_at is not null from classes where id = $1")
            .bind(class_id)
            .fetch_optional(executor)
            .await?;
    Ok(match class {
        Some((owner, _)) if owner != user_id && role != Role::Admin => ClassOwnership::Other,
        Some((_, archived)) => ClassOwnership::Owned { archived },
        None => ClassOwnership::Missing,
    })
}

/// May this user see the class (its name, its courses)? Its teacher and admins, its
/// students, their parents. `None` when the class does not exist.
pub async fn sees_class(
    executor: impl PgExecutor<'_>,
    role: Role,
    user_id: i64,
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
    .bind(user_id)
    .bind(role.as_str())
    .fetch_optional(executor)
    .await
}
