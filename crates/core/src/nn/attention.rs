//! Dot-product attention of query rows over spans of memory rows (Luong's
//! "general" score when the keys are the memory through a projection): the
//! decoder of a translator attends, at each target token, over the encoder
//! states of its own source sentence.
//!
//! Layout: memory and keys are pair-major (each source sentence's rows
//! contiguous), `spans[j] = (start, len)`; each query row names its span
//! (`span_of[q]`). Spans are short (a sentence), so the work is
//! `Nq · L · (H + D)`, small beside the projections around it. Spans run in
//! parallel (each span's queries in order, so the sums and the results do
//! not depend on the threads), and the dot products keep 16 partial sums
//! so that they vectorize (one running sum cannot: float addition is not
//! associative; a translator's training spent 17% of its time here).

use rayon::prelude::*;

use super::Real;

/// `a · b` with 16 partial sums (added pairwise at the end).
fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let mut acc = [T::zero(); 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..16 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut tail = T::zero();
    for (&x, &y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    let mut w = 16;
    while w > 1 {
        w /= 2;
        for i in 0..w {
            acc[i] += acc[i + w];
        }
    }
    acc[0] + tail
}

/// `y += a * x`.
fn axpy<T: Real>(y: &mut [T], a: T, x: &[T]) {
    y.iter_mut().zip(x).for_each(|(o, &v)| *o += a * v);
}

/// The queries of each span, in order.
fn queries_by_span(span_of: &[usize], spans: usize) -> Vec<Vec<usize>> {
    let mut by = vec![Vec::new(); spans];
    for (q, &j) in span_of.iter().enumerate() {
        by[j].push(q);
    }
    by
}

/// A raw pointer that threads write through at disjoint rows.
#[derive(Clone, Copy)]
struct Rows<T>(*mut T);
// SAFETY: every thread writes only rows that belong to its own span (query
// rows of that span's queries, memory rows inside the span).
unsafe impl<T> Send for Rows<T> {}
unsafe impl<T> Sync for Rows<T> {}

impl<T> Rows<T> {
    /// Row `r` of width `w`.
    ///
    /// # Safety
    /// The row must be in bounds and touched by no other thread.
    #[allow(clippy::mut_from_ref)]
    unsafe fn row(&self, r: usize, w: usize) -> &mut [T] {
        self.slice(r * w, w)
    }

    /// `len` values from `start`.
    ///
    /// # Safety
    /// As for [`Rows::row`].
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice(&self, start: usize, len: usize) -> &mut [T] {
        std::slice::from_raw_parts_mut(self.0.add(start), len)
    }
}

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
    assert!(spans
        .iter()
        .all(|&(s0, len)| s0 + len <= keys.len() / h.max(1)));
    ctx.clear();
    ctx.resize(nq * d, T::zero());
    // Weights laid out query by query: each query's offset is known first.
    cache.offsets.clear();
    cache.offsets.push(0);
    for &j in span_of {
        let last = *cache.offsets.last().unwrap_or(&0);
        cache.offsets.push(last + spans[j].1);
    }
    cache.weights.clear();
    cache
        .weights
        .resize(*cache.offsets.last().unwrap_or(&0), T::zero());
    let by = queries_by_span(span_of, spans.len());
    let (wp, cp) = (Rows(cache.weights.as_mut_ptr()), Rows(ctx.as_mut_ptr()));
    let offsets = &cache.offsets;
    by.par_iter().enumerate().for_each(|(j, qs)| {
        let (s0, len) = spans[j];
        for &qi in qs {
            let q = &queries[qi * h..(qi + 1) * h];
            // SAFETY: query qi belongs to span j only: its weights and
            // context rows are written by this thread alone.
            let w = unsafe { wp.slice(offsets[qi], len) };
            for (k, s) in (s0..s0 + len).enumerate() {
                w[k] = dot(q, &keys[s * h..(s + 1) * h]);
            }
            softmax_in_place(w);
            let out = unsafe { cp.row(qi, d) };
            for (k, s) in (s0..s0 + len).enumerate() {
                axpy(out, w[k], &memory[s * d..(s + 1) * d]);
            }
        }
    });
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
    assert!(dkeys.len() >= keys.len() && dmemory.len() >= memory.len());
    let by = queries_by_span(span_of, spans.len());
    let (qp, kp, mp) = (
        Rows(dqueries.as_mut_ptr()),
        Rows(dkeys.as_mut_ptr()),
        Rows(dmemory.as_mut_ptr()),
    );
    by.par_iter().enumerate().for_each(|(j, qs)| {
        let (s0, len) = spans[j];
        let mut ds = Vec::with_capacity(len);
        for &qi in qs {
            let a = &cache.weights[cache.offsets[qi]..cache.offsets[qi + 1]];
            let dc = &dctx[qi * d..(qi + 1) * d];
            // d weight_s = dctx · memory_s; memory_s gets weight_s · dctx.
            // SAFETY (all rows below): query qi and memory rows s0..s0+len
            // belong to span j, which only this thread handles.
            ds.clear();
            for (k, s) in (s0..s0 + len).enumerate() {
                ds.push(dot(dc, &memory[s * d..(s + 1) * d]));
                axpy(unsafe { mp.row(s, d) }, a[k], dc);
            }
            // Through the softmax: d score_s = a_s (d weight_s - Σ a d weight).
            let mean: T = a.iter().zip(&ds).map(|(&w, &g)| w * g).sum();
            let q = &queries[qi * h..(qi + 1) * h];
            let dq = unsafe { qp.row(qi, h) };
            for (k, s) in (s0..s0 + len).enumerate() {
                let g = a[k] * (ds[k] - mean);
                axpy(dq, g, &keys[s * h..(s + 1) * h]);
                axpy(unsafe { kp.row(s, h) }, g, q);
            }
        }
    });
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
