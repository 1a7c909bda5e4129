//! `nexus-hub-load`: opens N websocket connections to a running hub (users created for
//! the run, all in one class), then measures:
//! 1. the hub's memory per connection (its RSS from /proc: before, just after the
//!    connections opened, once settled, and at the end);
//! 2. broadcast: one event to the channel that every connection subscribed to,
//!    delivery latency p50/p99 over all receivers, repeated (a course channel);
//! 3. sustained per-user notifications at a target rate: achieved rate and latency.
//!
//! Latency is measured from the event's `createdAt` (written by this tool just before
//! appending it to the stream) to its arrival here, on the same machine's clock.
//!
//! The tool shares the machine with the hub, so its own work per frame is kept small:
//! connections are opened with tokio-tungstenite, then one thread reads every socket's
//! frames (`read_events`) and parses only the two fields it needs from each.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Parser;
use futures::{SinkExt, StreamExt};
use nexus_auth::{JwtKeys, Role};
use nexus_protocol::{
    Channel,
    hub::{ClientFrame, ServerFrame},
};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio_tungstenite::tungstenite::{Message, protocol::WebSocketConfig};

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
    #[arg(long, default_value_t = 10)]
    broadcasts: usize,
    /// Per-user notifications per second in the sustained phase.
    #[arg(long, default_value_t = 2_000)]
    rate: u64,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

/// How long the hub's memory is given to settle after the connections opened: longer
/// than the hub's ping interval (20 s), so that every connection has had its heartbeat.
/// The allocator (mimalloc) returns freed memory lazily, when a thread allocates again:
/// until the connections do something, the handshakes' memory may still be counted.
const SETTLE_SECONDS: u64 = 25;

/// Arrival times by event id.
type Arrivals = Arc<Mutex<HashMap<String, Vec<f64>>>>;

/// What the tool reads of an event frame; the rest is skipped unparsed. Not the
/// protocol's `ServerFrame`: its `data` is a JSON value, built for each of the ten
/// thousand connections' frames, which would be the tool's cost, not the hub's.
#[derive(Deserialize)]
struct EventFrame<'a> {
    #[serde(rename = "eventId", borrow)]
    event_id: &'a str,
    #[serde(borrow)]
    data: EventData<'a>,
}

#[derive(Deserialize)]
struct EventData<'a> {
    #[serde(rename = "createdAt", borrow)]
    created_at: &'a str,
}

fn rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("VmRSS")
}

/// A process's CPU time so far, user and system, in milliseconds (from /proc; Linux
/// counts it in ticks of 1/100 s).
fn cpu_ms(pid: &str) -> anyhow::Result<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("stat")?
        .1
        .split_whitespace()
        .collect();
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields.get(i).context("stat field")?.parse::<f64>()? * 10.0)
    };
    // utime and stime are the 14th and 15th fields of the line, 12th and 13th here.
    Ok((ticks(11)?, ticks(12)?))
}

/// From the hub's own delivery histogram (event created → frame written to the socket):
/// deliveries written within 100 ms, and all deliveries, so far.
async fn hub_deliveries(hub: &str) -> anyhow::Result<(f64, f64)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(hub).await?;
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: hub\r\n\r\n")
        .await?;
    let mut body = String::new();
    stream.read_to_string(&mut body).await?;
    let value = |prefix: &str| -> anyhow::Result<f64> {
        body.lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|v| v.trim().parse().ok())
            .with_context(|| format!("{prefix} in the hub's metrics"))
    };
    Ok((
        value("hub_delivery_latency_seconds_bucket{le=\"0.1\"}")?,
        value("hub_delivery_latency_seconds_count")?,
    ))
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

/// Notes an event frame's latency, from its `createdAt` to `now`, under its id.
fn record(arrivals: &Arrivals, text: &[u8], now: chrono::DateTime<chrono::Utc>) {
    let Ok(frame) = serde_json::from_slice::<EventFrame>(text) else {
        return;
    };
    let Ok(created) = frame
        .data
        .created_at
        .parse::<chrono::DateTime<chrono::Utc>>()
    else {
        return;
    };
    let latency = (now - created).num_microseconds().unwrap_or(0) as f64 / 1000.0;
    let mut arrivals = arrivals.lock().expect("lock");
    match arrivals.get_mut(frame.event_id) {
        Some(latencies) => latencies.push(latency),
        None => {
            arrivals.insert(frame.event_id.to_owned(), vec![latency]);
        }
    }
}

/// Reads every connection's frames on one thread, until the process ends: text frames
/// are timestamped as their bytes arrive and recorded, pings answered.
///
/// The tool shares the two cores with the hub, so every microsecond it spends per
/// frame is taken from the hub and shows up in the latencies it reports. One thread
/// polling all the sockets (mio, the event loop under tokio) reads each frame with one
/// system call and no task to wake; a server's frames are unmasked and simple to read.
fn read_events(sockets: Vec<std::net::TcpStream>, arrivals: &Arrivals) -> std::io::Result<()> {
    use std::io::{ErrorKind, Read, Write};
    let mut poll = mio::Poll::new()?;
    let mut sockets: Vec<mio::net::TcpStream> = sockets
        .into_iter()
        .map(mio::net::TcpStream::from_std)
        .collect();
    for (token, socket) in sockets.iter_mut().enumerate() {
        poll.registry()
            .register(socket, mio::Token(token), mio::Interest::READABLE)?;
    }
    // What has arrived of each socket's next frame.
    let mut pending: Vec<Vec<u8>> = vec![Vec::new(); sockets.len()];
    let mut scratch = vec![0u8; 64 * 1024];
    let mut events = mio::Events::with_capacity(1024);
    loop {
        if let Err(error) = poll.poll(&mut events, None) {
            if error.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        for event in &events {
            let token = event.token().0;
            let socket = &mut sockets[token];
            // Edge-triggered: read until the socket is drained (a short read says so).
            loop {
                let read = match socket.read(&mut scratch) {
                    Ok(0) => break,
                    Ok(read) => read,
                    Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                let now = chrono::Utc::now();
                let bytes = &mut pending[token];
                bytes.extend_from_slice(&scratch[..read]);
                let mut start = 0;
                while let Some((opcode, payload, length)) = server_frame(&bytes[start..]) {
                    match opcode {
                        0x1 => record(arrivals, &bytes[start..][payload], now),
                        // An empty pong, masked (with a zero key) as clients' frames must be.
                        0x9 => {
                            let _ = socket.write_all(&[0x8A, 0x80, 0, 0, 0, 0]);
                        }
                        _ => {}
                    }
                    start += length;
                }
                bytes.drain(..start);
                if read < scratch.len() {
                    break;
                }
            }
        }
    }
}

/// The first complete server frame in `bytes`: its opcode, where its payload lies and
/// its whole length; `None` until all of it has arrived.
fn server_frame(bytes: &[u8]) -> Option<(u8, std::ops::Range<usize>, usize)> {
    let [first, second, ..] = *bytes else {
        return None;
    };
    let (header, length) = match second & 0x7F {
        126 => (
            4,
            usize::from(u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?)),
        ),
        127 => (
            10,
            usize::try_from(u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?)).ok()?,
        ),
        short => (2, usize::from(short)),
    };
    (bytes.len() >= header + length).then_some((
        first & 0x0F,
        header..header + length,
        header + length,
    ))
}

/// What the run creates: a teacher, one student per connection, all in one class, and
/// the published course whose channel every connection subscribes to.
struct Load {
    users: Vec<i64>,
    course: i64,
}

impl Load {
    async fn create(pool: &PgPool, students: usize, run: i64) -> anyhow::Result<Self> {
        let teacher: i64 = sqlx::query_scalar(
            "insert into users (email, password_hash, first_name, last_name, role) values ($1, 'x', 'Load', 'Teacher', 'teacher') returning id",
        )
        .bind(format!("load-teacher-{run}@load.test"))
        .fetch_one(pool)
        .await?;
        let users: Vec<i64> = sqlx::query_scalar(
            "insert into users (email, password_hash, first_name, last_name, role)
             select 'load-' || $1 || '-' || g || '@load.test', 'x', 'Load', 'Student', 'student'
             from generate_series(1, $2) g returning id",
        )
        .bind(run)
        .bind(students as i64)
        .fetch_all(pool)
        .await?;
        let class: i64 = sqlx::query_scalar(
            "insert into classes (teacher_id, name, level, school_year, join_code) values ($1, 'Load', 'terminale', '2026-2027', $2) returning id",
        )
        .bind(teacher)
        .bind(format!("L{}", run % 10_000_000))
        .fetch_one(pool)
        .await?;
        sqlx::query(
            "insert into class_members (class_id, student_id) select $1, unnest($2::bigint[])",
        )
        .bind(class)
        .bind(&users)
        .execute(pool)
        .await?;
        // The broadcast goes to a course channel: every connection subscribes to the
        // course (a class of 10,000 would also exercise presence, whose join storm is not
        // what this measures).
        let course: i64 = sqlx::query_scalar(
            "insert into courses (title, level, is_published, created_by) values ('Charge', 'terminale', true, $1) returning id",
        )
        .bind(teacher)
        .fetch_one(pool)
        .await?;
        Ok(Self { users, course })
    }
}

/// Opens one connection per user, authenticated and subscribed to `channel`, and hands
/// back those that got that far as plain sockets, for `read_events`.
async fn connect(
    hub: &str,
    keys: &JwtKeys,
    users: &[i64],
    channel: Channel,
) -> Vec<std::net::TcpStream> {
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<std::net::TcpStream>(users.len());
    // Connect in waves so the accept queue is not the thing being measured.
    for chunk in users.chunks(500) {
        for user in chunk {
            let url = format!(
                "ws://{hub}/ws?token={}",
                keys.issue_access(*user, Role::Student)
            );
            let address = hub.to_owned();
            let ready = ready_tx.clone();
            tokio::spawn(async move {
                if let Some(socket) = subscribed(&address, url, channel).await {
                    let _ = ready.send(socket).await;
                }
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(ready_tx);
    let mut sockets = Vec::with_capacity(users.len());
    while sockets.len() < users.len() {
        match tokio::time::timeout(Duration::from_secs(30), ready_rx.recv()).await {
            Ok(Some(socket)) => sockets.push(socket),
            _ => break,
        }
    }
    sockets
}

/// One connection: the handshake, the hub's `ready`, the subscription and its answer;
/// `None` if any step failed.
async fn subscribed(address: &str, url: String, channel: Channel) -> Option<std::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(address).await.ok()?;
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let (mut socket, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config))
        .await
        .ok()?;
    if !matches!(
        next_frame(&mut socket).await,
        Some(ServerFrame::Ready { .. })
    ) {
        return None; // not authenticated
    }
    let subscribe = ClientFrame::Subscribe {
        channel: channel.into(),
    };
    let _ = socket
        .send(Message::Text(nexus_protocol::to_text(&subscribe).into()))
        .await;
    if !matches!(
        next_frame(&mut socket).await,
        Some(ServerFrame::Subscribed { .. })
    ) {
        return None; // not subscribed
    }
    // Nothing else comes before the first event: the socket goes to the reader thread
    // (`read_events`), which reads its frames from now on.
    socket.into_inner().into_std().ok()
}

/// The hub's memory against what it held before the connections opened.
struct Memory {
    pid: u32,
    before_kb: u64,
    connections: usize,
}

impl Memory {
    fn now_kb(&self) -> anyhow::Result<u64> {
        rss_kb(self.pid)
    }

    fn per_connection_kb(&self, resident_kb: u64) -> f64 {
        resident_kb.saturating_sub(self.before_kb) as f64 / self.connections.max(1) as f64
    }

    /// Read twice: just after the connections opened, while the allocator still holds
    /// what their handshakes used, and once it has settled.
    async fn settle(&self) -> anyhow::Result<()> {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let connected = self.now_kb()?;
        tokio::time::sleep(Duration::from_secs(SETTLE_SECONDS)).await;
        let settled = self.now_kb()?;
        println!(
            "hub memory:              {:.1} MB before; {:.1} MB 2 s after connecting ({:.1} KB per connection); {:.1} MB {SETTLE_SECONDS} s later: {:.1} KB per connection",
            self.before_kb as f64 / 1024.0,
            connected as f64 / 1024.0,
            self.per_connection_kb(connected),
            settled as f64 / 1024.0,
            self.per_connection_kb(settled),
        );
        Ok(())
    }
}

/// Where the tool appends events, as the API's relay does, and what arrived of them.
struct Events {
    conn: redis::aio::MultiplexedConnection,
    stream: String,
    arrivals: Arrivals,
    /// The run's number, in every event id.
    run: i64,
}

impl Events {
    /// `count` events to the course channel, one at a time: each one's delivery
    /// latency over all `receivers`, and how much of it the hub wrote within 100 ms.
    async fn broadcasts(
        &mut self,
        hub: &str,
        hub_pid: u32,
        course: i64,
        count: usize,
        receivers: usize,
    ) -> anyhow::Result<()> {
        let mut p99s = Vec::with_capacity(count);
        let mut within = Vec::with_capacity(count);
        let hub_pid = hub_pid.to_string();
        let (hub_cpu, tool_cpu) = (cpu_ms(&hub_pid)?, cpu_ms("self")?);
        for n in 0..count {
            let id = format!("broadcast-{}-{n}", self.run);
            let hub_before = hub_deliveries(hub).await?;
            let payload = json!({"eventId": id, "courseId": course, "action": "updated", "createdAt": chrono::Utc::now()});
            xadd(&mut self.conn, &self.stream, "course", &payload).await?;
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let received = self.received(&id);
                if received >= receivers || Instant::now() > deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let mut latencies = (self.arrivals.lock().expect("lock"))
                .remove(&id)
                .unwrap_or_default();
            latencies.sort_by(f64::total_cmp);
            // The hub records a delivery just after writing it: let the last ones land.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let hub_after = hub_deliveries(hub).await?;
            let written = hub_after.1 - hub_before.1;
            let hub_within = 100.0 * (hub_after.0 - hub_before.0) / written.max(1.0);
            println!(
                "broadcast {n}:             {} / {receivers} received, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; the hub wrote {hub_within:.1} % of {written} within 100 ms",
                latencies.len(),
                percentile(&latencies, 0.5),
                percentile(&latencies, 0.99),
                latencies.last().copied().unwrap_or(f64::NAN)
            );
            within.push(hub_within);
            p99s.push(percentile(&latencies, 0.99));
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if p99s.is_empty() {
            return Ok(());
        }
        p99s.sort_by(f64::total_cmp);
        // What one broadcast costs, whatever else the machine was doing: CPU time, not
        // latency (includes the idle half-seconds between broadcasts, close to nothing).
        let ((hub_user, hub_system), (tool_user, tool_system)) =
            (cpu_ms(&hub_pid)?, cpu_ms("self")?);
        let runs = p99s.len() as f64;
        println!(
            "CPU per broadcast:       hub {:.0} ms user + {:.0} ms system; load tool {:.0} ms user + {:.0} ms system",
            (hub_user - hub_cpu.0) / runs,
            (hub_system - hub_cpu.1) / runs,
            (tool_user - tool_cpu.0) / runs,
            (tool_system - tool_cpu.1) / runs,
        );
        println!(
            "broadcast p99 over {} runs: best {:.1} ms, median {:.1} ms, worst {:.1} ms (received by the load tool)",
            p99s.len(),
            p99s[0],
            percentile(&p99s, 0.5),
            p99s[p99s.len() - 1]
        );
        within.sort_by(f64::total_cmp);
        println!(
            "written by the hub within 100 ms: worst broadcast {:.1} %, median {:.1} % (its delivery histogram)",
            within[0],
            percentile(&within, 0.5)
        );
        Ok(())
    }

    fn received(&self, id: &str) -> usize {
        (self.arrivals.lock().expect("lock"))
            .get(id)
            .map_or(0, Vec::len)
    }

    /// Notifications to single users at `rate` per second for `seconds`, appended 20 to
    /// a pipeline: the rate achieved, and the latency of those delivered.
    async fn notifications(
        &mut self,
        users: &[i64],
        rate: u64,
        seconds: u64,
    ) -> anyhow::Result<()> {
        let total = rate * seconds;
        let started = Instant::now();
        let interval = Duration::from_secs_f64(1.0 / rate as f64);
        let mut ids = Vec::with_capacity(total as usize);
        let mut pipe_batch = Vec::new();
        for n in 0..total {
            let user = users[(n as usize * 7919) % users.len()];
            let id = format!("notif-{}-{n}", self.run);
            pipe_batch.push(json!({"eventId": id, "notificationId": n, "userId": user, "kind": "load", "title": "Charge",
                                   "body": "", "data": {}, "createdAt": chrono::Utc::now()}));
            ids.push(id);
            if pipe_batch.len() == 20 || n + 1 == total {
                let mut pipe = redis::pipe();
                for payload in pipe_batch.drain(..) {
                    pipe.cmd("XADD")
                        .arg(&self.stream)
                        .arg("*")
                        .arg("eventId")
                        .arg(payload["eventId"].as_str().unwrap_or_default())
                        .arg("topic")
                        .arg("notification")
                        .arg("payload")
                        .arg(payload.to_string())
                        .ignore();
                }
                pipe.query_async::<()>(&mut self.conn).await?;
                let due = interval * (n as u32 + 1);
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
            }
        }
        let sent_seconds = started.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let mut latencies: Vec<f64> = {
            let arrivals = self.arrivals.lock().expect("lock");
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(&args.database_url)
        .await?;
    let run = chrono::Utc::now().timestamp_millis();
    let load = Load::create(&pool, args.connections, run).await?;
    let keys = JwtKeys::new(
        args.jwt_secret.as_bytes(),
        "nexus-reussite",
        Duration::from_secs(3600),
    );

    let before_kb = rss_kb(args.hub_pid)?;
    let started = Instant::now();
    let sockets = connect(&args.hub, &keys, &load.users, Channel::Course(load.course)).await;
    let connected = sockets.len();
    println!(
        "connections held:        {connected} / {} (connected and subscribed in {:.1} s)",
        args.connections,
        started.elapsed().as_secs_f64()
    );
    let arrivals: Arrivals = Arc::default();
    let reader_arrivals = arrivals.clone();
    std::thread::spawn(move || read_events(sockets, &reader_arrivals));
    let memory = Memory {
        pid: args.hub_pid,
        before_kb,
        connections: connected,
    };
    memory.settle().await?;

    let client = redis::Client::open(args.redis_url.as_str())?;
    let mut events = Events {
        conn: client.get_multiplexed_async_connection().await?,
        stream: format!("{}stream:events", args.redis_prefix),
        arrivals,
        run,
    };
    (events.broadcasts(
        &args.hub,
        args.hub_pid,
        load.course,
        args.broadcasts,
        connected,
    ))
    .await?;
    (events.notifications(&load.users, args.rate, args.seconds)).await?;

    let end_kb = memory.now_kb()?;
    println!(
        "hub memory at the end:   {:.1} MB: {:.1} KB per connection",
        end_kb as f64 / 1024.0,
        memory.per_connection_kb(end_kb)
    );
    Ok(())
}

/// The next text frame, read as one of the hub's frames (`None`: closed, or not one).
async fn next_frame<S>(socket: &mut S) -> Option<ServerFrame>
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    match socket.next().await? {
        Ok(Message::Text(text)) => serde_json::from_str(&text).ok(),
        _ => None,
    }
}
