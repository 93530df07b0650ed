//! Scores that mean what they say, without labels.
//!
//! The cluster classifiers are fitted on the partition's own labels and
//! agree with 95-98% of them, so their probabilities on the training texts
//! are near 1 whether a text sits deep in its cluster or on a boundary, and
//! whether the partition is good or poor. Labels cannot be used; what can
//! be seen is how reproducible each text's grouping is. Other clusterings
//! of the same texts ([`super::views`]: each block of the representation alone,
//! and all of it from other seeds) are matched to the model's clusters,
//! and a text's consensus is the share of them that agree with its cluster
//! ([`view_agreement`]). One temperature `T` is chosen so that each text's
//! probability of its cluster under `softmax(logits / T)` best matches its
//! consensus ([`fit_temperature`]); `predict` divides the summed logits by
//! `T`, so the argmax, and every cluster, is unchanged.
//!
//! Texts the model cannot read are told apart: a text with no term known
//! to the model scores `1 / K`, and a text with a smaller share of known
//! terms, or farther from its cluster's centroid, than all but
//! [`FAR_QUANTILE`] of the training texts is flagged low-confidence.
//! What this measures against gold labels, and what it cannot see:
//! docs/calibration.md.

use serde::{Deserialize, Serialize};

use super::head::{self, Lexical};
use crate::features::Csr;
use crate::nn::gemm::Threads;
use crate::nn::linear::Linear;

/// The share of training texts that lie farther from their cluster's
/// centroid than the low-confidence boundary (its cosine similarity is this
/// quantile of the training texts').
pub const FAR_QUANTILE: f64 = 0.01;

/// k-means restarts on the whole representation among the views.
const RESTARTS: usize = 3;

/// What calibration decided (saved in `model.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The summed logits are divided by this before the softmax.
    pub temperature: f32,
    /// Below this cosine similarity to its cluster's centroid a text is
    /// flagged low-confidence ([`FAR_QUANTILE`] of the training texts).
    pub min_similarity: f32,
    /// Below this share of terms known to the model a text is flagged
    /// low-confidence ([`FAR_QUANTILE`] of the training texts).
    #[serde(default)]
    pub min_known_share: f32,
    /// How many views the partition was compared with.
    pub views: usize,
    /// Mean share of the views that put a training text in its cluster:
    /// the mean score calibration aims at.
    pub consensus: f64,
    /// Mean score of the training texts before calibration.
    pub mean_score_raw: f64,
    /// Mean score of the training texts after.
    pub mean_score: f64,
}

/// Binary cross-entropy of the soft `targets` against the probability
/// each row of `softmax(logits / t)` gives its `labels` entry, in f64.
fn soft_loss(logits: &[f32], labels: &[usize], targets: &[f32], k: usize, t: f64) -> f64 {
    let mut total = 0.0;
    for ((row, &y), &q) in logits.chunks_exact(k).zip(labels).zip(targets) {
        let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) as f64;
        let lse: f64 = row.iter().map(|&v| ((v as f64 - max) / t).exp()).sum();
        let ln_p = (row[y] as f64 - max) / t - lse.ln();
        // ln(1 - p), kept finite when p rounds to 1.
        let ln_q = (-ln_p.exp()).ln_1p().max(-50.0);
        let q = q as f64;
        total -= q * ln_p + (1.0 - q) * ln_q;
    }
    total / labels.len().max(1) as f64
}

/// The temperature in `[0.05, 1000]` at which the probability of each
/// row's label under `softmax(logits / T)` best matches `targets` (least
/// binary cross-entropy; golden-section search on `ln T`).
pub fn fit_temperature(logits: &[f32], labels: &[usize], targets: &[f32], k: usize) -> f32 {
    if labels.is_empty() || k < 2 {
        return 1.0;
    }
    let (mut lo, mut hi) = (0.05f64.ln(), 1000f64.ln());
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let f = |u: f64| soft_loss(logits, labels, targets, k, u.exp());
    let (mut a, mut b) = (hi - g * (hi - lo), lo + g * (hi - lo));
    let (mut fa, mut fb) = (f(a), f(b));
    for _ in 0..60 {
        if fa < fb {
            hi = b;
            b = a;
            fb = fa;
            a = hi - g * (hi - lo);
            fa = f(a);
        } else {
            lo = a;
            a = b;
            fa = fb;
            b = lo + g * (hi - lo);
            fb = f(b);
        }
    }
    ((lo + hi) / 2.0).exp() as f32
}

/// Divide `logits (N, K)` by `t` in place (before a softmax).
pub fn scale(logits: &mut [f32], t: f32) {
    if t != 1.0 {
        logits.iter_mut().for_each(|v| *v /= t);
    }
}

/// Cosine similarity of each row of `z (N, d)` to its cluster's row of
/// `centroids (K, d)`.
pub fn centroid_similarity(z: &[f32], d: usize, centroids: &[f32], labels: &[usize]) -> Vec<f32> {
    let norm = |v: &[f32]| crate::rows::dot(v, v).sqrt();
    z.chunks_exact(d.max(1))
        .zip(labels)
        .map(|(row, &c)| {
            let m = &centroids[c * d..(c + 1) * d];
            let den = norm(row) * norm(m);
            if den > 0.0 {
                crate::rows::dot(row, m) / den
            } else {
                0.0
            }
        })
        .collect()
}

/// The `q` quantile of `values` (nearest rank; 0 for none).
pub fn quantile(values: &[f32], q: f64) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_unstable_by(f32::total_cmp);
    let i = ((q * v.len() as f64).floor() as usize).min(v.len() - 1);
    v[i]
}

/// Calibrate the cluster classifier `linear` (with `lexical`) on the
/// training texts `z` (column blocks of `widths`, a block of width 0 or
/// share 0 left out as `None`) and their final `labels`: returns the
/// calibration and the training texts' calibrated scores.
#[allow(clippy::too_many_arguments)]
pub fn calibrate(
    linear: &Linear<f32>,
    lexical: Option<(&Lexical, &Csr)>,
    z: &[f32],
    widths: &[(usize, bool)],
    labels: &[usize],
    centroids: &[f32],
    seed: u64,
    threads: Threads,
) -> (Calibration, Vec<f32>) {
    let k = linear.output_dim();
    let d: usize = widths.iter().map(|w| w.0).sum();
    // Each block alone and the whole from other seeds, one partition each.
    let views = super::views::Views::fit(z, widths, k, seed, (1, RESTARTS), 300).all();
    let targets = view_agreement(labels, &views);
    let mut logits = head::logits_with(linear, z, d, lexical, threads);
    let raw = label_probs(&logits, labels, k);
    // No view could be fitted (fewer distinct texts than k): no evidence,
    // the raw probabilities stand.
    let temperature = if views.is_empty() {
        1.0
    } else {
        fit_temperature(&logits, labels, &targets, k)
    };
    scale(&mut logits, temperature);
    let scores = label_probs(&logits, labels, k);
    let sims = centroid_similarity(z, d, centroids, labels);
    let mean = |v: &[f32]| v.iter().map(|&s| s as f64).sum::<f64>() / v.len().max(1) as f64;
    let cal = Calibration {
        temperature,
        min_similarity: quantile(&sims, FAR_QUANTILE),
        min_known_share: 0.0,
        views: views.len(),
        consensus: mean(&targets),
        mean_score_raw: mean(&raw),
        mean_score: mean(&scores),
    };
    (cal, scores)
}

/// For each text, the share of `views` (other partitions of the same
/// texts) that put it in its cluster of `labels`, each view's clusters
/// matched one-to-one to `labels`' clusters first.
pub fn view_agreement(labels: &[usize], views: &[Vec<usize>]) -> Vec<f32> {
    let mut agree = vec![0u32; labels.len()];
    for v in views {
        // Rows: the view's clusters; columns: labels' clusters.
        let table = crate::eval::metrics::contingency(labels, v);
        let to = crate::eval::metrics::matching(&table);
        for ((a, &l), &c) in agree.iter_mut().zip(labels).zip(v) {
            if to.get(c) == Some(&l) {
                *a += 1;
            }
        }
    }
    agree
        .iter()
        .map(|&a| a as f32 / views.len().max(1) as f32)
        .collect()
}

/// The softmax probability of each row's `labels` entry.
fn label_probs(logits: &[f32], labels: &[usize], k: usize) -> Vec<f32> {
    let mut p = logits.to_vec();
    crate::rows::softmax_rows(&mut p, k);
    p.chunks_exact(k).zip(labels).map(|(r, &y)| r[y]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Targets that are exactly the probabilities at temperature `t`: the
    /// fitted temperature must find `t` again.
    #[test]
    fn the_temperature_that_made_the_targets_is_found() {
        let (n, k) = (2_000, 4);
        let mut rng = Rng::new(7);
        let logits: Vec<f32> = (0..n * k).map(|_| 6.0 * rng.uniform() as f32).collect();
        let labels: Vec<usize> = (0..n).map(|i| i % k).collect();
        for t in [0.5f32, 1.0, 3.0, 40.0] {
            let mut p = logits.clone();
            scale(&mut p, t);
            let targets = label_probs(&p, &labels, k);
            let found = fit_temperature(&logits, &labels, &targets, k);
            assert!((found / t - 1.0).abs() < 0.01, "t {t}, found {found}");
        }
    }

    #[test]
    fn agreement_matches_clusters_before_counting() {
        let labels = [0, 0, 1, 1, 2, 2];
        // The same partition with other ids, and one that moves text 5.
        let views = vec![vec![2, 2, 0, 0, 1, 1], vec![1, 1, 2, 2, 0, 2]];
        let a = view_agreement(&labels, &views);
        assert_eq!(a, vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.5]);
    }

    #[test]
    fn scaling_keeps_the_argmax_and_softens() {
        let mut l = vec![3.0f32, 1.0, 0.0, 0.5, 2.0, 0.1];
        let (before, pb) = {
            let mut p = l.clone();
            crate::rows::softmax_rows(&mut p, 3);
            crate::rows::argmax_rows(&p, 3)
        };
        scale(&mut l, 2.5);
        crate::rows::softmax_rows(&mut l, 3);
        let (after, pa) = crate::rows::argmax_rows(&l, 3);
        assert_eq!(before, after);
        assert!(pa.iter().zip(&pb).all(|(a, b)| a < b));
    }

    #[test]
    fn quantile_and_similarity() {
        assert_eq!(quantile(&[3.0, 1.0, 2.0, 4.0], 0.0), 1.0);
        assert_eq!(quantile(&[3.0, 1.0, 2.0, 4.0], 0.5), 3.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
        let z = [1.0f32, 0.0, 0.0, 2.0, 0.0, 0.0];
        let c = [2.0f32, 0.0, 1.0, 1.0];
        let s = centroid_similarity(&z, 2, &c, &[0, 1, 1]);
        assert!((s[0] - 1.0).abs() < 1e-6 && (s[1] - 2f32.sqrt() / 2.0).abs() < 1e-6);
        assert_eq!(s[2], 0.0);
    }
}
