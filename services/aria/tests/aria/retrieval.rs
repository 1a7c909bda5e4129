//! Retrieval quality on the seeded curriculum (the evaluation set), and the Qdrant
//! backend when a Qdrant server is reachable.

use std::time::Duration;

use nexus_aria::{
    eval,
    retrieval::{Method, Store},
};
use nexus_auth::Role;
use serde_json::{Value, json};

use crate::{Aria, spawn, spawn_configured};

/// The 19 seeded NSI courses, published.
async fn seed_curriculum(aria: &Aria) {
    let (teacher, _) = aria.user(Role::Teacher).await;
    for entry in std::fs::read_dir(eval::default_seed_dir()).expect("seed dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let course: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("course json");
        sqlx::query(
            "insert into courses (title, description, level, category, content, is_published, created_by)
             values ($1, $2, $3, $4, $5, true, $6)",
        )
        .bind(course["title"].as_str())
        .bind(course["description"].as_str())
        .bind(course["level"].as_str())
        .bind(course["category"].as_str())
        .bind(&course["content"])
        .bind(teacher)
        .execute(&aria.pool)
        .await
        .expect("course");
    }
}

/// The figures of docs/PERFORMANCE.md, with a small margin: a change that makes
/// retrieval worse on the evaluation set fails here.
#[tokio::test]
async fn retrieval_quality_on_the_evaluation_set_does_not_regress() {
    let aria = spawn(100).await;
    seed_curriculum(&aria).await;
    let settings = nexus_aria::AriaSettings::from_env().expect("settings");
    let retriever = nexus_aria::retriever(&settings, &aria.pool, &reqwest::Client::new());
    assert!(
        retriever.dense(),
        "ARIA_EMBEDDING_MODEL_DIR: scripts/test.sh installs the embedding model"
    );
    // The service's own maintenance runs too: both share the work (skip locked).
    let mut chunks: i64 = 0;
    for _ in 0..600 {
        nexus_aria::maintain_index(&retriever).await.expect("index");
        chunks = sqlx::query_scalar("select count(*) from aria_chunks where embedding is not null")
            .fetch_one(&aria.pool)
            .await
            .expect("count");
        if chunks == 96 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(chunks, 96, "every seeded section is indexed and embedded");
    let run = |method| {
        let retriever = retriever.clone();
        async move {
            eval::evaluate(
                &retriever,
                &eval::default_questions(),
                &eval::default_seed_dir(),
                method,
            )
            .await
            .expect("eval")
        }
    };
    let lexical = run(Method::Lexical).await;
    let fused = run(Method::Fused).await;
    eprintln!("lexical {lexical:?}\nfused {fused:?}");
    assert_eq!(fused.questions, 80);
    assert!(
        lexical.recall_at_5 >= 0.93 && lexical.mrr_at_10 >= 0.88,
        "{lexical:?}"
    );
    assert!(
        fused.recall_at_5 >= 0.90 && fused.mrr_at_10 >= 0.85,
        "{fused:?}"
    );
    assert!(fused.off_topic_rejected >= 0.4, "{fused:?}");
}

/// Qdrant's documented REST API, exercised when `QDRANT_URL` points at a reachable
/// server (none can be installed here: the README says how to run this against one).
#[tokio::test]
async fn the_qdrant_backend_follows_the_index_and_answers_hybrid_queries() {
    let Some(url) = std::env::var("QDRANT_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("SKIPPED: QDRANT_URL is not set (see README, \"Qdrant tests\")");
        return;
    };
    let collection = format!("nexus_test_{}", uuid::Uuid::new_v4().simple());
    let qdrant_settings = nexus_aria::qdrant::QdrantSettings {
        url: url.clone(),
        api_key: std::env::var("QDRANT_API_KEY").ok().map(Into::into),
        collection: collection.clone(),
    };
    let probe = nexus_aria::qdrant::Qdrant::new(reqwest::Client::new(), qdrant_settings.clone());
    if !probe.reachable().await {
        eprintln!("SKIPPED: no Qdrant answers at {url}");
        return;
    }
    let aria = spawn_configured(100, None, |settings| {
        settings.qdrant = Some(qdrant_settings.clone());
    })
    .await;
    let (teacher, _) = aria.user(Role::Teacher).await;
    let stacks = aria.stacks_course(teacher).await;
    aria.graphs_course(teacher).await;
    let points = || async {
        let body: Value = reqwest::Client::new()
            .post(format!("{url}/collections/{collection}/points/count"))
            .json(&json!({"exact": true}))
            .send()
            .await
            .expect("count")
            .json()
            .await
            .expect("json");
        body["result"]["count"].as_i64().unwrap_or(-1)
    };
    for _ in 0..100 {
        if points().await == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(points().await, 2, "one point per chunk");
    let (_, student) = aria.user(Role::Student).await;
    let (_, answer) = aria
        .chat(&student, json!({"message": "Qu'est-ce qu'une pile LIFO ?"}))
        .await;
    assert_eq!(
        answer["sources"][0]["sectionTitle"],
        json!("Les piles"),
        "{answer}"
    );
    // Unpublishing removes the course's points.
    sqlx::query("update courses set is_published = false where id = $1")
        .bind(stacks)
        .execute(&aria.pool)
        .await
        .expect("unpublish");
    aria.wait_indexed(stacks, 0).await;
    for _ in 0..100 {
        if points().await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(points().await, 1);
    let settings = nexus_aria::AriaSettings::from_env().expect("settings");
    if let Store::Qdrant(qdrant) = nexus_aria::retriever(
        &nexus_aria::AriaSettings {
            qdrant: Some(qdrant_settings),
            ..settings
        },
        &aria.pool,
        &reqwest::Client::new(),
    )
    .store
    {
        qdrant.drop_collection().await.expect("drop");
    }
}
