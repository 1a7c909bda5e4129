//! Stopping ARIA while its index sync embeds a backlog: the process exits (SIGTERM, as
//! Docker and systemd stop it) and leaves the rest of the backlog for the next start,
//! instead of embedding every passage first (a minute per batch of 16 in a debug build,
//! so the test runner's 15 s SIGKILL came first).

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::json;

#[tokio::test]
async fn sigterm_during_the_embedding_backlog_stops_aria_and_keeps_the_backlog() {
    let url = nexus_testkit::fresh_database("aria_stop").await;
    let pool = nexus_database::connect_with_retry(&url, 4, Duration::from_secs(10))
        .await
        .expect("pool");
    nexus_database::migrate(&pool).await.expect("migrate");
    let author: i64 = sqlx::query_scalar(
        "insert into users (email, password_hash, first_name, last_name, role) values ('prof-arret@lycee.fr', 'x', 'A', 'B', 'teacher') returning id",
    )
    .fetch_one(&pool)
    .await
    .expect("author");
    // 100 passages of ~400 tokens: several seconds of embedding per batch of 16 in a
    // debug build, so the stop surely comes in the middle of the backlog.
    let lesson = "Une liste chaînée relie ses maillons : chaque maillon pointe vers le suivant, et le dernier vers rien. ".repeat(20);
    for n in 0..100 {
        let content = json!({"chapters": [{"id": "ch1", "title": "Chapitre", "sections": [
            {"id": "ch1-s1", "title": format!("Section {n}"), "content": format!("Leçon {n}. {lesson}"), "examples": [], "exercises": []}]}]});
        sqlx::query("insert into courses (title, level, content, is_published, created_by) values ($1, 'terminale', $2, true, $3)")
            .bind(format!("Cours {n}"))
            .bind(content)
            .bind(author)
            .execute(&pool)
            .await
            .expect("course");
    }

    let mut aria = Running(
        Command::new(env!("CARGO_BIN_EXE_nexus-aria"))
            .env("DATABASE_URL", &url)
            .env("ARIA_PORT", "0")
            .env("BIND_ADDR", "127.0.0.1")
            .env("REDIS_KEY_PREFIX", nexus_testkit::redis_prefix("aria_stop"))
            .env("ARIA_INDEX_SYNC_SECONDS", "1")
            .env("ARIA_EMBEDDINGS", "local")
            // Long enough that waiting for the backlog would show.
            .env("SHUTDOWN_TIMEOUT_SECONDS", "120")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("nexus-aria starts"),
    );
    // Its log (JSON lines on stdout), read on a thread of its own till the exit.
    let (lines, log) = std::sync::mpsc::channel::<String>();
    let stdout = aria.0.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    // Without the embedding model there is no backlog to stop in: say so, not pass.
    loop {
        let line = log
            .recv_timeout(Duration::from_secs(60))
            .expect("ARIA's log");
        assert!(
            !line.contains("embedding model unavailable"),
            "ARIA started without its embedding model (ARIA_EMBEDDING_MODEL_DIR): {line}"
        );
        if line.contains("dense retrieval on") {
            break;
        }
    }

    // The sync has chunked the courses: the embedding backlog is there.
    let mut chunks = 0i64;
    for _ in 0..600 {
        chunks = sqlx::query_scalar("select count(*) from aria_chunks")
            .fetch_one(&pool)
            .await
            .expect("count");
        if chunks >= 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        chunks >= 100,
        "ARIA never chunked the courses ({chunks} chunks)"
    );

    let status = Command::new("kill")
        .args(["-TERM", &aria.0.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let asked = Instant::now();
    let exit = loop {
        if let Some(exit) = aria.0.try_wait().expect("wait") {
            break exit;
        }
        if asked.elapsed() > Duration::from_secs(30) {
            let left: i64 =
                sqlx::query_scalar("select count(*) from aria_chunks where embedding is null")
                    .fetch_one(&pool)
                    .await
                    .expect("count");
            panic!("ARIA still running 30 s after SIGTERM ({left} chunks left to embed)");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(exit.success(), "ARIA's exit after SIGTERM: {exit}");
    let left: i64 = sqlx::query_scalar("select count(*) from aria_chunks where embedding is null")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert!(
        left > 0,
        "ARIA embedded the whole backlog before exiting instead of leaving it for the next start"
    );
}

/// The process, killed if the test ends before it exited (a failed assertion).
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
