//! In-process caches that Postgres keeps exact.
//!
//! A trigger on the cached table calls `pg_notify(channel, id)` in the transaction that
//! changes a row; [`run_invalidation`] listens on that channel and drops the entry when the
//! change commits. Between a commit and its notification there is the time the listener
//! takes to read it (well under a millisecond on one machine): the process that made the
//! change also drops the entry itself, before it answers, so its own next request never
//! sees the old row ([`NotifiedCache::invalidate`]).
//!
//! Two rules keep a stale value out:
//! - A reader takes a [`Ticket`] *before* it reads the database, and its value is stored
//!   only if no invalidation happened since: a value read before a change can never land
//!   after that change's notification.
//! - The cache only answers while its listener is connected. When the connection drops,
//!   notifications can be lost: the cache is emptied and every request reads the database
//!   until the listener is back (it is emptied again then).

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use sqlx::PgPool;

use crate::background::Stop;

pub struct NotifiedCache<K, V> {
    name: &'static str,
    capacity: usize,
    ttl: Duration,
    state: Mutex<State<K, V>>,
}

struct State<K, V> {
    /// Whether the listener is connected: a cache that may have missed a notification
    /// answers nothing.
    live: bool,
    /// Bumped by every invalidation: a ticket from before it is refused.
    generation: u64,
    entries: HashMap<K, (V, Instant)>,
}

/// Proof that no invalidation happened since it was taken (see the module's rules).
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

impl<K: Hash + Eq, V: Clone> NotifiedCache<K, V> {
    /// At most `capacity` entries, each kept at most `ttl` (a bound on memory and on how
    /// long a value that nothing changes stays, not what keeps it exact).
    pub fn new(name: &'static str, capacity: usize, ttl: Duration) -> Self {
        Self {
            name,
            capacity,
            ttl,
            state: Mutex::new(State {
                live: false,
                generation: 0,
                entries: HashMap::new(),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State<K, V>> {
        // A panic while holding the lock cannot leave the map half-written (every
        // operation is one HashMap call), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// To be taken before reading the database; `None` while the cache is off.
    pub fn ticket(&self) -> Option<Ticket> {
        let state = self.state();
        state.live.then_some(Ticket(state.generation))
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let state = self.state();
        if !state.live {
            return None;
        }
        state
            .entries
            .get(key)
            .filter(|(_, stored)| stored.elapsed() < self.ttl)
            .map(|(value, _)| value.clone())
    }

    /// Stores `value`, read from the database after `ticket` was taken, unless something
    /// was invalidated meanwhile. Returns whether it was stored.
    pub fn insert(&self, ticket: Ticket, key: K, value: V) -> bool {
        let mut state = self.state();
        if !state.live || state.generation != ticket.0 {
            return false;
        }
        if state.entries.len() >= self.capacity {
            let ttl = self.ttl;
            state
                .entries
                .retain(|_, (_, stored)| stored.elapsed() < ttl);
            if state.entries.len() >= self.capacity {
                state.entries.clear();
            }
        }
        state.entries.insert(key, (value, Instant::now()));
        true
    }

    /// Drops `key` and refuses the tickets taken before.
    pub fn invalidate(&self, key: &K) {
        let mut state = self.state();
        state.generation += 1;
        state.entries.remove(key);
    }

    fn clear(&self, live: bool) {
        let mut state = self.state();
        state.generation += 1;
        state.live = live;
        state.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.state().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Keeps `cache` exact until the service stops: listens on `channel`, whose payload is the
/// key of a changed row (anything else empties the whole cache). The cache answers only
/// while this runs with a connection.
pub async fn run_invalidation<V: Clone>(
    pool: PgPool,
    channel: &'static str,
    cache: Arc<NotifiedCache<i64, V>>,
    stop: Stop,
) {
    let mut backoff = Duration::from_millis(100);
    while !stop.is_stopping() {
        let listener = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
            listener.listen(channel).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = match stop.during(listener).await {
            None => break,
            Some(Ok(listener)) => listener,
            Some(Err(error)) => {
                tracing::debug!(cache = cache.name, %error, "cache listener cannot connect; cache off");
                if stop.during(tokio::time::sleep(backoff)).await.is_none() {
                    break;
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        // Whatever changed while no one listened is unknown: start empty.
        cache.clear(true);
        tracing::debug!(cache = cache.name, "cache on");
        loop {
            match stop.during(listener.try_recv()).await {
                None => break,
                Some(Ok(Some(notification))) => match notification.payload().parse::<i64>() {
                    Ok(key) => cache.invalidate(&key),
                    Err(_) => cache.clear(true),
                },
                // The connection is lost (`None`) or failed: notifications may be lost.
                Some(Ok(None)) | Some(Err(_)) => {
                    tracing::warn!(
                        cache = cache.name,
                        "cache listener lost its connection; cache off until it is back"
                    );
                    break;
                }
            }
        }
        cache.clear(false);
    }
    cache.clear(false);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live_cache() -> NotifiedCache<i64, &'static str> {
        let cache = NotifiedCache::new("test", 2, Duration::from_secs(60));
        cache.clear(true);
        cache
    }

    #[test]
    fn an_off_cache_answers_nothing_and_stores_nothing() {
        let cache = NotifiedCache::new("test", 10, Duration::from_secs(60));
        assert!(cache.ticket().is_none());
        let ticket = Ticket(0);
        assert!(!cache.insert(ticket, 1, "a"));
        assert_eq!(cache.get(&1), None);
    }

    #[test]
    fn a_value_read_before_an_invalidation_is_not_stored() {
        let cache = live_cache();
        let ticket = cache.ticket().expect("live");
        cache.invalidate(&7); // any key: the read may have seen the old row of any of them
        assert!(!cache.insert(ticket, 1, "old"));
        assert_eq!(cache.get(&1), None);
        let ticket = cache.ticket().expect("live");
        assert!(cache.insert(ticket, 1, "new"));
        assert_eq!(cache.get(&1), Some("new"));
        cache.invalidate(&1);
        assert_eq!(cache.get(&1), None);
    }

    #[test]
    fn going_off_empties_it_and_refuses_older_tickets() {
        let cache = live_cache();
        let ticket = cache.ticket().expect("live");
        assert!(cache.insert(ticket, 1, "a"));
        cache.clear(false);
        assert_eq!(cache.get(&1), None);
        cache.clear(true);
        assert_eq!(cache.get(&1), None);
        assert!(!cache.insert(ticket, 1, "a"));
    }

    #[test]
    fn it_holds_at_most_its_capacity_and_expires_entries() {
        let cache = live_cache();
        for key in 0..5 {
            let ticket = cache.ticket().expect("live");
            cache.insert(ticket, key, "v");
            assert!(cache.len() <= 2);
        }
        let cache = NotifiedCache::new("test", 10, Duration::ZERO);
        cache.clear(true);
        let ticket = cache.ticket().expect("live");
        cache.insert(ticket, 1, "v");
        assert_eq!(cache.get(&1), None);
    }
}
