//! Access tokens: short-lived HS256 JWTs. Only HS256 is accepted (no `alg: none`, no
//! algorithm confusion), and `exp`, `aud` and `type` are always checked.

use std::{sync::Arc, time::Duration};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::Role;

pub const ACCESS_TOKEN_TYPE: &str = "access";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessClaims {
    pub sub: String,
    pub user_id: i64,
    pub role: Role,
    pub exp: i64,
    pub iat: i64,
    pub aud: String,
    #[serde(rename = "type")]
    pub token_type: String,
    pub jti: String,
    /// The sign-in session (the refresh-token family) this token belongs to: signing out
    /// of it, or a password reset ending every session, invalidates the token at once.
    /// Tokens minted outside a session (tests) have none and are checked only against the
    /// account's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<uuid::Uuid>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("token expired")]
    Expired,
    #[error("token invalid")]
    Invalid,
}

/// Shared by every request and connection of a service: cloning it is a reference
/// count, not a copy of the keys and of the validation rules' sets and strings.
#[derive(Clone)]
pub struct JwtKeys(Arc<Keys>);

struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    audience: String,
    ttl: Duration,
}

impl JwtKeys {
    pub fn new(secret: &[u8], audience: &str, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "sub", "aud", "iat"]);
        validation.leeway = 5;
        validation.validate_exp = true;
        Self(Arc::new(Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            audience: audience.to_owned(),
            ttl,
        }))
    }

    pub fn ttl(&self) -> Duration {
        self.0.ttl
    }

    pub fn issue_access(&self, user_id: i64, role: Role) -> String {
        self.issue_session_access(user_id, role, None)
    }

    /// An access token of the sign-in session `sid` (the refresh-token family).
    pub fn issue_session_access(
        &self,
        user_id: i64,
        role: Role,
        sid: Option<uuid::Uuid>,
    ) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            sub: user_id.to_string(),
            user_id,
            role,
            iat: now,
            exp: now + self.0.ttl.as_secs() as i64,
            aud: self.0.audience.clone(),
            token_type: ACCESS_TOKEN_TYPE.to_owned(),
            jti: uuid::Uuid::new_v4().to_string(),
            sid,
        };
        self.sign(&claims)
    }

    /// Signs arbitrary claims; tests use it to forge wrong-type or expired tokens.
    pub fn sign<T: Serialize>(&self, claims: &T) -> String {
        encode(&Header::new(Algorithm::HS256), claims, &self.0.encoding)
            .expect("HS256 signing with an in-memory key cannot fail")
    }

    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, JwtError> {
        let data = decode::<AccessClaims>(token, &self.0.decoding, &self.0.validation).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => JwtError::Expired,
                _ => JwtError::Invalid,
            },
        )?;
        let claims = data.claims;
        if claims.token_type != ACCESS_TOKEN_TYPE || claims.sub != claims.user_id.to_string() {
            return Err(JwtError::Invalid);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

    fn keys() -> JwtKeys {
        JwtKeys::new(
            b"a-test-secret-of-sufficient-length!!",
            "nexus-reussite",
            Duration::from_secs(60),
        )
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let keys = keys();
        let claims = keys
            .verify_access(&keys.issue_access(7, Role::Teacher))
            .expect("valid");
        assert_eq!(
            (claims.user_id, claims.role, claims.sub.as_str()),
            (7, Role::Teacher, "7")
        );
    }

    #[test]
    fn alg_none_is_refused() {
        let keys = keys();
        let token = keys.issue_access(1, Role::Admin);
        let payload = token.split('.').nth(1).expect("payload");
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            keys.verify_access(&format!("{header}.{payload}.")),
            Err(JwtError::Invalid)
        );
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let other = JwtKeys::new(
            b"another-secret-another-secret-12345",
            "nexus-reussite",
            Duration::from_secs(60),
        );
        assert_eq!(
            keys().verify_access(&other.issue_access(1, Role::Admin)),
            Err(JwtError::Invalid)
        );
    }

    #[test]
    fn a_token_for_another_audience_is_refused() {
        let other = JwtKeys::new(
            b"a-test-secret-of-sufficient-length!!",
            "elsewhere",
            Duration::from_secs(60),
        );
        assert_eq!(
            keys().verify_access(&other.issue_access(1, Role::Admin)),
            Err(JwtError::Invalid)
        );
    }
}
