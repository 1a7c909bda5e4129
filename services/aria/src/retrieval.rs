//! Retrieval over ARIA's index: lexical and dense candidates fused.
//!
//! - Lexical: the question's lexemes by Postgres' French analysis (`nexus_fr`: accents
//!   folded, French stemming, stop words dropped), ranked by BM25 over the chunks'
//!   lexemes — in memory ([`crate::vectors`]) or by Qdrant's sparse vectors with IDF.
//! - Dense: the question's sentence embedding against the chunks' (exact cosine in
//!   memory, or Qdrant's dense vectors).
//! - Fusion: weighted reciprocal rank fusion (`Σ weight / (60 + rank)`, the lexical
//!   side weighing 1 and the dense side `ARIA_DENSE_WEIGHT`), which needs no
//!   calibration between the two scores; Qdrant fuses its two prefetches with RRF.
//! - Relevance floor: a passage must cover enough of the question's weight
//!   (`ARIA_LEXICAL_MIN_COVERAGE`) or be similar enough (`ARIA_DENSE_MIN_SIMILARITY`),
//!   or an off-topic question would always get its nearest, irrelevant, neighbours.
//!
//! Each passage's `confidence` (0..1) is the stronger of its two signals: its lexical
//! `coverage` (the share of the question's IDF weight among its lexemes) and its cosine
//! similarity mapped linearly from the minimum similarity (0) to 0.8 (1).

use std::collections::HashMap;

use serde::Serialize;
use sqlx::PgPool;

use crate::{
    embed::Embedder,
    qdrant::{Qdrant, sparse},
    vectors::{Filter, MemoryIndex, version_and_lexemes},
};

/// Candidates taken from each side before fusion.
const CANDIDATES: usize = 20;
const RRF_K: f32 = 60.0;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Passage {
    pub id: i64,
    pub course_id: i64,
    pub course_title: String,
    pub chapter_title: String,
    pub section_id: String,
    pub section_title: String,
    /// The most relevant fragments of the section.
    pub excerpt: String,
    /// The fused score (the order of the passages).
    #[sqlx(default)]
    pub score: f32,
    /// Share of the question's (IDF) weight found among the passage's lexemes.
    #[sqlx(default)]
    pub coverage: f32,
    #[sqlx(default)]
    pub similarity: Option<f32>,
    #[sqlx(default)]
    pub confidence: f32,
}

/// Which side(s) to use: the service always fuses; the evaluation compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Lexical,
    Dense,
    Fused,
}

#[derive(Clone)]
pub enum Store {
    Memory(std::sync::Arc<MemoryIndex>),
    Qdrant(Qdrant),
}

#[derive(Clone)]
pub struct Retriever {
    pub pool: PgPool,
    pub embedder: Option<Embedder>,
    pub store: Store,
    pub min_similarity: f32,
    /// Below this lexical coverage a passage is dropped unless similar enough.
    pub min_coverage: f32,
    /// The dense side's weight in the fusion (the lexical side's is 1).
    pub dense_weight: f32,
}

/// A fused candidate before its text is read.
struct Candidate {
    id: i64,
    score: f32,
    coverage: f32,
    similarity: Option<f32>,
}

/// The words of a question as a `to_tsquery` OR expression: letters and digits only,
/// so no input can break the query syntax.
pub fn or_query(question: &str) -> Option<String> {
    let words: Vec<String> = question
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .take(30)
        .map(str::to_lowercase)
        .collect();
    (!words.is_empty()).then(|| words.join(" | "))
}

/// Weighted reciprocal rank fusion of ranked id lists: `Σ weight / (60 + rank)`.
pub fn fuse(lists: &[(Vec<i64>, f32)], limit: usize) -> Vec<(i64, f32)> {
    let mut scores: HashMap<i64, f32> = HashMap::new();
    for (list, weight) in lists {
        for (rank, id) in list.iter().enumerate() {
            *scores.entry(*id).or_default() += weight / (RRF_K + rank as f32 + 1.0);
        }
    }
    let mut fused: Vec<(i64, f32)> = scores.into_iter().collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    fused.truncate(limit);
    fused
}

impl Retriever {
    /// Whether dense retrieval is on (an embedding model is loaded).
    pub fn dense(&self) -> bool {
        self.embedder.is_some()
    }

    /// The question's embedding (`None` without a model, or if it failed).
    pub async fn question_vector(&self, question: &str) -> Option<Vec<f32>> {
        let embedder = self.embedder.as_ref()?;
        match embedder.embed(vec![question.to_owned()]).await {
            Ok(mut vectors) => vectors.pop(),
            Err(error) => {
                tracing::warn!(%error, "question embedding failed; lexical retrieval only");
                None
            }
        }
    }

    pub async fn search_with(
        &self,
        question: &str,
        filter: Filter<'_>,
        limit: usize,
        method: Method,
    ) -> sqlx::Result<Vec<Passage>> {
        // The question's lexemes (Postgres) and its embedding (a CPU thread) at once.
        let (terms, vector) = tokio::join!(version_and_lexemes(&self.pool, question), async {
            if method == Method::Lexical {
                None
            } else {
                self.question_vector(question).await
            }
        });
        self.search_prepared(question, terms?, vector, filter, limit, method)
            .await
    }

    /// A fused search with the question's vector computed beforehand (the tutor
    /// overlaps it with other work); [`Self::search_with`] computes it itself.
    pub async fn search_embedded(
        &self,
        question: &str,
        vector: Option<Vec<f32>>,
        filter: Filter<'_>,
        limit: usize,
    ) -> sqlx::Result<Vec<Passage>> {
        let terms = version_and_lexemes(&self.pool, question).await?;
        self.search_prepared(question, terms, vector, filter, limit, Method::Fused)
            .await
    }

    async fn search_prepared(
        &self,
        question: &str,
        (version, mut lexemes): (i64, Vec<String>),
        vector: Option<Vec<f32>>,
        filter: Filter<'_>,
        limit: usize,
        method: Method,
    ) -> sqlx::Result<Vec<Passage>> {
        if method == Method::Dense {
            lexemes.clear();
        }
        let mut candidates = match &self.store {
            Store::Memory(index) => {
                index.ensure_fresh(&self.pool, Some(version)).await?;
                let lexical = index.lexical(&lexemes, filter);
                let coverage: HashMap<i64, f32> =
                    lexical.iter().map(|h| (h.id, h.coverage)).collect();
                let lexical: Vec<i64> = lexical.iter().take(CANDIDATES).map(|h| h.id).collect();
                let dense: Vec<i64> = vector
                    .as_ref()
                    .map(|v| index.dense(v, filter, CANDIDATES))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect();
                fuse(&[(lexical, 1.0), (dense, self.dense_weight)], CANDIDATES)
                    .into_iter()
                    .map(|(id, score)| Candidate {
                        id,
                        score,
                        coverage: coverage.get(&id).copied().unwrap_or(0.0),
                        similarity: vector.as_ref().and_then(|v| index.similarity(id, v)),
                    })
                    .collect()
            }
            Store::Qdrant(qdrant) => {
                let lexical = sparse(lexemes.iter().map(|l| (l.clone(), 1)));
                let hits = match qdrant
                    .search(vector.as_deref(), &lexical, filter, CANDIDATES)
                    .await
                {
                    Ok(hits) => hits,
                    Err(error) => {
                        tracing::warn!(%error, "Qdrant search failed: no passages");
                        Vec::new()
                    }
                };
                self.judge(&hits, &lexemes, vector.as_deref()).await?
            }
        };
        for c in &mut candidates {
            c.coverage = c.coverage.clamp(0.0, 1.0);
        }
        // Relevant only if enough of the question's words are in it, or (found by the
        // dense side) similar enough. The dense side's own evaluation keeps its ranking.
        if method != Method::Dense {
            candidates.retain(|c| {
                c.coverage >= self.min_coverage
                    || c.similarity.is_some_and(|s| s >= self.min_similarity)
            });
        }
        candidates.truncate(limit);
        self.passages(question, candidates).await
    }

    /// Coverage and similarity of Qdrant's hits, from the stored chunks.
    async fn judge(
        &self,
        hits: &[(i64, f32)],
        lexemes: &[String],
        vector: Option<&[f32]>,
    ) -> sqlx::Result<Vec<Candidate>> {
        let ids: Vec<i64> = hits.iter().map(|h| h.0).collect();
        let rows: Vec<(i64, f32, Option<Vec<f32>>)> = sqlx::query_as(
            "select id,
                    (select count(*) from unnest(tsvector_to_array(search)) l where l = any($2))::float4
                        / greatest(cardinality($2), 1),
                    embedding
             from aria_chunks where id = any($1)",
        )
        .bind(&ids)
        .bind(lexemes)
        .fetch_all(&self.pool)
        .await?;
        let mut rows: HashMap<i64, (f32, Option<Vec<f32>>)> =
            rows.into_iter().map(|(id, c, e)| (id, (c, e))).collect();
        Ok(hits
            .iter()
            .filter_map(|(id, score)| {
                let (coverage, embedding) = rows.remove(id)?;
                let similarity = match (vector, embedding) {
                    (Some(q), Some(e)) if q.len() == e.len() => {
                        Some(q.iter().zip(&e).map(|(a, b)| a * b).sum())
                    }
                    _ => None,
                };
                Some(Candidate {
                    id: *id,
                    score: *score,
                    coverage,
                    similarity,
                })
            })
            .collect())
    }

    /// The passages of these candidates, in their order, with their excerpts.
    async fn passages(
        &self,
        question: &str,
        candidates: Vec<Candidate>,
    ) -> sqlx::Result<Vec<Passage>> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = candidates.iter().map(|c| c.id).collect();
        let query = or_query(question).unwrap_or_default();
        let rows: Vec<Passage> = sqlx::query_as(
            "with q as (select to_tsquery('nexus_fr', $1) as query)
             select k.id, k.course_id, k.course_title, k.chapter_title, k.section_id, k.section_title,
                    ts_headline('nexus_fr', k.text, q.query,
                                'StartSel=\"\", StopSel=\"\", MaxWords=45, MinWords=20, MaxFragments=2, FragmentDelimiter=\" … \"') as excerpt
             from aria_chunks k, q where k.id = any($2)",
        )
        .bind(query)
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?;
        let mut by_id: HashMap<i64, Passage> = rows.into_iter().map(|p| (p.id, p)).collect();
        let span = 0.8 - self.min_similarity;
        Ok(candidates
            .into_iter()
            .filter_map(|c| {
                let mut passage = by_id.remove(&c.id)?;
                let dense = c
                    .similarity
                    .map_or(0.0, |s| ((s - self.min_similarity) / span).clamp(0.0, 1.0));
                passage.score = c.score;
                passage.coverage = c.coverage;
                passage.similarity = c.similarity;
                passage.confidence = c.coverage.max(dense);
                Some(passage)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_become_safe_or_queries() {
        assert_eq!(
            or_query("C'est quoi une pile ?").as_deref(),
            Some("est | quoi | une | pile")
        );
        assert_eq!(
            or_query("'); drop table x; -- & | !").as_deref(),
            Some("drop | table")
        );
        assert_eq!(or_query("?!"), None);
    }

    #[test]
    fn fusion_rewards_agreement() {
        let fused = fuse(&[(vec![1, 2, 3], 1.0), (vec![3, 4, 1], 1.0)], 10);
        let order: Vec<i64> = fused.iter().map(|f| f.0).collect();
        assert_eq!(order, [1, 3, 2, 4], "found by both sides first");
        assert!((fused[0].1 - (1.0 / 61.0 + 1.0 / 63.0)).abs() < 1e-6);
        assert_eq!(fuse(&[(vec![5, 6], 1.0)], 1), [(5, 1.0 / 61.0)]);
        let weighted = fuse(&[(vec![1, 2], 1.0), (vec![2, 1], 0.5)], 2);
        assert_eq!(weighted[0].0, 1, "the heavier side decides a tie in ranks");
    }
}
