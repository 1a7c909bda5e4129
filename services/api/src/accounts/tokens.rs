//! Refresh and reset tokens in the database (hashes only).

use std::time::Duration;

use chrono::{DateTime, Utc};
use nexus_auth::tokens;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

/// Stores a new refresh token of `family` and returns the token itself.
pub async fn issue_refresh(
    executor: impl PgExecutor<'_>,
    user_id: i64,
    family: Uuid,
    ttl: Duration,
) -> sqlx::Result<String> {
    let token = tokens::generate();
    sqlx::query(
        "insert into auth_tokens (user_id, token_hash, token_type, family_id, expires_at)
         values ($1, $2, 'refresh', $3, now() + make_interval(secs => $4))",
    )
    .bind(user_id)
    .bind(tokens::hash(&token))
    .bind(family)
    .bind(ttl.as_secs_f64())
    .execute(executor)
    .await?;
    Ok(token)
}

#[derive(sqlx::FromRow)]
pub struct StoredToken {
    pub id: i64,
    pub user_id: i64,
    pub family_id: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl StoredToken {
    pub fn is_live(&self) -> bool {
        self.used_at.is_none() && self.revoked_at.is_none() && self.expires_at > Utc::now()
    }
}

/// Finds a token by its plain value and locks its row for the transaction.
pub async fn find_for_update(
    conn: &mut PgConnection,
    token: &str,
    kind: &str,
) -> sqlx::Result<Option<StoredToken>> {
    sqlx::query_as(
        "select id, user_id, family_id, expires_at, used_at, revoked_at from auth_tokens
         where token_hash = $1 and token_type = $2 for update",
    )
    .bind(tokens::hash(token))
    .bind(kind)
    .fetch_optional(conn)
    .await
}

pub async fn mark_used(executor: impl PgExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query("update auth_tokens set used_at = now() where id = $1")
        .bind(id)
        .execute(executor)
        .await
        .map(drop)
}

pub async fn revoke_family(executor: impl PgExecutor<'_>, family: Uuid) -> sqlx::Result<u64> {
    sqlx::query(
        "update auth_tokens set revoked_at = now() where family_id = $1 and revoked_at is null",
    )
    .bind(family)
    .execute(executor)
    .await
    .map(|r| r.rows_affected())
}

/// Ends every session of a user (password reset, deactivation).
pub async fn revoke_all_refresh(executor: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<u64> {
    sqlx::query(
        "update auth_tokens set revoked_at = now()
         where user_id = $1 and token_type = 'refresh' and revoked_at is null",
    )
    .bind(user_id)
    .execute(executor)
    .await
    .map(|r| r.rows_affected())
}

/// A new single-use reset token; earlier unused ones of the user stop working. Requests
/// that overlap are serialised on the user's row, so only one token is ever live.
pub async fn issue_reset(
    conn: &mut PgConnection,
    user_id: i64,
    ttl: Duration,
) -> sqlx::Result<String> {
    issue_single_use(conn, user_id, "reset", ttl).await
}

/// A new single-use token of `kind` (`reset`, `verify_email`); earlier unused ones of the
/// same kind stop working.
pub async fn issue_single_use(
    conn: &mut PgConnection,
    user_id: i64,
    kind: &str,
    ttl: Duration,
) -> sqlx::Result<String> {
    sqlx::query("select 1 from users where id = $1 for update")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "update auth_tokens set revoked_at = now()
         where user_id = $1 and token_type = $2 and used_at is null and revoked_at is null",
    )
    .bind(user_id)
    .bind(kind)
    .execute(&mut *conn)
    .await?;
    let token = tokens::generate();
    sqlx::query(
        "insert into auth_tokens (user_id, token_hash, token_type, expires_at)
         values ($1, $2, $4, now() + make_interval(secs => $3))",
    )
    .bind(user_id)
    .bind(tokens::hash(&token))
    .bind(ttl.as_secs_f64())
    .bind(kind)
    .execute(conn)
    .await?;
    Ok(token)
}
