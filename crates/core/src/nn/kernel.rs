//! The RNN's products `C (M, N) += A (M, K) · B (K, N)` with `B` (a weight
//! matrix) packed once per layer call instead of once per time step: every
//! step's `h·W_hhᵀ`, the backward pass's `dgates·W_hh`, and the input
//! projection `x·W_ihᵀ` of all steps (rows split over threads).
//!
//! Every step of an RNN multiplies the previous hidden states by the same
//! `W_hh`. A general GEMM packs its right operand on every call; for
//! `B = 64, H = 256` (an LSTM's `W_hh` is 1 MB) that re-packing is a large
//! share of the step. [`PackedB`] lays `B` out in column panels of 64 floats
//! (four AVX-512 registers) once, and [`PackedB::matmul_acc`] runs a
//! 6-row × 64-column AVX-512 micro-kernel over them (24 accumulators: the
//! loop is bound by FMAs, not by loads).
//!
//! f32 on x86-64 with AVX-512F only; elsewhere [`PackedB::new`] returns
//! `None` and callers keep the `gemm` crate. Results are deterministic (a
//! fixed summation order per element), so a fixed thread count still gives
//! bit-identical runs.

/// Columns per panel (four AVX-512 registers of f32).
const NR: usize = 64;

/// `B (K, N)` in column panels of 64 floats: panel `p` holds `B[kk][p·NR + j]`
/// at `p·K·64 + kk·64 + j`, zero-padded past `N`.
#[derive(Clone, Debug)]
pub struct PackedB {
    k: usize,
    n: usize,
    data: Vec<f32>,
}

impl PackedB {
    /// Pack row-major `b (K, N)`, or `None` when the CPU lacks AVX-512F.
    pub fn new(b: &[f32], k: usize, n: usize) -> Option<PackedB> {
        assert!(b.len() >= k * n, "PackedB shape");
        PackedB::pack(k, n, |p, cols, panel| {
            for (kk, row) in panel.chunks_mut(NR).enumerate() {
                row[..cols].copy_from_slice(&b[kk * n + p * NR..kk * n + p * NR + cols]);
            }
        })
    }

    /// Pack `B (K, N)` given as its transpose `bt (N, K)` row-major (a weight
    /// matrix stored PyTorch's way, `(out, in)`), or `None` without AVX-512F.
    pub fn from_transposed(bt: &[f32], k: usize, n: usize) -> Option<PackedB> {
        assert!(bt.len() >= k * n, "PackedB shape");
        // Each column of B is a contiguous row of `bt`: read it in order and
        // scatter it down its panel.
        PackedB::pack(k, n, |p, cols, panel| {
            for col in 0..cols {
                let src = &bt[(p * NR + col) * k..(p * NR + col + 1) * k];
                for (kk, &v) in src.iter().enumerate() {
                    panel[kk * NR + col] = v;
                }
            }
        })
    }

    /// Allocate the zeroed panels and let `fill(p, cols, panel)` write the
    /// `cols` real columns of panel `p` (`K x 64`), panels in parallel (a
    /// plain copy: the result does not depend on the threads).
    fn pack(k: usize, n: usize, fill: impl Fn(usize, usize, &mut [f32]) + Sync) -> Option<PackedB> {
        if !available() || k == 0 || n == 0 {
            return None;
        }
        use rayon::prelude::*;
        let mut data = vec![0f32; n.div_ceil(NR) * k * NR];
        data.par_chunks_mut(k * NR)
            .enumerate()
            .for_each(|(p, panel)| fill(p, NR.min(n - p * NR), panel));
        Some(PackedB { k, n, data })
    }

    /// `c (M, N) += a (M, K) · B`, all row-major with leading dimensions K and N.
    pub fn matmul_acc(&self, m: usize, a: &[f32], c: &mut [f32]) {
        let (k, n) = (self.k, self.n);
        assert!(
            a.len() >= m * k && c.len() >= m * n,
            "PackedB::matmul_acc shapes"
        );
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `new` only builds a PackedB when AVX-512F is present; the
        // asserts above bound every row and column the kernel touches.
        unsafe {
            avx512::matmul_acc(m, k, n, a, &self.data, c)
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("PackedB is only built on x86-64")
    }
}

impl PackedB {
    /// `c (M, N) = bias + a (M, K) · self`, overwriting `c`: the
    /// accumulators start at the bias, so this is bit for bit a bias fill
    /// followed by `matmul_acc`, without writing and re-reading the fill.
    pub fn matmul_bias(&self, m: usize, a: &[f32], bias: &[f32], c: &mut [f32]) {
        let (k, n) = (self.k, self.n);
        assert!(
            a.len() >= m * k && bias.len() >= n && c.len() >= m * n,
            "PackedB::matmul_bias shapes"
        );
        #[cfg(target_arch = "x86_64")]
        // SAFETY: PackedB exists only with AVX-512F; the assert bounds every
        // element read and written, and `c` is borrowed exclusively. The
        // two-source kernel with an empty second source (K2 = 0: its loop
        // adds nothing and reads nothing).
        unsafe {
            avx512::matmul2_bias(
                m,
                (k, 0, n),
                (a, &self.data),
                (a, &self.data),
                bias,
                c.as_mut_ptr(),
            )
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("PackedB is only built on x86-64")
    }

    /// `c (M, N) = bias + a1 (M, K1) · self + a2 (M, K2) · other`,
    /// overwriting `c`: an LSTM step's gates (`x_t·W_ihᵀ + h·W_hhᵀ` plus
    /// both biases) in one pass, with the bias as the accumulators' start
    /// and one store per element instead of a bias fill and two
    /// read-modify-writes. Both operands must have the same `N`.
    pub fn matmul2_bias(
        &self,
        other: &PackedB,
        m: usize,
        a1: &[f32],
        a2: &[f32],
        bias: &[f32],
        c: &mut [f32],
    ) {
        let (k1, k2, n) = (self.k, other.k, self.n);
        assert!(
            other.n == n
                && a1.len() >= m * k1
                && a2.len() >= m * k2
                && bias.len() >= n
                && c.len() >= m * n,
            "PackedB::matmul2_bias shapes"
        );
        #[cfg(target_arch = "x86_64")]
        // SAFETY: PackedB exists only with AVX-512F; the assert bounds every
        // element read and written, and `c` is borrowed exclusively.
        unsafe {
            avx512::matmul2_bias(
                m,
                (k1, k2, n),
                (a1, &self.data),
                (a2, &other.data),
                bias,
                c.as_mut_ptr(),
            )
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("PackedB is only built on x86-64")
    }
}

/// Whether the packed kernel runs on this CPU (`TEXTRNN_NO_PACKED=1`
/// turns it off, to compare with the gemm crate).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *HAS.get_or_init(|| {
            std::is_x86_feature_detected!("avx512f")
                && std::env::var_os("TEXTRNN_NO_PACKED").is_none()
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::NR;
    use std::arch::x86_64::*;

    /// Rows per micro-kernel call.
    const MR: usize = 6;

    /// `$tile::<R>(args)` for the row count `$r` in `1..=MR` (const generic).
    macro_rules! rows {
        ($r:expr, $tile:ident($($arg:expr),*)) => {
            match $r {
                6 => $tile::<6>($($arg),*),
                5 => $tile::<5>($($arg),*),
                4 => $tile::<4>($($arg),*),
                3 => $tile::<3>($($arg),*),
                2 => $tile::<2>($($arg),*),
                _ => $tile::<1>($($arg),*),
            }
        };
    }

    /// One mask per 16-column register of a panel with `cols` real columns.
    fn panel_masks(cols: usize) -> [__mmask16; 4] {
        [0, 1, 2, 3].map(|q| {
            let w = cols.saturating_sub(q * 16).min(16);
            if w == 16 {
                !0
            } else {
                ((1u32 << w) - 1) as u16
            }
        })
    }

    /// `c (M, N) += a (M, K) · packed`, all row-major.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn matmul_acc(
        m: usize,
        k: usize,
        n: usize,
        a: &[f32],
        packed: &[f32],
        c: &mut [f32],
    ) {
        for p in 0..n.div_ceil(NR) {
            let masks = panel_masks(NR.min(n - p * NR));
            let bp = packed.as_ptr().add(p * k * NR);
            let mut i = 0;
            while i < m {
                let r = MR.min(m - i);
                let (ap, cp) = (a.as_ptr().add(i * k), c.as_mut_ptr().add(i * n + p * NR));
                rows!(r, tile(k, ap, bp, cp, n, &masks));
                i += r;
            }
        }
    }

    /// Every panel of `c = bias + a1 · packed1 + a2 · packed2` (see
    /// `PackedB::matmul2_bias`).
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn matmul2_bias(
        m: usize,
        (k1, k2, n): (usize, usize, usize),
        (a1, p1): (&[f32], &[f32]),
        (a2, p2): (&[f32], &[f32]),
        bias: &[f32],
        c: *mut f32,
    ) {
        for p in 0..n.div_ceil(NR) {
            let masks = panel_masks(NR.min(n - p * NR));
            let bv = [0, 1, 2, 3]
                .map(|q| _mm512_maskz_loadu_ps(masks[q], bias.as_ptr().add(p * NR + q * 16)));
            let (b1, b2) = (p1.as_ptr().add(p * k1 * NR), p2.as_ptr().add(p * k2 * NR));
            let mut i = 0;
            while i < m {
                let r = MR.min(m - i);
                let srcs = [
                    (k1, a1.as_ptr().add(i * k1), b1),
                    (k2, a2.as_ptr().add(i * k2), b2),
                ];
                let cp = c.add(i * n + p * NR);
                rows!(r, tile_store(&srcs, &bv, cp, n, &masks));
                i += r;
            }
        }
    }

    /// `acc[R rows, 64 cols] += A[R rows, K] · Bpanel[K, 64]` (`A` has
    /// leading dimension K): the FMA loop of every tile.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn accumulate<const R: usize>(
        acc: &mut [[__m512; 4]; R],
        k: usize,
        a: *const f32,
        bp: *const f32,
    ) {
        for kk in 0..k {
            let b = bp.add(kk * NR);
            let b0 = _mm512_loadu_ps(b);
            let b1 = _mm512_loadu_ps(b.add(16));
            let b2 = _mm512_loadu_ps(b.add(32));
            let b3 = _mm512_loadu_ps(b.add(48));
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*a.add(r * k + kk));
                row[0] = _mm512_fmadd_ps(av, b0, row[0]);
                row[1] = _mm512_fmadd_ps(av, b1, row[1]);
                row[2] = _mm512_fmadd_ps(av, b2, row[2]);
                row[3] = _mm512_fmadd_ps(av, b3, row[3]);
            }
        }
    }

    /// `C[R rows, 64 cols] = bias + Σ_s A_s[R rows, K_s] · Bpanel_s[K_s, 64]`
    /// for each `(K_s, A_s, Bpanel_s)` in `srcs`, stored without reading C.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn tile_store<const R: usize>(
        srcs: &[(usize, *const f32, *const f32); 2],
        bias: &[__m512; 4],
        c: *mut f32,
        ldc: usize,
        masks: &[__mmask16; 4],
    ) {
        let mut acc = [*bias; R];
        for &(k, a, bp) in srcs {
            accumulate(&mut acc, k, a, bp);
        }
        for (r, row) in acc.iter().enumerate() {
            for (q, x) in row.iter().enumerate() {
                if masks[q] != 0 {
                    _mm512_mask_storeu_ps(c.add(r * ldc + q * 16), masks[q], *x);
                }
            }
        }
    }

    /// `C[R rows, 64 cols] += A[R rows, K] · Bpanel[K, 64]` (`A` has
    /// leading dimension K, `C` has `ldc`). The accumulators start at C's
    /// values, so each element is one FMA chain `c + a_0 b_0 + a_1 b_1 + ...`:
    /// continuing a product in a second call (first `bias + x·W_ih`, stored,
    /// then `+ h·W_hh`) gives bit for bit what one `tile_store` over both
    /// sources gives, which the folded input tables of the RNN rely on.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn tile<const R: usize>(
        k: usize,
        a: *const f32,
        bp: *const f32,
        c: *mut f32,
        ldc: usize,
        masks: &[__mmask16; 4],
    ) {
        let mut acc = [[_mm512_setzero_ps(); 4]; R];
        for (r, row) in acc.iter_mut().enumerate() {
            for (q, x) in row.iter_mut().enumerate() {
                if masks[q] != 0 {
                    *x = _mm512_maskz_loadu_ps(masks[q], c.add(r * ldc + q * 16));
                }
            }
        }
        accumulate(&mut acc, k, a, bp);
        for (r, row) in acc.iter().enumerate() {
            for (q, x) in row.iter().enumerate() {
                if masks[q] != 0 {
                    _mm512_mask_storeu_ps(c.add(r * ldc + q * 16), masks[q], *x);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn packed_product_matches_the_naive_one() {
        if !available() {
            return; // nothing to check on this CPU: callers use the gemm crate
        }
        let mut rng = Rng::new(3);
        for &(m, k, n) in &[
            (1, 1, 1),
            (7, 5, 33),
            (8, 16, 16),
            (13, 40, 50),
            (6, 9, 64),
            (11, 17, 130),
            (64, 256, 1024),
        ] {
            let a: Vec<f32> = (0..m * k).map(|_| rng.normal() as f32).collect();
            let b: Vec<f32> = (0..k * n).map(|_| rng.normal() as f32).collect();
            let c0: Vec<f32> = (0..m * n).map(|_| rng.normal() as f32).collect();
            let mut c = c0.clone();
            PackedB::new(&b, k, n).unwrap().matmul_acc(m, &a, &mut c);
            // Packing from the transpose gives the same.
            let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
            let mut c2 = c0.clone();
            PackedB::from_transposed(&bt, k, n)
                .unwrap()
                .matmul_acc(m, &a, &mut c2);
            assert_eq!(c, c2);
            // Two products and a bias in one pass: equal to the naive sum
            // within rounding (a different summation order).
            let k2 = k + 3;
            let a2: Vec<f32> = (0..m * k2).map(|_| rng.normal() as f32).collect();
            let b2: Vec<f32> = (0..k2 * n).map(|_| rng.normal() as f32).collect();
            let bias: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
            let mut c4 = vec![f32::NAN; m * n];
            PackedB::new(&b, k, n).unwrap().matmul2_bias(
                &PackedB::new(&b2, k2, n).unwrap(),
                m,
                &a,
                &a2,
                &bias,
                &mut c4,
            );
            // The same sum in two calls, continuing from the stored partial
            // result (bias rows, += a·b, += a2·b2), is the same FMA chain:
            // bit for bit what the one-pass kernel gives. The RNN's folded
            // input tables rely on this.
            let mut c5: Vec<f32> = (0..m).flat_map(|_| bias.iter().copied()).collect();
            PackedB::new(&b, k, n).unwrap().matmul_acc(m, &a, &mut c5);
            PackedB::new(&b2, k2, n)
                .unwrap()
                .matmul_acc(m, &a2, &mut c5);
            assert_eq!(c4, c5, "two calls vs one pass ({m},{k},{n})");
            // The bias as the accumulators' start = a bias fill + matmul_acc.
            let mut c6 = vec![f32::NAN; m * n];
            PackedB::new(&b, k, n)
                .unwrap()
                .matmul_bias(m, &a, &bias, &mut c6);
            let mut c7: Vec<f32> = (0..m).flat_map(|_| bias.iter().copied()).collect();
            PackedB::new(&b, k, n).unwrap().matmul_acc(m, &a, &mut c7);
            assert_eq!(c6, c7, "bias start ({m},{k},{n})");
            for i in 0..m {
                for j in 0..n {
                    let want: f64 = bias[j] as f64
                        + (0..k)
                            .map(|x| a[i * k + x] as f64 * b[x * n + j] as f64)
                            .sum::<f64>()
                        + (0..k2)
                            .map(|x| a2[i * k2 + x] as f64 * b2[x * n + j] as f64)
                            .sum::<f64>();
                    let got = c4[i * n + j] as f64;
                    assert!(
                        (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                        "2-product ({m},{k},{n}) [{i},{j}]: {got} vs {want}"
                    );
                }
            }
            for i in 0..m {
                for j in 0..n {
                    let want: f64 = c0[i * n + j] as f64
                        + (0..k)
                            .map(|x| a[i * k + x] as f64 * b[x * n + j] as f64)
                            .sum::<f64>();
                    let got = c[i * n + j] as f64;
                    assert!(
                        (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                        "({m},{k},{n}) [{i},{j}]: {got} vs {want}"
                    );
                }
            }
        }
    }
}
