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

/// The `n` most probable clusters of one text's probability row (as
/// [`Model::classify_with_probabilities`] gives them), most probable first;
/// among equals the text's own `cluster` first (a text with no known term
/// has the uniform row), then by id.
pub fn top_clusters(row: &[f32], cluster: usize, n: usize) -> Vec<(usize, f32)> {
    let mut ids: Vec<usize> = (0..row.len()).collect();
    ids.sort_by(|&a, &b| {
        row[b]
            .total_cmp(&row[a])
            .then((a != cluster).cmp(&(b != cluster)))
            .then(a.cmp(&b))
    });
    ids.into_iter().take(n).map(|c| (c, row[c])).collect()
}

/// A probability as `predict` and `serve` write it: 4 decimals.
pub fn rounded(p: f32) -> f64 {
    (p as f64 * 1e4).round() / 1e4
}

/// What the model says of each of N texts.
#[derive(Clone, Debug, PartialEq)]
pub struct Predictions {
    /// Cluster (or seed class) of each text.
    pub labels: Vec<usize>,
    /// The probability that the text belongs with that cluster (calibrated
    /// in models that have a calibration; `1 / K` for a text with no term
    /// the model knows).
    pub scores: Vec<f32>,
    /// The model cannot vouch for the text: it has no term the model knows,
    /// or it lies farther from its cluster's centroid than all but 1% of
    /// the training texts (see [`crate::cluster::calibrate`]).
    pub low_confidence: Vec<bool>,
}

impl Model {
    /// One text's result as `predict` and `serve` write it: `{"cluster",
    /// "name", "score", "low_confidence"}`, with `"top"` (the `top` most
    /// probable clusters as `{"cluster", "name", "score"}`) and
    /// `"probabilities"` (every id's, indexed by id; 0 for an id that
    /// merges or splits retired) when asked. `position` indexes the model's
    /// clusters as predictions do; `row` is the text's probabilities.
    pub fn result_json(
        &self,
        position: usize,
        score: f32,
        low_confidence: bool,
        row: &[f32],
        top: Option<usize>,
        all_probabilities: bool,
    ) -> serde_json::Value {
        let clusters = &self.manifest.clusters;
        let mut v = serde_json::json!({
            "cluster": clusters[position].id,
            "name": clusters[position].name,
            "score": rounded(score),
            "low_confidence": low_confidence,
        });
        if let Some(n) = top {
            v["top"] = top_clusters(row, position, n)
                .into_iter()
                .map(|(c, p)| {
                    serde_json::json!({"cluster": clusters[c].id, "name": clusters[c].name, "score": rounded(p)})
                })
                .collect();
        }
        if all_probabilities {
            let mut by_id = vec![0.0; self.next_id()];
            for (c, &p) in clusters.iter().zip(row) {
                by_id[c.id] = rounded(p);
            }
            v["probabilities"] = by_id.into();
        }
        v
    }

    /// Cluster (or seed class) and probability of each text.
    pub fn predict(&self, texts: &[&str], threads: Threads) -> (Vec<usize>, Vec<f32>) {
        let p = self.classify(texts, threads);
        (p.labels, p.scores)
    }

    /// Cluster, probability and a low-confidence flag for each text.
    pub fn classify(&self, texts: &[&str], threads: Threads) -> Predictions {
        self.classify_with_probabilities(texts, threads).0
    }

    /// [`Model::classify`] and each text's probability of every cluster
    /// (or seed class), `(N, K)` row-major: the distribution whose largest
    /// entry is the text's score (calibrated where the model has a
    /// calibration). A text with no term the model knows gets the uniform
    /// row `1 / K`, as its score is then `1 / K`.
    pub fn classify_with_probabilities(
        &self,
        texts: &[&str],
        threads: Threads,
    ) -> (Predictions, Vec<f32>) {
        let (mut probs, k, known, far) = match &self.assigner {
            Assigner::Seeded {
                rnn,
                features: None,
            } => {
                let probs = self.rnn_probabilities(rnn, texts, threads);
                let cfg = &self.manifest.config;
                let known: Vec<(u32, f32)> = texts
                    .iter()
                    .map(|t| {
                        let words = crate::features::Tfidf::terms_of(
                            &self.tfidf.config,
                            cfg.pipeline.tokenize(t),
                        );
                        self.known_terms(&words)
                    })
                    .collect();
                (probs, rnn.output_dim(), known, vec![false; texts.len()])
            }
            _ => {
                let parts = self.represent_parts(texts, threads);
                let (probs, k) = self.probabilities_of(texts, &parts, threads);
                let (labels, _) = argmax_rows(&probs, k);
                let far = self.unusual(&parts.z, &labels, &parts.known);
                (probs, k, parts.known, far)
            }
        };
        let (labels, scores) = argmax_rows(&probs, k);
        for (row, kn) in probs.chunks_mut(k.max(1)).zip(&known) {
            if kn.0 == 0 {
                row.fill(1.0 / k.max(1) as f32);
            }
        }
        (self.flag(labels, scores, &known, &far), probs)
    }

    /// Apply the floor and flags to raw predictions: a text with no known
    /// term scores `1 / K`; it and the `unusual` ones are low-confidence.
    pub(crate) fn flag(
        &self,
        labels: Vec<usize>,
        mut scores: Vec<f32>,
        known: &[(u32, f32)],
        unusual: &[bool],
    ) -> Predictions {
        let k = self.manifest.clusters.len().max(1);
        for (s, &kn) in scores.iter_mut().zip(known) {
            if kn.0 == 0 {
                *s = 1.0 / k as f32;
            }
        }
        let low_confidence = known
            .iter()
            .zip(unusual)
            .map(|(&kn, &u)| kn.0 == 0 || u)
            .collect();
        Predictions {
            labels,
            scores,
            low_confidence,
        }
    }

    /// Whether each text is less like the training texts than all but 1%
    /// of them: farther from its cluster's centroid, or with a smaller share
    /// of known terms (never, without a calibration). Not by how many terms
    /// it has: a headline is a fine input to a model of headlines with
    /// their descriptions.
    fn unusual(&self, z: &[f32], labels: &[usize], known: &[(u32, f32)]) -> Vec<bool> {
        let Some(cal) = &self.manifest.calibration else {
            return vec![false; labels.len()];
        };
        let sims =
            crate::cluster::calibrate::centroid_similarity(z, self.dim(), &self.centroids, labels);
        sims.iter()
            .zip(known)
            .map(|(&s, &(_, share))| s < cal.min_similarity || share < cal.min_known_share)
            .collect()
    }

    /// Predictions of `texts` from their [`Model::represent_parts`], as
    /// [`Model::classify`] gives them (any assigner that reads the
    /// representation: not the seed-word RNN classifier alone).
    pub(crate) fn predictions_of(
        &self,
        texts: &[&str],
        parts: &Parts,
        threads: Threads,
    ) -> Predictions {
        let (probs, k) = self.probabilities_of(texts, parts, threads);
        let (labels, scores) = argmax_rows(&probs, k);
        let far = self.unusual(&parts.z, &labels, &parts.known);
        self.flag(labels, scores, &parts.known, &far)
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
        let (labels, scores) = self.classify_parts(texts, &parts, threads);
        let far = vec![false; labels.len()];
        let p = self.flag(labels, scores, &parts.known, &far);
        (parts.z, (p.labels, p.scores))
    }

    /// Cluster (or seed class) and probability of `texts` from their
    /// [`Model::represent_parts`].
    fn classify_parts(
        &self,
        texts: &[&str],
        parts: &Parts,
        threads: Threads,
    ) -> (Vec<usize>, Vec<f32>) {
        let (probs, k) = self.probabilities_of(texts, parts, threads);
        argmax_rows(&probs, k)
    }

    /// Each text's probability of every cluster (or seed class), `(N, K)`
    /// row-major ([`Model::classify_with_probabilities`]).
    pub fn probabilities(&self, texts: &[&str], threads: Threads) -> Vec<f32> {
        self.classify_with_probabilities(texts, threads).1
    }

    /// `(N, K)` probabilities of `texts` from their [`Model::represent_parts`], and K.
    fn probabilities_of(
        &self,
        texts: &[&str],
        parts: &Parts,
        threads: Threads,
    ) -> (Vec<f32>, usize) {
        let dim = self.dim();
        let (probs, k) = match &self.assigner {
            Assigner::NearestCentroid => {
                let trained = self.trained_centroids();
                (
                    dec_soft_assign(&parts.z, trained, dim),
                    trained.len() / dim.max(1),
                )
            }
            Assigner::Classifier { linear, lexical } => {
                let lexical = lexical.as_ref().map(|(_, l)| l).zip(parts.x.as_ref());
                let mut logits = head::logits_with(linear, &parts.z, dim, lexical, threads);
                if let Some(cal) = &self.manifest.calibration {
                    crate::cluster::calibrate::scale(&mut logits, cal.temperature);
                }
                crate::rows::softmax_rows(&mut logits, linear.output_dim());
                (logits, linear.output_dim())
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
                (crate::learn::weak::combine(&probs, &logits, k, share), k)
            }
            // The RNN classifier alone reads the texts' token ids.
            Assigner::Seeded {
                rnn,
                features: None,
            } => (
                self.rnn_probabilities(rnn, texts, threads),
                rnn.output_dim(),
            ),
        };
        self.apply_edits(probs, k, &parts.z, threads)
    }

    /// Class probabilities `(N, K)` from the seed-word classifier head over the RNN.
    fn rnn_probabilities(&self, rnn: &Linear<f32>, texts: &[&str], threads: Threads) -> Vec<f32> {
        let seqs = self.rnn_ids(texts);
        crate::learn::classifier::classify(
            &self.encoder,
            rnn,
            &seqs,
            self.manifest.config.train.max_len,
            self.prepared_for(&seqs, threads),
            threads,
        )
    }
}
