//! Training of the RNN encoder without labels: by default contrastive, two
//! augmented views of each text, NT-Xent (InfoNCE) over the batch; or the
//! language-model objective ([`Objective`], [`super::lm`]). AdamW with
//! warm-up and cosine decay, clipping by global norm, early stopping on the
//! validation loss (the best epoch's weights are kept).

use super::augment::augment;
use super::config::{
    Decay, EpochLog, Objective, Progress, Stage, StepLog, TrainConfig, TrainError,
};
use crate::batch::{train_val_split, Batch, Batcher};
use crate::nn::encoder::{Encoder, EncoderCache, Prepared};
use crate::nn::gemm::Threads;
use crate::nn::loss::info_nce;
use crate::nn::optim::{clip_grad_norm, LrSchedule, Optimizer, Schedule};
use crate::nn::Module;
use crate::rng::Rng;

/// Pooled representations of `seqs (N)` in input order, `(N, D)`, in batches
/// sorted by length (inference path: no dropout, no caches). Folds the
/// input projection when `seqs` have enough tokens to pay for it
/// ([`prepare_for`]).
pub fn encode_all(
    enc: &Encoder<f32>,
    seqs: &[Vec<u32>],
    max_len: usize,
    threads: Threads,
) -> Vec<f32> {
    let prepared = prepare_for(enc, seqs, max_len, threads);
    encode_all_with(enc, seqs, max_len, prepared.as_ref(), threads)
}

/// The encoder's [`Prepared`] state for encoding `seqs` in more than one
/// batch: weights packed once instead of per batch, and the input
/// projection folded when that pays ([`Encoder::fold_pays`]); results are
/// bit-identical either way. `None` for a single batch that would not fold.
pub fn prepare_for(
    enc: &Encoder<f32>,
    seqs: &[Vec<u32>],
    max_len: usize,
    threads: Threads,
) -> Option<Prepared<f32>> {
    let tokens: usize = seqs.iter().map(|s| s.len().min(max_len)).sum();
    let fold = enc.fold_pays(tokens);
    (fold || seqs.len() > ENCODE_BATCH).then(|| enc.prepare(fold, threads))
}

/// Rows per inference batch of [`encode_all`].
const ENCODE_BATCH: usize = 256;

/// [`encode_all`] with the caller's prepared state (built from `enc`'s
/// current weights) or none.
pub fn encode_all_with(
    enc: &Encoder<f32>,
    seqs: &[Vec<u32>],
    max_len: usize,
    prepared: Option<&Prepared<f32>>,
    threads: Threads,
) -> Vec<f32> {
    let d = enc.config.output_dim();
    let mut order: Vec<usize> = (0..seqs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(seqs[i].len().min(max_len)));
    let mut out = vec![0f32; seqs.len() * d];
    for chunk in order.chunks(ENCODE_BATCH) {
        let b = Batch::new(seqs, chunk, max_len);
        let z = enc.encode_with(&b, prepared, threads);
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

/// What [`train_contrastive`] returns: the best epoch's encoder, the
/// per-epoch log and every step's loss and learning rate.
pub type Trained = (Encoder<f32>, Vec<EpochLog>, Vec<StepLog>);

/// Train an encoder on token-id sequences with InfoNCE; `progress` is called
/// after each step.
///
/// With `cfg.checkpoint`, the whole loop state is written every `every`
/// steps and at each epoch's end, and `resume` continues from it. A
/// non-finite loss or gradient undoes training to the last good state (the
/// last checkpoint, kept in memory too), halves the learning rate and goes
/// on; after `cfg.max_recoveries` recoveries it stops with
/// [`TrainError::Diverged`], leaving the last good checkpoint on disk.
pub fn train_contrastive(
    seqs: &[Vec<u32>],
    cfg: &TrainConfig,
    init_embedding: Option<&[Option<Vec<f32>>]>,
    threads: Threads,
    progress: &mut dyn FnMut(Progress),
) -> Result<Trained, TrainError> {
    use super::checkpoint::{self, LoopState, Snapshot};
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
    if cfg.objective == Objective::LanguageModel {
        enc.attach_lm(&mut rng);
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
        match cfg.decay {
            Decay::Cosine => Schedule::WarmupCosine {
                warmup,
                total,
                min_ratio: 0.05,
            },
            Decay::Linear => Schedule::WarmupLinear { warmup, total },
            Decay::Constant => Schedule::Constant,
        },
        cfg.lr,
    );
    let mut opt = Optimizer::<f32>::adamw(cfg.weight_decay);
    opt.l1 = cfg.l1;
    let fingerprint = checkpoint::fingerprint(cfg, seqs);
    let mut s = LoopState {
        fingerprint: fingerprint.clone(),
        epoch: 1,
        batch: 0,
        step: 0,
        sum_bits: 0f64.to_bits(),
        count: 0,
        epochs: Vec::new(),
        steps: Vec::new(),
        since_best: 0,
        best_bits: None,
        rng: rng.state(),
        opt_step: 0,
        lr_scale: 1.0,
        failures: 0,
    };
    let mut best: Option<Encoder<f32>> = None;
    let ck = cfg.checkpoint.as_ref();
    if let Some(c) = ck.filter(|c| c.resume && c.path.exists()) {
        let snap =
            checkpoint::load(&c.path, &enc, &opt, &fingerprint).map_err(TrainError::Checkpoint)?;
        tracing::info!(
            step = snap.state.step,
            epoch = snap.state.epoch,
            "resuming from {}",
            c.path.display()
        );
        s = snap.state;
        enc = snap.encoder;
        best = snap.best;
        opt = snap.optimizer;
        rng = Rng::from_state(s.rng);
        // Replay the restored steps to the progress display.
        for st in &s.steps {
            progress(Progress {
                stage: Stage::Train,
                epoch: st.epoch,
                step: st.step,
                total_steps: total,
                loss: st.loss,
                lr: st.lr,
            });
        }
    }
    let snapshot = |s: &LoopState,
                    enc: &Encoder<f32>,
                    best: &Option<Encoder<f32>>,
                    opt: &Optimizer<f32>,
                    rng: &Rng| {
        let mut state = s.clone();
        state.rng = rng.state();
        state.opt_step = opt.step;
        Snapshot {
            state,
            encoder: enc.clone(),
            best: best.clone(),
            optimizer: opt.clone(),
        }
    };
    let write = |snap: &Snapshot| -> Result<(), TrainError> {
        match ck {
            Some(c) => checkpoint::save(&c.path, snap).map_err(|e| {
                TrainError::Checkpoint(format!("cannot write {}: {e}", c.path.display()))
            }),
            None => Ok(()),
        }
    };
    let mut good = snapshot(&s, &enc, &best, &opt, &rng);
    let mut fired: Vec<u64> = Vec::new();
    let mut epoch_start = std::time::Instant::now();
    'epochs: while s.epoch <= cfg.epochs {
        let batches = batcher.epoch(seqs, &train, cfg.seed, s.epoch as u64);
        while s.batch < batches.len() {
            let batch = &batches[s.batch];
            s.batch += 1;
            if batch.b < 2 && cfg.objective == Objective::Contrastive {
                continue; // a contrastive batch needs negatives
            }
            enc.zero_grad();
            let lr = schedule.lr(s.step) * s.lr_scale;
            let mut loss = match cfg.objective {
                Objective::Contrastive => contrastive_step(
                    &mut enc,
                    seqs,
                    &batch.doc_index,
                    cfg,
                    &mut rng,
                    true,
                    threads,
                ),
                Objective::LanguageModel => {
                    super::lm::lm_loss(&mut enc, batch, &mut rng, true, true, threads)
                }
            };
            if cfg.fault_nan_at.contains(&(s.step + 1)) && !fired.contains(&(s.step + 1)) {
                fired.push(s.step + 1);
                loss = f32::NAN;
            }
            let checked = opt.check_finite(loss, &mut enc).and_then(|_| {
                if cfg.clip > 0.0 {
                    clip_grad_norm(&mut enc, cfg.clip);
                }
                opt.update(&mut enc, lr)
            });
            if let Err(bad) = checked {
                if s.failures >= cfg.max_recoveries {
                    let kept = ck.filter(|c| c.path.exists()).map_or(String::new(), |c| {
                        format!("; the last good checkpoint is {}", c.path.display())
                    });
                    return Err(TrainError::Diverged {
                        last: bad,
                        recoveries: s.failures,
                        kept,
                    });
                }
                tracing::warn!(%bad, step = s.step + 1, "non-finite training step: undoing to the last good state and halving the learning rate");
                let failures = s.failures + 1;
                let lr_scale = s.lr_scale * 0.5;
                s = good.state.clone();
                s.failures = failures;
                s.lr_scale = lr_scale;
                enc = good.encoder.clone();
                best = good.best.clone();
                opt = good.optimizer.clone();
                rng = Rng::from_state(good.state.rng);
                continue 'epochs;
            }
            s.step += 1;
            s.sum_bits = (f64::from_bits(s.sum_bits) + loss as f64).to_bits();
            s.count += 1;
            s.steps.push(StepLog {
                step: s.step,
                epoch: s.epoch,
                loss: loss as f64,
                lr,
            });
            progress(Progress {
                stage: Stage::Train,
                epoch: s.epoch,
                step: s.step,
                total_steps: total,
                loss: loss as f64,
                lr,
            });
            if ck.is_some_and(|c| c.every > 0 && s.step.is_multiple_of(c.every)) {
                good = snapshot(&s, &enc, &best, &opt, &rng);
                write(&good)?;
            }
        }
        let val_loss = validation_loss(&mut enc, seqs, &val, cfg, threads);
        let train_loss = f64::from_bits(s.sum_bits) / s.count.max(1) as f64;
        tracing::info!(
            epoch = s.epoch,
            train_loss,
            val_loss,
            seconds = epoch_start.elapsed().as_secs_f64(),
            "contrastive epoch"
        );
        epoch_start = std::time::Instant::now();
        let epoch_lr = schedule.lr(s.step.saturating_sub(1)) * s.lr_scale;
        s.epochs.push((
            s.epoch,
            train_loss.to_bits(),
            val_loss.to_bits(),
            epoch_lr.to_bits(),
        ));
        // Without a validation split (NaN), the latest epoch counts as the best.
        let mut stop = false;
        if val_loss.is_nan() || s.best_bits.is_none_or(|b| val_loss < f64::from_bits(b)) {
            s.best_bits = Some(val_loss.to_bits());
            best = Some(enc.clone());
            s.since_best = 0;
        } else {
            s.since_best += 1;
            stop = s.since_best >= cfg.patience.max(1);
        }
        s.epoch += 1;
        s.batch = 0;
        s.sum_bits = 0f64.to_bits();
        s.count = 0;
        good = snapshot(&s, &enc, &best, &opt, &rng);
        if ck.is_some() {
            write(&good)?;
        }
        if stop {
            break;
        }
    }
    let log = s.epoch_logs();
    let mut out = best.unwrap_or(enc);
    out.detach_lm();
    Ok((out, log, s.steps))
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
        let loss = match cfg.objective {
            Objective::Contrastive if chunk.len() < 2 => continue,
            Objective::Contrastive => {
                contrastive_step(enc, seqs, chunk, cfg, &mut rng, false, threads)
            }
            Objective::LanguageModel => {
                let batch = Batch::new(seqs, chunk, cfg.max_len);
                super::lm::lm_loss(enc, &batch, &mut rng, false, false, threads)
            }
        };
        sum += loss as f64 * chunk.len() as f64;
        count += chunk.len();
    }
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}
