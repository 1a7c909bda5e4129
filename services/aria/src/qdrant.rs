//! Qdrant as ARIA's vector store, when `QDRANT_URL` is set — through the
//! `qdrant-client` crate (gRPC: collections, points upsert / delete / scroll /
//! set-payload, and the universal query with prefetches fused by RRF).
//!
//! One point per chunk (its id is the chunk's id) with two named vectors: `dense`
//! (the sentence embedding, cosine) and `lexical` (sparse: the chunk's French lexemes
//! from Postgres' `nexus_fr` configuration, hashed to indices, weighted by
//! `1 + ln(tf)`, with Qdrant's IDF modifier — BM25-like). The payload carries `level`,
//! `course_id`, `category` and `class_ids` (the classes the course is assigned to) for
//! filters. Postgres stays the source of truth: `sync` makes the collection match the
//! stored chunks, and the class assignments that changed since.
//!
//! `QDRANT_URL` stays the REST address (the backups' snapshots use it);
//! `QDRANT_GRPC_URL` is the client's, by default the same host on port 6334.

use std::{collections::HashMap, time::Duration};

use anyhow::Context;
use qdrant_client::qdrant::{
    Condition, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder, DeletePointsBuilder,
    Distance, FieldType, Filter as QdrantFilter, Fusion, Modifier, NamedVectors,
    PayloadIncludeSelector, PointId, PointStruct, PointsIdsList, PrefetchQueryBuilder, Query,
    QueryPointsBuilder, ScrollPointsBuilder, SetPayloadPointsBuilder, SparseVectorParamsBuilder,
    SparseVectorsConfigBuilder, UpsertPointsBuilder, Value as QdrantValue, Vector, VectorInput,
    VectorParamsBuilder, VectorsConfigBuilder, point_id::PointIdOptions, value::Kind,
};
use sqlx::PgPool;

use crate::vectors::Filter;

#[derive(Debug, Clone)]
pub struct QdrantSettings {
    /// The REST address (`QDRANT_URL`): the backups' snapshots and the tests use it.
    pub url: String,
    /// The gRPC address the client speaks to (`QDRANT_GRPC_URL`).
    pub grpc_url: String,
    pub api_key: Option<secrecy::SecretString>,
    pub collection: String,
}

/// The gRPC address beside a REST one: the same scheme and host, port 6334 (Qdrant's
/// default), when `QDRANT_GRPC_URL` is not given.
pub fn default_grpc_url(rest: &str) -> String {
    match reqwest::Url::parse(rest) {
        Ok(mut url) => {
            let _ = url.set_port(Some(6334));
            url.as_str().trim_end_matches('/').to_owned()
        }
        Err(_) => rest.to_owned(),
    }
}

/// A chunk as a Qdrant point is made of.
#[derive(sqlx::FromRow)]
struct PointRow {
    id: i64,
    course_id: i64,
    level: String,
    category: Option<String>,
    class_ids: Vec<i64>,
    embedding: Vec<f32>,
    lexemes: Vec<String>,
    counts: Vec<i32>,
}

#[derive(Clone)]
pub struct Qdrant {
    client: std::sync::Arc<qdrant_client::Qdrant>,
    settings: std::sync::Arc<QdrantSettings>,
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

fn point_id(id: i64) -> PointId {
    PointId::from(id as u64)
}

fn point_number(id: Option<&PointId>) -> Option<i64> {
    match id?.point_id_options.as_ref()? {
        PointIdOptions::Num(n) => i64::try_from(*n).ok(),
        PointIdOptions::Uuid(_) => None,
    }
}

fn class_ids_value(ids: &[i64]) -> QdrantValue {
    QdrantValue::from(
        ids.iter()
            .map(|id| QdrantValue::from(*id))
            .collect::<Vec<_>>(),
    )
}

/// The class ids a point's payload holds (sorted).
fn class_ids_of(payload: &HashMap<String, QdrantValue>) -> Vec<i64> {
    let mut ids: Vec<i64> = match payload.get("class_ids").and_then(|v| v.kind.as_ref()) {
        Some(Kind::ListValue(list)) => list
            .values
            .iter()
            .filter_map(|v| match v.kind {
                Some(Kind::IntegerValue(id)) => Some(id),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    ids.sort_unstable();
    ids
}

fn qdrant_filter(filter: Filter<'_>) -> Option<QdrantFilter> {
    let mut must = Vec::new();
    if let Some(level) = filter.level {
        must.push(Condition::matches("level", level.to_owned()));
    }
    if let Some(course) = filter.course_id {
        must.push(Condition::matches("course_id", course));
    }
    if let Some(class) = filter.class_id {
        // On an array field, a match keeps the points whose array holds the value.
        must.push(Condition::matches("class_ids", class));
    }
    (!must.is_empty()).then(|| QdrantFilter::must(must))
}

/// Per-call deadline (the crate's own is per request too; this one also bounds the
/// connection attempts when the server is gone).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

impl Qdrant {
    pub fn new(settings: QdrantSettings) -> anyhow::Result<Self> {
        use secrecy::ExposeSecret;
        // Lazy: no connection until the first call, so a Qdrant that is down at
        // start-up does not stop ARIA (it answers lexically meanwhile).
        let client = qdrant_client::Qdrant::from_url(&settings.grpc_url)
            .api_key(
                settings
                    .api_key
                    .as_ref()
                    .map(|k| k.expose_secret().to_owned()),
            )
            .timeout(CALL_TIMEOUT)
            .connect_timeout(Duration::from_secs(3))
            .skip_compatibility_check()
            .build()
            .context("qdrant client")?;
        Ok(Self {
            client: std::sync::Arc::new(client),
            settings: std::sync::Arc::new(settings),
        })
    }

    fn name(&self) -> &str {
        &self.settings.collection
    }

    /// Is the server there? (its health check, for readiness and tests.)
    pub async fn reachable(&self) -> bool {
        tokio::time::timeout(Duration::from_secs(3), self.client.health_check())
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Creates the collection (dense + sparse vectors, payload indexes) if missing.
    async fn exists(&self) -> anyhow::Result<bool> {
        self.client
            .collection_exists(self.name())
            .await
            .context("qdrant unreachable")
    }

    pub async fn ensure_collection(&self, dims: usize) -> anyhow::Result<()> {
        if self.exists().await? {
            return Ok(());
        }
        let mut vectors = VectorsConfigBuilder::default();
        vectors.add_named_vector_params(
            "dense",
            VectorParamsBuilder::new(dims as u64, Distance::Cosine),
        );
        let mut sparse_vectors = SparseVectorsConfigBuilder::default();
        sparse_vectors.add_named_vector_params(
            "lexical",
            SparseVectorParamsBuilder::default().modifier(Modifier::Idf),
        );
        self.client
            .create_collection(
                CreateCollectionBuilder::new(self.name())
                    .vectors_config(vectors)
                    .sparse_vectors_config(sparse_vectors),
            )
            .await
            .context("qdrant: create collection")?;
        for (field, kind) in [
            ("level", FieldType::Keyword),
            ("course_id", FieldType::Integer),
            ("class_ids", FieldType::Integer),
        ] {
            self.client
                .create_field_index(
                    CreateFieldIndexCollectionBuilder::new(self.name(), field, kind).wait(true),
                )
                .await
                .with_context(|| format!("qdrant: index {field}"))?;
        }
        Ok(())
    }

    pub async fn drop_collection(&self) -> anyhow::Result<()> {
        self.client
            .delete_collection(self.name())
            .await
            .context("qdrant: drop collection")
            .map(drop)
    }

    /// Every point's id and class ids.
    async fn points(&self) -> anyhow::Result<HashMap<i64, Vec<i64>>> {
        let mut points = HashMap::new();
        let mut offset: Option<PointId> = None;
        loop {
            let mut request = ScrollPointsBuilder::new(self.name())
                .limit(1000)
                .with_payload(PayloadIncludeSelector::new(vec!["class_ids".to_owned()]))
                .with_vectors(false);
            if let Some(offset) = offset.take() {
                request = request.offset(offset);
            }
            let page = self
                .client
                .scroll(request)
                .await
                .context("qdrant: scroll")?;
            for point in &page.result {
                if let Some(id) = point_number(point.id.as_ref()) {
                    points.insert(id, class_ids_of(&point.payload));
                }
            }
            match page.next_page_offset {
                Some(next) => offset = Some(next),
                None => return Ok(points),
            }
        }
    }

    /// Makes the collection hold exactly the chunks embedded by `model`, with their
    /// courses' current classes: upserts the missing points, deletes the ones gone,
    /// rewrites `class_ids` where the assignments changed. Returns (upserted, deleted).
    pub async fn sync(&self, pool: &PgPool, model: &str) -> anyhow::Result<(usize, usize)> {
        let wanted: HashMap<i64, Vec<i64>> = sqlx::query_as::<_, (i64, Vec<i64>)>(
            "select id, class_ids from aria_chunks
             where embedding_model = $1 and embedding is not null",
        )
        .bind(model)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|(id, mut classes)| {
            classes.sort_unstable();
            (id, classes)
        })
        .collect();
        let dims = sqlx::query_scalar::<_, Option<i32>>(
            "select max(cardinality(embedding)) from aria_chunks where embedding_model = $1",
        )
        .bind(model)
        .fetch_one(pool)
        .await?;
        match dims {
            Some(dims) => self.ensure_collection(dims as usize).await?,
            // Nothing embedded (every course unpublished, or the backlog not embedded
            // yet): no size to create the collection with, but the points of chunks
            // that are gone must still go.
            None if !self.exists().await? => return Ok((0, 0)),
            None => {}
        }
        let present = self.points().await?;
        let missing: Vec<i64> = wanted
            .keys()
            .filter(|id| !present.contains_key(id))
            .copied()
            .collect();
        let gone: Vec<i64> = present
            .keys()
            .filter(|id| !wanted.contains_key(id))
            .copied()
            .collect();
        // Class assignments changed since the points were written: one payload update
        // per distinct set of classes.
        let mut reassigned: HashMap<&[i64], Vec<i64>> = HashMap::new();
        for (id, classes) in &wanted {
            if present.get(id).is_some_and(|had| had != classes) {
                reassigned.entry(classes.as_slice()).or_default().push(*id);
            }
        }
        for batch in missing.chunks(64) {
            let rows: Vec<PointRow> = sqlx::query_as(
                "select k.id, k.course_id, k.level, k.category, k.class_ids, k.embedding,
                        array(select l.lexeme from unnest(k.search) l order by l.lexeme) as lexemes,
                        array(select coalesce(cardinality(l.positions), 1) from unnest(k.search) l order by l.lexeme) as counts
                 from aria_chunks k where k.id = any($1)",
            )
            .bind(batch)
            .fetch_all(pool)
            .await?;
            let points: Vec<PointStruct> = rows
                .into_iter()
                .map(|r| {
                    let lexical = sparse(r.lexemes.into_iter().zip(r.counts));
                    let vectors = NamedVectors::default()
                        .add_vector("dense", r.embedding)
                        .add_vector(
                            "lexical",
                            Vector::new_sparse(lexical.indices, lexical.values),
                        );
                    let mut classes = r.class_ids;
                    classes.sort_unstable();
                    let payload: HashMap<String, QdrantValue> = [
                        ("course_id".to_owned(), QdrantValue::from(r.course_id)),
                        ("level".to_owned(), QdrantValue::from(r.level)),
                        (
                            "category".to_owned(),
                            r.category.map_or_else(
                                || QdrantValue {
                                    kind: Some(Kind::NullValue(0)),
                                },
                                QdrantValue::from,
                            ),
                        ),
                        ("class_ids".to_owned(), class_ids_value(&classes)),
                    ]
                    .into();
                    PointStruct::new(point_id(r.id), vectors, payload)
                })
                .collect();
            self.client
                .upsert_points(UpsertPointsBuilder::new(self.name(), points).wait(true))
                .await
                .context("qdrant: upsert")?;
        }
        for (classes, ids) in &reassigned {
            let payload: HashMap<String, QdrantValue> =
                [("class_ids".to_owned(), class_ids_value(classes))].into();
            let ids: Vec<PointId> = ids.iter().map(|id| point_id(*id)).collect();
            self.client
                .set_payload(
                    SetPayloadPointsBuilder::new(self.name(), payload)
                        .points_selector(PointsIdsList { ids })
                        .wait(true),
                )
                .await
                .context("qdrant: set class_ids")?;
        }
        if !gone.is_empty() {
            let ids: Vec<PointId> = gone.iter().map(|id| point_id(*id)).collect();
            self.client
                .delete_points(
                    DeletePointsBuilder::new(self.name())
                        .points(PointsIdsList { ids })
                        .wait(true),
                )
                .await
                .context("qdrant: delete")?;
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
        let filter = qdrant_filter(filter);
        let prefetch = |query: VectorInput, using: &str| {
            let mut prefetch = PrefetchQueryBuilder::default()
                .query(Query::new_nearest(query))
                .using(using)
                .limit((k * 4) as u64);
            if let Some(filter) = &filter {
                prefetch = prefetch.filter(filter.clone());
            }
            prefetch
        };
        let mut request = QueryPointsBuilder::new(self.name())
            .query(Query::new_fusion(Fusion::Rrf))
            .limit(k as u64)
            .with_payload(false);
        let mut sides = 0;
        if let Some(dense) = dense {
            request =
                request.add_prefetch(prefetch(VectorInput::new_dense(dense.to_vec()), "dense"));
            sides += 1;
        }
        if !lexical.indices.is_empty() {
            request = request.add_prefetch(prefetch(
                VectorInput::new_sparse(lexical.indices.clone(), lexical.values.clone()),
                "lexical",
            ));
            sides += 1;
        }
        if sides == 0 {
            return Ok(Vec::new());
        }
        let response = self
            .client
            .query(request)
            .await
            .context("qdrant unreachable or query refused")?;
        Ok(response
            .result
            .iter()
            .filter_map(|p| Some((point_number(p.id.as_ref())?, p.score)))
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
