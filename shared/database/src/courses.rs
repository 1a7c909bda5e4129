//! Which courses a user may see: the one rule, used wherever a course is listed, read or
//! named — the API's catalogue and detail, an assessment's course, the hub's course
//! channels.

use nexus_auth::Role;
use sqlx::{Postgres, QueryBuilder};

/// Appends the condition under which a user sees a course of `courses c`: a published
/// one; a teacher also their own drafts; an admin every course. It is written per role
/// rather than as one generic `$role = 'admin' or …`, so that the planner matches a
/// student's plain `c.is_published` to the catalogue's partial indexes.
pub fn push_visible(query: &mut QueryBuilder<Postgres>, role: Role, user_id: i64) {
    match role {
        Role::Admin => query.push("true"),
        Role::Teacher => query
            .push("(c.is_published or c.created_by = ")
            .push_bind(user_id)
            .push(")"),
        Role::Student | Role::Parent => query.push("c.is_published"),
    };
}

/// Whether the user sees the course `id`; false when there is none.
pub async fn sees_course(
    pool: &sqlx::PgPool,
    role: Role,
    user_id: i64,
    id: i64,
) -> sqlx::Result<bool> {
    let mut query = QueryBuilder::new("select exists(select 1 from courses c where c.id = ");
    query.push_bind(id).push(" and ");
    push_visible(&mut query, role, user_id);
    query.push(")");
    query.build_query_scalar().fetch_one(pool).await
}
