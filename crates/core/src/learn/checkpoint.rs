//! Checkpoints of the encoder's training: everything the training loop
//! needs to continue exactly where it was (encoder, best encoder so far,
//! optimizer moments, random-number state, position in the epoch, logs), in
//! one safetensors file written atomically (temporary file, fsync, rename).
//!
//! A resumed run reaches the same model, byte for byte, as a run that was
//! never interrupted (same data, settings, seed and thread count): the
//! checkpoint's fingerprint of the settings and the token ids must match, or
//! it is refused.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::config::{EpochLog, StepLog, TrainConfig};
use crate::nn::encoder::Encoder;
use crate::nn::optim::Optimizer;
use crate::nn::weights::read_f32;
use crate::nn::{Module, Param};

/// The training loop's position and logs (floats that may be NaN are kept as bits).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoopState {
    /// Settings and data fingerprint.
    pub fingerprint: String,
    /// 1-based epoch in progress.
    pub epoch: usize,
    /// Batches of this epoch already done.
    pub batch: usize,
    /// Optimizer steps done.
    pub step: u64,
    /// Sum of this epoch's losses so far (bits).
    pub sum_bits: u64,
    /// Steps in that sum.
    pub count: usize,
    /// Finished epochs: epoch, train loss, val loss, lr (bits).
    pub epochs: Vec<(usize, u64, u64, u64)>,
    /// Every step so far.
    pub steps: Vec<StepLog>,
    /// Epochs since the best validation loss.
    pub since_best: usize,
    /// Best validation loss (bits), when a best encoder is kept.
    pub best_bits: Option<u64>,
    /// Random-number generator state.
    pub rng: [u64; 4],
    /// Optimizer steps taken (Adam's bias correction).
    pub opt_step: u64,
    /// Learning-rate factor after divergence recoveries.
    pub lr_scale: f64,
    /// Divergence recoveries so far.
    pub failures: usize,
}

impl LoopState {
    /// The finished epochs as logs.
    pub fn epoch_logs(&self) -> Vec<EpochLog> {
        self.epochs
            .iter()
            .map(|&(epoch, t, v, lr)| EpochLog {
                epoch,
                train_loss: f64::from_bits(t),
                val_loss: f64::from_bits(v),
                lr: f64::from_bits(lr),
                seconds: 0.0,
            })
            .collect()
    }
}

/// Everything to continue training.
#[derive(Clone)]
pub struct Snapshot {
    /// Position and logs.
    pub state: LoopState,
    /// The encoder now.
    pub encoder: Encoder<f32>,
    /// The best encoder so far.
    pub best: Option<Encoder<f32>>,
    /// The optimizer.
    pub optimizer: Optimizer<f32>,
}

/// SHA-256 of the training settings and the token ids.
pub fn fingerprint(cfg: &TrainConfig, seqs: &[Vec<u32>]) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(cfg).expect("config serializes"));
    for s in seqs {
        h.update((s.len() as u64).to_le_bytes());
        for id in s {
            h.update(id.to_le_bytes());
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Write a checkpoint of any training loop to `path` atomically: each
/// model's parameters under its prefix, the optimizer's moments, and the
/// loop's own `state` (JSON, kept in the safetensors metadata).
pub fn write_parts(
    path: &Path,
    models: &mut [(&str, &mut dyn Module<f32>)],
    optimizer: &Optimizer<f32>,
    state: &str,
) -> std::io::Result<()> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (prefix, model) in models.iter_mut() {
        model.visit(&mut |p: &mut Param<f32>| {
            tensors.push((
                format!("{prefix}{}", p.name),
                p.shape.clone(),
                f32_bytes(&p.value),
            ));
        });
    }
    let (m, v) = optimizer.moments();
    for (i, (m, v)) in m.iter().zip(v).enumerate() {
        tensors.push((format!("adam.m.{i}"), vec![m.len()], f32_bytes(m)));
        tensors.push((format!("adam.v.{i}"), vec![v.len()], f32_bytes(v)));
    }
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, s, b)| {
            let view = TensorView::new(Dtype::F32, s.clone(), b).expect("consistent tensor");
            (n.clone(), view)
        })
        .collect();
    let meta = HashMap::from([("state".to_string(), state.to_string())]);
    let bytes = safetensors::serialize(views, Some(meta))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    crate::io::write_atomic(path, &bytes)
}

/// A checkpoint read back by [`read_parts`]: the loop's state (JSON) and
/// the tensors, to fill models and an optimizer from.
pub struct Parts {
    path: String,
    bytes: Vec<u8>,
    /// The loop's state as written.
    pub state: String,
}

impl Parts {
    fn bad(&self, what: impl std::fmt::Display) -> String {
        format!("{}: not a usable checkpoint: {what}", self.path)
    }

    /// Set `model`'s parameters from the tensors under `prefix`.
    pub fn fill(&self, prefix: &str, model: &mut dyn Module<f32>) -> Result<(), String> {
        let st = SafeTensors::deserialize(&self.bytes).map_err(|e| self.bad(e))?;
        let mut err = None;
        model.visit(&mut |p: &mut Param<f32>| {
            if err.is_none() {
                match read_f32(&st, &format!("{prefix}{}", p.name), p.value.len()) {
                    Ok(v) => p.value = v,
                    Err(x) => err = Some(self.bad(x)),
                }
            }
        });
        err.map_or(Ok(()), Err)
    }

    /// The optimizer after `steps` steps, its moments shaped like
    /// `template`'s parameters.
    pub fn optimizer(
        &self,
        base: &Optimizer<f32>,
        template: &mut dyn Module<f32>,
        steps: u64,
    ) -> Result<Optimizer<f32>, String> {
        let st = SafeTensors::deserialize(&self.bytes).map_err(|e| self.bad(e))?;
        let mut opt = base.clone();
        opt.step = steps;
        let (mut m, mut v) = (Vec::new(), Vec::new());
        if steps > 0 {
            let mut sizes = Vec::new();
            template.visit(&mut |p: &mut Param<f32>| sizes.push(p.value.len()));
            for (i, &n) in sizes.iter().enumerate() {
                m.push(read_f32(&st, &format!("adam.m.{i}"), n).map_err(|e| self.bad(e))?);
                v.push(read_f32(&st, &format!("adam.v.{i}"), n).map_err(|e| self.bad(e))?);
            }
        }
        opt.set_moments(m, v);
        Ok(opt)
    }
}

/// Read a checkpoint written by [`write_parts`].
pub fn read_parts(path: &Path) -> Result<Parts, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bad = |what: String| format!("{}: not a usable checkpoint: {what}", path.display());
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(e.to_string()))?;
    let state = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get("state"))
        .ok_or_else(|| bad("no training state".into()))?
        .clone();
    Ok(Parts {
        path: path.display().to_string(),
        bytes,
        state,
    })
}

/// Write `snap` to `path` atomically.
pub fn save(path: &Path, snap: &Snapshot) -> std::io::Result<()> {
    let mut enc = snap.encoder.clone();
    let mut best = snap.best.clone();
    let mut models: Vec<(&str, &mut dyn Module<f32>)> = vec![("encoder.", &mut enc)];
    if let Some(b) = best.as_mut() {
        models.push(("best.", b));
    }
    let state = serde_json::to_string(&snap.state).expect("state serializes");
    write_parts(path, &mut models, &snap.optimizer, &state)
}

/// Read a checkpoint for an encoder shaped like `template`, checking the fingerprint.
pub fn load(
    path: &Path,
    template: &Encoder<f32>,
    optimizer: &Optimizer<f32>,
    fingerprint: &str,
) -> Result<Snapshot, String> {
    let parts = read_parts(path)?;
    let state: LoopState = serde_json::from_str(&parts.state).map_err(|e| parts.bad(e))?;
    if state.fingerprint != fingerprint {
        return Err(format!(
            "{}: the checkpoint was written for other data or settings; remove it or train without --resume",
            path.display()
        ));
    }
    let mut encoder = template.clone();
    parts.fill("encoder.", &mut encoder)?;
    let best = if state.best_bits.is_some() {
        let mut b = template.clone();
        parts.fill("best.", &mut b)?;
        Some(b)
    } else {
        None
    };
    let opt = parts.optimizer(optimizer, &mut template.clone(), state.opt_step)?;
    Ok(Snapshot {
        state,
        encoder,
        best,
        optimizer: opt,
    })
}
