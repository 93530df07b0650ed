//! Choosing the number of clusters: k-means for each k in a range, scored by
//! the mean silhouette on a fixed sample of points (Rousseeuw 1987; higher
//! is better, in [-1, 1]); the best k wins and every score is kept as evidence.

use rayon::prelude::*;

use super::{KMeans, KMeansConfig, KMeansError, Points};
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

/// Cluster `x (N, D)` for every k in `k_min..=k_max` and return the k with the
/// highest silhouette (on up to 2,000 sampled points) and all `(k, silhouette)`.
pub fn choose_k(
    x: &[f32],
    d: usize,
    k_min: usize,
    k_max: usize,
    seed: u64,
) -> Result<(usize, Vec<(usize, f64)>), KMeansError> {
    let n = x.len() / d.max(1);
    let k_max = k_max.min(n.saturating_sub(1)).max(k_min.max(2));
    let mut idx: Vec<usize> = (0..n).collect();
    Rng::derive(seed, 0x51).shuffle(&mut idx);
    idx.truncate(2000);
    let mut evidence = Vec::new();
    for k in k_min.max(2)..=k_max {
        let km = KMeans::fit(
            Points::Dense { x, d },
            &KMeansConfig {
                n_init: 3,
                ..KMeansConfig::new(k, seed)
            },
        )?;
        evidence.push((k, silhouette(x, d, &km.labels, k, &idx)));
    }
    let best = evidence
        .iter()
        .fold((k_min.max(2), f64::NEG_INFINITY), |b, &(k, s)| {
            if s > b.1 {
                (k, s)
            } else {
                b
            }
        });
    Ok((best.0, evidence))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silhouette_and_choice_on_three_blobs() {
        // Three tight, far-apart groups of 20 points: k = 3 must win.
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
        let (k, evidence) = choose_k(&x, 2, 2, 6, 0).unwrap();
        assert_eq!(k, 3, "{evidence:?}");
        assert_eq!(evidence.len(), 5);
    }
}
