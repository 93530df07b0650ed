//! k-means with k-means++ seeding, several restarts, Euclidean or cosine.
//!
//! Our own implementation rather than linfa-clustering, because the baseline
//! clusters sparse TF-IDF rows directly (tens of thousands of columns) and
//! linfa only takes dense arrays; densifying stackoverflow's TF-IDF would
//! take ~0.8 GB. On dense input it is also faster: on stackoverflow's LSA
//! vectors (19,985 x 100, k = 20, 10 restarts, 2 cores) ours took 1.1-1.2 s
//! per fit against 4.4-5.1 s for linfa-clustering 0.8 at equal ACC.
//! It follows scikit-learn's `KMeans` (Lloyd iterations, greedy
//! k-means++ with `2 + ln k` local trials, `tol` relative to the mean feature
//! variance, a final assignment step, best of `n_init` restarts by inertia).
//!
//! Determinism: every restart draws from its own seeded stream, restarts run
//! one after another, and the parallel assignment step writes per-point
//! results, so the result is identical for any thread count.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::features::Csr;
use crate::rng::Rng;

/// Distance used to compare points and centroids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Squared Euclidean distance; centroids are means.
    Euclidean,
    /// Cosine: points are L2-normalized and centroids re-normalized after
    /// each update (spherical k-means).
    Cosine,
}

/// k-means settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KMeansConfig {
    /// Number of clusters.
    pub k: usize,
    /// Restarts; the lowest inertia wins. Default 10.
    pub n_init: usize,
    /// Iterations per restart. Default 300.
    pub max_iter: usize,
    /// Stop when the centroids move less than `tol` times the mean feature variance. Default 1e-4.
    pub tol: f64,
    /// Seed of the whole run.
    pub seed: u64,
    /// Distance.
    pub metric: Metric,
}

impl KMeansConfig {
    /// Defaults for `k` clusters and a seed.
    pub fn new(k: usize, seed: u64) -> Self {
        KMeansConfig {
            k,
            n_init: 10,
            max_iter: 300,
            tol: 1e-4,
            seed,
            metric: Metric::Euclidean,
        }
    }
}

/// Errors from k-means.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum KMeansError {
    /// k = 0.
    #[error("the number of clusters must be at least 1")]
    ZeroK,
    /// Fewer points than clusters.
    #[error("cannot make {k} clusters from {n} texts; lower --k")]
    TooFewPoints {
        /// Requested clusters.
        k: usize,
        /// Available points.
        n: usize,
    },
    /// Fewer distinct points than clusters (identical texts).
    #[error("cannot make {k} clusters from {distinct} distinct texts; lower --k")]
    TooFewDistinct {
        /// Requested clusters.
        k: usize,
        /// Distinct points.
        distinct: usize,
    },
}

/// The number of distinct rows, counted up to `cap`.
fn distinct_rows(points: Points<'_>, cap: usize) -> usize {
    use std::collections::HashSet;
    let mut seen: HashSet<Vec<u32>> = HashSet::new();
    for i in 0..points.len() {
        let key: Vec<u32> = match points {
            Points::Dense { x, d } => x[i * d..(i + 1) * d].iter().map(|v| v.to_bits()).collect(),
            Points::Sparse(m) => {
                let (idx, val) = m.row(i);
                idx.iter()
                    .copied()
                    .chain(std::iter::once(u32::MAX))
                    .chain(val.iter().map(|v| v.to_bits()))
                    .collect()
            }
        };
        seen.insert(key);
        if seen.len() >= cap {
            break;
        }
    }
    seen.len()
}

/// Points to cluster: rows of a dense `(N, D)` matrix or of a sparse one.
#[derive(Clone, Copy, Debug)]
pub enum Points<'a> {
    /// Row-major `(N, D)`.
    Dense {
        /// The values.
        x: &'a [f32],
        /// Dimension D.
        d: usize,
    },
    /// Sparse rows.
    Sparse(&'a Csr),
}

impl Points<'_> {
    /// Number of points.
    pub fn len(&self) -> usize {
        match self {
            Points::Dense { x, d } => x.len() / d.max(&1),
            Points::Sparse(m) => m.n_rows(),
        }
    }

    /// True when there are no points.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        match self {
            Points::Dense { d, .. } => *d,
            Points::Sparse(m) => m.n_cols,
        }
    }

    fn dot(&self, i: usize, c: &[f64]) -> f64 {
        match self {
            Points::Dense { x, d } => x[i * d..(i + 1) * d]
                .iter()
                .zip(c)
                .map(|(&a, &b)| a as f64 * b)
                .sum(),
            Points::Sparse(m) => {
                let (cols, vals) = m.row(i);
                cols.iter()
                    .zip(vals)
                    .map(|(&j, &v)| v as f64 * c[j as usize])
                    .sum()
            }
        }
    }

    fn sq_norm(&self, i: usize) -> f64 {
        match self {
            Points::Dense { x, d } => x[i * d..(i + 1) * d]
                .iter()
                .map(|&a| a as f64 * a as f64)
                .sum(),
            Points::Sparse(m) => m.row(i).1.iter().map(|&v| v as f64 * v as f64).sum(),
        }
    }

    fn add_to(&self, i: usize, acc: &mut [f64]) {
        match self {
            Points::Dense { x, d } => acc
                .iter_mut()
                .zip(&x[i * d..(i + 1) * d])
                .for_each(|(a, &v)| *a += v as f64),
            Points::Sparse(m) => {
                let (cols, vals) = m.row(i);
                cols.iter()
                    .zip(vals)
                    .for_each(|(&j, &v)| acc[j as usize] += v as f64);
            }
        }
    }

    fn dense_row(&self, i: usize) -> Vec<f64> {
        let mut v = vec![0.0; self.dim()];
        self.add_to(i, &mut v);
        v
    }

    /// Mean over features of the per-feature variance.
    fn mean_variance(&self) -> f64 {
        let (n, d) = (self.len(), self.dim());
        let mut sum = vec![0.0; d];
        let mut sq = 0.0;
        for i in 0..n {
            self.add_to(i, &mut sum);
            sq += self.sq_norm(i);
        }
        let nf = n as f64;
        (sq / nf - sum.iter().map(|s| (s / nf).powi(2)).sum::<f64>()) / d.max(1) as f64
    }
}

/// A fitted clustering.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KMeans {
    /// Settings used.
    pub config: KMeansConfig,
    /// Centroids, row-major `(K, D)`.
    pub centroids: Vec<f32>,
    /// Dimension D.
    pub dim: usize,
    /// Cluster of each training point.
    pub labels: Vec<usize>,
    /// Sum of squared distances of points to their centroid (cosine: of the normalized points).
    pub inertia: f64,
    /// Which restart won.
    pub best_restart: usize,
    /// Lloyd iterations of the winning restart.
    pub n_iter: usize,
}

struct Run {
    centers: Vec<f64>,
    labels: Vec<usize>,
    inertia: f64,
    n_iter: usize,
}

impl KMeans {
    /// Cluster `points` under `cfg`.
    pub fn fit(points: Points<'_>, cfg: &KMeansConfig) -> Result<KMeans, KMeansError> {
        let n = points.len();
        if cfg.k == 0 {
            return Err(KMeansError::ZeroK);
        }
        if n < cfg.k {
            return Err(KMeansError::TooFewPoints { k: cfg.k, n });
        }
        let distinct = distinct_rows(points, cfg.k);
        if distinct < cfg.k {
            return Err(KMeansError::TooFewDistinct { k: cfg.k, distinct });
        }
        let normalized;
        let points = match cfg.metric {
            Metric::Euclidean => points,
            Metric::Cosine => {
                normalized = normalize_points(points);
                normalized.as_points()
            }
        };
        let tol = cfg.tol * points.mean_variance();
        let norms: Vec<f64> = (0..n).into_par_iter().map(|i| points.sq_norm(i)).collect();
        let mut best: Option<(usize, Run)> = None;
        for r in 0..cfg.n_init.max(1) {
            let mut rng = Rng::derive(cfg.seed, r as u64);
            let centers = kmeans_plus_plus(points, &norms, cfg.k, &mut rng);
            let run = lloyd(points, &norms, centers, cfg, tol);
            if best.as_ref().is_none_or(|(_, b)| run.inertia < b.inertia) {
                best = Some((r, run));
            }
        }
        let (best_restart, run) = best.expect("at least one restart");
        Ok(KMeans {
            config: cfg.clone(),
            centroids: run.centers.iter().map(|&c| c as f32).collect(),
            dim: points.dim(),
            labels: run.labels,
            inertia: run.inertia,
            best_restart,
            n_iter: run.n_iter,
        })
    }

    /// The nearest centroid of each point, and its squared distance.
    pub fn predict(&self, points: Points<'_>) -> Vec<(usize, f64)> {
        let centers: Vec<f64> = self.centroids.iter().map(|&c| c as f64).collect();
        let normalized;
        let points = match self.config.metric {
            Metric::Euclidean => points,
            Metric::Cosine => {
                normalized = normalize_points(points);
                normalized.as_points()
            }
        };
        let norms: Vec<f64> = (0..points.len()).map(|i| points.sq_norm(i)).collect();
        assign(points, &norms, &centers, self.config.k)
    }
}

enum Owned {
    Dense(Vec<f32>, usize),
    Sparse(Csr),
}

impl Owned {
    fn as_points(&self) -> Points<'_> {
        match self {
            Owned::Dense(x, d) => Points::Dense { x, d: *d },
            Owned::Sparse(m) => Points::Sparse(m),
        }
    }
}

fn normalize_points(points: Points<'_>) -> Owned {
    fn unit(v: &mut [f32]) {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if n > 0.0 {
            v.iter_mut().for_each(|x| *x /= n);
        }
    }
    match points {
        Points::Dense { x, d } => {
            let mut x = x.to_vec();
            x.chunks_mut(d.max(1)).for_each(unit);
            Owned::Dense(x, d)
        }
        Points::Sparse(m) => {
            let mut m = m.clone();
            for i in 0..m.n_rows() {
                let (a, b) = (m.indptr[i], m.indptr[i + 1]);
                unit(&mut m.data[a..b]);
            }
            Owned::Sparse(m)
        }
    }
}

/// Squared distances from every point to the dense vector `c` (with `‖c‖²`).
fn distances_to(points: Points<'_>, norms: &[f64], c: &[f64]) -> Vec<f64> {
    let cn: f64 = c.iter().map(|x| x * x).sum();
    (0..points.len())
        .into_par_iter()
        .map(|i| (norms[i] - 2.0 * points.dot(i, c) + cn).max(0.0))
        .collect()
}

/// Greedy k-means++: each new centre is the best of `2 + ln k` candidates
/// drawn with probability proportional to the squared distance.
fn kmeans_plus_plus(points: Points<'_>, norms: &[f64], k: usize, rng: &mut Rng) -> Vec<f64> {
    let (n, d) = (points.len(), points.dim());
    let trials = 2 + (k as f64).ln().floor() as usize;
    let mut centers = Vec::with_capacity(k * d);
    let first = rng.below(n);
    centers.extend(points.dense_row(first));
    let mut closest = distances_to(points, norms, &centers[..d]);
    let mut potential: f64 = closest.iter().sum();
    for _ in 1..k {
        let mut cum = Vec::with_capacity(n);
        let mut acc = 0.0;
        for &x in &closest {
            acc += x;
            cum.push(acc);
        }
        let mut best: Option<(f64, Vec<f64>, Vec<f64>)> = None;
        for _ in 0..trials {
            let cand = if potential > 0.0 {
                let r = rng.uniform() * potential;
                cum.partition_point(|&c| c <= r).min(n - 1)
            } else {
                rng.below(n)
            };
            let row = points.dense_row(cand);
            let d2 = distances_to(points, norms, &row);
            let new_closest: Vec<f64> = closest.iter().zip(&d2).map(|(&a, &b)| a.min(b)).collect();
            let pot: f64 = new_closest.iter().sum();
            if best.as_ref().is_none_or(|(p, _, _)| pot < *p) {
                best = Some((pot, row, new_closest));
            }
        }
        let (pot, row, new_closest) = best.expect("at least one trial");
        centers.extend(row);
        closest = new_closest;
        potential = pot;
    }
    centers
}

/// Nearest centre of every point, with its squared distance. Ties go to the lower index.
fn assign(points: Points<'_>, norms: &[f64], centers: &[f64], k: usize) -> Vec<(usize, f64)> {
    let d = points.dim();
    let cnorms: Vec<f64> = centers
        .chunks(d.max(1))
        .map(|c| c.iter().map(|x| x * x).sum())
        .collect();
    let nearest = |i: usize, dot: &dyn Fn(usize) -> f64| {
        let mut best = (0, f64::INFINITY);
        for (j, &cn) in cnorms.iter().enumerate().take(k) {
            let dist = (norms[i] - 2.0 * dot(j) + cn).max(0.0);
            if dist < best.1 {
                best = (j, dist);
            }
        }
        best
    };
    match points {
        // Dense rows: dot products in f32 with eight lanes (as fast as the data's precision allows).
        Points::Dense { x, d } => {
            let c32: Vec<f32> = centers.iter().map(|&c| c as f32).collect();
            (0..points.len())
                .into_par_iter()
                .map(|i| {
                    let row = &x[i * d..(i + 1) * d];
                    nearest(i, &|j| dot_f32(row, &c32[j * d..(j + 1) * d]) as f64)
                })
                .collect()
        }
        Points::Sparse(_) => (0..points.len())
            .into_par_iter()
            .map(|i| nearest(i, &|j| points.dot(i, &centers[j * d..(j + 1) * d])))
            .collect(),
    }
}

/// Dot product with eight independent accumulators, so it vectorizes.
fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

fn lloyd(
    points: Points<'_>,
    norms: &[f64],
    mut centers: Vec<f64>,
    cfg: &KMeansConfig,
    tol: f64,
) -> Run {
    let (n, d, k) = (points.len(), points.dim(), cfg.k);
    let mut labels: Vec<usize> = vec![usize::MAX; n];
    let mut n_iter = 0;
    for it in 0..cfg.max_iter.max(1) {
        n_iter = it + 1;
        let assigned = assign(points, norms, &centers, k);
        let new_labels: Vec<usize> = assigned.iter().map(|a| a.0).collect();
        let same = new_labels == labels;
        labels = new_labels;
        if same {
            break;
        }
        let mut sums = vec![0.0; k * d];
        let mut counts = vec![0usize; k];
        for (i, &l) in labels.iter().enumerate() {
            points.add_to(i, &mut sums[l * d..(l + 1) * d]);
            counts[l] += 1;
        }
        // Empty clusters take the points farthest from their centres.
        let empty: Vec<usize> = (0..k).filter(|&j| counts[j] == 0).collect();
        if !empty.is_empty() {
            let mut far: Vec<usize> = (0..n).collect();
            far.sort_by(|&a, &b| assigned[b].1.total_cmp(&assigned[a].1).then(a.cmp(&b)));
            for (&j, &p) in empty.iter().zip(far.iter()) {
                let from = labels[p];
                if counts[from] <= 1 {
                    continue;
                }
                let row = points.dense_row(p);
                sums[from * d..(from + 1) * d]
                    .iter_mut()
                    .zip(&row)
                    .for_each(|(s, r)| *s -= r);
                counts[from] -= 1;
                sums[j * d..(j + 1) * d]
                    .iter_mut()
                    .zip(&row)
                    .for_each(|(s, r)| *s += r);
                counts[j] = 1;
                labels[p] = j;
            }
        }
        let mut shift = 0.0;
        for j in 0..k {
            if counts[j] == 0 {
                continue;
            }
            let c = &mut sums[j * d..(j + 1) * d];
            c.iter_mut().for_each(|x| *x /= counts[j] as f64);
            if cfg.metric == Metric::Cosine {
                let nrm = c.iter().map(|x| x * x).sum::<f64>().sqrt();
                if nrm > 0.0 {
                    c.iter_mut().for_each(|x| *x /= nrm);
                }
            }
            shift += c
                .iter()
                .zip(&centers[j * d..(j + 1) * d])
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>();
            centers[j * d..(j + 1) * d].copy_from_slice(c);
        }
        if shift <= tol {
            break;
        }
    }
    let assigned = assign(points, norms, &centers, k);
    labels = assigned.iter().map(|a| a.0).collect();
    let inertia = assigned.iter().map(|a| a.1).sum();
    Run {
        centers,
        labels,
        inertia,
        n_iter,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs() -> Vec<f32> {
        // Three tight groups around (0,0), (10,0), (0,10).
        let mut rng = Rng::new(5);
        let mut x = Vec::new();
        for &(cx, cy) in &[(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)] {
            for _ in 0..30 {
                x.push((cx + 0.5 * rng.normal()) as f32);
                x.push((cy + 0.5 * rng.normal()) as f32);
            }
        }
        x
    }

    #[test]
    fn finds_separated_blobs_and_is_deterministic() {
        let x = blobs();
        let cfg = KMeansConfig::new(3, 42);
        let m = KMeans::fit(Points::Dense { x: &x, d: 2 }, &cfg).unwrap();
        for g in 0..3 {
            let l = m.labels[g * 30];
            assert!(m.labels[g * 30..(g + 1) * 30].iter().all(|&x| x == l));
        }
        let again = KMeans::fit(Points::Dense { x: &x, d: 2 }, &cfg).unwrap();
        assert_eq!(m, again);
        let pred = m.predict(Points::Dense {
            x: &[9.5, 0.3],
            d: 2,
        });
        assert_eq!(pred[0].0, m.labels[30]);
    }

    #[test]
    fn sparse_and_dense_agree() {
        let x = blobs();
        let mut indptr = vec![0];
        let mut indices = vec![];
        for _ in 0..90 {
            indices.extend([0u32, 1]);
            indptr.push(indices.len());
        }
        let csr = Csr {
            indptr,
            indices,
            data: x.clone(),
            n_cols: 2,
        };
        for metric in [Metric::Euclidean, Metric::Cosine] {
            let cfg = KMeansConfig {
                metric,
                ..KMeansConfig::new(3, 1)
            };
            let a = KMeans::fit(Points::Dense { x: &x, d: 2 }, &cfg).unwrap();
            let b = KMeans::fit(Points::Sparse(&csr), &cfg).unwrap();
            assert_eq!(a.labels, b.labels);
        }
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let same = vec![1.0f32; 20];
        // Identical points: one cluster is fine, more is a clear error, not empty clusters.
        let m = KMeans::fit(Points::Dense { x: &same, d: 2 }, &KMeansConfig::new(1, 0)).unwrap();
        assert_eq!(m.labels, vec![0; 10]);
        assert_eq!(m.inertia, 0.0);
        assert_eq!(
            KMeans::fit(Points::Dense { x: &same, d: 2 }, &KMeansConfig::new(3, 0)),
            Err(KMeansError::TooFewDistinct { k: 3, distinct: 1 })
        );
        assert_eq!(
            KMeans::fit(Points::Dense { x: &same, d: 2 }, &KMeansConfig::new(0, 0)),
            Err(KMeansError::ZeroK)
        );
        assert_eq!(
            KMeans::fit(Points::Dense { x: &same, d: 2 }, &KMeansConfig::new(11, 0)),
            Err(KMeansError::TooFewPoints { k: 11, n: 10 })
        );
    }
}
