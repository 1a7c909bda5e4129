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
struct Candidate {
    id: i64,
    score: f32,
    coverage: f32,
    similarity: Option<f32>,
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
        self.search_prepared(terms?, vector, filter, limit, method)
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
        self.search_prepared(terms, vector, filter, limit, Method::Fused)
            .await
    }

    /// A fused search for a student of `level`. Terminale builds on Première: a
    /// Terminale student also gets Première passages, ranked after Terminale ones
    /// unless clearly more relevant (confidence higher by more than 0.05). A Première
    /// student gets Terminale passages only when nothing of Première answers (each
    /// passage carries its level, so the answer can say so).
    pub async fn search_for_level(
        &self,
        question: &str,
        vector: Option<Vec<f32>>,
        level: Option<ClassLevel>,
        course_id: Option<i64>,
        limit: usize,
    ) -> sqlx::Result<Vec<Passage>> {
        let filter = |level: Option<ClassLevel>| Filter {
            level: level.map(ClassLevel::as_str),
            course_id,
            ..Filter::default()
        };
        let own = self
            .search_embedded(question, vector.clone(), filter(level), limit)
            .await?;
        let other = match level {
            Some(ClassLevel::Terminale) => Some(ClassLevel::Premiere),
            Some(ClassLevel::Premiere) if own.is_empty() => Some(ClassLevel::Terminale),
            _ => None,
        };
        let Some(other) = other else {
            return Ok(own);
        };
        let others = self
            .search_embedded(question, vector, filter(Some(other)), limit)
            .await?;
        Ok(merge_levels(own, others, limit))
    }

    /// A fused search among the courses assigned to a class (any level: the class's
    /// teacher chose them).
    pub async fn search_in_class(
        &self,
        question: &str,
        vector: Option<Vec<f32>>,
        class_id: i64,
        course_id: Option<i64>,
        limit: usize,
    ) -> sqlx::Result<Vec<Passage>> {
        let filter = Filter {
            level: None,
            course_id,
            class_id: Some(class_id),
        };
        self.search_embedded(question, vector, filter, limit).await
    }

    async fn search_prepared(
        &self,
        (version, question_lexemes): (i64, Vec<String>),
        vector: Option<Vec<f32>>,
        filter: Filter<'_>,
        limit: usize,
        method: Method,
    ) -> sqlx::Result<Vec<Passage>> {
        // The dense side's own evaluation searches without the lexemes (its excerpts
        // still show the question's words).
        let lexemes: &[String] = if method == Method::Dense {
            &[]
        } else {
            &question_lexemes
        };
        let mut candidates = match &self.store {
            Store::Memory(index) => {
                index.ensure_fresh(&self.pool, Some(version)).await?;
                self.in_memory(index, lexemes, vector.as_deref(), filter)
            }
            Store::Qdrant(qdrant, fallback) => {
                let lexical = sparse(lexemes.iter().map(|l| (l.clone(), 1)));
                match qdrant
                    .search(vector.as_deref(), &lexical, filter, CANDIDATES)
                    .await
                {
                    Ok(hits) => self.judge(&hits, lexemes, vector.as_deref()).await?,
                    Err(error) => {
                        // Qdrant down: answer lexically from Postgres' chunks.
                        tracing::warn!(%error, "Qdrant search failed: lexical retrieval only");
                        fallback.ensure_fresh(&self.pool, Some(version)).await?;
                        self.in_memory(fallback, lexemes, None, filter)
                    }
                }
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
        self.passages(&question_lexemes, candidates).await
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
            .map(|(id, score)| Candidate {
                id,
                score,
                coverage: coverage.get(&id).copied().unwrap_or(0.0),
                similarity: vector.and_then(|v| index.similarity(id, v)),
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
                Some(Candidate {
                    id: *id,
                    score: *score,
                    coverage,
                    similarity,
                })
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
        let span = self.full_similarity - self.min_similarity;
        Ok(candidates
            .into_iter()
            .filter_map(|c| {
                let chunk = by_id.remove(&c.id)?;
                let dense = c
                    .similarity
                    .map_or(0.0, |s| ((s - self.min_similarity) / span).clamp(0.0, 1.0));
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
                    confidence: c.coverage.max(dense),
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
    word_spans: Vec<i32>,
    word_lexemes: Vec<String>,
}

/// Two ranked lists, the student's level first: a passage of `others` goes before
/// one of `own` only when clearly more relevant.
fn merge_levels(own: Vec<Passage>, others: Vec<Passage>, limit: usize) -> Vec<Passage> {
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

    fn passage(id: i64, level: &str, confidence: f32) -> Passage {
        Passage {
            id,
            course_id: id,
            course_title: String::new(),
            chapter_title: String::new(),
            section_id: String::new(),
            section_title: String::new(),
            level: level.to_owned(),
            excerpt: String::new(),
            score: 0.0,
            coverage: confidence,
            similarity: None,
            confidence,
        }
    }

    #[test]
    fn the_students_level_comes_first_at_equal_relevance() {
        let own = vec![passage(1, "terminale", 0.6), passage(2, "terminale", 0.3)];
        let others = vec![passage(3, "premiere", 0.6), passage(4, "premiere", 0.9)];
        let ids = |v: Vec<Passage>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
        assert_eq!(ids(merge_levels(own.clone(), vec![], 5)), [1, 2]);
        assert_eq!(ids(merge_levels(vec![], others.clone(), 5)), [3, 4]);
        assert_eq!(
            ids(merge_levels(own.clone(), others.clone(), 5)),
            [1, 3, 4, 2],
            "equal: own first; clearly better: the other level first"
        );
        let better = vec![passage(5, "premiere", 0.9)];
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
