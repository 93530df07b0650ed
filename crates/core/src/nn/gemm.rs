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
    unsafe {
        strided(
            m,
            n,
            k,
            a.as_ptr(),
            a_strides,
            b.as_ptr(),
            b_strides,
            c.as_mut_ptr(),
            n,
            accumulate,
            threads,
        )
    }
}

/// `c (M, N) (+)= A · B` with `A (M, K)` and `B (K, N)` given by (row,
/// column) strides and `c` row-major with leading dimension `ldc`.
///
/// # Safety
/// Every index the strides reach must lie in `a`'s and `b`'s buffers, `c`
/// must be valid for `M` rows of `ldc` elements, and no one else may touch
/// its `M x N` block meanwhile.
#[allow(clippy::too_many_arguments)]
unsafe fn strided<T: Real>(
    m: usize,
    n: usize,
    k: usize,
    a: *const T,
    (a_rs, a_cs): (usize, usize),
    b: *const T,
    (b_rs, b_cs): (usize, usize),
    c: *mut T,
    ldc: usize,
    accumulate: bool,
    threads: Threads,
) {
    gemm::gemm(
        m,
        n,
        k,
        c,
        1,
        ldc as isize,
        accumulate,
        a,
        a_cs as isize,
        a_rs as isize,
        b,
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
/// of a gate-gradient buffer) and `b` is `(K, N)` row-major: the weight
/// gradients `dgatesᵀ · x` over all tokens (K = tokens).
///
/// Computed as independent 64-column blocks of `b` and `c` (spread over the
/// threads): the gemm crate runs these long-K, transposed-A products at
/// 95-103 GFLOP/s in 64-column blocks against 80-96 in one call (measured
/// for K = 2048 and 8192, M = 1024 and 2048, N = 256 and 512). Each block's
/// result does not depend on the thread count.
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
    const BLOCK: usize = 64;
    /// `c`'s base pointer, shared by the blocks (each writes its own columns).
    #[derive(Clone, Copy)]
    struct Out<T>(*mut T);
    // SAFETY: the blocks write disjoint columns of `c`.
    unsafe impl<T> Send for Out<T> {}
    unsafe impl<T> Sync for Out<T> {}
    impl<T> Out<T> {
        // A method, so closures capture the whole (Send) wrapper.
        fn at(self, offset: usize) -> *mut T {
            // SAFETY: callers stay inside `c` (see `block`).
            unsafe { self.0.add(offset) }
        }
    }
    let out = Out(c.as_mut_ptr());
    let block = |c0: usize| {
        // SAFETY: the assert bounds every index the strides reach; `c` does
        // not alias `a` or `b` (distinct borrows), and this block alone
        // writes columns c0.. of it.
        unsafe {
            strided(
                m,
                BLOCK.min(n - c0),
                k,
                a.as_ptr(),
                (1, lda),
                b.as_ptr().add(c0),
                (n, 1),
                out.at(c0),
                n,
                true,
                Threads::One,
            )
        }
    };
    let starts: Vec<usize> = (0..n).step_by(BLOCK).collect();
    match threads {
        Threads::Many(t) if t > 1 && starts.len() > 1 => {
            use rayon::prelude::*;
            starts.par_iter().for_each(|&c0| block(c0));
        }
        _ => starts.iter().for_each(|&c0| block(c0)),
    }
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
    fn transposed_column_block_over_several_column_blocks() {
        // N = 150 spans three 64-column blocks; one and two threads agree
        // with the naive sum exactly (f64, small integers).
        let (m, n, k, lda) = (5, 150, 7, 9);
        let a: Vec<f64> = (0..k * lda).map(|i| (i % 5) as f64 - 2.0).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i % 7) as f64 - 3.0).collect();
        let mut want = vec![1.0; m * n];
        for i in 0..m {
            for j in 0..n {
                want[i * n + j] += (0..k).map(|x| a[x * lda + i] * b[x * n + j]).sum::<f64>();
            }
        }
        for threads in [Threads::One, Threads::Many(2)] {
            let mut c = vec![1.0; m * n];
            matmul_at_block(m, n, k, &a, lda, &b, &mut c, threads);
            assert_eq!(c, want, "{threads:?}");
        }
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
