//! Training of the RNN encoder without labels: by default contrastive, two
//! augmented views of each text, NT-Xent (InfoNCE) over the batch; or the
//! language-model objective ([`Objective`], [`super::lm`]). AdamW with
//! warm-up and cosine decay, clipping by global norm, early stopping on the
//! validation loss (the best epoch's weights are kept).

use super::augment::augment;
use super::checkpoint::{self, LoopState, Snapshot};
use super::config::CheckpointConfig;
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

/// Forward both views of `docs`, return the loss, and (when `train`)
/// back-propagate. The second view of text `i` is a view of `i` itself, or
/// with `partners`, of a uniformly drawn member of `partners[i]` (itself
/// when that is empty; [`super::neighbors`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn contrastive_step(
    enc: &mut Encoder<f32>,
    seqs: &[Vec<u32>],
    docs: &[usize],
    partners: Option<&[Vec<u32>]>,
    cfg: &TrainConfig,
    rng: &mut Rng,
    train: bool,
    threads: Threads,
) -> f32 {
    let d = enc.config.output_dim();
    let n = docs.len();
    let views: [Vec<Vec<u32>>; 2] = [0, 1].map(|v| {
        docs.iter()
            .map(|&i| {
                let j = match partners.map(|p| &p[i]) {
                    Some(p) if v == 1 && !p.is_empty() => p[rng.below(p.len())] as usize,
                    _ => i,
                };
                augment(
                    &seqs[j][..seqs[j].len().min(cfg.max_len)],
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
    let mut rng = Rng::derive(cfg.seed, 0xC0);
    let enc = new_encoder(cfg, init_embedding, &mut rng);
    train_from(enc, rng, seqs, cfg, threads, progress)
}

/// Go on training a trained encoder `enc` on `seqs` (new texts) under
/// `cfg` (its epochs, schedule and learning rate), as
/// [`train_contrastive`] trains a fresh one: for `textrnn update`.
pub fn continue_contrastive(
    mut enc: Encoder<f32>,
    seqs: &[Vec<u32>],
    cfg: &TrainConfig,
    threads: Threads,
    progress: &mut dyn FnMut(Progress),
) -> Result<Trained, TrainError> {
    let mut rng = Rng::derive(cfg.seed, 0xC1);
    if cfg.objective == Objective::LanguageModel {
        super::lm::attach(&mut enc, &mut rng);
    }
    train_from(enc, rng, seqs, cfg, threads, progress)
}

/// The training loop over epochs from `enc` and `rng`.
fn train_from(
    enc: Encoder<f32>,
    rng: Rng,
    seqs: &[Vec<u32>],
    cfg: &TrainConfig,
    threads: Threads,
    progress: &mut dyn FnMut(Progress),
) -> Result<Trained, TrainError> {
    let (train, val) = train_val_split(seqs.len(), cfg.val_fraction, cfg.seed);
    let batcher = Batcher {
        batch_size: cfg.batch_size.max(2),
        max_len: cfg.max_len,
        bucket_batches: 1,
    };
    let steps_per_epoch = train.len().div_ceil(batcher.batch_size) as u64;
    let total = steps_per_epoch * cfg.epochs as u64;
    let schedule = schedule_for(cfg, total);
    let mut lp = Loop::start(cfg, seqs, enc, rng, total, progress)?;
    let mut fired: Vec<u64> = Vec::new();
    let mut epoch_start = std::time::Instant::now();
    'epochs: while lp.s.epoch <= cfg.epochs {
        let batches = batcher.epoch(seqs, &train, cfg.seed, lp.s.epoch as u64);
        while lp.s.batch < batches.len() {
            let batch = &batches[lp.s.batch];
            lp.s.batch += 1;
            if batch.b < 2 && cfg.objective == Objective::Contrastive {
                continue; // a contrastive batch needs negatives
            }
            let lr = schedule.lr(lp.s.step) * lp.s.lr_scale;
            let mut loss = lp.forward_backward(seqs, batch, cfg, threads);
            if cfg.fault_nan_at.contains(&(lp.s.step + 1)) && !fired.contains(&(lp.s.step + 1)) {
                fired.push(lp.s.step + 1);
                loss = f32::NAN;
            }
            if !lp.update(loss, lr, cfg)? {
                continue 'epochs;
            }
            lp.record(loss, lr, total, progress)?;
        }
        let val_loss = validation_loss(&mut lp.enc, seqs, &val, cfg, threads);
        let train_loss = f64::from_bits(lp.s.sum_bits) / lp.s.count.max(1) as f64;
        tracing::info!(
            epoch = lp.s.epoch,
            train_loss,
            val_loss,
            seconds = epoch_start.elapsed().as_secs_f64(),
            "contrastive epoch"
        );
        epoch_start = std::time::Instant::now();
        let epoch_lr = schedule.lr(lp.s.step.saturating_sub(1)) * lp.s.lr_scale;
        if lp.end_epoch(train_loss, val_loss, epoch_lr, cfg)? {
            break;
        }
    }
    let log = lp.s.epoch_logs();
    let mut out = lp.best.unwrap_or(lp.enc);
    out.detach_objective();
    Ok((out, log, lp.s.steps))
}

/// A fresh encoder: its embedding's rows from `init_embedding` where given
/// (specials keep their random rows), and the LM objective's output layer
/// when that objective trains it.
fn new_encoder(
    cfg: &TrainConfig,
    init_embedding: Option<&[Option<Vec<f32>>]>,
    rng: &mut Rng,
) -> Encoder<f32> {
    let mut enc = Encoder::<f32>::new(cfg.encoder.clone(), rng);
    if let Some(rows) = init_embedding {
        let e = cfg.encoder.embed;
        for (id, row) in rows.iter().enumerate().skip(crate::vocab::SPECIALS.len()) {
            if let Some(v) = row.as_ref().filter(|v| v.len() == e) {
                enc.embedding.weight.value[id * e..(id + 1) * e].copy_from_slice(v);
            }
        }
    }
    if cfg.objective == Objective::LanguageModel {
        super::lm::attach(&mut enc, rng);
    }
    enc
}

/// The learning-rate schedule over `total` steps.
pub(super) fn schedule_for(cfg: &TrainConfig, total: u64) -> LrSchedule {
    let warmup = (total as f64 * cfg.warmup_fraction).round() as u64;
    LrSchedule::new(
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
    )
}

/// The training loop's state: its position and logs, the encoder, the best
/// epoch's encoder, the optimizer and the random stream, and the last good
/// state that a non-finite step undoes to.
struct Loop<'a> {
    s: LoopState,
    enc: Encoder<f32>,
    best: Option<Encoder<f32>>,
    opt: Optimizer<f32>,
    rng: Rng,
    good: Snapshot,
    ck: Option<&'a CheckpointConfig>,
}

impl<'a> Loop<'a> {
    /// A new loop, or the one a checkpoint saved when `cfg` resumes.
    fn start(
        cfg: &'a TrainConfig,
        seqs: &[Vec<u32>],
        enc: Encoder<f32>,
        rng: Rng,
        total: u64,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Loop<'a>, TrainError> {
        let mut opt = Optimizer::<f32>::adamw(cfg.weight_decay);
        opt.l1 = cfg.l1;
        let fingerprint = checkpoint::fingerprint(cfg, seqs);
        let s = LoopState {
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
        let ck = cfg.checkpoint.as_ref();
        let mut lp = Loop {
            good: Snapshot {
                state: s.clone(),
                encoder: enc.clone(),
                best: None,
                optimizer: opt.clone(),
            },
            s,
            enc,
            best: None,
            opt,
            rng,
            ck,
        };
        if let Some(c) = ck.filter(|c| c.resume && c.path.exists()) {
            let snap = checkpoint::load(&c.path, &lp.enc, &lp.opt, &fingerprint)
                .map_err(TrainError::Checkpoint)?;
            tracing::info!(
                step = snap.state.step,
                epoch = snap.state.epoch,
                "resuming from {}",
                c.path.display()
            );
            lp.s = snap.state;
            lp.enc = snap.encoder;
            lp.best = snap.best;
            lp.opt = snap.optimizer;
            lp.rng = Rng::from_state(lp.s.rng);
            // Replay the restored steps to the progress display.
            for st in &lp.s.steps {
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
        lp.good = lp.snapshot();
        Ok(lp)
    }

    /// The whole state as a checkpoint holds it.
    fn snapshot(&self) -> Snapshot {
        let mut state = self.s.clone();
        state.rng = self.rng.state();
        state.opt_step = self.opt.step;
        Snapshot {
            state,
            encoder: self.enc.clone(),
            best: self.best.clone(),
            optimizer: self.opt.clone(),
        }
    }

    /// Write the last good state to the checkpoint file, when there is one.
    fn write_good(&self) -> Result<(), TrainError> {
        match self.ck {
            Some(c) => checkpoint::save(&c.path, &self.good).map_err(|e| {
                TrainError::Checkpoint(format!("cannot write {}: {e}", c.path.display()))
            }),
            None => Ok(()),
        }
    }

    /// The batch's loss, with the gradients back-propagated.
    fn forward_backward(
        &mut self,
        seqs: &[Vec<u32>],
        batch: &Batch,
        cfg: &TrainConfig,
        threads: Threads,
    ) -> f32 {
        self.enc.zero_grad();
        match cfg.objective {
            Objective::Contrastive => contrastive_step(
                &mut self.enc,
                seqs,
                &batch.doc_index,
                None,
                cfg,
                &mut self.rng,
                true,
                threads,
            ),
            Objective::LanguageModel => {
                super::lm::lm_loss(&mut self.enc, batch, &mut self.rng, true, true, threads)
            }
        }
    }

    /// Clip and apply the gradients. On a non-finite loss or gradient, undo
    /// to the last good state with half the learning rate and return false
    /// (the caller restarts from that state's epoch), or stop with
    /// [`TrainError::Diverged`] after `cfg.max_recoveries`.
    fn update(&mut self, loss: f32, lr: f64, cfg: &TrainConfig) -> Result<bool, TrainError> {
        let checked = self.opt.check_finite(loss, &mut self.enc).and_then(|_| {
            if cfg.clip > 0.0 {
                clip_grad_norm(&mut self.enc, cfg.clip);
            }
            self.opt.update(&mut self.enc, lr)
        });
        let Err(bad) = checked else {
            return Ok(true);
        };
        if self.s.failures >= cfg.max_recoveries {
            let kept = self
                .ck
                .filter(|c| c.path.exists())
                .map_or(String::new(), |c| {
                    format!("; the last good checkpoint is {}", c.path.display())
                });
            return Err(TrainError::Diverged {
                last: bad,
                recoveries: self.s.failures,
                kept,
            });
        }
        tracing::warn!(%bad, step = self.s.step + 1, "non-finite training step: undoing to the last good state and halving the learning rate");
        let failures = self.s.failures + 1;
        let lr_scale = self.s.lr_scale * 0.5;
        self.s = self.good.state.clone();
        self.s.failures = failures;
        self.s.lr_scale = lr_scale;
        self.enc = self.good.encoder.clone();
        self.best = self.good.best.clone();
        self.opt = self.good.optimizer.clone();
        self.rng = Rng::from_state(self.good.state.rng);
        Ok(false)
    }

    /// Log a step that was applied, and checkpoint when one is due.
    fn record(
        &mut self,
        loss: f32,
        lr: f64,
        total: u64,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), TrainError> {
        let s = &mut self.s;
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
        let step = s.step;
        if self
            .ck
            .is_some_and(|c| c.every > 0 && step.is_multiple_of(c.every))
        {
            self.good = self.snapshot();
            self.write_good()?;
        }
        Ok(())
    }

    /// Close an epoch: log it, keep the encoder if its validation loss is
    /// the best, checkpoint; returns whether early stopping ends training.
    fn end_epoch(
        &mut self,
        train_loss: f64,
        val_loss: f64,
        epoch_lr: f64,
        cfg: &TrainConfig,
    ) -> Result<bool, TrainError> {
        let s = &mut self.s;
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
            self.best = Some(self.enc.clone());
            s.since_best = 0;
        } else {
            s.since_best += 1;
            stop = s.since_best >= cfg.patience.max(1);
        }
        s.epoch += 1;
        s.batch = 0;
        s.sum_bits = 0f64.to_bits();
        s.count = 0;
        self.good = self.snapshot();
        if self.ck.is_some() {
            self.write_good()?;
        }
        Ok(stop)
    }
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
                contrastive_step(enc, seqs, chunk, None, cfg, &mut rng, false, threads)
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
