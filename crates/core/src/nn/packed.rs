//! The packed, time-major layout every RNN buffer uses (PyTorch's
//! `PackedSequence`): the real tokens of time step 0 for rows 0..b_0, then
//! of step 1 for rows 0..b_1, ... with rows sorted by non-increasing length,
//! so `b_t` (the active batch) only shrinks and padding takes no memory and
//! no FLOPs.

use crate::batch::Batch;

/// Row offsets of a packed batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packed {
    /// Length of each sequence, non-increasing, `(B)`.
    pub lengths: Vec<usize>,
    /// Active rows at each step, `(T)`.
    pub batch_sizes: Vec<usize>,
    /// Start of each step's rows, `(T + 1)`; `offsets[T]` = N.
    pub offsets: Vec<usize>,
}

impl Packed {
    /// Layout for sequences of these lengths (must be non-increasing, each >= 1).
    pub fn new(lengths: &[usize]) -> Packed {
        assert!(
            lengths.windows(2).all(|w| w[0] >= w[1]),
            "lengths must be sorted, longest first"
        );
        assert!(
            lengths.iter().all(|&l| l >= 1),
            "every sequence needs at least one token"
        );
        let t = lengths.first().copied().unwrap_or(0);
        let batch_sizes: Vec<usize> = (0..t)
            .map(|s| lengths.partition_point(|&l| l > s))
            .collect();
        let mut offsets = Vec::with_capacity(t + 1);
        let mut acc = 0;
        offsets.push(0);
        for &b in &batch_sizes {
            acc += b;
            offsets.push(acc);
        }
        Packed {
            lengths: lengths.to_vec(),
            batch_sizes,
            offsets,
        }
    }

    /// Layout of a [`Batch`].
    pub fn of(batch: &Batch) -> Packed {
        Packed::new(&batch.lengths)
    }

    /// Number of sequences B.
    pub fn b(&self) -> usize {
        self.lengths.len()
    }

    /// Number of steps T.
    pub fn t(&self) -> usize {
        self.batch_sizes.len()
    }

    /// Number of real tokens N.
    pub fn n(&self) -> usize {
        *self.offsets.last().unwrap_or(&0)
    }

    /// Packed row of sequence `i` at step `t` (requires `t < lengths[i]`).
    pub fn row(&self, t: usize, i: usize) -> usize {
        self.offsets[t] + i
    }

    /// Token ids of a batch `(B, T)` row-major in packed order `(N)`.
    pub fn pack_ids(&self, batch: &Batch) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.n());
        for (t, &b) in self.batch_sizes.iter().enumerate() {
            out.extend((0..b).map(|i| batch.ids[i * batch.t + t]));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_of_uneven_lengths() {
        let p = Packed::new(&[3, 2, 2, 1]);
        assert_eq!(p.batch_sizes, vec![4, 3, 1]);
        assert_eq!(p.offsets, vec![0, 4, 7, 8]);
        assert_eq!(p.row(2, 0), 7);
        assert_eq!(p.row(1, 2), 6);
        let seqs = vec![vec![1, 2, 3], vec![4, 5], vec![6, 7], vec![8]];
        let batch = Batch::new(&seqs, &[0, 1, 2, 3], 10);
        assert_eq!(
            Packed::of(&batch).pack_ids(&batch),
            vec![1, 4, 6, 8, 2, 5, 7, 3]
        );
    }
}
