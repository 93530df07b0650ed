//! DEC-style refinement (Xie, Girshick and Farhadi 2016): the clustering
//! and the RNN encoder trained together.
//!
//! Starting from a partition of the representation `z` (the graph step's
//! clusters), each cluster gets a centre `μ_j` (its mean in `z`) and every
//! text a soft assignment `q_ij ∝ (1 + |z_i - μ_j|²)^-1` (Student's t). Each
//! epoch fixes the sharpened target `p_ij ∝ q_ij² / Σ_i q_ij` (confident
//! assignments count more; dividing by the cluster's mass keeps a large
//! cluster from swallowing the rest) and then lowers `KL(P || Q)` over
//! mini-batches by moving both the centres and the encoder's weights. Only
//! the RNN block of `z` depends on the encoder; the SIF and LSA blocks are
//! fixed features, so the centres move in every block and the encoder
//! learns to place each text's RNN block where its cluster wants it. The
//! final clusters are each text's most likely `q`; the caller then
//! re-encodes the texts with the refined encoder (as `predict` will) and
//! fits its cluster classifier to these clusters.

use serde::{Deserialize, Serialize};

use super::config::TrainConfig;
use crate::batch::Batcher;
use crate::nn::encoder::{Encoder, EncoderCache};
use crate::nn::gemm::Threads;
use crate::nn::loss::{dec_kl, dec_soft_assign, dec_target};
use crate::nn::optim::{clip_grad_norm, NonFinite, Optimizer};
use crate::nn::{Module, Param};

/// Settings of the refinement (saved in the model; absent, and off, in
/// models saved before it existed).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecConfig {
    /// Epochs (0: no refinement). The target `P` is recomputed before each.
    pub epochs: usize,
    /// AdamW learning rate of the encoder and the centres.
    pub lr: f64,
}

impl DecConfig {
    /// Off: the clustering is the partition's.
    pub fn off() -> DecConfig {
        DecConfig {
            epochs: 0,
            lr: 1e-4,
        }
    }

    /// Whether the refinement runs.
    pub fn enabled(&self) -> bool {
        self.epochs > 0 && self.lr > 0.0
    }

    /// Whether it is off (then not written into the model's config, so
    /// models trained without it load in builds that predate it).
    pub fn is_off(&self) -> bool {
        !self.enabled()
    }
}

impl Default for DecConfig {
    fn default() -> Self {
        DecConfig::off()
    }
}

/// What the refinement did (saved in the model).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DecLog {
    /// Per epoch: the mean `KL(P || Q)` over its batches, and the share of
    /// texts whose cluster (argmax of `q`) changed during it.
    pub epochs: Vec<(f64, f64)>,
    /// Share of texts whose final cluster differs from the starting partition's.
    pub moved: f64,
}

/// Where the RNN block sits in a row of `z`: columns `start..start + width`,
/// scaled by `scale` after the encoder's output is normalized to unit length
/// (see [`crate::rows::concat_blocks`]).
#[derive(Clone, Copy, Debug)]
pub struct RnnBlock {
    /// First column.
    pub start: usize,
    /// Width (the encoder's output dimension).
    pub width: usize,
    /// Scale of the unit-length block.
    pub scale: f32,
}

struct WithCentres<'a>(&'a mut Encoder<f32>, &'a mut Param<f32>);

impl Module<f32> for WithCentres<'_> {
    fn visit(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        self.0.visit(f);
        f(self.1);
    }
}

/// Refine `labels`, a partition of `z (N, dim)` into `k` clusters with
/// means `centres (K, dim)`, whose `block` columns are the normalized,
/// scaled output of `enc` for `seqs`, by `cfg.epochs` epochs of DEC. `enc`
/// is trained in place (dropout off). Returns the refined clusters.
#[allow(clippy::too_many_arguments)]
pub fn refine(
    enc: &mut Encoder<f32>,
    seqs: &[Vec<u32>],
    z: &[f32],
    dim: usize,
    block: RnnBlock,
    labels: &[usize],
    centres: Vec<f32>,
    cfg: &DecConfig,
    train: &TrainConfig,
    threads: Threads,
) -> Result<(Vec<usize>, DecLog), NonFinite> {
    let n = seqs.len();
    let k = centres.len() / dim.max(1);
    assert_eq!(z.len(), n * dim, "z is (N, dim)");
    assert_eq!(centres.len(), k * dim, "centres are (K, dim)");
    assert_eq!(block.width, enc.config.output_dim(), "the RNN block");
    let mut z = z.to_vec();
    let mut mu = Param::zeros("dec.centres", &[k, dim]);
    mu.value = centres;
    let mut log = DecLog::default();
    let mut current = labels.to_vec();
    let batcher = Batcher {
        batch_size: train.batch_size.max(2),
        max_len: train.max_len,
        bucket_batches: 1,
    };
    let mut opt = Optimizer::<f32>::adamw(train.weight_decay);
    let docs: Vec<usize> = (0..n).collect();
    let salt = train.seed ^ 0xDEC;
    let mut q = dec_soft_assign(&z, &mu.value, dim);
    for epoch in 0..cfg.epochs {
        let p = dec_target(&q, k);
        let (mut sum, mut count) = (0.0f64, 0usize);
        for batch in batcher.epoch(seqs, &docs, salt, epoch as u64) {
            let mut m = WithCentres(enc, &mut mu);
            m.zero_grad();
            let mut cache = EncoderCache::default();
            let pooled = m.0.forward(&batch, None, &mut cache, threads);
            let b = batch.b;
            let (mut zb, mut pb) = (Vec::with_capacity(b * dim), Vec::with_capacity(b * k));
            for (r, &i) in batch.doc_index.iter().enumerate() {
                let raw = &pooled[r * block.width..(r + 1) * block.width];
                let norm = raw.iter().map(|v| v * v).sum::<f32>().sqrt();
                let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
                let row = &z[i * dim..(i + 1) * dim];
                zb.extend_from_slice(&row[..block.start]);
                zb.extend(raw.iter().map(|v| v * inv * block.scale));
                zb.extend_from_slice(&row[block.start + block.width..]);
                pb.extend_from_slice(&p[i * k..(i + 1) * k]);
            }
            let (loss, dz, dmu) = dec_kl(&zb, &m.1.value, dim, &pb);
            m.1.grad.iter_mut().zip(&dmu).for_each(|(g, &d)| *g += d);
            let mut dpooled = vec![0f32; b * block.width];
            for r in 0..b {
                let g: Vec<f32> = dz[r * dim + block.start..r * dim + block.start + block.width]
                    .iter()
                    .map(|v| v * block.scale)
                    .collect();
                let raw = &pooled[r * block.width..(r + 1) * block.width];
                dpooled[r * block.width..(r + 1) * block.width]
                    .copy_from_slice(&unit_backward(raw, &g));
            }
            m.0.backward(&mut cache, &dpooled, threads);
            opt.check_finite(loss, &mut m)?;
            if train.clip > 0.0 {
                clip_grad_norm(&mut m, train.clip);
            }
            opt.update(&mut m, cfg.lr)?;
            sum += loss as f64 * b as f64;
            count += b;
        }
        // The texts as the refined encoder (inference path) now places them.
        let mut r = super::encode_all(enc, seqs, train.max_len, threads);
        crate::rows::l2_normalize_rows(&mut r, block.width);
        for (row, rr) in z.chunks_mut(dim).zip(r.chunks(block.width)) {
            row[block.start..block.start + block.width]
                .iter_mut()
                .zip(rr)
                .for_each(|(a, &v)| *a = v * block.scale);
        }
        // The next epoch's target starts from these assignments.
        q = dec_soft_assign(&z, &mu.value, dim);
        let (now, _) = crate::rows::argmax_rows(&q, k);
        let changed = now.iter().zip(&current).filter(|(a, b)| a != b).count();
        log.epochs
            .push((sum / count.max(1) as f64, changed as f64 / n.max(1) as f64));
        tracing::info!(
            epoch,
            kl = sum / count.max(1) as f64,
            changed,
            "DEC refinement epoch"
        );
        current = now;
    }
    let moved = current.iter().zip(labels).filter(|(a, b)| a != b).count();
    log.moved = moved as f64 / n.max(1) as f64;
    Ok((current, log))
}

/// The gradient with respect to `raw` of a loss whose gradient with respect
/// to `u = raw / |raw|` is `g`: `(g - u (u · g)) / |raw|` (zero for a zero
/// row, which normalization leaves at zero).
pub fn unit_backward<T: crate::nn::Real>(raw: &[T], g: &[T]) -> Vec<T> {
    let norm = raw.iter().map(|&v| v * v).sum::<T>().sqrt();
    if norm == T::zero() {
        return vec![T::zero(); raw.len()];
    }
    let ug: T = raw.iter().zip(g).map(|(&a, &b)| a / norm * b).sum();
    raw.iter()
        .zip(g)
        .map(|(&a, &b)| (b - a / norm * ug) / norm)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `unit_backward` against central finite differences of
    /// `L(raw) = Σ g · raw / |raw|` in f64.
    #[test]
    fn unit_backward_matches_finite_differences() {
        let mut rng = crate::rng::Rng::new(7);
        for d in [1usize, 3, 8] {
            let raw: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
            let g: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
            let loss = |x: &[f64]| {
                let n = x.iter().map(|v| v * v).sum::<f64>().sqrt();
                x.iter().zip(&g).map(|(a, b)| a / n * b).sum::<f64>()
            };
            let got = unit_backward(&raw, &g);
            for i in 0..d {
                let (mut up, mut down) = (raw.clone(), raw.clone());
                up[i] += 1e-6;
                down[i] -= 1e-6;
                let want = (loss(&up) - loss(&down)) / 2e-6;
                assert!(
                    (got[i] - want).abs() < 1e-7,
                    "d {d}, {i}: {} vs {want}",
                    got[i]
                );
            }
        }
        assert_eq!(unit_backward(&[0.0f64, 0.0], &[1.0, 2.0]), vec![0.0, 0.0]);
    }
}
