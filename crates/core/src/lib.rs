//! textrnn: unsupervised text classification with recurrent neural networks.
//!
//! The data flow, one module per stage:
//!
//! 1. [`corpus`]: read plain text, JSONL, CSV or TSV into documents (text,
//!    optional gold label used only for scoring), with per-line errors.
//! 2. [`text`]: normalize (NFKC, full-width to half-width, case) and segment
//!    per script (jieba words or characters for Chinese, Unicode word
//!    boundaries elsewhere) into tokens with offsets into the original text.
//! 3. [`vocab`]: token strings to ids, with special ids.
//! 4. [`batch`]: padded, masked, length-bucketed batches; train/validation split.
//! 5. [`nn`]: the RNN engine: embedding -> LSTM/GRU layers (fused, packed,
//!    threaded, with backward passes) -> pooling; losses, optimizers, weights.
//! 6. [`learn`]: learning without labels: augmented views, contrastive
//!    (InfoNCE) training, self-training.
//! 7. [`cluster`]: k-means over dense or sparse representations; choosing k.
//! 8. [`describe`]: class-based TF-IDF top terms, names, representative texts.
//! 9. Select settings by an unsupervised criterion (`cluster::select` for k;
//!    cells and sizes are a later stage).
//! 10. [`eval`]: ACC, NMI, ARI, purity against gold labels.
//! 11. [`model`]: the whole job (`Model::fit`), the checksummed model
//!     directory, prediction.
//! 12. [`report`]: the self-contained HTML report (clusters, map, training
//!     curves, scores).
//!
//! Beside the flow: [`features`] (TF-IDF, LSA, corpus word vectors),
//! [`baseline`] (the TF-IDF + k-means pipeline every result is compared
//! with), [`demo`] (the embedded demo corpus), [`rng`] (seeded randomness)
//! and [`io`] (atomic file writes).
//!
//! The library has no CLI parsing and no async code; the `textrnn` binary
//! is a thin layer over it.

#![warn(missing_docs)]

pub mod baseline;
pub mod batch;
pub mod cluster;
pub mod corpus;
pub mod demo;
pub mod describe;
pub mod eval;
pub mod features;
pub mod io;
pub mod learn;
pub mod model;
pub mod nn;
pub mod report;
pub mod rng;
pub mod rows;
pub mod text;
pub mod translate;
pub mod vocab;
