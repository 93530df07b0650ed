//! Neighbour contrastive fine-tuning: after the first partition, the RNN
//! encoder goes on training with InfoNCE where the second view of a text is
//! an augmented view of one of its nearest neighbours in the joined
//! representation (SIF, RNN and LSA blocks) instead of the text itself. The
//! RNN learns which texts the whole representation holds together (what
//! the bag-of-words blocks see as well as its own sequence cues), and the
//! caller re-clusters with the refined encoder.

use super::config::TrainConfig;
use crate::batch::Batcher;
use crate::nn::encoder::Encoder;
use crate::nn::gemm::Threads;
use crate::nn::optim::{clip_grad_norm, NonFinite, Optimizer};
use crate::nn::Module;
use crate::rng::Rng;

/// Fine-tune `enc` for `epochs` epochs on `seqs`: each text's partner view
/// comes from a uniformly drawn member of `partners[i]` (its neighbours;
/// the text itself when empty). AdamW at `cfg.lr` with warm-up and cosine
/// decay, dropout on, clipping as `cfg`. `round` varies the shuffling.
pub fn fine_tune(
    enc: &mut Encoder<f32>,
    seqs: &[Vec<u32>],
    partners: &[Vec<u32>],
    epochs: usize,
    cfg: &TrainConfig,
    round: u64,
    threads: Threads,
) -> Result<(), NonFinite> {
    let mut rng = Rng::derive(cfg.seed, 0x4E1B ^ (round << 8));
    let docs: Vec<usize> = (0..seqs.len()).collect();
    let batcher = Batcher {
        batch_size: cfg.batch_size.max(2),
        max_len: cfg.max_len,
        bucket_batches: 1,
    };
    let steps = (docs.len().div_ceil(batcher.batch_size) * epochs) as u64;
    let schedule = super::contrastive::schedule_for(cfg, steps);
    let mut opt = Optimizer::<f32>::adamw(cfg.weight_decay);
    let mut step = 0u64;
    for epoch in 0..epochs {
        let salt = cfg.seed ^ 0x4E1B ^ (round << 16);
        for batch in batcher.epoch(seqs, &docs, salt, epoch as u64) {
            if batch.b < 2 {
                continue;
            }
            enc.zero_grad();
            let loss = super::contrastive::contrastive_step(
                enc,
                seqs,
                &batch.doc_index,
                Some(partners),
                cfg,
                &mut rng,
                true,
                threads,
            );
            opt.check_finite(loss, enc)?;
            if cfg.clip > 0.0 {
                clip_grad_norm(enc, cfg.clip);
            }
            opt.update(enc, schedule.lr(step))?;
            step += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::encode_all;
    use crate::nn::encoder::Encoder;

    /// Random texts over disjoint vocabularies in pairs: text 2i and 2i+1
    /// share no token, and each is the other's only partner.
    fn corpus() -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
        let mut rng = Rng::new(11);
        let seqs: Vec<Vec<u32>> = (0..64)
            .map(|_| (0..6).map(|_| 5 + rng.below(60) as u32).collect())
            .collect();
        let partners = (0..64u32).map(|i| vec![i ^ 1]).collect();
        (seqs, partners)
    }

    fn config() -> TrainConfig {
        let mut c = crate::model::ModelConfig::new(2, 3).train;
        c.encoder.vocab = 65;
        c.encoder.embed = 8;
        c.encoder.hidden = 8;
        c.batch_size = 16;
        c.lr = 5e-3;
        c
    }

    /// Mean cosine of each text with its partner, less its mean cosine with
    /// the next pair's first text (not its partner).
    fn partner_cosine(enc: &Encoder<f32>, seqs: &[Vec<u32>]) -> f32 {
        let d = enc.config.output_dim();
        let z = encode_all(enc, seqs, 64, Threads::One);
        let cos = |a: &[f32], b: &[f32]| {
            let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
            let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
            dot / (na * nb).max(1e-12)
        };
        let row = |i: usize| &z[i * d..(i + 1) * d];
        let pairs = seqs.len() / 2;
        (0..pairs)
            .map(|p| {
                let other = 2 * ((p + 1) % pairs);
                cos(row(2 * p), row(2 * p + 1)) - cos(row(2 * p), row(other))
            })
            .sum::<f32>()
            / pairs as f32
    }

    #[test]
    fn partners_encode_closer_after_fine_tuning_and_runs_repeat() {
        let (seqs, partners) = corpus();
        let cfg = config();
        let fresh = Encoder::<f32>::new(
            crate::nn::encoder::EncoderConfig {
                dropout: 0.0,
                ..cfg.encoder.clone()
            },
            &mut Rng::new(5),
        );
        let before = partner_cosine(&fresh, &seqs);
        let mut a = fresh.clone();
        fine_tune(&mut a, &seqs, &partners, 30, &cfg, 0, Threads::One).unwrap();
        let after = partner_cosine(&a, &seqs);
        assert!(
            after > before + 0.1,
            "partner cosine over others' {before:.3} -> {after:.3}"
        );
        let mut b = fresh.clone();
        fine_tune(&mut b, &seqs, &partners, 30, &cfg, 0, Threads::One).unwrap();
        let (za, zb) = (
            encode_all(&a, &seqs, 64, Threads::One),
            encode_all(&b, &seqs, 64, Threads::One),
        );
        assert_eq!(za, zb, "the same seed gives the same encoder");
    }
}
