//! Test support shared by the services' integration tests. Everything here is real: a
//! database created on the Postgres of `DATABASE_URL`, a `redis-server` process.

use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};

/// Creates an empty database named `{prefix}_{uuid}` on the server of `DATABASE_URL`
/// and returns its URL.
pub async fn fresh_database(prefix: &str) -> String {
    let admin = std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must point at a Postgres server (scripts/test.sh provides one)");
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&admin)
        .await
        .expect("connect to Postgres");
    conn.execute(sqlx::AssertSqlSafe(format!(r#"create database "{name}""#)))
        .await
        .expect("create test database");
    let mut url = url::Url::parse(&admin).expect("DATABASE_URL");
    url.set_path(&name);
    url.to_string()
}

/// Points a service's settings at a world of its own: a fresh database, migrated (the
/// returned pool is on it), its own Redis key prefix (`kind:uuid:`), and a port the
/// system picks on the loopback address.
pub async fn isolate(common: &mut nexus_config::CommonSettings, kind: &str) -> sqlx::PgPool {
    let url = fresh_database(kind).await;
    let pool = nexus_database::connect_with_retry(&url, 4, Duration::from_secs(10))
        .await
        .expect("pool");
    nexus_database::migrate(&pool).await.expect("migrate");
    common.database_url = nexus_config::ConnectionUrl::new(url);
    common.port = 0;
    common.bind_addr = "127.0.0.1".parse().expect("ip");
    common.redis_key_prefix = redis_prefix(kind);
    pool
}

/// A unique Redis key prefix, so tests share one Redis without seeing each other's keys.
pub fn redis_prefix(kind: &str) -> String {
    format!("{kind}:{}:", uuid::Uuid::new_v4().simple())
}

/// A Redis server of the test's own, to stop and restart without disturbing other tests.
pub struct PrivateRedis {
    port: u16,
    child: Option<tokio::process::Child>,
}

impl PrivateRedis {
    pub async fn start() -> PrivateRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut redis = PrivateRedis { port, child: None };
        redis.restart().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server again on the same port (empty: no persistence).
    pub async fn restart(&mut self) {
        let child = tokio::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server is installed by scripts/test.sh");
        self.child = Some(child);
        let client = redis::Client::open(self.url()).expect("url");
        for _ in 0..100 {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("private redis-server did not start");
    }

    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill redis-server");
        }
    }
}
