//! Stage 6: learning representations without labels.
//!
//! The main path: [`augment`] makes random views of a text; [`contrastive`]
//! trains the RNN encoder so two views of one text encode close together
//! and views of different texts apart (InfoNCE), with AdamW, warm-up +
//! cosine decay, gradient clipping and early stopping on a held-out split,
//! checkpoints ([`checkpoint`]) and divergence recovery; its settings and
//! logs are in [`config`]. With seed words, [`seeds`] and [`weak`] turn a
//! user's seed words into pseudo-labels and train an RNN [`classifier`] on
//! them.
//!
//! Experimental, off by default (docs/quality.md): the language-model
//! objective ([`lm`]), self-training on the clusters ([`self_train`]),
//! neighbour rounds ([`neighbors`]) and the DEC refinement ([`dec`]).
//!
//! Gold labels never reach this module (seed words are the user's own
//! guidance, not labeled texts).

pub mod augment;
pub mod checkpoint;
pub mod classifier;
pub mod config;
pub mod contrastive;
pub mod dec;
pub mod expand;
pub mod lm;
pub mod neighbors;
pub mod seeds;
pub mod self_train;
pub mod weak;

pub use augment::AugmentConfig;
pub use config::{
    CheckpointConfig, Decay, EpochLog, Objective, Progress, Stage, StepLog, TrainConfig, TrainError,
};
pub use contrastive::{
    continue_contrastive, encode_all, encode_all_with, prepare_for, train_contrastive,
};
