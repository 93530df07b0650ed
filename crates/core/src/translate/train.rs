//! Training a translator on sentence pairs: vocabularies from the training
//! pairs, batches of similar lengths, teacher forcing with label smoothing,
//! AdamW with warm-up and clipping, validation BLEU after every epoch with
//! the best weights kept and the learning rate halved when it does not
//! improve, a stop after a number of epochs or of minutes, and recovery from
//! a non-finite loss (the step is undone, the rate halved).

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
use super::tokenize::Lang;
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
    /// Pairs per batch. Default 64.
    pub batch_size: usize,
    /// Peak learning rate. Default 2e-3.
    pub lr: f64,
    /// Linear warm-up steps. Default 200.
    pub warmup: u64,
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
            batch_size: 64,
            lr: 2e-3,
            warmup: 200,
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
    /// Losses or gradients stayed non-finite after recoveries.
    #[error("training diverged: {0} (after 5 recoveries, each undoing the step and halving the learning rate); lower --lr")]
    Diverged(String),
}

/// Train a translator on `train` pairs (source text, target text), scoring
/// `valid` pairs after every epoch when given.
pub fn train(
    train: &[(String, String)],
    valid: &[(String, String)],
    cfg: &TranslateConfig,
    threads: usize,
    progress: &mut dyn FnMut(&TranslateProgress),
) -> Result<Translator, TranslateTrainError> {
    let start = Instant::now();
    let th = if threads > 1 {
        Threads::Many(threads)
    } else {
        Threads::One
    };
    let tok: Vec<(Vec<String>, Vec<String>)> = train
        .iter()
        .map(|(s, t)| (cfg.src.tokenize(s), cfg.tgt.tokenize(t)))
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
    let mut tr = Translator::new(cfg.clone(), sv, tv, model);
    let mut opt = Optimizer::<f32>::adamw(cfg.weight_decay);
    let (mut best, mut best_bleu) = (None, f64::NEG_INFINITY);
    let mut lr_scale = 1.0;
    let (mut step, mut tokens, mut failures) = (0u64, 0usize, 0usize);
    let mut train_secs = 0.0;
    let budget = cfg.minutes.map(|m| m * 60.0);
    let max_epochs = cfg.epochs.unwrap_or(usize::MAX);
    let greedy = DecodeOptions {
        beam: 1,
        ..DecodeOptions::default()
    };
    'epochs: for epoch in 1..=max_epochs {
        let batches = epoch_batches(&ids, cfg.batch_size.max(1), &mut rng);
        let (mut loss_sum, mut done) = (0.0, 0);
        for (bi, b) in batches.iter().enumerate() {
            let t0 = Instant::now();
            let pairs: Vec<(&[u32], &[u32])> =
                b.iter().map(|&j| (&ids[j].0[..], &ids[j].1[..])).collect();
            let batch = PairBatch::new(&pairs, cfg.max_len);
            let model = &mut tr.model;
            model.zero_grad();
            let loss = model.loss(&batch, Some(&mut rng), cfg.label_smoothing, true, th);
            if let Err(e) = opt.check_finite(loss, model) {
                failures += 1;
                lr_scale *= 0.5;
                if failures > 5 {
                    return Err(TranslateTrainError::Diverged(e.to_string()));
                }
                continue;
            }
            if cfg.clip > 0.0 {
                clip_grad_norm(model, cfg.clip);
            }
            let warm = if cfg.warmup > 0 {
                ((step + 1) as f64 / cfg.warmup as f64).min(1.0)
            } else {
                1.0
            };
            let lr = cfg.lr * warm * lr_scale;
            if let Err(e) = opt.update(model, lr) {
                return Err(TranslateTrainError::Diverged(e.to_string()));
            }
            step += 1;
            tokens += batch.tokens;
            train_secs += t0.elapsed().as_secs_f64();
            loss_sum += loss as f64;
            done += 1;
            let elapsed = start.elapsed().as_secs_f64();
            let per_batch = elapsed / step as f64;
            let left_epochs =
                (cfg.epochs.map_or(f64::INFINITY, |e| e as f64) - epoch as f64).max(0.0);
            let by_epochs =
                per_batch * ((batches.len() - bi - 1) as f64 + left_epochs * batches.len() as f64);
            let by_time = budget.map_or(f64::INFINITY, |b| (b - elapsed).max(0.0));
            progress(&TranslateProgress {
                epoch,
                batch: (bi + 1, batches.len()),
                loss: loss as f64,
                tokens_per_s: tokens as f64 / train_secs.max(1e-9),
                elapsed,
                eta: by_epochs.min(by_time),
                epoch_done: None,
            });
            if budget.is_some_and(|b| elapsed >= b) {
                finish_epoch(
                    &mut tr,
                    valid,
                    &greedy,
                    th,
                    epoch,
                    done,
                    loss_sum,
                    cfg.lr * lr_scale,
                    tokens as f64 / train_secs.max(1e-9),
                    &mut best,
                    &mut best_bleu,
                    &mut lr_scale,
                    start,
                    progress,
                );
                break 'epochs;
            }
        }
        finish_epoch(
            &mut tr,
            valid,
            &greedy,
            th,
            epoch,
            done,
            loss_sum,
            cfg.lr * lr_scale,
            tokens as f64 / train_secs.max(1e-9),
            &mut best,
            &mut best_bleu,
            &mut lr_scale,
            start,
            progress,
        );
        if budget.is_some_and(|b| start.elapsed().as_secs_f64() >= b) {
            break;
        }
    }
    if let Some(m) = best {
        tr.model = m;
    }
    Ok(tr)
}

/// Validation at an epoch's end: BLEU, the best weights kept, the rate
/// halved when BLEU did not improve; reported through `progress`.
#[allow(clippy::too_many_arguments)]
fn finish_epoch(
    tr: &mut Translator,
    valid: &[(String, String)],
    greedy: &DecodeOptions,
    th: Threads,
    epoch: usize,
    batches: usize,
    loss_sum: f64,
    lr: f64,
    tokens_per_s: f64,
    best: &mut Option<Seq2Seq<f32>>,
    best_bleu: &mut f64,
    lr_scale: &mut f64,
    start: Instant,
    progress: &mut dyn FnMut(&TranslateProgress),
) {
    let valid_bleu = (!valid.is_empty()).then(|| {
        let src: Vec<&str> = valid.iter().map(|(s, _)| s.as_str()).collect();
        let hyps: Vec<String> = tr
            .translate(&src, greedy, th)
            .into_iter()
            .map(|mut h| h.swap_remove(0).text)
            .collect();
        let refs: Vec<Vec<String>> = valid.iter().map(|(_, t)| vec![t.clone()]).collect();
        corpus_bleu(
            &hyps,
            &refs,
            BleuTokenizer::for_language(tr.config.tgt.code()),
        )
        .score
    });
    match valid_bleu {
        Some(b) if b > *best_bleu => {
            *best_bleu = b;
            *best = Some(tr.model.clone());
        }
        Some(_) => *lr_scale = (*lr_scale * 0.5).max(1e-3),
        None => {}
    }
    let rec = TranslateEpoch {
        epoch,
        batches,
        train_loss: loss_sum / batches.max(1) as f64,
        valid_bleu,
        lr,
        tokens_per_s,
    };
    tr.epochs.push(rec.clone());
    progress(&TranslateProgress {
        epoch,
        batch: (batches, batches),
        loss: rec.train_loss,
        tokens_per_s,
        elapsed: start.elapsed().as_secs_f64(),
        eta: 0.0,
        epoch_done: Some(rec),
    });
}
