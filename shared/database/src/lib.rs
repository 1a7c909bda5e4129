//! Postgres access shared by the services: the pool and the migrations.

use std::time::Duration;

use anyhow::Context;
use sqlx::{
    Connection, PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

#[macro_use]
mod words;

pub mod access;
pub mod assessments;
pub mod consent;
pub mod courses;
pub mod levels;
pub mod outbox;

pub use sqlx;

/// The schema, embedded in every binary that runs migrations.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../database/migrations");

/// A connection idle this long is checked before it serves again.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// When a pool opens its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// As requests need them, up to the pool's size; one idle for five minutes is closed.
    OnDemand,
    /// All of them as the pool starts, in the background, and kept open however idle
    /// (one closed is replaced). A burst of requests then never waits for new ones: opening a connection
    /// (a Postgres backend forked, the password's SCRAM exchange) takes tens of
    /// milliseconds on busy cores, and a burst that finds the pool short opens many at
    /// once — the 100–350 ms maxima of the API's first seconds under load
    /// (docs/PERFORMANCE.md).
    AllAtStart,
}

/// A pool that connects lazily: a service starts (and answers `/health`, and `/ready`
/// with 503) while Postgres is still coming up, instead of crashing in a loop. With
/// [`Opening::AllAtStart`] it starts opening its connections at once, without waiting
/// for them (must be called inside a Tokio runtime).
pub fn lazy_pool(url: &str, max_connections: u32, opening: Opening) -> anyhow::Result<PgPool> {
    let pool = pool_options(max_connections, opening).connect_lazy_with(connect_options(url)?);
    open_in_background(&pool, opening);
    Ok(pool)
}

/// A lazy pool whose connections make one plan per prepared statement, for every value
/// of its parameters (`plan_cache_mode = force_generic_plan`), instead of planning anew
/// for a value Postgres thinks unusual. For a statement that costs more to plan than to
/// run and whose best plan does not depend on its parameters (a student's dashboard);
/// without a transaction around each call to set the mode (two round trips more).
pub fn lazy_pool_with_generic_plans(
    url: &str,
    max_connections: u32,
    opening: Opening,
) -> anyhow::Result<PgPool> {
    let options = connect_options(url)?.options([("plan_cache_mode", "force_generic_plan")]);
    let pool = pool_options(max_connections, opening).connect_lazy_with(options);
    open_in_background(&pool, opening);
    Ok(pool)
}

/// Opens every connection of an [`Opening::AllAtStart`] pool: takes them all at once,
/// which makes the pool open as many, then gives them back. If Postgres cannot be reached
/// yet, it gives up after the pool's acquire timeout; the pool then opens connections as
/// requests need them and, at its next idle check, opens up to its size again.
fn open_in_background(pool: &PgPool, opening: Opening) {
    if opening == Opening::OnDemand {
        return;
    }
    let pool = pool.clone();
    tokio::spawn(async move {
        let size = pool.options().get_max_connections() as usize;
        let opened = futures::future::join_all((0..size).map(|_| pool.acquire())).await;
        let failed = opened.iter().filter(|c| c.is_err()).count();
        if failed > 0 {
            tracing::debug!(failed, size, "Postgres connections not opened at start");
        }
    });
}

fn connect_options(url: &str) -> anyhow::Result<PgConnectOptions> {
    let options: PgConnectOptions = url
        .parse()
        .context("DATABASE_URL is not a valid Postgres URL")?;
    Ok(options.application_name("nexus"))
}

fn pool_options(max_connections: u32, opening: Opening) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(match opening {
            Opening::OnDemand => 0,
            Opening::AllAtStart => max_connections,
        })
        .acquire_timeout(Duration::from_secs(5))
        // Idle ones are closed after five minutes, unless the pool keeps them all (then only
        // sqlx's 30-minute lifetime renews them).
        .idle_timeout(match opening {
            Opening::OnDemand => Some(Duration::from_secs(300)),
            Opening::AllAtStart => None,
        })
        // sqlx pings every connection twice: when it is handed out and when it comes back
        // (each a round trip, and a wake-up of its Postgres backend). The ping on return
        // stays: a connection that broke while in use is closed there. The one on
        // checkout is kept only for a connection that sat idle for a while, which may
        // have been cut since (Postgres restarted, a proxy's timeout); one that fails is
        // closed and another taken.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// Connects, retrying for a while: used by commands that cannot work without the database.
pub async fn connect_with_retry(
    url: &str,
    max_connections: u32,
    wait: Duration,
) -> anyhow::Result<PgPool> {
    let pool = lazy_pool(url, max_connections, Opening::OnDemand)?;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match sqlx::query("select 1").execute(&pool).await {
            Ok(_) => return Ok(pool),
            Err(error) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(%error, "Postgres not reachable yet, retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => return Err(error).context("connecting to Postgres"),
        }
    }
}

/// Applies pending migrations; safe to run from several processes at once (sqlx takes an
/// advisory lock).
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("running database migrations")
}

/// Is Postgres answering? For `/ready`.
pub async fn ping(pool: &PgPool) -> bool {
    tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query("select 1").execute(pool),
    )
    .await
    .is_ok_and(|r| r.is_ok())
}
