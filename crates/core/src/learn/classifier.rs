//! An RNN classifier: the encoder with a linear head over its pooled
//! output, trained together with cross-entropy on pseudo-labels (the
//! seed-word classifier's rounds, and the experimental self-training), and
//! its class probabilities at inference.

use super::config::TrainConfig;
use crate::batch::Batcher;
use crate::nn::encoder::{Encoder, EncoderCache, Prepared};
use crate::nn::gemm::Threads;
use crate::nn::linear::Linear;
use crate::nn::loss::cross_entropy;
use crate::nn::optim::{clip_grad_norm, NonFinite, Optimizer};
use crate::nn::{Module, Param};
use crate::rng::Rng;

struct WithHead<'a>(&'a mut Encoder<f32>, &'a mut Linear<f32>);

impl Module<f32> for WithHead<'_> {
    fn visit(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        self.0.visit(f);
        self.1.visit(f);
    }
}

/// Train `enc` and `head` together with cross-entropy on `pseudo` (texts
/// with `None` are skipped) for `epochs` epochs at learning rate `lr`
/// (AdamW, dropout on, clipping as `cfg`). `round` varies the shuffling.
#[allow(clippy::too_many_arguments)]
pub fn train_classifier(
    enc: &mut Encoder<f32>,
    head: &mut Linear<f32>,
    seqs: &[Vec<u32>],
    pseudo: &[Option<usize>],
    epochs: usize,
    lr: f64,
    cfg: &TrainConfig,
    round: u64,
    threads: Threads,
) -> Result<(), NonFinite> {
    let k = head.output_dim();
    let mut rng = Rng::derive(cfg.seed, 0x5E1F ^ (round << 8));
    let docs: Vec<usize> = (0..seqs.len()).filter(|&i| pseudo[i].is_some()).collect();
    let batcher = Batcher {
        batch_size: cfg.batch_size.max(2),
        max_len: cfg.max_len,
        bucket_batches: 1,
    };
    let mut opt = Optimizer::<f32>::adamw(cfg.weight_decay);
    for epoch in 0..epochs {
        let salt = cfg.seed ^ 0x5E1F ^ (round << 16);
        for batch in batcher.epoch(seqs, &docs, salt, epoch as u64) {
            let mut m = WithHead(enc, head);
            m.zero_grad();
            let mut cache = EncoderCache::default();
            let pooled = m.0.forward(&batch, Some(&mut rng), &mut cache, threads);
            let mut logits = Vec::new();
            m.1.forward(&pooled, batch.b, &mut logits, threads);
            let targets: Vec<Option<usize>> = batch.doc_index.iter().map(|&i| pseudo[i]).collect();
            let (loss, dlogits) = cross_entropy(&logits, k, &targets);
            let mut dpooled = Vec::new();
            m.1.backward(&pooled, batch.b, &dlogits, Some(&mut dpooled), threads);
            m.0.backward(&mut cache, &dpooled, threads);
            opt.check_finite(loss, &mut m)?;
            if cfg.clip > 0.0 {
                clip_grad_norm(&mut m, cfg.clip);
            }
            opt.update(&mut m, lr)?;
        }
    }
    Ok(())
}

/// Class probabilities `(N, K)` of `seqs` under `enc` + `head` (inference
/// path), with the caller's prepared state of `enc` or none.
pub fn classify(
    enc: &Encoder<f32>,
    head: &Linear<f32>,
    seqs: &[Vec<u32>],
    max_len: usize,
    prepared: Option<&Prepared<f32>>,
    threads: Threads,
) -> Vec<f32> {
    let z = super::encode_all_with(enc, seqs, max_len, prepared, threads);
    let mut logits = Vec::new();
    head.forward(&z, seqs.len(), &mut logits, threads);
    crate::rows::softmax_rows(&mut logits, head.output_dim());
    logits
}
