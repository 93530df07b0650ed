//! Translation between Chinese and English with an RNN encoder-decoder on
//! the engine of [`crate::nn`], supervised by parallel text.
//!
//! This module owns what is specific to translation: the scores it is
//! judged by ([`bleu`], [`chrf`], as sacreBLEU computes them).

pub mod bleu;
pub mod bpe;
pub mod chrf;
pub mod decode;
pub mod model;
pub mod store;
pub mod tokenize;
pub mod train;
pub mod translator;

pub use bleu::{corpus_bleu, Bleu, BleuTokenizer};
pub use chrf::corpus_chrf;
