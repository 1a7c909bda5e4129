//! Daily token budgets and what the model costs.
//!
//! Every answer adds its tokens and their price to the user's row of the day in
//! `aria_usage`; a class's use is the sum over its members. Before calling the model,
//! ARIA refuses (429) a user whose own budget or one of whose classes' budget is spent
//! for the day. Budgets default to the configuration and a teacher adjusts them per
//! class and per student (`aria_budgets`). Answers from the courses alone cost nothing.

use axum::{Router, extract::State, routing::get, routing::put};
use nexus_auth::Role;
use nexus_web::{
    ApiError, Json, Path,
    access::{ensure_can_view_student, ensure_class_owner},
    auth::CurrentUser,
    error::ApiResult,
};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::{AppState, metrics::metrics};

#[derive(Debug, Clone)]
pub struct BudgetSettings {
    pub student_daily_tokens: i64,
    pub class_daily_tokens: i64,
    /// Euros per million prompt tokens, and per million completion tokens.
    pub prompt_price: f64,
    pub completion_price: f64,
}

impl BudgetSettings {
    pub fn cost(&self, prompt_tokens: u64, completion_tokens: u64) -> f64 {
        (prompt_tokens as f64 * self.prompt_price
            + completion_tokens as f64 * self.completion_price)
            / 1_000_000.0
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/aria/classes/{id}/usage", get(class_usage))
        .route("/api/aria/classes/{id}/budget", put(set_class_budget))
        .route("/api/aria/students/{id}/budget", put(set_student_budget))
}

#[derive(sqlx::FromRow)]
struct Spent {
    scope: String,
    budget: i64,
    used: i64,
    /// Seconds until the budgets renew (midnight, the database's day).
    renews_in: i64,
}

/// 429 when the user's budget, or one of their classes', is spent for today.
pub async fn ensure_within(
    pool: &PgPool,
    settings: &BudgetSettings,
    user_id: i64,
) -> ApiResult<()> {
    let spent: Vec<Spent> = sqlx::query_as(
        "with renew as (select ceil(extract(epoch from (current_date + 1)::timestamptz - now()))::int8 as s)
         select 'student' as scope,
                coalesce((select daily_tokens from aria_budgets where scope = 'student' and scope_id = $1), $2) as budget,
                coalesce((select prompt_tokens + completion_tokens from aria_usage where user_id = $1 and day = current_date), 0)::int8 as used,
                renew.s as renews_in
         from renew
         union all
         select 'class', coalesce(b.daily_tokens, $3),
                coalesce((select sum(u.prompt_tokens + u.completion_tokens) from aria_usage u
                          join class_members o on o.student_id = u.user_id
                          where o.class_id = m.class_id and u.day = current_date), 0)::int8,
                renew.s
         from class_members m join classes c on c.id = m.class_id and c.archived_at is null
         left join aria_budgets b on b.scope = 'class' and b.scope_id = m.class_id, renew
         where m.student_id = $1",
    )
    .bind(user_id)
    .bind(settings.student_daily_tokens)
    .bind(settings.class_daily_tokens)
    .fetch_all(pool)
    .await?;
    let Some(spent) = spent.into_iter().find(|s| s.used >= s.budget) else {
        return Ok(());
    };
    metrics()
        .budget_refusals
        .with_label_values(&[spent.scope.as_str()])
        .inc();
    let mut error = ApiError::too_many_requests(spent.renews_in.max(1) as u64);
    error.code = "aria_budget_exhausted";
    error.message = if spent.scope == "class" {
        "Le budget quotidien d'ARIA de ta classe est épuisé : il se renouvelle demain. Ton enseignant peut l'augmenter."
    } else {
        "Tu as utilisé tout ton budget quotidien d'ARIA : il se renouvelle demain. Ton enseignant peut l'augmenter."
    }
    .into();
    Err(error)
}

/// Adds one answer's use to the user's day.
pub async fn record(
    conn: &mut sqlx::PgConnection,
    settings: &BudgetSettings,
    user_id: i64,
    prompt_tokens: u64,
    completion_tokens: u64,
) -> sqlx::Result<()> {
    let cost = settings.cost(prompt_tokens, completion_tokens);
    if cost > 0.0 {
        metrics().cost_euros.inc_by(cost);
    }
    sqlx::query(
        "insert into aria_usage (user_id, requests, prompt_tokens, completion_tokens, cost_euros)
         values ($1, 1, $2, $3, $4)
         on conflict (user_id, day) do update set
             requests = aria_usage.requests + 1,
             prompt_tokens = aria_usage.prompt_tokens + excluded.prompt_tokens,
             completion_tokens = aria_usage.completion_tokens + excluded.completion_tokens,
             cost_euros = aria_usage.cost_euros + excluded.cost_euros",
    )
    .bind(user_id)
    .bind(prompt_tokens as i64)
    .bind(completion_tokens as i64)
    .bind(cost)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SetBudget {
    daily_tokens: i64,
}

fn valid(body: &SetBudget) -> ApiResult<()> {
    if (0..=100_000_000).contains(&body.daily_tokens) {
        Ok(())
    } else {
        Err(ApiError::invalid_fields(vec![(
            "dailyTokens",
            "Entre 0 et 100 000 000 jetons par jour.".into(),
        )]))
    }
}

async fn save(pool: &PgPool, scope: &str, id: i64, tokens: i64, by: i64) -> sqlx::Result<()> {
    sqlx::query(
        "insert into aria_budgets (scope, scope_id, daily_tokens, updated_by) values ($1, $2, $3, $4)
         on conflict (scope, scope_id) do update set daily_tokens = excluded.daily_tokens,
             updated_by = excluded.updated_by, updated_at = now()",
    )
    .bind(scope)
    .bind(id)
    .bind(tokens)
    .bind(by)
    .execute(pool)
    .await?;
    Ok(())
}

/// Teacher of the class, or admin.
async fn set_class_budget(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<SetBudget>,
) -> ApiResult<Json<Value>> {
    ensure_class_owner(&state.pool, &user, id).await?;
    valid(&body)?;
    save(&state.pool, "class", id, body.daily_tokens, user.id).await?;
    Ok(Json(
        json!({"success": true, "classId": id, "dailyTokens": body.daily_tokens}),
    ))
}

/// A teacher of one of the student's classes, or admin.
async fn set_student_budget(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<SetBudget>,
) -> ApiResult<Json<Value>> {
    user.require(&[Role::Teacher, Role::Admin])?;
    ensure_can_view_student(&state.pool, &user, id).await?;
    valid(&body)?;
    save(&state.pool, "student", id, body.daily_tokens, user.id).await?;
    Ok(Json(
        json!({"success": true, "studentId": id, "dailyTokens": body.daily_tokens}),
    ))
}

#[derive(Debug, serde::Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct StudentUsage {
    student_id: i64,
    first_name: String,
    last_name: String,
    daily_tokens: i64,
    used_tokens: i64,
    requests: i32,
    cost_euros: f64,
}

/// Today's use of ARIA in a class, per student, against the budgets. Teacher of the
/// class, or admin.
async fn class_usage(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    ensure_class_owner(&state.pool, &user, id).await?;
    let settings = &state.settings.budget;
    let students: Vec<StudentUsage> = sqlx::query_as(
        "select u.id as student_id, u.first_name, u.last_name,
                coalesce(b.daily_tokens, $2) as daily_tokens,
                coalesce(a.prompt_tokens + a.completion_tokens, 0)::int8 as used_tokens,
                coalesce(a.requests, 0) as requests,
                coalesce(a.cost_euros, 0)::float8 as cost_euros
         from class_members m join users u on u.id = m.student_id
         left join aria_budgets b on b.scope = 'student' and b.scope_id = u.id
         left join aria_usage a on a.user_id = u.id and a.day = current_date
         where m.class_id = $1 order by u.last_name, u.first_name, u.id",
    )
    .bind(id)
    .bind(settings.student_daily_tokens)
    .fetch_all(&state.pool)
    .await?;
    let class_budget: i64 = sqlx::query_scalar(
        "select coalesce((select daily_tokens from aria_budgets where scope = 'class' and scope_id = $1), $2)",
    )
    .bind(id)
    .bind(settings.class_daily_tokens)
    .fetch_one(&state.pool)
    .await?;
    let used: i64 = students.iter().map(|s| s.used_tokens).sum();
    let cost: f64 = students.iter().map(|s| s.cost_euros).sum();
    Ok(Json(json!({
        "success": true,
        "classId": id,
        "dailyTokens": class_budget,
        "usedTokens": used,
        "costEuros": cost,
        "students": students,
    })))
}
