//! The whole model a user trains, saves, loads and predicts with, one
//! concern per file:
//!
//! - [`config`]: every setting ([`ModelConfig`]) and the one place that
//!   decides defaults, corpus-adaptive ones included ([`ModelConfig::for_corpus`]).
//! - [`tokens`]: what each block reads of a text (the RNN's tokens, the
//!   lexical classifier's character n-grams).
//! - [`represent`]: the `[SIF ; RNN ; LSA]` representation, built by one
//!   function for training, `predict` and `serve`.
//! - [`partition`]: k-means with the k-NN graph step and its guards.
//! - [`assign`](mod@assign): how a text gets its cluster ([`Assigner`]), chosen at fit
//!   and at load.
//! - [`fit`]: training as a sequence of named stages.
//! - [`clusters`]: describing the clusters from texts.
//! - [`tree`]: how the clusters group (Ward's linkage on their centroids).
//! - [`edit`]: merging and splitting clusters of a trained model.
//! - [`update`]: updating a trained model with new texts.
//! - [`format`](mod@format): the checksummed model directory (save, load, rename).
//! - [`select`]: choosing the encoder among candidates (`--select`).
//! - [`experimental`]: paths that are off by default because they measured
//!   worse or no better (self-training, DEC, `--weights auto`).
//!
//! The model directory holds `model.json` (format version, every
//! hyper-parameter, training log, clusters, SHA-256 of every other file),
//! `pipeline.json`, `vocab.json`, `tfidf.json`, `wordvec.json` and
//! `weights.safetensors`; see `docs/model-format.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cluster::graph::GraphLog;
use crate::cluster::head::HeadLog;
use crate::cluster::KMeansError;
use crate::features::{Tfidf, WordVectors};
use crate::learn::{EpochLog, TrainError};
use crate::nn::encoder::{Encoder, Prepared};
use crate::nn::optim::NonFinite;
use crate::vocab::Vocab;

pub mod assign;
pub mod clusters;
pub mod config;
pub mod edit;
pub mod experimental;
pub mod fit;
pub mod format;
pub mod partition;
pub mod represent;
pub mod select;
pub mod tokens;
pub mod tree;
pub mod update;

pub use crate::learn::StepLog;
pub use assign::{assign, top_clusters, Assigner, Predictions};
pub use config::{CorpusProfile, FeatureWeights, ModelConfig, K_AUTO_RANGE};
pub use fit::check_clusterable;
pub use tokens::{lexical_terms, rnn_tokens};

/// The model directory format this build writes and reads. Version 2 added
/// the cluster classifier (`clusters.head.*`), version 3 the lexical
/// classifier (`clusters.lexical.*`); version 1 models still load and assign
/// texts to the nearest centroid, version 2 models use the cluster
/// classifier alone; version 4 the seed-word models' feature classifier
/// (`clusters.head.*` beside `head.*`, see [`crate::learn::weak::feature_head`]):
/// older builds would have run those models with the RNN classifier alone,
/// so they refuse them, and version 1-3 seed-word models load with it off;
/// version 5 edited clusters (`edits`, replayed by every prediction, with
/// `split.I.*` classifiers and `base.centroids`), which older builds would
/// ignore, so an edited model is written as version 5 and older builds
/// refuse it; an unedited one is still written as version 4
/// ([`UNEDITED_FORMAT_VERSION`]), which they read.
pub const FORMAT_VERSION: u32 = 5;

/// The version a model without edits is written as: the last format
/// before edits existed, so that older builds still read new models.
pub const UNEDITED_FORMAT_VERSION: u32 = 4;

/// One encoder tried by [`Model::fit_select`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Cell.
    pub cell: crate::nn::rnn::Cell,
    /// Hidden size per direction.
    pub hidden: usize,
    /// Mean silhouette of the held-out texts' representations under the
    /// candidate's own clusters (higher is better).
    pub heldout_silhouette: f64,
    /// True for the one kept.
    pub chosen: bool,
}

/// One cluster as saved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// Id.
    pub id: usize,
    /// Name (suggested from the top terms; users may rename).
    pub name: String,
    /// Training texts in it.
    pub size: usize,
    /// Top terms by class-based TF-IDF.
    pub top_terms: Vec<String>,
    /// The most representative training texts (highest assignment score).
    #[serde(default)]
    pub examples: Vec<String>,
    /// Class-based TF-IDF score of each top term (empty in models from before it was saved).
    #[serde(default)]
    pub top_scores: Vec<f32>,
    /// The name is a user's ([`Model::rename`]), which describing the
    /// clusters anew keeps.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub renamed: bool,
}

/// `model.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Always "textrnn-model".
    pub format: String,
    /// [`FORMAT_VERSION`] of the writer.
    pub version: u32,
    /// Hyper-parameters.
    pub config: ModelConfig,
    /// What the corpus-adaptive defaults read of the training corpus (absent
    /// in models from before it was saved, and where the caller did not
    /// measure it).
    #[serde(default)]
    pub profile: Option<CorpusProfile>,
    /// The field the training texts were read from (`--text-field`), which
    /// `predict`, `eval` and `report` read by default (absent in models from
    /// before it was saved, and where the texts came as strings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_field: Option<String>,
    /// The input format the training texts were read in when `--format`
    /// forced it: `predict`, `eval` and `report` read inputs whose name
    /// does not say their format (stdin, unknown extensions) the same way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_format: Option<crate::corpus::Format>,
    /// Per-epoch training log.
    pub training: Vec<EpochLog>,
    /// Per-step loss and learning rate of the encoder's training.
    #[serde(default)]
    pub training_steps: Vec<StepLog>,
    /// Clusters.
    pub clusters: Vec<ClusterInfo>,
    /// With `k_auto`: the score of each k tried (the full evidence is
    /// `k_choice`; models before 0.5 saved silhouettes here).
    #[serde(default)]
    pub k_selection: Vec<(usize, f64)>,
    /// With `k_auto`: how k was chosen.
    #[serde(default)]
    pub k_choice: Option<crate::cluster::select::KChoice>,
    /// With `fit_select`: each candidate encoder and its held-out silhouette.
    #[serde(default)]
    pub selection: Vec<Candidate>,
    /// With `weights_auto`: each candidate weighting and its consensus score.
    #[serde(default)]
    pub weight_selection: Vec<(FeatureWeights, f64)>,
    /// With the graph step: cluster balances and whether its partition was kept.
    #[serde(default)]
    pub graph: Option<GraphLog>,
    /// With the cluster classifier: how its fit went.
    #[serde(default)]
    pub cluster_head: Option<HeadLog>,
    /// With the lexical classifier: how its fit went.
    #[serde(default)]
    pub lexical_head: Option<HeadLog>,
    /// With seed words: what the weak supervision did.
    #[serde(default)]
    pub weak: Option<crate::learn::weak::WeakLog>,
    /// What the DEC refinement did (absent without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dec: Option<crate::learn::dec::DecLog>,
    /// How the cluster classifier's scores were calibrated (absent in
    /// models from before calibration, whose scores are the raw softmax).
    #[serde(default)]
    pub calibration: Option<crate::cluster::calibrate::Calibration>,
    /// Merges and splits of the trained clusters, in order: the history a
    /// user reads and the steps every prediction replays ([`edit`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<edit::Edit>,
    /// Each update with new texts, in order ([`update`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub updates: Vec<update::UpdateLog>,
    /// SHA-256 (hex) of each other file.
    pub files: BTreeMap<String, String>,
}

/// A trained model in memory.
pub struct Model {
    /// `model.json` contents.
    pub manifest: Manifest,
    /// Vocabulary.
    pub vocab: Vocab,
    /// The encoder.
    pub encoder: Encoder<f32>,
    /// TF-IDF of the LSA half.
    pub tfidf: Tfidf,
    /// LSA components `(M, lsa_dims)`.
    pub lsa: Vec<f32>,
    /// Word vectors of the SIF block.
    pub wordvec: WordVectors,
    /// Centroids `(K, D)`: each cluster's (or seed class's) mean
    /// representation, in the order of `manifest.clusters`.
    pub centroids: Vec<f32>,
    /// How a text gets its cluster.
    pub assigner: Assigner,
    /// The trained centroids, once edits have changed `centroids` (the
    /// nearest-centroid rule reads them).
    base_centroids: Option<Vec<f32>>,
    /// Each split's classifier `(parts, D)`, in the order of the edits.
    splits: Vec<crate::nn::linear::Linear<f32>>,
    /// The encoder's prepared inference state (packed weights, folded input
    /// tables), built once by the first call whose size pays for the tables
    /// (or by [`Model::prepare_inference`]) and kept: `encoder` must not
    /// change after a model starts predicting.
    pub(crate) prepared: std::sync::OnceLock<Prepared<f32>>,
}

/// Errors from saving or loading a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// File system.
    #[error("{path}: {err}")]
    Io {
        /// Path.
        path: String,
        /// Cause (in the message, not as a source: the CLI prints the
        /// chain, which would repeat it).
        err: std::io::Error,
    },
    /// A file is missing, corrupt, or from another version.
    #[error("{path}: {problem}")]
    Invalid {
        /// Path.
        path: String,
        /// What is wrong.
        problem: String,
    },
}

/// Why training failed. Typed, so that callers decide by kind (for
/// example, whether a checkpoint is worth keeping) and never by message.
#[derive(Debug, thiserror::Error)]
pub enum FitError {
    /// Seed words were given and no text contains one.
    #[error("no text contains a seed word (or every match is tied); check the seed words' language and spelling")]
    NoSeedMatch,
    /// Every text is blank.
    #[error("the texts contain no tokens (only blanks or control characters)")]
    NoTokens,
    /// No token is frequent enough to enter the vocabulary.
    #[error(
        "no token occurs at least {min_count} times; use a larger corpus or a lower --min-count"
    )]
    RareTokens {
        /// The vocabulary's minimum count.
        min_count: u64,
    },
    /// Training the encoder failed (divergence, checkpoint I/O).
    #[error(transparent)]
    Train(#[from] TrainError),
    /// A later training step (seed-word classifier, self-training, DEC) met a NaN or Inf.
    #[error(transparent)]
    NonFinite(#[from] NonFinite),
    /// The texts cannot be clustered into k groups.
    #[error(transparent)]
    KMeans(#[from] KMeansError),
    /// [`Model::fit_select`] was given no candidates.
    #[error("the selection grid is empty")]
    EmptyGrid,
}

impl FitError {
    /// True when the encoder's training diverged: its last good checkpoint
    /// is then worth keeping for a `--resume` with a lower learning rate.
    pub fn diverged(&self) -> bool {
        matches!(self, FitError::Train(TrainError::Diverged { .. }))
    }
}

/// The result of training: the model and each training text's cluster and score.
pub struct Fitted {
    /// The model.
    pub model: Model,
    /// Cluster of each text.
    pub labels: Vec<usize>,
    /// Soft-assignment probability of that cluster.
    pub scores: Vec<f32>,
}
