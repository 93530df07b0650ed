//! Self-training (experimental, `--self-train`; off by default, measured
//! no better: docs/quality.md): the first clustering's most confident texts
//! become pseudo-labels; the encoder plus a linear head is trained on them
//! with cross-entropy (dropout on), so the representation is pulled toward
//! the cluster structure it already half sees; the caller then re-clusters.

use super::classifier::train_classifier;
use super::config::TrainConfig;
use crate::nn::encoder::Encoder;
use crate::nn::gemm::Threads;
use crate::nn::linear::Linear;
use crate::nn::optim::NonFinite;
use crate::rng::Rng;

/// Fine-tune `enc` to predict `pseudo` (texts with `None` are skipped) for
/// `epochs` epochs, through a fresh linear head that is then dropped.
pub fn fine_tune(
    enc: &mut Encoder<f32>,
    seqs: &[Vec<u32>],
    pseudo: &[Option<usize>],
    k: usize,
    epochs: usize,
    cfg: &TrainConfig,
    threads: Threads,
) -> Result<(), NonFinite> {
    let mut rng = Rng::derive(cfg.seed, 0x5E1F);
    let d = enc.config.output_dim();
    let mut head = Linear::<f32>::new("head.", d, k, &mut rng);
    train_classifier(
        enc, &mut head, seqs, pseudo, epochs, cfg.lr, cfg, 0, threads,
    )
}
