//! Speed and memory of a local embedding model, on this machine:
//!
//!     cargo run --release -p nexus-aria --example embedding_bench -- <model dir>
//!
//! Run once per model (each run is a fresh process, so its memory is the model's):
//! load time, resident memory after loading, the time to embed each question of the
//! evaluation set alone (as a chat does: p50 / p99), and the time per passage when
//! indexing the seeded curriculum (its sections as `backfill` builds them, batches of
//! 16). The figures of docs/PERFORMANCE.md (ARIA) come from here.
use std::time::Instant;

use nexus_aria::embed::{LocalModel, Role};

fn rss_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: embedding_bench <model dir>");
    let before = rss_mb("VmRSS:");
    let started = Instant::now();
    let model = LocalModel::load(std::path::Path::new(&dir))?;
    let load = started.elapsed();
    let after = rss_mb("VmRSS:");
    println!("model {dir}");
    println!(
        "load {:.0} ms, resident memory {:.0} MB (+{:.0} MB for the model)",
        load.as_secs_f64() * 1000.0,
        after,
        after - before
    );

    let questions: serde_json::Value =
        serde_json::from_slice(&std::fs::read(nexus_aria::eval::default_questions())?)?;
    let questions: Vec<String> = questions["questions"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(questions["offTopic"].as_array().into_iter().flatten())
        .filter_map(|q| q["question"].as_str().map(str::to_owned))
        .collect();
    model.embed(Role::Query, &questions[..1])?; // warm-up
    let mut ms = Vec::new();
    for question in &questions {
        let started = Instant::now();
        model.embed(Role::Query, std::slice::from_ref(question))?;
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "question alone: p50 {:.1} ms, p99 {:.1} ms ({} questions)",
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms.len()
    );

    let mut passages = Vec::new();
    for entry in std::fs::read_dir(nexus_aria::eval::default_seed_dir())? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let course: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
        for chapter in course["content"]["chapters"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for section in chapter["sections"].as_array().into_iter().flatten() {
                passages.push(format!(
                    "{} — {} — {}\n{}",
                    course["title"].as_str().unwrap_or_default(),
                    chapter["title"].as_str().unwrap_or_default(),
                    section["title"].as_str().unwrap_or_default(),
                    section["content"].as_str().unwrap_or_default()
                ));
            }
        }
    }
    let started = Instant::now();
    for batch in passages.chunks(16) {
        model.embed(Role::Passage, batch)?;
    }
    let total = started.elapsed().as_secs_f64() * 1000.0;
    println!(
        "indexing: {} passages in {:.0} ms, {:.1} ms per passage (batches of 16)",
        passages.len(),
        total,
        total / passages.len() as f64
    );
    println!("peak resident memory {:.0} MB", rss_mb("VmHWM:"));
    Ok(())
}
