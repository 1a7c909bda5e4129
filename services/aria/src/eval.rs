//! Retrieval quality, measured: the evaluation set (`services/aria/eval/questions.json`,
//! NSI questions as students write them, each with the seeded course sections that
//! answer it) run against the index. Reports recall@5 (the share of relevant sections
//! among the first five passages, averaged over questions) and MRR@10 (the mean of
//! 1 / rank of the first relevant passage). `nexus-aria eval` prints them for the
//! lexical, dense and fused retrieval; a test keeps the fused figures from regressing.

use std::{collections::HashMap, path::Path, time::Instant};

use anyhow::Context;
use serde::Deserialize;

use crate::{
    retrieval::{Method, Retriever},
    vectors::Filter,
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EvalSet {
    questions: Vec<EvalQuestion>,
    /// Questions outside NSI: nothing should be retrieved for them.
    #[serde(default)]
    off_topic: Vec<OffTopic>,
}

#[derive(Debug, Deserialize)]
struct OffTopic {
    question: String,
    level: String,
}

#[derive(Debug, Deserialize)]
struct EvalQuestion {
    question: String,
    level: String,
    /// What the question tests: `base` (as students type them, the first 80),
    /// `paraphrase` (no word in common with its section), `english`, `typo` (heavy
    /// typos and missing accents), `multi` (the answer spans two sections).
    #[serde(default = "base_kind")]
    kind: String,
    relevant: Vec<Relevant>,
}

fn base_kind() -> String {
    "base".into()
}

#[derive(Debug, Deserialize)]
struct Relevant {
    course: String,
    section: String,
}

#[derive(Debug, Deserialize)]
struct SeedCourse {
    slug: String,
    title: String,
}

/// Quality figures over a set of questions.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quality {
    pub questions: usize,
    pub recall_at_5: f64,
    pub mrr_at_10: f64,
    pub ndcg_at_5: f64,
}

impl Quality {
    fn add(&mut self, recall: f64, reciprocal: f64, ndcg: f64) {
        self.questions += 1;
        self.recall_at_5 += recall;
        self.mrr_at_10 += reciprocal;
        self.ndcg_at_5 += ndcg;
    }

    fn averaged(self) -> Self {
        let n = self.questions.max(1) as f64;
        Self {
            questions: self.questions,
            recall_at_5: self.recall_at_5 / n,
            mrr_at_10: self.mrr_at_10 / n,
            ndcg_at_5: self.ndcg_at_5 / n,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Scores {
    /// The same figures per kind of question (`base`, `paraphrase`, `english`,
    /// `typo`, `multi`), in that order of first appearance in the set.
    pub by_kind: Vec<(String, Quality)>,
    pub questions: usize,
    pub recall_at_5: f64,
    pub mrr_at_10: f64,
    /// nDCG@5 with binary relevance: `Σ 1/log2(rank + 1)` over the relevant passages
    /// among the first five, divided by its best possible value.
    pub ndcg_at_5: f64,
    /// Retrieval time per question, median and 99th percentile (ms).
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Share of the off-topic questions for which nothing was retrieved.
    pub off_topic_rejected: f64,
}

impl Scores {
    /// The figures of one kind of question (zero questions when the set has none).
    pub fn kind(&self, kind: &str) -> Quality {
        self.by_kind
            .iter()
            .find(|(k, _)| k == kind)
            .map_or_else(Quality::default, |(_, q)| *q)
    }
}

pub fn default_questions() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/questions.json")
}

pub fn default_seed_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../database/seed/courses")
}

/// Course slug → title, from the seed files (the index knows titles).
fn titles(seed_dir: &Path) -> anyhow::Result<HashMap<String, String>> {
    let mut titles = HashMap::new();
    for entry in std::fs::read_dir(seed_dir).with_context(|| seed_dir.display().to_string())? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let course: SeedCourse = serde_json::from_slice(&std::fs::read(&path)?)
                .with_context(|| path.display().to_string())?;
            titles.insert(course.slug, course.title);
        }
    }
    Ok(titles)
}

/// Reads an evaluation set file.
fn load(path: &Path) -> anyhow::Result<EvalSet> {
    let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// The evaluation set's questions and levels.
pub fn questions(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let set = load(path)?;
    Ok(set
        .questions
        .into_iter()
        .map(|q| (q.question, q.level))
        .collect())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// nDCG@5 of one ranking (`hits`: whether each of the first five is relevant) for a
/// question with `relevant` relevant sections.
fn ndcg_at_5(hits: impl Iterator<Item = bool>, relevant: usize) -> f64 {
    let gain = |rank: usize| 1.0 / ((rank + 2) as f64).log2();
    let dcg: f64 = hits
        .take(5)
        .enumerate()
        .filter(|(_, hit)| *hit)
        .map(|(rank, _)| gain(rank))
        .sum();
    let ideal: f64 = (0..relevant.min(5)).map(gain).sum();
    if ideal > 0.0 { dcg / ideal } else { 0.0 }
}

pub async fn evaluate(
    retriever: &Retriever,
    questions: &Path,
    seed_dir: &Path,
    method: Method,
) -> anyhow::Result<Scores> {
    let set = load(questions)?;
    let titles = titles(seed_dir)?;
    // ARIA_EVAL_VERBOSE=1: print the questions whose sections were not all found.
    let verbose = std::env::var("ARIA_EVAL_VERBOSE").is_ok_and(|v| v == "1");
    let mut all = Quality::default();
    let mut by_kind: Vec<(String, Quality)> = Vec::new();
    let mut times = Vec::with_capacity(set.questions.len());
    for q in &set.questions {
        let relevant: Vec<(&str, &str)> = q
            .relevant
            .iter()
            .map(|r| {
                let title = titles
                    .get(&r.course)
                    .with_context(|| format!("unknown course {}", r.course))?;
                Ok((title.as_str(), r.section.as_str()))
            })
            .collect::<anyhow::Result<_>>()?;
        let filter = Filter {
            level: Some(&q.level),
            course_id: None,
            ..Filter::default()
        };
        let started = Instant::now();
        let passages = retriever
            .search_with(&q.question, filter, 10, method)
            .await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        let is_relevant = |p: &crate::retrieval::Passage| {
            relevant
                .iter()
                .any(|(title, section)| p.course_title == *title && p.section_id == *section)
        };
        let found = relevant
            .iter()
            .filter(|(title, section)| {
                passages
                    .iter()
                    .take(5)
                    .any(|p| p.course_title == *title && p.section_id == *section)
            })
            .count();
        let recall = found as f64 / relevant.len() as f64;
        if found < relevant.len() && verbose {
            let got: Vec<String> = passages
                .iter()
                .take(5)
                .map(|p| format!("{} {}", p.course_title, p.section_id))
                .collect();
            eprintln!("{method:?} miss: {} → {got:?}", q.question);
        }
        if verbose && let Some(top) = passages.iter().find(|p| is_relevant(p)) {
            eprintln!(
                "{method:?} relevant similarity {:?} coverage {}: {}",
                top.similarity, top.coverage, q.question
            );
        }
        let reciprocal = passages
            .iter()
            .position(is_relevant)
            .map_or(0.0, |rank| 1.0 / (rank + 1) as f64);
        let ndcg = ndcg_at_5(passages.iter().take(5).map(is_relevant), relevant.len());
        all.add(recall, reciprocal, ndcg);
        match by_kind.iter_mut().find(|(kind, _)| *kind == q.kind) {
            Some((_, quality)) => quality.add(recall, reciprocal, ndcg),
            None => {
                let mut quality = Quality::default();
                quality.add(recall, reciprocal, ndcg);
                by_kind.push((q.kind.clone(), quality));
            }
        }
    }
    let mut rejected = 0;
    for q in &set.off_topic {
        let filter = Filter {
            level: Some(&q.level),
            course_id: None,
            ..Filter::default()
        };
        let passages = retriever
            .search_with(&q.question, filter, 5, method)
            .await?;
        if passages.is_empty() {
            rejected += 1;
        } else if verbose {
            let top = &passages[0];
            eprintln!(
                "{method:?} off-topic answered: {} → {} {} (coverage {}, similarity {:?})",
                q.question, top.course_title, top.section_id, top.coverage, top.similarity
            );
        }
    }
    times.sort_by(f64::total_cmp);
    let all = all.averaged();
    Ok(Scores {
        by_kind: by_kind
            .into_iter()
            .map(|(kind, quality)| (kind, quality.averaged()))
            .collect(),
        questions: all.questions,
        recall_at_5: all.recall_at_5,
        mrr_at_10: all.mrr_at_10,
        ndcg_at_5: all.ndcg_at_5,
        p50_ms: percentile(&times, 0.5),
        p99_ms: percentile(&times, 0.99),
        off_topic_rejected: rejected as f64 / set.off_topic.len().max(1) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndcg_rewards_relevant_passages_ranked_first() {
        assert!((ndcg_at_5([true].into_iter(), 1) - 1.0).abs() < 1e-9);
        assert!((ndcg_at_5([false, true].into_iter(), 1) - 1.0 / 3f64.log2()).abs() < 1e-9);
        assert_eq!(ndcg_at_5([false; 5].into_iter(), 1), 0.0);
        let two = ndcg_at_5([true, false, true].into_iter(), 2);
        assert!((two - (1.0 + 0.5) / (1.0 + 1.0 / 3f64.log2())).abs() < 1e-9);
    }
}
