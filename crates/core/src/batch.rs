//! Stage 4: batching token-id sequences for the encoder.
//!
//! Owns the train / validation split, seeded shuffling, truncation, length
//! bucketing (texts of similar length share a batch so padding costs little)
//! and the padded id matrix with its `attention_mask`. The RNN engine reads
//! [`Batch`]es; it never sees raw documents.

use crate::rng::Rng;
use crate::vocab::Special;

/// A padded batch, rows sorted by descending length so the active batch only
/// shrinks along the time axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Token ids, row-major `(B, T)`, padded with [`Special::Pad`].
    pub ids: Vec<u32>,
    /// 1.0 where a real token is, 0.0 on padding, `(B, T)`.
    pub attention_mask: Vec<f32>,
    /// Real length of each row, non-increasing, `(B)`.
    pub lengths: Vec<usize>,
    /// Index of each row's document in the input, `(B)`.
    pub doc_index: Vec<usize>,
    /// Batch size B.
    pub b: usize,
    /// Padded length T (the longest row).
    pub t: usize,
}

impl Batch {
    /// Pad the sequences `seqs[i]` for `i` in `docs` (truncated to `max_len`).
    /// Empty sequences get one `<unk>` so every row has a state.
    pub fn new(seqs: &[Vec<u32>], docs: &[usize], max_len: usize) -> Batch {
        let mut rows: Vec<usize> = docs.to_vec();
        let len = |i: usize| seqs[i].len().clamp(1, max_len.max(1));
        rows.sort_by_key(|&i| std::cmp::Reverse(len(i))); // stable: ties keep input order
        let b = rows.len();
        let t = rows.iter().map(|&i| len(i)).max().unwrap_or(0);
        let mut ids = vec![Special::Pad as u32; b * t];
        let mut attention_mask = vec![0.0; b * t];
        let mut lengths = Vec::with_capacity(b);
        for (r, &i) in rows.iter().enumerate() {
            let l = len(i);
            for p in 0..l {
                ids[r * t + p] = seqs[i].get(p).copied().unwrap_or(Special::Unk as u32);
                attention_mask[r * t + p] = 1.0;
            }
            lengths.push(l);
        }
        Batch {
            ids,
            attention_mask,
            lengths,
            doc_index: rows,
            b,
            t,
        }
    }
}

/// Split `0..n` into (train, validation) with `val_fraction` of the indices
/// (at least one of each when n >= 2), chosen by `seed`; both sorted.
pub fn train_val_split(n: usize, val_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..n).collect();
    Rng::derive(seed, 0x5917).shuffle(&mut idx);
    let mut n_val = (n as f64 * val_fraction.clamp(0.0, 1.0)).round() as usize;
    if n >= 2 && val_fraction > 0.0 {
        n_val = n_val.clamp(1, n - 1);
    }
    let mut val = idx[..n_val].to_vec();
    let mut train = idx[n_val..].to_vec();
    val.sort_unstable();
    train.sort_unstable();
    (train, val)
}

/// Groups document indices into batches of similar length.
#[derive(Clone, Debug)]
pub struct Batcher {
    /// Rows per batch.
    pub batch_size: usize,
    /// Longer sequences are truncated.
    pub max_len: usize,
    /// Batches are formed within buckets of this many batches' worth of
    /// shuffled documents, sorted by length: more means less padding, less
    /// means more randomness.
    pub bucket_batches: usize,
}

impl Batcher {
    /// One epoch of batches over `docs`, shuffled by `(seed, epoch)`.
    pub fn epoch(&self, seqs: &[Vec<u32>], docs: &[usize], seed: u64, epoch: u64) -> Vec<Batch> {
        let bs = self.batch_size.max(1);
        let mut rng = Rng::derive(seed, epoch.wrapping_add(1));
        let mut order = docs.to_vec();
        rng.shuffle(&mut order);
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for bucket in order.chunks(bs * self.bucket_batches.max(1)) {
            let mut bucket = bucket.to_vec();
            bucket.sort_by_key(|&i| seqs[i].len().min(self.max_len));
            groups.extend(bucket.chunks(bs).map(<[usize]>::to_vec));
        }
        rng.shuffle(&mut groups);
        groups
            .iter()
            .map(|g| Batch::new(seqs, g, self.max_len))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_pads_sorts_and_masks() {
        let seqs = vec![
            vec![7, 8],
            vec![9, 10, 11],
            vec![],
            vec![12, 13, 14, 15, 16],
        ];
        let b = Batch::new(&seqs, &[0, 1, 2, 3], 4);
        assert_eq!((b.b, b.t), (4, 4));
        assert_eq!(b.doc_index, vec![3, 1, 0, 2]);
        assert_eq!(b.lengths, vec![4, 3, 2, 1]);
        assert_eq!(&b.ids[..4], &[12, 13, 14, 15]);
        assert_eq!(&b.ids[8..12], &[7, 8, 0, 0]);
        assert_eq!(&b.ids[12..16], &[Special::Unk as u32, 0, 0, 0]);
        assert_eq!(b.attention_mask.iter().sum::<f32>(), 10.0);
    }

    #[test]
    fn split_and_epochs_are_seeded_partitions() {
        let (tr, va) = train_val_split(100, 0.1, 3);
        assert_eq!((tr.len(), va.len()), (90, 10));
        assert_eq!(train_val_split(100, 0.1, 3), (tr.clone(), va.clone()));
        let mut all: Vec<usize> = tr.iter().chain(&va).copied().collect();
        all.sort();
        assert_eq!(all, (0..100).collect::<Vec<_>>());

        let seqs: Vec<Vec<u32>> = (0..50).map(|i| vec![5; 1 + i % 7]).collect();
        let batcher = Batcher {
            batch_size: 8,
            max_len: 5,
            bucket_batches: 4,
        };
        let docs: Vec<usize> = (0..50).collect();
        let e0 = batcher.epoch(&seqs, &docs, 1, 0);
        assert_eq!(e0, batcher.epoch(&seqs, &docs, 1, 0));
        assert_ne!(e0, batcher.epoch(&seqs, &docs, 1, 1));
        let mut seen: Vec<usize> = e0.iter().flat_map(|b| b.doc_index.clone()).collect();
        seen.sort();
        assert_eq!(seen, docs);
        assert!(e0.iter().all(|b| b.t <= 5));
    }
}
