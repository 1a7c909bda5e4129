//! ARIA's Qdrant backend against a real Qdrant server (scripts/test.sh starts one and
//! exports `ARIA_TEST_QDRANT_URL` (REST), `ARIA_TEST_QDRANT_GRPC_URL` (what ARIA's
//! `qdrant-client` speaks) and `QDRANT_BIN`): indexing on course events, the re-index
//! command, unpublishing, payload filters (level, course, class — and a change of a
//! course's classes), the hybrid query's fusion, and a Qdrant that stops in the middle
//! (ARIA answers lexically, then catches up).
//!
//! Without a server these tests print `SKIPPED` — and fail when `CI` is set while a
//! Qdrant binary is there: CI must run them, not skip them.

use std::{
    collections::HashSet,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use nexus_aria::{
    maintain_index,
    qdrant::{QdrantSettings, Sparse, sparse},
    retrieval::{Method, Retriever, Store},
    vectors::Filter,
};
use nexus_auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{Aria, spawn_configured};

/// The Qdrant server binary: `QDRANT_BIN`, then `qdrant` on `PATH`, then
/// `../shared/bin/qdrant` beside the repository (as scripts/lib/provision.sh).
fn qdrant_bin() -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("qdrant"))
            .find(|p| p.is_file())
    });
    let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bin/qdrant");
    std::env::var_os("QDRANT_BIN")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or(from_path)
        .or(beside.is_file().then_some(beside))
}

/// Says the test is skipped — or fails it under CI when a binary was available.
fn skipped(why: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    if ci && let Some(bin) = qdrant_bin() {
        panic!(
            "{why}, but CI is set and a Qdrant binary is there ({}): start it (scripts/test.sh does)",
            bin.display()
        );
    }
    eprintln!("SKIPPED (Qdrant): {why}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A private Qdrant server (for the tests that stop and restart it).
struct Server {
    bin: PathBuf,
    dir: PathBuf,
    http: u16,
    grpc: u16,
    child: Option<Child>,
}

impl Server {
    async fn start(bin: PathBuf) -> Self {
        // Its readiness is asked over reqwest, before any ARIA is spawned.
        crate::install_tls();
        let dir =
            std::env::temp_dir().join(format!("nexus-qdrant-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let mut server = Self {
            bin,
            dir,
            http: free_port(),
            grpc: free_port(),
            child: None,
        };
        server.restart().await;
        server
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }

    fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc)
    }

    /// Starts the server on its ports and storage (kept across restarts).
    async fn restart(&mut self) {
        let log = std::fs::File::create(self.dir.join("qdrant.log")).expect("log");
        let child = Command::new(&self.bin)
            .arg("--disable-telemetry")
            .current_dir(&self.dir)
            .env("QDRANT__STORAGE__STORAGE_PATH", self.dir.join("storage"))
            .env(
                "QDRANT__STORAGE__SNAPSHOTS_PATH",
                self.dir.join("snapshots"),
            )
            .env("QDRANT__SERVICE__HOST", "127.0.0.1")
            .env("QDRANT__SERVICE__HTTP_PORT", self.http.to_string())
            .env("QDRANT__SERVICE__GRPC_PORT", self.grpc.to_string())
            .env("QDRANT__TELEMETRY_DISABLED", "true")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("qdrant starts");
        self.child = Some(child);
        for _ in 0..600 {
            if reqwest::get(format!("{}/readyz", self.url()))
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "Qdrant did not become ready (log in {})",
            self.dir.display()
        );
    }

    /// Kills the server (as a crash would: no clean shutdown).
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn settings(url: &str, grpc_url: &str) -> QdrantSettings {
    QdrantSettings {
        url: url.to_owned(),
        grpc_url: grpc_url.to_owned(),
        api_key: std::env::var("QDRANT_API_KEY").ok().map(Into::into),
        collection: format!("nexus_test_{}", uuid::Uuid::new_v4().simple()),
    }
}

/// A fresh collection on the server scripts/test.sh started (`None`: there is none).
fn shared_server() -> Option<QdrantSettings> {
    let url = std::env::var("ARIA_TEST_QDRANT_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let grpc = std::env::var("ARIA_TEST_QDRANT_GRPC_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| nexus_aria::qdrant::default_grpc_url(&url));
    Some(settings(&url, &grpc))
}

/// ARIA on this Qdrant collection.
async fn aria_on(qdrant: &QdrantSettings) -> Aria {
    spawn_configured(100, None, |settings| {
        settings.qdrant = Some(qdrant.clone());
    })
    .await
}

/// A retriever of the test's own, on the same database and collection.
fn retriever(aria: &Aria, qdrant: &QdrantSettings) -> Retriever {
    let settings = nexus_aria::AriaSettings {
        qdrant: Some(qdrant.clone()),
        ..nexus_aria::AriaSettings::from_env().expect("settings")
    };
    let retriever = nexus_aria::retriever(&settings, &aria.pool, &reqwest::Client::new());
    assert!(
        matches!(retriever.store, Store::Qdrant(..)),
        "an embedding model is needed for Qdrant (scripts/test.sh installs it)"
    );
    retriever
}

/// The collection's point ids (REST scroll).
async fn point_ids(q: &QdrantSettings) -> HashSet<i64> {
    let body: Value = reqwest::Client::new()
        .post(format!(
            "{}/collections/{}/points/scroll",
            q.url, q.collection
        ))
        .json(&json!({"limit": 10000, "with_payload": false, "with_vector": false}))
        .send()
        .await
        .expect("scroll")
        .json()
        .await
        .expect("json");
    body["result"]["points"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_i64())
        .collect()
}

async fn chunk_ids(aria: &Aria) -> HashSet<i64> {
    sqlx::query_scalar::<_, i64>("select id from aria_chunks")
        .fetch_all(&aria.pool)
        .await
        .expect("chunks")
        .into_iter()
        .collect()
}

/// Waits until the collection holds exactly the chunks of the database (and `n`).
async fn wait_synced(aria: &Aria, q: &QdrantSettings, n: usize) {
    let mut last = HashSet::new();
    for _ in 0..300 {
        last = point_ids(q).await;
        if last.len() == n && last == chunk_ids(aria).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the collection never matched the {n} chunks: points {last:?}, chunks {:?}",
        chunk_ids(aria).await
    );
}

async fn chunk_of(aria: &Aria, course: i64) -> (i64, Vec<f32>, Vec<String>) {
    sqlx::query_as(
        "select id, embedding, array(select unnest(tsvector_to_array(search)))
         from aria_chunks where course_id = $1",
    )
    .bind(course)
    .fetch_one(&aria.pool)
    .await
    .expect("chunk")
}

fn ids(passages: &[nexus_aria::retrieval::Passage]) -> Vec<i64> {
    passages.iter().map(|p| p.course_id).collect()
}

#[tokio::test]
async fn the_qdrant_backend_follows_the_index_and_answers_hybrid_queries() {
    let Some(q) = shared_server() else {
        return skipped("ARIA_TEST_QDRANT_URL is not set (scripts/test.sh starts a Qdrant)");
    };
    let aria = aria_on(&q).await;
    let (teacher, _) = aria.user(Role::Teacher).await;
    let stacks = aria.stacks_course(teacher).await;
    let graphs = aria.graphs_course(teacher).await;
    let floats = aria.floats_course(teacher).await;
    // Indexing on course events: one point per chunk, its id the chunk's.
    wait_synced(&aria, &q, 3).await;

    // Answers over Qdrant (every one was a 500: f32 read from a float8).
    let (_, student) = aria.user(Role::Student).await;
    let (status, answer) = aria.ask(&student, "Qu'est-ce qu'une pile LIFO ?").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["sources"][0]["sectionTitle"],
        json!("Les piles"),
        "{answer}"
    );

    // Payload filters: level and course.
    let r = retriever(&aria, &q);
    let all = |level| Filter {
        level: Some(level),
        ..Filter::default()
    };
    let question = "pile parcours graphe nombre flottant";
    let terminale = r
        .search_with(question, all("terminale"), 5, Method::Fused)
        .await
        .expect("search");
    let mut found = ids(&terminale);
    found.sort_unstable();
    assert_eq!(found, [stacks, graphs], "terminale only: {terminale:?}");
    let premiere = r
        .search_with(question, all("premiere"), 5, Method::Fused)
        .await
        .expect("search");
    assert_eq!(ids(&premiere), [floats], "premiere only");
    let one_course = Filter {
        level: Some("terminale"),
        course_id: Some(graphs),
        class_id: None,
    };
    let graphs_only = r
        .search_with(question, one_course, 5, Method::Fused)
        .await
        .expect("search");
    assert_eq!(ids(&graphs_only), [graphs], "the course filter");

    // Hybrid query: a dense prefetch and a sparse one, fused by RRF in Qdrant.
    let Store::Qdrant(qdrant, _) = &r.store else {
        unreachable!()
    };
    let (stacks_chunk, stacks_vector, _) = chunk_of(&aria, stacks).await;
    let (graphs_chunk, _, graphs_lexemes) = chunk_of(&aria, graphs).await;
    let lexical = sparse(graphs_lexemes.into_iter().map(|l| (l, 1)));
    let none = Filter::default();
    let dense_only = qdrant
        .search(Some(&stacks_vector), &Sparse::default(), none, 3)
        .await
        .expect("dense");
    assert_eq!(
        dense_only[0].0, stacks_chunk,
        "dense: the vector's own chunk first"
    );
    let lexical_only = qdrant
        .search(None, &lexical, none, 3)
        .await
        .expect("sparse");
    assert_eq!(
        lexical_only[0].0, graphs_chunk,
        "sparse: the lexemes' own chunk first"
    );
    let fused = qdrant
        .search(Some(&stacks_vector), &lexical, none, 3)
        .await
        .expect("fused");
    let top2: HashSet<i64> = fused.iter().take(2).map(|h| h.0).collect();
    assert_eq!(
        top2,
        HashSet::from([stacks_chunk, graphs_chunk]),
        "each side's best is in the fused top two: {fused:?}"
    );

    // The re-index command (`nexus-aria reindex`): new chunks, the collection follows.
    let before = chunk_ids(&aria).await;
    nexus_aria::index::reindex_all(&aria.pool)
        .await
        .expect("reindex");
    // The service's own sync loop may hold the new chunks (`for update skip locked`)
    // while this call runs: wait for the collection rather than for one call.
    maintain_index(&r).await.expect("maintain");
    wait_synced(&aria, &q, 3).await;
    let after = chunk_ids(&aria).await;
    assert!(before.is_disjoint(&after) || before == after);

    // Unpublishing removes the course's points.
    sqlx::query("update courses set is_published = false where id = $1")
        .bind(stacks)
        .execute(&aria.pool)
        .await
        .expect("unpublish");
    aria.wait_indexed(stacks, 0).await;
    wait_synced(&aria, &q, 2).await;
    let (status, answer) = aria.ask(&student, "Qu'est-ce qu'une pile LIFO ?").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(
        answer["sources"]
            .as_array()
            .is_none_or(|s| s.iter().all(|s| s["sectionTitle"] != json!("Les piles"))),
        "an unpublished course is not a source: {answer}"
    );

    // Every course unpublished: no chunk is left to give the vectors' size, and the
    // collection still empties.
    sqlx::query("update courses set is_published = false where id = any($1)")
        .bind([graphs, floats])
        .execute(&aria.pool)
        .await
        .expect("unpublish the rest");
    aria.wait_indexed(graphs, 0).await;
    aria.wait_indexed(floats, 0).await;
    wait_synced(&aria, &q, 0).await;
    qdrant.drop_collection().await.expect("drop");
}

#[tokio::test]
async fn the_class_filter_on_qdrant_keeps_the_class_s_courses_and_follows_assignments() {
    let Some(q) = shared_server() else {
        return skipped("ARIA_TEST_QDRANT_URL is not set (scripts/test.sh starts a Qdrant)");
    };
    let aria = aria_on(&q).await;
    let r = retriever(&aria, &q);
    crate::classes::class_filter_scenario(&aria, &r).await;
    let Store::Qdrant(qdrant, _) = &r.store else {
        unreachable!()
    };
    // The payload itself: each point's `class_ids` is its course's current classes.
    let body: Value = reqwest::Client::new()
        .post(format!(
            "{}/collections/{}/points/scroll",
            q.url, q.collection
        ))
        .json(&json!({"limit": 100, "with_payload": ["course_id", "class_ids"]}))
        .send()
        .await
        .expect("scroll")
        .json()
        .await
        .expect("json");
    let points = body["result"]["points"].as_array().expect("points");
    assert_eq!(points.len(), 2, "{body}");
    for point in points {
        let course = point["payload"]["course_id"].as_i64().expect("course_id");
        let classes: Vec<i64> = sqlx::query_scalar(
            "select class_id from course_classes where course_id = $1 order by class_id",
        )
        .bind(course)
        .fetch_all(&aria.pool)
        .await
        .expect("classes");
        assert_eq!(point["payload"]["class_ids"], json!(classes), "{point}");
    }
    qdrant.drop_collection().await.expect("drop");
}

#[tokio::test]
async fn aria_answers_lexically_while_qdrant_is_down_and_catches_up_after() {
    let Some(bin) = qdrant_bin() else {
        return skipped("no Qdrant binary (QDRANT_BIN, PATH, ../shared/bin/qdrant)");
    };
    let mut server = Server::start(bin).await;
    let q = settings(&server.url(), &server.grpc_url());
    let aria = aria_on(&q).await;
    let (teacher, _) = aria.user(Role::Teacher).await;
    aria.stacks_course(teacher).await;
    wait_synced(&aria, &q, 1).await;
    let (_, student) = aria.user(Role::Student).await;
    let ask = |message: &'static str| {
        let (aria, student) = (&aria, &student);
        async move {
            let (status, answer) = aria.ask(student, message).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            answer
        }
    };
    let answer = ask("Qu'est-ce qu'une pile LIFO ?").await;
    assert_eq!(
        answer["sources"][0]["sectionTitle"],
        json!("Les piles"),
        "{answer}"
    );

    // Qdrant dies: the answers still come from the courses (lexical retrieval), and
    // the index keeps following the courses in Postgres.
    server.kill();
    let answer = ask("Qu'est-ce qu'une pile LIFO ?").await;
    assert_eq!(
        answer["sources"][0]["sectionTitle"],
        json!("Les piles"),
        "{answer}"
    );
    let graphs = aria.graphs_course(teacher).await;
    let answer = ask("Comment marche le parcours en largeur d'un graphe ?").await;
    assert_eq!(
        answer["sources"][0]["sectionTitle"],
        json!("Parcours en largeur"),
        "a course published while Qdrant is down is found lexically: {answer}"
    );
    let status = reqwest::get(format!("{}/ready", aria.address))
        .await
        .expect("ready")
        .status();
    assert_eq!(status, StatusCode::OK, "a replica that answers stays ready");

    // Qdrant is back (same storage): the collection catches up with what it missed.
    server.restart().await;
    wait_synced(&aria, &q, 2).await;
    let graphs_chunk = chunk_of(&aria, graphs).await.0;
    assert!(point_ids(&q).await.contains(&graphs_chunk));
    let answer = ask("Comment marche le parcours en largeur d'un graphe ?").await;
    assert_eq!(
        answer["sources"][0]["sectionTitle"],
        json!("Parcours en largeur"),
        "{answer}"
    );
}

/// The 19 seeded courses published, indexed, embedded and synced to Qdrant (96 points).
async fn seeded_curriculum_on(q: &QdrantSettings) -> (Aria, Retriever) {
    let aria = aria_on(q).await;
    crate::retrieval::seed_curriculum(&aria).await;
    let r = retriever(&aria, q);
    for _ in 0..600 {
        let _ = maintain_index(&r).await;
        if point_ids(q).await.len() == 96 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_synced(&aria, q, 96).await;
    (aria, r)
}

/// The evaluation set on the Qdrant backend (lexical, dense, fused), printed for
/// docs/ARIA.md, with the same floors as the embedded store's test.
#[tokio::test]
async fn retrieval_quality_on_qdrant() {
    let Some(q) = shared_server() else {
        return skipped("ARIA_TEST_QDRANT_URL is not set (scripts/test.sh starts a Qdrant)");
    };
    // The service (and its database) must outlive the evaluation.
    let (_aria, r) = seeded_curriculum_on(&q).await;
    let mut scores = Vec::new();
    for method in [Method::Lexical, Method::Dense, Method::Fused] {
        let s = nexus_aria::eval::evaluate(
            &r,
            &nexus_aria::eval::default_questions(),
            &nexus_aria::eval::default_seed_dir(),
            method,
        )
        .await
        .expect("eval");
        eprintln!(
            "qdrant {method:?}: recall@5 {:.3} MRR@10 {:.3} nDCG@5 {:.3} off-topic rejected {:.2} p50 {:.1} ms",
            s.recall_at_5, s.mrr_at_10, s.ndcg_at_5, s.off_topic_rejected, s.p50_ms
        );
        eprintln!("qdrant {method:?} by kind: {:?}", s.by_kind);
        scores.push(s);
    }
    let Store::Qdrant(qdrant, _) = &r.store else {
        unreachable!()
    };
    qdrant.drop_collection().await.expect("drop");
    let (lexical, fused) = (scores[0].kind("base"), scores[2].kind("base"));
    assert!(lexical.recall_at_5 >= 0.90, "{lexical:?}");
    assert!(fused.recall_at_5 >= 0.85, "{fused:?}");
}

/// Not a test but a measurement (docs/PERFORMANCE.md, "ARIA's crates"): one hybrid query
/// (dense + sparse prefetches, RRF, level filter) for each question of the evaluation
/// set, through `qdrant-client` (gRPC) and through the REST body the hand-written
/// client sent before 2026-12-05, on the same collection, alternated, 5 rounds.
/// Run: `scripts/test.sh -p nexus-aria --test aria qdrant_query_latency -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement, run on demand with --ignored"]
async fn qdrant_query_latency_through_the_crate_and_through_rest() {
    let Some(q) = shared_server() else {
        return skipped("ARIA_TEST_QDRANT_URL is not set (scripts/test.sh starts a Qdrant)");
    };
    let (aria, r) = seeded_curriculum_on(&q).await;
    let Store::Qdrant(qdrant, _) = &r.store else {
        unreachable!()
    };
    let set: Value = serde_json::from_slice(
        &std::fs::read(nexus_aria::eval::default_questions()).expect("questions"),
    )
    .expect("json");
    let mut inputs = Vec::new();
    for item in set["questions"].as_array().expect("questions") {
        let question = item["question"].as_str().expect("question");
        let level = item["level"].as_str().unwrap_or("terminale").to_owned();
        let vector = r.question_vector(question).await.expect("vector");
        let (_, lexemes) = nexus_aria::vectors::version_and_lexemes(&aria.pool, question)
            .await
            .expect("lexemes");
        inputs.push((vector, sparse(lexemes.into_iter().map(|l| (l, 1))), level));
    }
    let http = reqwest::Client::new();
    let url = format!("{}/collections/{}/points/query", q.url, q.collection);
    let (mut grpc, mut rest) = (Vec::new(), Vec::new());
    for round in 0..6 {
        for (vector, lexical, level) in &inputs {
            let filter = Filter {
                level: Some(level),
                ..Filter::default()
            };
            let started = std::time::Instant::now();
            let hits = qdrant
                .search(Some(vector), lexical, filter, 20)
                .await
                .expect("query");
            let crate_time = started.elapsed();
            let json_filter = json!({"must": [{"key": "level", "match": {"value": level}}]});
            let body = json!({
                "prefetch": [
                    {"query": vector, "using": "dense", "limit": 80, "filter": json_filter},
                    {"query": {"indices": lexical.indices, "values": lexical.values},
                     "using": "lexical", "limit": 80, "filter": json_filter},
                ],
                "query": {"fusion": "rrf"}, "limit": 20, "with_payload": false,
            });
            let started = std::time::Instant::now();
            let answer: Value = http
                .post(&url)
                .json(&body)
                .send()
                .await
                .expect("rest")
                .json()
                .await
                .expect("json");
            let rest_time = started.elapsed();
            let rest_ids: HashSet<i64> = answer["result"]["points"]
                .as_array()
                .expect("points")
                .iter()
                .filter_map(|p| p["id"].as_i64())
                .collect();
            let crate_ids: HashSet<i64> = hits.iter().map(|h| h.0).collect();
            // The same query both ways (RRF ties at the 20th place may pick either).
            assert!(
                crate_ids.intersection(&rest_ids).count() >= 15,
                "{crate_ids:?} {rest_ids:?}"
            );
            if round > 0 {
                grpc.push(crate_time.as_secs_f64() * 1000.0);
                rest.push(rest_time.as_secs_f64() * 1000.0);
            }
        }
    }
    let quantile = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() as f64 - 1.0) * q).round() as usize]
    };
    eprintln!(
        "qdrant hybrid query over 96 points, {} queries each: qdrant-client (gRPC) p50 {:.2} ms p99 {:.2} ms; REST (reqwest + JSON, the former client) p50 {:.2} ms p99 {:.2} ms",
        grpc.len(),
        quantile(&mut grpc, 0.5),
        quantile(&mut grpc, 0.99),
        quantile(&mut rest, 0.5),
        quantile(&mut rest, 0.99),
    );
    qdrant.drop_collection().await.expect("drop");
}
