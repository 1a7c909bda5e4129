//! Qdrant as ARIA's vector store, when `QDRANT_URL` is set — through Qdrant's
//! documented REST API (collections, points upsert / delete / scroll, and the
//! universal `points/query` with prefetches fused by RRF).
//!
//! One point per chunk (its id is the chunk's id) with two named vectors: `dense`
//! (the sentence embedding, cosine) and `lexical` (sparse: the chunk's French lexemes
//! from Postgres' `nexus_fr` configuration, hashed to indices, weighted by
//! `1 + ln(tf)`, with Qdrant's IDF modifier — BM25-like). The payload carries `level`,
//! `course_id` and `category` for filters. Postgres stays the source of truth: `sync`
//! makes the collection match the stored chunks.

use std::collections::{HashMap, HashSet};

use anyhow::{Context, anyhow};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::vectors::Filter;

#[derive(Debug, Clone)]
pub struct QdrantSettings {
    pub url: String,
    pub api_key: Option<secrecy::SecretString>,
    pub collection: String,
}

/// A chunk as a Qdrant point is made of.
#[derive(sqlx::FromRow)]
struct PointRow {
    id: i64,
    course_id: i64,
    level: String,
    category: Option<String>,
    embedding: Vec<f32>,
    lexemes: Vec<String>,
    counts: Vec<i32>,
}

#[derive(Clone)]
pub struct Qdrant {
    http: reqwest::Client,
    settings: QdrantSettings,
}

/// A sparse vector: lexeme hashes and weights.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sparse {
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

/// FNV-1a: stable across processes and versions (the index must not change).
fn lexeme_index(lexeme: &str) -> u32 {
    lexeme.bytes().fold(0x811c_9dc5u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

/// Lexemes and their counts → a sparse vector (colliding hashes add up).
pub fn sparse(lexemes: impl IntoIterator<Item = (String, i32)>) -> Sparse {
    let mut weights: HashMap<u32, f32> = HashMap::new();
    for (lexeme, count) in lexemes {
        *weights.entry(lexeme_index(&lexeme)).or_default() += 1.0 + (count.max(1) as f32).ln();
    }
    let mut pairs: Vec<(u32, f32)> = weights.into_iter().collect();
    pairs.sort_by_key(|p| p.0);
    Sparse {
        indices: pairs.iter().map(|p| p.0).collect(),
        values: pairs.iter().map(|p| p.1).collect(),
    }
}

fn filter_json(filter: Filter<'_>) -> Option<Value> {
    let mut must = Vec::new();
    if let Some(level) = filter.level {
        must.push(json!({"key": "level", "match": {"value": level}}));
    }
    if let Some(course) = filter.course_id {
        must.push(json!({"key": "course_id", "match": {"value": course}}));
    }
    (!must.is_empty()).then(|| json!({"must": must}))
}

impl Qdrant {
    pub fn new(http: reqwest::Client, settings: QdrantSettings) -> Self {
        Self { http, settings }
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/collections/{}{path}",
            self.settings.url.trim_end_matches('/'),
            self.settings.collection
        )
    }

    /// A request to the server, with its API key when one is set.
    fn request(
        &self,
        method: reqwest::Method,
        url: String,
        timeout: std::time::Duration,
    ) -> reqwest::RequestBuilder {
        let request = self.http.request(method, url).timeout(timeout);
        match &self.settings.api_key {
            Some(key) => {
                use secrecy::ExposeSecret;
                request.header("api-key", key.expose_secret())
            }
            None => request,
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self.request(method, self.url(path), std::time::Duration::from_secs(30));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.context("qdrant unreachable")?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(anyhow!("qdrant {path}: {status} {}", body["status"]));
        }
        Ok(body)
    }

    /// Is the server there? (`GET /collections`, for readiness and tests.)
    pub async fn reachable(&self) -> bool {
        let url = format!("{}/collections", self.settings.url.trim_end_matches('/'));
        self.request(reqwest::Method::GET, url, std::time::Duration::from_secs(3))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    /// Creates the collection (dense + sparse vectors, payload indexes) if missing.
    pub async fn ensure_collection(&self, dims: usize) -> anyhow::Result<()> {
        if self.call(reqwest::Method::GET, "", None).await.is_ok() {
            return Ok(());
        }
        self.call(
            reqwest::Method::PUT,
            "",
            Some(json!({
                "vectors": {"dense": {"size": dims, "distance": "Cosine"}},
                "sparse_vectors": {"lexical": {"modifier": "idf"}},
            })),
        )
        .await?;
        for (field, schema) in [("level", "keyword"), ("course_id", "integer")] {
            self.call(
                reqwest::Method::PUT,
                "/index?wait=true",
                Some(json!({"field_name": field, "field_schema": schema})),
            )
            .await?;
        }
        Ok(())
    }

    pub async fn drop_collection(&self) -> anyhow::Result<()> {
        self.call(reqwest::Method::DELETE, "", None).await.map(drop)
    }

    async fn point_ids(&self) -> anyhow::Result<HashSet<i64>> {
        let mut ids = HashSet::new();
        let mut offset = Value::Null;
        loop {
            let body = self
                .call(
                    reqwest::Method::POST,
                    "/points/scroll",
                    Some(json!({"limit": 1000, "offset": offset, "with_payload": false, "with_vector": false})),
                )
                .await?;
            for point in body["result"]["points"].as_array().into_iter().flatten() {
                if let Some(id) = point["id"].as_i64() {
                    ids.insert(id);
                }
            }
            offset = body["result"]["next_page_offset"].clone();
            if offset.is_null() {
                return Ok(ids);
            }
        }
    }

    /// Makes the collection hold exactly the chunks embedded by `model`: upserts the
    /// missing ones, deletes the ones gone. Returns (upserted, deleted).
    pub async fn sync(&self, pool: &PgPool, model: &str) -> anyhow::Result<(usize, usize)> {
        let wanted: HashSet<i64> = sqlx::query_scalar(
            "select id from aria_chunks where embedding_model = $1 and embedding is not null",
        )
        .bind(model)
        .fetch_all(pool)
        .await?
        .into_iter()
        .collect();
        let Some(dims) = sqlx::query_scalar::<_, Option<i32>>(
            "select max(cardinality(embedding)) from aria_chunks where embedding_model = $1",
        )
        .bind(model)
        .fetch_one(pool)
        .await?
        else {
            return Ok((0, 0));
        };
        self.ensure_collection(dims as usize).await?;
        let present = self.point_ids().await?;
        let missing: Vec<i64> = wanted.difference(&present).copied().collect();
        let gone: Vec<i64> = present.difference(&wanted).copied().collect();
        for batch in missing.chunks(64) {
            let rows: Vec<PointRow> = sqlx::query_as(
                "select k.id, k.course_id, k.level, k.category, k.embedding,
                        array(select l.lexeme from unnest(k.search) l order by l.lexeme) as lexemes,
                        array(select coalesce(cardinality(l.positions), 1) from unnest(k.search) l order by l.lexeme) as counts
                 from aria_chunks k where k.id = any($1)",
            )
            .bind(batch)
            .fetch_all(pool)
            .await?;
            let points: Vec<Value> = rows
                .into_iter()
                .map(|r| {
                    let lexical = sparse(r.lexemes.into_iter().zip(r.counts));
                    json!({
                        "id": r.id,
                        "vector": {"dense": r.embedding, "lexical": {"indices": lexical.indices, "values": lexical.values}},
                        "payload": {"course_id": r.course_id, "level": r.level, "category": r.category},
                    })
                })
                .collect();
            self.call(
                reqwest::Method::PUT,
                "/points?wait=true",
                Some(json!({"points": points})),
            )
            .await?;
        }
        if !gone.is_empty() {
            self.call(
                reqwest::Method::POST,
                "/points/delete?wait=true",
                Some(json!({"points": gone})),
            )
            .await?;
        }
        Ok((missing.len(), gone.len()))
    }

    /// Hybrid search: the dense and the lexical candidates, fused by Qdrant (RRF).
    pub async fn search(
        &self,
        dense: Option<&[f32]>,
        lexical: &Sparse,
        filter: Filter<'_>,
        k: usize,
    ) -> anyhow::Result<Vec<(i64, f32)>> {
        let filter = filter_json(filter);
        let mut prefetch = Vec::new();
        if let Some(dense) = dense {
            prefetch
                .push(json!({"query": dense, "using": "dense", "limit": k * 4, "filter": filter}));
        }
        if !lexical.indices.is_empty() {
            prefetch.push(json!({
                "query": {"indices": lexical.indices, "values": lexical.values},
                "using": "lexical", "limit": k * 4, "filter": filter,
            }));
        }
        if prefetch.is_empty() {
            return Ok(Vec::new());
        }
        let body = self
            .call(
                reqwest::Method::POST,
                "/points/query",
                Some(json!({"prefetch": prefetch, "query": {"fusion": "rrf"}, "limit": k, "with_payload": false})),
            )
            .await?;
        Ok(body["result"]["points"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p["id"].as_i64()?, p["score"].as_f64()? as f32)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexemes_hash_to_stable_sparse_vectors() {
        let a = sparse([("pil".to_owned(), 3), ("lifo".to_owned(), 1)]);
        let b = sparse([("lifo".to_owned(), 1), ("pil".to_owned(), 3)]);
        assert_eq!(a, b, "order does not matter");
        assert_eq!(a.indices.len(), 2);
        assert!(
            a.indices.windows(2).all(|w| w[0] < w[1]),
            "sorted, as Qdrant wants"
        );
        assert_eq!(
            lexeme_index("a"),
            0xe40c_292c,
            "FNV-1a's published test vector"
        );
        let weight = |s: &Sparse, l: &str| {
            s.values[s
                .indices
                .iter()
                .position(|i| *i == lexeme_index(l))
                .expect("present")]
        };
        assert!((weight(&a, "lifo") - 1.0).abs() < 1e-6);
        assert!((weight(&a, "pil") - (1.0 + 3f32.ln())).abs() < 1e-6);
    }
}
