//! Row maths on row-major `(N, K)` matrices of `f32`, shared by every
//! stage that scores, normalizes or joins representations (learning,
//! clustering, the model, features, the report). It depends on nothing but
//! the numeric trait, so no stage has to import another for it.

pub use crate::nn::dot;

/// Argmax and its value, per row of `p (N, K)` (the first on ties).
pub fn argmax_rows(p: &[f32], k: usize) -> (Vec<usize>, Vec<f32>) {
    p.chunks(k.max(1))
        .map(|row| {
            row.iter().enumerate().fold(
                (0, f32::NEG_INFINITY),
                |b, (j, &v)| if v > b.1 { (j, v) } else { b },
            )
        })
        .unzip()
}

/// Softmax of each row of `x (N, K)` in place.
pub fn softmax_rows<T: crate::nn::Real>(x: &mut [T], k: usize) {
    for row in x.chunks_mut(k.max(1)) {
        let m = row.iter().copied().fold(T::neg_infinity(), T::max);
        let mut sum = T::zero();
        for v in row.iter_mut() {
            *v = (*v - m).exp();
            sum += *v;
        }
        row.iter_mut().for_each(|v| *v /= sum);
    }
}

/// Scale each row of `x (N, D)` to unit L2 norm (zero rows stay zero).
pub fn l2_normalize_rows(x: &mut [f32], d: usize) {
    for row in x.chunks_mut(d.max(1)) {
        let n = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        if n > 0.0 {
            row.iter_mut().for_each(|v| *v /= n);
        }
    }
}

/// Concatenate row-normalized blocks `(values, width, weight)`: each row is
/// `[sqrt(w_1)·a_1, sqrt(w_2)·a_2, ...]` with the weights scaled to sum to 1,
/// so each block contributes its share of the squared distance. Blocks with
/// width 0 are skipped.
pub fn concat_blocks(blocks: &[(&[f32], usize, f32)], n: usize) -> Vec<f32> {
    let widths: Vec<(usize, f32)> = blocks.iter().map(|b| (b.1, b.2)).collect();
    let scales = block_scales(&widths);
    let width: usize = blocks.iter().map(|b| b.1).sum();
    let mut out = Vec::with_capacity(n * width);
    for i in 0..n {
        for (&(v, d, _), &s) in blocks.iter().zip(&scales) {
            if d == 0 {
                continue;
            }
            out.extend(v[i * d..(i + 1) * d].iter().map(|x| x * s));
        }
    }
    out
}

/// The factor [`concat_blocks`] gives each block of `(width, weight)`:
/// `sqrt(w / Σ w)` over the blocks with a width (negative weights count as 0).
pub fn block_scales(blocks: &[(usize, f32)]) -> Vec<f32> {
    let total: f32 = blocks
        .iter()
        .filter(|b| b.0 > 0)
        .map(|b| b.1.max(0.0))
        .sum::<f32>()
        .max(f32::MIN_POSITIVE);
    blocks
        .iter()
        .map(|&(_, w)| (w.max(0.0) / total).sqrt())
        .collect()
}

/// Mean row of each class (zero for an empty class), `(K, D)`.
pub fn class_means(z: &[f32], d: usize, labels: &[usize], k: usize) -> Vec<f32> {
    let mut sum = vec![0f32; k * d];
    let mut n = vec![0usize; k];
    for (row, &l) in z.chunks(d.max(1)).zip(labels) {
        n[l] += 1;
        sum[l * d..(l + 1) * d]
            .iter_mut()
            .zip(row)
            .for_each(|(s, v)| *s += v);
    }
    for c in 0..k {
        if n[c] > 0 {
            sum[c * d..(c + 1) * d]
                .iter_mut()
                .for_each(|s| *s /= n[c] as f32);
        }
    }
    sum
}

/// Pseudo-labels: for each class, its `fraction` most confident rows
/// (highest score, then lowest index) keep their label; all others get
/// `None`. The one confident-rows rule of self-training and of the
/// seed-word classifier.
pub fn confident(labels: &[usize], scores: &[f32], k: usize, fraction: f64) -> Vec<Option<usize>> {
    let reps = ranked_by_class(labels, scores, k);
    let mut out = vec![None; labels.len()];
    for (c, list) in reps.iter().enumerate() {
        let keep = ((list.len() as f64 * fraction).ceil() as usize).min(list.len());
        for &i in &list[..keep] {
            out[i] = Some(c);
        }
    }
    out
}

/// The rows of each class, highest score first (ties: lowest index first).
pub fn ranked_by_class(labels: &[usize], scores: &[f32], k: usize) -> Vec<Vec<usize>> {
    let mut by: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &l) in labels.iter().enumerate() {
        by[l].push(i);
    }
    for list in &mut by {
        list.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    }
    by
}
