//! How a text gets its cluster (or seed class): one [`Assigner`], chosen
//! when the model is fitted and again when it is loaded, read by `predict`,
//! `serve` and the report alike.

use super::represent::Parts;
use super::Model;
use crate::cluster::head;
use crate::features::Tfidf;
use crate::nn::gemm::Threads;
use crate::nn::linear::Linear;
use crate::nn::loss::dec_soft_assign;
use crate::rows::argmax_rows;

/// The rule that assigns a represented text to a cluster.
pub enum Assigner {
    /// The nearest centroid, with a Student-t soft assignment as its score:
    /// models saved before the cluster classifier existed, and `--head-c 0`.
    NearestCentroid,
    /// The cluster classifier over the representation, and with it, its
    /// lexical partner over the texts' character n-grams (their TF-IDF model
    /// and the classifier), whose probabilities multiply its own (see
    /// [`head::fit_pair`] and [`super::lexical_terms`]).
    Classifier {
        /// Softmax regression over the representation `(K, D)`.
        linear: Linear<f32>,
        /// The lexical classifier and the TF-IDF model of its n-grams.
        lexical: Option<(Tfidf, head::Lexical)>,
    },
    /// Seed words: a classifier head over the RNN's pooled output and, when
    /// the seed-word model has one, the feature classifier over the
    /// representation (zero weights on the RNN block), whose logits
    /// combine with the RNN classifier's probabilities
    /// ([`crate::learn::weak::combine`]).
    Seeded {
        /// The RNN classifier `(K, d)`.
        rnn: Linear<f32>,
        /// The feature classifier `(K, D)`.
        features: Option<Linear<f32>>,
    },
}

impl Assigner {
    /// The TF-IDF model of the lexical classifier's n-grams, when there is one.
    pub fn lexical_tfidf(&self) -> Option<&Tfidf> {
        match self {
            Assigner::Classifier {
                lexical: Some((t, _)),
                ..
            } => Some(t),
            _ => None,
        }
    }

    /// A short name for logs and the report.
    pub fn kind(&self) -> &'static str {
        match self {
            Assigner::NearestCentroid => "nearest centroid",
            Assigner::Classifier { lexical: None, .. } => "cluster classifier",
            Assigner::Classifier { .. } => "cluster and lexical classifiers",
            Assigner::Seeded { features: None, .. } => "seed-word RNN classifier",
            Assigner::Seeded { .. } => "seed-word RNN and feature classifiers",
        }
    }
}

/// Nearest centroid and its Student-t soft-assignment probability, per row of `z (N, D)`.
pub fn assign(z: &[f32], d: usize, centroids: &[f32]) -> (Vec<usize>, Vec<f32>) {
    let q = dec_soft_assign(z, centroids, d);
    argmax_rows(&q, centroids.len() / d.max(1))
}

impl Model {
    /// Cluster (or seed class) and probability of each text.
    pub fn predict(&self, texts: &[&str], threads: Threads) -> (Vec<usize>, Vec<f32>) {
        match &self.assigner {
            Assigner::Seeded {
                rnn,
                features: None,
            } => self.predict_rnn(rnn, texts, threads),
            _ => {
                let parts = self.represent_parts(texts, threads);
                self.classify_parts(texts, &parts, threads)
            }
        }
    }

    /// Representations `(N, D)` of texts and their predictions, as
    /// [`Model::represent`] and [`Model::predict`] give them, tokenizing the
    /// texts once for both (the seed-word RNN classifier alone reads them again).
    #[allow(clippy::type_complexity)]
    pub fn represent_and_predict(
        &self,
        texts: &[&str],
        threads: Threads,
    ) -> (Vec<f32>, (Vec<usize>, Vec<f32>)) {
        let parts = self.represent_parts(texts, threads);
        let pred = self.classify_parts(texts, &parts, threads);
        (parts.z, pred)
    }

    /// Cluster (or seed class) and probability of `texts` from their
    /// [`Model::represent_parts`].
    fn classify_parts(
        &self,
        texts: &[&str],
        parts: &Parts,
        threads: Threads,
    ) -> (Vec<usize>, Vec<f32>) {
        let dim = self.dim();
        match &self.assigner {
            Assigner::NearestCentroid => assign(&parts.z, dim, &self.centroids),
            Assigner::Classifier { linear, lexical } => {
                let lexical = lexical.as_ref().map(|(_, l)| l).zip(parts.x.as_ref());
                head::predict_with(linear, &parts.z, dim, lexical, threads)
            }
            Assigner::Seeded {
                rnn,
                features: Some(features),
            } => {
                let k = rnn.output_dim();
                let n = parts.z.len() / dim.max(1);
                let (mut probs, mut logits) = (Vec::new(), Vec::new());
                rnn.forward(&parts.pooled, n, &mut probs, threads);
                crate::rows::softmax_rows(&mut probs, k);
                features.forward(&parts.z, n, &mut logits, threads);
                let share = self.manifest.config.weak.rnn_share;
                argmax_rows(&crate::learn::weak::combine(&probs, &logits, k, share), k)
            }
            // The RNN classifier alone reads the texts' token ids.
            Assigner::Seeded {
                rnn,
                features: None,
            } => self.predict_rnn(rnn, texts, threads),
        }
    }

    /// Class probabilities from the seed-word classifier head over the RNN.
    fn predict_rnn(
        &self,
        rnn: &Linear<f32>,
        texts: &[&str],
        threads: Threads,
    ) -> (Vec<usize>, Vec<f32>) {
        let seqs = self.rnn_ids(texts);
        let p = crate::learn::classifier::classify(
            &self.encoder,
            rnn,
            &seqs,
            self.manifest.config.train.max_len,
            self.prepared_for(&seqs, threads),
            threads,
        );
        argmax_rows(&p, rnn.output_dim())
    }
}
