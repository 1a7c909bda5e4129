//! The connections of this hub instance, by user: events for a user go to every one of
//! their open tabs. Sends never wait: a full queue marks the connection as a slow
//! consumer, which its task then closes.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::extract::ws::Utf8Bytes;
use nexus_protocol::Channel;
use tokio::sync::mpsc;

/// One event, serialised once; connections' queues share it (`Arc<Outgoing>`: a queue
/// slot is a pointer) and its frame (`Utf8Bytes` is reference-counted: no copy per
/// connection).
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The event's position in the replay stream; `None` for live-only frames (typing,
    /// presence), which are never replayed.
    pub offset: Option<StreamId>,
    pub frame: Utf8Bytes,
    /// When the event was created (for the delivery-latency metric).
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Instead of a frame: an order for the connection's task.
    pub control: Option<Control>,
}

/// Orders for a connection, queued in order with its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Close with this code and reason (the account was deactivated, or its role changed).
    Close(u16, &'static str),
    /// Check the connection's token again: some of its user's tokens were revoked.
    Recheck,
}

impl Outgoing {
    pub fn control(control: Control) -> Arc<Outgoing> {
        Arc::new(Outgoing {
            offset: None,
            frame: Utf8Bytes::from_static(""),
            created_at: None,
            control: Some(control),
        })
    }
}

/// A Redis stream entry id (`milliseconds-sequence`), ordered as Redis orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct StreamId(pub u64, pub u64);

impl StreamId {
    pub fn parse(raw: &str) -> Option<StreamId> {
        let (ms, seq) = raw.split_once('-')?;
        Some(StreamId(ms.parse().ok()?, seq.parse().ok()?))
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.0, self.1)
    }
}

struct Connection {
    user_id: i64,
    sender: mpsc::Sender<Arc<Outgoing>>,
}

#[derive(Default, Clone)]
pub struct Registry {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    connections: HashMap<u64, Connection>,
    by_user: HashMap<i64, Vec<u64>>,
    by_channel: HashMap<Channel, Vec<u64>>,
    /// Recent token revocations, by user, and the last time every token had to be
    /// checked: a connection whose token was checked before one of them but which
    /// registers after it would otherwise never hear of it.
    revocations: HashMap<i64, Instant>,
    everyone_revoked: Option<Instant>,
}

/// How long a revocation is remembered for connections still authenticating; one whose
/// check is older than this is checked again anyway.
const REVOCATION_MEMORY: Duration = Duration::from_secs(300);

impl Inner {
    fn revoked_since(&self, user_id: i64, checked_at: Instant) -> bool {
        checked_at.elapsed() >= REVOCATION_MEMORY
            || self.everyone_revoked.is_some_and(|at| at >= checked_at)
            || self
                .revocations
                .get(&user_id)
                .is_some_and(|at| *at >= checked_at)
    }
}

impl Inner {
    /// Queues for one connection; `false` when it must be dropped (full or gone).
    fn offer(&self, id: u64, event: &Arc<Outgoing>) -> bool {
        let Some(connection) = self.connections.get(&id) else {
            return false;
        };
        match connection.sender.try_send(event.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                crate::metrics::metrics().slow_consumers.inc();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    fn remove(&mut self, id: u64) {
        if let Some(connection) = self.connections.remove(&id)
            && let Some(ids) = self.by_user.get_mut(&connection.user_id)
        {
            ids.retain(|c| *c != id);
            if ids.is_empty() {
                self.by_user.remove(&connection.user_id);
            }
        }
        self.by_channel.retain(|_, ids| {
            ids.retain(|c| *c != id);
            !ids.is_empty()
        });
    }

    fn deliver(&mut self, ids: Vec<u64>, event: &Arc<Outgoing>) {
        let dropped: Vec<u64> = ids
            .into_iter()
            .filter(|id| !self.offer(*id, event))
            .collect();
        for id in dropped {
            self.remove(id);
        }
    }
}

pub struct Registration {
    pub id: u64,
    pub receiver: mpsc::Receiver<Arc<Outgoing>>,
}

impl Registry {
    /// Adds a connection whose token was checked at `checked_at`. If a revocation for
    /// its user was announced since, its first order is to check the token again.
    pub fn register(&self, user_id: i64, queue: usize, checked_at: Instant) -> Registration {
        let (sender, receiver) = mpsc::channel(queue.max(1));
        let mut inner = self.inner.lock().expect("registry lock");
        if inner.revoked_since(user_id, checked_at) {
            let _ = sender.try_send(Outgoing::control(Control::Recheck));
        }
        inner.next_id += 1;
        let id = inner.next_id;
        inner.connections.insert(id, Connection { user_id, sender });
        inner.by_user.entry(user_id).or_default().push(id);
        Registration { id, receiver }
    }

    pub fn unregister(&self, id: u64) {
        self.inner.lock().expect("registry lock").remove(id);
    }

    /// Adds a connection to a channel's subscribers (idempotent).
    pub fn subscribe(&self, id: u64, channel: Channel) {
        let mut inner = self.inner.lock().expect("registry lock");
        let ids = inner.by_channel.entry(channel).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }

    pub fn unsubscribe(&self, id: u64, channel: Channel) {
        let mut inner = self.inner.lock().expect("registry lock");
        if let Some(ids) = inner.by_channel.get_mut(&channel) {
            ids.retain(|c| *c != id);
            if ids.is_empty() {
                inner.by_channel.remove(&channel);
            }
        }
    }

    /// Queues an event for every connection of `user_id`. A connection whose queue is
    /// full is dropped from the registry: its receiver then ends, and its task closes
    /// the socket as a slow consumer.
    pub fn send(&self, user_id: i64, event: &Arc<Outgoing>) {
        let mut inner = self.inner.lock().expect("registry lock");
        let ids = inner.by_user.get(&user_id).cloned().unwrap_or_default();
        inner.deliver(ids, event);
    }

    /// Some of this user's tokens were revoked: each of their connections checks its
    /// token again.
    pub fn revoke(&self, user_id: i64) {
        let mut inner = self.inner.lock().expect("registry lock");
        let now = Instant::now();
        inner
            .revocations
            .retain(|_, at| now.duration_since(*at) < REVOCATION_MEMORY);
        inner.revocations.insert(user_id, now);
        let ids = inner.by_user.get(&user_id).cloned().unwrap_or_default();
        inner.deliver(ids, &Outgoing::control(Control::Recheck));
    }

    /// Revocations may have been missed: every connection checks its token again.
    pub fn revoke_all(&self) {
        let mut inner = self.inner.lock().expect("registry lock");
        inner.everyone_revoked = Some(Instant::now());
        let ids = inner.connections.keys().copied().collect();
        inner.deliver(ids, &Outgoing::control(Control::Recheck));
    }

    /// Queues an event for every connection subscribed to `channel`.
    pub fn send_to_channel(&self, channel: Channel, event: &Arc<Outgoing>) {
        let mut inner = self.inner.lock().expect("registry lock");
        let ids = inner.by_channel.get(&channel).cloned().unwrap_or_default();
        inner.deliver(ids, event);
    }

    pub fn connection_count(&self) -> usize {
        self.inner.lock().expect("registry lock").connections.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u64) -> Arc<Outgoing> {
        Arc::new(Outgoing {
            control: None,
            offset: Some(StreamId(n, 0)),
            frame: Utf8Bytes::from_static("{}"),
            created_at: None,
        })
    }

    #[test]
    fn stream_ids_order_like_redis() {
        assert!(StreamId::parse("1700000000000-1") > StreamId::parse("1700000000000-0"));
        assert!(StreamId::parse("1700000000001-0") > StreamId::parse("1700000000000-9"));
        assert_eq!(StreamId::parse("nope"), None);
    }

    #[tokio::test]
    async fn every_tab_of_a_user_gets_the_event_and_a_full_queue_drops_only_that_tab() {
        let registry = Registry::default();
        let mut fast = registry.register(7, 4, Instant::now());
        let mut slow = registry.register(7, 1, Instant::now());
        registry.send(7, &event(1));
        assert_eq!(
            fast.receiver.recv().await.map(|e| e.offset),
            Some(Some(StreamId(1, 0)))
        );
        registry.send(7, &event(2));
        assert_eq!(
            registry.connection_count(),
            1,
            "the slow tab (queue of 1, unread) is dropped"
        );
        assert_eq!(
            fast.receiver.recv().await.map(|e| e.offset),
            Some(Some(StreamId(2, 0)))
        );
        assert_eq!(
            slow.receiver.recv().await.map(|e| e.offset),
            Some(Some(StreamId(1, 0)))
        );
        assert!(
            slow.receiver.recv().await.is_none(),
            "then its channel ends"
        );
    }

    #[tokio::test]
    async fn channel_events_reach_subscribers_only() {
        let registry = Registry::default();
        let mut member = registry.register(1, 4, Instant::now());
        let mut other = registry.register(2, 4, Instant::now());
        registry.subscribe(member.id, Channel::Class(5));
        registry.send_to_channel(Channel::Class(5), &event(1));
        assert_eq!(
            member.receiver.recv().await.map(|e| e.offset),
            Some(Some(StreamId(1, 0)))
        );
        assert!(other.receiver.try_recv().is_err());
        registry.unsubscribe(member.id, Channel::Class(5));
        registry.send_to_channel(Channel::Class(5), &event(2));
        assert!(member.receiver.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_connection_checked_before_a_revocation_and_registered_after_it_checks_again() {
        let registry = Registry::default();
        let checked = Instant::now();
        registry.revoke(7);
        let mut late = registry.register(7, 4, checked);
        let mut other = registry.register(8, 4, checked);
        let mut fresh = registry.register(7, 4, Instant::now());
        assert_eq!(
            late.receiver.try_recv().ok().and_then(|e| e.control),
            Some(Control::Recheck)
        );
        assert!(
            other.receiver.try_recv().is_err(),
            "another user's revocation"
        );
        assert!(
            fresh.receiver.try_recv().is_err(),
            "checked after the revocation"
        );
        registry.revoke_all();
        for connection in [&mut late, &mut other, &mut fresh] {
            assert_eq!(
                connection.receiver.try_recv().ok().and_then(|e| e.control),
                Some(Control::Recheck)
            );
        }
    }
}
