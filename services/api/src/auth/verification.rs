//! Email verification (issue #17): a single-use link, mailed at registration, that
//! expires (`EMAIL_VERIFICATION_TTL_SECONDS`, two days by default).
//!
//! Until verified, an account works (a class signs up and starts at once) except for the
//! one act that binds someone else: a parent cannot give consent for a child
//! (docs/PRIVACY.md, "Unverified accounts").

use std::time::Duration;

use axum::{extract::State, http::StatusCode};
use nexus_web::{ApiError, ErrorBody, Json, auth::CurrentUser, error::ApiResult, ratelimit::Limit};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{Done, tokens};
use crate::{
    mail::{Mail, queue},
    state::AppState,
};

/// Verification mails one account can ask for per hour.
const MAILS_PER_ACCOUNT: Limit = Limit::new(3, Duration::from_secs(3600));

/// Issues a verification token for `user_id` and mails the link (after the answer).
pub fn send_later(state: &AppState, user_id: i64) {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(error) = send(&state, user_id).await {
            tracing::error!(error = %format!("{error:#}"), "verification mail could not be sent");
        }
    });
}

async fn send(state: &AppState, user_id: i64) -> anyhow::Result<()> {
    let mut tx = state.pool.begin().await?;
    let (email, first_name): (String, String) =
        sqlx::query_as("select email, first_name from users where id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
    let ttl = state.settings.privacy.verify_token_ttl;
    let token = tokens::issue_single_use(&mut tx, user_id, "verify_email", ttl).await?;
    let link = format!("{}{}", state.settings.mail.verify_url_base, token);
    let hours = ttl.as_secs().div_ceil(3600);
    let mail = Mail {
        to: email,
        subject: "Confirmez votre adresse e-mail Nexus Réussite".into(),
        body: format!(
            "Bonjour {first_name},\n\n\
                 Pour confirmer votre adresse e-mail, ouvrez ce lien\n\
                 (valable {hours} heures, utilisable une seule fois) :\n\n\
                 {link}\n\n\
                 Code de vérification, si le lien ne s'ouvre pas :\n\n\
                 {token}\n\n\
                 Si vous n'avez pas créé de compte, ignorez ce message.\n\n\
                 L'équipe Nexus Réussite\n"
        ),
    };
    queue::enqueue_text(&mut tx, "verify_email", &mail, true).await?;
    tx.commit().await?;
    state.mail_wake.now();
    tracing::info!(user_id, "verification mail queued");
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub token: String,
}

fn invalid_link() -> ApiError {
    ApiError::bad_request(
        "invalid_verification_token",
        "Ce lien de vérification est invalide, a déjà servi ou a expiré. Demandez-en un nouveau depuis votre compte.",
    )
}

/// Confirm an email address with the token of the verification mail (single use).
/// Roles: anyone holding a verification token.
#[utoipa::path(post, path = "/api/auth/verify-email", tag = "auth",
    request_body = VerifyRequest,
    responses(
        (status = 200, body = Done),
    ))]
pub async fn verify_email(
    State(state): State<AppState>,
    Json(body): Json<VerifyRequest>,
) -> ApiResult<Json<Done>> {
    if body.token.len() > 256 {
        return Err(invalid_link());
    }
    let mut tx = state.pool.begin().await?;
    let stored = tokens::find_for_update(&mut tx, body.token.trim(), "verify_email")
        .await?
        .filter(tokens::StoredToken::is_live)
        .ok_or_else(invalid_link)?;
    sqlx::query("update users set is_verified = true where id = $1")
        .bind(stored.user_id)
        .execute(&mut *tx)
        .await?;
    tokens::mark_used(&mut *tx, stored.id).await?;
    tx.commit().await?;
    tracing::info!(user_id = stored.user_id, "email verified");
    Ok(Json(Done {
        success: true,
        message: "Adresse e-mail confirmée. Merci !".into(),
    }))
}

/// Send the verification mail again (the previous link stops working). Roles: any
/// signed-in user whose address is not verified yet; 3 mails an hour.
#[utoipa::path(post, path = "/api/auth/verify-email/resend", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 202, body = Done),
        (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody),
    ))]
pub async fn resend_verification(
    user: CurrentUser,
    State(state): State<AppState>,
) -> ApiResult<(StatusCode, Json<Done>)> {
    let verified: bool = sqlx::query_scalar("select is_verified from users where id = $1")
        .bind(user.id)
        .fetch_one(&state.pool)
        .await?;
    if verified {
        return Err(ApiError::conflict(
            "already_verified",
            "Votre adresse e-mail est déjà confirmée.",
        ));
    }
    state
        .limiter
        .hit("verify_mail", &user.id.to_string(), MAILS_PER_ACCOUNT)
        .await
        .map_err(ApiError::too_many_requests)?;
    send_later(&state, user.id);
    Ok((
        StatusCode::ACCEPTED,
        Json(Done {
            success: true,
            message: "Un nouvel e-mail de vérification vous a été envoyé.".into(),
        }),
    ))
}
