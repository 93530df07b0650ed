//! Choosing the encoder among candidates (`textrnn train --select`): each
//! `(cell, hidden)` is trained on 90% of the texts and scored by the
//! silhouette of the held-out 10% under its own clusters.

use super::{Candidate, FitError, Fitted, Model, ModelConfig};
use crate::learn::Progress;
use crate::nn::gemm::Threads;

impl Model {
    /// Train each `(cell, hidden)` candidate on 90% of the texts, score it by
    /// the silhouette of the held-out 10% (represented and assigned by that
    /// candidate), then train the best on all texts. The evidence is saved in
    /// the manifest.
    pub fn fit_select(
        texts: &[&str],
        cfg: &ModelConfig,
        grid: &[(crate::nn::rnn::Cell, usize)],
        threads: Threads,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Fitted, FitError> {
        let (fit_idx, held_idx) =
            crate::batch::train_val_split(texts.len(), 0.1, cfg.train.seed ^ 0x5E1EC7);
        let fit_texts: Vec<&str> = fit_idx.iter().map(|&i| texts[i]).collect();
        let held: Vec<&str> = held_idx.iter().map(|&i| texts[i]).collect();
        let mut evidence = Vec::new();
        for &(cell, hidden) in grid {
            let mut c = cfg.clone();
            c.train.encoder.cell = cell;
            c.train.encoder.hidden = hidden;
            let fitted = Model::fit(&fit_texts, &c, threads, progress)?;
            let m = &fitted.model;
            let (z, (labels, _)) = m.represent_and_predict(&held, threads);
            let all: Vec<usize> = (0..held.len()).collect();
            let score =
                crate::cluster::select::silhouette(&z, m.dim(), &labels, m.manifest.config.k, &all);
            evidence.push(Candidate {
                cell,
                hidden,
                heldout_silhouette: score,
                chosen: false,
            });
        }
        let best = (0..evidence.len())
            .fold(None, |b: Option<usize>, i| match b {
                Some(j) if evidence[j].heldout_silhouette >= evidence[i].heldout_silhouette => {
                    Some(j)
                }
                _ => Some(i),
            })
            .ok_or(FitError::EmptyGrid)?;
        evidence[best].chosen = true;
        let mut c = cfg.clone();
        c.train.encoder.cell = evidence[best].cell;
        c.train.encoder.hidden = evidence[best].hidden;
        let mut fitted = Model::fit(texts, &c, threads, progress)?;
        fitted.model.manifest.selection = evidence;
        Ok(fitted)
    }
}
