//! Stage 6: learning representations without labels.
//!
//! [`augment`] makes random views of a text; [`contrastive`] trains the RNN
//! encoder so two views of one text encode close together and views of
//! different texts apart (InfoNCE), with AdamW, warm-up + cosine decay,
//! gradient clipping and early stopping on a held-out split, checkpoints
//! ([`checkpoint`]) and divergence recovery. [`self_train`] fine-tunes the
//! encoder with a classifier head on pseudo-labels; [`dec`] refines a
//! clustering jointly with the encoder (DEC); [`seeds`] and [`weak`]
//! turn a user's seed words into pseudo-labels and a trained classifier.
//! Gold labels never reach this module (seed words are the user's own
//! guidance, not labeled texts).

pub mod augment;
pub mod checkpoint;
pub mod config;
pub mod contrastive;
pub mod dec;
pub mod lm;
pub mod seeds;
pub mod self_train;
pub mod weak;

pub use augment::AugmentConfig;
pub use config::{
    CheckpointConfig, Decay, EpochLog, Objective, Progress, Stage, StepLog, TrainConfig, TrainError,
};
pub use contrastive::{encode_all, encode_all_with, prepare_for, train_contrastive};
