//! The partition's classifier: multinomial logistic regression over the
//! representation, trained on the clustering's own labels.
//!
//! The graph step finds clusters in `[z, spectral coordinates]`, but a new
//! text has no spectral coordinates, so the model needs a rule over `z`
//! alone. The mean of each cluster with nearest-centroid assignment is one
//! such rule; it redraws every boundary as a Voronoi cell and moves texts
//! off their graph cluster. A softmax classifier learns the boundaries the
//! partition actually drew (docs/defaults.md#cluster-classifier).
//! The L2 penalty (`c`, scikit-learn's `C`) keeps it smooth enough to
//! overrule the partition's stray labels.
//!
//! The fit is full-batch L-BFGS in f64 on
//! `mean cross-entropy + |W|² / (2 c N)` (bias unpenalized, the objective of
//! scikit-learn's `LogisticRegression`), stopped when the largest gradient
//! entry is below `tol`; it takes 30-50 iterations, about a second for
//! 20,000 texts. Same input and thread count give the same bits.

use serde::{Deserialize, Serialize};

use rayon::prelude::*;

use crate::features::Csr;
use crate::nn::gemm::{matmul, Threads};
use crate::nn::linear::Linear;
use crate::rows::{argmax_rows, dot, softmax_rows};

/// Settings of the cluster classifier. Unknown fields are refused, as in
/// the model config that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadConfig {
    /// Inverse L2 strength (scikit-learn's `C`); 0: no classifier, texts go
    /// to the nearest cluster mean (models saved before it existed).
    pub c: f64,
    /// Stop when every gradient entry is below this.
    pub tol: f64,
    /// At most this many L-BFGS iterations.
    pub max_iter: usize,
    /// Also train a second classifier over the texts' TF-IDF vectors (same
    /// `c`, same labels) and multiply the two (see [`fit_lexical`]); off in
    /// models saved before it existed.
    #[serde(default)]
    pub lexical: bool,
    /// With the lexical classifier: co-training rounds after the first fit;
    /// each refits both classifiers on the labels their product gave (see
    /// [`fit_pair`]).
    #[serde(default)]
    pub rounds: usize,
    /// Class weights `(N / (K · N_c))^balance` from the labels being fitted
    /// (scikit-learn's `class_weight="balanced"` at 1): a cluster twice the
    /// mean size counts each of its texts half, so its boundary no longer
    /// swallows its neighbours' uncertain texts. 0: unweighted (models saved
    /// before it existed). See [`fit_pair`] for the measurements.
    #[serde(default)]
    pub balance: f64,
    /// With co-training: the share of each cluster's texts left out of
    /// each refit (drawn anew per round); the refit classifiers then
    /// relabel every text, so a text's new label comes, as often as not,
    /// from classifiers that never saw its old one (see [`fit_pair`]).
    /// Training applies it only where the graph step did not trust the
    /// k-NN graph. 0: every round fits all texts (models saved before it
    /// existed).
    #[serde(default)]
    pub holdout: f64,
    /// With a hold-out: the refit rounds, in place of `rounds` (0: no
    /// hold-out).
    #[serde(default)]
    pub holdout_rounds: usize,
}

impl HeadConfig {
    /// No classifier: nearest cluster mean.
    pub fn off() -> HeadConfig {
        HeadConfig {
            c: 0.0,
            tol: 1e-4,
            max_iter: 200,
            lexical: false,
            rounds: 0,
            balance: 0.0,
            holdout: 0.0,
            holdout_rounds: 0,
        }
    }

    /// The shipped settings: `c = 1`, the lexical classifier, class weights
    /// and 4 co-training rounds, and, where the graph is not trusted, 8 refit
    /// rounds that each leave out half of every cluster (see [`fit_pair`] and
    /// docs/defaults.md#cluster-classifier).
    pub fn shipped() -> HeadConfig {
        HeadConfig {
            c: 1.0,
            lexical: true,
            rounds: 4,
            balance: 1.0,
            holdout: 0.5,
            holdout_rounds: 8,
            ..HeadConfig::off()
        }
    }

    /// Whether a classifier is trained.
    pub fn enabled(&self) -> bool {
        self.c > 0.0
    }
}

impl Default for HeadConfig {
    fn default() -> Self {
        HeadConfig::off()
    }
}

/// What fitting the classifier did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeadLog {
    /// L-BFGS iterations.
    pub iterations: usize,
    /// Final objective.
    pub loss: f64,
    /// Largest gradient entry at the end.
    pub grad_max: f64,
    /// Share of texts whose predicted cluster is their partition label.
    pub agreement: f64,
    /// With co-training ([`fit_pair`]): the share of texts whose label the
    /// two classifiers' product changed, per round (the first against the
    /// partition).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<f64>,
    /// With held-out co-training: the share of each cluster left out of
    /// each refit ([`HeadConfig::holdout`]); `moved` then lists the first
    /// fit, each refit and the closing fit on all texts. Absent when every
    /// round fit all texts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout: Option<f64>,
}

impl HeadLog {
    /// The log of a fit that predicts `pred` for training labels `labels`.
    fn of_fit(
        pred: &[usize],
        labels: &[usize],
        iterations: usize,
        loss: f64,
        grad_max: f64,
    ) -> HeadLog {
        let same = pred.iter().zip(labels).filter(|(a, b)| a == b).count();
        HeadLog {
            iterations,
            loss,
            grad_max,
            agreement: same as f64 / labels.len().max(1) as f64,
            moved: Vec::new(),
            holdout: None,
        }
    }
}

/// The rows a classifier reads: dense `(N, D)` or sparse (TF-IDF).
#[derive(Clone, Copy)]
enum Rows<'a> {
    Dense(&'a [f64]),
    Sparse(&'a Csr),
}

/// The objective and its gradient at `theta = [W ; b (K)]`, `W (K, D)` for
/// dense rows and `(D, K)` for sparse ones (a stored entry then touches one
/// contiguous row of K weights, not K rows).
struct Problem<'a> {
    x: Rows<'a>,
    n: usize,
    d: usize,
    k: usize,
    labels: &'a [usize],
    /// Weight of each class's texts in the loss (see [`class_weights`]).
    class_weight: Vec<f64>,
    l2: f64,
    threads: Threads,
}

/// `(N / (K · N_c))^gamma` for each class `c` of `labels` (1 for a class
/// without texts, which no term of the loss reads; exactly 1 for every
/// class at `gamma = 0`, so the unweighted objective keeps its bits).
fn class_weights(labels: &[usize], k: usize, gamma: f64) -> Vec<f64> {
    let mut sizes = vec![0usize; k];
    labels.iter().for_each(|&l| sizes[l] += 1);
    let mean = labels.len() as f64 / k as f64;
    sizes
        .iter()
        .map(|&s| {
            if s == 0 {
                1.0
            } else {
                (mean / s as f64).powf(gamma)
            }
        })
        .collect()
}

impl Problem<'_> {
    /// Softmax probabilities `(N, K)` at `theta`.
    fn probs(&self, theta: &[f64]) -> Vec<f64> {
        let (n, d, k) = (self.n, self.d, self.k);
        let (w, b) = theta.split_at(k * d);
        let mut p = Vec::with_capacity(n * k);
        for _ in 0..n {
            p.extend_from_slice(b);
        }
        match self.x {
            Rows::Dense(x) => matmul(n, k, d, x, false, w, true, &mut p, true, self.threads),
            Rows::Sparse(x) => p.par_chunks_mut(k).enumerate().for_each(|(i, row)| {
                let (cols, vals) = x.row(i);
                for (&j, &v) in cols.iter().zip(vals) {
                    let wj = &w[j as usize * k..(j as usize + 1) * k];
                    row.iter_mut()
                        .zip(wj)
                        .for_each(|(o, &w)| *o += v as f64 * w);
                }
            }),
        }
        softmax_rows(&mut p, k);
        p
    }

    /// Objective and gradient.
    fn eval(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let (n, d, k) = (self.n, self.d, self.k);
        let mut g = self.probs(theta);
        let mut loss = 0.0;
        let inv_n = 1.0 / n as f64;
        for (row, &y) in g.chunks_mut(k).zip(self.labels) {
            let s = self.class_weight[y];
            loss -= s * row[y].max(1e-300).ln();
            row[y] -= 1.0;
            row.iter_mut().for_each(|v| *v *= s * inv_n);
        }
        loss *= inv_n;
        let (w, _) = theta.split_at(k * d);
        let (gw, gb) = grad.split_at_mut(k * d);
        gw.iter_mut().zip(w).for_each(|(g, &w)| *g = self.l2 * w);
        match self.x {
            Rows::Dense(x) => matmul(k, d, n, &g, true, x, false, gw, true, self.threads),
            // A fixed number of row blocks, each summed in row order and
            // added in block order: the same bits for any thread count.
            Rows::Sparse(x) => {
                const BLOCKS: usize = 8;
                let per = n.div_ceil(BLOCKS).max(1);
                let partial: Vec<Vec<f64>> = (0..BLOCKS)
                    .into_par_iter()
                    .map(|b| {
                        let mut acc = vec![0.0; k * d];
                        for i in (b * per).min(n)..((b + 1) * per).min(n) {
                            let (cols, vals) = x.row(i);
                            let gr = &g[i * k..(i + 1) * k];
                            for (&j, &v) in cols.iter().zip(vals) {
                                let aj = &mut acc[j as usize * k..(j as usize + 1) * k];
                                aj.iter_mut().zip(gr).for_each(|(a, &g)| *a += g * v as f64);
                            }
                        }
                        acc
                    })
                    .collect();
                for acc in partial {
                    gw.iter_mut().zip(&acc).for_each(|(g, a)| *g += a);
                }
            }
        }
        gb.fill(0.0);
        for row in g.chunks(k) {
            gb.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
        }
        loss + 0.5 * self.l2 * w.iter().map(|v| v * v).sum::<f64>()
    }
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Train the classifier of `labels` (each `< k`) over `z (N, d)`; the layer
/// is named `clusters.head.` (`weight (K, d)`, `bias (K)`). Also returns its
/// prediction for each training row (cluster and probability, as [`predict`]).
pub fn fit(
    z: &[f32],
    d: usize,
    labels: &[usize],
    k: usize,
    cfg: &HeadConfig,
    threads: Threads,
) -> (Linear<f32>, HeadLog, (Vec<usize>, Vec<f32>)) {
    fit_from(z, d, labels, k, cfg, None, threads)
}

/// [`fit`], with L-BFGS started at `init`'s weights instead of zero.
fn fit_from(
    z: &[f32],
    d: usize,
    labels: &[usize],
    k: usize,
    cfg: &HeadConfig,
    init: Option<&Linear<f32>>,
    threads: Threads,
) -> (Linear<f32>, HeadLog, (Vec<usize>, Vec<f32>)) {
    let n = labels.len();
    assert_eq!(z.len(), n * d, "z is (N, d)");
    assert!(
        cfg.c > 0.0 && n > 0 && k > 0,
        "a classifier needs c > 0 and texts"
    );
    let x: Vec<f64> = z.iter().map(|&v| v as f64).collect();
    let prob = Problem {
        x: Rows::Dense(&x),
        n,
        d,
        k,
        labels,
        class_weight: class_weights(labels, k, cfg.balance),
        l2: 1.0 / (cfg.c * n as f64),
        threads,
    };
    let start = init.map(|h| {
        let w = h.weight.value.iter().chain(&h.bias.value);
        w.map(|&v| v as f64).collect::<Vec<f64>>()
    });
    let (theta, iterations, loss, grad_max) = minimize(&prob, cfg, start);
    let mut head = Linear::<f32>::new("clusters.head.", d, k, &mut crate::rng::Rng::new(0));
    head.weight.value = theta[..k * d].iter().map(|&v| v as f32).collect();
    head.bias.value = theta[k * d..].iter().map(|&v| v as f32).collect();
    let (pred, scores) = predict(&head, z, d, threads);
    let log = HeadLog::of_fit(&pred, labels, iterations, loss, grad_max);
    (head, log, (pred, scores))
}

/// Minimize `prob`'s objective by L-BFGS from `start` (zero when `None`);
/// returns the parameters, the iterations, the final objective and its
/// largest gradient entry.
fn minimize(
    prob: &Problem,
    cfg: &HeadConfig,
    start: Option<Vec<f64>>,
) -> (Vec<f64>, usize, f64, f64) {
    let (d, k) = (prob.d, prob.k);
    let m = k * (d + 1);
    let mut theta = start.unwrap_or_else(|| vec![0.0; m]);
    assert_eq!(theta.len(), m, "a start of the problem's size");
    let mut grad = vec![0.0; m];
    let mut f = prob.eval(&theta, &mut grad);
    // L-BFGS with a memory of 10 and backtracking (Armijo) line search.
    const MEMORY: usize = 10;
    let mut hist: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::new();
    let mut iterations = 0;
    let mut new_theta = vec![0.0; m];
    let mut new_grad = vec![0.0; m];
    while iterations < cfg.max_iter && max_abs(&grad) > cfg.tol {
        iterations += 1;
        // Two-loop recursion: dir = -H grad.
        let mut q = grad.clone();
        let mut alpha = vec![0.0; hist.len()];
        for (i, (s, y, rho)) in hist.iter().enumerate().rev() {
            alpha[i] = rho * dot(s, &q);
            q.iter_mut().zip(y).for_each(|(q, y)| *q -= alpha[i] * y);
        }
        let gamma = match hist.last() {
            Some((s, y, _)) => dot(s, y) / dot(y, y),
            None => 1.0 / max_abs(&grad).max(1e-12),
        };
        q.iter_mut().for_each(|v| *v *= gamma);
        for (i, (s, y, rho)) in hist.iter().enumerate() {
            let beta = rho * dot(y, &q);
            q.iter_mut()
                .zip(s)
                .for_each(|(q, s)| *q += (alpha[i] - beta) * s);
        }
        let mut dir: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&grad, &dir);
        if slope >= 0.0 {
            // Not a descent direction (curvature lost): restart from steepest descent.
            hist.clear();
            let g = max_abs(&grad).max(1e-12);
            dir = grad.iter().map(|v| -v / g).collect();
            slope = dot(&grad, &dir);
        }
        let mut step = 1.0;
        let mut accepted = false;
        for _ in 0..40 {
            new_theta
                .iter_mut()
                .zip(theta.iter().zip(&dir))
                .for_each(|(t, (&x, &p))| *t = x + step * p);
            let nf = prob.eval(&new_theta, &mut new_grad);
            if nf.is_finite() && nf <= f + 1e-4 * step * slope {
                accepted = true;
                let s: Vec<f64> = new_theta.iter().zip(&theta).map(|(a, b)| a - b).collect();
                let y: Vec<f64> = new_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
                let sy = dot(&s, &y);
                if sy > 1e-12 {
                    if hist.len() == MEMORY {
                        hist.remove(0);
                    }
                    hist.push((s, y, 1.0 / sy));
                }
                std::mem::swap(&mut theta, &mut new_theta);
                std::mem::swap(&mut grad, &mut new_grad);
                f = nf;
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            break;
        }
    }
    let grad_max = max_abs(&grad);
    (theta, iterations, f, grad_max)
}

/// Most parameters (`K x terms`) the lexical classifier trains; beyond it
/// only the terms found in the most texts get weights (the others keep 0).
/// It bounds L-BFGS's memory (20 vectors of this length, 160 MB) on large
/// vocabularies; the shipped corpora (at most 17k terms) stay far below.
pub const LEXICAL_MAX_PARAMS: usize = 1 << 20;

/// The lexical classifier: the same regularized softmax regression as
/// [`fit`], over the texts' TF-IDF rows `x (N, terms)` instead of the
/// representation, trained on the same partition labels; named
/// `clusters.lexical.` (`weight (K, terms)`, `bias (K)`).
///
/// Why a second classifier: its view of a text is its words, where the
/// representation's is their meaning averaged (SIF, RNN) or reduced (LSA).
/// `predict` multiplies the two classifiers' probabilities (sums their
/// logits), so a text whose words point clearly at one cluster moves there
/// even when its representation sits on a boundary
/// (docs/defaults.md#lexical-classifier).
pub fn fit_lexical(x: &Csr, labels: &[usize], k: usize, cfg: &HeadConfig) -> (Lexical, HeadLog) {
    fit_lexical_capped(x, labels, k, cfg, LEXICAL_MAX_PARAMS, None)
}

/// [`fit_lexical`] with at most `max_params` trained weights, started at
/// `init`'s weights (or zero).
fn fit_lexical_capped(
    x: &Csr,
    labels: &[usize],
    k: usize,
    cfg: &HeadConfig,
    max_params: usize,
    init: Option<&Lexical>,
) -> (Lexical, HeadLog) {
    let n = labels.len();
    assert_eq!(x.n_rows(), n, "one TF-IDF row per label");
    assert!(
        cfg.c > 0.0 && n > 0 && k > 0,
        "a classifier needs c > 0 and texts"
    );
    let terms = x.n_cols;
    // Columns trained: all, or the `LEXICAL_MAX_PARAMS / k` found in the
    // most texts (ties: the lower column).
    let keep = (max_params / k).max(1);
    let (reduced, kept): (Option<Csr>, Vec<u32>) = if terms <= keep {
        (None, (0..terms as u32).collect())
    } else {
        let mut df = vec![0usize; terms];
        x.indices.iter().for_each(|&j| df[j as usize] += 1);
        let mut order: Vec<u32> = (0..terms as u32).collect();
        order.sort_by_key(|&j| (std::cmp::Reverse(df[j as usize]), j));
        order.truncate(keep);
        order.sort_unstable();
        let mut map = vec![u32::MAX; terms];
        order
            .iter()
            .enumerate()
            .for_each(|(new, &old)| map[old as usize] = new as u32);
        let mut r = Csr {
            indptr: vec![0],
            indices: Vec::new(),
            data: Vec::new(),
            n_cols: order.len(),
        };
        for i in 0..n {
            let (cols, vals) = x.row(i);
            for (&j, &v) in cols.iter().zip(vals) {
                if map[j as usize] != u32::MAX {
                    r.indices.push(map[j as usize]);
                    r.data.push(v);
                }
            }
            r.indptr.push(r.indices.len());
        }
        (Some(r), order)
    };
    let rows = reduced.as_ref().unwrap_or(x);
    let d = rows.n_cols;
    let prob = Problem {
        x: Rows::Sparse(rows),
        n,
        d,
        k,
        labels,
        class_weight: class_weights(labels, k, cfg.balance),
        l2: 1.0 / (cfg.c * n as f64),
        threads: Threads::One,
    };
    // theta's weights are (kept columns, K), see `Problem`: the kept rows
    // of the start's weights by term.
    let start = init.map(|h| {
        let rows = kept
            .iter()
            .flat_map(|&j| &h.by_term[j as usize * k..(j as usize + 1) * k]);
        rows.chain(&h.linear.bias.value)
            .map(|&v| v as f64)
            .collect::<Vec<f64>>()
    });
    let (theta, iterations, loss, grad_max) = minimize(&prob, cfg, start);
    let mut head = Linear::<f32>::new("clusters.lexical.", terms, k, &mut crate::rng::Rng::new(0));
    head.weight.value.fill(0.0);
    for (jj, &j) in kept.iter().enumerate() {
        for c in 0..k {
            head.weight.value[c * terms + j as usize] = theta[jj * k + c] as f32;
        }
    }
    head.bias.value = theta[k * d..].iter().map(|&v| v as f32).collect();
    let lex = Lexical::new(head);
    let (pred, _) = argmax_rows(&lex.logits(x), k);
    let log = HeadLog::of_fit(&pred, labels, iterations, loss, grad_max);
    (lex, log)
}

/// The cluster classifier over `z (N, d)` and the lexical classifier over
/// `x` (the same texts' lexical TF-IDF rows), co-trained: both fit the
/// partition's `labels`, their product relabels the texts, and for
/// `cfg.rounds` more rounds both refit the product's labels. Each view
/// corrects the other where it is sure (a keyword the representation
/// blurred, a paraphrase without the keyword); the labels settle within a
/// few rounds (share moved per round, stackoverflow: 6%, 2%, 1%). Returns
/// both classifiers, their logs (the lexical one with the shares moved) and
/// the final labels and probabilities, as [`predict_with`] gives them.
///
/// Class weights ([`HeadConfig::balance`], `N / (K · N_c)` per text) let a
/// small cluster take back the texts a big catch-all neighbour holds, as
/// an unweighted loss lets the big cluster's texts dominate near the
/// boundary. Held-out refits ([`HeadConfig::holdout`], where the graph is
/// not trusted): after the first fit, each round fits on a fresh
/// stratified subset and relabels all texts, so a text's label comes from
/// classifiers that never saw its old one (the iterative classification of
/// Rakib et al. 2020); a closing fit on all texts gives the kept
/// classifiers. Measured: docs/defaults.md#co-training.
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
pub fn fit_pair(
    z: &[f32],
    d: usize,
    x: &Csr,
    labels: &[usize],
    k: usize,
    cfg: &HeadConfig,
    seed: u64,
    threads: Threads,
) -> (
    Linear<f32>,
    HeadLog,
    Lexical,
    HeadLog,
    (Vec<usize>, Vec<f32>),
) {
    let held_out = cfg.holdout > 0.0 && cfg.holdout_rounds > 0;
    let rounds = if held_out {
        cfg.holdout_rounds
    } else {
        cfg.rounds
    };
    let mut target = labels.to_vec();
    let mut moved = Vec::new();
    let mut last: Option<(Linear<f32>, Lexical)> = None;
    loop {
        // With a hold-out, every round after the first fits a fresh
        // stratified subset and the last round is followed by one fit on
        // all texts, the classifiers the model keeps.
        let round = moved.len();
        let closing = held_out && round == rounds + 1;
        let rows = (held_out && round > 0 && !closing)
            .then(|| holdout_rows(&target, k, cfg.holdout, seed, round as u64));
        // Later rounds start at the previous round's weights: the labels
        // moved little, so the optimum did too.
        let init = last.as_ref();
        // The rows this round fits: all, or the subset's copies.
        let subset = rows.map(|rows| {
            let zs: Vec<f32> = rows
                .iter()
                .flat_map(|&i| &z[i * d..(i + 1) * d])
                .copied()
                .collect();
            let ts: Vec<usize> = rows.iter().map(|&i| target[i]).collect();
            (zs, x.select_rows(&rows), ts)
        });
        let (fz, fx, ft) = match &subset {
            Some((zs, xs, ts)) => (&zs[..], xs, &ts[..]),
            None => (z, x, &target[..]),
        };
        let (head, hlog, _) = fit_from(fz, d, ft, k, cfg, init.map(|l| &l.0), threads);
        let (lex, mut llog) =
            fit_lexical_capped(fx, ft, k, cfg, LEXICAL_MAX_PARAMS, init.map(|l| &l.1));
        let (pred, scores) = predict_with(&head, z, d, Some((&lex, x)), threads);
        let changed = pred.iter().zip(&target).filter(|(a, b)| a != b).count();
        moved.push(changed as f64 / target.len().max(1) as f64);
        let done = if held_out {
            closing
        } else {
            moved.len() > rounds || changed == 0
        };
        if done {
            llog.moved = moved;
            llog.holdout = held_out.then_some(cfg.holdout);
            return (head, hlog, lex, llog, (pred, scores));
        }
        target = pred;
        last = Some((head, lex));
    }
}

/// The rows one held-out refit trains on, ascending: each class of
/// `labels` keeps `ceil((1 - holdout) · N_c)` of its texts (at least one),
/// drawn from the stream of (`seed`, `round`), so the draw does not depend
/// on threads.
fn holdout_rows(labels: &[usize], k: usize, holdout: f64, seed: u64, round: u64) -> Vec<usize> {
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    labels
        .iter()
        .enumerate()
        .for_each(|(i, &l)| members[l].push(i));
    let mut rng = crate::rng::Rng::derive(seed ^ 0x484F_4C44_4F55_5400, round);
    let mut rows = Vec::with_capacity(labels.len());
    for m in &mut members {
        if m.is_empty() {
            continue;
        }
        rng.shuffle(m);
        let keep = (((1.0 - holdout) * m.len() as f64).ceil() as usize).clamp(1, m.len());
        rows.extend_from_slice(&m[..keep]);
    }
    rows.sort_unstable();
    rows
}

/// The lexical classifier ready to classify: its weights kept also by term
/// `(terms, K)`, so a stored entry of a TF-IDF row reads K adjacent weights
/// instead of one in each of K rows (the server's per-request cost).
#[derive(Clone, Debug)]
pub struct Lexical {
    /// The classifier, `weight (K, terms)` as saved.
    pub linear: Linear<f32>,
    by_term: Vec<f32>,
}

impl Lexical {
    /// Wrap a fitted or loaded classifier.
    pub fn new(linear: Linear<f32>) -> Lexical {
        let (terms, k) = (linear.input_dim(), linear.output_dim());
        let w = &linear.weight.value;
        let by_term = (0..terms * k).map(|i| w[(i % k) * terms + i / k]).collect();
        Lexical { linear, by_term }
    }

    /// Logits `(N, K)` over TF-IDF rows `x`; each row's sum runs in column
    /// order, so the bits do not depend on threads (nor on how the rows are
    /// split: fewer than 64 rows run on the calling thread).
    pub fn logits(&self, x: &Csr) -> Vec<f32> {
        let (terms, k) = (self.linear.input_dim(), self.linear.output_dim());
        assert_eq!(
            x.n_cols, terms,
            "the lexical classifier reads the model's TF-IDF columns"
        );
        let mut out = vec![0f32; x.n_rows() * k];
        let row_logits = |(i, row): (usize, &mut [f32])| {
            row.copy_from_slice(&self.linear.bias.value);
            let (cols, vals) = x.row(i);
            for (&j, &v) in cols.iter().zip(vals) {
                let wj = &self.by_term[j as usize * k..(j as usize + 1) * k];
                row.iter_mut().zip(wj).for_each(|(o, &w)| *o += v * w);
            }
        };
        if x.n_rows() < 64 {
            out.chunks_mut(k.max(1)).enumerate().for_each(row_logits);
        } else {
            out.par_chunks_mut(k.max(1))
                .enumerate()
                .for_each(row_logits);
        }
        out
    }
}

/// Cluster (the most probable class) and its softmax probability, per row of `z (N, d)`.
pub fn predict(
    head: &Linear<f32>,
    z: &[f32],
    d: usize,
    threads: Threads,
) -> (Vec<usize>, Vec<f32>) {
    predict_with(head, z, d, None, threads)
}

/// As [`predict`], times the lexical classifier's probabilities over the
/// texts' TF-IDF rows when given (the logits add; see [`fit_lexical`]).
pub fn predict_with(
    head: &Linear<f32>,
    z: &[f32],
    d: usize,
    lexical: Option<(&Lexical, &Csr)>,
    threads: Threads,
) -> (Vec<usize>, Vec<f32>) {
    let mut p = logits_with(head, z, d, lexical, threads);
    softmax_rows(&mut p, head.output_dim());
    argmax_rows(&p, head.output_dim())
}

/// The summed logits `(N, K)` of the cluster classifier over `z (N, d)`
/// and, when given, the lexical classifier over the same texts' rows: the
/// scores [`predict_with`] turns into probabilities.
pub fn logits_with(
    head: &Linear<f32>,
    z: &[f32],
    d: usize,
    lexical: Option<(&Lexical, &Csr)>,
    threads: Threads,
) -> Vec<f32> {
    assert_eq!(
        head.input_dim(),
        d,
        "the classifier's input width is the representation's"
    );
    let mut p = Vec::new();
    head.forward(z, z.len() / d.max(1), &mut p, threads);
    if let Some((lex, x)) = lexical {
        assert_eq!(
            lex.linear.output_dim(),
            head.output_dim(),
            "both classifiers have K classes"
        );
        let l = lex.logits(x);
        assert_eq!(l.len(), p.len(), "one TF-IDF row per representation");
        p.iter_mut().zip(&l).for_each(|(a, b)| *a += b);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Three Gaussian blobs in 5 dimensions, `per` points each.
    fn blobs(per: usize, spread: f32, seed: u64) -> (Vec<f32>, Vec<usize>) {
        let mut rng = Rng::new(seed);
        let (mut z, mut y) = (Vec::new(), Vec::new());
        for c in 0..3 {
            for _ in 0..per {
                for j in 0..5 {
                    let centre = if j == c { 2.0 } else { 0.0 };
                    z.push(centre + spread * rng.normal() as f32);
                }
                y.push(c);
            }
        }
        (z, y)
    }

    #[test]
    fn learns_separable_labels_and_converges() {
        let (z, y) = blobs(60, 0.3, 1);
        let (head, log, _) = fit(&z, 5, &y, 3, &HeadConfig::shipped(), Threads::One);
        assert_eq!(log.agreement, 1.0, "{log:?}");
        assert!(log.grad_max <= 1e-4 && log.iterations < 200, "{log:?}");
        let (pred, p) = predict(&head, &z, 5, Threads::One);
        assert_eq!(pred, y);
        assert!(p.iter().all(|&p| p > 1.0 / 3.0 && p <= 1.0));
    }

    #[test]
    fn matches_the_stationary_point_of_the_objective() {
        // At the optimum the gradient vanishes: dW = (P - Y)ᵀ X / N + W / (c N) = 0,
        // so each class's mean probability equals its label share (bias rows).
        let (z, y) = blobs(40, 1.0, 2);
        let cfg = HeadConfig {
            tol: 1e-9,
            max_iter: 1000,
            ..HeadConfig::shipped()
        };
        let (head, log, _) = fit(&z, 5, &y, 3, &cfg, Threads::One);
        assert!(log.grad_max <= 1e-9, "{log:?}");
        let mut logits = Vec::new();
        head.forward(&z, y.len(), &mut logits, Threads::One);
        let mut mean_p = [0f64; 3];
        for row in logits.chunks(3) {
            let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let e: Vec<f64> = row.iter().map(|v| ((v - m) as f64).exp()).collect();
            let s: f64 = e.iter().sum();
            e.iter().zip(&mut mean_p).for_each(|(e, p)| *p += e / s);
        }
        for p in mean_p {
            assert!((p / y.len() as f64 - 1.0 / 3.0).abs() < 1e-5, "{mean_p:?}");
        }
    }

    #[test]
    fn agrees_with_scikit_learn() {
        // scikit-learn 1.x on this fixed case:
        //   z = [[sin(1.3 i + 0.2 j) + (0.8 if j == i % 3 else 0) for j in range(3)]
        //        for i in range(30)]; y = [i % 3 for i in range(30)]
        //   m = LogisticRegression(C=1.0, tol=1e-12, max_iter=100000).fit(z, y)
        //   m.coef_, m.intercept_, m.predict_proba(z)[0]
        let n = 30;
        let mut z = Vec::new();
        for i in 0..n {
            for j in 0..3 {
                let bump = if j == i % 3 { 0.8 } else { 0.0 };
                z.push(((1.3 * i as f64 + 0.2 * j as f64).sin() + bump) as f32);
            }
        }
        let y: Vec<usize> = (0..n).map(|i| i % 3).collect();
        let cfg = HeadConfig {
            tol: 1e-9,
            max_iter: 1000,
            ..HeadConfig::shipped()
        };
        let (head, _, _) = fit(&z, 3, &y, 3, &cfg, Threads::One);
        let coef = [
            [1.60201297, -0.8629205, -0.79123163],
            [-0.87414248, 1.69714428, -0.85596995],
            [-0.72787049, -0.83422378, 1.64720158],
        ];
        let intercept = [0.02791668, 0.00531984, -0.03323653];
        for (got, want) in head.weight.value.iter().zip(coef.iter().flatten()) {
            assert!((*got as f64 - want).abs() < 1e-5, "{got} vs {want}");
        }
        for (got, want) in head.bias.value.iter().zip(intercept) {
            assert!((*got as f64 - want).abs() < 1e-5, "{got} vs {want}");
        }
        let (pred, p) = predict(&head, &z[..3], 3, Threads::One);
        assert_eq!(pred, [0]);
        assert!((p[0] as f64 - 0.62584181).abs() < 1e-5, "{}", p[0]);
    }

    #[test]
    fn balanced_class_weights_agree_with_scikit_learn() {
        // scikit-learn 1.9 on this fixed case (classes of 15, 9 and 6 texts):
        //   y = [0 if i < 15 else 1 if i < 24 else 2 for i in range(30)]
        //   z = [[sin(1.3 i + 0.2 j) + (0.8 if j == y[i] else 0) for j in range(3)]
        //        for i in range(30)]
        //   m = LogisticRegression(C=1.0, tol=1e-12, max_iter=100000,
        //                          class_weight="balanced").fit(z, y)
        let n = 30;
        let y: Vec<usize> = (0..n)
            .map(|i| usize::from(i >= 15) + usize::from(i >= 24))
            .collect();
        let mut z = Vec::new();
        for (i, &c) in y.iter().enumerate() {
            for j in 0..3 {
                let bump = if j == c { 0.8 } else { 0.0 };
                z.push(((1.3 * i as f64 + 0.2 * j as f64).sin() + bump) as f32);
            }
        }
        assert_eq!(
            class_weights(&y, 3, 1.0),
            [10.0 / 15.0, 10.0 / 9.0, 10.0 / 6.0]
        );
        assert_eq!(class_weights(&y, 3, 0.0), [1.0; 3]);
        let cfg = HeadConfig {
            tol: 1e-9,
            max_iter: 1000,
            ..HeadConfig::shipped()
        };
        assert_eq!(cfg.balance, 1.0);
        let coef = [
            [1.61667559, -0.88203013, -0.73175461],
            [-0.81953092, 1.69338995, -0.89276152],
            [-0.79714467, -0.81135982, 1.62451613],
        ];
        let intercept = [0.02945782, 0.0135613, -0.04301913];
        let (head, _, _) = fit(&z, 3, &y, 3, &cfg, Threads::One);
        // The sparse objective (the lexical classifier's) weighs texts the same way.
        let (lexical, _) = fit_lexical(&sparse(&z, 3), &y, 3, &cfg);
        for linear in [&head, &lexical.linear] {
            for (got, want) in linear.weight.value.iter().zip(coef.iter().flatten()) {
                assert!((*got as f64 - want).abs() < 1e-5, "{got} vs {want}");
            }
            for (got, want) in linear.bias.value.iter().zip(intercept) {
                assert!((*got as f64 - want).abs() < 1e-5, "{got} vs {want}");
            }
        }
        let (_, p) = predict(&head, &z[87..], 3, Threads::One);
        assert!((p[0] as f64 - 0.86843918).abs() < 1e-5, "{}", p[0]);
    }

    #[test]
    fn regularization_overrules_a_stray_label() {
        // One point of blob 0 labelled 1: a smooth classifier keeps it in blob 0.
        let (z, mut y) = blobs(60, 0.3, 3);
        y[0] = 1;
        let (head, log, _) = fit(&z, 5, &y, 3, &HeadConfig::shipped(), Threads::One);
        let (pred, _) = predict(&head, &z, 5, Threads::One);
        assert_eq!(pred[0], 0, "{log:?}");
        assert!(pred[1..].iter().zip(&y[1..]).all(|(a, b)| a == b));
    }

    #[test]
    fn same_bits_per_thread_count_and_close_across() {
        let (z, y) = blobs(200, 1.2, 4);
        let cfg = HeadConfig::shipped();
        let one = fit(&z, 5, &y, 3, &cfg, Threads::One).0;
        assert_eq!(
            one.weight.value,
            fit(&z, 5, &y, 3, &cfg, Threads::One).0.weight.value
        );
        let two = fit(&z, 5, &y, 3, &cfg, Threads::Many(2)).0;
        for (a, b) in one.weight.value.iter().zip(&two.weight.value) {
            assert!((a - b).abs() < 1e-3, "{a} vs {b}");
        }
    }

    /// `z` as a CSR matrix (zeros dropped).
    fn sparse(z: &[f32], d: usize) -> Csr {
        let mut x = Csr {
            indptr: vec![0],
            indices: Vec::new(),
            data: Vec::new(),
            n_cols: d,
        };
        for row in z.chunks(d) {
            for (j, &v) in row.iter().enumerate().filter(|(_, v)| **v != 0.0) {
                x.indices.push(j as u32);
                x.data.push(v);
            }
            x.indptr.push(x.indices.len());
        }
        x
    }

    #[test]
    fn the_lexical_classifier_is_the_dense_one_on_sparse_rows() {
        // Half the entries zeroed: the sparse objective and gradient must be
        // the dense ones, so both fits land on the same optimum.
        let (mut z, y) = blobs(40, 1.0, 6);
        z.iter_mut().step_by(2).for_each(|v| *v = 0.0);
        let cfg = HeadConfig {
            tol: 1e-8,
            max_iter: 1000,
            ..HeadConfig::shipped()
        };
        let (dense, _, (pred, _)) = fit(&z, 5, &y, 3, &cfg, Threads::One);
        let x = sparse(&z, 5);
        let (lexical, log) = fit_lexical(&x, &y, 3, &cfg);
        let lex = &lexical.linear;
        assert!(log.grad_max <= 1e-8, "{log:?}");
        assert_eq!(lex.weight.shape, [3, 5]);
        for (a, b) in dense.weight.value.iter().zip(&lex.weight.value) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        for (a, b) in dense.bias.value.iter().zip(&lex.bias.value) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        let logits = lexical.logits(&x);
        let mut want = Vec::new();
        lex.forward(&z, y.len(), &mut want, Threads::One);
        for (a, b) in logits.iter().zip(&want) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        let mut p = logits;
        softmax_rows(&mut p, 3);
        assert_eq!(argmax_rows(&p, 3).0, pred);
    }

    #[test]
    fn the_two_classifiers_multiply() {
        let (z, y) = blobs(30, 1.5, 7);
        let cfg = HeadConfig::shipped();
        let (head, _, _) = fit(&z, 5, &y, 3, &cfg, Threads::One);
        // Words: column c for class c, seen in every other text; one column everywhere.
        let mut words = vec![0f32; y.len() * 4];
        for (i, &c) in y.iter().enumerate() {
            words[i * 4 + 3] = 1.0;
            if i % 2 == 0 {
                words[i * 4 + c] = 1.0;
            }
        }
        let x = sparse(&words, 4);
        let (lex, _) = fit_lexical(&x, &y, 3, &cfg);
        let (pred, score) = predict_with(&head, &z, 5, Some((&lex, &x)), Threads::One);
        let mut pa = Vec::new();
        head.forward(&z, y.len(), &mut pa, Threads::One);
        softmax_rows(&mut pa, 3);
        let mut pl = lex.logits(&x);
        softmax_rows(&mut pl, 3);
        for i in 0..y.len() {
            let prod: Vec<f32> = (0..3).map(|c| pa[i * 3 + c] * pl[i * 3 + c]).collect();
            let sum: f32 = prod.iter().sum();
            let (best, p) = argmax_rows(&prod, 3);
            assert_eq!(pred[i], best[0]);
            assert!(
                (score[i] - p[0] / sum).abs() < 1e-5,
                "{} vs {}",
                score[i],
                p[0] / sum
            );
        }
    }

    #[test]
    fn held_out_rows_are_a_stratified_draw_per_round() {
        // Classes of 10, 5 and 1 texts: half of each kept, rounded up.
        let y: Vec<usize> = (0..16)
            .map(|i| {
                if i < 10 {
                    0
                } else if i < 15 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let rows = holdout_rows(&y, 3, 0.5, 7, 1);
        let count = |c: usize| rows.iter().filter(|&&i| y[i] == c).count();
        assert_eq!((count(0), count(1), count(2)), (5, 3, 1));
        assert!(
            rows.windows(2).all(|w| w[0] < w[1]),
            "ascending, distinct: {rows:?}"
        );
        assert_eq!(
            rows,
            holdout_rows(&y, 3, 0.5, 7, 1),
            "same seed and round, same draw"
        );
        let other: Vec<Vec<usize>> = (2..6).map(|r| holdout_rows(&y, 3, 0.5, 7, r)).collect();
        assert!(other.iter().any(|o| *o != rows), "rounds draw anew");
        // A share that would keep nothing still keeps one text per class.
        assert_eq!(holdout_rows(&y, 3, 0.99, 7, 1).len(), 3);
    }

    #[test]
    fn held_out_co_training_relabels_strays_and_closes_on_all_texts() {
        // Three separable blobs, a fifth of the labels wrong.
        let (z, truth) = blobs(40, 0.3, 9);
        let mut rng = Rng::new(3);
        let noisy: Vec<usize> = truth
            .iter()
            .map(|&c| if rng.uniform() < 0.2 { (c + 1) % 3 } else { c })
            .collect();
        let x = sparse(&z.iter().map(|v| v.max(0.0)).collect::<Vec<f32>>(), 5);
        let cfg = HeadConfig {
            holdout: 0.5,
            holdout_rounds: 3,
            ..HeadConfig::shipped()
        };
        let (head, _, lex, llog, (pred, score)) =
            fit_pair(&z, 5, &x, &noisy, 3, &cfg, 11, Threads::One);
        assert_eq!(pred, truth);
        // The first fit, three held-out rounds, the closing fit on all texts.
        assert_eq!(llog.moved.len(), 5, "{:?}", llog.moved);
        assert!(llog.moved[0] > 0.1, "{:?}", llog.moved);
        // The returned labels are what the returned classifiers predict.
        assert_eq!(
            predict_with(&head, &z, 5, Some((&lex, &x)), Threads::One),
            (pred.clone(), score.clone())
        );
        // Same seed, same bits; the lexical classifier saw every column.
        let again = fit_pair(&z, 5, &x, &noisy, 3, &cfg, 11, Threads::One);
        assert_eq!(again.0.weight.value, head.weight.value);
        assert_eq!(again.2.linear.weight.value, lex.linear.weight.value);
    }

    #[test]
    fn the_lexical_classifier_caps_its_terms_by_document_frequency() {
        // Columns 0..6; column j appears in the texts of class j % 3, in
        // fewer texts the higher j is. A cap of 3 * 3 weights keeps 3 columns:
        // the three most frequent, 0, 1 and 2; the others stay 0.
        let n = 60;
        let y: Vec<usize> = (0..n).map(|i| i % 3).collect();
        let mut words = vec![0f32; n * 6];
        for (i, &c) in y.iter().enumerate() {
            for j in (c..6).step_by(3) {
                if i % (j + 1) < 3 {
                    words[i * 6 + j] = 1.0;
                }
            }
        }
        let x = sparse(&words, 6);
        let (lexical, log) = fit_lexical_capped(&x, &y, 3, &HeadConfig::shipped(), 9, None);
        let lex = &lexical.linear;
        assert_eq!(lex.weight.shape, [3, 6]);
        for c in 0..3 {
            let row = &lex.weight.value[c * 6..(c + 1) * 6];
            assert!(row[..3].iter().any(|&v| v != 0.0), "{row:?}");
            assert!(row[3..].iter().all(|&v| v == 0.0), "{row:?}");
        }
        assert!(log.agreement > 0.3, "{log:?}");
    }

    #[test]
    fn models_saved_before_the_lexical_classifier_load_without_it() {
        let old: HeadConfig =
            serde_json::from_str(r#"{"c": 1.0, "tol": 0.0001, "max_iter": 200}"#).unwrap();
        assert!(old.enabled() && !old.lexical);
        assert!(HeadConfig::shipped().lexical);
    }

    #[test]
    fn an_empty_class_is_never_predicted() {
        let (z, y) = blobs(30, 0.3, 5);
        let (head, _, _) = fit(&z, 5, &y, 4, &HeadConfig::shipped(), Threads::One);
        let (pred, _) = predict(&head, &z, 5, Threads::One);
        assert!(pred.iter().all(|&c| c < 3));
    }
}
