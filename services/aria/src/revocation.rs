//! Revoked tokens close ARIA's websockets at once, not at their next question.
//!
//! The API announces that some of a user's tokens stopped being valid (logout, password
//! reset, account disabled, role changed) by publishing the user's id on
//! [`REVOKED_CHANNEL`]. ARIA keeps, per user, the token of each open socket; on such a
//! message it checks each of that user's sockets again (`Authenticator::authenticate`)
//! and closes those that fail: 4401 for a token that no longer passes, 4403 for a
//! disabled account or a role that may not use ARIA (the codes of the connection).
//! Messages published while ARIA is not subscribed are lost, so every open socket is
//! checked once each time the subscription is (re)established.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use futures::StreamExt;
#[cfg(doc)]
use nexus_web::auth::REVOKED_CHANNEL;

use crate::{
    AppState,
    metrics::metrics,
    ws::{self, Closer},
};

#[derive(Debug)]
struct Socket {
    token: String,
    closer: Closer,
}

/// The open websockets, by user then by connection.
#[derive(Debug, Clone, Default)]
pub struct Sockets {
    open: Arc<Mutex<HashMap<i64, HashMap<u64, Socket>>>>,
    next: Arc<std::sync::atomic::AtomicU64>,
}

/// Removes its socket from [`Sockets`] when dropped.
pub struct Registration {
    sockets: Sockets,
    user_id: i64,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut open = self.sockets.lock();
        if let Some(of_user) = open.get_mut(&self.user_id) {
            of_user.remove(&self.id);
            if of_user.is_empty() {
                open.remove(&self.user_id);
            }
        }
    }
}

impl Sockets {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, HashMap<u64, Socket>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn register(&self, user_id: i64, token: String, closer: Closer) -> Registration {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.lock()
            .entry(user_id)
            .or_default()
            .insert(id, Socket { token, closer });
        Registration {
            sockets: self.clone(),
            user_id,
            id,
        }
    }

    /// The tokens and closers of a user's sockets, or of all of them.
    fn of(&self, user_id: Option<i64>) -> Vec<(String, Closer)> {
        let open = self.lock();
        let sockets = |of_user: &HashMap<u64, Socket>| {
            of_user
                .values()
                .map(|s| (s.token.clone(), s.closer.clone()))
                .collect::<Vec<_>>()
        };
        match user_id {
            Some(user_id) => open.get(&user_id).map(sockets).unwrap_or_default(),
            None => open.values().flat_map(sockets).collect(),
        }
    }
}

/// Checks again the sockets of `user_id` (all sockets with `None`), closing those
/// whose token no longer passes.
pub async fn recheck(state: &AppState, user_id: Option<i64>) {
    for (token, closer) in state.sockets.of(user_id) {
        if let Some(code) = ws::recheck(state, &token).await
            && closer.close(code)
        {
            metrics().ws_closes.with_label_values(&["revoked"]).inc();
        }
    }
}

/// Follows [`REVOKED_CHANNEL`] for as long as the process runs, subscribing again
/// (with backoff, up to 5 s) whenever the connection to Redis is lost.
/// `channel` is [`REVOKED_CHANNEL`] under the deployment's key prefix.
pub async fn follow(state: AppState, channel: String) {
    let redis = state.settings.common.redis_url.expose().to_owned();
    let client = match redis::Client::open(redis) {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "REDIS_URL is invalid: revocations are not followed");
            return;
        }
    };
    let mut backoff = Duration::from_millis(100);
    loop {
        match subscribe(&client, &channel).await {
            Ok(mut pubsub) => {
                backoff = Duration::from_millis(100);
                // What was announced while unsubscribed is lost: check every socket.
                recheck(&state, None).await;
                let mut messages = pubsub.on_message();
                while let Some(message) = messages.next().await {
                    let user_id = message
                        .get_payload::<String>()
                        .ok()
                        .and_then(|p| p.trim().parse::<i64>().ok());
                    match user_id {
                        Some(user_id) => {
                            let state = state.clone();
                            tokio::spawn(async move { recheck(&state, Some(user_id)).await });
                        }
                        None => tracing::warn!("unreadable message on the revocation channel"),
                    }
                }
                tracing::warn!("revocation subscription lost; subscribing again");
            }
            Err(error) => {
                tracing::warn!(%error, "cannot subscribe to revocations; retrying");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn subscribe(client: &redis::Client, channel: &str) -> anyhow::Result<redis::aio::PubSub> {
    let subscribed = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, redis::RedisError>(pubsub)
    };
    Ok(tokio::time::timeout(Duration::from_secs(5), subscribed).await??)
}
