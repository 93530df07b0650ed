//! Contrastive training of the RNN encoder: two augmented views of each text,
//! NT-Xent (InfoNCE) over the batch, AdamW with warm-up and cosine decay,
//! clipping by global norm, early stopping on the validation loss (the best
//! epoch's weights are kept).

use serde::{Deserialize, Serialize};

use super::augment::{augment, AugmentConfig};
use crate::batch::{train_val_split, Batch, Batcher};
use crate::nn::encoder::{Encoder, EncoderCache, EncoderConfig};
use crate::nn::gemm::Threads;
use crate::nn::loss::info_nce;
use crate::nn::optim::{clip_grad_norm, LrSchedule, NonFinite, Optimizer, OptimizerKind, Schedule};
use crate::nn::Module;
use crate::rng::Rng;

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
}

/// One epoch's record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Validation loss (fixed views, no dropout).
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
    /// Top terms, names, representative texts.
    Describe,
}

impl Stage {
    /// Lower-case name for progress bars and logs.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Tokenize => "tokenize",
            Stage::Features => "features",
            Stage::Train => "train",
            Stage::Represent => "represent",
            Stage::Cluster => "cluster",
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

/// Pooled representations of `seqs (N)` in input order, `(N, D)`, in batches
/// sorted by length (inference path: no dropout, no caches).
pub fn encode_all(
    enc: &Encoder<f32>,
    seqs: &[Vec<u32>],
    max_len: usize,
    threads: Threads,
) -> Vec<f32> {
    let d = enc.config.output_dim();
    let mut order: Vec<usize> = (0..seqs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(seqs[i].len().min(max_len)));
    let mut out = vec![0f32; seqs.len() * d];
    for chunk in order.chunks(256) {
        let b = Batch::new(seqs, chunk, max_len);
        let z = enc.encode(&b, threads);
        for (r, &doc) in b.doc_index.iter().enumerate() {
            out[doc * d..(doc + 1) * d].copy_from_slice(&z[r * d..(r + 1) * d]);
        }
    }
    out
}

/// Forward both views of `docs`, return the loss, and (when `train`) back-propagate.
#[allow(clippy::too_many_arguments)]
fn contrastive_step(
    enc: &mut Encoder<f32>,
    seqs: &[Vec<u32>],
    docs: &[usize],
    cfg: &TrainConfig,
    rng: &mut Rng,
    train: bool,
    threads: Threads,
) -> f32 {
    let d = enc.config.output_dim();
    let n = docs.len();
    let views: [Vec<Vec<u32>>; 2] = [0, 1].map(|_| {
        docs.iter()
            .map(|&i| {
                augment(
                    &seqs[i][..seqs[i].len().min(cfg.max_len)],
                    &cfg.augment,
                    rng,
                )
            })
            .collect()
    });
    let all: Vec<usize> = (0..n).collect();
    let batches: [Batch; 2] = [
        Batch::new(&views[0], &all, cfg.max_len),
        Batch::new(&views[1], &all, cfg.max_len),
    ];
    let mut caches = [EncoderCache::default(), EncoderCache::default()];
    let mut z = [vec![0f32; n * d], vec![0f32; n * d]];
    for v in 0..2 {
        let pooled = if train {
            enc.forward(&batches[v], Some(rng), &mut caches[v], threads)
        } else {
            enc.encode(&batches[v], threads)
        };
        for (r, &i) in batches[v].doc_index.iter().enumerate() {
            z[v][i * d..(i + 1) * d].copy_from_slice(&pooled[r * d..(r + 1) * d]);
        }
    }
    let (loss, dz1, dz2) = info_nce(&z[0], &z[1], d, cfg.temperature as f32);
    if train {
        for (v, dz) in [dz1, dz2].iter().enumerate() {
            let mut dpooled = vec![0f32; n * d];
            for (r, &i) in batches[v].doc_index.iter().enumerate() {
                dpooled[r * d..(r + 1) * d].copy_from_slice(&dz[i * d..(i + 1) * d]);
            }
            enc.backward(&mut caches[v], &dpooled, threads);
        }
    }
    loss
}

/// Train an encoder on token-id sequences with InfoNCE; returns the best
/// epoch's encoder and the per-epoch log. `progress` is called after each step.
pub fn train_contrastive(
    seqs: &[Vec<u32>],
    cfg: &TrainConfig,
    init_embedding: Option<&[Option<Vec<f32>>]>,
    threads: Threads,
    progress: &mut dyn FnMut(Progress),
) -> Result<(Encoder<f32>, Vec<EpochLog>), NonFinite> {
    let mut rng = Rng::derive(cfg.seed, 0xC0);
    let mut enc = Encoder::<f32>::new(cfg.encoder.clone(), &mut rng);
    if let Some(rows) = init_embedding {
        let e = cfg.encoder.embed;
        for (id, row) in rows.iter().enumerate().skip(crate::vocab::SPECIALS.len()) {
            if let Some(v) = row.as_ref().filter(|v| v.len() == e) {
                enc.embedding.weight.value[id * e..(id + 1) * e].copy_from_slice(v);
            }
        }
    }
    let (train, val) = train_val_split(seqs.len(), cfg.val_fraction, cfg.seed);
    let batcher = Batcher {
        batch_size: cfg.batch_size.max(2),
        max_len: cfg.max_len,
        bucket_batches: 1,
    };
    let steps_per_epoch = train.len().div_ceil(batcher.batch_size) as u64;
    let total = steps_per_epoch * cfg.epochs as u64;
    let warmup = (total as f64 * cfg.warmup_fraction).round() as u64;
    let schedule = LrSchedule::new(
        Schedule::WarmupCosine {
            warmup,
            total,
            min_ratio: 0.05,
        },
        cfg.lr,
    );
    let mut opt = Optimizer::<f32>::new(OptimizerKind::AdamW {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: cfg.weight_decay,
    });
    opt.l1 = cfg.l1;
    let mut log = Vec::new();
    let mut best: Option<(f64, Encoder<f32>)> = None;
    let mut since_best = 0;
    let mut step = 0u64;
    for epoch in 1..=cfg.epochs {
        let start = std::time::Instant::now();
        let (mut sum, mut count) = (0.0, 0usize);
        for batch in batcher.epoch(seqs, &train, cfg.seed, epoch as u64) {
            if batch.b < 2 {
                continue; // a contrastive batch needs negatives
            }
            enc.zero_grad();
            let lr = schedule.lr(step);
            let loss = contrastive_step(
                &mut enc,
                seqs,
                &batch.doc_index,
                cfg,
                &mut rng,
                true,
                threads,
            );
            opt.check_finite(loss, &mut enc)?;
            if cfg.clip > 0.0 {
                clip_grad_norm(&mut enc, cfg.clip);
            }
            opt.update(&mut enc, lr)?;
            step += 1;
            sum += loss as f64;
            count += 1;
            progress(Progress {
                stage: Stage::Train,
                epoch,
                step,
                total_steps: total,
                loss: loss as f64,
                lr,
            });
        }
        let val_loss = validation_loss(&mut enc, seqs, &val, cfg, threads);
        tracing::info!(
            epoch,
            train_loss = sum / count.max(1) as f64,
            val_loss,
            seconds = start.elapsed().as_secs_f64(),
            "contrastive epoch"
        );
        log.push(EpochLog {
            epoch,
            train_loss: sum / count.max(1) as f64,
            val_loss,
            lr: schedule.lr(step.saturating_sub(1)),
            seconds: start.elapsed().as_secs_f64(),
        });
        // Without a validation split (NaN), the latest epoch counts as the best.
        if val_loss.is_nan() || best.as_ref().is_none_or(|(b, _)| val_loss < *b) {
            best = Some((val_loss, enc.clone()));
            since_best = 0;
        } else {
            since_best += 1;
            if since_best >= cfg.patience.max(1) {
                break;
            }
        }
    }
    Ok((best.map(|(_, e)| e).unwrap_or(enc), log))
}

/// InfoNCE on the validation texts with fixed views; `NaN` if there are fewer than two.
fn validation_loss(
    enc: &mut Encoder<f32>,
    seqs: &[Vec<u32>],
    val: &[usize],
    cfg: &TrainConfig,
    threads: Threads,
) -> f64 {
    let mut rng = Rng::derive(cfg.seed, 0xFA1);
    let (mut sum, mut count) = (0.0, 0);
    for chunk in val.chunks(cfg.batch_size.max(2)) {
        if chunk.len() < 2 {
            continue;
        }
        sum += contrastive_step(enc, seqs, chunk, cfg, &mut rng, false, threads) as f64
            * chunk.len() as f64;
        count += chunk.len();
    }
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}
