//! Erasure of the accounts whose grace period is over (docs/PRIVACY.md "Deletion and
//! erasure"). `erase_due` takes `now` so that tests control time; the worker calls it
//! every `PRIVACY_PURGE_INTERVAL_SECONDS`.
//!
//! What is kept: a student's grades, for the class's statistics, moved to a new
//! anonymous account (`users.anonymised_at`) that takes the student's place in their
//! classes, with the answers and the teacher's comments removed. Its id is new and
//! recorded nowhere, so nothing links it back to the erased account or the audit log.
//! A teacher's classes move to such an account too (a class needs a teacher).
//! Everything else the account holds is deleted with the user's row (foreign keys
//! cascade); messages sent to others are blanked and shown as deleted.

use chrono::{DateTime, Utc};
use nexus_auth::Role;
use nexus_database::levels::ClassLevel;
use serde_json::json;
use sqlx::{PgConnection, PgPool};

use super::audit;

/// What one erasure did (for the log and the tests).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    pub accounts: u64,
    pub grades_kept: u64,
}

/// Erases every account whose deletion was due at `now`, one transaction each; replicas
/// share the work (`skip locked`).
pub async fn erase_due(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<Erased> {
    let mut total = Erased::default();
    loop {
        // Hashed outside the transaction: an unusable password for a possible anonymous
        // account (a random secret nobody knows, in the format sign-in can read).
        let unusable = nexus_auth::password::hash(nexus_auth::tokens::generate()).await?;
        let mut tx = pool.begin().await?;
        let due: Option<(i64, Role)> = sqlx::query_as(
            "select d.user_id, d.requested_by_role from deletion_requests d
             where d.erase_after <= $1 order by d.erase_after limit 1 for update skip locked",
        )
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((user_id, requested_by_role)) = due else {
            break;
        };
        let grades_kept = erase_one(&mut tx, user_id, &unusable).await?;
        audit::record(
            &mut *tx,
            None,
            "account_erased",
            Some(user_id),
            json!({"requestedByRole": requested_by_role, "gradesKept": grades_kept}),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(user_id, grades_kept, "account erased");
        total.accounts += 1;
        total.grades_kept += grades_kept;
    }
    Ok(total)
}

async fn erase_one(conn: &mut PgConnection, user_id: i64, unusable: &str) -> anyhow::Result<u64> {
    let (role, email, class_level): (Role, String, Option<ClassLevel>) = sqlx::query_as(
        "select u.role, u.email, p.class_level from users u
         left join student_profiles p on p.user_id = u.id where u.id = $1 for update of u",
    )
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    let keeps: bool = sqlx::query_scalar(
        "select exists(select 1 from assessment_results where student_id = $1)
             or exists(select 1 from class_members where student_id = $1)
             or exists(select 1 from classes where teacher_id = $1)",
    )
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    let mut grades_kept = 0;
    if keeps {
        let (first, last) = match role {
            Role::Student => ("Élève", "anonyme"),
            Role::Teacher => ("Enseignant", "anonyme"),
            Role::Parent | Role::Admin => ("Compte", "anonyme"),
        };
        let placeholder: i64 = sqlx::query_scalar(
            "insert into users (email, password_hash, first_name, last_name, role, is_active, anonymised_at)
             values ($1, $2, $3, $4, $5, false, now()) returning id",
        )
        .bind(format!(
            "anonyme-{}@supprime.invalid",
            uuid::Uuid::new_v4().simple()
        ))
        .bind(unusable)
        .bind(first)
        .bind(last)
        .bind(role)
        .fetch_one(&mut *conn)
        .await?;
        if let Some(level) = class_level {
            sqlx::query("insert into student_profiles (user_id, class_level) values ($1, $2)")
                .bind(placeholder)
                .bind(level)
                .execute(&mut *conn)
                .await?;
        }
        sqlx::query("update class_members set student_id = $2 where student_id = $1")
            .bind(user_id)
            .bind(placeholder)
            .execute(&mut *conn)
            .await?;
        sqlx::query("update classes set teacher_id = $2 where teacher_id = $1")
            .bind(user_id)
            .bind(placeholder)
            .execute(&mut *conn)
            .await?;
        // The score, its status and per-question points stay; what the student wrote
        // and what the teacher wrote about it go.
        grades_kept = sqlx::query(
            "update assessment_results set student_id = $2, answers = '{}', feedback = null,
                    breakdown = coalesce((select jsonb_object_agg(k, case when jsonb_typeof(v) = 'object'
                                                  then v - 'feedback' else v end)
                                          from jsonb_each(breakdown) as e(k, v)), '{}')
             where student_id = $1",
        )
        .bind(user_id)
        .bind(placeholder)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    // Messages sent to others: the text goes, the conversation shows « message supprimé »
    // where it was (the chat shows deleted messages that way).
    sqlx::query(
        "update messages set body = 'message supprimé', deleted_at = coalesce(deleted_at, now())
         where sender_id = $1",
    )
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    // Data keyed by the id or the address without a foreign key.
    sqlx::query("delete from aria_budgets where scope = 'student' and scope_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("delete from mail_queue where lower(to_address) = lower($1)")
        .bind(&email)
        .execute(&mut *conn)
        .await?;
    sqlx::query("delete from class_invitations where lower(email) = lower($1)")
        .bind(&email)
        .execute(&mut *conn)
        .await?;
    // The rest cascades from the user's row: profile, family links and consents, tokens,
    // progress, ARIA sessions and usage, notifications, preferences, conversations'
    // memberships, the deletion request itself.
    sqlx::query("delete from users where id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(grades_kept)
}
