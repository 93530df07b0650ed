//! Choosing the number of clusters (`--k auto`) by how much clusterings of
//! the representation's parts agree with clusterings of the whole, beyond
//! what data without groups gives ([`choose_k`]); and the silhouette
//! (Rousseeuw 1987), which `--select` scores encoders by. The silhouette
//! used to choose k too: on text it is flat (0.03-0.07) and rises toward
//! the largest k tried (docs/quality.md).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::views::Views;
use super::KMeansError;
use crate::rng::Rng;

/// Mean silhouette of `labels` over the points `sample` of `x (N, D)` (Euclidean).
/// Points in singleton clusters score 0, as scikit-learn does.
pub fn silhouette(x: &[f32], d: usize, labels: &[usize], k: usize, sample: &[usize]) -> f64 {
    let dist = |a: usize, b: usize| -> f64 {
        x[a * d..(a + 1) * d]
            .iter()
            .zip(&x[b * d..(b + 1) * d])
            .map(|(p, q)| ((p - q) as f64).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let mut sizes = vec![0usize; k];
    sample.iter().for_each(|&i| sizes[labels[i]] += 1);
    let total: f64 = sample
        .par_iter()
        .map(|&i| {
            let mut sum = vec![0f64; k];
            for &j in sample {
                if j != i {
                    sum[labels[j]] += dist(i, j);
                }
            }
            let own = labels[i];
            if sizes[own] <= 1 {
                return 0.0;
            }
            let a = sum[own] / (sizes[own] - 1) as f64;
            let b = (0..k)
                .filter(|&c| c != own && sizes[c] > 0)
                .map(|c| sum[c] / sizes[c] as f64)
                .fold(f64::INFINITY, f64::min);
            if !b.is_finite() {
                return 0.0;
            }
            let m = a.max(b);
            if m > 0.0 {
                (b - a) / m
            } else {
                0.0
            }
        })
        .sum();
    total / sample.len().max(1) as f64
}

/// At most this many texts are clustered for each k tried.
pub const SAMPLE: usize = 3_000;

/// k-means partitions per block, and on the whole, for each k tried.
const VIEWS: (usize, usize) = (1, 2);

/// Iterations of each k-means run.
const MAX_ITER: usize = 40;

/// How `--k auto` chose k (saved in `model.json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KChoice {
    /// The chosen k: the smallest whose score is within one standard
    /// error of the best.
    pub k: usize,
    /// The k with the best score.
    #[serde(default)]
    pub best: usize,
    /// The range searched, both ends included.
    pub range: (usize, usize),
    /// How many texts were clustered for each k.
    pub sample: usize,
    /// Every k tried, with its evidence.
    pub scores: Vec<KScore>,
    /// The best-scoring k other than the chosen one.
    pub runner_up: Option<usize>,
    /// The chosen k's score minus the runner-up's (negative when a larger
    /// k scores higher, by less than the noise).
    pub margin: f64,
    /// The margin is more than twice its standard error.
    pub clear: bool,
    /// The chosen k is an end of the range: the best k may lie beyond it.
    pub at_edge: bool,
}

/// The evidence for one k.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KScore {
    /// Clusters.
    pub k: usize,
    /// Mean adjusted Rand index of k-means on the whole representation
    /// with k-means on each block alone.
    pub agreement: f64,
    /// The same on the texts with each column shuffled on its own: what
    /// data without groups but with the same values gives.
    pub null: f64,
    /// `agreement - null`.
    pub excess: f64,
    /// The excess averaged with its neighbours' in the grid (one k-means
    /// run per view is noisy; groups that are there persist from one k to
    /// the next).
    pub score: f64,
    /// Standard error of the score (from the spread of the pairs' indices).
    pub std_error: f64,
}

/// Each score: the mean excess of the k and its two neighbours in the
/// grid, with the standard error of that mean. An end of the grid stands in
/// for its missing neighbour (so an end is not lifted by half of its one
/// neighbour's excess).
fn smooth(scores: &mut [KScore]) {
    let raw: Vec<(f64, f64)> = scores.iter().map(|s| (s.excess, s.std_error)).collect();
    let last = raw.len().saturating_sub(1);
    for (i, s) in scores.iter_mut().enumerate() {
        let w = [raw[i.saturating_sub(1)], raw[i], raw[(i + 1).min(last)]];
        s.score = w.iter().map(|v| v.0).sum::<f64>() / 3.0;
        s.std_error = w.iter().map(|v| v.1 * v.1).sum::<f64>().sqrt() / 3.0;
    }
}

/// The k values tried in `lo..=hi`: every k up to 12, then steps of about
/// an eighth of k (77 clusters are told from 70 or 88, not from 76), and
/// `hi` itself.
pub fn k_grid(lo: usize, hi: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut k = lo;
    while k <= hi {
        out.push(k);
        k += if k < 12 { 1 } else { (k + 4) / 8 };
    }
    if out.last() != Some(&hi) && hi >= lo {
        out.push(hi);
    }
    out
}

/// Mean and standard error of the mean.
fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (m, (var / n).sqrt())
}

/// Choose k in `k_min..=k_max` for `x (N, D)`, whose columns are blocks of
/// `widths` (as [`super::views::Views::fit`]): for each k, how much more
/// k-means on the whole representation agrees with k-means on each of its
/// blocks than it does on the same texts with every column shuffled apart
/// (a null with the same values and no groups: its agreement is what the
/// dominant directions alone give, high at small k). Groups that are in
/// the texts are seen by every block; k-means' artefacts are not. Each
/// score is averaged with its grid neighbours', and the smallest k whose
/// score is within one standard error of the best is chosen. On up to
/// [`SAMPLE`] texts.
pub fn choose_k(
    x: &[f32],
    widths: &[(usize, bool)],
    k_min: usize,
    k_max: usize,
    seed: u64,
) -> Result<KChoice, KMeansError> {
    let d: usize = widths.iter().map(|w| w.0).sum();
    let n = x.len() / d.max(1);
    let lo = k_min.max(2);
    let hi = k_max.min(n.saturating_sub(1)).max(lo);
    let mut idx: Vec<usize> = (0..n).collect();
    Rng::derive(seed, 0x51).shuffle(&mut idx);
    idx.truncate(SAMPLE);
    idx.sort_unstable();
    let m = idx.len();
    let mut sample = Vec::with_capacity(m * d);
    idx.iter()
        .for_each(|&i| sample.extend_from_slice(&x[i * d..(i + 1) * d]));
    // The null: each column's values shuffled among the texts on its own.
    let mut null = sample.clone();
    let mut rng = Rng::derive(seed, 0x52);
    let mut order: Vec<usize> = (0..m).collect();
    for j in 0..d {
        rng.shuffle(&mut order);
        for (r, &from) in order.iter().enumerate() {
            null[r * d + j] = sample[from * d + j];
        }
    }
    // The k values in parallel: each k-means run is deterministic on its
    // own (its sums are sequential), so the scores do not depend on the
    // thread count; one run on 3,000 texts is too short to keep two cores
    // busy by itself.
    let grid: Vec<usize> = k_grid(lo, hi).into_iter().filter(|&k| k < m).collect();
    let mut scores: Vec<KScore> = grid
        .par_iter()
        .filter_map(|&k| {
            let (real, shuffled) = rayon::join(
                || Views::fit(&sample, widths, k, seed, VIEWS, MAX_ITER).cross_agreement(),
                || Views::fit(&null, widths, k, seed ^ 0x4E55, VIEWS, MAX_ITER).cross_agreement(),
            );
            if real.is_empty() {
                return None;
            }
            let (a, sa) = mean_se(&real);
            let (b, sb) = if shuffled.is_empty() {
                (0.0, 0.0)
            } else {
                mean_se(&shuffled)
            };
            Some(KScore {
                k,
                agreement: a,
                null: b,
                excess: a - b,
                score: 0.0,
                std_error: (sa * sa + sb * sb).sqrt(),
            })
        })
        .collect();
    if scores.is_empty() {
        return Err(KMeansError::TooFewPoints { k: lo, n });
    }
    smooth(&mut scores);
    // The smallest k within one standard error of the best score: the
    // scores of neighbouring k differ by less than their noise, and the
    // simpler grouping is preferred (the rule of the gap statistic,
    // Tibshirani, Walther & Hastie 2001).
    let by_score = |a: &&KScore, b: &&KScore| a.score.total_cmp(&b.score).then(b.k.cmp(&a.k));
    let best = scores.iter().max_by(by_score).cloned().unwrap_or_default();
    let chosen = scores
        .iter()
        .find(|s| s.score >= best.score - best.std_error)
        .cloned()
        .unwrap_or_else(|| best.clone());
    let runner = scores.iter().filter(|s| s.k != chosen.k).max_by(by_score);
    let margin = runner.map_or(0.0, |r| chosen.score - r.score);
    let se = runner.map_or(0.0, |r| {
        (chosen.std_error.powi(2) + r.std_error.powi(2)).sqrt()
    });
    Ok(KChoice {
        k: chosen.k,
        best: best.k,
        range: (lo, hi),
        sample: m,
        runner_up: runner.map(|r| r.k),
        margin,
        clear: runner.is_some() && margin > 2.0 * se,
        at_edge: scores.len() > 1 && (chosen.k == lo || chosen.k == hi),
        scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silhouette_of_three_blobs() {
        // Three tight, far-apart groups of 20 points.
        let mut rng = Rng::new(2);
        let mut x = Vec::new();
        for &(cx, cy) in &[(0.0, 0.0), (20.0, 0.0), (0.0, 20.0)] {
            for _ in 0..20 {
                x.push((cx + rng.normal()) as f32);
                x.push((cy + rng.normal()) as f32);
            }
        }
        let labels: Vec<usize> = (0..60).map(|i| i / 20).collect();
        let all: Vec<usize> = (0..60).collect();
        assert!(silhouette(&x, 2, &labels, 3, &all) > 0.8);
    }

    #[test]
    fn views_choose_k_on_blobs_both_blocks_see() {
        // Four groups of 40 in two blocks of 3 columns; each block sees
        // all four groups (as SIF and LSA both see topics).
        let mut rng = Rng::new(2);
        let centers = [
            [0.0, 0.0, 0.0],
            [9.0, 0.0, 0.0],
            [0.0, 9.0, 0.0],
            [0.0, 0.0, 9.0],
        ];
        let mut x = Vec::new();
        for c in &centers {
            for _ in 0..40 {
                for _ in 0..2 {
                    x.extend(c.iter().map(|&v| (v + rng.normal()) as f32));
                }
            }
        }
        let choice = choose_k(&x, &[(3, true), (3, true)], 2, 8, 0).unwrap();
        assert_eq!(choice.k, 4, "{choice:?}");
        assert_eq!(choice.scores.len(), 7);
        assert!(!choice.at_edge && choice.runner_up.is_some());
        let edge = choose_k(&x, &[(3, true), (3, true)], 4, 6, 0).unwrap();
        assert!(edge.at_edge, "{edge:?}");
    }

    #[test]
    fn the_choice_does_not_depend_on_the_thread_count() {
        let mut rng = Rng::new(5);
        let x: Vec<f32> = (0..300 * 6).map(|_| rng.normal() as f32).collect();
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| choose_k(&x, &[(3, true), (3, true)], 2, 9, 1).unwrap())
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn grid_is_dense_for_small_k_and_ends_at_the_top() {
        assert_eq!(k_grid(2, 6), vec![2, 3, 4, 5, 6]);
        let g = k_grid(2, 150);
        assert_eq!(g.last(), Some(&150));
        assert!(g.contains(&12) && g.len() < 40, "{g:?}");
        assert!(g.windows(2).all(|w| w[0] < w[1]));
    }
}
