//! Spectral coordinates from the k-nearest-neighbour graph of the texts.
//!
//! k-means on the concatenated representation assumes round clusters of
//! similar spread. On some corpora the classes are rather chains of locally
//! similar texts: on searchsnippets 88% of each text's 10 nearest neighbours
//! share its class while k-means' cells reach 75% ACC. This module turns
//! that local agreement into coordinates: the symmetric cosine k-NN graph,
//! its normalized adjacency `D^-1/2 A D^-1/2`, the top eigenvectors of that
//! matrix (block Lanczos with full reorthogonalization), rows scaled to unit
//! length (Ng, Jordan and Weiss, 2001). [`fuse`] appends them, at a small
//! weight, to the representation that k-means then clusters; `Model::fit`
//! then learns that partition's boundaries in the plain representation, so
//! prediction needs neither the graph nor the training texts.
//!
//! How much weight the graph gets depends on how far it can be trusted:
//! [`Graph::agreement`] measures how often plain k-means already puts a text
//! and its neighbours together (chance-corrected). Where that is high the
//! graph's neighbourhoods follow the clusters, and a larger weight helps;
//! where it is low the neighbourhoods cross classes, and more weight hurts
//! (see [`Trust`]).

use std::collections::HashMap;

use nalgebra::{DMatrix, SymmetricEigen};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::nn::gemm::{matmul, Threads};
use crate::rng::Rng;

/// Settings of the graph step (saved in the model).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphConfig {
    /// Neighbours per text (0: no graph step, k-means on the representation alone).
    pub neighbors: usize,
    /// Length of the appended spectral row relative to the representation's (unit) rows.
    pub weight: f32,
    /// Stop the eigen-solver when every wanted eigenpair's residual
    /// `|A x - θ x|` is below this.
    pub tol: f64,
    /// A larger weight where plain k-means agrees with the graph (none in
    /// models saved before it existed).
    #[serde(default)]
    pub trust: Option<Trust>,
    /// The trusted weight's partition is kept only if, its clusters matched
    /// one-to-one to plain k-means' (Kuhn-Munkres, [`matched_agreement`]),
    /// it agrees with k-means on at least this share of the texts: trusting
    /// the graph more should refine k-means' cells, not redraw them. If it
    /// does not, the base `weight` is used instead. 0 in models saved before
    /// it existed (no such check).
    #[serde(default)]
    pub min_kmeans_match: f64,
    /// The graph partition is kept only if its size balance ([`balance`])
    /// is at most this far below plain k-means'; [`MAX_BALANCE_DROP`] in
    /// models saved before it was a setting.
    #[serde(default = "default_max_balance_drop")]
    pub max_balance_drop: f64,
}

fn default_max_balance_drop() -> f64 {
    MAX_BALANCE_DROP
}

/// Use `weight` instead of [`GraphConfig::weight`] when plain k-means'
/// clusters reach `agreement` with the graph ([`Graph::agreement`]).
///
/// Where the agreement is high a larger weight helps; where it is low it
/// is worse or no better (docs/defaults.md#graph-trust).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trust {
    /// Chance-corrected agreement at and above which `weight` is used.
    pub agreement: f64,
    /// The weight then.
    pub weight: f32,
}

impl GraphConfig {
    /// No graph step (models saved before it existed).
    pub fn off() -> GraphConfig {
        GraphConfig {
            neighbors: 0,
            weight: 0.0,
            tol: 1e-6,
            trust: None,
            min_kmeans_match: 0.0,
            max_balance_drop: MAX_BALANCE_DROP,
        }
    }

    /// The shipped setting: 15 neighbours, weight 0.5, or 0.75 from an
    /// agreement of 0.76 (between the two groups of [`Trust`]'s table),
    /// residuals below 1e-6.
    pub fn shipped() -> GraphConfig {
        GraphConfig {
            neighbors: 15,
            weight: 0.5,
            tol: 1e-6,
            trust: Some(Trust {
                agreement: 0.76,
                weight: 0.75,
            }),
            min_kmeans_match: MIN_KMEANS_MATCH,
            max_balance_drop: MAX_BALANCE_DROP,
        }
    }

    /// The weight for a plain k-means agreement of `agreement`.
    pub fn weight_for(&self, agreement: f64) -> f32 {
        match self.trust {
            Some(t) if self.trusts(agreement) => t.weight,
            _ => self.weight,
        }
    }

    /// Whether plain k-means' agreement with the graph earns the trusted
    /// weight.
    pub fn trusts(&self, agreement: f64) -> bool {
        self.trust.is_some_and(|t| agreement >= t.agreement)
    }

    /// Whether the step runs.
    pub fn enabled(&self) -> bool {
        self.neighbors > 0 && self.weight > 0.0
    }
}

/// The shipped [`GraphConfig::min_kmeans_match`]: a trusted-weight
/// partition must match plain k-means' on this share of the texts, or it
/// redrew the cells instead of refining them
/// (docs/defaults.md#kmeans-match).
pub const MIN_KMEANS_MATCH: f64 = 0.68;

impl Default for GraphConfig {
    fn default() -> Self {
        GraphConfig::off()
    }
}

/// Rows scored per matrix product when searching neighbours.
const KNN_BLOCK: usize = 256;

/// The `nn` most cosine-similar other rows of `z (N, D)` per row, as
/// `(index, similarity)` sorted by similarity (ties: lower index first);
/// rows are assumed unit-length (dot products are the similarities).
pub fn knn(z: &[f32], d: usize, nn: usize, threads: Threads) -> Vec<Vec<(u32, f32)>> {
    let n = z.len().checked_div(d).unwrap_or(0);
    let nn = nn.min(n.saturating_sub(1));
    let mut out = Vec::with_capacity(n);
    if nn == 0 {
        return vec![Vec::new(); n];
    }
    let mut sims = vec![0f32; KNN_BLOCK.min(n) * n];
    for start in (0..n).step_by(KNN_BLOCK) {
        let rows = KNN_BLOCK.min(n - start);
        let s = &mut sims[..rows * n];
        matmul(
            rows,
            n,
            d,
            &z[start * d..(start + rows) * d],
            false,
            z,
            true,
            s,
            false,
            threads,
        );
        let block: Vec<Vec<(u32, f32)>> = s
            .par_chunks(n)
            .enumerate()
            .map(|(r, row)| top_n(row, start + r, nn))
            .collect();
        out.extend(block);
    }
    out
}

/// `a` ranks before `b`: higher similarity, then lower index.
fn better(a: (u32, f32), b: (u32, f32)) -> bool {
    a.1 > b.1 || (a.1 == b.1 && a.0 < b.0)
}

/// The `nn` best entries of `row`, skipping `me`, best first.
fn top_n(row: &[f32], me: usize, nn: usize) -> Vec<(u32, f32)> {
    let mut best: Vec<(u32, f32)> = Vec::with_capacity(nn + 1);
    for (j, &s) in row.iter().enumerate() {
        // NaN similarities (from NaN inputs) never enter.
        if j == me || s.is_nan() {
            continue;
        }
        let c = (j as u32, s);
        if best.len() == nn && !better(c, best[nn - 1]) {
            continue;
        }
        let pos = best.partition_point(|&b| better(b, c));
        best.insert(pos, c);
        best.truncate(nn);
    }
    best
}

/// A symmetric sparse matrix in CSR form.
struct Sym {
    starts: Vec<usize>,
    cols: Vec<u32>,
    vals: Vec<f64>,
}

impl Sym {
    /// `D^-1/2 A D^-1/2` of `A = max(W, Wᵀ)`, `W` the k-NN similarities
    /// clipped at 0; rows without an edge stay empty.
    fn normalized_adjacency(nbrs: &[Vec<(u32, f32)>]) -> Sym {
        let n = nbrs.len();
        let mut edges: Vec<(u32, u32, f32)> = Vec::with_capacity(2 * n * 16);
        for (i, row) in nbrs.iter().enumerate() {
            for &(j, s) in row {
                let w = s.max(0.0);
                if w > 0.0 && j as usize != i {
                    edges.push((i as u32, j, w));
                    edges.push((j, i as u32, w));
                }
            }
        }
        edges.par_sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(b.2.total_cmp(&a.2)));
        // The first of each (i, j) run is the largest weight: max(W, Wᵀ).
        edges.dedup_by(|b, a| a.0 == b.0 && a.1 == b.1);
        let mut starts = vec![0usize; n + 1];
        for e in &edges {
            starts[e.0 as usize + 1] += 1;
        }
        for i in 0..n {
            starts[i + 1] += starts[i];
        }
        let mut degree = vec![0f64; n];
        for e in &edges {
            degree[e.0 as usize] += e.2 as f64;
        }
        let inv: Vec<f64> = degree
            .iter()
            .map(|&g| if g > 0.0 { 1.0 / g.sqrt() } else { 0.0 })
            .collect();
        Sym {
            starts,
            cols: edges.iter().map(|e| e.1).collect(),
            vals: edges
                .iter()
                .map(|e| e.2 as f64 * (inv[e.0 as usize] * inv[e.1 as usize]))
                .collect(),
        }
    }

    /// `out (B, N) = (self · xᵀ)ᵀ` for `x (B, N)`: a block of vectors stored as rows.
    fn mul_rows(&self, x: &[f64], b: usize, out: &mut [f64]) {
        let n = self.starts.len() - 1;
        let mut tmp = vec![0f64; n * b];
        tmp.par_chunks_mut(b).enumerate().for_each(|(i, ti)| {
            for p in self.starts[i]..self.starts[i + 1] {
                let (j, v) = (self.cols[p] as usize, self.vals[p]);
                for (r, t) in ti.iter_mut().enumerate() {
                    *t += v * x[r * n + j];
                }
            }
        });
        for r in 0..b {
            for i in 0..n {
                out[r * n + i] = tmp[i * b + r];
            }
        }
    }

    /// Dense copy (for small graphs).
    fn dense(&self) -> DMatrix<f64> {
        let n = self.starts.len() - 1;
        let mut d = DMatrix::zeros(n, n);
        for i in 0..n {
            for p in self.starts[i]..self.starts[i + 1] {
                d[(i, self.cols[p] as usize)] = self.vals[p];
            }
        }
        d
    }
}

/// `w (B, N) -= (V wᵀ)ᵀ V` for the orthonormal rows `v (M, N)`; returns `V wᵀ (M, B)`.
fn project_out(
    v: &[f64],
    m: usize,
    w: &mut [f64],
    b: usize,
    n: usize,
    threads: Threads,
) -> Vec<f64> {
    let mut c = vec![0f64; m * b];
    if m == 0 {
        return c;
    }
    matmul(m, b, n, v, false, w, true, &mut c, false, threads);
    let neg: Vec<f64> = c.iter().map(|x| -x).collect();
    matmul(b, n, m, &neg, true, v, false, w, true, threads);
    c
}

/// Make the rows of `w (B, N)` orthonormal (Cholesky QR twice). `false`
/// when they are numerically dependent.
fn orthonormalize_rows(w: &mut [f64], b: usize, n: usize, threads: Threads) -> bool {
    for _ in 0..2 {
        let mut g = vec![0f64; b * b];
        matmul(b, b, n, w, false, w, true, &mut g, false, threads);
        let gm = DMatrix::from_row_slice(b, b, &g);
        let scale = (0..b).map(|i| gm[(i, i)]).fold(0.0f64, f64::max);
        let Some(ch) = gm.cholesky() else {
            return false;
        };
        let l = ch.l();
        if (0..b).any(|i| l[(i, i)] <= 1e-10 * scale.sqrt().max(1e-300)) {
            return false;
        }
        let Some(inv) = l.try_inverse() else {
            return false;
        };
        let inv: Vec<f64> = (0..b * b).map(|p| inv[(p / b, p % b)]).collect();
        let mut q = vec![0f64; b * n];
        matmul(b, n, b, &inv, false, w, false, &mut q, false, threads);
        w.copy_from_slice(&q);
    }
    true
}

/// Block size of the Lanczos solver: eigenvalues repeated up to this many
/// times (e.g. separate components of the graph) are all found.
const LANCZOS_BLOCK: usize = 4;
/// Graphs up to this size are decomposed densely.
const DENSE_LIMIT: usize = 256;

/// The `k` largest eigenpairs of `adj` as rows `(k, N)` and values, by block
/// Lanczos with full reorthogonalization: Krylov blocks are added until every
/// Ritz pair's residual is below `tol`, or the basis reaches its memory cap
/// (about 200 MB), or the Krylov space is exhausted. The gap between the
/// k-th and the next eigenvalue of a well-clustered graph is tiny (0.981
/// against 0.980 on searchsnippets), which plain subspace iteration needs
/// thousands of products to resolve; Lanczos needs a few hundred.
fn top_eigenvectors(
    adj: &Sym,
    k: usize,
    tol: f64,
    seed: u64,
    threads: Threads,
) -> (Vec<f64>, Vec<f64>) {
    let n = adj.starts.len() - 1;
    let k = k.min(n);
    if n <= DENSE_LIMIT {
        let eig = SymmetricEigen::new(adj.dense());
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&i, &j| {
            eig.eigenvalues[j]
                .total_cmp(&eig.eigenvalues[i])
                .then(i.cmp(&j))
        });
        let x = order[..k]
            .iter()
            .flat_map(|&c| (0..n).map(move |i| (i, c)))
            .map(|(i, c)| eig.eigenvectors[(i, c)])
            .collect();
        return (x, order[..k].iter().map(|&c| eig.eigenvalues[c]).collect());
    }
    let b = LANCZOS_BLOCK;
    let m_cap = ((25_000_000 / n).clamp(3 * k + 2 * b, 1200).min(n) / b) * b;
    let mut rng = Rng::derive(seed, 0x6EA9);
    let random_block = |rng: &mut Rng| -> Vec<f64> { (0..b * n).map(|_| rng.normal()).collect() };
    let mut v: Vec<f64> = Vec::with_capacity(m_cap * n);
    let mut first = random_block(&mut rng);
    // Four random Gaussian vectors of length > 256 are independent.
    let independent = orthonormalize_rows(&mut first, b, n, threads);
    debug_assert!(independent, "random start block is rank-deficient");
    v.extend_from_slice(&first);
    let mut t = vec![0f64; m_cap * m_cap];
    let mut w = vec![0f64; b * n];
    let mut done = 0;
    let ritz = |v: &[f64], t: &[f64], m: usize| -> (Vec<f64>, Vec<f64>, f64) {
        let tm = DMatrix::from_fn(m, m, |i, j| 0.5 * (t[i * m_cap + j] + t[j * m_cap + i]));
        let eig = SymmetricEigen::new(tm);
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by(|&i, &j| {
            eig.eigenvalues[j]
                .total_cmp(&eig.eigenvalues[i])
                .then(i.cmp(&j))
        });
        let kk = k.min(m);
        let s: Vec<f64> = (0..kk * m)
            .map(|p| eig.eigenvectors[(p % m, order[p / m])])
            .collect();
        let mut x = vec![0f64; kk * n];
        matmul(
            kk,
            n,
            m,
            &s,
            false,
            &v[..m * n],
            false,
            &mut x,
            false,
            threads,
        );
        let theta: Vec<f64> = order[..kk].iter().map(|&c| eig.eigenvalues[c]).collect();
        let mut ax = vec![0f64; kk * n];
        adj.mul_rows(&x, kk, &mut ax);
        let res = (0..kk)
            .map(|r| {
                (0..n)
                    .map(|i| (ax[r * n + i] - theta[r] * x[r * n + i]).powi(2))
                    .sum::<f64>()
                    .sqrt()
            })
            .fold(0.0, f64::max);
        (x, theta, res)
    };
    loop {
        // Multiply the newest block; its overlaps with the basis are T's new columns.
        adj.mul_rows(&v[done * n..(done + b) * n], b, &mut w);
        let m = v.len() / n;
        let c = project_out(&v, m, &mut w, b, n, threads);
        for i in 0..m {
            for r in 0..b {
                t[i * m_cap + done + r] = c[i * b + r];
                t[(done + r) * m_cap + i] = c[i * b + r];
            }
        }
        project_out(&v, m, &mut w, b, n, threads);
        done += b;
        let full = done + b > m_cap;
        if full || done % (4 * b) == 0 {
            let (x, theta, res) = ritz(&v, &t, done);
            if full || res < tol {
                return (x, theta);
            }
        }
        if !orthonormalize_rows(&mut w, b, n, threads) {
            // The Krylov space is (numerically) invariant: restart from a
            // random block orthogonal to it, or stop when none is left.
            w = random_block(&mut rng);
            project_out(&v, m, &mut w, b, n, threads);
            project_out(&v, m, &mut w, b, n, threads);
            if !orthonormalize_rows(&mut w, b, n, threads) {
                let (x, theta, _) = ritz(&v, &t, done);
                return (x, theta);
            }
        }
        v.extend_from_slice(&w);
    }
}

/// The cosine k-NN graph of the texts. Identical rows (repeated texts)
/// share one node: a clique of duplicates would otherwise be a component of
/// its own and take an eigenvector.
pub struct Graph {
    /// Node of each text.
    node: Vec<usize>,
    /// Each node's neighbours (other nodes) and similarities, best first.
    neighbors: Vec<Vec<(u32, f32)>>,
}

impl Graph {
    /// The graph of `z (N, d)` (unit rows) with `nn` neighbours per node.
    pub fn build(z: &[f32], d: usize, nn: usize, threads: Threads) -> Graph {
        let mut first: HashMap<Vec<u32>, usize> = HashMap::new();
        let mut node = Vec::with_capacity(z.len().checked_div(d).unwrap_or(0));
        let mut distinct: Vec<f32> = Vec::new();
        for row in z.chunks(d.max(1)) {
            let key: Vec<u32> = row.iter().map(|x| x.to_bits()).collect();
            let next = first.len();
            let id = *first.entry(key).or_insert_with(|| {
                distinct.extend_from_slice(row);
                next
            });
            node.push(id);
        }
        Graph {
            node,
            neighbors: knn(&distinct, d, nn, threads),
        }
    }

    /// Spectral coordinates `(N, k)`: the top `k` eigenvectors of the
    /// normalized adjacency, each text's row scaled to unit length (rows of
    /// texts without neighbours stay zero).
    pub fn spectral(&self, k: usize, tol: f64, seed: u64, threads: Threads) -> Vec<f32> {
        let (n, m) = (self.node.len(), self.neighbors.len());
        if n == 0 || k == 0 {
            return Vec::new();
        }
        let adj = Sym::normalized_adjacency(&self.neighbors);
        let (x, _) = top_eigenvectors(&adj, k, tol, seed, threads);
        let kk = x.len() / m;
        let mut out = vec![0f32; n * k];
        for (i, &g) in self.node.iter().enumerate() {
            let norm = (0..kk).map(|r| x[r * m + g].powi(2)).sum::<f64>().sqrt();
            if norm > 1e-12 {
                for r in 0..kk {
                    out[i * k + r] = (x[r * m + g] / norm) as f32;
                }
            }
        }
        out
    }

    /// How well a partition follows the graph: the share of (node,
    /// neighbour) pairs whose texts share a label, corrected for chance —
    /// `(p - p0) / (1 - p0)` with `p0 = Σ (n_c / N)²`, the share that
    /// random labels of the same sizes would reach. 1: every neighbourhood
    /// lies inside one cluster; 0: no better than chance. A node of repeated
    /// texts counts with the label of its first text.
    pub fn agreement(&self, labels: &[usize], k: usize) -> f64 {
        let n = labels.len();
        if n == 0 || k < 2 {
            return 1.0;
        }
        let mut label_of = vec![usize::MAX; self.neighbors.len()];
        for (&g, &l) in self.node.iter().zip(labels) {
            if label_of[g] == usize::MAX {
                label_of[g] = l;
            }
        }
        let (mut same, mut pairs) = (0u64, 0u64);
        for (g, nbrs) in self.neighbors.iter().enumerate() {
            for &(h, _) in nbrs {
                pairs += 1;
                same += (label_of[g] == label_of[h as usize]) as u64;
            }
        }
        let mut sizes = vec![0f64; k];
        labels.iter().for_each(|&l| sizes[l] += 1.0);
        let p0: f64 = sizes.iter().map(|s| (s / n as f64).powi(2)).sum();
        if pairs == 0 || p0 >= 1.0 {
            return 1.0;
        }
        (same as f64 / pairs as f64 - p0) / (1.0 - p0)
    }
}

/// Spectral coordinates `(N, k)` of the k-NN graph of `z (N, D)` (unit rows)
/// with `cfg.neighbors` neighbours: [`Graph::spectral`].
pub fn spectral_embedding(
    z: &[f32],
    d: usize,
    k: usize,
    cfg: &GraphConfig,
    seed: u64,
    threads: Threads,
) -> Vec<f32> {
    Graph::build(z, d, cfg.neighbors, threads).spectral(k, cfg.tol, seed, threads)
}

/// Normalized entropy of the cluster sizes of `labels` (1: equal sizes, 0: one cluster).
pub fn balance(labels: &[usize], k: usize) -> f64 {
    if k < 2 || labels.is_empty() {
        return 1.0;
    }
    let mut sizes = vec![0u64; k];
    labels.iter().for_each(|&l| sizes[l] += 1);
    crate::eval::metrics::entropy(&sizes, labels.len() as f64) / (k as f64).ln()
}

/// The shipped [`GraphConfig::max_balance_drop`]: the graph partition is
/// kept unless its size balance falls this far below plain k-means'.
/// Spectral cuts are known to split off small, weakly linked groups
/// (docs/defaults.md#balance-drop).
pub const MAX_BALANCE_DROP: f64 = 0.25;

/// Share of texts on which `a` and `b` agree after matching their clusters
/// one-to-one (Kuhn-Munkres), as ACC matches clusters to classes.
/// Both are dense cluster ids (k-means' labels), so the contingency table
/// needs no re-encoding.
pub fn matched_agreement(a: &[usize], b: &[usize]) -> f64 {
    use crate::eval::metrics::{acc, contingency};
    acc(&contingency(a, b))
}

/// What the graph step did (saved in the model).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphLog {
    /// Size balance of plain k-means' clusters.
    pub kmeans_balance: f64,
    /// Size balance of the clusters with the graph's coordinates.
    pub graph_balance: f64,
    /// Whether the graph partition was kept.
    pub used: bool,
    /// Chance-corrected agreement of plain k-means' clusters with the graph
    /// (absent in models saved before it existed).
    #[serde(default)]
    pub agreement: Option<f64>,
    /// The weight the spectral coordinates got.
    #[serde(default)]
    pub weight: Option<f32>,
    /// Share of texts on which the graph partition (at `weight`) agrees with
    /// plain k-means after matching ([`matched_agreement`]; absent in models
    /// saved before it existed).
    #[serde(default)]
    pub kmeans_match: Option<f64>,
    /// When the trusted weight's partition was dropped (by either guard) and
    /// the base weight retried: the dropped partition's matched agreement
    /// with k-means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped_trusted_match: Option<f64>,
    /// Seconds spent (not saved: a model's bytes depend only on data, seed and threads).
    #[serde(skip, default)]
    pub seconds: f64,
}

/// Rows `[z_i, weight · u_i]` of `z (N, D)` and `u (N, K)`.
pub fn fuse(z: &[f32], d: usize, u: &[f32], k: usize, weight: f32) -> Vec<f32> {
    let n = z.len().checked_div(d).unwrap_or(0);
    let mut out = Vec::with_capacity(n * (d + k));
    for i in 0..n {
        out.extend_from_slice(&z[i * d..(i + 1) * d]);
        out.extend(u[i * k..(i + 1) * k].iter().map(|x| x * weight));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unit rows around `c` centres on a circle, with noise.
    fn rings(n_per: usize, c: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
        let mut rng = Rng::new(seed);
        let d = 8;
        let mut z = Vec::new();
        let mut y = Vec::new();
        for cls in 0..c {
            for _ in 0..n_per {
                let mut row: Vec<f32> = (0..d).map(|_| 0.15 * rng.normal() as f32).collect();
                row[cls % d] += 1.0;
                let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
                row.iter_mut().for_each(|x| *x /= norm);
                z.extend(row);
                y.push(cls);
            }
        }
        (z, y)
    }

    #[test]
    fn knn_matches_brute_force_order() {
        let (z, _) = rings(20, 3, 1);
        let d = 8;
        let n = z.len() / d;
        let nbrs = knn(&z, d, 5, Threads::One);
        for i in 0..n {
            let mut all: Vec<(u32, f32)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| {
                    let s: f32 = (0..d).map(|t| z[i * d + t] * z[j * d + t]).sum();
                    (j as u32, s)
                })
                .collect();
            all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let want: Vec<u32> = all[..5].iter().map(|p| p.0).collect();
            let got: Vec<u32> = nbrs[i].iter().map(|p| p.0).collect();
            assert_eq!(got, want, "row {i}");
        }
    }

    #[test]
    fn knn_of_tiny_inputs() {
        assert!(knn(&[], 4, 3, Threads::One).is_empty());
        let one = knn(&[1.0, 0.0], 2, 3, Threads::One);
        assert_eq!(one, vec![Vec::new()]);
        let two = knn(&[1.0, 0.0, 0.0, 1.0], 2, 3, Threads::One);
        assert_eq!(two[0], vec![(1, 0.0)]);
    }

    #[test]
    fn eigenvectors_match_a_dense_decomposition() {
        let (z, _) = rings(15, 3, 2);
        let d = 8;
        let n = z.len() / d;
        let cfg = GraphConfig {
            neighbors: 6,
            weight: 1.0,
            tol: 1e-9,
            ..GraphConfig::off()
        };
        let adj = Sym::normalized_adjacency(&knn(&z, d, cfg.neighbors, Threads::One));
        let mut dense = DMatrix::<f64>::zeros(n, n);
        for i in 0..n {
            for p in adj.starts[i]..adj.starts[i + 1] {
                dense[(i, adj.cols[p] as usize)] = adj.vals[p];
            }
        }
        assert!(dense == dense.transpose(), "the adjacency is symmetric");
        let eig = SymmetricEigen::new(dense);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&i, &j| eig.eigenvalues[j].total_cmp(&eig.eigenvalues[i]));
        let k = 3;
        let u = spectral_embedding(&z, d, k, &cfg, 7, Threads::One);
        // Same subspace: the projection of each exact top eigenvector onto
        // the span of u's (unnormalized) columns is complete. Compare the
        // row-normalized exact embedding instead, up to rotation: the
        // Gram matrices of the rows agree.
        let mut exact = vec![0f32; n * k];
        for i in 0..n {
            let row: Vec<f64> = order[..k]
                .iter()
                .map(|&c| eig.eigenvectors[(i, c)])
                .collect();
            let norm = row.iter().map(|x| x * x).sum::<f64>().sqrt();
            for c in 0..k {
                exact[i * k + c] = (row[c] / norm) as f32;
            }
        }
        for i in 0..n {
            for j in 0..n {
                let a: f32 = (0..k).map(|c| u[i * k + c] * u[j * k + c]).sum();
                let b: f32 = (0..k).map(|c| exact[i * k + c] * exact[j * k + c]).sum();
                assert!((a - b).abs() < 1e-3, "({i}, {j}): {a} vs {b}");
            }
        }
    }

    #[test]
    fn spectral_rows_separate_the_groups_and_are_deterministic() {
        let (z, y) = rings(30, 4, 3);
        let d = 8;
        let cfg = GraphConfig::shipped();
        let u = spectral_embedding(&z, d, 4, &cfg, 1, Threads::One);
        assert_eq!(u, spectral_embedding(&z, d, 4, &cfg, 1, Threads::One));
        let two = spectral_embedding(&z, d, 4, &cfg, 1, Threads::Many(2));
        let n = y.len();
        // The top eigenvalues are (nearly) equal here, so compare the rows'
        // Gram matrices, which do not depend on the basis chosen in that space.
        let gram = |u: &[f32], i: usize, j: usize| -> f32 {
            (0..4).map(|c| u[i * 4 + c] * u[j * 4 + c]).sum()
        };
        for i in 0..n {
            for j in 0..n {
                assert!(
                    (gram(&u, i, j) - gram(&two, i, j)).abs() < 1e-3,
                    "({i}, {j}): 1 and 2 threads agree"
                );
            }
        }
        // Same group: nearly the same unit row; other groups: nearly orthogonal.
        for i in 0..n {
            for j in 0..n {
                let dot = gram(&u, i, j);
                if y[i] == y[j] {
                    assert!(dot > 0.9, "({i}, {j}) same group: {dot}");
                } else {
                    assert!(dot < 0.5, "({i}, {j}) other groups: {dot}");
                }
            }
        }
    }

    /// `n` random unit rows in `d` dimensions.
    fn scatter(n: usize, d: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        let mut z = Vec::new();
        for _ in 0..n {
            let row: Vec<f32> = (0..d).map(|_| rng.normal() as f32).collect();
            let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
            z.extend(row.iter().map(|x| x / norm));
        }
        z
    }

    #[test]
    fn lanczos_matches_a_dense_decomposition_beyond_the_dense_limit() {
        let d = 6;
        let z = scatter(400, d, 5);
        let adj = Sym::normalized_adjacency(&knn(&z, d, 8, Threads::One));
        let n = 400;
        let k = 5;
        let eig = SymmetricEigen::new(adj.dense());
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&i, &j| eig.eigenvalues[j].total_cmp(&eig.eigenvalues[i]));
        let (x, theta) = top_eigenvectors(&adj, k, 1e-10, 3, Threads::One);
        assert_eq!((x.len(), theta.len()), (k * n, k));
        for r in 0..k {
            let want = eig.eigenvalues[order[r]];
            assert!(
                (theta[r] - want).abs() < 1e-9,
                "eigenvalue {r}: {} vs {want}",
                theta[r]
            );
            // Same vector up to sign (the eigenvalues here are distinct).
            let dot: f64 = (0..n)
                .map(|i| x[r * n + i] * eig.eigenvectors[(i, order[r])])
                .sum();
            assert!(
                (dot.abs() - 1.0).abs() < 1e-6,
                "eigenvector {r}: |dot| = {}",
                dot.abs()
            );
        }
    }

    #[test]
    fn repeated_texts_share_coordinates_and_do_not_form_their_own_component() {
        let d = 6;
        let mut z = scatter(300, d, 9);
        // 40 copies of one text: as separate nodes they would be a clique
        // whose 15 nearest neighbours are all copies.
        let dup: Vec<f32> = z[..d].to_vec();
        for _ in 0..40 {
            z.extend_from_slice(&dup);
        }
        let u = spectral_embedding(&z, d, 3, &GraphConfig::shipped(), 1, Threads::One);
        let n = z.len() / d;
        for i in 300..n {
            assert_eq!(&u[i * 3..i * 3 + 3], &u[..3], "copy {i}");
        }
        assert!(u.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn lanczos_path_is_bit_identical_per_thread_count() {
        let d = 6;
        let z = scatter(600, d, 11);
        let cfg = GraphConfig::shipped();
        let two = || spectral_embedding(&z, d, 4, &cfg, 2, Threads::Many(2));
        let a = two();
        assert_eq!(a, two(), "2 threads, twice: same bits");
        let one = spectral_embedding(&z, d, 4, &cfg, 2, Threads::One);
        assert_eq!(one, spectral_embedding(&z, d, 4, &cfg, 2, Threads::One));
        // Across thread counts the rounding differs; the rows' Gram matrices agree.
        for i in (0..600).step_by(7) {
            for j in (0..600).step_by(5) {
                let g = |u: &[f32]| -> f32 { (0..4).map(|c| u[i * 4 + c] * u[j * 4 + c]).sum() };
                assert!(
                    (g(&a) - g(&one)).abs() < 1e-3,
                    "({i}, {j}): {} vs {}",
                    g(&a),
                    g(&one)
                );
            }
        }
    }

    #[test]
    fn agreement_is_one_for_the_graph_s_own_clusters_and_zero_for_chance() {
        let (z, y) = rings(40, 4, 9);
        let g = Graph::build(&z, 8, 10, Threads::One);
        assert!((g.agreement(&y, 4) - 1.0).abs() < 1e-12);
        // Labels that ignore the rings: each ring split evenly over all
        // four labels, so a neighbour shares a label about as often as chance.
        let mixed: Vec<usize> = (0..y.len()).map(|i| i % 4).collect();
        assert!(
            g.agreement(&mixed, 4).abs() < 0.1,
            "{}",
            g.agreement(&mixed, 4)
        );
        // By hand: 4 unit vectors on an arc, 1 neighbour each. Similarities
        // 0-1 0.8, 1-2 0.6, 2-3 0.8, so the pairs are 0->1, 1->0, 2->3, 3->2.
        let arc = [1.0f32, 0.0, 0.8, 0.6, 0.0, 1.0, -0.6, 0.8];
        let g = Graph::build(&arc, 2, 1, Threads::One);
        assert!((g.agreement(&[0, 0, 1, 1], 2) - 1.0).abs() < 1e-12);
        // Labels [0, 0, 1, 0]: 2 of 4 pairs agree, p = 1/2; sizes 3 and 1,
        // p0 = 9/16 + 1/16 = 5/8; (1/2 - 5/8) / (3/8) = -1/3.
        let a = g.agreement(&[0, 0, 1, 0], 2);
        assert!((a + 1.0 / 3.0).abs() < 1e-12, "{a}");
    }

    #[test]
    fn trust_picks_the_weight() {
        let cfg = GraphConfig::shipped();
        assert_eq!(cfg.weight_for(0.5), 0.5);
        assert_eq!(cfg.weight_for(0.76), 0.75);
        let plain = GraphConfig {
            trust: None,
            ..GraphConfig::shipped()
        };
        assert_eq!(plain.weight_for(0.99), 0.5);
    }

    #[test]
    fn matched_agreement_ignores_cluster_ids() {
        // The same partition under other ids agrees fully.
        assert_eq!(matched_agreement(&[0, 0, 1, 1, 2], &[2, 2, 0, 0, 1]), 1.0);
        // Two clusters merged: one of them matches the merged one, the
        // other nothing, so 4 of 6 texts are covered.
        let a = matched_agreement(&[0, 0, 1, 1, 2, 2], &[0, 0, 1, 1, 1, 1]);
        assert!((a - 4.0 / 6.0).abs() < 1e-12, "{a}");
    }

    #[test]
    fn balance_is_normalized_entropy() {
        assert!((balance(&[0, 1, 0, 1], 2) - 1.0).abs() < 1e-12);
        assert_eq!(balance(&[0, 0, 0], 2), 0.0);
        let b = balance(&[0, 0, 0, 1], 2);
        let want = -(0.75f64 * 0.75f64.ln() + 0.25 * 0.25f64.ln()) / 2f64.ln();
        assert!((b - want).abs() < 1e-12);
        assert_eq!(balance(&[0, 0], 1), 1.0);
    }

    #[test]
    fn fuse_appends_scaled_rows() {
        let z = [1.0, 0.0, 0.0, 1.0];
        let u = [0.6, 0.8, 1.0, 0.0];
        assert_eq!(
            fuse(&z, 2, &u, 2, 0.5),
            vec![1.0, 0.0, 0.3, 0.4, 0.0, 1.0, 0.5, 0.0]
        );
    }
}
