//! A trained translator: its settings, both vocabularies, the model and its
//! training record; translates text to text.

use crate::nn::gemm::Threads;
use crate::vocab::Vocab;

use super::decode::{self, DecodeOptions};
use super::model::Seq2Seq;
use super::tokenize::Units;
use super::train::{TranslateConfig, TranslateEpoch};

/// A source sentence's ids as the encoder reads them: its tokens, then
/// `<eos>` (an end marker the encoder sees and attention can rest on).
pub fn source_ids<S: AsRef<str>>(vocab: &Vocab, tokens: &[S]) -> Vec<u32> {
    let mut v = vocab.encode(tokens);
    v.push(crate::vocab::Special::Eos as u32);
    v
}

/// Everything a translation model is.
#[derive(Clone, Debug)]
pub struct Translator {
    /// Settings it was trained with (languages included).
    pub config: TranslateConfig,
    /// Source units (words or subwords).
    pub src_units: Units,
    /// Target units.
    pub tgt_units: Units,
    /// Source vocabulary.
    pub src_vocab: Vocab,
    /// Target vocabulary.
    pub tgt_vocab: Vocab,
    /// Weights.
    pub model: Seq2Seq<f32>,
    /// Training record, one entry per epoch.
    pub epochs: Vec<TranslateEpoch>,
}

/// One translation of a sentence.
#[derive(Clone, Debug, PartialEq)]
pub struct Translation {
    /// The translated sentence.
    pub text: String,
    /// Length-normalized log-probability (what the beam ranks by).
    pub score: f64,
}

impl Translator {
    /// A translator from its parts (no training record yet).
    pub fn new(
        config: TranslateConfig,
        (src_units, tgt_units): (Units, Units),
        (src_vocab, tgt_vocab): (Vocab, Vocab),
        model: Seq2Seq<f32>,
    ) -> Self {
        Translator {
            config,
            src_units,
            tgt_units,
            src_vocab,
            tgt_vocab,
            model,
            epochs: Vec::new(),
        }
    }

    /// Translate sentences (n-best lists, best first, in input order).
    /// Sentences are decoded in batches of similar length; an empty
    /// sentence translates to an empty one.
    pub fn translate(
        &self,
        texts: &[&str],
        opts: &DecodeOptions,
        threads: Threads,
    ) -> Vec<Vec<Translation>> {
        const BATCH: usize = 128;
        let ids: Vec<Vec<u32>> = texts
            .iter()
            .map(|t| {
                let toks = self.src_units.tokenize(t);
                if toks.is_empty() {
                    return Vec::new();
                }
                let mut v = source_ids(&self.src_vocab, &toks);
                v.truncate(self.config.max_len.max(1));
                v
            })
            .collect();
        let mut order: Vec<usize> = (0..texts.len()).filter(|&i| !ids[i].is_empty()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let mut out = vec![
            vec![Translation {
                text: String::new(),
                score: 0.0,
            }];
            texts.len()
        ];
        // Weights packed once for every batch of this call.
        let prep = self.model.prepare();
        for chunk in order.chunks(BATCH) {
            let src: Vec<&[u32]> = chunk.iter().map(|&i| &ids[i][..]).collect();
            let hyps = decode::translate(&self.model, &prep, &src, opts, threads);
            for (&i, h) in chunk.iter().zip(hyps) {
                out[i] = h
                    .into_iter()
                    .map(|h| {
                        let toks: Vec<&str> =
                            h.ids.iter().map(|&id| self.tgt_vocab.token(id)).collect();
                        Translation {
                            text: self.tgt_units.detokenize(&toks),
                            score: h.score,
                        }
                    })
                    .collect();
            }
        }
        out
    }
}
