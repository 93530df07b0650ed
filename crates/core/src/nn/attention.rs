//! Dot-product attention of query rows over spans of memory rows (Luong's
//! "general" score when the keys are the memory through a projection): the
//! decoder of a translator attends, at each target token, over the encoder
//! states of its own source sentence.
//!
//! Layout: memory and keys are pair-major (each source sentence's rows
//! contiguous), `spans[j] = (start, len)`; each query row names its span
//! (`span_of[q]`). Spans are short (a sentence), so the work is
//! `Nq · L · (H + D)`, small beside the projections around it, and runs
//! row by row.

use super::{dot, Real};

/// Attention weights of a forward pass, what backward needs.
#[derive(Clone, Debug, Default)]
pub struct AttnCache<T> {
    /// Softmax weights of every query over its span, concatenated.
    pub weights: Vec<T>,
    /// Start of each query's weights in `weights`, `(Nq + 1)`.
    pub offsets: Vec<usize>,
}

/// `ctx (Nq, D)`: for each query `q (H)` the softmax(`q · keys_s`)-weighted
/// sum of its span's memory rows `memory_s (D)`; keys are `(Nm, H)`.
#[allow(clippy::too_many_arguments)]
pub fn forward<T: Real>(
    queries: &[T],
    keys: &[T],
    memory: &[T],
    (h, d): (usize, usize),
    spans: &[(usize, usize)],
    span_of: &[usize],
    ctx: &mut Vec<T>,
    cache: &mut AttnCache<T>,
) {
    let nq = span_of.len();
    assert!(queries.len() == nq * h, "queries are (Nq, H)");
    ctx.clear();
    ctx.resize(nq * d, T::zero());
    cache.weights.clear();
    cache.offsets.clear();
    cache.offsets.push(0);
    for (qi, &j) in span_of.iter().enumerate() {
        let (s0, len) = spans[j];
        let q = &queries[qi * h..(qi + 1) * h];
        let at = cache.weights.len();
        cache
            .weights
            .extend((s0..s0 + len).map(|s| dot(q, &keys[s * h..(s + 1) * h])));
        softmax_in_place(&mut cache.weights[at..]);
        let out = &mut ctx[qi * d..(qi + 1) * d];
        for (k, s) in (s0..s0 + len).enumerate() {
            let a = cache.weights[at + k];
            out.iter_mut()
                .zip(&memory[s * d..(s + 1) * d])
                .for_each(|(o, &m)| *o += a * m);
        }
        cache.offsets.push(cache.weights.len());
    }
}

/// Backward of [`forward`] from `dctx (Nq, D)`: writes `dqueries (Nq, H)`
/// and adds into `dkeys (Nm, H)` and `dmemory (Nm, D)`.
#[allow(clippy::too_many_arguments)]
pub fn backward<T: Real>(
    queries: &[T],
    keys: &[T],
    memory: &[T],
    (h, d): (usize, usize),
    spans: &[(usize, usize)],
    span_of: &[usize],
    cache: &AttnCache<T>,
    dctx: &[T],
    dqueries: &mut Vec<T>,
    dkeys: &mut [T],
    dmemory: &mut [T],
) {
    let nq = span_of.len();
    dqueries.clear();
    dqueries.resize(nq * h, T::zero());
    let mut ds = Vec::new();
    for (qi, &j) in span_of.iter().enumerate() {
        let (s0, len) = spans[j];
        let a = &cache.weights[cache.offsets[qi]..cache.offsets[qi + 1]];
        let dc = &dctx[qi * d..(qi + 1) * d];
        // d weight_s = dctx · memory_s; memory_s gets weight_s · dctx.
        ds.clear();
        for (k, s) in (s0..s0 + len).enumerate() {
            ds.push(dot(dc, &memory[s * d..(s + 1) * d]));
            dmemory[s * d..(s + 1) * d]
                .iter_mut()
                .zip(dc)
                .for_each(|(g, &x)| *g += a[k] * x);
        }
        // Through the softmax: d score_s = a_s (d weight_s - Σ a d weight).
        let mean: T = a.iter().zip(&ds).map(|(&w, &g)| w * g).sum();
        let q = &queries[qi * h..(qi + 1) * h];
        let dq = &mut dqueries[qi * h..(qi + 1) * h];
        for (k, s) in (s0..s0 + len).enumerate() {
            let g = a[k] * (ds[k] - mean);
            dq.iter_mut()
                .zip(&keys[s * h..(s + 1) * h])
                .for_each(|(o, &x)| *o += g * x);
            dkeys[s * h..(s + 1) * h]
                .iter_mut()
                .zip(q)
                .for_each(|(o, &x)| *o += g * x);
        }
    }
}

/// Softmax of a row in place (max subtracted first).
pub fn softmax_in_place<T: Real>(row: &mut [T]) {
    let m = row.iter().copied().fold(T::neg_infinity(), T::max);
    let mut sum = T::zero();
    for x in row.iter_mut() {
        *x = (*x - m).exp();
        sum += *x;
    }
    row.iter_mut().for_each(|x| *x /= sum);
}
