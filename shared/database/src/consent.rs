//! Parental consent (issue #17): a student under 15 uses ARIA and chat only once a
//! linked parent has consented. One query, shared by the API, the hub (through
//! `nexus-chat`) and ARIA, since all three let a student talk.

use sqlx::PgExecutor;

/// The age of digital consent in France (CNIL).
pub const DIGITAL_CONSENT_AGE: i32 = 15;

/// Whether `user_id` is a student under 15 without the consent of a parent still linked
/// to them. A student without a birth date (accounts from before birth dates were asked,
/// or created by staff) is not gated: see docs/PRIVACY.md.
pub async fn consent_missing(executor: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (
             select 1 from users u
             where u.id = $1 and u.role = 'student' and u.date_of_birth is not null
               and u.date_of_birth > current_date - make_interval(years => $2)
               and not exists (
                   select 1 from parental_consents c
                   join parent_links l on l.parent_id = c.parent_id and l.student_id = c.student_id
                   where c.student_id = u.id))",
    )
    .bind(user_id)
    .bind(DIGITAL_CONSENT_AGE)
    .fetch_one(executor)
    .await
}

/// The French message shown when consent is missing.
pub const CONSENT_REQUIRED_MESSAGE: &str = "Tu as moins de 15 ans : un parent lié à ton compte doit donner son accord (depuis son espace parent) avant que tu utilises ARIA ou la messagerie.";
