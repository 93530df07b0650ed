//! Training a translator on sentence pairs: vocabularies from the training
//! pairs, batches of similar lengths, teacher forcing with label smoothing,
//! AdamW with warm-up and clipping, validation BLEU after every epoch with
//! the best weights kept and the learning rate halved when it does not
//! improve, a stop after a number of epochs or of minutes, and recovery from
//! a non-finite loss (the step is undone, the rate halved).

use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::nn::gemm::Threads;
use crate::nn::optim::{clip_grad_norm, Optimizer};
use crate::nn::rnn::Cell;
use crate::nn::Module;
use crate::rng::Rng;
use crate::vocab::{Vocab, VocabConfig};

use super::bleu::{corpus_bleu, BleuTokenizer};
use super::decode::DecodeOptions;
use super::model::{PairBatch, Seq2Seq, Seq2SeqConfig};
use super::tokenize::{Lang, Units};
use super::translator::Translator;

/// Every setting of translation training, with its default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TranslateConfig {
    /// Source language.
    pub src: Lang,
    /// Target language.
    pub tgt: Lang,
    /// Embedding size (both sides). Default 256.
    pub embed: usize,
    /// Encoder hidden size per direction. Default 256.
    pub hidden: usize,
    /// Decoder hidden size. Default 512.
    pub dec_hidden: usize,
    /// Encoder layers. Default 1.
    pub layers: usize,
    /// LSTM or GRU. Default GRU.
    pub cell: Cell,
    /// Dropout. Default 0.3.
    pub dropout: f64,
    /// Tokens seen fewer times in the training pairs become `<unk>`. Default 2.
    pub min_count: u64,
    /// BPE merges learned per language (0: words, and characters for
    /// Chinese). Default 0.
    #[serde(default)]
    pub subwords: usize,
    /// Pairs per batch. Default 64.
    pub batch_size: usize,
    /// Peak learning rate. Default 2e-3.
    pub lr: f64,
    /// Linear warm-up steps. Default 200.
    pub warmup: u64,
    /// Halve the rate after this many epochs in a row without a better
    /// validation BLEU. Default 1 (the reference's schedule).
    #[serde(default = "one")]
    pub patience: usize,
    /// AdamW weight decay. Default 0.
    pub weight_decay: f64,
    /// Gradient-norm clip. Default 1.0.
    pub clip: f64,
    /// Label smoothing. Default 0.1.
    pub label_smoothing: f64,
    /// Longer sentences are cut to this many tokens. Default 100.
    pub max_len: usize,
    /// Stop after this many epochs (None: only the time budget).
    pub epochs: Option<usize>,
    /// Stop after this many minutes of training (checked after every batch;
    /// validation counts inside it).
    pub minutes: Option<f64>,
    /// Seed of initialization, shuffling and dropout.
    pub seed: u64,
}

impl Default for TranslateConfig {
    fn default() -> Self {
        TranslateConfig {
            src: Lang::Zh,
            tgt: Lang::En,
            embed: 256,
            hidden: 256,
            dec_hidden: 512,
            layers: 1,
            cell: Cell::Gru,
            dropout: 0.3,
            min_count: 2,
            subwords: 0,
            batch_size: 64,
            lr: 2e-3,
            warmup: 200,
            patience: 1,
            weight_decay: 0.0,
            clip: 1.0,
            label_smoothing: 0.1,
            max_len: 100,
            epochs: Some(10),
            minutes: None,
            seed: 0,
        }
    }
}

/// One epoch's record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TranslateEpoch {
    /// 1-based epoch.
    pub epoch: usize,
    /// Batches done (fewer than the epoch's when the time ran out).
    pub batches: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Validation BLEU (greedy), when validation pairs were given.
    pub valid_bleu: Option<f64>,
    /// Learning rate at the epoch's end.
    pub lr: f64,
    /// Target tokens per second of training (not saved).
    #[serde(skip, default)]
    pub tokens_per_s: f64,
}

/// A progress report: one training step, or an epoch's end.
#[derive(Clone, Debug)]
pub struct TranslateProgress {
    /// 1-based epoch.
    pub epoch: usize,
    /// Batch within the epoch (1-based) and the epoch's batches.
    pub batch: (usize, usize),
    /// The step's loss.
    pub loss: f64,
    /// Target tokens per second so far.
    pub tokens_per_s: f64,
    /// Seconds since training began.
    pub elapsed: f64,
    /// Estimated seconds to the end (epochs or time budget, whichever first).
    pub eta: f64,
    /// Set at an epoch's end.
    pub epoch_done: Option<TranslateEpoch>,
}

fn one() -> usize {
    1
}

/// Pairs as token ids.
fn encode_pairs(
    pairs: &[(Vec<String>, Vec<String>)],
    sv: &Vocab,
    tv: &Vocab,
) -> Vec<(Vec<u32>, Vec<u32>)> {
    pairs
        .iter()
        .map(|(s, t)| (super::translator::source_ids(sv, s), tv.encode(t)))
        .collect()
}

/// Batches of one epoch: shuffled, sorted by target then source length in
/// pools of 50 batches, cut, and the batches shuffled.
fn epoch_batches(ids: &[(Vec<u32>, Vec<u32>)], batch: usize, rng: &mut Rng) -> Vec<Vec<usize>> {
    let mut idx: Vec<usize> = (0..ids.len()).collect();
    rng.shuffle(&mut idx);
    let pool = batch * 50;
    let mut out = Vec::new();
    for chunk in idx.chunks(pool) {
        let mut c = chunk.to_vec();
        c.sort_by_key(|&j| (ids[j].1.len(), ids[j].0.len()));
        out.extend(c.chunks(batch).map(<[usize]>::to_vec));
    }
    rng.shuffle(&mut out);
    out
}

/// Why training produced no model.
#[derive(Debug, thiserror::Error)]
pub enum TranslateTrainError {
    /// Nothing to train on.
    #[error("{0}")]
    Data(String),
    /// A checkpoint could not be written or read.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// Losses or gradients stayed non-finite after recoveries.
    #[error("training diverged: {0} (after 5 recoveries, each undoing the step and halving the learning rate); lower --lr")]
    Diverged(String),
}

/// Where and how often translation training writes checkpoints.
#[derive(Clone, Debug, PartialEq)]
pub struct TranslateCheckpoint {
    /// The checkpoint file.
    pub path: PathBuf,
    /// Write one every this many steps (and at every epoch's end).
    pub every: u64,
    /// Continue from `path` when it exists.
    pub resume: bool,
}

/// The loop's position, counters and record: what a checkpoint holds
/// besides the weights and the optimizer's moments.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct LoopState {
    /// Settings (budgets aside) and data, hashed.
    fingerprint: String,
    /// 1-based epoch in progress and the batches of it done.
    epoch: usize,
    batch: usize,
    /// Generator state before the epoch's batches were drawn, and now.
    epoch_rng: [u64; 4],
    rng: [u64; 4],
    /// Optimizer steps, target tokens and seconds of training so far.
    step: u64,
    tokens: usize,
    train_secs: f64,
    /// Wall seconds spent by the runs before this one (for `minutes`).
    elapsed: f64,
    /// This epoch's loss sum and batches.
    loss_sum: f64,
    done: usize,
    lr_scale: f64,
    failures: usize,
    /// Best validation BLEU so far (its weights are kept as `best.`).
    best_bleu: Option<f64>,
    /// Epochs since the best one.
    #[serde(default)]
    since_best: usize,
    epochs: Vec<TranslateEpoch>,
}

/// SHA-256 of the settings that shape the model (not the budgets) and the
/// training ids.
fn fingerprint(cfg: &TranslateConfig, ids: &[(Vec<u32>, Vec<u32>)]) -> String {
    use sha2::{Digest, Sha256};
    let mut c = cfg.clone();
    (c.epochs, c.minutes) = (None, None);
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(&c).expect("config serializes"));
    for (s, t) in ids {
        for v in [s, t] {
            h.update((v.len() as u64).to_le_bytes());
            v.iter().for_each(|id| h.update(id.to_le_bytes()));
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The training loop with everything it carries between batches.
struct Loop<'a> {
    cfg: &'a TranslateConfig,
    ids: Vec<(Vec<u32>, Vec<u32>)>,
    valid: &'a [(String, String)],
    tr: Translator,
    best: Option<Seq2Seq<f32>>,
    opt: Optimizer<f32>,
    rng: Rng,
    st: LoopState,
    start: Instant,
    th: Threads,
    ckpt: Option<&'a TranslateCheckpoint>,
}

impl Loop<'_> {
    /// Seconds of the budget used, this run and the interrupted ones.
    fn elapsed(&self) -> f64 {
        self.st.elapsed + self.start.elapsed().as_secs_f64()
    }

    fn out_of_time(&self) -> bool {
        self.cfg.minutes.is_some_and(|m| self.elapsed() >= m * 60.0)
    }

    /// Write the checkpoint, when checkpoints are on.
    fn checkpoint(&mut self) -> Result<(), TranslateTrainError> {
        let Some(c) = self.ckpt else { return Ok(()) };
        self.st.rng = self.rng.state();
        let mut st = self.st.clone();
        st.elapsed = self.elapsed();
        st.best_bleu = self.best.as_ref().and(self.st.best_bleu);
        let state = serde_json::to_string(&st).expect("state serializes");
        let mut models: Vec<(&str, &mut dyn Module<f32>)> = vec![("model.", &mut self.tr.model)];
        if let Some(b) = self.best.as_mut() {
            models.push(("best.", b));
        }
        crate::learn::checkpoint::write_parts(&c.path, &mut models, &self.opt, &state)
            .map_err(|e| TranslateTrainError::Checkpoint(format!("{}: {e}", c.path.display())))
    }

    /// Continue from the checkpoint, when asked and one exists.
    fn restore(&mut self) -> Result<bool, TranslateTrainError> {
        let Some(c) = self.ckpt.filter(|c| c.resume && c.path.exists()) else {
            return Ok(false);
        };
        let err = TranslateTrainError::Checkpoint;
        let parts = crate::learn::checkpoint::read_parts(&c.path).map_err(err)?;
        let st: LoopState = serde_json::from_str(&parts.state)
            .map_err(|e| err(format!("{}: {e}", c.path.display())))?;
        if st.fingerprint != self.st.fingerprint {
            return Err(err(format!(
                "{}: the checkpoint was written for other data or settings; remove it or train without --resume",
                c.path.display()
            )));
        }
        parts.fill("model.", &mut self.tr.model).map_err(err)?;
        if st.best_bleu.is_some() {
            let mut b = self.tr.model.clone();
            parts.fill("best.", &mut b).map_err(err)?;
            self.best = Some(b);
        }
        self.opt = parts
            .optimizer(&self.opt, &mut self.tr.model.clone(), st.step)
            .map_err(err)?;
        self.rng = Rng::from_state(st.rng);
        self.tr.epochs = st.epochs.clone();
        self.st = st;
        Ok(true)
    }

    /// One optimizer step on a batch; `None` when the step was skipped
    /// (a non-finite loss or gradient: the rate is halved).
    fn step(&mut self, batch: &[usize]) -> Result<Option<(f64, usize)>, TranslateTrainError> {
        let cfg = self.cfg;
        let pairs: Vec<(&[u32], &[u32])> = batch
            .iter()
            .map(|&j| (&self.ids[j].0[..], &self.ids[j].1[..]))
            .collect();
        let batch = PairBatch::new(&pairs, cfg.max_len);
        let model = &mut self.tr.model;
        model.zero_grad();
        let loss = model.loss(
            &batch,
            Some(&mut self.rng),
            cfg.label_smoothing,
            true,
            self.th,
        );
        if let Err(e) = self.opt.check_finite(loss, model) {
            self.st.failures += 1;
            self.st.lr_scale *= 0.5;
            if self.st.failures > 5 {
                return Err(TranslateTrainError::Diverged(e.to_string()));
            }
            return Ok(None);
        }
        if cfg.clip > 0.0 {
            clip_grad_norm(model, cfg.clip);
        }
        let warm = if cfg.warmup > 0 {
            ((self.st.step + 1) as f64 / cfg.warmup as f64).min(1.0)
        } else {
            1.0
        };
        self.opt
            .update(model, cfg.lr * warm * self.st.lr_scale)
            .map_err(|e| TranslateTrainError::Diverged(e.to_string()))?;
        self.st.step += 1;
        Ok(Some((loss as f64, batch.tokens)))
    }

    /// Run epochs until the epochs or the minutes run out.
    fn run(
        &mut self,
        progress: &mut dyn FnMut(&TranslateProgress),
    ) -> Result<(), TranslateTrainError> {
        let max_epochs = self.cfg.epochs.unwrap_or(usize::MAX);
        while self.st.epoch <= max_epochs {
            // The epoch's batches come from the generator's state at its
            // start, so a resumed epoch draws the same ones.
            let mut erng = Rng::from_state(self.st.epoch_rng);
            let batches = epoch_batches(&self.ids, self.cfg.batch_size.max(1), &mut erng);
            if self.st.batch == 0 {
                self.rng = erng;
            }
            let mut stopped = false;
            for bi in self.st.batch..batches.len() {
                let t0 = Instant::now();
                if let Some((loss, tokens)) = self.step(&batches[bi])? {
                    self.st.tokens += tokens;
                    self.st.train_secs += t0.elapsed().as_secs_f64();
                    self.st.loss_sum += loss;
                    self.st.done += 1;
                    self.report(bi, batches.len(), loss, progress);
                }
                self.st.batch = bi + 1;
                if self.out_of_time() {
                    stopped = true;
                    break;
                }
                if self
                    .ckpt
                    .is_some_and(|c| c.every > 0 && self.st.step.is_multiple_of(c.every))
                {
                    self.checkpoint()?;
                }
            }
            self.finish_epoch(progress);
            self.st.epoch += 1;
            (self.st.batch, self.st.loss_sum, self.st.done) = (0, 0.0, 0);
            self.st.epoch_rng = self.rng.state();
            self.checkpoint()?;
            if stopped || self.out_of_time() {
                break;
            }
        }
        Ok(())
    }

    fn tokens_per_s(&self) -> f64 {
        self.st.tokens as f64 / self.st.train_secs.max(1e-9)
    }

    /// A step's progress report, with the time left by epochs or budget.
    fn report(&self, bi: usize, n: usize, loss: f64, progress: &mut dyn FnMut(&TranslateProgress)) {
        let elapsed = self.elapsed();
        let per_batch = self.start.elapsed().as_secs_f64() / self.st.done.max(1) as f64;
        let left_epochs =
            self.cfg.epochs.map_or(f64::INFINITY, |e| e as f64) - self.st.epoch as f64;
        let by_epochs = per_batch * ((n - bi - 1) as f64 + left_epochs.max(0.0) * n as f64);
        let by_time = self
            .cfg
            .minutes
            .map_or(f64::INFINITY, |m| (m * 60.0 - elapsed).max(0.0));
        progress(&TranslateProgress {
            epoch: self.st.epoch,
            batch: (bi + 1, n),
            loss,
            tokens_per_s: self.tokens_per_s(),
            elapsed,
            eta: by_epochs.min(by_time),
            epoch_done: None,
        });
    }

    /// Validation at an epoch's end: BLEU, the best weights kept, the rate
    /// halved when BLEU did not improve; reported through `progress`.
    fn finish_epoch(&mut self, progress: &mut dyn FnMut(&TranslateProgress)) {
        let greedy = DecodeOptions {
            beam: 1,
            ..DecodeOptions::default()
        };
        let valid_bleu = (!self.valid.is_empty()).then(|| {
            let src: Vec<&str> = self.valid.iter().map(|(s, _)| s.as_str()).collect();
            let hyps: Vec<String> = self
                .tr
                .translate(&src, &greedy, self.th)
                .into_iter()
                .map(|mut h| h.swap_remove(0).text)
                .collect();
            let refs: Vec<Vec<String>> = self.valid.iter().map(|(_, t)| vec![t.clone()]).collect();
            let tok = BleuTokenizer::for_language(self.cfg.tgt.code());
            corpus_bleu(&hyps, &refs, tok).score
        });
        if let Some(b) = valid_bleu {
            if self.st.best_bleu.is_none_or(|best| b > best) {
                self.st.best_bleu = Some(b);
                self.best = Some(self.tr.model.clone());
                self.st.since_best = 0;
            } else {
                self.st.since_best += 1;
                if self.st.since_best >= self.cfg.patience.max(1) {
                    self.st.lr_scale = (self.st.lr_scale * 0.5).max(1e-3);
                    self.st.since_best = 0;
                }
            }
        }
        let rec = TranslateEpoch {
            epoch: self.st.epoch,
            batches: self.st.done,
            train_loss: self.st.loss_sum / self.st.done.max(1) as f64,
            valid_bleu,
            lr: self.cfg.lr * self.st.lr_scale,
            tokens_per_s: self.tokens_per_s(),
        };
        self.tr.epochs.push(rec.clone());
        self.st.epochs.push(rec.clone());
        progress(&TranslateProgress {
            epoch: self.st.epoch,
            batch: (self.st.done, self.st.done),
            loss: rec.train_loss,
            tokens_per_s: rec.tokens_per_s,
            elapsed: self.elapsed(),
            eta: 0.0,
            epoch_done: Some(rec),
        });
    }
}

/// Train a translator on `train` pairs (source text, target text), scoring
/// `valid` pairs after every epoch when given; with `ckpt`, checkpoints
/// are written and (with `resume`) continued from.
pub fn train(
    train: &[(String, String)],
    valid: &[(String, String)],
    cfg: &TranslateConfig,
    threads: usize,
    ckpt: Option<&TranslateCheckpoint>,
    progress: &mut dyn FnMut(&TranslateProgress),
) -> Result<Translator, TranslateTrainError> {
    let th = if threads > 1 {
        Threads::Many(threads)
    } else {
        Threads::One
    };
    let su = Units::learn(cfg.src, train.iter().map(|(s, _)| s.as_str()), cfg.subwords);
    let tu = Units::learn(cfg.tgt, train.iter().map(|(_, t)| t.as_str()), cfg.subwords);
    let tok: Vec<(Vec<String>, Vec<String>)> = train
        .iter()
        .map(|(s, t)| (su.tokenize(s), tu.tokenize(t)))
        .filter(|(s, t)| !s.is_empty() && !t.is_empty())
        .collect();
    if tok.is_empty() {
        return Err(TranslateTrainError::Data(
            "no pair has both a source and a target sentence".into(),
        ));
    }
    let vcfg = VocabConfig {
        min_count: cfg.min_count,
        max_size: usize::MAX,
    };
    let sv = Vocab::build(tok.iter().map(|(s, _)| s.iter().map(String::as_str)), &vcfg);
    let tv = Vocab::build(tok.iter().map(|(_, t)| t.iter().map(String::as_str)), &vcfg);
    let ids = encode_pairs(&tok, &sv, &tv);
    drop(tok);
    let mcfg = Seq2SeqConfig {
        src_vocab: sv.len(),
        tgt_vocab: tv.len(),
        embed: cfg.embed,
        hidden: cfg.hidden,
        dec_hidden: cfg.dec_hidden,
        layers: cfg.layers,
        cell: cfg.cell,
        bidirectional: true,
        dropout: cfg.dropout,
    };
    let mut rng = Rng::new(cfg.seed);
    let model = Seq2Seq::<f32>::new(mcfg, &mut rng);
    let st = LoopState {
        fingerprint: fingerprint(cfg, &ids),
        epoch: 1,
        batch: 0,
        epoch_rng: rng.state(),
        rng: rng.state(),
        step: 0,
        tokens: 0,
        train_secs: 0.0,
        elapsed: 0.0,
        loss_sum: 0.0,
        done: 0,
        lr_scale: 1.0,
        failures: 0,
        best_bleu: None,
        since_best: 0,
        epochs: Vec::new(),
    };
    let mut lp = Loop {
        cfg,
        ids,
        valid,
        tr: Translator::new(cfg.clone(), (su, tu), (sv, tv), model),
        best: None,
        opt: Optimizer::<f32>::adamw(cfg.weight_decay),
        rng,
        st,
        start: Instant::now(),
        th,
        ckpt,
    };
    lp.restore()?;
    lp.run(progress)?;
    let mut tr = lp.tr;
    if let Some(m) = lp.best {
        tr.model = m;
    }
    Ok(tr)
}
