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
//! similarity mapped linearly from the minimum similarity (0) to the full one (1); both
//! depend on the embedding model (`Embedder::similarity_scale`).

use std::collections::HashMap;

use nexus_database::levels::ClassLevel;
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

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Passage {
    pub id: i64,
    pub course_id: i64,
    pub course_title: String,
    pub chapter_title: String,
    pub section_id: String,
    pub section_title: String,
    /// The course's level (`premiere`, `terminale`): a passage from another level
    /// than the student's is marked by it.
    pub level: String,
    /// The most relevant fragments of the section.
    pub excerpt: String,
    /// The fused score (the order of the passages).
    pub score: f32,
    /// Share of the question's (IDF) weight found among the passage's lexemes.
    pub coverage: f32,
    pub similarity: Option<f32>,
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
    /// Qdrant, with a lexical-only in-memory index (loaded on first need) to answer
    /// from while Qdrant cannot be reached.
    Qdrant(Qdrant, std::sync::Arc<MemoryIndex>),
}

#[derive(Clone)]
pub struct Retriever {
    pub pool: PgPool,
    pub embedder: Option<Embedder>,
    pub store: Store,
    pub min_similarity: f32,
    /// The similarity mapped to a full dense confidence (1).
    pub full_similarity: f32,
    /// Below this lexical coverage a passage is dropped unless similar enough.
    pub min_coverage: f32,
    /// The dense side's weight in the fusion (the lexical side's is 1).
    pub dense_weight: f32,
}

/// A fused candidate before its text is read.
#[derive(Clone)]
struct Candidate {
    id: i64,
    score: f32,
    coverage: f32,
    similarity: Option<f32>,
    /// See [`Passage::confidence`].
    confidence: f32,
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
        match embedder
            .embed(crate::embed::Role::Query, vec![question.to_owned()])
            .await
        {
            Ok(mut vectors) => vectors.pop(),
            Err(error) => {
                tracing::warn!(%error, "question embedding failed; lexical retrieval only");
                None
            }
        }
    }

    /// A search by `method` under `filter` (the evaluation and the benchmarks; the
    /// tutor calls [`Self::search_for_student`]).
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
        let (version, lexemes) = terms?;
        let found = self
            .candidates(version, &lexemes, vector.as_deref(), filter, limit, method)
            .await?;
        self.passages(&lexemes, found).await
    }

    /// A student's question, with its vector computed beforehand (the tutor overlaps
    /// it with other work), searched where the tutor looks, in order until something
    /// answers: among the courses assigned to `class_id` (any level: the class's
    /// teacher chose them) when the client names the class; then the course the
    /// student is reading (`course_id`) at their level, when the client says which;
    /// then their level's courses. The question's lexemes are read once, the passages
    /// once.
    pub async fn search_for_student(
        &self,
        question: &str,
        vector: Option<&[f32]>,
        class_id: Option<i64>,
        level: Option<ClassLevel>,
        course_id: Option<i64>,
        limit: usize,
    ) -> sqlx::Result<Vec<Passage>> {
        let (version, lexemes) = version_and_lexemes(&self.pool, question).await?;
        let mut found = Vec::new();
        if let Some(class_id) = class_id {
            let filter = Filter {
                level: None,
                course_id,
                class_id: Some(class_id),
            };
            found = self
                .candidates(version, &lexemes, vector, filter, limit, Method::Fused)
                .await?;
        }
        if found.is_empty() {
            found = self
                .for_level(version, &lexemes, vector, level, course_id, limit)
                .await?;
        }
        if found.is_empty() && course_id.is_some() {
            found = self
                .for_level(version, &lexemes, vector, level, None, limit)
                .await?;
        }
        self.passages(&lexemes, found).await
    }

    /// Fused candidates for a student of `level`. Terminale builds on Première: a
    /// Terminale student also gets Première passages, ranked after Terminale ones
    /// unless clearly more relevant (confidence higher by more than 0.05). A Première
    /// student gets Terminale passages only when nothing of Première answers (each
    /// passage carries its level, so the answer can say so).
    async fn for_level(
        &self,
        version: i64,
        lexemes: &[String],
        vector: Option<&[f32]>,
        level: Option<ClassLevel>,
        course_id: Option<i64>,
        limit: usize,
    ) -> sqlx::Result<Vec<Candidate>> {
        let search = |level: Option<ClassLevel>| {
            let filter = Filter {
                level: level.map(ClassLevel::as_str),
                course_id,
                ..Filter::default()
            };
            self.candidates(version, lexemes, vector, filter, limit, Method::Fused)
        };
        let own = search(level).await?;
        let other = match level {
            Some(ClassLevel::Terminale) => Some(ClassLevel::Premiere),
            Some(ClassLevel::Premiere) if own.is_empty() => Some(ClassLevel::Terminale),
            _ => None,
        };
        let Some(other) = other else {
            return Ok(own);
        };
        let others = search(Some(other)).await?;
        Ok(merge_levels(own, others, limit))
    }

    /// The `limit` best candidates that pass the relevance floor, fused. `method`
    /// `Dense` searches without the lexemes (the dense side's own evaluation).
    async fn candidates(
        &self,
        version: i64,
        lexemes: &[String],
        vector: Option<&[f32]>,
        filter: Filter<'_>,
        limit: usize,
        method: Method,
    ) -> sqlx::Result<Vec<Candidate>> {
        let lexemes = if method == Method::Dense {
            &[]
        } else {
            lexemes
        };
        let mut candidates = match &self.store {
            Store::Memory(index) => {
                index.ensure_fresh(&self.pool, Some(version)).await?;
                self.in_memory(index, lexemes, vector, filter)
            }
            Store::Qdrant(qdrant, fallback) => {
                let lexical = sparse(lexemes.iter().map(|l| (l.clone(), 1)));
                match qdrant.search(vector, &lexical, filter, CANDIDATES).await {
                    Ok(hits) => self.judge(&hits, lexemes, vector).await?,
                    Err(error) => {
                        // Qdrant down: answer lexically from Postgres' chunks.
                        tracing::warn!(%error, "Qdrant search failed: lexical retrieval only");
                        fallback.ensure_fresh(&self.pool, Some(version)).await?;
                        self.in_memory(fallback, lexemes, None, filter)
                    }
                }
            }
        };
        // Relevant only if enough of the question's words are in it, or (found by the
        // dense side) similar enough. The dense side's own evaluation keeps its ranking.
        if method != Method::Dense {
            candidates.retain(|c| {
                c.coverage >= self.min_coverage
                    || c.similarity.is_some_and(|s| s >= self.min_similarity)
            });
        }
        candidates.truncate(limit);
        Ok(candidates)
    }

    /// A candidate with its coverage clamped to 0..1 and its confidence: the stronger
    /// of its coverage and its similarity mapped from the minimum (0) to the full (1).
    fn candidate(&self, id: i64, score: f32, coverage: f32, similarity: Option<f32>) -> Candidate {
        let coverage = coverage.clamp(0.0, 1.0);
        let span = self.full_similarity - self.min_similarity;
        let dense = similarity.map_or(0.0, |s| ((s - self.min_similarity) / span).clamp(0.0, 1.0));
        Candidate {
            id,
            score,
            coverage,
            similarity,
            confidence: coverage.max(dense),
        }
    }

    /// Lexical and dense candidates from an in-memory index, fused.
    fn in_memory(
        &self,
        index: &MemoryIndex,
        lexemes: &[String],
        vector: Option<&[f32]>,
        filter: Filter<'_>,
    ) -> Vec<Candidate> {
        let lexical = index.lexical(lexemes, filter);
        let coverage: HashMap<i64, f32> = lexical.iter().map(|h| (h.id, h.coverage)).collect();
        let lexical: Vec<i64> = lexical.iter().take(CANDIDATES).map(|h| h.id).collect();
        let dense: Vec<i64> = vector
            .map(|v| index.dense(v, filter, CANDIDATES))
            .unwrap_or_default()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        fuse(&[(lexical, 1.0), (dense, self.dense_weight)], CANDIDATES)
            .into_iter()
            .map(|(id, score)| {
                self.candidate(
                    id,
                    score,
                    coverage.get(&id).copied().unwrap_or(0.0),
                    vector.and_then(|v| index.similarity(id, v)),
                )
            })
            .collect()
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
            // float4 / int4 is float8 in Postgres: the cast must cover the division
            // (it did not, and every Qdrant answer was a 500).
            "select id,
                    ((select count(*) from unnest(tsvector_to_array(search)) l where l = any($2))::float4
                        / greatest(cardinality($2), 1))::float4,
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
                    (Some(q), Some(e)) if q.len() == e.len() => Some(crate::vectors::dot(q, &e)),
                    _ => None,
                };
                Some(self.candidate(*id, *score, coverage, similarity))
            })
            .collect())
    }

    /// The passages of these candidates, in their order, with their excerpts around
    /// the question's `lexemes`.
    async fn passages(
        &self,
        lexemes: &[String],
        candidates: Vec<Candidate>,
    ) -> sqlx::Result<Vec<Passage>> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = candidates.iter().map(|c| c.id).collect();
        let rows: Vec<ChunkText> = sqlx::query_as(
            "select id, course_id, course_title, chapter_title, section_id, section_title, level,
                    text, word_spans, word_lexemes
             from aria_chunks where id = any($1)",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?;
        let mut by_id: HashMap<i64, ChunkText> = rows.into_iter().map(|r| (r.id, r)).collect();
        Ok(candidates
            .into_iter()
            .filter_map(|c| {
                let chunk = by_id.remove(&c.id)?;
                Some(Passage {
                    excerpt: crate::excerpt::excerpt(
                        &chunk.text,
                        &chunk.word_spans,
                        &chunk.word_lexemes,
                        lexemes,
                    ),
                    id: chunk.id,
                    course_id: chunk.course_id,
                    course_title: chunk.course_title,
                    chapter_title: chunk.chapter_title,
                    section_id: chunk.section_id,
                    section_title: chunk.section_title,
                    level: chunk.level,
                    score: c.score,
                    coverage: c.coverage,
                    similarity: c.similarity,
                    confidence: c.confidence,
                })
            })
            .collect())
    }
}

/// A chunk's text and words, read to cut its excerpt.
#[derive(sqlx::FromRow)]
struct ChunkText {
    id: i64,
    course_id: i64,
    course_title: String,
    chapter_title: String,
    section_id: String,
    section_title: String,
    level: String,
    text: String,
    word_spans: Vec<u8>,
    word_lexemes: String,
}

/// Two ranked lists, the student's level first: a candidate of `others` goes before
/// one of `own` only when clearly more relevant.
fn merge_levels(own: Vec<Candidate>, others: Vec<Candidate>, limit: usize) -> Vec<Candidate> {
    let (mut own, mut others) = (own.into_iter().peekable(), others.into_iter().peekable());
    let mut merged = Vec::with_capacity(limit);
    while merged.len() < limit {
        let take_other = match (own.peek(), others.peek()) {
            (Some(a), Some(b)) => b.confidence > a.confidence + 0.05,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        let next = if take_other {
            others.next()
        } else {
            own.next()
        };
        match next {
            Some(p) => merged.push(p),
            None => break,
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: i64, confidence: f32) -> Candidate {
        Candidate {
            id,
            score: 0.0,
            coverage: confidence,
            similarity: None,
            confidence,
        }
    }

    #[test]
    fn the_students_level_comes_first_at_equal_relevance() {
        // A Terminale student's own level, then Première's.
        let own = vec![candidate(1, 0.6), candidate(2, 0.3)];
        let others = vec![candidate(3, 0.6), candidate(4, 0.9)];
        let ids = |v: Vec<Candidate>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
        assert_eq!(ids(merge_levels(own.clone(), vec![], 5)), [1, 2]);
        assert_eq!(ids(merge_levels(vec![], others.clone(), 5)), [3, 4]);
        assert_eq!(
            ids(merge_levels(own.clone(), others.clone(), 5)),
            [1, 3, 4, 2],
            "equal: own first; clearly better: the other level first"
        );
        let better = vec![candidate(5, 0.9)];
        assert_eq!(ids(merge_levels(own, better, 2)), [5, 1]);
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
