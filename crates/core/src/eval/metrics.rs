//! Clustering metrics: ACC (Hungarian matching), NMI, ARI and purity,
//! computed as scikit-learn computes them (natural logarithms, arithmetic
//! normalization for NMI, the pair-counting form of ARI).

use std::collections::HashMap;

use pathfinding::kuhn_munkres::kuhn_munkres;
use pathfinding::matrix::Matrix;
use serde::{Deserialize, Serialize};

/// Scores of one clustering against gold classes, all fractions.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Accuracy under the best one-to-one mapping of clusters to classes.
    pub acc: f64,
    /// Normalized mutual information (arithmetic mean of the entropies).
    pub nmi: f64,
    /// Adjusted Rand index.
    pub ari: f64,
    /// Fraction of texts in their cluster's majority class.
    pub purity: f64,
}

/// Map arbitrary labels to dense ids `0..C` in order of first appearance; returns the ids and the names.
pub fn encode_labels<S: AsRef<str>>(labels: &[S]) -> (Vec<usize>, Vec<String>) {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut names = Vec::new();
    let ids = labels
        .iter()
        .map(|l| {
            *index.entry(l.as_ref()).or_insert_with(|| {
                names.push(l.as_ref().to_string());
                names.len() - 1
            })
        })
        .collect();
    (ids, names)
}

/// The contingency table `(clusters, classes)` of two labelings given as dense ids.
pub fn contingency(truth: &[usize], pred: &[usize]) -> Vec<Vec<u64>> {
    let c = truth.iter().max().map_or(0, |m| m + 1);
    let k = pred.iter().max().map_or(0, |m| m + 1);
    let mut t = vec![vec![0u64; c]; k];
    for (&y, &p) in truth.iter().zip(pred) {
        t[p][y] += 1;
    }
    t
}

impl Scores {
    /// Score `pred` (cluster ids) against `truth` (class ids); equal lengths.
    pub fn compute(truth: &[usize], pred: &[usize]) -> Scores {
        assert_eq!(truth.len(), pred.len(), "labelings differ in length");
        let (truth, _) = encode_labels(&truth.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        let (pred, _) = encode_labels(&pred.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        let table = contingency(&truth, &pred);
        Scores {
            acc: acc(&table),
            nmi: nmi(&table),
            ari: ari(&table),
            purity: purity(&table),
        }
    }
}

fn total(table: &[Vec<u64>]) -> u64 {
    table.iter().flatten().sum()
}

/// Share of the table's total on its best one-to-one matching of rows to
/// columns (Kuhn-Munkres): ACC when rows are clusters and columns classes.
pub(crate) fn acc(table: &[Vec<u64>]) -> f64 {
    let n = total(table);
    if n == 0 {
        return 0.0;
    }
    let (matched, _) = kuhn_munkres(&square(table));
    matched as f64 / n as f64
}

/// The table as a square weight matrix for Kuhn-Munkres, padded with zeros.
fn square(table: &[Vec<u64>]) -> Matrix<i64> {
    let s = table.len().max(table.first().map_or(0, Vec::len));
    let mut m = Matrix::new(s, s, 0i64);
    for (i, row) in table.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            m[(i, j)] = v as i64;
        }
    }
    m
}

/// The best one-to-one matching of the table's rows to its columns
/// (Kuhn-Munkres, as [`acc`]): the column of each row (a row beyond the
/// columns gets an index past them).
pub(crate) fn matching(table: &[Vec<u64>]) -> Vec<usize> {
    if table.is_empty() {
        return Vec::new();
    }
    let (_, cols) = kuhn_munkres(&square(table));
    cols.into_iter().take(table.len()).collect()
}

/// Entropy (nats) of the distribution `counts / n`; empty counts add nothing.
pub(crate) fn entropy(counts: &[u64], n: f64) -> f64 {
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.ln()
        })
        .sum()
}

fn nmi(table: &[Vec<u64>]) -> f64 {
    let n = total(table) as f64;
    let k = table.len();
    let c = table.first().map_or(0, Vec::len);
    if (k == 1 && c == 1) || n == 0.0 {
        return 1.0;
    }
    let rows: Vec<u64> = table.iter().map(|r| r.iter().sum()).collect();
    let cols: Vec<u64> = (0..c).map(|j| table.iter().map(|r| r[j]).sum()).collect();
    let mut mi = 0.0;
    for (i, row) in table.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if v > 0 {
                let v = v as f64;
                mi += v / n * (n * v / (rows[i] as f64 * cols[j] as f64)).ln();
            }
        }
    }
    if mi <= 0.0 {
        return 0.0;
    }
    let norm = (entropy(&rows, n) + entropy(&cols, n)) / 2.0;
    mi / norm.max(f64::EPSILON)
}

pub(crate) fn ari(table: &[Vec<u64>]) -> f64 {
    let n = total(table) as f64;
    let k = table.len();
    let c = table.first().map_or(0, Vec::len);
    if (k == c && (k <= 1 || k as f64 == n)) || n == 0.0 {
        return 1.0;
    }
    // Pair confusion counts, as scikit-learn's pair_confusion_matrix.
    let rows: Vec<f64> = table.iter().map(|r| r.iter().sum::<u64>() as f64).collect();
    let cols: Vec<f64> = (0..c)
        .map(|j| table.iter().map(|r| r[j]).sum::<u64>() as f64)
        .collect();
    let sum_sq: f64 = table
        .iter()
        .flatten()
        .map(|&v| (v as f64) * (v as f64))
        .sum();
    let tp = sum_sq - n;
    let fp = rows.iter().map(|r| r * r).sum::<f64>() - sum_sq;
    let fn_ = cols.iter().map(|c| c * c).sum::<f64>() - sum_sq;
    let tn = n * n - fp - fn_ - sum_sq;
    if fn_ == 0.0 && fp == 0.0 {
        return 1.0;
    }
    2.0 * (tp * tn - fn_ * fp) / ((tp + fn_) * (fn_ + tn) + (tp + fp) * (fp + tn))
}

fn purity(table: &[Vec<u64>]) -> f64 {
    let n = total(table);
    if n == 0 {
        return 0.0;
    }
    table
        .iter()
        .map(|r| r.iter().copied().max().unwrap_or(0))
        .sum::<u64>() as f64
        / n as f64
}
