//! The connections of this hub instance, by user: events for a user go to every one of
//! their open tabs. Sends never wait: a full queue marks the connection as a slow
//! consumer, which its task then closes.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tokio::sync::mpsc;

/// One event, serialised once, shared by every connection it goes to.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub offset: StreamId,
    pub frame: Arc<str>,
    /// When the event was created (for the delivery-latency metric).
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
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
    id: u64,
    sender: mpsc::Sender<Outgoing>,
}

#[derive(Default, Clone)]
pub struct Registry {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    by_user: HashMap<i64, Vec<Connection>>,
}

pub struct Registration {
    pub id: u64,
    pub receiver: mpsc::Receiver<Outgoing>,
}

impl Registry {
    pub fn register(&self, user_id: i64, queue: usize) -> Registration {
        let (sender, receiver) = mpsc::channel(queue.max(1));
        let mut inner = self.inner.lock().expect("registry lock");
        inner.next_id += 1;
        let id = inner.next_id;
        inner
            .by_user
            .entry(user_id)
            .or_default()
            .push(Connection { id, sender });
        Registration { id, receiver }
    }

    pub fn unregister(&self, user_id: i64, id: u64) {
        let mut inner = self.inner.lock().expect("registry lock");
        if let Some(connections) = inner.by_user.get_mut(&user_id) {
            connections.retain(|c| c.id != id);
            if connections.is_empty() {
                inner.by_user.remove(&user_id);
            }
        }
    }

    /// Queues an event for every connection of `user_id`. A connection whose queue is
    /// full is dropped from the registry: its receiver then ends, and its task closes
    /// the socket as a slow consumer.
    pub fn send(&self, user_id: i64, event: &Outgoing) {
        let mut inner = self.inner.lock().expect("registry lock");
        let Some(connections) = inner.by_user.get_mut(&user_id) else {
            return;
        };
        connections.retain(|c| match c.sender.try_send(event.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                crate::metrics::metrics().slow_consumers.inc();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
        if connections.is_empty() {
            inner.by_user.remove(&user_id);
        }
    }

    pub fn connection_count(&self) -> usize {
        self.inner
            .lock()
            .expect("registry lock")
            .by_user
            .values()
            .map(Vec::len)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u64) -> Outgoing {
        Outgoing {
            offset: StreamId(n, 0),
            frame: Arc::from("{}"),
            created_at: None,
        }
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
        let mut fast = registry.register(7, 4);
        let mut slow = registry.register(7, 1);
        registry.send(7, &event(1));
        assert_eq!(
            fast.receiver.recv().await.map(|e| e.offset),
            Some(StreamId(1, 0))
        );
        registry.send(7, &event(2));
        assert_eq!(
            registry.connection_count(),
            1,
            "the slow tab (queue of 1, unread) is dropped"
        );
        assert_eq!(
            fast.receiver.recv().await.map(|e| e.offset),
            Some(StreamId(2, 0))
        );
        assert_eq!(
            slow.receiver.recv().await.map(|e| e.offset),
            Some(StreamId(1, 0))
        );
        assert!(
            slow.receiver.recv().await.is_none(),
            "then its channel ends"
        );
    }
}
