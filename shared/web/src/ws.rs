//! The websocket authentication handshake of the hub and ARIA, one copy for both: the
//! browser's `Origin` is checked before the upgrade; the token comes from `?token=` or
//! from a first frame `{"type":"auth","token":…}` within a timeout; it is checked as
//! the API checks it (signature, expiry, revocation, the account row); each refusal
//! closes the socket with the contract's code:
//!
//! | close | reason |
//! |---|---|
//! | 4401 | `authentication required` (no token, another first frame, or none in time) |
//! | 4401 | `invalid or expired token` (signature, expiry, type) |
//! | 4401 | `invalid token` (unknown account, session ended) |
//! | 4403 | `account disabled` |
//! | 1011 | `try again later` (the account could not be checked: the database is down) |
//!
//! What each service does after (the hub's connection cap, ARIA's roles) stays in it.

use std::time::Duration;

use axum::{
    extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::{
    ApiError,
    auth::{Authenticator, CurrentUser, origin_allowed},
};

/// A close code and its reason.
pub type Close = (u16, &'static str);

pub const AUTHENTICATION_REQUIRED: Close = (4401, "authentication required");
/// The client did not read its frames fast enough.
pub const SLOW_CONSUMER: Close = (4008, "slow consumer");

/// The upgrade's query: `?token=<accessToken>`, for clients that cannot send a first
/// frame quickly.
#[derive(Debug, Deserialize)]
pub struct ConnectQuery {
    pub token: Option<String>,
}

/// The refusal of a browser's upgrade from another origin than `CORS_ORIGINS` (HTTP 403
/// `origin_refused`); `None` lets it through. Clients that send no `Origin` are judged
/// by their token.
pub fn foreign_origin(headers: &HeaderMap, allowed: &[String]) -> Option<Response> {
    if origin_allowed(headers, allowed) {
        return None;
    }
    Some(
        ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_refused",
            "Origine non autorisée.",
        )
        .into_response(),
    )
}

pub fn close_frame((code, reason): Close) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

/// The token of the URL, else of the first frame, if it is an `auth` frame that comes
/// within `timeout`.
pub async fn token(
    socket: &mut WebSocket,
    query: Option<String>,
    timeout: Duration,
) -> Result<String, Close> {
    if let Some(token) = query {
        return Ok(token);
    }
    let first = tokio::time::timeout(timeout, socket.recv()).await;
    let Ok(Some(Ok(Message::Text(frame)))) = first else {
        return Err(AUTHENTICATION_REQUIRED);
    };
    nexus_protocol::auth_token(&frame).ok_or(AUTHENTICATION_REQUIRED)
}

/// A token checked as at connection: its user and its expiry (unix seconds).
pub async fn check(auth: &Authenticator, token: &str) -> Result<(CurrentUser, i64), Close> {
    let claims = auth
        .verify(token)
        .map_err(|_| (4401, "invalid or expired token"))?;
    let user = auth.load(&claims).await.map_err(|error| refusal(&error))?;
    Ok((user, claims.exp))
}

/// The close for an account that does not pass (the token itself was valid).
pub fn refusal(error: &ApiError) -> Close {
    if error.code == "account_disabled" {
        (4403, "account disabled")
    } else if error.status.is_server_error() {
        (1011, "try again later")
    } else {
        (4401, "invalid token")
    }
}
