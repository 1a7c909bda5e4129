//! `nexus-hub-load`: opens N websocket connections to a running hub (users created for
//! the run, all in one class), then measures:
//! 1. the hub's memory per connection (its RSS before and after, from /proc);
//! 2. broadcast: one event to the channel that every connection subscribed to,
//!    delivery latency p50/p99 over all receivers, repeated (a course channel);
//! 3. sustained per-user notifications at a target rate: achieved rate and latency.
//!
//! Latency is measured from the event's `createdAt` (written by this tool just before
//! appending it to the stream) to its arrival here, on the same machine's clock.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Parser;
use futures::{SinkExt, StreamExt};
use nexus_auth::{JwtKeys, Role};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser, Debug)]
struct Args {
    /// Hub address, e.g. 127.0.0.1:8080.
    #[arg(long)]
    hub: String,
    /// The hub's process id, to read its memory.
    #[arg(long)]
    hub_pid: u32,
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    #[arg(long, env = "REDIS_URL")]
    redis_url: String,
    #[arg(long, env = "REDIS_KEY_PREFIX", default_value = "nexus:")]
    redis_prefix: String,
    #[arg(long, env = "JWT_SECRET_KEY", hide_env_values = true)]
    jwt_secret: String,
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    #[arg(long, default_value_t = 5)]
    broadcasts: usize,
    /// Per-user notifications per second in the sustained phase.
    #[arg(long, default_value_t = 2_000)]
    rate: u64,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

/// Arrival times by event id.
type Arrivals = Arc<Mutex<HashMap<String, Vec<f64>>>>;

fn rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("VmRSS")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn xadd(
    conn: &mut redis::aio::MultiplexedConnection,
    key: &str,
    topic: &str,
    payload: &Value,
) -> anyhow::Result<()> {
    let _: String = redis::cmd("XADD")
        .arg(key)
        .arg("*")
        .arg("eventId")
        .arg(payload["eventId"].as_str().unwrap_or_default())
        .arg("topic")
        .arg(topic)
        .arg("payload")
        .arg(payload.to_string())
        .query_async(conn)
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(&args.database_url)
        .await?;
    let run = chrono::Utc::now().timestamp_millis();

    // Users and a class holding them all.
    let teacher: i64 = sqlx::query_scalar(
        "insert into users (email, password_hash, first_name, last_name, role) values ($1, 'x', 'Load', 'Teacher', 'teacher') returning id",
    )
    .bind(format!("load-teacher-{run}@load.test"))
    .fetch_one(&pool)
    .await?;
    let users: Vec<i64> = sqlx::query_scalar(
        "insert into users (email, password_hash, first_name, last_name, role)
         select 'load-' || $1 || '-' || g || '@load.test', 'x', 'Load', 'Student', 'student'
         from generate_series(1, $2) g returning id",
    )
    .bind(run)
    .bind(args.connections as i64)
    .fetch_all(&pool)
    .await?;
    let class: i64 = sqlx::query_scalar(
        "insert into classes (teacher_id, name, level, school_year, join_code) values ($1, 'Load', 'terminale', '2026-2027', $2) returning id",
    )
    .bind(teacher)
    .bind(format!("L{}", run % 10_000_000))
    .fetch_one(&pool)
    .await?;
    sqlx::query("insert into class_members (class_id, student_id) select $1, unnest($2::bigint[])")
        .bind(class)
        .bind(&users)
        .execute(&pool)
        .await?;
    // The broadcast goes to a course channel: every connection subscribes to the course
    // (a class of 10,000 would also exercise presence, whose join storm is not what this
    // measures).
    let course: i64 = sqlx::query_scalar(
        "insert into courses (title, level, is_published, created_by) values ('Charge', 'terminale', true, $1) returning id",
    )
    .bind(teacher)
    .fetch_one(&pool)
    .await?;
    let keys = JwtKeys::new(
        args.jwt_secret.as_bytes(),
        "nexus-reussite",
        Duration::from_secs(3600),
    );

    let rss_before = rss_kb(args.hub_pid)?;
    let arrivals: Arrivals = Arc::default();
    let channel = format!("course:{course}");
    let started = Instant::now();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(args.connections);
    // Connect in waves so the accept queue is not the thing being measured.
    for chunk in users.chunks(500) {
        for user in chunk {
            let url = format!(
                "ws://{}/ws?token={}",
                args.hub,
                keys.issue_access(*user, Role::Student)
            );
            let channel = channel.clone();
            let arrivals = arrivals.clone();
            let ready = ready_tx.clone();
            tokio::spawn(async move {
                let Ok((mut socket, _)) = tokio_tungstenite::connect_async(url).await else {
                    return;
                };
                let _ = socket.next().await; // ready
                let _ = socket
                    .send(Message::Text(
                        json!({"type": "subscribe", "channel": channel})
                            .to_string()
                            .into(),
                    ))
                    .await;
                let _ = socket.next().await; // subscribed
                let _ = ready.send(()).await;
                while let Some(Ok(message)) = socket.next().await {
                    if let Message::Text(text) = message {
                        let now = chrono::Utc::now();
                        let Ok(frame) = serde_json::from_str::<Value>(&text) else {
                            continue;
                        };
                        let Some(created) = frame["data"]["createdAt"]
                            .as_str()
                            .and_then(|c| c.parse::<chrono::DateTime<chrono::Utc>>().ok())
                        else {
                            continue;
                        };
                        let latency =
                            (now - created).num_microseconds().unwrap_or(0) as f64 / 1000.0;
                        let id = frame["eventId"].as_str().unwrap_or_default().to_owned();
                        arrivals
                            .lock()
                            .expect("lock")
                            .entry(id)
                            .or_default()
                            .push(latency);
                    }
                }
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(ready_tx);
    let mut connected = 0;
    while connected < args.connections {
        match tokio::time::timeout(Duration::from_secs(30), ready_rx.recv()).await {
            Ok(Some(())) => connected += 1,
            _ => break,
        }
    }
    let connect_seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = rss_kb(args.hub_pid)?;
    println!(
        "connections held:        {connected} / {} (connected and subscribed in {connect_seconds:.1} s)",
        args.connections
    );
    println!(
        "hub memory:              {:.1} MB before, {:.1} MB after: {:.1} KB per connection",
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        (rss_after.saturating_sub(rss_before)) as f64 / connected.max(1) as f64
    );

    let client = redis::Client::open(args.redis_url.as_str())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let stream = format!("{}stream:events", args.redis_prefix);

    // Broadcast to the class channel.
    for n in 0..args.broadcasts {
        let id = format!("broadcast-{run}-{n}");
        let payload = json!({"eventId": id, "courseId": course, "action": "updated", "createdAt": chrono::Utc::now()});
        xadd(&mut conn, &stream, "course", &payload).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let received = arrivals.lock().expect("lock").get(&id).map_or(0, Vec::len);
            if received >= connected || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut latencies = arrivals
            .lock()
            .expect("lock")
            .remove(&id)
            .unwrap_or_default();
        latencies.sort_by(f64::total_cmp);
        println!(
            "broadcast {n}:             {} / {connected} received, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            latencies.len(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            latencies.last().copied().unwrap_or(f64::NAN)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Sustained notifications to individual users.
    let total = args.rate * args.seconds;
    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let mut ids = Vec::with_capacity(total as usize);
    let mut pipe_batch = Vec::new();
    for n in 0..total {
        let user = users[(n as usize * 7919) % users.len()];
        let id = format!("notif-{run}-{n}");
        pipe_batch.push(json!({"eventId": id, "notificationId": n, "userId": user, "kind": "load", "title": "Charge",
                               "body": "", "data": {}, "createdAt": chrono::Utc::now()}));
        ids.push(id);
        if pipe_batch.len() == 20 || n + 1 == total {
            let mut pipe = redis::pipe();
            for payload in pipe_batch.drain(..) {
                pipe.cmd("XADD")
                    .arg(&stream)
                    .arg("*")
                    .arg("eventId")
                    .arg(payload["eventId"].as_str().unwrap_or_default())
                    .arg("topic")
                    .arg("notification")
                    .arg("payload")
                    .arg(payload.to_string())
                    .ignore();
            }
            pipe.query_async::<()>(&mut conn).await?;
            let due = interval * (n as u32 + 1);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
    }
    let sent_seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut latencies: Vec<f64> = {
        let arrivals = arrivals.lock().expect("lock");
        ids.iter()
            .filter_map(|id| arrivals.get(id))
            .flatten()
            .copied()
            .collect()
    };
    latencies.sort_by(f64::total_cmp);
    println!(
        "notifications:           {total} sent in {sent_seconds:.1} s ({:.0}/s), {} delivered, p50 {:.1} ms, p99 {:.1} ms",
        total as f64 / sent_seconds,
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    Ok(())
}
