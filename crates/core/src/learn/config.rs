//! What training the encoder is told and what it reports: its settings
//! ([`TrainConfig`], saved in the model), the per-epoch and per-step logs,
//! progress events and errors. Kept apart from the training loop so that
//! checkpoints, the objectives and the model read them without importing
//! the loop.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::augment::AugmentConfig;
use crate::nn::encoder::EncoderConfig;
use crate::nn::optim::NonFinite;

/// Every hyper-parameter of contrastive training; saved in the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The encoder (its `vocab` is set from the vocabulary).
    pub encoder: EncoderConfig,
    /// Texts are truncated to this many tokens.
    pub max_len: usize,
    /// Texts per batch (each gives two views).
    pub batch_size: usize,
    /// Passes over the training split.
    pub epochs: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// AdamW's decoupled weight decay (L2).
    pub weight_decay: f64,
    /// L1 penalty on all weights.
    pub l1: f64,
    /// Fraction of the steps spent warming up.
    pub warmup_fraction: f64,
    /// Clip gradients to this global norm (0 disables).
    pub clip: f64,
    /// InfoNCE temperature.
    pub temperature: f64,
    /// View augmentation.
    pub augment: AugmentConfig,
    /// Held-out fraction for early stopping.
    pub val_fraction: f64,
    /// Stop after this many epochs without a better validation loss.
    pub patience: usize,
    /// Seed of everything random.
    pub seed: u64,
    /// Divergence recoveries (undo, halve the learning rate) before giving up.
    #[serde(default = "default_recoveries")]
    pub max_recoveries: usize,
    /// What the encoder learns from (contrastive by default, and then not
    /// written, so that models trained with it load in older builds).
    #[serde(default, skip_serializing_if = "Objective::is_contrastive")]
    pub objective: Objective,
    /// The learning-rate schedule after the warm-up (cosine decay by
    /// default, and then not written).
    #[serde(default, skip_serializing_if = "Decay::is_cosine")]
    pub decay: Decay,
    /// Where to checkpoint (not a hyper-parameter: not saved, no effect on the model).
    #[serde(skip)]
    pub checkpoint: Option<CheckpointConfig>,
    /// Test hook: steps whose loss is replaced by NaN once.
    #[doc(hidden)]
    #[serde(skip)]
    pub fault_nan_at: Vec<u64>,
}

fn default_recoveries() -> usize {
    5
}

/// How the learning rate goes after the warm-up (`warmup_fraction` of the
/// steps, linear from 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decay {
    /// Cosine down to 5% of the peak at the last step.
    #[default]
    Cosine,
    /// Linear down to 0 at the last step.
    Linear,
    /// The peak rate throughout (no warm-up either).
    Constant,
}

impl Decay {
    /// Whether it is the default, cosine decay.
    pub fn is_cosine(&self) -> bool {
        *self == Decay::Cosine
    }
}

/// The encoder's training objective.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Two augmented views of each text must encode closer to each other
    /// than to the batch's other texts (InfoNCE).
    #[default]
    Contrastive,
    /// Each direction predicts the neighbouring token (bidirectional
    /// language model, sampled softmax; [`super::lm`]).
    LanguageModel,
}

impl Objective {
    /// Whether it is the default, contrastive objective.
    pub fn is_contrastive(&self) -> bool {
        *self == Objective::Contrastive
    }
}

/// One training step as logged in the model (for training curves).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepLog {
    /// 1-based step.
    pub step: u64,
    /// 1-based epoch.
    pub epoch: usize,
    /// The step's loss (NaN, saved as null, for a step that diverged and was undone).
    #[serde(deserialize_with = "null_as_nan")]
    pub loss: f64,
    /// The step's learning rate.
    pub lr: f64,
}

/// Why training stopped without a model.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Non-finite losses or gradients kept coming back after recoveries.
    #[error("training diverged: {last} (after {recoveries} recoveries, each undoing to the last good state and halving the learning rate){kept}; lower --lr or raise --clip")]
    Diverged {
        /// The last non-finite value found.
        last: NonFinite,
        /// Recoveries made.
        recoveries: usize,
        /// Where the last good checkpoint is, if one was written.
        kept: String,
    },
    /// A checkpoint could not be written or read.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
}

/// A number that JSON saved as null (serde_json writes NaN so) read back as NaN.
fn null_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// One epoch's record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    #[serde(deserialize_with = "null_as_nan")]
    pub train_loss: f64,
    /// Validation loss (fixed views, no dropout); NaN (saved as null) when
    /// the corpus is too small to hold texts out.
    #[serde(deserialize_with = "null_as_nan")]
    pub val_loss: f64,
    /// Learning rate at the end of the epoch.
    pub lr: f64,
    /// Wall time of the epoch (not saved: a model's bytes depend only on data, seed and threads).
    #[serde(skip, default)]
    pub seconds: f64,
}

/// The stages of training a model, in order, as progress reports name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Normalizing and segmenting the texts.
    Tokenize,
    /// Vocabulary, TF-IDF and corpus word vectors.
    Features,
    /// Contrastive training of the encoder (one report per step).
    Train,
    /// Representing every text (encoder, SIF, LSA).
    Represent,
    /// Choosing k or the feature weights, k-means, self-training.
    Cluster,
    /// Weak supervision from seed words: one report per self-training round.
    SeedRound,
    /// Top terms, names, representative texts.
    Describe,
}

impl Stage {
    /// Lower-case name for progress bars and logs.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Tokenize => "tokenize",
            Stage::Features => "vocabulary and features",
            Stage::Train => "train",
            Stage::Represent => "represent",
            Stage::Cluster => "cluster",
            Stage::SeedRound => "self-training from seed words",
            Stage::Describe => "describe",
        }
    }
}

/// A progress report: the start of a stage, or one training step.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// The stage.
    pub stage: Stage,
    /// 1-based epoch.
    pub epoch: usize,
    /// Steps done in total.
    pub step: u64,
    /// Steps planned in total.
    pub total_steps: u64,
    /// This step's loss.
    pub loss: f64,
    /// This step's learning rate.
    pub lr: f64,
}

impl Progress {
    /// The start of a stage other than a training step.
    pub fn start(stage: Stage) -> Progress {
        Progress {
            stage,
            epoch: 0,
            step: 0,
            total_steps: 0,
            loss: f64::NAN,
            lr: f64::NAN,
        }
    }
}

/// Where and how often to checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointConfig {
    /// The checkpoint file.
    pub path: PathBuf,
    /// Write one every this many optimizer steps (and at each epoch's end).
    pub every: u64,
    /// Continue from `path` when it exists.
    pub resume: bool,
}
