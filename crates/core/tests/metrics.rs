//! Metrics against scikit-learn's values on fixed label vectors.
//!
//! The expected numbers were produced by (scikit-learn 1.x, scipy):
//!
//! ```python
//! import numpy as np
//! from sklearn.metrics import normalized_mutual_info_score as nmi, adjusted_rand_score as ari
//! from scipy.optimize import linear_sum_assignment
//! def acc(y, p):
//!     y = np.asarray(y); p = np.asarray(p); k = max(y.max(), p.max()) + 1; w = np.zeros((k, k))
//!     for a, b in zip(p, y): w[a, b] += 1
//!     r, c = linear_sum_assignment(-w); return w[r, c].sum() / len(y)
//! cases = {
//!  "a": ([0,0,0,1,1,1,2,2,2,2], [1,1,0,0,0,2,2,2,2,1]),
//!  "b": ([0,1,2,0,1,2,0,1,2,0,1,2], [0,0,1,1,2,2,3,3,0,1,2,3]),
//!  "c": ([0,0,1,1,2,2,3,3], [0,0,0,0,0,0,0,1]),
//!  "d": ([0,0,0,0,1,1,1,1,1,1,1], [2,2,0,0,1,1,1,1,1,1,0]),
//! }
//! for k, (y, p) in cases.items(): print(k, acc(y, p), nmi(y, p), ari(y, p))
//! ```

use textrnn::eval::{encode_labels, Scores};

fn check(truth: &[usize], pred: &[usize], acc: f64, nmi: f64, ari: f64) {
    let s = Scores::compute(truth, pred);
    assert!((s.acc - acc).abs() < 1e-12, "acc {} vs {}", s.acc, acc);
    assert!((s.nmi - nmi).abs() < 1e-12, "nmi {} vs {}", s.nmi, nmi);
    assert!((s.ari - ari).abs() < 1e-12, "ari {} vs {}", s.ari, ari);
}

#[test]
fn matches_scikit_learn_on_fixed_vectors() {
    check(
        &[0, 0, 0, 1, 1, 1, 2, 2, 2, 2],
        &[1, 1, 0, 0, 0, 2, 2, 2, 2, 1],
        0.7,
        0.44270128334605,
        0.20454545454545456,
    );
    // More clusters than classes.
    check(
        &[0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2],
        &[0, 0, 1, 1, 2, 2, 3, 3, 0, 1, 2, 3],
        0.4166666666666667,
        0.18596196376741997,
        -0.10852713178294573,
    );
    // Fewer clusters than classes.
    check(
        &[0, 0, 1, 1, 2, 2, 3, 3],
        &[0, 0, 0, 0, 0, 0, 0, 1],
        0.375,
        0.230829176736184,
        0.0,
    );
    check(
        &[0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1],
        &[2, 2, 0, 0, 1, 1, 1, 1, 1, 1, 0],
        0.7272727272727273,
        0.5839619754516534,
        0.5611702127659575,
    );
}

#[test]
fn perfect_and_degenerate_labelings() {
    // A relabeled perfect clustering scores 1 everywhere.
    let s = Scores::compute(&[0, 0, 1, 1, 2], &[2, 2, 0, 0, 1]);
    assert_eq!((s.acc, s.nmi, s.ari, s.purity), (1.0, 1.0, 1.0, 1.0));
    // scikit-learn: both constant -> NMI 1, ARI 1.
    let s = Scores::compute(&[3, 3, 3], &[0, 0, 0]);
    assert_eq!((s.nmi, s.ari), (1.0, 1.0));
    // One cluster for two balanced classes: purity and ACC 0.5, NMI 0, ARI 0.
    let s = Scores::compute(&[0, 0, 1, 1], &[0, 0, 0, 0]);
    assert_eq!((s.acc, s.nmi, s.ari, s.purity), (0.5, 0.0, 0.0, 0.5));
}

#[test]
fn purity_counts_majorities() {
    // Clusters {a,a,b} and {b,b,c}: majorities 2 + 2 of 6.
    let (truth, names) = encode_labels(&["a", "a", "b", "b", "b", "c"]);
    assert_eq!(names, vec!["a", "b", "c"]);
    let s = Scores::compute(&truth, &[0, 0, 0, 1, 1, 1]);
    assert!((s.purity - 4.0 / 6.0).abs() < 1e-12);
}
