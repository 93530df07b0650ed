//! Other clusterings of the same texts: k-means on each block of the
//! representation alone (SIF, RNN, LSA) and on all of it from other seeds.
//!
//! A grouping that is in the texts shows up whichever part of the
//! representation looks at them; one that k-means made up does not. Two
//! users: [`super::calibrate`] turns each text's agreement across views
//! into a target for its score, and [`super::select`] turns the
//! partitions' agreement at each k into the choice of k.

use super::{KMeans, KMeansConfig, Points};

/// Seeds the views' k-means apart from the partition's.
const VIEW_STREAM: u64 = 0xCA11_B8A7;

/// The partitions of `z (N, D)` into `k` clusters, one k-means
/// initialization each.
#[derive(Clone, Debug, Default)]
pub struct Views {
    /// k-means on each block alone: `per_block` partitions per block that
    /// is on, block by block.
    pub blocks: Vec<Vec<usize>>,
    /// k-means on all of `z`, from `restarts` other seeds.
    pub restarts: Vec<Vec<usize>>,
}

impl Views {
    /// Cluster `z (N, D)`, whose columns are blocks of `widths` (a block of
    /// width 0 or off is left out), into `k`, each k-means run for at most
    /// `max_iter` iterations. A partition that cannot be fitted (fewer
    /// distinct rows than k) is left out.
    pub fn fit(
        z: &[f32],
        widths: &[(usize, bool)],
        k: usize,
        seed: u64,
        (per_block, restarts): (usize, usize),
        max_iter: usize,
    ) -> Views {
        let dim: usize = widths.iter().map(|w| w.0).sum();
        let n = z.len() / dim.max(1);
        let km = |x: &[f32], d: usize, s: u64| {
            let cfg = KMeansConfig {
                n_init: 1,
                max_iter,
                ..KMeansConfig::new(k, s)
            };
            KMeans::fit(Points::Dense { x, d }, &cfg)
                .ok()
                .map(|m| m.labels)
        };
        let mut views = Views::default();
        let mut start = 0;
        for (b, &(w, on)) in widths.iter().enumerate() {
            if w > 0 && on {
                let mut block = Vec::with_capacity(n * w);
                for i in 0..n {
                    block.extend_from_slice(&z[i * dim + start..i * dim + start + w]);
                }
                for j in 0..per_block as u64 {
                    let s = seed ^ VIEW_STREAM ^ b as u64 ^ (j << 40);
                    views.blocks.extend(km(&block, w, s));
                }
            }
            start += w;
        }
        for r in 1..=restarts as u64 {
            views
                .restarts
                .extend(km(z, dim, (seed ^ VIEW_STREAM).wrapping_add(r << 32)));
        }
        views
    }

    /// Every partition, blocks first.
    pub fn all(self) -> Vec<Vec<usize>> {
        let mut v = self.blocks;
        v.extend(self.restarts);
        v
    }

    /// The adjusted Rand index of each restart with each block partition:
    /// how far clusterings of the whole agree with clusterings of its parts.
    pub fn cross_agreement(&self) -> Vec<f64> {
        let mut out = Vec::new();
        for r in &self.restarts {
            for b in &self.blocks {
                let table = crate::eval::metrics::contingency(r, b);
                out.push(crate::eval::metrics::ari(&table));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Three groups that both blocks see: every view finds them, so the
    /// whole and its parts agree; at k = 5 they must split groups and agree less.
    #[test]
    fn views_agree_at_the_true_k() {
        let mut rng = Rng::new(3);
        let mut z = Vec::new();
        for g in 0..3 {
            for _ in 0..30 {
                for b in 0..2 {
                    for j in 0..3 {
                        let c = if j == g { 8.0 } else { 0.0 };
                        z.push((c + rng.normal() + b as f64 * 0.0) as f32);
                    }
                }
            }
        }
        let widths = [(3, true), (3, true)];
        let at3 = Views::fit(&z, &widths, 3, 0, (1, 2), 300);
        assert_eq!((at3.blocks.len(), at3.restarts.len()), (2, 2));
        let a3 = at3.cross_agreement();
        assert!(a3.iter().all(|&a| a > 0.99), "{a3:?}");
        let a5 = Views::fit(&z, &widths, 5, 0, (1, 2), 300).cross_agreement();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!(mean(&a5) < mean(&a3) - 0.1, "{a5:?}");
        // Off blocks are left out.
        let off = Views::fit(&z, &[(3, true), (3, false)], 3, 0, (2, 0), 300);
        assert_eq!(off.blocks.len(), 2);
    }
}
