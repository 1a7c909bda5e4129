//! `nexus-aria bench-retrieval [chunks]`: retrieval latency at scale. On a seeded,
//! indexed database it copies the published courses (as published courses, with their
//! chunks and their vectors jittered) until the index holds `chunks` chunks (10,000 by
//! default), then times the evaluation set's questions: each side alone, the parts of
//! the dense side, and the fused retrieval ARIA uses. The copies are deleted at the end.

use std::time::Instant;

use nexus_database::levels::ClassLevel;

use crate::{
    eval,
    retrieval::{Method, Retriever, Store},
    vectors::Filter,
};

fn percentiles(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.99))
}

pub async fn retrieval(retriever: &Retriever, target_chunks: i64) -> anyhow::Result<()> {
    let pool = &retriever.pool;
    let base: i64 = sqlx::query_scalar("select count(*) from aria_chunks")
        .fetch_one(pool)
        .await?;
    anyhow::ensure!(base > 0, "the index is empty: seed the database first");
    // The copies carry this run's mark in their titles, and only they are deleted.
    let mark = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let copies = ((target_chunks - base) as f64 / base as f64)
        .ceil()
        .max(0.0) as i64;
    println!("index: {base} chunks; adding {copies} copies of every published course");
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    let originals: Vec<i64> =
        sqlx::query_scalar("select distinct course_id from aria_chunks order by 1")
            .fetch_all(&mut *tx)
            .await?;
    for n in 1..=copies {
        for course in &originals {
            let copy: i64 = sqlx::query_scalar(
                "insert into courses (title, description, level, category, content, is_published, created_by)
                 select title || ' (copie ' || $2 || ' ' || $3 || ')', description, level, category, content, true, created_by
                 from courses where id = $1 returning id",
            )
            .bind(course)
            .bind(n)
            .bind(&mark)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "insert into aria_chunks (course_id, chapter_id, section_id, course_title, chapter_title, section_title,
                                          level, category, text, embedding, embedding_model, embedded_at)
                 select $2, chapter_id, section_id, course_title || ' (copie ' || $3 || ')', chapter_title, section_title,
                        level, category, text,
                        case when embedding is null then null
                             else array(select e + (random()::float4 - 0.5) * 0.02 from unnest(embedding) e) end,
                        embedding_model, embedded_at
                 from aria_chunks where course_id = $1",
            )
            .bind(course)
            .bind(copy)
            .bind(n)
            .execute(&mut *tx)
            .await?;
        }
    }
    crate::index::bump_version(&mut tx).await?;
    tx.commit().await?;
    sqlx::query("analyze aria_chunks").execute(pool).await?;
    let total: i64 = sqlx::query_scalar("select count(*) from aria_chunks")
        .fetch_one(pool)
        .await?;
    println!(
        "index: {total} chunks ({:.1} s to build)",
        started.elapsed().as_secs_f64()
    );
    match &retriever.store {
        Store::Memory(index) => {
            let started = Instant::now();
            index.ensure_fresh(pool, None).await?;
            println!(
                "index in memory: {} chunks ({:.1} s to load)",
                index.len(),
                started.elapsed().as_secs_f64()
            );
        }
        Store::Qdrant(qdrant, _) => {
            let started = Instant::now();
            let model = retriever.embedder.as_ref().map_or("", |e| e.name());
            let (upserted, _) = qdrant.sync(pool, model).await?;
            println!(
                "index in Qdrant: {upserted} points upserted ({:.1} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(rss) = status.lines().find(|l| l.starts_with("VmRSS:"))
    {
        println!(
            "resident memory of this process (model + index): {}",
            rss[6..].trim()
        );
    }
    let questions = eval::questions(&eval::default_questions())?;
    let rounds = 5;
    let report = |name: &str, ms: Vec<f64>| {
        let n = ms.len();
        let (p50, p99) = percentiles(ms);
        println!("{name:<34} n={n:<4} p50 {p50:>7.2} ms  p99 {p99:>7.2} ms");
    };
    for (name, method) in [
        ("lexical (Postgres FTS + excerpts)", Method::Lexical),
        ("dense (embed + search + excerpts)", Method::Dense),
        ("fused (what ARIA uses)", Method::Fused),
    ] {
        if method != Method::Lexical && !retriever.dense() {
            continue;
        }
        let mut ms = Vec::new();
        for _ in 0..rounds {
            for (question, level) in &questions {
                let filter = Filter {
                    level: Some(level),
                    course_id: None,
                    ..Filter::default()
                };
                let started = Instant::now();
                retriever.search_with(question, filter, 5, method).await?;
                ms.push(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        report(name, ms);
    }
    if retriever.dense() {
        // What the tutor runs for a student of the question's level (a Terminale
        // question searched at both levels), after the question's embedding, which the
        // tutor overlaps with its other steps.
        let mut ms = Vec::new();
        for _ in 0..rounds {
            for (question, level) in &questions {
                let started = Instant::now();
                let vector = retriever.question_vector(question).await;
                let level = ClassLevel::parse(level);
                retriever
                    .search_for_student(question, vector.as_deref(), None, level, None, 5)
                    .await?;
                ms.push(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        report("student (embed, then the tutor's)", ms);
    }
    if let (Some(embedder), Store::Memory(index)) = (&retriever.embedder, &retriever.store) {
        let (mut embed_ms, mut scan_ms) = (Vec::new(), Vec::new());
        for (question, level) in &questions {
            let started = Instant::now();
            let vector = embedder
                .embed(crate::embed::Role::Query, vec![question.clone()])
                .await?
                .pop()
                .unwrap_or_default();
            embed_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            let started = Instant::now();
            let filter = Filter {
                level: Some(level),
                course_id: None,
                ..Filter::default()
            };
            index.dense(&vector, filter, 20);
            scan_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        report("  of which: question embedding", embed_ms);
        report("  of which: exact scan of vectors", scan_ms);
    }
    sqlx::query("delete from courses where title like '%' || $1 || ')'")
        .bind(&mark)
        .execute(pool)
        .await?;
    Ok(())
}
