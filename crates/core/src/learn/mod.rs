//! Stage 6: learning representations without labels.
//!
//! [`augment`] makes random views of a text; [`contrastive`] trains the RNN
//! encoder so two views of one text encode close together and views of
//! different texts apart (InfoNCE), with AdamW, warm-up + cosine decay,
//! gradient clipping and early stopping on a held-out split, checkpoints
//! ([`checkpoint`]) and divergence recovery. [`self_train`] fine-tunes the
//! encoder with a classifier head on pseudo-labels; [`dec`] refines a
//! clustering jointly with the encoder (DEC); [`seeds`] and [`weak`]
//! turn a user's seed words into pseudo-labels and a trained classifier.
//! Gold labels never reach this module (seed words are the user's own
//! guidance, not labeled texts).

pub mod augment;
pub mod checkpoint;
pub mod contrastive;
pub mod dec;
pub mod lm;
pub mod seeds;
pub mod self_train;
pub mod weak;

pub use augment::AugmentConfig;
pub use contrastive::{
    encode_all, encode_all_with, prepare_for, train_contrastive, Decay, EpochLog, Objective,
    Progress, Stage, StepLog, TrainConfig, TrainError,
};

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
