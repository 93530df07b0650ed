//! Truncated SVD of a sparse matrix by randomized range finding (Halko,
//! Martinsson and Tropp 2011), the method behind scikit-learn's
//! `TruncatedSVD`: LSA when applied to TF-IDF.
//!
//! The sparse products run on our own threaded CSR kernels; the small dense
//! factorizations (QR of an N x L panel, eigen-decomposition of an L x L
//! matrix) use nalgebra.

use nalgebra::{DMatrix, SymmetricEigen};

use super::Csr;
use crate::rng::Rng;

/// Extra random directions beyond `k`, as scikit-learn uses.
const OVERSAMPLES: usize = 10;

/// The rank-`k` projection `U·S` of the rows of `a`, `(N, k)` row-major, and
/// the top singular values. `n_iter` power iterations (5 is scikit-learn's
/// default) sharpen the spectrum. Deterministic given `seed`.
pub fn truncated_svd(a: &Csr, k: usize, n_iter: usize, seed: u64) -> (Vec<f32>, Vec<f64>) {
    let (x, s, _) = truncated_svd_full(a, k, n_iter, seed);
    (x, s)
}

/// As [`truncated_svd`], plus the right singular vectors `V (M, k)` row-major,
/// so new rows project as `x · V`.
pub fn truncated_svd_full(
    a: &Csr,
    k: usize,
    n_iter: usize,
    seed: u64,
) -> (Vec<f32>, Vec<f64>, Vec<f32>) {
    let (n, m) = (a.n_rows(), a.n_cols);
    let l = (k + OVERSAMPLES).min(n).min(m);
    if l == 0 {
        return (vec![0.0; n * k], vec![0.0; k], vec![0.0; m * k]);
    }
    let at = a.transpose();
    let mut rng = Rng::derive(seed, 0x5FD);
    let omega: Vec<f64> = (0..m * l).map(|_| rng.normal()).collect(); // (M, L)
    let mut q = orthonormalize(a.mul_dense(&omega, l), n, l); // (N, L)
    for _ in 0..n_iter {
        let z = orthonormalize(at.mul_dense(&q, l), m, l); // (M, L)
        q = orthonormalize(a.mul_dense(&z, l), n, l);
    }
    // B = Qᵀ A (L, M); we form Bᵀ = Aᵀ Q and the small Gram matrix B Bᵀ.
    let bt = DMatrix::from_row_slice(m, l, &at.mul_dense(&q, l));
    let gram = bt.transpose() * &bt; // (L, L)
    let eig = SymmetricEigen::new(gram);
    let mut order: Vec<usize> = (0..l).collect();
    order.sort_by(|&i, &j| eig.eigenvalues[j].total_cmp(&eig.eigenvalues[i]));
    let kk = k.min(l);
    let sigma: Vec<f64> = order[..kk]
        .iter()
        .map(|&i| eig.eigenvalues[i].max(0.0).sqrt())
        .collect();
    // A V = Q U_B S: project each row of Q onto the top eigenvectors, scaled by σ.
    let mut out = vec![0f32; n * k];
    for i in 0..n {
        let qi = &q[i * l..(i + 1) * l];
        for (c, &e) in order[..kk].iter().enumerate() {
            let dot: f64 = qi
                .iter()
                .enumerate()
                .map(|(r, &x)| x * eig.eigenvectors[(r, e)])
                .sum();
            out[i * k + c] = (dot * sigma[c]) as f32;
        }
    }
    // V = Bᵀ U_B S⁻¹, column c from eigenvector order[c].
    let mut comps = vec![0f32; m * k];
    for (c, &e) in order[..kk].iter().enumerate() {
        if sigma[c] <= 1e-12 {
            continue;
        }
        for r in 0..m {
            let dot: f64 = (0..l).map(|j| bt[(r, j)] * eig.eigenvectors[(j, e)]).sum();
            comps[r * k + c] = (dot / sigma[c]) as f32;
        }
    }
    let mut sv = sigma;
    sv.resize(k, 0.0);
    (out, sv, comps)
}

/// An orthonormal basis of the columns of `y` `(R, L)`, row-major, by Householder QR.
fn orthonormalize(y: Vec<f64>, r: usize, l: usize) -> Vec<f64> {
    let q = DMatrix::from_row_slice(r, l, &y).qr().q(); // (R, min(R, L))
    let mut out = vec![0.0; r * l];
    for i in 0..r {
        for j in 0..q.ncols() {
            out[i * l + j] = q[(i, j)];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_singular_values_of_a_small_matrix() {
        // A = diag(3, 2, 1) padded with a zero row; singular values 3, 2, 1.
        let a = Csr {
            indptr: vec![0, 1, 2, 3, 3],
            indices: vec![0, 1, 2],
            data: vec![3.0, 2.0, 1.0],
            n_cols: 3,
        };
        let (x, s) = truncated_svd(&a, 2, 3, 0);
        assert!(
            (s[0] - 3.0).abs() < 1e-9 && (s[1] - 2.0).abs() < 1e-9,
            "{s:?}"
        );
        // Rows project to ±3 and ±2 on the first two components.
        assert!((x[0].abs() - 3.0).abs() < 1e-5 && x[1].abs() < 1e-5);
        assert!((x[3].abs() - 2.0).abs() < 1e-5 && x[2].abs() < 1e-5);
        assert!(x[4].abs() < 1e-5 && x[5].abs() < 1e-5);
        // Projecting the rows through V reproduces U·S.
        let (_, _, v) = truncated_svd_full(&a, 2, 3, 0);
        let proj = a.mul_dense(&v.iter().map(|&x| x as f64).collect::<Vec<_>>(), 2);
        for (p, q) in proj.iter().zip(&x) {
            assert!((*p as f32 - q).abs() < 1e-5, "{proj:?} {x:?}");
        }
    }
}
