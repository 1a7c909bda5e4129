//! The HTTP answers to "who may see whom": the relations themselves are the domain's
//! (`nexus_database::access`); here they become 403, 404 and 409 in French.

use nexus_auth::Role;
use nexus_database::access::{self, ClassOwnership};
use sqlx::PgExecutor;

pub use nexus_database::access::{is_parent_of, teaches};

use crate::{ApiError, auth::CurrentUser, error::ApiResult};

/// May `user` read this student's learning data (progress, results)? 404 when the
/// student does not exist or is not theirs to see: the answer does not tell which.
pub async fn ensure_can_view_student(
    pool: &sqlx::PgPool,
    user: &CurrentUser,
    student_id: i64,
) -> ApiResult<()> {
    if access::may_view_student(pool, user.role, user.id, student_id).await? {
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
    match access::class_ownership(executor, user.role, user.id, class_id).await? {
        ClassOwnership::Owned { archived } => Ok(archived),
        ClassOwnership::Other => Err(ApiError::forbidden()),
        ClassOwnership::Missing => Err(ApiError::not_found("Classe introuvable.")),
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

/// May `user` see this class (its name, its courses)? `None` when the class does not
/// exist.
pub async fn sees_class(
    executor: impl PgExecutor<'_>,
    user: &CurrentUser,
    class_id: i64,
) -> sqlx::Result<Option<bool>> {
    access::sees_class(executor, user.role, user.id, class_id).await
}
