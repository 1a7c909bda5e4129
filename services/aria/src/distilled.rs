//! A static embedding table distilled from multilingual-e5-small (the Model2Vec method):
//! each vocabulary token's row is the encoder's mean output for that token alone; at
//! load the rows are centred (their mean removed) and weighted by the token's rarity
//! (SIF: `a / (a + p)`, `p` its unigram probability from the tokenizer). A text's
//! embedding is the normalised sum of its tokens' rows: no encoder at question time.
//!
//! The table is built once from the model file by
//! `cargo run --release -p nexus-aria --example e5_static -- <model dir>`, which writes
//! `e5-static.bin` next to `e5-small-q4.bin`; the tokenizer still comes from the latter.

use std::{io::Write, path::Path};

use anyhow::{Context, ensure};

use crate::e5;

pub const FILE_NAME: &str = "e5-static.bin";
const MAGIC: &[u8; 8] = b"E5STAT01";

/// SIF's `a`: tokens much more frequent than this weigh little.
const SIF_A: f32 = 1e-4;

pub struct Table {
    pub e5: Option<Box<e5::Model>>,
    tokenizer: e5::Tokenizer,
    dims: usize,
    /// `vocab × dims`, centred and weighted.
    rows: Vec<f32>,
}

/// The raw rows (`vocab × dims`, f32 little-endian after a header), `progress` called
/// after each batch with the tokens done.
pub fn distil(
    model: &e5::Model,
    path: &Path,
    mut progress: impl FnMut(usize),
) -> anyhow::Result<()> {
    const BATCH: usize = 512;
    let vocab = model.vocabulary();
    let dims = model.dimensions();
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| path.display().to_string())?,
    );
    out.write_all(MAGIC)?;
    out.write_all(&u32::try_from(vocab)?.to_le_bytes())?;
    out.write_all(&u32::try_from(dims)?.to_le_bytes())?;
    let ids: Vec<u32> = (0..u32::try_from(vocab)?).collect();
    let mut done = 0;
    if let Ok(f) = std::env::var("EXP_SUBSET") {
        let mut wanted: Vec<u32> = std::fs::read_to_string(f)?
            .lines()
            .flat_map(|l| model.tokenizer.content_ids(l))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut rows = std::collections::HashMap::new();
        for batch in wanted.chunks(BATCH) {
            for (id, row) in batch.iter().zip(model.lone_token_means(batch)?) {
                rows.insert(*id, row);
            }
            progress(rows.len());
        }
        let zero = vec![0f32; dims];
        for id in 0..vocab as u32 {
            for x in rows.get(&id).unwrap_or(&zero) {
                out.write_all(&x.to_le_bytes())?;
            }
        }
        out.flush()?;
        return Ok(());
    }
    for batch in ids.chunks(BATCH) {
        for row in model.lone_token_means(batch)? {
            ensure!(row.len() == dims, "distil: a row of {} values", row.len());
            for x in row {
                out.write_all(&x.to_le_bytes())?;
            }
        }
        done += batch.len();
        progress(done);
    }
    out.flush()?;
    Ok(())
}

impl Table {
    /// The table in `dir` (`e5-static.bin`) with the tokenizer of `e5-small-q4.bin`.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let model = e5::Model::load(&dir.join(e5::FILE_NAME))?;
        let (tokenizer, e5) = if std::env::var("EXP_ASYM").is_ok() {
            (
                e5::Model::load(&dir.join(e5::FILE_NAME))?.tokenizer,
                Some(Box::new(model)),
            )
        } else {
            (model.tokenizer, None)
        };
        let path = dir.join(FILE_NAME);
        let data = std::fs::read(&path).with_context(|| path.display().to_string())?;
        ensure!(
            data.len() >= 16 && &data[..8] == MAGIC,
            "{}: not a distilled e5 table",
            path.display()
        );
        let word = |at: usize| {
            u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as usize
        };
        let (vocab, dims) = (word(8), word(12));
        ensure!(
            data.len() == 16 + vocab * dims * 4,
            "{}: truncated ({} bytes for {vocab} × {dims})",
            path.display(),
            data.len()
        );
        let mut rows: Vec<f32> = data[16..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        drop(data);
        let mut mean = vec![0f64; dims];
        let mut counted = 0usize;
        for row in rows.chunks_exact(dims) {
            if row.iter().all(|x| *x == 0.0) {
                continue;
            }
            counted += 1;
            for (m, x) in mean.iter_mut().zip(row) {
                *m += f64::from(*x);
            }
        }
        let mean: Vec<f32> = mean
            .iter()
            .map(|m| (m / counted.max(1) as f64) as f32)
            .collect();
        for (id, row) in rows.chunks_exact_mut(dims).enumerate() {
            let p = tokenizer.score(id as u32).exp();
            let a: f32 = std::env::var("EXP_SIF_A")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(SIF_A);
            let weight = if a <= 0.0 { 1.0 } else { a / (a + p) };
            let centre = std::env::var("EXP_NO_CENTRE").is_err();
            for (x, m) in row.iter_mut().zip(&mean) {
                let m = if centre { *m } else { 0.0 };
                *x = (*x - m) * weight;
            }
        }
        Ok(Self {
            e5,
            tokenizer,
            dims,
            rows,
        })
    }

    pub fn dimensions(&self) -> usize {
        self.dims
    }

    /// L2-normalised embeddings: the sum of each text's token rows.
    pub fn embed(&self, texts: &[String]) -> Vec<Vec<f32>> {
        texts
            .iter()
            .map(|text| {
                let mut v = vec![0f32; self.dims];
                for id in self.tokenizer.content_ids(text) {
                    let start = id as usize * self.dims;
                    if let Some(row) = self.rows.get(start..start + self.dims) {
                        v.iter_mut().zip(row).for_each(|(s, x)| *s += x);
                    }
                }
                let norm = v.iter().map(|x| x * x).sum::<f32>().max(1e-12).sqrt();
                v.iter_mut().for_each(|x| *x /= norm);
                v
            })
            .collect()
    }
}
