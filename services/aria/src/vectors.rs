//! The embedded store (ARIA's default): every replica holds the index in memory —
//! the chunks' dense vectors for exact cosine search, and their lexemes for BM25 — and
//! searches it in microseconds. Postgres stays the source of truth: the text is
//! analysed there (the `nexus_fr` configuration: accents folded, French stemming, stop
//! words dropped; `aria_chunks.search`), the vectors are stored there, and
//! `aria_index_version` tells when the copy is stale. The question's own lexemes come
//! with the version in one round trip, so a search always sees the committed index.
//!
//! At a school's size (tens of thousands of chunks) exact search needs no index to
//! tune: the scan reads each vector as 384 bytes (int8, one scale a vector: 4 MB for
//! 10,000 chunks, where the floats are 15 MB), and the best candidates it finds are
//! scored again on their floats, so what it returns is the exact cosine order.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use sqlx::PgPool;

/// What a search may be narrowed to (payload filters).
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    pub level: Option<&'a str>,
    pub course_id: Option<i64>,
    /// The courses assigned to this class (`course_classes`).
    pub class_id: Option<i64>,
}

const BM25_K1: f32 = 1.2;
const BM25_B: f32 = 0.75;

#[derive(Clone, Default)]
struct Snapshot {
    version: i64,
    ids: Vec<i64>,
    course_ids: Vec<i64>,
    /// Each chunk's level, as an index into `level_names` (a filter compares numbers,
    /// not strings: the string comparisons were most of a scan's time).
    levels: Vec<usize>,
    level_names: Vec<String>,
    /// The classes each chunk's course is assigned to.
    class_ids: Vec<Vec<i64>>,
    positions: HashMap<i64, usize>,
    /// Rows without a vector (not embedded yet) are zeros.
    vectors: Vectors,
    /// Rows not embedded yet: the dense side waits until there are none, since
    /// ranking a part of the index would push arbitrary chunks up.
    missing_vectors: usize,
    /// Lexeme → (row, weighted term frequency). Title occurrences count 3, course and
    /// chapter titles 1.5, the text 1 (the weights of `aria_chunks.search`).
    postings: HashMap<String, Vec<(u32, f32)>>,
    lengths: Vec<f32>,
    average_length: f32,
}

impl Snapshot {
    /// Whether a row passes `filter`, its level looked up once.
    fn keeper<'a>(&'a self, filter: Filter<'a>) -> impl Fn(usize) -> bool + 'a {
        // `Some(None)`: a level no chunk has, so no row passes.
        let level = filter
            .level
            .map(|level| self.level_names.iter().position(|name| name == level));
        move |row| {
            level.is_none_or(|level| level == Some(self.levels[row]))
                && filter
                    .course_id
                    .is_none_or(|course| self.course_ids[row] == course)
                && filter
                    .class_id
                    .is_none_or(|class| self.class_ids[row].contains(&class))
        }
    }

    fn push_level(&mut self, level: String) {
        let index = match self.level_names.iter().position(|name| *name == level) {
            Some(index) => index,
            None => {
                self.level_names.push(level);
                self.level_names.len() - 1
            }
        };
        self.levels.push(index);
    }

    fn idf(&self, lexeme: &str) -> f32 {
        let n = self.ids.len() as f32;
        let df = self.postings.get(lexeme).map_or(0, Vec::len) as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }
}

/// The chunks' vectors, row-major, as floats and as int8 codes (`v ≈ scale × code`).
#[derive(Clone, Default)]
struct Vectors {
    dims: usize,
    values: Vec<f32>,
    codes: Vec<i8>,
    scales: Vec<f32>,
}

/// Candidates the int8 scan keeps per result asked for, scored again exactly: its error
/// (≤ half a code step a component) only reorders near-ties, which this margin absorbs.
const RESCORED_PER_RESULT: usize = 4;

impl Vectors {
    fn new(dims: usize) -> Self {
        Self {
            dims,
            ..Self::default()
        }
    }

    fn push(&mut self, row: &[f32]) {
        assert_eq!(row.len(), self.dims, "a vector of another dimension");
        let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
        let scale = max / 127.0;
        let inverse = if scale > 0.0 { 1.0 / scale } else { 0.0 };
        self.values.extend_from_slice(row);
        self.codes.extend(
            row.iter()
                .map(|v| (v * inverse).round().clamp(-127.0, 127.0) as i8),
        );
        self.scales.push(scale);
    }

    fn row(&self, row: usize) -> Option<&[f32]> {
        self.values.get(row * self.dims..(row + 1) * self.dims)
    }

    /// The `k` rows `keep` allows most similar to `query` (dot product), best first.
    fn nearest(&self, query: &[f32], keep: impl Fn(usize) -> bool, k: usize) -> Vec<(f32, usize)> {
        // Compiled for AVX-512 where the CPU has it (the binary's baseline is SSE2).
        let mut scored: Vec<(f32, usize)> = crate::e5::vectorised(
            #[inline(always)]
            || {
                self.codes
                    .chunks_exact(self.dims)
                    .zip(&self.scales)
                    .enumerate()
                    .filter(|(row, _)| keep(*row))
                    .map(|(row, (codes, scale))| (scale * dot(codes, query), row))
                    .collect()
            },
        );
        best(&mut scored, k * RESCORED_PER_RESULT);
        for (score, row) in &mut scored {
            *score = self.row(*row).map_or(0.0, |v| dot(v, query));
        }
        best(&mut scored, k);
        scored
    }
}

/// Keeps the `k` highest scores of `scored`, best first.
fn best(scored: &mut Vec<(f32, usize)>, k: usize) {
    if scored.len() > k && k > 0 {
        scored.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
    }
    scored.truncate(k);
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
}

/// A lexical match: BM25, and the share of the question's weight (IDF) it covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LexicalHit {
    pub id: i64,
    pub bm25: f32,
    pub coverage: f32,
}

pub struct MemoryIndex {
    /// The embedding model whose vectors are loaded (none: lexical only).
    model: Option<String>,
    current: RwLock<Arc<Snapshot>>,
    reloading: tokio::sync::Mutex<()>,
}

/// The index version and the question's lexemes, in one round trip.
pub async fn version_and_lexemes(
    pool: &PgPool,
    question: &str,
) -> sqlx::Result<(i64, Vec<String>)> {
    sqlx::query_as(
        "select (select version from aria_index_version),
                array(select unnest(tsvector_to_array(to_tsvector('nexus_fr', $1))))",
    )
    .bind(question)
    .fetch_one(pool)
    .await
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    course_id: i64,
    level: String,
    class_ids: Vec<i64>,
    embedding: Option<Vec<f32>>,
    lexemes: Vec<String>,
    frequencies: Vec<f32>,
}

impl MemoryIndex {
    pub fn new(model: Option<String>) -> Self {
        Self {
            model,
            current: RwLock::default(),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn len(&self) -> usize {
        self.snapshot().ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reloads unless the copy is at `version` already (`None`: read it).
    pub async fn ensure_fresh(&self, pool: &PgPool, version: Option<i64>) -> sqlx::Result<()> {
        let version = match version {
            Some(version) => version,
            None => {
                sqlx::query_scalar("select version from aria_index_version")
                    .fetch_one(pool)
                    .await?
            }
        };
        if self.snapshot().version >= version && !self.snapshot().ids.is_empty() {
            return Ok(());
        }
        let _one_at_a_time = self.reloading.lock().await;
        if self.snapshot().version >= version && !self.snapshot().ids.is_empty() {
            return Ok(());
        }
        self.reload(pool).await
    }

    async fn reload(&self, pool: &PgPool) -> sqlx::Result<()> {
        let mut tx = pool.begin().await?;
        // The version and the rows of one snapshot of the database.
        sqlx::query("set transaction isolation level repeatable read")
            .execute(&mut *tx)
            .await?;
        let version: i64 = sqlx::query_scalar("select version from aria_index_version")
            .fetch_one(&mut *tx)
            .await?;
        let rows: Vec<Row> = sqlx::query_as(
            "select k.id, k.course_id, k.level, k.class_ids,
                    case when k.embedding_model = $1 then k.embedding end as embedding,
                    array(select l.lexeme from unnest(k.search) l) as lexemes,
                    array(select (select sum(case w when 'A' then 3.0 when 'B' then 1.5 else 1.0 end)
                                  from unnest(l.weights) w)::float4
                          from unnest(k.search) l) as frequencies
             from aria_chunks k order by k.id",
        )
        .bind(self.model.as_deref())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let dims = rows
            .iter()
            .find_map(|r| r.embedding.as_ref().map(Vec::len))
            .unwrap_or(0);
        let mut s = Snapshot {
            version,
            vectors: Vectors::new(dims),
            ..Snapshot::default()
        };
        let zeros = vec![0.0; dims];
        for (row, r) in rows.into_iter().enumerate() {
            s.positions.insert(r.id, row);
            s.ids.push(r.id);
            s.course_ids.push(r.course_id);
            s.push_level(r.level);
            s.class_ids.push(r.class_ids);
            match r.embedding {
                Some(vector) if vector.len() == dims => s.vectors.push(&vector),
                _ => {
                    s.missing_vectors += 1;
                    s.vectors.push(&zeros);
                }
            }
            let mut length = 0.0;
            for (lexeme, frequency) in r.lexemes.into_iter().zip(r.frequencies) {
                length += frequency;
                s.postings
                    .entry(lexeme)
                    .or_default()
                    .push((row as u32, frequency));
            }
            s.lengths.push(length);
        }
        s.average_length = s.lengths.iter().sum::<f32>() / s.lengths.len().max(1) as f32;
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(s);
        Ok(())
    }

    /// Every chunk matching at least one lexeme, best BM25 first.
    pub fn lexical(&self, lexemes: &[String], filter: Filter<'_>) -> Vec<LexicalHit> {
        let s = self.snapshot();
        let keep = s.keeper(filter);
        let total: f32 = lexemes.iter().map(|l| s.idf(l)).sum();
        // Per row (BM25, IDF covered), and the rows met, in order (an array indexed by
        // row: a hash map of the thousands of postings cost more than the scoring).
        let mut scores = vec![(0f32, 0f32); s.ids.len()];
        let mut met = Vec::new();
        for lexeme in lexemes {
            let Some(postings) = s.postings.get(lexeme) else {
                continue;
            };
            let idf = s.idf(lexeme);
            for &(row, tf) in postings {
                let norm =
                    BM25_K1 * (1.0 - BM25_B + BM25_B * s.lengths[row as usize] / s.average_length);
                let entry = &mut scores[row as usize];
                if entry.1 == 0.0 {
                    met.push(row as usize); // idf > 0: a row's first posting
                }
                entry.0 += idf * tf * (BM25_K1 + 1.0) / (tf + norm);
                entry.1 += idf;
            }
        }
        let mut hits: Vec<LexicalHit> = met
            .into_iter()
            .filter(|row| keep(*row))
            .map(|row| (row, scores[row]))
            .map(|(row, (bm25, covered))| LexicalHit {
                id: s.ids[row],
                bm25,
                coverage: if total > 0.0 { covered / total } else { 0.0 },
            })
            .collect();
        hits.sort_by(|a, b| b.bm25.total_cmp(&a.bm25).then(a.id.cmp(&b.id)));
        hits
    }

    /// The `k` nearest chunks by cosine similarity (vectors are normalised): exact.
    pub fn dense(&self, query: &[f32], filter: Filter<'_>, k: usize) -> Vec<(i64, f32)> {
        let s = self.snapshot();
        let dims = s.vectors.dims;
        if dims == 0 || query.len() != dims || k == 0 || s.missing_vectors > 0 {
            return Vec::new();
        }
        s.vectors
            .nearest(query, s.keeper(filter), k)
            .into_iter()
            .map(|(score, row)| (s.ids[row], score))
            .collect()
    }

    /// The cosine similarity of one chunk to the question (`None` without a vector).
    pub fn similarity(&self, id: i64, query: &[f32]) -> Option<f32> {
        let s = self.snapshot();
        let row = *s.positions.get(&id)?;
        let vector = s.vectors.row(row)?;
        let similarity = dot(vector, query);
        (s.vectors.dims == query.len() && similarity != 0.0).then_some(similarity)
    }
}

/// A dot product summed in 16 lanes: the compiler vectorises it (a single running sum
/// is a chain of dependent additions, ~4 times slower on a 10,000-chunk scan). `a` is
/// floats, or the scan's int8 codes (their conversions vectorise too).
#[inline(always)]
pub(crate) fn dot<T: Copy + Into<f32>>(a: &[T], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 16];
    let (a16, b16) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = a16
        .remainder()
        .iter()
        .zip(b16.remainder())
        .map(|(x, y)| (*x).into() * y)
        .sum();
    for (x, y) in a16.zip(b16) {
        for i in 0..16 {
            lanes[i] += x[i].into() * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Embeds the chunks without a vector of the embedder's model, 16 at a time, until none
/// is left, `budget` has run out (checked after each batch: at least one batch is
/// embedded) or `stop` says the service is stopping: then the batch in progress is
/// abandoned (its transaction rolls back, its rows stay to embed) and the embedding
/// itself, CPU work on a blocking thread, is not waited for. Replicas share the work
/// (`skip locked`). Returns how many were embedded.
pub async fn backfill(
    pool: &PgPool,
    embedder: &crate::embed::Embedder,
    stop: &nexus_web::background::Stop,
    budget: Option<std::time::Duration>,
) -> anyhow::Result<usize> {
    let started = std::time::Instant::now();
    let mut done = 0;
    while !stop.is_stopping() {
        let mut tx = pool.begin().await?;
        let batch: Vec<(i64, String)> = sqlx::query_as(
            "select id, course_title || ' — ' || chapter_title || ' — ' || section_title || E'\\n' || text
             from aria_chunks where embedding is null or embedding_model is distinct from $1
             order by id limit 16 for update skip locked",
        )
        .bind(embedder.name())
        .fetch_all(&mut *tx)
        .await?;
        if batch.is_empty() {
            return Ok(done);
        }
        let (ids, texts): (Vec<i64>, Vec<String>) = batch.into_iter().unzip();
        let Some(vectors) = stop
            .during(embedder.embed(crate::embed::Role::Passage, texts))
            .await
        else {
            break;
        };
        let vectors = vectors?;
        for (id, vector) in ids.iter().zip(vectors) {
            sqlx::query(
                "update aria_chunks set embedding = $2, embedding_model = $3, embedded_at = now() where id = $1",
            )
            .bind(id)
            .bind(vector)
            .bind(embedder.name())
            .execute(&mut *tx)
            .await?;
        }
        crate::index::bump_version(&mut tx).await?;
        tx.commit().await?;
        done += ids.len();
        if budget.is_some_and(|budget| started.elapsed() >= budget) {
            break;
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> MemoryIndex {
        let index = MemoryIndex::new(Some("m".into()));
        let mut s = Snapshot {
            version: 1,
            ids: vec![1, 2, 3],
            course_ids: vec![10, 20, 10],
            class_ids: vec![vec![7], vec![], vec![7, 8]],
            vectors: {
                let mut v = Vectors::new(2);
                for row in [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]] {
                    v.push(&row);
                }
                v
            },
            lengths: vec![10.0, 10.0, 20.0],
            average_length: 40.0 / 3.0,
            ..Snapshot::default()
        };
        for level in ["premiere", "terminale", "terminale"] {
            s.push_level(level.into());
        }
        s.positions = [(1, 0), (2, 1), (3, 2)].into();
        s.postings.insert("pil".into(), vec![(0, 3.0), (2, 1.0)]);
        s.postings.insert("fil".into(), vec![(1, 1.0)]);
        s.postings
            .insert("list".into(), vec![(0, 1.0), (1, 1.0), (2, 1.0)]);
        *index.current.write().expect("lock") = Arc::new(s);
        index
    }

    #[test]
    fn exact_dense_search_ranks_by_cosine_and_honours_filters() {
        let index = index();
        let q = [0.0, 1.0];
        let ids = |hits: Vec<(i64, f32)>| hits.into_iter().map(|h| h.0).collect::<Vec<_>>();
        assert_eq!(ids(index.dense(&q, Filter::default(), 3)), [2, 3, 1]);
        assert_eq!(ids(index.dense(&q, Filter::default(), 1)), [2]);
        let premiere = Filter {
            level: Some("premiere"),
            course_id: None,
            class_id: None,
        };
        assert_eq!(ids(index.dense(&q, premiere, 3)), [1]);
        let unknown = Filter {
            level: Some("seconde"),
            ..Filter::default()
        };
        assert!(
            index.dense(&q, unknown, 3).is_empty(),
            "a level no chunk has"
        );
        assert!(index.lexical(&["list".into()], unknown).is_empty());
        let course = Filter {
            level: None,
            course_id: Some(10),
            class_id: None,
        };
        assert_eq!(ids(index.dense(&q, course, 3)), [3, 1]);
        let class = |id| Filter {
            class_id: Some(id),
            ..Filter::default()
        };
        assert_eq!(
            ids(index.dense(&q, class(7), 3)),
            [3, 1],
            "class 7's courses"
        );
        assert_eq!(ids(index.dense(&q, class(8), 3)), [3]);
        assert!(
            index.dense(&q, class(9), 3).is_empty(),
            "no course of class 9"
        );
        assert!(
            index.dense(&[1.0], Filter::default(), 3).is_empty(),
            "wrong dimension"
        );
        assert_eq!(index.similarity(3, &q), Some(0.8));
        // Until every chunk has its vector, the dense side stays out.
        let mut partial = Snapshot::clone(&index.snapshot());
        partial.missing_vectors = 1;
        *index.current.write().expect("lock") = Arc::new(partial);
        assert!(index.dense(&q, Filter::default(), 3).is_empty());
    }

    #[test]
    fn bm25_prefers_rare_words_frequent_in_short_chunks() {
        let index = index();
        let hits = index.lexical(&["pil".into(), "list".into()], Filter::default());
        let ids: Vec<i64> = hits.iter().map(|h| h.id).collect();
        assert_eq!(
            ids,
            [1, 3, 2],
            "pile thrice in a short chunk, then once in a long one"
        );
        assert!((hits[0].coverage - 1.0).abs() < 1e-6);
        assert!(
            hits[2].coverage < 0.5,
            "only the common word: {}",
            hits[2].coverage
        );
        let unknown = index.lexical(&["recett".into()], Filter::default());
        assert!(unknown.is_empty());
        let filtered = index.lexical(
            &["pil".into()],
            Filter {
                level: Some("terminale"),
                course_id: None,
                class_id: None,
            },
        );
        assert_eq!(filtered.iter().map(|h| h.id).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn the_int8_scan_rescored_returns_the_exact_order() {
        // 3,000 pseudo-random unit vectors of 64 dimensions, 50 questions: the top 20 of
        // the scan (int8 codes, then the best 80 scored on their floats) is the exact one.
        let mut state = 12_345u32;
        let mut next = move || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1 << 24) as f32 - 0.5
        };
        let mut unit = |dims: usize| {
            let v: Vec<f32> = (0..dims).map(|_| next()).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / norm).collect::<Vec<f32>>()
        };
        let mut vectors = Vectors::new(64);
        let rows: Vec<Vec<f32>> = (0..3_000).map(|_| unit(64)).collect();
        rows.iter().for_each(|r| vectors.push(r));
        for _ in 0..50 {
            let query = unit(64);
            let mut exact: Vec<(f32, usize)> = rows
                .iter()
                .enumerate()
                .map(|(row, v)| (dot(v, &query), row))
                .collect();
            best(&mut exact, 20);
            let scanned = vectors.nearest(&query, |_| true, 20);
            assert_eq!(scanned, exact);
        }
    }
}
