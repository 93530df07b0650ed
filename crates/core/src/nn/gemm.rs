//! Matrix products on the `gemm` crate, row-major, with optional transposes.
//!
//! `gemm` was the fastest CPU GEMM measured for this engine (ENGINE.md); it
//! takes strides, so transposes cost nothing.

use super::Real;

/// How many threads a product may use. Small per-step products run on one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// The calling thread only.
    One,
    /// Up to this many rayon threads.
    Many(usize),
}

impl Threads {
    fn parallelism(self) -> gemm::Parallelism {
        match self {
            Threads::One | Threads::Many(0 | 1) => gemm::Parallelism::None,
            Threads::Many(n) => gemm::Parallelism::Rayon(n),
        }
    }
}

/// `c (M, N) = beta_c * c + op(a) (M, K) · op(b) (K, N)`, all row-major.
/// `op(a)` is `a` stored `(M, K)`, or `aᵀ` when `ta` (`a` stored `(K, M)`);
/// same for `b`. With `accumulate = false` c is overwritten.
#[allow(clippy::too_many_arguments)]
pub fn matmul<T: Real>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    ta: bool,
    b: &[T],
    tb: bool,
    c: &mut [T],
    accumulate: bool,
    threads: Threads,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "matmul shapes"
    );
    if k == 0 {
        if !accumulate {
            c[..m * n].iter_mut().for_each(|x| *x = T::zero());
        }
        return;
    }
    let a_strides = if ta { (1, m) } else { (k, 1) };
    let b_strides = if tb { (1, k) } else { (n, 1) };
    // SAFETY: the asserts above guarantee every index the strides reach is in bounds,
    // and `c` does not alias `a` or `b` (distinct borrows).
    unsafe { strided(m, n, k, a, a_strides, b, b_strides, c, accumulate, threads) }
}

/// `c (M, N, row-major) (+)= A · B` with `A (M, K)` and `B (K, N)` given by
/// (row, column) strides.
///
/// # Safety
/// Every index the strides reach must lie in `a` and `b`, and `c` must hold
/// `M · N` elements.
#[allow(clippy::too_many_arguments)]
unsafe fn strided<T: Real>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    (a_rs, a_cs): (usize, usize),
    b: &[T],
    (b_rs, b_cs): (usize, usize),
    c: &mut [T],
    accumulate: bool,
    threads: Threads,
) {
    gemm::gemm(
        m,
        n,
        k,
        c.as_mut_ptr(),
        1,
        n as isize,
        accumulate,
        a.as_ptr(),
        a_cs as isize,
        a_rs as isize,
        b.as_ptr(),
        b_cs as isize,
        b_rs as isize,
        T::one(),
        T::one(),
        false,
        false,
        false,
        threads.parallelism(),
    );
}

/// `c (M, N) += aᵀ · b` where `a` is stored `(K, lda)` and only its first
/// `M` columns take part (a column block of a wider matrix, e.g. some gates
/// of a gate-gradient buffer) and `b` is `(K, N)` row-major.
#[allow(clippy::too_many_arguments)]
pub fn matmul_at_block<T: Real>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    lda: usize,
    b: &[T],
    c: &mut [T],
    threads: Threads,
) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    assert!(
        lda >= m && a.len() >= (k - 1) * lda + m && b.len() >= k * n && c.len() >= m * n,
        "matmul_at_block shapes"
    );
    // SAFETY: the assert bounds every index the strides reach, and `c` does
    // not alias `a` or `b` (distinct borrows).
    unsafe { strided(m, n, k, a, (1, lda), b, (n, 1), c, true, threads) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposed_column_block() {
        // a (K=2, lda=3) = [[1,2,9],[3,4,9]]; its first two columns, transposed,
        // times b (2x1) = [[1],[10]]: [[1+30],[2+40]], added to c.
        let a = [1.0, 2.0, 9.0, 3.0, 4.0, 9.0f64];
        let b = [1.0, 10.0f64];
        let mut c = [1.0, 1.0f64];
        matmul_at_block(2, 1, 2, &a, 3, &b, &mut c, Threads::One);
        assert_eq!(c, [32.0, 43.0]);
    }

    #[test]
    fn transposes_and_accumulation() {
        // a = [[1,2,3],[4,5,6]] (2x3), b = [[1,0],[0,1],[1,1]] (3x2): a·b = [[4,5],[10,11]]
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0f64];
        let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0f64];
        let mut c = [0.0; 4];
        matmul(2, 2, 3, &a, false, &b, false, &mut c, false, Threads::One);
        assert_eq!(c, [4.0, 5.0, 10.0, 11.0]);
        matmul(2, 2, 3, &a, false, &b, false, &mut c, true, Threads::One);
        assert_eq!(c, [8.0, 10.0, 20.0, 22.0]);
        // aᵀ stored as (3, 2): at = [[1,4],[2,5],[3,6]]
        let at = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0f64];
        let bt = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0f64]; // bᵀ (2, 3)
        matmul(
            2,
            2,
            3,
            &at,
            true,
            &bt,
            true,
            &mut c,
            false,
            Threads::Many(2),
        );
        assert_eq!(c, [4.0, 5.0, 10.0, 11.0]);
    }
}
