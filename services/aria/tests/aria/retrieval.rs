//! Retrieval quality on the seeded curriculum (the evaluation set).

use std::time::Duration;

use nexus_aria::{eval, retrieval::Method};
use nexus_auth::Role;
use serde_json::Value;

use crate::{Aria, spawn};

/// The 19 seeded NSI courses, published.
pub async fn seed_curriculum(aria: &Aria) {
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
    let dense = run(Method::Dense).await;
    let fused = run(Method::Fused).await;
    eprintln!("lexical {lexical:?}\ndense {dense:?}\nfused {fused:?}");
    // The first 80 questions (`base`) keep their figures; the other kinds
    // (paraphrases, English, typos, two sections) are reported in docs/ARIA.md.
    let (base_lexical, base_fused) = (lexical.kind("base"), fused.kind("base"));
    assert_eq!(base_fused.questions, 80);
    assert!(
        base_lexical.recall_at_5 >= 0.93 && base_lexical.mrr_at_10 >= 0.88,
        "{base_lexical:?}"
    );
    assert!(
        base_fused.recall_at_5 >= 0.90 && base_fused.mrr_at_10 >= 0.85,
        "{base_fused:?}"
    );
    assert!(fused.off_topic_rejected >= 0.4, "{fused:?}");
    // With multilingual-e5-small (the default), the fusion beats lexical search alone
    // and rejects at least as many off-topic questions (docs/ARIA.md, Embeddings).
    if retriever.embedder.as_ref().map(|e| e.name()) == Some("local:multilingual-e5-small-q4") {
        assert!(
            fused.recall_at_5 > lexical.recall_at_5 && fused.mrr_at_10 > lexical.mrr_at_10,
            "fused {fused:?}\nlexical {lexical:?}"
        );
        assert!(
            fused.off_topic_rejected >= lexical.off_topic_rejected,
            "fused {fused:?}\nlexical {lexical:?}"
        );
    }
}

/// The excerpts are cut from each chunk's words (`word_spans`, `word_lexemes`): word n
/// must be what Postgres' French analysis puts at position n, or an excerpt would
/// surround the wrong words.
#[tokio::test]
async fn the_chunks_words_are_postgres_own_analysis_and_excerpts_show_the_question() {
    let aria = spawn(100).await;
    seed_curriculum(&aria).await;
    // The service's sync indexes the new courses (reindexing here would race it).
    aria.wait_count(
        "select count(*) from aria_chunks",
        96,
        Duration::from_secs(60),
    )
    .await;
    let (positions, wrong_lexeme, wrong_span): (i64, i64, i64) = sqlx::query_as(
        "select count(*),
                count(*) filter (where split_part(k.word_lexemes, ' ', p) is distinct from u.lexeme),
                count(*) filter (where not u.lexeme = any(tsvector_to_array(to_tsvector('nexus_fr',
                    substr(k.text, w.start + 1, w.stop - w.start))))
                    -- a URL's path analysed alone is cut otherwise
                    and u.lexeme not like '%/%')
         from aria_chunks k, unnest(to_tsvector('nexus_fr', k.text)) u, unnest(u.positions) p
         -- word p's span: the big-endian int4 pair at bytes 8(p-1)..8p
         cross join lateral (
             select ('x' || encode(substr(k.word_spans, 8 * p - 7, 4), 'hex'))::bit(32)::int4 as start,
                    ('x' || encode(substr(k.word_spans, 8 * p - 3, 4), 'hex'))::bit(32)::int4 as stop) w",
    )
    .fetch_one(&aria.pool)
    .await
    .expect("words");
    assert!(positions > 20_000, "the curriculum's words: {positions}");
    assert_eq!(
        (wrong_lexeme, wrong_span),
        (0, 0),
        "word n is position n's lexeme, and its span reads as that word"
    );
    let settings = nexus_aria::AriaSettings::from_env().expect("settings");
    let retriever = nexus_aria::retriever(&settings, &aria.pool, &reqwest::Client::new());
    let passages = retriever
        .search_with(
            "Comment coder un entier négatif en complément à deux ?",
            nexus_aria::vectors::Filter::default(),
            3,
            Method::Lexical,
        )
        .await
        .expect("search");
    let best = passages.first().expect("a passage");
    assert!(
        best.excerpt.contains("complément à deux"),
        "the excerpt surrounds the question's words: {}",
        best.excerpt
    );
}
