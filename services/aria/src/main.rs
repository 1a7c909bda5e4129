use nexus_aria::{
    Application, AriaSettings, SERVICE, eval, index, maintain_index, retrieval::Method,
};

/// `nexus-aria` serves; `nexus-aria reindex` rebuilds the index (chunks and vectors);
/// `nexus-aria eval [questions.json]` measures retrieval quality on a seeded database,
/// `nexus-aria bench-retrieval [chunks]` its speed at scale.
fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(run());
    // Once stopped, an embedding the index sync abandoned (CPU work on a blocking
    // thread, seconds in a debug build) is not waited for: dropping the runtime would.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

async fn run() -> anyhow::Result<()> {
    let settings = AriaSettings::from_env()?;
    let _sentry = nexus_web::service::init(SERVICE, &settings.common);
    let command = std::env::args().nth(1);
    if let Some(command @ ("reindex" | "eval" | "bench-retrieval")) = command.as_deref() {
        let pool = nexus_database::connect_with_retry(
            settings.common.database_url.expose(),
            2,
            std::time::Duration::from_secs(30),
        )
        .await?;
        let retriever = nexus_aria::retriever(&settings, &pool, &reqwest::Client::new());
        if command == "bench-retrieval" {
            maintain_index(&retriever).await?;
            let chunks = std::env::args().nth(2).map_or(Ok(10_000), |n| n.parse())?;
            nexus_aria::bench::retrieval(&retriever, chunks).await?;
        } else if command == "reindex" {
            let courses = index::reindex_all(&pool).await?;
            maintain_index(&retriever).await?;
            println!(
                "ARIA index rebuilt: {courses} published courses ({})",
                if retriever.dense() {
                    "lexical + dense"
                } else {
                    "lexical only"
                }
            );
        } else {
            maintain_index(&retriever).await?;
            let questions = std::env::args()
                .nth(2)
                .map_or_else(eval::default_questions, Into::into);
            println!(
                "method   questions  recall@5  MRR@10  nDCG@5  off-topic rejected  p50 ms  p99 ms"
            );
            for (name, method) in [
                ("lexical", Method::Lexical),
                ("dense", Method::Dense),
                ("fused", Method::Fused),
            ] {
                if method != Method::Lexical && !retriever.dense() {
                    println!("{name:<8} (no embedding model)");
                    continue;
                }
                let s = eval::evaluate(&retriever, &questions, &eval::default_seed_dir(), method)
                    .await?;
                println!(
                    "{name:<8} {:>9}  {:>8.3}  {:>6.3}  {:>6.3}  {:>18.3}  {:>6.2}  {:>6.2}",
                    s.questions,
                    s.recall_at_5,
                    s.mrr_at_10,
                    s.ndcg_at_5,
                    s.off_topic_rejected,
                    s.p50_ms,
                    s.p99_ms
                );
                for (kind, q) in &s.by_kind {
                    println!(
                        "  {kind:<10} {:>5}  {:>8.3}  {:>6.3}  {:>6.3}",
                        q.questions, q.recall_at_5, q.mrr_at_10, q.ndcg_at_5
                    );
                }
            }
        }
        return Ok(());
    }
    let app = Application::build(settings).await?;
    app.run_until_stopped(nexus_web::serve::shutdown_signal())
        .await?;
    Ok(())
}
