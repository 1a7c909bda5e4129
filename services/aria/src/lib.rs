//! `nexus-aria`: the NSI tutor. It answers students' questions from the platform's
//! published courses (retrieval over an index ARIA keeps in Postgres), generates with
//! an OpenAI-compatible model when one is configured (streamed over server-sent events
//! and a websocket), applies the help policy teachers set per assessment, counts tokens
//! and money against daily budgets, moderates, and lets teachers and parents oversee.

pub mod answer;
pub mod bench;
pub mod budget;
pub mod chat;
pub mod code_context;
pub use nexus_e5 as e5;
pub mod embed;
pub mod eval;
pub mod excerpt;
pub mod index;
pub mod metrics;
pub mod model;
pub mod moderation;
pub mod policy;
pub mod qdrant;
pub mod retrieval;
pub mod revocation;
pub mod sessions;
pub mod tutor;
pub mod vectors;
pub mod ws;

use std::{sync::Arc, time::Duration};

use axum::Router;
use nexus_config::{CommonSettings, parse_var};
use nexus_web::{
    auth::Authenticator,
    background::Stop,
    health::Dependencies,
    ratelimit::{Limit, RateLimiter},
    redis_conn::Redis,
    service::Service,
};
use sqlx::PgPool;

pub const SERVICE: &str = "nexus-aria";
pub const PORT_VAR: &str = "ARIA_PORT";
pub const DEFAULT_PORT: u16 = 5001;

#[derive(Debug, Clone)]
pub struct AriaSettings {
    pub common: CommonSettings,
    /// Contract: 20 chat messages per minute per user.
    pub chat_limit: Limit,
    /// How often the index catches up with course changes.
    pub sync_interval: Duration,
    /// How long one round of the sync loop embeds missing vectors before it brings the
    /// store up to date and starts the next round (at least one batch per round), so a
    /// large backlog never holds back an unpublished course's removal.
    pub embed_round: Duration,
    /// The OpenAI-compatible endpoint, when one is configured (`OPENAI_BASE_URL` or
    /// `OPENAI_API_KEY`); without one ARIA answers extractively.
    pub model: Option<model::ModelSettings>,
    /// Failed model calls in a row that open the circuit breaker, and for how long.
    pub breaker_failures: u32,
    pub breaker_cooldown: Duration,
    /// The provider's moderation endpoint (`{base}/moderations`, OpenAI protocol), asked
    /// after the local rules when configured (`ARIA_MODERATION_URL`).
    pub moderation: Option<moderation::ProviderSettings>,
    /// The conversation history sent to the model, in (estimated) tokens.
    pub history_tokens: usize,
    pub budget: budget::BudgetSettings,
    /// Sentence embeddings for dense retrieval (`ARIA_EMBEDDINGS`: local, openai, off).
    pub embeddings: Option<embed::EmbeddingSettings>,
    /// Qdrant instead of the embedded vector store, when `QDRANT_URL` (REST, for the
    /// backups' snapshots) is set; the client speaks gRPC to `QDRANT_GRPC_URL`.
    pub qdrant: Option<qdrant::QdrantSettings>,
    /// Below this cosine similarity a passage found only by the dense side is dropped
    /// (`ARIA_DENSE_MIN_SIMILARITY`; unset: the embedding model's own floor).
    pub min_similarity: Option<f32>,
    /// The similarity at which the dense side is fully confident
    /// (`ARIA_DENSE_FULL_SIMILARITY`; unset: the embedding model's own).
    pub full_similarity: Option<f32>,
    /// Below this share of the question's weight (and not similar enough) a passage
    /// is dropped.
    pub min_coverage: f32,
    /// The dense side's weight in the rank fusion (the lexical side's is 1;
    /// `ARIA_DENSE_WEIGHT`; unset: the embedding model's own).
    pub dense_weight: Option<f32>,
    /// Frames queued for one websocket client; a client that lets more pile up is too
    /// slow and is disconnected (4008).
    pub ws_send_queue: usize,
}

impl AriaSettings {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            common: CommonSettings::from_env(PORT_VAR, DEFAULT_PORT)?,
            chat_limit: Limit::new(
                parse_var("RATE_LIMIT_ARIA_PER_MIN", 20)?,
                Duration::from_secs(60),
            ),
            sync_interval: Duration::from_secs(parse_var("ARIA_INDEX_SYNC_SECONDS", 5)?),
            embed_round: Duration::from_secs(parse_var("ARIA_INDEX_EMBED_SECONDS", 5)?),
            model: model_settings()?,
            breaker_failures: parse_var("ARIA_BREAKER_FAILURES", 5)?,
            breaker_cooldown: Duration::from_secs(parse_var("ARIA_BREAKER_COOLDOWN_SECONDS", 30)?),
            moderation: nexus_config::optional_var("ARIA_MODERATION_URL").map(|base_url| {
                moderation::ProviderSettings {
                    base_url,
                    api_key: nexus_config::optional_var("OPENAI_API_KEY")
                        .map(secrecy::SecretString::from),
                }
            }),
            history_tokens: parse_var("ARIA_HISTORY_TOKENS", 1500)?,
            budget: budget::BudgetSettings {
                student_daily_tokens: parse_var("ARIA_DAILY_TOKENS_PER_STUDENT", 50_000)?,
                class_daily_tokens: parse_var("ARIA_DAILY_TOKENS_PER_CLASS", 1_000_000)?,
                prompt_price: parse_var("ARIA_PRICE_PROMPT_EUR_PER_MTOK", 0.15)?,
                completion_price: parse_var("ARIA_PRICE_COMPLETION_EUR_PER_MTOK", 0.60)?,
            },
            embeddings: embedding_settings()?,
            qdrant: nexus_config::optional_var("QDRANT_URL").map(|url| qdrant::QdrantSettings {
                grpc_url: nexus_config::optional_var("QDRANT_GRPC_URL")
                    .unwrap_or_else(|| qdrant::default_grpc_url(&url)),
                url,
                api_key: nexus_config::optional_var("QDRANT_API_KEY")
                    .map(secrecy::SecretString::from),
                collection: nexus_config::var_or("QDRANT_COLLECTION", "nexus_aria_chunks"),
            }),
            min_similarity: optional_f32("ARIA_DENSE_MIN_SIMILARITY")?,
            full_similarity: optional_f32("ARIA_DENSE_FULL_SIMILARITY")?,
            dense_weight: optional_f32("ARIA_DENSE_WEIGHT")?,
            min_coverage: parse_var("ARIA_LEXICAL_MIN_COVERAGE", 0.15)?,
            ws_send_queue: parse_var("ARIA_WS_SEND_QUEUE", 256)?,
        })
    }
}

fn optional_f32(name: &str) -> anyhow::Result<Option<f32>> {
    nexus_config::optional_var(name)
        .map(|raw| {
            raw.trim()
                .parse()
                .map_err(|e| anyhow::anyhow!("{name}={raw:?} is invalid: {e}"))
        })
        .transpose()
}

fn embedding_settings() -> anyhow::Result<Option<embed::EmbeddingSettings>> {
    Ok(
        match nexus_config::var_or("ARIA_EMBEDDINGS", "local").as_str() {
            "off" => None,
            "local" => Some(embed::EmbeddingSettings::Local {
                dir: nexus_config::var_or(
                    "ARIA_EMBEDDING_MODEL_DIR",
                    ".run/models/multilingual-e5-small",
                )
                .into(),
            }),
            "openai" => Some(embed::EmbeddingSettings::Remote {
                base_url: nexus_config::optional_var("ARIA_EMBEDDINGS_URL")
                    .or_else(|| nexus_config::optional_var("OPENAI_BASE_URL"))
                    .unwrap_or_else(|| "https://api.openai.com/v1".to_owned()),
                api_key: nexus_config::optional_var("OPENAI_API_KEY")
                    .map(secrecy::SecretString::from),
                model: nexus_config::var_or("ARIA_EMBEDDING_MODEL", "text-embedding-3-small"),
            }),
            other => anyhow::bail!("ARIA_EMBEDDINGS={other}: expected local, openai or off"),
        },
    )
}

/// The embedding model, or `None` (lexical retrieval only) when it cannot be loaded.
pub fn load_embedder(settings: &AriaSettings, http: &reqwest::Client) -> Option<embed::Embedder> {
    let embeddings = settings.embeddings.as_ref()?;
    match embed::Embedder::load(embeddings, http.clone()) {
        Ok(embedder) => {
            tracing::info!(model = embedder.name(), "dense retrieval on");
            Some(embedder)
        }
        Err(error) => {
            tracing::warn!(%error, "embedding model unavailable: lexical retrieval only");
            None
        }
    }
}

/// The retriever for these settings: the embedding model, and the vector store
/// (Qdrant, or the embedded one).
pub fn retriever(
    settings: &AriaSettings,
    pool: &PgPool,
    http: &reqwest::Client,
) -> retrieval::Retriever {
    let embedder = load_embedder(settings, http);
    let client = match (&settings.qdrant, &embedder) {
        (Some(q), Some(_)) => match qdrant::Qdrant::new(q.clone()) {
            Ok(client) => Some(client),
            Err(error) => {
                tracing::warn!(%error, "Qdrant client unusable: the in-memory index is used");
                None
            }
        },
        (Some(_), None) => {
            tracing::warn!("QDRANT_URL is set but no embedding model: the in-memory index is used");
            None
        }
        _ => None,
    };
    let store = match client {
        Some(client) => retrieval::Store::Qdrant(client, Arc::new(vectors::MemoryIndex::new(None))),
        None => retrieval::Store::Memory(Arc::new(vectors::MemoryIndex::new(
            embedder.as_ref().map(|e| e.name().to_owned()),
        ))),
    };
    let scale = embedder.as_ref().map_or(
        embed::SimilarityScale::DEFAULT,
        embed::Embedder::similarity_scale,
    );
    let min_similarity = settings.min_similarity.unwrap_or(scale.floor);
    let full_similarity = settings
        .full_similarity
        .unwrap_or(scale.full)
        .max(min_similarity + 0.01);
    retrieval::Retriever {
        pool: pool.clone(),
        embedder,
        store,
        min_similarity,
        full_similarity,
        min_coverage: settings.min_coverage,
        dense_weight: settings.dense_weight.unwrap_or(scale.dense_weight),
    }
}

/// Index maintenance until nothing is left to do: the chunks follow the courses, every
/// missing vector is computed, the vector store follows the vectors. Returns the courses
/// re-indexed. (`nexus-aria reindex` and the tests; the service runs bounded rounds.)
pub async fn maintain_index(retriever: &retrieval::Retriever) -> anyhow::Result<usize> {
    maintain_index_round(retriever, &Stop::default(), None).await
}

/// One round of [`maintain_index`] as the service's sync loop runs it. Missing vectors
/// are computed for at most `embed_budget` (then the batch in progress ends), so the next
/// round's re-indexing — an unpublished course leaving the index — never waits behind
/// a whole backlog; the store then follows what was embedded so far. Once the service
/// stops, the backlog is left for the next start (at most the batch in progress is
/// lost, its transaction rolled back).
pub async fn maintain_index_round(
    retriever: &retrieval::Retriever,
    stop: &Stop,
    embed_budget: Option<Duration>,
) -> anyhow::Result<usize> {
    let pool = &retriever.pool;
    let courses = index::sync(pool).await?;
    if let retrieval::Store::Memory(index) = &retriever.store {
        // New chunks are searchable lexically before they are embedded.
        index.ensure_fresh(pool, None).await?;
    }
    if let Some(embedder) = &retriever.embedder {
        let embedded = vectors::backfill(pool, embedder, stop, embed_budget).await?;
        if embedded > 0 {
            tracing::info!(chunks = embedded, "ARIA chunks embedded");
        }
        if stop.is_stopping() {
            return Ok(courses);
        }
    }
    match &retriever.store {
        retrieval::Store::Memory(index) => index.ensure_fresh(pool, None).await?,
        retrieval::Store::Qdrant(qdrant, _) => {
            let model = retriever.embedder.as_ref().map_or("", |e| e.name());
            let (upserted, deleted) = qdrant.sync(pool, model).await?;
            if upserted + deleted > 0 {
                tracing::info!(upserted, deleted, "Qdrant collection updated");
            }
        }
    }
    Ok(courses)
}

fn model_settings() -> anyhow::Result<Option<model::ModelSettings>> {
    let key = nexus_config::optional_var("OPENAI_API_KEY");
    let base = nexus_config::optional_var("OPENAI_BASE_URL");
    if key.is_none() && base.is_none() {
        return Ok(None);
    }
    Ok(Some(model::ModelSettings {
        base_url: base.unwrap_or_else(|| "https://api.openai.com/v1".to_owned()),
        api_key: key.map(secrecy::SecretString::from),
        model: nexus_config::var_or("ARIA_MODEL", "gpt-4o-mini"),
        temperature: parse_var("ARIA_TEMPERATURE", 0.3)?,
        max_tokens: parse_var("ARIA_MAX_TOKENS", 600)?,
        timeout: Duration::from_secs(parse_var("ARIA_MODEL_TIMEOUT_SECONDS", 30)?),
        retries: parse_var("ARIA_MODEL_RETRIES", 2)?,
    }))
}

#[derive(Clone)]
pub struct AppState {
    pub http: reqwest::Client,
    pub pool: PgPool,
    pub limiter: RateLimiter,
    pub authenticator: Authenticator,
    pub settings: Arc<AriaSettings>,
    pub breaker: Arc<model::Breaker>,
    pub retriever: retrieval::Retriever,
    /// The open websockets, checked again when their user's tokens are revoked.
    pub sockets: revocation::Sockets,
}

impl nexus_web::auth::HasAuthenticator for AppState {
    fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }
}

pub struct Application {
    service: Service,
    state: AppState,
    /// Where the API announces revoked tokens (`REVOKED_CHANNEL` under the prefix).
    revocations: String,
}

impl Application {
    pub async fn build(settings: AriaSettings) -> anyhow::Result<Self> {
        let common = &settings.common;
        let pool = nexus_database::lazy_pool(
            common.database_url.expose(),
            common.database_max_connections,
            nexus_database::Opening::OnDemand,
        )?;
        let redis = Redis::new(common.redis_url.expose(), &common.redis_key_prefix)?;
        let keys = nexus_web::auth::jwt_keys(common);
        let limiter = RateLimiter::new(redis.clone());
        let http = reqwest::Client::new();
        let retriever = retriever(&settings, &pool, &http);
        let state = AppState {
            retriever,
            http,
            authenticator: Authenticator {
                keys,
                pool: pool.clone(),
                api_limit: None,
                // A socket is checked when it opens and again on each revocation
                // announcement, which may arrive before the database's notification: a
                // session cache here could let a revoked socket pass that second check.
                sessions: None,
            },
            limiter,
            pool: pool.clone(),
            breaker: Arc::new(model::Breaker::new(
                settings.breaker_failures,
                settings.breaker_cooldown,
            )),
            settings: Arc::new(settings),
            sockets: revocation::Sockets::default(),
        };
        let revocations = redis.key(nexus_web::auth::REVOKED_CHANNEL);
        metrics::metrics();
        let routes: Router = chat::router()
            .merge(sessions::router())
            .merge(budget::router())
            .route("/ws/aria/{session_id}", axum::routing::get(ws::upgrade))
            .with_state(state.clone());
        let dependencies = Dependencies {
            postgres: Some(pool),
            redis: Some(redis),
            // Not Qdrant: while it is down ARIA answers lexically (retrieval.rs), so a
            // replica that cannot reach it must stay in service.
            http: Vec::new(),
        };
        let service = Service::bind(
            SERVICE,
            &state.settings.common,
            routes,
            dependencies,
            64 * 1024,
        )
        .await?;
        Ok(Self {
            service,
            state,
            revocations,
        })
    }

    pub fn port(&self) -> u16 {
        self.service.port()
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let retriever = self.state.retriever.clone();
        let interval = self.state.settings.sync_interval;
        let embed_round = self.state.settings.embed_round;
        self.service
            .background()
            .spawn("index sync", |stop| async move {
                let mut tick = tokio::time::interval(interval);
                while stop.during(tick.tick()).await.is_some() {
                    match maintain_index_round(&retriever, &stop, Some(embed_round)).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(courses = n, "ARIA index updated"),
                        Err(error) => tracing::warn!(%error, "ARIA index sync failed; retrying"),
                    }
                }
            });
        tokio::spawn(revocation::follow(self.state.clone(), self.revocations));
        self.service.run_until_stopped(shutdown).await
    }
}
