//! Pooling the packed RNN outputs `(N, D)` into one vector per sequence `(B, D)`.
//!
//! Mean and max over each sequence's real tokens, the last state (for a
//! bidirectional encoder: the forward half at the last token and the reverse
//! half at the first, as PyTorch's `h_n`), and masked attention pooling with a
//! learned query `u (D)`: `a_t = softmax_t(u · h_t)`, `out = Σ_t a_t h_t`.
//! Padding never enters: only real tokens are stored.

use serde::{Deserialize, Serialize};

use super::packed::Packed;
use super::{dot, Real};

/// How token states become one vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Average over tokens.
    Mean,
    /// Element-wise maximum over tokens.
    Max,
    /// Final state of each direction.
    Last,
    /// Attention with a learned query.
    Attention,
}

/// What backward needs: argmax rows for max, weights for attention.
#[derive(Clone, Debug, Default)]
pub struct PoolCache<T> {
    argmax: Vec<usize>,
    weights: Vec<T>,
}

/// Rows of sequence `i` in packed order.
fn rows(p: &Packed, i: usize) -> impl Iterator<Item = usize> + '_ {
    (0..p.lengths[i]).map(move |t| p.row(t, i))
}

/// `out (B, D)` from `h (N, D)`. `half` is the per-direction size for `Last`
/// (D for one direction, D/2 for two). `query` is required for attention.
#[allow(clippy::too_many_arguments)]
pub fn forward<T: Real>(
    kind: Pooling,
    h: &[T],
    d: usize,
    p: &Packed,
    bidirectional: bool,
    query: Option<&[T]>,
    out: &mut Vec<T>,
    cache: &mut PoolCache<T>,
) {
    let b = p.b();
    out.clear();
    out.resize(b * d, T::zero());
    match kind {
        Pooling::Mean => {
            // Sequences in parallel: a gather over the whole (N, D) output,
            // which one thread alone would leave the others waiting on.
            use rayon::prelude::*;
            out.par_chunks_mut(d).enumerate().for_each(|(i, o)| {
                for r in rows(p, i) {
                    o.iter_mut()
                        .zip(&h[r * d..(r + 1) * d])
                        .for_each(|(o, &x)| *o += x);
                }
                let inv = T::one() / T::f(p.lengths[i] as f64);
                o.iter_mut().for_each(|x| *x *= inv);
            });
        }
        Pooling::Max => {
            cache.argmax.clear();
            cache.argmax.resize(b * d, 0);
            for i in 0..b {
                for j in 0..d {
                    let (mut best, mut arg) = (T::neg_infinity(), p.row(0, i));
                    for r in rows(p, i) {
                        if h[r * d + j] > best {
                            best = h[r * d + j];
                            arg = r;
                        }
                    }
                    out[i * d + j] = best;
                    cache.argmax[i * d + j] = arg;
                }
            }
        }
        Pooling::Last => {
            let half = if bidirectional { d / 2 } else { d };
            for i in 0..b {
                let last = p.row(p.lengths[i] - 1, i);
                out[i * d..i * d + half].copy_from_slice(&h[last * d..last * d + half]);
                if bidirectional {
                    let first = p.row(0, i);
                    out[i * d + half..(i + 1) * d]
                        .copy_from_slice(&h[first * d + half..(first + 1) * d]);
                }
            }
        }
        Pooling::Attention => {
            let u = query.expect("attention pooling needs a query");
            cache.weights.clear();
            cache.weights.resize(p.n(), T::zero());
            for i in 0..b {
                let scores: Vec<T> = rows(p, i).map(|r| dot(&h[r * d..(r + 1) * d], u)).collect();
                let m = scores.iter().copied().fold(T::neg_infinity(), T::max);
                let e: Vec<T> = scores.iter().map(|&s| (s - m).exp()).collect();
                let z: T = e.iter().copied().sum();
                for (r, &ei) in rows(p, i).zip(&e) {
                    let a = ei / z;
                    cache.weights[r] = a;
                    out[i * d..(i + 1) * d]
                        .iter_mut()
                        .zip(&h[r * d..(r + 1) * d])
                        .for_each(|(o, &x)| *o += a * x);
                }
            }
        }
    }
}

/// Accumulate into `dh (N, D)` (and `dquery`) from `dout (B, D)`.
#[allow(clippy::too_many_arguments)]
pub fn backward<T: Real>(
    kind: Pooling,
    h: &[T],
    d: usize,
    p: &Packed,
    bidirectional: bool,
    query: Option<&[T]>,
    cache: &PoolCache<T>,
    dout: &[T],
    dh: &mut [T],
    dquery: Option<&mut [T]>,
) {
    let b = p.b();
    match kind {
        Pooling::Mean => {
            for i in 0..b {
                let inv = T::one() / T::f(p.lengths[i] as f64);
                for r in rows(p, i) {
                    dh[r * d..(r + 1) * d]
                        .iter_mut()
                        .zip(&dout[i * d..(i + 1) * d])
                        .for_each(|(g, &x)| *g += x * inv);
                }
            }
        }
        Pooling::Max => {
            for i in 0..b * d {
                let j = i % d;
                dh[cache.argmax[i] * d + j] += dout[i];
            }
        }
        Pooling::Last => {
            let half = if bidirectional { d / 2 } else { d };
            for i in 0..b {
                let last = p.row(p.lengths[i] - 1, i);
                for j in 0..half {
                    dh[last * d + j] += dout[i * d + j];
                }
                if bidirectional {
                    let first = p.row(0, i);
                    for j in half..d {
                        dh[first * d + j] += dout[i * d + j];
                    }
                }
            }
        }
        Pooling::Attention => {
            let u = query.expect("attention pooling needs a query");
            let mut du = vec![T::zero(); d];
            for i in 0..b {
                let g = &dout[i * d..(i + 1) * d];
                // da_t = g · h_t; ds_t = a_t (da_t - Σ a da)
                let da: Vec<T> = rows(p, i).map(|r| dot(&h[r * d..(r + 1) * d], g)).collect();
                let mean: T = rows(p, i)
                    .zip(&da)
                    .map(|(r, &x)| cache.weights[r] * x)
                    .sum();
                for (r, &dai) in rows(p, i).zip(&da) {
                    let a = cache.weights[r];
                    let ds = a * (dai - mean);
                    for j in 0..d {
                        dh[r * d + j] += a * g[j] + ds * u[j];
                        du[j] += ds * h[r * d + j];
                    }
                }
            }
            if let Some(dq) = dquery {
                dq.iter_mut().zip(&du).for_each(|(a, &b)| *a += b);
            }
        }
    }
}
