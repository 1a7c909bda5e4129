//! Authentication (contract §Authentication): register, login, refresh with rotation and
//! reuse detection, logout, `me`, password reset.

pub mod verification;

use std::time::Duration;

use axum::{extract::State, http::StatusCode};
use nexus_auth::{Role, password};
use nexus_database::levels::ClassLevel;
use nexus_web::{
    ApiError, ErrorBody, Json,
    auth::{CurrentUser, account_disabled},
    error::ApiResult,
    net::ClientIp,
    ratelimit::Limit,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    accounts::{self, UserView, get_existing_user, tokens},
    mail::{Mail, queue},
    state::AppState,
    validate::normalize_email,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(request_password_reset))
        .routes(routes!(confirm_password_reset))
        .routes(routes!(verification::verify_email))
        .routes(routes!(verification::resend_verification))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Registered {
    pub success: bool,
    pub message: String,
    pub user_id: i64,
}

/// Create a student or parent account. Roles: anyone (no token).
#[utoipa::path(post, path = "/api/auth/register", tag = "auth",
    request_body = accounts::NewAccount,
    responses(
        (status = 201, body = Registered),
        (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<accounts::NewAccount>,
) -> ApiResult<(StatusCode, Json<Registered>)> {
    state
        .limiter
        .hit(
            "register_ip",
            &ip.to_string(),
            state.settings.rate_limits.register_per_ip,
        )
        .await
        .map_err(ApiError::too_many_requests)?;
    if !matches!(body.role, Role::Student | Role::Parent) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "role_not_allowed",
            "Les comptes enseignant et administrateur sont créés par un administrateur.",
        ));
    }
    let role = body.role;
    let user_id = accounts::create(&state.pool, body).await?;
    tracing::info!(user_id, role = %role, "account registered");
    verification::send_later(&state, user_id);
    Ok((
        StatusCode::CREATED,
        Json(Registered {
            success: true,
            message: "Compte créé. Vous pouvez maintenant vous connecter ; un e-mail vous a été envoyé pour confirmer votre adresse.".into(),
            user_id,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionUser {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    #[schema(value_type = String)]
    pub role: Role,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    pub success: bool,
    pub user: SessionUser,
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    /// Access-token lifetime in seconds.
    pub expires_in: u64,
}

#[derive(sqlx::FromRow)]
struct Credentials {
    id: i64,
    email: String,
    first_name: String,
    last_name: String,
    role: Role,
    password_hash: String,
    is_active: bool,
}

/// Failed logins on one account, from every address, after which each attempt on it
/// waits `ACCOUNT_SLOWDOWN` first: a distributed guesser is slowed, the owner still gets in.
const ACCOUNT_FAILURES_BEFORE_SLOWDOWN: Limit = Limit::new(30, Duration::from_secs(900));
const ACCOUNT_SLOWDOWN: Duration = Duration::from_secs(1);

/// Reset mails one address can be sent per hour.
const RESET_MAILS_PER_ACCOUNT: Limit = Limit::new(3, Duration::from_secs(3600));

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized(
        "invalid_credentials",
        "Adresse e-mail ou mot de passe incorrect.",
    )
}

/// Sign in. An unknown email and a wrong password get the same answer. Roles: anyone.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let limits = &state.settings.rate_limits;
    state
        .limiter
        .hit("login_ip", &ip.to_string(), limits.login_per_ip)
        .await
        .map_err(ApiError::too_many_requests)?;
    let email = normalize_email(&body.email);
    if email.len() > 254 || body.password.chars().count() > password::MAX_LENGTH {
        return Err(invalid_credentials());
    }
    // Failed logins lock an account out only from the address that failed: someone who
    // knows a child's email cannot lock the child out from home. Failures from everywhere
    // slow every attempt on the account down instead (see docs/SECURITY.md).
    let pair = format!("{email}|{ip}");
    state
        .limiter
        .check("login_failures", &pair, limits.login_failures)
        .await
        .map_err(ApiError::too_many_requests)?;
    if state
        .limiter
        .check(
            "login_failures_account",
            &email,
            ACCOUNT_FAILURES_BEFORE_SLOWDOWN,
        )
        .await
        .is_err()
    {
        tokio::time::sleep(ACCOUNT_SLOWDOWN).await;
    }
    let account: Option<Credentials> = sqlx::query_as(
        "select id, email, first_name, last_name, role, password_hash, is_active
         from users where lower(email) = $1",
    )
    .bind(&email)
    .fetch_optional(&state.pool)
    .await?;
    let verified = password::verify(
        body.password,
        account.as_ref().map(|a| a.password_hash.clone()),
    )
    .await?;
    let account = match account {
        Some(account) if verified => account,
        _ => {
            // The failure counts even when it pushes past the limit: the next attempt is refused.
            let _ = state
                .limiter
                .hit("login_failures", &pair, limits.login_failures)
                .await;
            let _ = state
                .limiter
                .hit(
                    "login_failures_account",
                    &email,
                    ACCOUNT_FAILURES_BEFORE_SLOWDOWN,
                )
                .await;
            return Err(invalid_credentials());
        }
    };
    if !account.is_active {
        // A pending deletion says when erasure happens and how to cancel it.
        return Err(crate::privacy::deletion::login_refusal(&state.pool, account.id).await?);
    }
    state.limiter.reset("login_failures", &pair).await;
    let role = account.role;
    let mut tx = state.pool.begin().await?;
    let session = Uuid::new_v4();
    let refresh_token = tokens::issue_refresh(
        &mut *tx,
        account.id,
        session,
        state.settings.refresh_token_ttl,
    )
    .await?;
    sqlx::query("update users set last_login_at = now() where id = $1")
        .bind(account.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(user_id = account.id, "login");
    Ok(Json(LoginResponse {
        success: true,
        access_token: state
            .jwt
            .issue_session_access(account.id, role, Some(session)),
        refresh_token,
        token_type: "Bearer".into(),
        expires_in: state.jwt.ttl().as_secs(),
        user: SessionUser {
            id: account.id,
            email: account.email,
            first_name: account.first_name,
            last_name: account.last_name,
            role,
        },
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    pub success: bool,
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    pub expires_in: u64,
}

fn invalid_refresh() -> ApiError {
    ApiError::unauthorized(
        "invalid_refresh_token",
        "Session expirée ou invalide. Reconnectez-vous.",
    )
}

/// Exchange a refresh token for a new pair. The token presented is used up; presenting it
/// again revokes every token of its family (someone else holds a copy). Roles: anyone
/// holding a refresh token.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> ApiResult<Json<TokenPair>> {
    if body.refresh_token.len() > 256 {
        return Err(invalid_refresh());
    }
    let mut tx = state.pool.begin().await?;
    let stored = tokens::find_for_update(&mut tx, &body.refresh_token, "refresh")
        .await?
        .ok_or_else(invalid_refresh)?;
    let family = stored.family_id.ok_or_else(invalid_refresh)?;
    if stored.used_at.is_some() {
        let revoked = tokens::revoke_family(&mut *tx, family).await?;
        tx.commit().await?;
        state
            .authenticator
            .revoked(&state.redis, stored.user_id)
            .await;
        tracing::warn!(user_id = stored.user_id, %family, revoked, "refresh token reused: family revoked");
        return Err(ApiError::unauthorized(
            "refresh_token_reused",
            "Cette session a été fermée par sécurité. Reconnectez-vous.",
        ));
    }
    if !stored.is_live() {
        return Err(invalid_refresh());
    }
    let (role, active): (Role, bool) =
        sqlx::query_as("select role, is_active from users where id = $1")
            .bind(stored.user_id)
            .fetch_one(&mut *tx)
            .await?;
    if !active {
        return Err(account_disabled());
    }
    tokens::mark_used(&mut *tx, stored.id).await?;
    let refresh_token = tokens::issue_refresh(
        &mut *tx,
        stored.user_id,
        family,
        state.settings.refresh_token_ttl,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(TokenPair {
        success: true,
        access_token: state
            .jwt
            .issue_session_access(stored.user_id, role, Some(family)),
        refresh_token,
        token_type: "Bearer".into(),
        expires_in: state.jwt.ttl().as_secs(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Done {
    pub success: bool,
    pub message: String,
}

/// Sign out: the refresh token's session (its whole family) ends. Answers 200 for any
/// token, so it says nothing about which tokens exist. Roles: anyone.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = Done),
    ))]
async fn logout(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> ApiResult<Json<Done>> {
    if body.refresh_token.len() <= 256 {
        let mut tx = state.pool.begin().await?;
        let stored = tokens::find_for_update(&mut tx, &body.refresh_token, "refresh").await?;
        if let Some((user_id, family)) = stored.and_then(|t| Some((t.user_id, t.family_id?))) {
            tokens::revoke_family(&mut *tx, family).await?;
            tx.commit().await?;
            // The session's access tokens stop working now; its open sockets close.
            state.authenticator.revoked(&state.redis, user_id).await;
        }
    }
    Ok(Json(Done {
        success: true,
        message: "Vous êtes déconnecté.".into(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeResponse {
    pub success: bool,
    pub user: UserView,
    /// A student's profile; absent for other roles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<StudentProfile>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StudentProfile {
    pub class_level: Option<ClassLevel>,
    pub school_name: Option<String>,
    pub academic_year: Option<String>,
}

pub fn me_response(user: UserView) -> MeResponse {
    let profile = (user.role == Role::Student).then(|| StudentProfile {
        class_level: user.class_level,
        school_name: user.school_name.clone(),
        academic_year: user.academic_year.clone(),
    });
    MeResponse {
        success: true,
        user,
        profile,
    }
}

/// The signed-in user and, for a student, their profile. Roles: any signed-in user.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, body = MeResponse),
        (status = 403, body = ErrorBody),
    ))]
async fn me(user: CurrentUser, State(state): State<AppState>) -> ApiResult<Json<MeResponse>> {
    Ok(Json(me_response(
        get_existing_user(&state.pool, user.id).await?,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub email: String,
}

/// Ask for a password-reset mail. Always 202, whether or not the account exists; the
/// work happens after the answer, so its timing reveals nothing either. Roles: anyone.
#[utoipa::path(post, path = "/api/auth/password-reset/request", tag = "auth",
    request_body = ResetRequest,
    responses(
        (status = 202, body = Done),
        (status = 429, body = ErrorBody),
    ))]
async fn request_password_reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<ResetRequest>,
) -> ApiResult<(StatusCode, Json<Done>)> {
    state
        .limiter
        .hit(
            "reset_ip",
            &ip.to_string(),
            state.settings.rate_limits.reset_per_ip,
        )
        .await
        .map_err(ApiError::too_many_requests)?;
    let email = normalize_email(&body.email);
    // Per address as typed, whether or not an account has it (so the answer tells
    // nothing): a mailbox cannot be flooded with reset mails.
    state
        .limiter
        .hit("reset_account", &email, RESET_MAILS_PER_ACCOUNT)
        .await
        .map_err(ApiError::too_many_requests)?;
    if crate::validate::is_email(&email) {
        tokio::spawn(async move {
            if let Err(error) = send_reset_mail(&state, &email).await {
                tracing::error!(error = %format!("{error:#}"), "password reset could not be prepared");
            }
        });
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(Done {
            success: true,
            message: "Si un compte existe pour cette adresse, un e-mail de réinitialisation a été envoyé.".into(),
        }),
    ))
}

async fn send_reset_mail(state: &AppState, email: &str) -> anyhow::Result<()> {
    let mut tx = state.pool.begin().await?;
    let account: Option<(i64, String)> =
        sqlx::query_as("select id, first_name from users where lower(email) = $1 and is_active")
            .bind(email)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((user_id, first_name)) = account else {
        return Ok(());
    };
    let token = tokens::issue_reset(&mut tx, user_id, state.settings.reset_token_ttl).await?;
    let link = format!("{}{}", state.settings.mail.reset_url_base, token);
    let mail = Mail {
        to: email.to_owned(),
        subject: "Réinitialisation de votre mot de passe Nexus Réussite".into(),
        body: format!(
            "Bonjour {first_name},\n\n\
                 Pour choisir un nouveau mot de passe, ouvrez ce lien\n\
                 (valable une heure, utilisable une seule fois) :\n\n\
                 {link}\n\n\
                 Code de réinitialisation, si le lien ne s'ouvre pas :\n\n\
                 {token}\n\n\
                 Si vous n'êtes pas à l'origine de cette demande, ignorez ce message :\n\
                 votre mot de passe reste inchangé.\n\n\
                 L'équipe Nexus Réussite\n"
        ),
    };
    queue::enqueue_text(&mut tx, "password_reset", &mail, true).await?;
    tx.commit().await?;
    state.mail_wake.now();
    tracing::info!(user_id, "password reset mail queued");
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetConfirm {
    pub token: String,
    pub new_password: String,
}

fn invalid_reset() -> ApiError {
    ApiError::bad_request(
        "invalid_reset_token",
        "Ce lien de réinitialisation est invalide ou a expiré.",
    )
}

/// Set a new password with a reset token (single use, 1 hour). Ends every session of the
/// account. Roles: anyone holding a reset token.
#[utoipa::path(post, path = "/api/auth/password-reset/confirm", tag = "auth",
    request_body = ResetConfirm,
    responses(
        (status = 200, body = Done),
    ))]
async fn confirm_password_reset(
    State(state): State<AppState>,
    Json(body): Json<ResetConfirm>,
) -> ApiResult<Json<Done>> {
    if body.token.len() > 256 {
        return Err(invalid_reset());
    }
    let mut tx = state.pool.begin().await?;
    let stored = tokens::find_for_update(&mut tx, &body.token, "reset")
        .await?
        .filter(tokens::StoredToken::is_live)
        .ok_or_else(invalid_reset)?;
    let (email, first_name, last_name): (String, String, String) =
        sqlx::query_as("select email, first_name, last_name from users where id = $1")
            .bind(stored.user_id)
            .fetch_one(&mut *tx)
            .await?;
    if let Some(reason) =
        password::policy_violation(&body.new_password, &email, &[&first_name, &last_name])
    {
        return Err(ApiError::invalid_fields(vec![(
            "newPassword",
            reason.into(),
        )]));
    }
    let hash = password::hash(body.new_password).await?;
    sqlx::query("update users set password_hash = $2, is_verified = true where id = $1")
        .bind(stored.user_id)
        .bind(hash)
        .execute(&mut *tx)
        .await?;
    tokens::mark_used(&mut *tx, stored.id).await?;
    let ended = tokens::revoke_all_refresh(&mut *tx, stored.user_id).await?;
    tx.commit().await?;
    state
        .authenticator
        .revoked(&state.redis, stored.user_id)
        .await;
    state.limiter.reset("login_failures_account", &email).await;
    tracing::info!(
        user_id = stored.user_id,
        sessions_ended = ended,
        "password reset"
    );
    Ok(Json(Done {
        success: true,
        message: "Mot de passe modifié. Vous pouvez vous connecter.".into(),
    }))
}
