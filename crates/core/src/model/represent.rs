//! The representation `[SIF ; RNN ; LSA]` that clusters are found in and
//! texts are assigned in. Training, `predict` and `serve` all build it with
//! `Blocks::join` from blocks made by the same functions, so a training
//! text and the same text predicted later get the same row.

use rayon::prelude::*;

use super::config::{FeatureWeights, ModelConfig};
use super::tokens::{lexical_rows, rnn_tokens};
use super::{Assigner, Model};
use crate::features::{Csr, Tfidf};
use crate::learn::encode_all_with;
use crate::nn::encoder::{Encoder, Prepared};
use crate::nn::gemm::Threads;
use crate::rows::{concat_blocks, l2_normalize_rows};

/// The three blocks of N texts' representations, each with unit rows (a
/// block of width 0 is empty).
pub(crate) struct Blocks<'a> {
    /// SIF-weighted corpus word vectors `(N, wordvec_dims)`.
    pub sif: &'a [f32],
    /// The RNN encoder's pooled output, normalized `(N, d)`.
    pub rnn: &'a [f32],
    /// LSA of the TF-IDF rows, normalized `(N, lsa_dims)`.
    pub lsa: &'a [f32],
}

impl Blocks<'_> {
    /// The representation `(N, D)`: each block scaled so that it holds its
    /// share `w` of the squared distance.
    pub fn join(&self, cfg: &ModelConfig, d: usize, w: FeatureWeights, n: usize) -> Vec<f32> {
        concat_blocks(
            &[
                (self.sif, cfg.wordvec_dims, w.sif),
                (self.rnn, d, w.rnn),
                (self.lsa, cfg.lsa_dims, w.lsa),
            ],
            n,
        )
    }
}

/// The RNN block: the encoder's output for `seqs`, rows normalized.
pub(crate) fn rnn_block(
    enc: &Encoder<f32>,
    seqs: &[Vec<u32>],
    max_len: usize,
    prepared: Option<&Prepared<f32>>,
    threads: Threads,
) -> Vec<f32> {
    let mut r = encode_all_with(enc, seqs, max_len, prepared, threads);
    l2_normalize_rows(&mut r, enc.config.output_dim());
    r
}

/// The LSA block: TF-IDF rows `x (N, M)` times the components `(M, dims)`,
/// rows normalized.
pub(crate) fn lsa_block(x: &Csr, comps: &[f32], dims: usize) -> Vec<f32> {
    let mut l = project(x, comps, dims);
    l2_normalize_rows(&mut l, dims);
    l
}

/// `x (N, M) · comps (M, K)` as dense rows `(N, K)`.
fn project(x: &Csr, comps: &[f32], k: usize) -> Vec<f32> {
    let mut out = vec![0f32; x.n_rows() * k];
    for i in 0..x.n_rows() {
        let (cols, vals) = x.row(i);
        let o = &mut out[i * k..(i + 1) * k];
        for (&c, &v) in cols.iter().zip(vals) {
            o.iter_mut()
                .zip(&comps[c as usize * k..(c as usize + 1) * k])
                .for_each(|(a, &b)| *a += v * b);
        }
    }
    out
}

/// One batch of texts as the model sees them ([`Model::represent_parts`]).
pub(crate) struct Parts {
    /// Representations `(N, D)`.
    pub z: Vec<f32>,
    /// Lexical TF-IDF rows, when the assigner has a lexical classifier.
    pub x: Option<Csr>,
    /// The RNN's pooled output `(N, d)` before normalization, when the
    /// assigner is a seed-word one with the feature classifier (empty otherwise).
    pub pooled: Vec<f32>,
    /// How many of each text's terms the model knows, and their share ([`Model::known_terms`]).
    pub known: Vec<(u32, f32)>,
}

impl Model {
    /// Representation width: SIF, RNN and LSA blocks.
    pub fn dim(&self) -> usize {
        let c = &self.manifest.config;
        c.wordvec_dims + self.encoder.config.output_dim() + c.lsa_dims
    }

    /// Representations `(N, D)` of texts.
    pub fn represent(&self, texts: &[&str], threads: Threads) -> Vec<f32> {
        self.represent_parts(texts, threads).z
    }

    /// Representations `(N, D)` of texts and what the assigner reads
    /// besides them (lexical rows, the RNN's raw pooled output), all from
    /// one tokenization and one encoding.
    pub(crate) fn represent_parts(&self, texts: &[&str], threads: Threads) -> Parts {
        let cfg = &self.manifest.config;
        // Tokenize once (in parallel); ids and TF-IDF terms both come from these tokens.
        let (seqs, words): (Vec<Vec<u32>>, Vec<Vec<String>>) = texts
            .par_iter()
            .map(|t| {
                let tokens = cfg.pipeline.tokenize(t);
                let ids = rnn_tokens(&tokens, cfg.rnn_han_chars)
                    .iter()
                    .map(|t| self.vocab.id(t))
                    .collect();
                (ids, Tfidf::terms_of(&self.tfidf.config, tokens))
            })
            .unzip();
        let d = self.encoder.config.output_dim();
        let prepared = self.prepared_for(&seqs, threads);
        let mut r = encode_all_with(&self.encoder, &seqs, cfg.train.max_len, prepared, threads);
        let pooled = match &self.assigner {
            Assigner::Seeded {
                features: Some(_), ..
            } => r.clone(),
            _ => Vec::new(),
        };
        l2_normalize_rows(&mut r, d);
        let sif = if cfg.wordvec_dims > 0 {
            self.wordvec.transform(&words)
        } else {
            Vec::new()
        };
        let lsa = if cfg.lsa_dims > 0 {
            lsa_block(&self.tfidf.matrix(&words), &self.lsa, cfg.lsa_dims)
        } else {
            Vec::new()
        };
        let blocks = Blocks {
            sif: &sif,
            rnn: &r,
            lsa: &lsa,
        };
        let z = blocks.join(cfg, d, cfg.weights, texts.len());
        let x = self
            .assigner
            .lexical_tfidf()
            .map(|t| lexical_rows(t, &words));
        let known = words.iter().map(|w| self.known_terms(w)).collect();
        Parts {
            z,
            x,
            pooled,
            known,
        }
    }

    /// How many of a text's TF-IDF terms (`words`, stop words and
    /// punctuation already out) the model knows (in its TF-IDF vocabulary
    /// or the RNN's), and their share of the terms (0 for a text without
    /// terms). A text with none (blank, another language or script, no word
    /// shared with the training corpus) gives the model nothing to go on.
    pub fn known_terms(&self, words: &[String]) -> (u32, f32) {
        let known = words
            .iter()
            .filter(|w| self.tfidf.knows(w) || self.vocab.get(w).is_some())
            .count();
        (known as u32, known as f32 / words.len().max(1) as f32)
    }

    /// The RNN's token ids of `texts`.
    pub(crate) fn rnn_ids(&self, texts: &[&str]) -> Vec<Vec<u32>> {
        let cfg = &self.manifest.config;
        texts
            .par_iter()
            .map(|t| {
                rnn_tokens(&cfg.pipeline.tokenize(t), cfg.rnn_han_chars)
                    .iter()
                    .map(|t| self.vocab.id(t))
                    .collect()
            })
            .collect()
    }

    /// The kept prepared state, built now (with the folded tables) if
    /// encoding `seqs` pays for the tables (see [`Encoder::fold_pays`]);
    /// results are the same either way.
    pub(crate) fn prepared_for(
        &self,
        seqs: &[Vec<u32>],
        threads: Threads,
    ) -> Option<&Prepared<f32>> {
        if let Some(p) = self.prepared.get() {
            return Some(p);
        }
        let max_len = self.manifest.config.train.max_len;
        let tokens: usize = seqs.iter().map(|s| s.len().min(max_len)).sum();
        self.encoder.fold_pays(tokens).then(|| {
            self.prepared
                .get_or_init(|| self.encoder.prepare(true, threads))
        })
    }

    /// Build and keep the prepared inference state now, for a process that
    /// will encode many texts a few at a time (the server): weights packed
    /// once, and the input projection folded when that is exact and fits
    /// the memory cap; returns whether it folded.
    pub fn prepare_inference(&self, threads: Threads) -> bool {
        self.prepared
            .get_or_init(|| {
                let fold = self.encoder.fold_pays(usize::MAX);
                self.encoder.prepare(fold, threads)
            })
            .folded()
    }
}
