//! The authenticated caller, for every service's handlers.
//!
//! Besides the JWT checks (signature, HS256 only, `exp`, `aud`, `type`), the user's row
//! is read on every request: a deactivated account or a changed role takes effect at
//! once, not when the access token expires. It is one primary-key lookup — or none, in a
//! service that keeps a [`SessionCache`]: then a session seen live is remembered until a
//! trigger announces a change to its user (role, active, a revoked refresh token), which
//! the process that made the change applies before it answers, and the other replicas
//! when the notification reaches them (see `cache`).

use std::{sync::Arc, time::Duration};

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};
use nexus_auth::{JwtError, JwtKeys, Role};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    ApiError,
    cache::NotifiedCache,
    ratelimit::{Limit, RateLimiter},
};

/// Redis pub/sub channel (under the key prefix, `Redis::key`) on which the API announces
/// that some of a user's tokens stopped being valid: logout, password reset, account
/// disabled, role changed. The payload is the user id in decimal. Services that hold
/// that user's sockets check each of them again (`Authenticator::authenticate`) and
/// close those whose token no longer passes.
pub const REVOKED_CHANNEL: &str = "auth:revoked";

/// Tells the services holding this user's sockets to check them again (after the change
/// is committed). Best effort: while Redis is down the message is lost, and the services
/// check every socket again once their subscription is back.
pub async fn announce_revocation(redis: &crate::redis_conn::Redis, user_id: i64) {
    let mut conn = redis.connection();
    let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
        .arg(redis.key(REVOKED_CHANNEL))
        .arg(user_id.to_string())
        .query_async(&mut conn)
        .await;
    if let Err(error) = sent {
        tracing::warn!(user_id, %error, "could not announce a token revocation");
    }
}

#[derive(Clone)]
pub struct Authenticator {
    pub keys: JwtKeys,
    pub pool: PgPool,
    /// The per-user API limit (contract: 100 / min), checked for every authenticated call.
    pub api_limit: Option<(RateLimiter, Limit)>,
    /// Sessions known live; `None`: every request reads the user's row.
    pub sessions: Option<Arc<SessionCache>>,
}

/// A user's sessions known live (the token's `sid`, `None` for tokens without one) and
/// their role, by user id. Kept exact by [`AUTH_CHANGED`] notifications (triggers on
/// `users` and `auth_tokens`, migration `20261206000400`) and [`Authenticator::revoked`].
pub type SessionCache = NotifiedCache<i64, Arc<[(Option<Uuid>, Role)]>>;
pub const AUTH_CHANGED: &str = "nexus_auth_changed";

pub fn session_cache() -> SessionCache {
    NotifiedCache::new("sessions", 50_000, Duration::from_secs(600))
}

/// A user keeps at most this many sessions in the cache (phone, laptop, school computer…).
const SESSIONS_PER_USER: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentUser {
    pub id: i64,
    pub role: Role,
}

impl CurrentUser {
    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }
}

pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The access-token keys every service derives from the shared settings.
pub fn jwt_keys(common: &nexus_config::CommonSettings) -> JwtKeys {
    use secrecy::ExposeSecret;
    JwtKeys::new(
        common.jwt_secret.expose_secret().as_bytes(),
        &common.jwt_audience,
        common.access_token_ttl,
    )
}

impl Authenticator {
    /// Validates an access token and loads the caller.
    pub async fn authenticate(&self, token: &str) -> Result<CurrentUser, ApiError> {
        let claims = self.verify(token)?;
        self.load(&claims).await
    }

    pub fn verify(&self, token: &str) -> Result<nexus_auth::AccessClaims, ApiError> {
        self.keys.verify_access(token).map_err(|e| match e {
            JwtError::Expired => {
                ApiError::unauthorized("token_expired", "Votre session a expiré. Reconnectez-vous.")
            }
            JwtError::Invalid => {
                ApiError::unauthorized("invalid_token", "Jeton d'authentification invalide.")
            }
        })
    }

    /// The caller as the database knows them now: active, with their current role, and
    /// still signed in to the session the token belongs to (signing out or a password
    /// reset revokes the session's refresh-token family, and with it the access token).
    pub async fn load(&self, claims: &nexus_auth::AccessClaims) -> Result<CurrentUser, ApiError> {
        let ticket = self.sessions.as_ref().and_then(|cache| cache.ticket());
        let known = self
            .sessions
            .as_ref()
            .and_then(|cache| cache.get(&claims.user_id));
        if let Some(&(_, role)) = known
            .iter()
            .flat_map(|sessions| sessions.iter())
            .find(|(sid, _)| *sid == claims.sid)
        {
            return Ok(CurrentUser {
                id: claims.user_id,
                role,
            });
        }
        let row: Option<(Role, bool, bool)> = sqlx::query_as(
            "select u.role, u.is_active,
                    $2::uuid is null or exists(select 1 from auth_tokens t
                        where t.family_id = $2 and t.user_id = u.id and t.token_type = 'refresh'
                          and t.revoked_at is null)
             from users u where u.id = $1",
        )
        .bind(claims.user_id)
        .bind(claims.sid)
        .fetch_optional(&self.pool)
        .await?;
        let (role, active, session_live) = row.ok_or_else(|| {
            ApiError::unauthorized("invalid_token", "Jeton d'authentification invalide.")
        })?;
        if !active {
            return Err(account_disabled());
        }
        if !session_live {
            return Err(session_revoked());
        }
        if let (Some(cache), Some(ticket)) = (&self.sessions, ticket) {
            // The user's other sessions known live stay (no change to the user since the
            // ticket, or the insert is refused).
            let sessions: Arc<[_]> = known
                .iter()
                .flat_map(|sessions| sessions.iter())
                .take(SESSIONS_PER_USER - 1)
                .copied()
                .chain([(claims.sid, role)])
                .collect();
            cache.insert(ticket, claims.user_id, sessions);
        }
        Ok(CurrentUser {
            id: claims.user_id,
            role,
        })
    }
}

impl Authenticator {
    /// After a change that ends some of `user_id`'s sessions or changes their role has
    /// committed: this process forgets their sessions at once (the others when the
    /// trigger's notification reaches them), and the services holding the user's sockets
    /// check them again ([`announce_revocation`]).
    pub async fn revoked(&self, redis: &crate::redis_conn::Redis, user_id: i64) {
        if let Some(cache) = &self.sessions {
            cache.invalidate(&user_id);
        }
        announce_revocation(redis, user_id).await;
    }
}

pub fn session_revoked() -> ApiError {
    ApiError::unauthorized(
        "session_revoked",
        "Cette session a été fermée. Reconnectez-vous.",
    )
}

pub fn account_disabled() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "account_disabled",
        "Ce compte est désactivé. Contactez l'administration de votre établissement.",
    )
}

/// A service's state that authenticates requests (the [`CurrentUser`] extractor borrows
/// it: no clone per request).
pub trait HasAuthenticator {
    fn authenticator(&self) -> &Authenticator;
}

impl<S> FromRequestParts<S> for CurrentUser
where
    S: HasAuthenticator + Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = state.authenticator();
        let token = bearer_token(parts)
            .ok_or_else(|| ApiError::unauthorized("missing_token", "Authentification requise."))?;
        let claims = auth.verify(token)?;
        // The user lookup and the rate-limit count are independent round trips: run them
        // together (a request refused by either loses only an unneeded count).
        let limit = async {
            match &auth.api_limit {
                Some((limiter, limit)) => {
                    limiter
                        .hit("api", &claims.user_id.to_string(), *limit)
                        .await
                }
                None => Ok(()),
            }
        };
        let (user, limit) = tokio::join!(auth.load(&claims), limit);
        let user = user?;
        limit.map_err(ApiError::too_many_requests)?;
        Ok(user)
    }
}

/// For websocket upgrades: browsers always send `Origin`, and only the platform's own
/// front ends (`CORS_ORIGINS`) may connect; clients that are not browsers send none
/// and are judged by their token alone.
pub fn origin_allowed(headers: &axum::http::HeaderMap, allowed: &[String]) -> bool {
    match headers.get(axum::http::header::ORIGIN) {
        None => true,
        Some(origin) => origin
            .to_str()
            .is_ok_and(|origin| allowed.iter().any(|a| a == origin)),
    }
}
