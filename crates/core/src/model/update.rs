//! Updating a trained model with new unlabeled texts (`textrnn update`)
//! without renumbering its clusters.
//!
//! 1. The model as it is labels the new texts; texts it cannot vouch for
//!    (low confidence: farther from their cluster than all but 1% of the
//!    training texts) are candidates for new clusters.
//! 2. Optionally the encoder goes on training on the new texts
//!    ([`UpdateConfig::epochs`]; the vocabulary, word vectors and LSA stay
//!    as trained, so words the model never saw still count for nothing).
//! 3. New clusters: the candidates are clustered into `N` groups
//!    ([`NewClusters`]); a group becomes a cluster (the next ids) when it
//!    holds at least half as many texts as a cluster does on average in the
//!    new texts and is as tight as the model's typical cluster (its texts'
//!    mean squared distance to their mean at most the median of the old
//!    clusters' on the new texts: texts that fit nowhere are mostly a loose
//!    bag of outliers, a topic the model never saw is a tight group); the
//!    rest stay where the model put them (docs/usage.md, "Updating").
//! 4. The cluster and lexical classifiers are fitted again on the new
//!    texts (labelled as above) together with each old cluster's saved
//!    representative texts, so a cluster the new texts do not visit keeps
//!    its place; the scores are calibrated again on the new texts.
//! 5. Old clusters keep their ids and names; their sizes add the new texts
//!    they get, their top terms join the old ones with the new texts'
//!    (size-weighted). New clusters are described from their texts.

use serde::{Deserialize, Serialize};

use super::clusters::{describe_with, group_terms, TOP_TERMS};
use super::{Assigner, ClusterInfo, Model};
use crate::cluster::{calibrate, head, KMeans, KMeansConfig, Points};
use crate::features::Csr;
use crate::learn::{continue_contrastive, Progress, TrainError};
use crate::nn::gemm::Threads;
use crate::rows::class_means;

/// How many new clusters an update may add.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NewClusters {
    /// As many as the candidates fill (each at least half the mean cluster
    /// size in the new texts), at most [`MAX_AUTO_NEW`].
    Auto,
    /// Cluster the candidates into this many groups (0: none), keeping
    /// those big enough.
    Exactly(usize),
}

/// The most new clusters `--new-clusters auto` adds at once.
pub const MAX_AUTO_NEW: usize = 10;

/// Settings of an update.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateConfig {
    /// Epochs of further encoder training on the new texts (0: the encoder stays).
    pub epochs: usize,
    /// New clusters.
    pub new_clusters: NewClusters,
}

/// What an update did, kept in `model.json` (`updates`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateLog {
    /// Where the new texts came from.
    pub source: String,
    /// How many.
    pub texts: usize,
    /// Epochs the encoder went on training.
    pub epochs: usize,
    /// New texts the model could not vouch for (candidates for new clusters).
    pub candidates: usize,
    /// Ids of the clusters added.
    pub new_clusters: Vec<usize>,
    /// Share of the new texts whose cluster after the update differs from
    /// the one the model gave them before it.
    pub moved: f64,
}

/// Why an update was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// Seed-word models, edited models and nearest-centroid models.
    #[error("{0}")]
    Unsupported(&'static str),
    /// No new texts.
    #[error("no new texts to update with")]
    Empty,
    /// The encoder's further training failed.
    #[error(transparent)]
    Train(#[from] TrainError),
}

impl Model {
    /// Update the model with new texts `texts` (from `source`): see the
    /// module documentation. Returns each new text's cluster (position) and
    /// the log. On an error the model is as it was (the checks come first,
    /// and the encoder is replaced only once its training succeeded).
    pub fn update(
        &mut self,
        texts: &[&str],
        source: &str,
        cfg: &UpdateConfig,
        threads: Threads,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(Vec<usize>, UpdateLog), UpdateError> {
        if texts.is_empty() {
            return Err(UpdateError::Empty);
        }
        if !self.manifest.edits.is_empty() {
            return Err(UpdateError::Unsupported(
                "the model's clusters were merged or split: update the model from before the edits (or train again) and edit after",
            ));
        }
        let Assigner::Classifier { lexical, .. } = &self.assigner else {
            return Err(UpdateError::Unsupported(
                "only models whose clusters a classifier assigns can be updated (not seed-word or --head-c 0 models)",
            ));
        };
        let lexical_tfidf = lexical.as_ref().map(|(t, _)| t.clone());
        let k_old = self.manifest.clusters.len();
        // The new texts and each old cluster's representative texts, represented
        // once (again after the encoder trains on, where asked).
        let examples: Vec<(&str, usize)> = (self.manifest.clusters.iter().enumerate())
            .flat_map(|(p, c)| c.examples.iter().map(move |e| (e.as_str(), p)))
            .collect();
        let all: Vec<&str> = texts
            .iter()
            .copied()
            .chain(examples.iter().map(|e| e.0))
            .collect();
        let mut parts = self.represent_parts(&all, threads);
        let before = self.predictions_of(&all, &parts, threads);
        if cfg.epochs > 0 {
            let mut train = self.manifest.config.train.clone();
            train.epochs = cfg.epochs;
            train.checkpoint = None;
            let seqs = self.rnn_ids(texts);
            let (encoder, log, steps) =
                continue_contrastive(self.encoder.clone(), &seqs, &train, threads, progress)?;
            self.encoder = encoder;
            self.prepared = std::sync::OnceLock::new();
            let done = self.manifest.training.len();
            self.manifest.training.extend(log.into_iter().map(|mut e| {
                e.epoch += done;
                e
            }));
            self.manifest.training_steps.extend(steps);
            parts = self.represent_parts(&all, threads);
        }
        let d = self.dim();
        let n = texts.len();
        // New clusters among the candidates.
        let candidates: Vec<usize> = (0..n)
            .filter(|&i| before.low_confidence[i] && parts.known[i].0 > 0)
            .collect();
        let mut labels: Vec<usize> = (before.labels[..n].iter().copied())
            .chain(examples.iter().map(|e| e.1))
            .collect();
        let added = self.new_clusters(&parts.z, d, &candidates, n, k_old, cfg, &mut labels);
        let k = k_old + added;
        // The classifiers, fitted again; then the calibration.
        let x = parts.x.as_ref();
        let (linear, lexical, (fitted, _)) = self.refit(&parts.z, d, x, &labels, k, threads);
        let centroids = class_means(&parts.z, d, &fitted, k);
        let mc = &self.manifest.config;
        let widths = mc.block_widths(self.encoder.config.output_dim(), mc.weights);
        let (mut cal, scores) = calibrate::calibrate(
            &linear,
            lexical.as_ref().zip(x),
            &parts.z,
            &widths,
            &fitted,
            &centroids,
            self.manifest.config.train.seed,
            threads,
        );
        let shares: Vec<f32> = parts.known[..n].iter().map(|&(_, s)| s).collect();
        cal.min_known_share = calibrate::quantile(&shares, calibrate::FAR_QUANTILE);
        let moved = (0..n).filter(|&i| fitted[i] != before.labels[i]).count() as f64 / n as f64;
        // Clusters: old ones keep id and name; new ones are described.
        let terms = super::clusters::terms_of_texts(self, texts);
        let clusters = self.updated_clusters(texts, &terms, &fitted[..n], &scores[..n], k);
        self.manifest.clusters = clusters;
        self.manifest.config.k = k;
        self.manifest.calibration = Some(cal);
        self.centroids = centroids;
        self.assigner = Assigner::Classifier {
            linear,
            lexical: lexical_tfidf.zip(lexical),
        };
        let log = UpdateLog {
            source: source.to_string(),
            texts: n,
            epochs: cfg.epochs,
            candidates: candidates.len(),
            new_clusters: (k_old..k).collect(),
            moved,
        };
        self.manifest.updates.push(log.clone());
        let labels = fitted[..n].to_vec();
        Ok((labels, log))
    }

    /// Cluster the `candidates` (rows of `z`) into new clusters per `cfg`,
    /// relabelling them in `labels` as `k_old..`; returns how many were added.
    #[allow(clippy::too_many_arguments)]
    fn new_clusters(
        &self,
        z: &[f32],
        d: usize,
        candidates: &[usize],
        n: usize,
        k_old: usize,
        cfg: &UpdateConfig,
        labels: &mut [usize],
    ) -> usize {
        // A new cluster must hold half the texts an old one holds on average.
        let floor = (n as f64 / k_old.max(1) as f64 / 2.0).ceil().max(2.0) as usize;
        let groups = match cfg.new_clusters {
            NewClusters::Exactly(g) => g,
            NewClusters::Auto => (candidates.len() / floor).min(MAX_AUTO_NEW),
        }
        .min(candidates.len() / 2);
        if groups == 0 {
            return 0;
        }
        let rows: Vec<f32> = candidates
            .iter()
            .flat_map(|&i| z[i * d..(i + 1) * d].iter().copied())
            .collect();
        let km_cfg = KMeansConfig {
            n_init: self.manifest.config.n_init,
            ..KMeansConfig::new(groups, self.manifest.config.train.seed)
        };
        let Ok(km) = KMeans::fit(Points::Dense { x: &rows, d }, &km_cfg) else {
            return 0; // identical candidates: nothing new to tell apart
        };
        let mut counts = vec![0usize; groups];
        km.labels.iter().for_each(|&g| counts[g] += 1);
        // How tight each group is, beside the clusters the model has: the
        // mean squared distance of a cluster's new texts to their mean.
        let spread = |rows: &[f32], labels: &[usize], k: usize| -> Vec<f64> {
            let means = class_means(rows, d, labels, k);
            let mut sum = vec![0f64; k];
            let mut count = vec![0usize; k];
            for (row, &l) in rows.chunks(d).zip(labels) {
                let m = &means[l * d..(l + 1) * d];
                sum[l] += row
                    .iter()
                    .zip(m)
                    .map(|(a, b)| ((a - b) * (a - b)) as f64)
                    .sum::<f64>();
                count[l] += 1;
            }
            sum.iter()
                .zip(&count)
                .map(|(s, &c)| if c > 0 { s / c as f64 } else { f64::NAN })
                .collect()
        };
        let old = spread(&z[..n * d], &labels[..n], k_old);
        let new = spread(&rows, &km.labels, groups);
        tracing::info!(
            ?old,
            ?new,
            ?counts,
            floor,
            "update: spread of old clusters and candidate groups"
        );
        let mut typical: Vec<f64> = old.into_iter().filter(|v| v.is_finite()).collect();
        typical.sort_by(f64::total_cmp);
        let median = typical
            .get(typical.len() / 2)
            .copied()
            .unwrap_or(f64::INFINITY);
        let kept: Vec<usize> = (0..groups)
            .filter(|&g| counts[g] >= floor && new[g] <= median)
            .collect();
        for (&i, &g) in candidates.iter().zip(&km.labels) {
            if let Some(new) = kept.iter().position(|&x| x == g) {
                labels[i] = k_old + new;
            }
        }
        kept.len()
    }

    /// The cluster classifier and its lexical partner fitted on `z` (and the
    /// lexical rows `x`) with `labels`, as training fits them (without
    /// held-out refits, which would wear away the clusters the model has).
    #[allow(clippy::type_complexity)]
    fn refit(
        &self,
        z: &[f32],
        d: usize,
        x: Option<&Csr>,
        labels: &[usize],
        k: usize,
        threads: Threads,
    ) -> (
        crate::nn::linear::Linear<f32>,
        Option<head::Lexical>,
        (Vec<usize>, Vec<f32>),
    ) {
        let cfg = &self.manifest.config;
        let head_cfg = head::HeadConfig {
            holdout: 0.0,
            ..cfg.cluster_head
        };
        match x {
            Some(x) => {
                let (h, _, lex, _, pred) =
                    head::fit_pair(z, d, x, labels, k, &head_cfg, cfg.train.seed, threads);
                (h, Some(lex), pred)
            }
            None => {
                let (h, _, pred) = head::fit(z, d, labels, k, &head_cfg, threads);
                (h, None, pred)
            }
        }
    }

    /// The clusters after an update: each old one with the new texts it got
    /// added to its size and its top terms joined with theirs; new ones
    /// described from their texts.
    fn updated_clusters(
        &self,
        texts: &[&str],
        terms: &[Vec<String>],
        labels: &[usize],
        scores: &[f32],
        k: usize,
    ) -> Vec<ClusterInfo> {
        let cfg = &self.manifest.config;
        let fresh = describe_with(
            texts,
            terms,
            labels,
            scores,
            k,
            cfg.describe.min_term_freq,
            &[],
        );
        fresh
            .into_iter()
            .enumerate()
            .map(|(p, new)| match self.manifest.clusters.get(p) {
                None => new,
                Some(old) => {
                    let joined = group_terms(&[old, &new], TOP_TERMS);
                    ClusterInfo {
                        size: old.size + new.size,
                        top_terms: joined.iter().map(|(t, _)| t.clone()).collect(),
                        top_scores: joined.iter().map(|&(_, w)| w).collect(),
                        ..old.clone()
                    }
                }
            })
            .collect()
    }
}
