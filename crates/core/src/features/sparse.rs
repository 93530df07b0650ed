//! A compressed sparse row matrix, just what TF-IDF, LSA and k-means need.

/// Rows are documents, columns are terms. Column indices within a row are sorted.
#[derive(Clone, Debug, PartialEq)]
pub struct Csr {
    /// Row `i` is `indices[indptr[i]..indptr[i + 1]]`, `(N + 1)`.
    pub indptr: Vec<usize>,
    /// Column of each stored value.
    pub indices: Vec<u32>,
    /// The stored values.
    pub data: Vec<f32>,
    /// Number of columns.
    pub n_cols: usize,
}

impl Csr {
    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.indptr.len() - 1
    }

    /// Row `i` as (columns, values).
    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[i], self.indptr[i + 1]);
        (&self.indices[a..b], &self.data[a..b])
    }

    /// The rows `rows` (in that order) as a matrix of their own.
    pub fn select_rows(&self, rows: &[usize]) -> Csr {
        let mut out = Csr {
            indptr: Vec::with_capacity(rows.len() + 1),
            indices: Vec::new(),
            data: Vec::new(),
            n_cols: self.n_cols,
        };
        out.indptr.push(0);
        for &i in rows {
            let (cols, vals) = self.row(i);
            out.indices.extend_from_slice(cols);
            out.data.extend_from_slice(vals);
            out.indptr.push(out.indices.len());
        }
        out
    }

    /// `out (N, L) = self (N, M) · dense (M, L)`, dense row-major.
    pub fn mul_dense(&self, dense: &[f64], l: usize) -> Vec<f64> {
        use rayon::prelude::*;
        let mut out = vec![0.0; self.n_rows() * l];
        out.par_chunks_mut(l).enumerate().for_each(|(i, o)| {
            let (cols, vals) = self.row(i);
            for (&c, &v) in cols.iter().zip(vals) {
                let src = &dense[c as usize * l..(c as usize + 1) * l];
                for (x, &s) in o.iter_mut().zip(src) {
                    *x += v as f64 * s;
                }
            }
        });
        out
    }

    /// The transpose, also in CSR form (columns become rows).
    pub fn transpose(&self) -> Csr {
        let mut counts = vec![0usize; self.n_cols + 1];
        for &c in &self.indices {
            counts[c as usize + 1] += 1;
        }
        for j in 0..self.n_cols {
            counts[j + 1] += counts[j];
        }
        let indptr = counts.clone();
        let mut next = counts;
        let mut indices = vec![0u32; self.indices.len()];
        let mut data = vec![0f32; self.data.len()];
        for i in 0..self.n_rows() {
            let (cols, vals) = self.row(i);
            for (&c, &v) in cols.iter().zip(vals) {
                let p = next[c as usize];
                indices[p] = i as u32;
                data[p] = v;
                next[c as usize] += 1;
            }
        }
        Csr {
            indptr,
            indices,
            data,
            n_cols: self.n_rows(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_match_dense_arithmetic() {
        // A = [[1, 0, 2], [0, 3, 0]]
        let a = Csr {
            indptr: vec![0, 2, 3],
            indices: vec![0, 2, 1],
            data: vec![1.0, 2.0, 3.0],
            n_cols: 3,
        };
        // B = [[1, 2], [3, 4], [5, 6]] -> A·B = [[11, 14], [9, 12]]
        assert_eq!(
            a.mul_dense(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2),
            vec![11.0, 14.0, 9.0, 12.0]
        );
        // C = [[1], [2]] -> Aᵀ·C = [[1], [6], [2]]
        let t = a.transpose();
        assert_eq!(t.mul_dense(&[1.0, 2.0], 1), vec![1.0, 6.0, 2.0]);
        assert_eq!(t.transpose(), a);
    }
}
