//! The digest: a daily or weekly mail of what a user has not read (new grades,
//! assessments published or due soon, chat messages), per category as they chose, with
//! a link to unsubscribe that works without signing in.
//!
//! Schedule: the worker calls [`send_due`] every 10 minutes with the current time; a
//! user is due when their period (24 hours, or 7 days) has passed since the end of the
//! period their last digest covered (since their account's creation for the first).
//! A period with nothing unread sends nothing but still ends. The digests are written
//! to the mail queue (`queue.rs`), which the worker delivers every minute with retries.
//! Tests and operators call both with the time they choose (`nexus-api digests --now`).

pub mod template;

use axum::extract::State;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use nexus_web::{
    ApiError, ErrorBody, Json, Query, auth::CurrentUser, error::ApiResult, net::ClientIp,
    ratelimit::Limit,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sqlx::{PgConnection, PgPool};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use self::template::{Digest, DigestItem, render};
use crate::{
    auth::Done,
    mail::queue::{QueuedMail, enqueue},
    settings::ApiSettings,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_preferences, update_preferences))
        .routes(routes!(unsubscribe))
}

pub const FREQUENCIES: [&str; 3] = ["off", "daily", "weekly"];

#[derive(Debug, Serialize, Deserialize, ToSchema, sqlx::FromRow, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Categories {
    /// New grades (one's own, or one's children's for a parent).
    pub grades: bool,
    /// Assessments published to one's classes, and those due soon.
    pub assessments: bool,
    /// Unread chat messages.
    pub messages: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Preferences {
    /// `off`, `daily` or `weekly` (default).
    pub digest_frequency: String,
    pub categories: Categories,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreferencesResponse {
    pub success: bool,
    pub preferences: Preferences,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreferencesUpdate {
    pub digest_frequency: String,
    pub categories: Categories,
}

async fn load_preferences(pool: &PgPool, user_id: i64) -> sqlx::Result<Preferences> {
    let row: Option<(String, bool, bool, bool)> = sqlx::query_as(
        "select digest_frequency, digest_grades, digest_assessments, digest_messages
         from notification_preferences where user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(pool)
    .await?;
    let (digest_frequency, grades, assessments, messages) =
        row.unwrap_or_else(|| ("weekly".into(), true, true, true));
    Ok(Preferences {
        digest_frequency,
        categories: Categories {
            grades,
            assessments,
            messages,
        },
    })
}

/// One's notification mail preferences. Roles: any signed-in user.
#[utoipa::path(get, path = "/api/me/notification-preferences", tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, body = PreferencesResponse),
    ))]
async fn get_preferences(
    user: CurrentUser,
    State(state): State<AppState>,
) -> ApiResult<Json<PreferencesResponse>> {
    Ok(Json(PreferencesResponse {
        success: true,
        preferences: load_preferences(&state.pool, user.id).await?,
    }))
}

/// Change one's digest frequency and categories. Roles: any signed-in user.
#[utoipa::path(put, path = "/api/me/notification-preferences", tag = "notifications",
    request_body = PreferencesUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, body = PreferencesResponse),
    ))]
async fn update_preferences(
    user: CurrentUser,
    State(state): State<AppState>,
    Json(body): Json<PreferencesUpdate>,
) -> ApiResult<Json<PreferencesResponse>> {
    if !FREQUENCIES.contains(&body.digest_frequency.as_str()) {
        return Err(ApiError::invalid_fields(vec![(
            "digestFrequency",
            "Fréquence attendue : off, daily ou weekly.".into(),
        )]));
    }
    let c = &body.categories;
    // A new row starts its first period now: choosing "daily" today sends tomorrow.
    sqlx::query(
        "insert into notification_preferences
             (user_id, digest_frequency, digest_grades, digest_assessments, digest_messages, last_digest_at)
         values ($1, $2, $3, $4, $5, now())
         on conflict (user_id) do update set digest_frequency = $2, digest_grades = $3,
             digest_assessments = $4, digest_messages = $5",
    )
    .bind(user.id)
    .bind(&body.digest_frequency)
    .bind(c.grades)
    .bind(c.assessments)
    .bind(c.messages)
    .execute(&state.pool)
    .await?;
    Ok(Json(PreferencesResponse {
        success: true,
        preferences: load_preferences(&state.pool, user.id).await?,
    }))
}

type HmacSha256 = Hmac<Sha256>;

fn signature(settings: &ApiSettings, user_id: i64) -> HmacSha256 {
    // The JWT secret keys it, with a purpose of its own: a token made for this cannot
    // pass for anything else. It never expires: an old mail's link must still work.
    let mut mac = HmacSha256::new_from_slice(settings.common.jwt_secret.expose_secret().as_bytes())
        .expect("HMAC takes any key length");
    mac.update(format!("digest-unsubscribe:{user_id}").as_bytes());
    mac
}

/// `<user id>.<hex HMAC>`: unsubscribes this user and nobody else.
pub fn unsubscribe_token(settings: &ApiSettings, user_id: i64) -> String {
    let tag = signature(settings, user_id).finalize().into_bytes();
    format!("{user_id}.{}", hex::encode(tag))
}

fn check_token(settings: &ApiSettings, token: &str) -> Option<i64> {
    let (id, tag) = token.split_once('.')?;
    let user_id: i64 = id.parse().ok()?;
    let tag = hex::decode(tag).ok()?;
    // verify_slice compares in constant time.
    signature(settings, user_id)
        .verify_slice(&tag)
        .ok()
        .map(|()| user_id)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnsubscribeQuery {
    /// The token of the digest's link.
    #[param(max_length = 100)]
    pub token: String,
}

/// Unsubscribe requests per client address and minute: the route needs no session, so
/// this bounds what one machine can make the database do (the token itself is an HMAC,
/// not guessable).
const UNSUBSCRIBES_PER_IP: Limit = Limit::new(30, std::time::Duration::from_secs(60));

/// Stop the digest (frequency `off`) with the token of a digest's link, without signing
/// in; also the RFC 8058 one-click target (`List-Unsubscribe-Post`), whose form body is
/// ignored. POST only, so that a mail scanner opening links unsubscribes nobody.
/// Roles: anyone holding the token; 30 requests a minute per client address.
#[utoipa::path(post, path = "/api/digest/unsubscribe", tag = "notifications",
    params(UnsubscribeQuery),
    responses(
        (status = 200, body = Done),
        (status = 400, body = ErrorBody), (status = 429, body = ErrorBody),
    ))]
async fn unsubscribe(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Query(query): Query<UnsubscribeQuery>,
) -> ApiResult<Json<Done>> {
    state
        .limiter
        .hit("unsubscribe_ip", &ip.to_string(), UNSUBSCRIBES_PER_IP)
        .await
        .map_err(ApiError::too_many_requests)?;
    let user_id = check_token(&state.settings, query.token.trim()).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_unsubscribe_token",
            "Lien de désabonnement invalide. Gérez vos e-mails depuis vos préférences.",
        )
    })?;
    sqlx::query(
        "insert into notification_preferences (user_id, digest_frequency, last_digest_at)
         select id, 'off', now() from users where id = $1
         on conflict (user_id) do update set digest_frequency = 'off'",
    )
    .bind(user_id)
    .execute(&state.pool)
    .await?;
    tracing::info!(user_id, "digest unsubscribed by link");
    Ok(Json(Done {
        success: true,
        message: "Vous ne recevrez plus le récapitulatif par e-mail.".into(),
    }))
}

#[derive(sqlx::FromRow)]
struct Due {
    user_id: i64,
    email: String,
    first_name: String,
    digest_frequency: String,
    digest_grades: bool,
    digest_assessments: bool,
    digest_messages: bool,
    since: DateTime<Utc>,
}

/// How many users at most one round handles (the next round takes the rest).
const ROUND: i64 = 500;

/// Writes the digests due at `now` into the mail queue; returns how many were queued.
pub async fn send_due(
    pool: &PgPool,
    settings: &ApiSettings,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    // Everyone starts with the default preferences, their first period starting when
    // the account was created.
    sqlx::query(
        "insert into notification_preferences (user_id, last_digest_at)
         select u.id, u.created_at from users u
         where u.is_active and not exists(select 1 from notification_preferences p where p.user_id = u.id)
         on conflict do nothing",
    )
    .execute(pool)
    .await?;
    let mut queued = 0;
    let mut tx = pool.begin().await?;
    let due: Vec<Due> = sqlx::query_as(
        "select p.user_id, u.email, u.first_name, p.digest_frequency, p.digest_grades,
                p.digest_assessments, p.digest_messages, p.last_digest_at as since
         from notification_preferences p join users u on u.id = p.user_id
         where u.is_active and p.digest_frequency <> 'off'
           and p.last_digest_at <= $1 - case p.digest_frequency when 'daily' then interval '1 day' else interval '7 days' end
         order by p.last_digest_at limit $2
         for update of p skip locked",
    )
    .bind(now)
    .bind(ROUND)
    .fetch_all(&mut *tx)
    .await?;
    for user in due {
        let digest = gather(&mut tx, &user, now).await?;
        if !digest.is_empty() {
            let token = unsubscribe_token(settings, user.user_id);
            let mail = render(&digest, &settings.mail.web_url, &token);
            let one_click = format!(
                "{}/api/digest/unsubscribe?token={token}",
                settings.mail.api_public_url.trim_end_matches('/')
            );
            enqueue(
                &mut tx,
                &QueuedMail {
                    kind: "digest",
                    to: &user.email,
                    subject: &mail.subject,
                    text: &mail.text,
                    html: Some(&mail.html),
                    unsubscribe_url: Some(&one_click),
                    secret: false,
                },
            )
            .await?;
            queued += 1;
        }
        sqlx::query("update notification_preferences set last_digest_at = $2 where user_id = $1")
            .bind(user.user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(queued)
}

/// What `user` has not read of the period, in the categories they kept.
async fn gather(conn: &mut PgConnection, user: &Due, now: DateTime<Utc>) -> sqlx::Result<Digest> {
    let notifications = |kinds: &'static [&'static str]| {
        sqlx::query_as::<_, (String, String)>(
            "select title, body from notifications
             where user_id = $1 and read_at is null and kind = any($2)
               and created_at > $3 and created_at <= $4
             order by created_at desc limit 21",
        )
        .bind(user.user_id)
        .bind(kinds)
        .bind(user.since)
        .bind(now)
    };
    let items = |rows: Vec<(String, String)>| {
        rows.into_iter()
            .map(|(title, detail)| DigestItem { title, detail })
            .collect::<Vec<_>>()
    };
    let grades = if user.digest_grades {
        items(
            notifications(&["result_graded"])
                .fetch_all(&mut *conn)
                .await?,
        )
    } else {
        Vec::new()
    };
    let assessments = if user.digest_assessments {
        items(
            notifications(&["assessment_published", "assessment_due_soon"])
                .fetch_all(&mut *conn)
                .await?,
        )
    } else {
        Vec::new()
    };
    let messages = if user.digest_messages {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "select coalesce(c.name, (select u.first_name || ' ' || u.last_name from conversation_participants p
                                      join users u on u.id = p.user_id
                                      where p.conversation_id = v.id and p.user_id <> $1 limit 1), '') as title,
                    (select count(*) from messages m where m.conversation_id = v.id and m.sender_id is distinct from $1
                        and m.deleted_at is null and m.created_at > $2 and m.created_at <= $3
                        and m.id > coalesce((select last_read_message_id from conversation_participants p
                                             where p.conversation_id = v.id and p.user_id = $1), 0)) as unread
             from conversations v left join classes c on c.id = v.class_id
             where (v.kind = 'direct' and exists(select 1 from conversation_participants p where p.conversation_id = v.id and p.user_id = $1))
                or (v.kind = 'class' and (c.teacher_id = $1 or exists(select 1 from class_members m where m.class_id = c.id and m.student_id = $1)))
             order by v.id",
        )
        .bind(user.user_id)
        .bind(user.since)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?;
        rows.into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(title, n)| DigestItem {
                title,
                detail: if n == 1 {
                    "1 message non lu".to_owned()
                } else {
                    format!("{n} messages non lus")
                },
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Digest {
        first_name: user.first_name.clone(),
        weekly: user.digest_frequency == "weekly",
        since: user.since,
        grades,
        assessments,
        messages,
    })
}

/// The worker's rounds: digests every 10 minutes (the mail queue delivers them:
/// `mail::queue::run`).
pub async fn run(
    pool: PgPool,
    settings: std::sync::Arc<ApiSettings>,
    stop: nexus_web::background::Stop,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
    while stop.during(tick.tick()).await.is_some() {
        match send_due(&pool, &settings, Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(digests = n, "digests queued"),
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "digests failed; retrying next round")
            }
        }
    }
}
