//! In-process caches that Postgres keeps exact.
//!
//! A trigger on the cached table calls `pg_notify(channel, id)` in the transaction that
//! changes a row; [`Invalidations::run`] listens on that channel and drops the entry when
//! the change commits (well under a millisecond later on one machine).
//!
//! Two rules keep a stale value out:
//! - A reader takes a [`Ticket`] *before* it reads the database, and its value is stored
//!   only if no invalidation happened since: a value read before a change can never land
//!   after that change's notification.
//! - The cache only answers while its listener is connected. When the connection drops,
//!   notifications can be lost: the cache is emptied and every request reads the database
//!   until the listener is back (it is emptied again then).
//!
//! Concurrent misses of one key read the database once: the first reader leads, the
//! others wait for its value, and get it only if it was stored (a value the cache would
//! have served them anyway); otherwise, or if the leader failed, each reads on its own.
//! A request that arrives after an invalidation never joins a read that began before it.
//!
//! One connection listens for all the caches of a process ([`Invalidations`]); a request
//! that wrote waits, before it answers, until the notifications of what it committed have
//! arrived ([`Invalidations::settle`], a fraction of a millisecond): its client never reads
//! back an old value from this process. Other replicas apply a change when its
//! notification arrives.

use std::{
    collections::HashMap,
    future::Future,
    hash::Hash,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    extract::FromRequestParts,
    http::{HeaderValue, header, request::Parts},
    response::{IntoResponse, Response},
};
use prometheus::{IntCounterVec, Opts};
use sqlx::PgPool;
use tokio::sync::watch;

use crate::{ApiError, background::Stop};

/// `cache_lookups_total{cache, outcome}`: `hit`, `miss` (read from the database, then
/// kept unless invalidated meanwhile), `shared` (a miss that waited for another request's
/// read of the same key), `fresh` (`Cache-Control: no-cache`), `off` (the listener is
/// disconnected: read from the database, not kept).
fn lookups() -> &'static IntCounterVec {
    static METRIC: std::sync::OnceLock<IntCounterVec> = std::sync::OnceLock::new();
    METRIC.get_or_init(|| {
        let metric = IntCounterVec::new(
            Opts::new(
                "cache_lookups_total",
                "Lookups in the in-process caches, by outcome",
            ),
            &["cache", "outcome"],
        )
        .expect("valid metric definition");
        let _ = nexus_telemetry::registry().register(Box::new(metric.clone()));
        metric
    })
}

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
    /// Each value with the instant it stops being served.
    entries: HashMap<K, (V, Instant)>,
    /// The reads under way, by key: the generation each began in, and where its value
    /// will be sent if it is stored.
    reading: HashMap<K, (u64, watch::Receiver<Option<V>>)>,
}

/// What a request does on a miss.
enum Miss<V> {
    /// Reads, and sends what it stored to those waiting.
    Lead(Ticket, watch::Sender<Option<V>>),
    /// Waits for the read under way.
    Follow(watch::Receiver<Option<V>>),
    /// The cache is off: reads, keeps nothing.
    Off,
}

/// Proof that no invalidation happened since it was taken (see the module's rules).
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

/// Whether a value just read may be kept ([`NotifiedCache::get_or_read`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    No,
    /// For the cache's `ttl`.
    Yes,
    /// A value that also depends on the time: until this instant at the latest.
    Until(Instant),
}

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
                reading: HashMap::new(),
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
            .filter(|(_, expires)| Instant::now() < *expires)
            .map(|(value, _)| value.clone())
    }

    /// Stores `value`, read from the database after `ticket` was taken, unless something
    /// was invalidated meanwhile. Returns whether it was stored.
    pub fn insert(&self, ticket: Ticket, key: K, value: V) -> bool {
        self.insert_until(ticket, key, value, None)
    }

    /// Like [`insert`](Self::insert), for a value that also depends on the time: it is
    /// served until `until` at the latest (the cache's `ttl` still bounds it).
    pub fn insert_until(&self, ticket: Ticket, key: K, value: V, until: Option<Instant>) -> bool {
        let now = Instant::now();
        let expires = until.map_or(now + self.ttl, |until| until.min(now + self.ttl));
        let mut state = self.state();
        if !state.live || state.generation != ticket.0 {
            return false;
        }
        if state.entries.len() >= self.capacity {
            state.entries.retain(|_, (_, expires)| now < *expires);
            if state.entries.len() >= self.capacity {
                state.entries.clear();
            }
        }
        state.entries.insert(key, (value, expires));
        true
    }

    /// The value of `key`: the cached one, or else `read`'s, then kept as it says (unless
    /// something was invalidated during the read). `fresh` (the request said
    /// `Cache-Control: no-cache`, see [`Fresh`]) reads and leaves the cache as it is.
    pub async fn get_or_read<E, Read>(&self, key: K, fresh: bool, read: Read) -> Result<V, E>
    where
        K: Clone,
        Read: Future<Output = Result<(V, Keep), E>>,
    {
        if fresh {
            lookups().with_label_values(&[self.name, "fresh"]).inc();
            return Ok(read.await?.0);
        }
        if let Some(value) = self.get(&key) {
            lookups().with_label_values(&[self.name, "hit"]).inc();
            return Ok(value);
        }
        let miss = match self.miss(&key) {
            Miss::Follow(mut waiting) => {
                if let Ok(value) = waiting.wait_for(Option::is_some).await
                    && let Some(value) = value.clone()
                {
                    lookups().with_label_values(&[self.name, "shared"]).inc();
                    return Ok(value);
                }
                // Not stored (not to be kept, or invalidated meanwhile), or the read failed:
                // this request reads on its own.
                self.ticket().map_or(Miss::Off, |ticket| {
                    Miss::Lead(ticket, watch::channel(None).0)
                })
            }
            miss => miss,
        };
        let Miss::Lead(ticket, sender) = miss else {
            lookups().with_label_values(&[self.name, "off"]).inc();
            return Ok(read.await?.0);
        };
        lookups().with_label_values(&[self.name, "miss"]).inc();
        let done = Reading {
            cache: self,
            key: key.clone(),
            receiver: sender.subscribe(),
        };
        let (value, keep) = read.await?;
        let stored = match keep {
            Keep::No => false,
            Keep::Yes => self.insert(ticket, key, value.clone()),
            Keep::Until(until) => self.insert_until(ticket, key, value.clone(), Some(until)),
        };
        if stored {
            sender.send_replace(Some(value.clone()));
        }
        drop(done);
        Ok(value)
    }

    /// Leads a read of `key` (taking its ticket), or joins the one under way if it began
    /// after the last invalidation.
    fn miss(&self, key: &K) -> Miss<V>
    where
        K: Clone,
    {
        let mut state = self.state();
        if !state.live {
            return Miss::Off;
        }
        let generation = state.generation;
        if let Some((began, receiver)) = state.reading.get(key)
            && *began == generation
        {
            return Miss::Follow(receiver.clone());
        }
        let (sender, receiver) = watch::channel(None);
        state.reading.insert(key.clone(), (generation, receiver));
        Miss::Lead(Ticket(generation), sender)
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

/// A read under way: forgotten when it ends, however it ends (a value, an error, the
/// request dropped), so that the next miss reads again.
struct Reading<'a, K: Hash + Eq, V: Clone> {
    cache: &'a NotifiedCache<K, V>,
    key: K,
    receiver: watch::Receiver<Option<V>>,
}

impl<K: Hash + Eq, V: Clone> Drop for Reading<'_, K, V> {
    fn drop(&mut self) {
        let mut state = self.cache.state();
        if state
            .reading
            .get(&self.key)
            .is_some_and(|(_, receiver)| receiver.same_channel(&self.receiver))
        {
            state.reading.remove(&self.key);
        }
    }
}

/// Whether the request asks for a value read now rather than a kept one
/// (`Cache-Control: no-cache`, as a browser's reload sends): it then costs what a miss
/// costs (how the benchmarks measure a miss, and the tests compare a cached answer with
/// the database's). An extractor that reads the header in place (no copy of the headers
/// on the cached reads' path).
#[derive(Debug, Clone, Copy)]
pub struct Fresh(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for Fresh {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let fresh = (parts.headers.get_all(header::CACHE_CONTROL).iter())
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|directive| directive.trim().eq_ignore_ascii_case("no-cache"));
        Ok(Self(fresh))
    }
}

/// `value` encoded as JSON, to be kept in a cache.
pub fn json_bytes<T: serde::Serialize>(value: &T) -> Result<Bytes, ApiError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| ApiError::internal(e.into()))
}

/// A response whose body is JSON already encoded (a cached value).
pub fn json_body(body: Bytes) -> Response {
    let json = HeaderValue::from_static("application/json");
    ([(header::CONTENT_TYPE, json)], body).into_response()
}

/// A key a notification's payload can name.
pub trait NotifiedKey: Hash + Eq + Sized + Send + 'static {
    /// The key a payload names; `None` empties the whole cache (a payload naming no key,
    /// or a cache whose keys no payload names one by one).
    fn from_payload(payload: &str) -> Option<Self>;
}

/// Row ids.
impl NotifiedKey for i64 {
    fn from_payload(payload: &str) -> Option<Self> {
        payload.parse().ok()
    }
}

/// What the listener does with a cache.
trait Listened: Send + Sync {
    fn name(&self) -> &'static str;
    fn notified(&self, payload: &str);
    fn set_live(&self, live: bool);
}

impl<K: NotifiedKey, V: Clone + Send + Sync> Listened for NotifiedCache<K, V> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn notified(&self, payload: &str) {
        match K::from_payload(payload) {
            Some(key) => self.invalidate(&key),
            None => self.clear(true),
        }
    }

    fn set_live(&self, live: bool) {
        self.clear(live);
    }
}

/// The channel [`Invalidations::settle`] notifies on.
const SETTLED: &str = "nexus_cache_settled";

/// The process's caches and the one connection that LISTENs for all of them
/// ([`run`](Self::run)). A cache answers only while that connection is up.
#[derive(Default)]
pub struct Invalidations {
    caches: Vec<(&'static str, Arc<dyn Listened>)>,
    /// `settle` calls waiting for their notification, by token.
    waiting: Mutex<HashMap<String, tokio::sync::oneshot::Sender<()>>>,
    connected: AtomicBool,
}

impl Invalidations {
    /// `cache` drops what the notifications on `channel` name.
    pub fn with<K: NotifiedKey, V: Clone + Send + Sync + 'static>(
        mut self,
        channel: &'static str,
        cache: Arc<NotifiedCache<K, V>>,
    ) -> Self {
        self.caches.push((channel, cache));
        self
    }

    fn set_live(&self, live: bool) {
        for (_, cache) in &self.caches {
            cache.set_live(live);
        }
    }

    /// Keeps the caches exact until the service stops. The caches are emptied whenever
    /// the connection comes or goes (what changed while no one listened is unknown).
    pub async fn run(self: Arc<Self>, pool: PgPool, stop: Stop) {
        let mut channels: Vec<&str> = self.caches.iter().map(|(channel, _)| *channel).collect();
        channels.push(SETTLED);
        channels.sort_unstable();
        channels.dedup();
        let mut backoff = Duration::from_millis(100);
        while !stop.is_stopping() {
            let listener = async {
                let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
                listener.listen_all(channels.iter().copied()).await?;
                Ok::<_, sqlx::Error>(listener)
            };
            let mut listener = match stop.during(listener).await {
                None => break,
                Some(Ok(listener)) => listener,
                Some(Err(error)) => {
                    tracing::debug!(%error, "cache listener cannot connect; caches off");
                    if stop.during(tokio::time::sleep(backoff)).await.is_none() {
                        break;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            self.set_live(true);
            self.connected.store(true, Ordering::SeqCst);
            tracing::debug!("caches on");
            loop {
                match stop.during(listener.try_recv()).await {
                    None => break,
                    Some(Ok(Some(notification))) => {
                        let (channel, payload) = (notification.channel(), notification.payload());
                        if channel == SETTLED {
                            let waiter = self.waiting().remove(payload);
                            if let Some(waiter) = waiter {
                                let _ = waiter.send(());
                            }
                        }
                        for (_, cache) in self.caches.iter().filter(|(c, _)| *c == channel) {
                            cache.notified(payload);
                        }
                    }
                    // The connection is lost (`None`) or failed: notifications may be lost.
                    Some(Ok(None)) | Some(Err(_)) => {
                        let names: Vec<_> = self.caches.iter().map(|(_, c)| c.name()).collect();
                        tracing::warn!(
                            caches = ?names,
                            "cache listener lost its connection; caches off until it is back"
                        );
                        break;
                    }
                }
            }
            self.go_off();
        }
        self.go_off();
    }

    fn waiting(&self) -> MutexGuard<'_, HashMap<String, tokio::sync::oneshot::Sender<()>>> {
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn go_off(&self) {
        self.connected.store(false, Ordering::SeqCst);
        self.set_live(false);
        // The caches are empty and off: nothing stale can be served to those waiting.
        self.waiting().clear();
    }

    /// Returns once every notification of the transactions committed before the call has
    /// reached this process's caches: a request that wrote calls it before answering, so
    /// that its client's next request never reads what it just changed from a cache.
    /// (Postgres delivers a session's notifications in commit order: when the one sent
    /// here arrives, those before it have been applied.)
    pub async fn settle(&self, pool: &PgPool) {
        if !self.connected.load(Ordering::SeqCst) {
            return; // the caches are off
        }
        let token = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.waiting().insert(token.clone(), tx);
        let sent = sqlx::query("select pg_notify($1, $2)")
            .bind(SETTLED)
            .bind(&token)
            .execute(pool)
            .await;
        let arrived = sent.is_ok()
            && tokio::time::timeout(Duration::from_secs(2), rx)
                .await
                .is_ok();
        if !arrived {
            self.waiting().remove(&token);
            // Whether the caches saw the changes is unknown: they start over.
            tracing::warn!("cache notifications did not settle; caches emptied");
            self.set_live(self.connected.load(Ordering::SeqCst));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live_cache() -> NotifiedCache<i64, &'static str> {
        let cache = NotifiedCache::new("test", 2, Duration::from_secs(60));
        cache.clear(true);
        cache
    }

    /// A read of `value` that takes 50 ms and counts itself in `reads`.
    async fn slow_read(
        reads: &std::sync::atomic::AtomicUsize,
        value: &'static str,
        keep: Keep,
    ) -> Result<(&'static str, Keep), ()> {
        reads.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok((value, keep))
    }

    #[tokio::test]
    async fn concurrent_misses_of_one_key_read_it_once() {
        let cache = live_cache();
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let answers = futures::future::join_all(
            (0..10).map(|_| cache.get_or_read(1, false, slow_read(&reads, "a", Keep::Yes))),
        )
        .await;
        assert!(answers.iter().all(|a| *a == Ok("a")));
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        assert!(
            cache.state().reading.is_empty(),
            "the read is forgotten once done"
        );
    }

    #[tokio::test]
    async fn a_value_not_kept_is_not_handed_to_others() {
        // The first reader's value is its own (a draft its author may see): the second,
        // waiting for it, reads on its own.
        let cache = live_cache();
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let first = cache.get_or_read(1, false, slow_read(&reads, "draft", Keep::No));
        let second = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            cache
                .get_or_read(1, false, slow_read(&reads, "published", Keep::Yes))
                .await
        };
        let (first, second) = tokio::join!(first, second);
        assert_eq!((first, second), (Ok("draft"), Ok("published")));
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_miss_after_an_invalidation_does_not_join_an_older_read() {
        let cache = live_cache();
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let first = cache.get_or_read(1, false, slow_read(&reads, "old", Keep::Yes));
        let second = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            cache.invalidate(&1);
            cache
                .get_or_read(1, false, slow_read(&reads, "new", Keep::Yes))
                .await
        };
        let (first, second) = tokio::join!(first, second);
        assert_eq!((first, second), (Ok("old"), Ok("new")));
        assert_eq!(reads.load(Ordering::SeqCst), 2);
        assert_eq!(cache.get(&1), Some("new"));
    }

    #[tokio::test]
    async fn when_the_read_fails_those_waiting_read_on_their_own() {
        let cache = live_cache();
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let first = cache.get_or_read(1, false, async {
            reads.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err::<(&str, Keep), ()>(())
        });
        let second = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            cache
                .get_or_read(1, false, slow_read(&reads, "a", Keep::Yes))
                .await
        };
        let (first, second) = tokio::join!(first, second);
        assert_eq!((first, second), (Err(()), Ok("a")));
        assert_eq!(reads.load(Ordering::SeqCst), 2);
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

    #[test]
    fn a_value_that_depends_on_the_time_is_served_until_its_instant() {
        let cache = live_cache();
        let ticket = cache.ticket().expect("live");
        let now = Instant::now();
        cache.insert_until(ticket, 1, "past", Some(now));
        assert_eq!(cache.get(&1), None);
        cache.insert_until(ticket, 2, "later", Some(now + Duration::from_secs(30)));
        assert_eq!(cache.get(&2), Some("later"));
        // The cache's own bound wins over a later instant.
        let cache = NotifiedCache::new("test", 10, Duration::ZERO);
        cache.clear(true);
        let ticket = cache.ticket().expect("live");
        cache.insert_until(ticket, 1, "v", Some(now + Duration::from_secs(30)));
        assert_eq!(cache.get(&1), None);
    }
}
