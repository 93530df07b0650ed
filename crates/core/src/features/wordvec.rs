//! Corpus-only word vectors and SIF text vectors (no pretrained model).
//!
//! Word vectors are the truncated SVD of the positive PMI of two words
//! occurring in the same text (document co-occurrence, each text counted
//! once per pair), rows L2-normalized. A text is the SIF-weighted sum of its
//! words' vectors, weight `a / (a + p(w))` with `a = 1e-3` (Arora et al.
//! 2017), L2-normalized, centred by the training corpus mean and normalized
//! again. Normalizing before centring matters: centring the raw sums lets a
//! short text's small vector be swamped by the corpus mean, so k-means splits
//! by length (sst2: ACC 52.9 centred raw, 66.7 normalized first; stackoverflow
//! 46.8 against 53.1, scikit-learn k-means on the same vectors). This is the
//! strong non-neural method of BASELINES.md; it also seeds the RNN's
//! embedding table.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{truncated_svd, Csr};

/// Smoothing constant of the SIF weights.
pub const SIF_A: f64 = 1e-3;

/// Fitted word vectors.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WordVectors {
    /// Words, in row order.
    pub terms: Vec<String>,
    /// SIF weight of each word.
    pub weights: Vec<f32>,
    /// Vectors `(V, dim)`, rows unit length (a model saves them as a tensor,
    /// not in its JSON).
    #[serde(skip)]
    pub vectors: Vec<f32>,
    /// Vector size.
    pub dim: usize,
    /// Mean of the training texts' SIF vectors `(dim)`, subtracted before normalizing.
    pub mean: Vec<f32>,
    /// Whether `mean` is the mean of unit-length vectors, subtracted after a
    /// first normalization (models before this field: false, the raw sums
    /// were centred; kept so that they load and predict as they did).
    #[serde(default)]
    pub normalize_first: bool,
    #[serde(skip)]
    index: HashMap<String, u32>,
}

impl WordVectors {
    /// Fit on tokenized texts; returns the model and the texts' vectors `(N, dim)`.
    pub fn fit(
        docs: &[Vec<String>],
        dim: usize,
        min_df: usize,
        seed: u64,
    ) -> (WordVectors, Vec<f32>) {
        // Vocabulary: words in at least min_df texts, sorted for determinism.
        let df = super::document_frequency(docs);
        let terms = super::terms_by_df(&df, min_df.max(1), usize::MAX);
        let mut tf: HashMap<&str, usize> = HashMap::new();
        for t in docs.iter().flatten() {
            *tf.entry(t.as_str()).or_insert(0) += 1;
        }
        let total: usize = docs.iter().map(Vec::len).sum();
        let index: HashMap<&str, u32> = terms
            .iter()
            .enumerate()
            .map(|(i, &t)| (t, i as u32))
            .collect();
        let v = terms.len();
        // Document co-occurrence pairs (w != c), counted once per text.
        let ids = super::term_id_sets(docs, &index);
        let mut pairs: Vec<u64> = ids
            .par_iter()
            .flat_map_iter(|x| {
                x.iter().flat_map(move |&a| {
                    x.iter()
                        .filter(move |&&b| b != a)
                        .map(move |&b| ((a as u64) << 32) | b as u64)
                })
            })
            .collect();
        pairs.par_sort_unstable();
        let mut rows: Vec<Vec<(u32, f32)>> = vec![Vec::new(); v];
        for run in pairs.chunk_by(|a, b| a == b) {
            let (a, b) = ((run[0] >> 32) as usize, (run[0] & 0xFFFF_FFFF) as u32);
            rows[a].push((b, run.len() as f32));
        }
        let row_sum: Vec<f64> = rows
            .iter()
            .map(|r| r.iter().map(|&(_, c)| c as f64).sum())
            .collect();
        let grand: f64 = row_sum.iter().sum::<f64>().max(1.0);
        let mut indptr = vec![0];
        let mut indices = Vec::new();
        let mut data = Vec::new();
        for (a, r) in rows.iter().enumerate() {
            for &(b, c) in r {
                let pmi = (c as f64 * grand / (row_sum[a] * row_sum[b as usize])).ln();
                if pmi > 0.0 {
                    indices.push(b);
                    data.push(pmi as f32);
                }
            }
            indptr.push(indices.len());
        }
        let ppmi = Csr {
            indptr,
            indices,
            data,
            n_cols: v,
        };
        let (mut vectors, _) = truncated_svd(&ppmi, dim, 5, seed);
        crate::rows::l2_normalize_rows(&mut vectors, dim);
        let weights = terms
            .iter()
            .map(|t| {
                let p = tf[t] as f64 / total.max(1) as f64;
                (SIF_A / (SIF_A + p)) as f32
            })
            .collect();
        let mut wv = WordVectors {
            terms: terms.iter().map(|t| t.to_string()).collect(),
            weights,
            vectors,
            dim,
            mean: vec![0.0; dim],
            normalize_first: true,
            index: HashMap::new(),
        };
        wv.rebuild_index();
        let mut raw = wv.raw(docs);
        crate::rows::l2_normalize_rows(&mut raw, dim);
        let n = docs.len().max(1) as f32;
        let mut mean = vec![0f32; dim];
        for row in raw.chunks(dim.max(1)) {
            mean.iter_mut().zip(row).for_each(|(m, &x)| *m += x / n);
        }
        wv.mean = mean;
        let out = wv.transform(docs);
        (wv, out)
    }

    /// Rebuild the word index (after deserializing).
    pub fn rebuild_index(&mut self) {
        self.index = self
            .terms
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
    }

    /// The vector of `word`, if known.
    pub fn get(&self, word: &str) -> Option<&[f32]> {
        self.index
            .get(word)
            .map(|&i| &self.vectors[i as usize * self.dim..(i as usize + 1) * self.dim])
    }

    fn raw(&self, docs: &[Vec<String>]) -> Vec<f32> {
        let d = self.dim;
        let rows: Vec<Vec<f32>> = docs
            .par_iter()
            .map(|doc| {
                let mut v = vec![0f32; d];
                for t in doc {
                    if let Some(&i) = self.index.get(t) {
                        let w = self.weights[i as usize];
                        v.iter_mut()
                            .zip(&self.vectors[i as usize * d..(i as usize + 1) * d])
                            .for_each(|(a, &b)| *a += w * b);
                    }
                }
                v
            })
            .collect();
        rows.concat()
    }

    /// SIF vectors of tokenized texts `(N, dim)`: weighted sums, normalized,
    /// centred, normalized.
    pub fn transform(&self, docs: &[Vec<String>]) -> Vec<f32> {
        let mut out = self.raw(docs);
        if self.normalize_first {
            crate::rows::l2_normalize_rows(&mut out, self.dim);
        }
        for row in out.chunks_mut(self.dim.max(1)) {
            row.iter_mut().zip(&self.mean).for_each(|(a, &m)| *a -= m);
        }
        crate::rows::l2_normalize_rows(&mut out, self.dim);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs() -> Vec<Vec<String>> {
        [
            "goal match league cup",
            "match league goal",
            "stock market bank",
            "bank stock trade market shares",
            "goal",
            "market",
            "league cup final match goal keeper",
        ]
        .iter()
        .map(|s| s.split_whitespace().map(String::from).collect())
        .collect()
    }

    #[test]
    fn texts_are_normalized_before_centring_and_old_models_keep_their_transform() {
        let d = docs();
        let (wv, out) = WordVectors::fit(&d, 3, 1, 0);
        assert!(wv.normalize_first);
        // The stored mean is the mean of the unit-length sums.
        let mut raw = wv.raw(&d);
        crate::rows::l2_normalize_rows(&mut raw, 3);
        for j in 0..3 {
            let m: f32 = raw.chunks(3).map(|r| r[j]).sum::<f32>() / d.len() as f32;
            assert!((m - wv.mean[j]).abs() < 1e-6);
        }
        assert_eq!(out, wv.transform(&d));
        // A model saved before the flag existed centres the raw sums, as it did.
        let mut json = serde_json::to_value(&wv).unwrap();
        json.as_object_mut().unwrap().remove("normalize_first");
        let mut old: WordVectors = serde_json::from_value(json).unwrap();
        old.vectors = wv.vectors.clone(); // a model keeps them as a tensor
        old.rebuild_index();
        assert!(!old.normalize_first);
        let mut want = wv.raw(&d);
        for row in want.chunks_mut(3) {
            row.iter_mut().zip(&old.mean).for_each(|(a, &m)| *a -= m);
        }
        crate::rows::l2_normalize_rows(&mut want, 3);
        assert_eq!(old.transform(&d), want);
        assert_ne!(old.transform(&d), out);
    }
}
