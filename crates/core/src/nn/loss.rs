//! Losses, each returning the loss and its gradient w.r.t. its inputs.
//!
//! - [`mse`]: mean squared error (and, with a zero target, the benchmark's
//!   "mean of squared outputs");
//! - [`cross_entropy`]: softmax cross-entropy over classes;
//! - [`smoothed_cross_entropy`]: the same with label smoothing, in place
//!   over a large vocabulary (a translator's output layer);
//! - [`sampled_softmax`]: cross-entropy over the target and sampled negatives,
//!   for language-model objectives over a large vocabulary;
//! - [`info_nce`]: NT-Xent contrastive loss over two views with a temperature;
//! - [`dec_kl`]: KL(P || Q) between a target distribution and DEC's Student-t
//!   soft assignments of embeddings to centroids.

use super::{dot, Real};
use crate::rng::Rng;

/// `mean((pred - target)^2)` over all values; `dpred`.
pub fn mse<T: Real>(pred: &[T], target: &[T]) -> (T, Vec<T>) {
    let n = T::f(pred.len().max(1) as f64);
    let two = T::f(2.0);
    let mut loss = T::zero();
    let grad = pred
        .iter()
        .zip(target)
        .map(|(&p, &t)| {
            let e = p - t;
            loss += e * e;
            two * e / n
        })
        .collect();
    (loss / n, grad)
}

fn log_softmax_row<T: Real>(row: &[T]) -> Vec<T> {
    let m = row.iter().copied().fold(T::neg_infinity(), T::max);
    let lse = row.iter().map(|&x| (x - m).exp()).sum::<T>().ln() + m;
    row.iter().map(|&x| x - lse).collect()
}

/// Mean over rows of `-log softmax(logits)[target]`; `logits (B, C)`.
/// Rows whose target is `None` are ignored. Returns the loss and `dlogits`.
pub fn cross_entropy<T: Real>(logits: &[T], c: usize, targets: &[Option<usize>]) -> (T, Vec<T>) {
    let b = targets.len();
    let used = targets.iter().filter(|t| t.is_some()).count().max(1);
    let inv = T::one() / T::f(used as f64);
    let mut loss = T::zero();
    let mut grad = vec![T::zero(); b * c];
    for (i, t) in targets.iter().enumerate() {
        let Some(t) = *t else { continue };
        let ls = log_softmax_row(&logits[i * c..(i + 1) * c]);
        loss -= ls[t];
        for j in 0..c {
            grad[i * c + j] = (ls[j].exp() - if j == t { T::one() } else { T::zero() }) * inv;
        }
    }
    (loss * inv, grad)
}

/// Mean over rows of cross-entropy with label smoothing `eps` (PyTorch's
/// `label_smoothing`: the target distribution is `1 - eps` on the target
/// plus `eps / C` on every class), `logits (N, C)`. Returns the loss and
/// leaves `dlogits` in `logits` (a `(N, C)` buffer over a vocabulary is the
/// largest one of a translator's step; no second one is made). Rows are
/// independent, so they run in parallel; the loss is summed in row order.
pub fn smoothed_cross_entropy<T: Real>(logits: &mut [T], c: usize, targets: &[u32], eps: f64) -> T {
    use rayon::prelude::*;
    let n = targets.len();
    assert_eq!(logits.len(), n * c, "logits are (N, C)");
    let inv = T::one() / T::f(n.max(1) as f64);
    let (on, off) = (T::f(1.0 - eps), T::f(eps / c as f64));
    let losses: Vec<T> = logits
        .par_chunks_mut(c.max(1))
        .zip(targets.par_iter())
        .map(|(row, &t)| {
            let t = t as usize;
            let m = row.iter().copied().fold(T::neg_infinity(), T::max);
            let lse = row.iter().map(|&x| (x - m).exp()).sum::<T>().ln() + m;
            let mean_logp = row.iter().map(|&x| x - lse).sum::<T>() / T::f(c as f64);
            let loss = -(on * (row[t] - lse)) - T::f(eps) * mean_logp;
            for (j, x) in row.iter_mut().enumerate() {
                let target = if j == t { on + off } else { off };
                *x = ((*x - lse).exp() - target) * inv;
            }
            loss
        })
        .collect();
    losses.into_iter().sum::<T>() * inv
}

/// Result of [`sampled_softmax`].
#[derive(Clone, Debug)]
pub struct SampledSoftmax<T> {
    /// Mean loss.
    pub loss: T,
    /// `dhidden (N, H)`.
    pub dhidden: Vec<T>,
    /// Gradient rows of the output weights `(row id, dW row (H), db)`; ids may repeat.
    pub dweight: Vec<(usize, Vec<T>, T)>,
}

/// Sampled softmax (Jean et al. 2015) with `s` negatives drawn uniformly from
/// `1..V` per batch, shared by all rows, and the log-Q correction, so the
/// logits are `h·w_j + b_j - log(Q(j))`. `hidden (N, H)`, `weight (V, H)`,
/// `bias (V)`. With uniform Q the correction is a constant, kept for
/// clarity. Negatives that equal a row's target are masked out for that row.
#[allow(clippy::too_many_arguments)]
pub fn sampled_softmax<T: Real>(
    hidden: &[T],
    h: usize,
    weight: &[T],
    bias: &[T],
    targets: &[usize],
    s: usize,
    rng: &mut Rng,
) -> SampledSoftmax<T> {
    let v = bias.len();
    let n = targets.len();
    let negs: Vec<usize> = (0..s)
        .map(|_| 1 + rng.below(v.saturating_sub(1).max(1)))
        .collect();
    let logq = T::f(-((v - 1).max(1) as f64).ln());
    let inv = T::one() / T::f(n.max(1) as f64);
    let mut loss = T::zero();
    let mut dhidden = vec![T::zero(); n * h];
    let mut dweight = Vec::new();
    for (i, &t) in targets.iter().enumerate() {
        let hi = &hidden[i * h..(i + 1) * h];
        let cands: Vec<usize> = std::iter::once(t).chain(negs.iter().copied()).collect();
        let logits: Vec<T> = cands
            .iter()
            .enumerate()
            .map(|(k, &j)| {
                if k > 0 && j == t {
                    return T::neg_infinity();
                }
                dot(hi, &weight[j * h..(j + 1) * h]) + bias[j]
                    - if k > 0 { logq } else { T::zero() }
            })
            .collect();
        let ls = log_softmax_row(&logits);
        loss -= ls[0];
        for (k, &j) in cands.iter().enumerate() {
            let p = ls[k].exp();
            let g = (p - if k == 0 { T::one() } else { T::zero() }) * inv;
            if g == T::zero() {
                continue;
            }
            let wj = &weight[j * h..(j + 1) * h];
            dhidden[i * h..(i + 1) * h]
                .iter_mut()
                .zip(wj)
                .for_each(|(d, &w)| *d += g * w);
            dweight.push((j, hi.iter().map(|&x| g * x).collect(), g));
        }
    }
    SampledSoftmax {
        loss: loss * inv,
        dhidden,
        dweight,
    }
}

/// NT-Xent (SimCLR) over two views `z1, z2 (B, D)`: rows are L2-normalized,
/// each of the 2B rows must pick its partner among the other 2B - 1 by
/// cosine similarity / `tau`. Returns the mean loss, `dz1` and `dz2`.
pub fn info_nce<T: Real>(z1: &[T], z2: &[T], d: usize, tau: T) -> (T, Vec<T>, Vec<T>) {
    let b = z1.len() / d.max(1);
    let m = 2 * b;
    let raw: Vec<&[T]> = (0..m)
        .map(|i| {
            if i < b {
                &z1[i * d..(i + 1) * d]
            } else {
                &z2[(i - b) * d..(i - b + 1) * d]
            }
        })
        .collect();
    let eps = T::f(1e-12);
    let norms: Vec<T> = raw
        .iter()
        .map(|r| r.iter().map(|&x| x * x).sum::<T>().sqrt().max(eps))
        .collect();
    let u: Vec<Vec<T>> = raw
        .iter()
        .zip(&norms)
        .map(|(r, &n)| r.iter().map(|&x| x / n).collect())
        .collect();
    let inv_m = T::one() / T::f(m as f64);
    let mut loss = T::zero();
    let mut du = vec![vec![T::zero(); d]; m];
    for i in 0..m {
        let pos = (i + b) % m;
        let logits: Vec<T> = (0..m)
            .map(|j| {
                if j == i {
                    T::neg_infinity()
                } else {
                    dot(&u[i], &u[j]) / tau
                }
            })
            .collect();
        let ls = log_softmax_row(&logits);
        loss -= ls[pos];
        for j in 0..m {
            if j == i {
                continue;
            }
            let g = (ls[j].exp() - if j == pos { T::one() } else { T::zero() }) * inv_m / tau;
            for k in 0..d {
                let (ui, uj) = (u[i][k], u[j][k]);
                du[i][k] += g * uj;
                du[j][k] += g * ui;
            }
        }
    }
    // Back through the normalization: dz = (du - u (u·du)) / |z|.
    let mut dz1 = vec![T::zero(); b * d];
    let mut dz2 = vec![T::zero(); b * d];
    for i in 0..m {
        let proj = dot(&u[i], &du[i]);
        let dst = if i < b {
            &mut dz1[i * d..(i + 1) * d]
        } else {
            &mut dz2[(i - b) * d..(i - b + 1) * d]
        };
        for k in 0..d {
            dst[k] = (du[i][k] - u[i][k] * proj) / norms[i];
        }
    }
    (loss * inv_m, dz1, dz2)
}

/// DEC soft assignments `q (B, K)`: Student-t kernel with one degree of
/// freedom, `q_ij ∝ (1 + |z_i - μ_j|²)^-1`.
pub fn dec_soft_assign<T: Real>(z: &[T], mu: &[T], d: usize) -> Vec<T> {
    let b = z.len() / d.max(1);
    let k = mu.len() / d.max(1);
    let mut q = vec![T::zero(); b * k];
    for i in 0..b {
        for j in 0..k {
            let dist: T = z[i * d..(i + 1) * d]
                .iter()
                .zip(&mu[j * d..(j + 1) * d])
                .map(|(&a, &c)| (a - c) * (a - c))
                .sum();
            q[i * k + j] = T::one() / (T::one() + dist);
        }
        let s: T = q[i * k..(i + 1) * k].iter().copied().sum();
        q[i * k..(i + 1) * k].iter_mut().for_each(|x| *x /= s);
    }
    q
}

/// DEC's sharpened target `p_ij ∝ q_ij² / Σ_i q_ij` (held fixed while training).
pub fn dec_target<T: Real>(q: &[T], k: usize) -> Vec<T> {
    let b = q.len() / k.max(1);
    let f: Vec<T> = (0..k).map(|j| (0..b).map(|i| q[i * k + j]).sum()).collect();
    let mut p: Vec<T> = (0..b * k).map(|x| q[x] * q[x] / f[x % k]).collect();
    for i in 0..b {
        let s: T = p[i * k..(i + 1) * k].iter().copied().sum();
        p[i * k..(i + 1) * k].iter_mut().for_each(|x| *x /= s);
    }
    p
}

/// `KL(P || Q) / B` for DEC, with `Q = dec_soft_assign(z, mu)`; returns the
/// loss, `dz (B, D)` and `dmu (K, D)`.
pub fn dec_kl<T: Real>(z: &[T], mu: &[T], d: usize, p: &[T]) -> (T, Vec<T>, Vec<T>) {
    let b = z.len() / d.max(1);
    let k = mu.len() / d.max(1);
    let q = dec_soft_assign(z, mu, d);
    let inv_b = T::one() / T::f(b.max(1) as f64);
    let two = T::f(2.0);
    let mut loss = T::zero();
    let mut dz = vec![T::zero(); b * d];
    let mut dmu = vec![T::zero(); k * d];
    for i in 0..b {
        for j in 0..k {
            let (pij, qij) = (p[i * k + j], q[i * k + j]);
            if pij > T::zero() {
                loss += pij * (pij / qij).ln();
            }
            // d KL / d z_i = 2 Σ_j (p_ij - q_ij)(z_i - μ_j) / (1 + |z_i - μ_j|²)
            let zi = &z[i * d..(i + 1) * d];
            let mj = &mu[j * d..(j + 1) * d];
            let dist: T = zi.iter().zip(mj).map(|(&a, &c)| (a - c) * (a - c)).sum();
            let coef = two * (pij - qij) / (T::one() + dist) * inv_b;
            for x in 0..d {
                let diff = zi[x] - mj[x];
                dz[i * d + x] += coef * diff;
                dmu[j * d + x] -= coef * diff;
            }
        }
    }
    (loss * inv_b, dz, dmu)
}
