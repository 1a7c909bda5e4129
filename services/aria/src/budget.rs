//! Daily token budgets and what the model costs.
//!
//! Every answer adds its tokens and their price to the user's row of the day in
//! `aria_usage`; a class's use is the sum over its members. Before calling the model,
//! ARIA reserves what the answer may cost ([`reserve`]), atomically, and refuses (429)
//! a student whose own budget or one of whose classes' budget cannot hold it besides
//! what is spent and reserved today; the answer's transaction replaces the reservation
//! by the real count. Budgets default to the configuration and a teacher adjusts them per
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
    /// Spent today, and set aside for answers being prepared.
    used: i64,
    /// Seconds until the budgets renew (midnight, the database's day).
    renews_in: i64,
}

/// What one answer may cost at most besides its history and question: the system
/// text with five course passages (each at most 90 words), in tokens.
const PROMPT_ALLOWANCE: i64 = 1000;

/// After this long a reservation no longer counts: its answer is long done, or its
/// process died before settling it.
const RESERVATION_LIFETIME: &str = "10 minutes";

/// The tokens an answer to `message` may cost, set aside before the model is called:
/// at most `max_tokens` written, after a prompt of the system text, the passages, at
/// most `history_tokens` of history and the question (about 4 characters a token).
pub fn reservation(max_tokens: u32, history_tokens: usize, message: &str) -> i64 {
    let history = i64::try_from(history_tokens).unwrap_or(i64::MAX / 4);
    let question = i64::try_from(message.chars().count().div_ceil(4)).unwrap_or(i64::MAX / 4);
    PROMPT_ALLOWANCE + history + question + i64::from(max_tokens)
}

/// Tokens set aside for one answer. Settle it in the answer's transaction
/// ([`Reservation::settle`]); dropped unsettled (the request failed or was cancelled),
/// it is released.
#[derive(Debug)]
pub struct Reservation {
    id: i64,
    pool: PgPool,
    settled: bool,
}

impl Reservation {
    /// Removes the reservation in the transaction that records the real use.
    pub async fn settle(&mut self, conn: &mut sqlx::PgConnection) -> sqlx::Result<()> {
        sqlx::query("delete from aria_budget_reservations where id = $1")
            .bind(self.id)
            .execute(conn)
            .await?;
        self.settled = true;
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let (pool, id) = (self.pool.clone(), self.id);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let released = sqlx::query("delete from aria_budget_reservations where id = $1")
                    .bind(id)
                    .execute(&pool)
                    .await;
                if let Err(error) = released {
                    tracing::warn!(%error, id, "ARIA budget reservation not released; it expires");
                }
            });
        }
    }
}

/// Sets `tokens` aside for the user's next answer if their budget, and each of their
/// classes' budgets, can hold them besides what was spent and set aside today;
/// otherwise 429. The check and the reservation are one step: advisory locks on the
/// user and on their classes (in a fixed order: user, then classes by id) serialise
/// the reservations that share a budget, so parallel questions cannot all pass the
/// check before any of them is counted.
pub async fn reserve(
    pool: &PgPool,
    settings: &BudgetSettings,
    user_id: i64,
    tokens: i64,
) -> ApiResult<Reservation> {
    let mut tx = pool.begin().await?;
    lock(&mut tx, &format!("aria-budget:user:{user_id}")).await?;
    let classes: Vec<i64> = sqlx::query_scalar(
        "select m.class_id from class_members m join classes c on c.id = m.class_id and c.archived_at is null
         where m.student_id = $1 order by m.class_id",
    )
    .bind(user_id)
    .fetch_all(&mut *tx)
    .await?;
    for class in classes {
        lock(&mut tx, &format!("aria-budget:class:{class}")).await?;
    }
    let spent: Vec<Spent> = sqlx::query_as(
        "with renew as (select ceil(extract(epoch from (current_date + 1)::timestamptz - now()))::int8 as s),
              held as (select user_id, sum(tokens) as tokens from aria_budget_reservations
                       where created_at > now() - $4::interval group by user_id)
         select 'student' as scope,
                coalesce((select daily_tokens from aria_budgets where scope = 'student' and scope_id = $1), $2) as budget,
                (coalesce((select prompt_tokens + completion_tokens from aria_usage where user_id = $1 and day = current_date), 0)
                 + coalesce((select tokens from held where user_id = $1), 0))::int8 as used,
                renew.s as renews_in
         from renew
         union all
         select 'class', coalesce(b.daily_tokens, $3),
                (coalesce((select sum(u.prompt_tokens + u.completion_tokens) from aria_usage u
                           join class_members o on o.student_id = u.user_id
                           where o.class_id = m.class_id and u.day = current_date), 0)
                 + coalesce((select sum(h.tokens) from held h
                             join class_members o on o.student_id = h.user_id
                             where o.class_id = m.class_id), 0))::int8,
                renew.s
         from class_members m join classes c on c.id = m.class_id and c.archived_at is null
         left join aria_budgets b on b.scope = 'class' and b.scope_id = m.class_id, renew
         where m.student_id = $1",
    )
    .bind(user_id)
    .bind(settings.student_daily_tokens)
    .bind(settings.class_daily_tokens)
    .bind(RESERVATION_LIFETIME)
    .fetch_all(&mut *tx)
    .await?;
    if let Some(spent) = spent
        .into_iter()
        .find(|s| s.used.saturating_add(tokens) > s.budget)
    {
        return Err(exhausted(&spent));
    }
    sqlx::query(
        "delete from aria_budget_reservations where user_id = $1 and created_at <= now() - $2::interval",
    )
    .bind(user_id)
    .bind(RESERVATION_LIFETIME)
    .execute(&mut *tx)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "insert into aria_budget_reservations (user_id, tokens) values ($1, $2) returning id",
    )
    .bind(user_id)
    .bind(tokens)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Reservation {
        id,
        pool: pool.clone(),
        settled: false,
    })
}

/// A lock held until the transaction ends, named by `key`.
async fn lock(tx: &mut sqlx::PgConnection, key: &str) -> sqlx::Result<()> {
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(key)
        .execute(tx)
        .await?;
    Ok(())
}

fn exhausted(spent: &Spent) -> ApiError {
    metrics()
        .budget_refusals
        .with_label_values(&[spent.scope.as_str()])
        .inc();
    let mut error = ApiError::too_many_requests(spent.renews_in.max(1) as u64);
    error.code = "aria_budget_exhausted";
    error.message = if spent.scope == "class" {
        "Le budget quotidien d'ARIA de ta classe ne suffit plus pour une réponse : il se renouvelle demain. Ton enseignant peut l'augmenter."
    } else {
        "Ton budget quotidien d'ARIA ne suffit plus pour une réponse : il se renouvelle demain. Ton enseignant peut l'augmenter."
    }
    .into();
    error
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
