//! The encoder-decoder: a (bidirectional) RNN encoder over the source
//! tokens, a bridge from its final states to the decoder's initial state,
//! an RNN decoder over the target tokens, Luong "general" attention of each
//! decoder state over its source's encoder states, and an output layer over
//! the target vocabulary; trained with teacher forcing and label-smoothed
//! cross-entropy.
//!
//! Forward for a batch of pairs (shapes: B pairs, Ns source and Nt target
//! tokens, D = encoder output size, H = decoder size, V target vocabulary):
//! source ids -> [`Encoder`] states `(Ns, D)` -> memory (pair-major)
//! -> keys = memory · W_aᵀ `(Ns, H)`; final states `(B, D)` -> bridge,
//! tanh -> h0 `(B, H)`; target-in ids (`<bos> y`) -> embedding, dropout ->
//! decoder RNN from h0 -> `(Nt, H)` -> attention -> context `(Nt, D)` ->
//! tanh(W_c [context; h]) -> dropout -> output layer `(Nt, V)` -> loss
//! against target-out ids (`y <eos>`). Backward runs the same path in
//! reverse; every part is checked by f64 finite differences
//! (tests/gradcheck.rs).
//!
//! Parameter names follow the PyTorch reference's modules (`encoder.`,
//! `bridge.`, `tgt_emb.`, `decoder.`, `attn.`, `combine.`, `out.`).

use serde::{Deserialize, Serialize};

use crate::batch::Batch;
use crate::nn::attention::{self, AttnCache};
use crate::nn::embedding::Embedding;
use crate::nn::encoder::{Encoder, EncoderCache, EncoderConfig};
use crate::nn::gemm::{matmul, Threads};
use crate::nn::kernel::PackedB;
use crate::nn::linear::{project, Linear};
use crate::nn::loss::smoothed_cross_entropy;
use crate::nn::packed::Packed;
use crate::nn::pool::Pooling;
use crate::nn::rnn::{Cell, RnnCache, RnnLayer};
use crate::nn::{Module, Param, Real};
use crate::rng::Rng;
use crate::vocab::Special;

/// Shape and regularization of a translation model. Serialized into it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Seq2SeqConfig {
    /// Source vocabulary size.
    pub src_vocab: usize,
    /// Target vocabulary size.
    pub tgt_vocab: usize,
    /// Embedding size of both sides.
    pub embed: usize,
    /// Encoder hidden size per direction.
    pub hidden: usize,
    /// Decoder hidden size.
    pub dec_hidden: usize,
    /// Encoder layers (the decoder has one).
    pub layers: usize,
    /// LSTM or GRU, encoder and decoder.
    pub cell: Cell,
    /// Bidirectional encoder.
    pub bidirectional: bool,
    /// Dropout on both embeddings, between encoder layers and on the
    /// attentional states (training only).
    pub dropout: f64,
}

impl Seq2SeqConfig {
    /// Encoder output size D.
    pub fn enc_dim(&self) -> usize {
        self.hidden * if self.bidirectional { 2 } else { 1 }
    }
}

/// The model's parameters.
#[derive(Clone, Debug)]
pub struct Seq2Seq<T> {
    /// Shape.
    pub config: Seq2SeqConfig,
    /// Source embedding and RNN layers (`encoder.embedding.weight`,
    /// `encoder.rnn.weight_ih_l0`, ...).
    pub encoder: Encoder<T>,
    /// Final encoder states `(D)` to the decoder's initial state `(H)`.
    pub bridge: Linear<T>,
    /// Target embedding `(V, E)`.
    pub tgt_emb: Embedding<T>,
    /// The decoder RNN (one layer).
    pub decoder: RnnLayer<T>,
    /// Attention projection `W_a (H, D)` (scores `h · W_a m`).
    pub attn: Param<T>,
    /// `W_c (H, D + H)`: the attentional state `tanh(W_c [context; h])`.
    pub combine: Param<T>,
    /// Output layer `(V, H)` with bias.
    pub out: Linear<T>,
}

/// A batch of sentence pairs laid out for the model.
#[derive(Clone, Debug)]
pub struct PairBatch {
    /// Source ids, rows sorted by source length.
    pub src: Batch,
    /// Target input ids (`<bos> y`), rows sorted by target length.
    pub tgt_in: Batch,
    /// Target output ids (`y <eos>`) in the target layout's packed order.
    pub gold: Vec<u32>,
    /// For each target row, the source row of the same pair.
    pub src_row_of_tgt: Vec<usize>,
    /// Target tokens to predict (Nt).
    pub tokens: usize,
}

impl PairBatch {
    /// Lay out pairs `(source ids, target ids)`; targets get `<bos>` in
    /// front of the input and `<eos>` after the output. Sources longer than
    /// `max_len` are cut, and so are targets (before their `<eos>`).
    pub fn new(pairs: &[(&[u32], &[u32])], max_len: usize) -> PairBatch {
        let max_len = max_len.max(1);
        let src: Vec<Vec<u32>> = pairs
            .iter()
            .map(|(s, _)| s[..s.len().min(max_len)].to_vec())
            .collect();
        let cut = |t: &[u32]| t[..t.len().min(max_len - 1)].to_vec();
        let tin: Vec<Vec<u32>> = pairs
            .iter()
            .map(|(_, t)| {
                let mut v = vec![Special::Bos as u32];
                v.extend(cut(t));
                v
            })
            .collect();
        let docs: Vec<usize> = (0..pairs.len()).collect();
        let src = Batch::new(&src, &docs, max_len);
        let tgt_in = Batch::new(&tin, &docs, max_len);
        let mut src_row_of_pair = vec![0; pairs.len()];
        for (r, &p) in src.doc_index.iter().enumerate() {
            src_row_of_pair[p] = r;
        }
        let src_row_of_tgt = tgt_in
            .doc_index
            .iter()
            .map(|&p| src_row_of_pair[p])
            .collect();
        let packed = Packed::of(&tgt_in);
        let mut gold = Vec::with_capacity(packed.n());
        for (t, &bs) in packed.batch_sizes.iter().enumerate() {
            for r in 0..bs {
                let y = cut(pairs[tgt_in.doc_index[r]].1);
                gold.push(y.get(t).copied().unwrap_or(Special::Eos as u32));
            }
        }
        let tokens = gold.len();
        PairBatch {
            src,
            tgt_in,
            gold,
            src_row_of_tgt,
            tokens,
        }
    }
}

/// Weights packed once for the f32 kernel, for decoding many steps with
/// the same model (each is `None` off f32 or without AVX-512, and then
/// the products run on the `gemm` crate).
#[derive(Debug, Default)]
pub struct Prepared {
    /// `W_a`, the key projection.
    attn: Option<PackedB>,
    /// `W_c`, the attentional state.
    combine: Option<PackedB>,
    /// The output layer.
    out: Option<PackedB>,
    /// The decoder's `W_ih` and `W_hh`.
    dec: (Option<PackedB>, Option<PackedB>),
}

/// The encoder's output for a batch, what attention and the decoder read.
#[derive(Clone, Debug)]
pub struct Encoded<T> {
    /// Encoder states `(Ns, D)`, pair-major in source-row order.
    pub memory: Vec<T>,
    /// `memory · W_aᵀ` `(Ns, H)`.
    pub keys: Vec<T>,
    /// Each source row's `(start, len)` in `memory`.
    pub spans: Vec<(usize, usize)>,
    /// Decoder initial states `(B, H)` in source-row order.
    pub h0: Vec<T>,
    /// Pair index of each source row.
    pub pair_of_row: Vec<usize>,
    /// Pre-activation of `h0` (training only; backward needs it).
    bridge_in: Vec<T>,
    /// Packed row of each memory row.
    packed_row: Vec<usize>,
}

impl<T: Real> Seq2Seq<T> {
    /// A freshly initialized model (PyTorch's initializations).
    pub fn new(config: Seq2SeqConfig, rng: &mut Rng) -> Self {
        let enc_cfg = EncoderConfig {
            vocab: config.src_vocab,
            embed: config.embed,
            hidden: config.hidden,
            layers: config.layers,
            bidirectional: config.bidirectional,
            cell: config.cell,
            pooling: Pooling::Mean,
            dropout: config.dropout,
        };
        let mut encoder = Encoder::new(enc_cfg, rng);
        encoder.visit(&mut |p: &mut Param<T>| p.name = format!("encoder.{}", p.name));
        let (d, h, e) = (config.enc_dim(), config.dec_hidden, config.embed);
        let bridge = Linear::new("bridge.", d, h, rng);
        let tgt_emb = Embedding::new(
            "tgt_emb.",
            config.tgt_vocab,
            e,
            Some(Special::Pad as u32),
            rng,
        );
        let decoder = RnnLayer::new("decoder.", config.cell, e, h, 0, false, rng);
        let attn = Param::uniform("attn.weight", &[h, d], 1.0 / (d as f64).sqrt(), rng);
        let combine = Param::uniform(
            "combine.weight",
            &[h, d + h],
            1.0 / ((d + h) as f64).sqrt(),
            rng,
        );
        let out = Linear::new("out.", h, config.tgt_vocab, rng);
        Seq2Seq {
            config,
            encoder,
            bridge,
            tgt_emb,
            decoder,
            attn,
            combine,
            out,
        }
    }

    /// Pack the weights decoding multiplies at every step.
    pub fn prepare(&self) -> Prepared {
        let (d, h, v) = (
            self.config.enc_dim(),
            self.config.dec_hidden,
            self.config.tgt_vocab,
        );
        let pack = |w: &[T], i: usize, o: usize| {
            crate::nn::as_f32(w).and_then(|w| PackedB::from_transposed(w, i, o))
        };
        Prepared {
            attn: pack(&self.attn.value, d, h),
            combine: pack(&self.combine.value, d + h, h),
            out: pack(&self.out.weight.value, h, v),
            dec: (self.decoder.pack_ih(), self.decoder.pack_hh()),
        }
    }

    /// Run the encoder (with dropout from `rng` when training; the cache
    /// then serves backward) and lay its states out for attention.
    pub fn encode(
        &self,
        src: &Batch,
        rng: Option<&mut Rng>,
        cache: &mut EncoderCache<T>,
        prep: Option<&Prepared>,
        threads: Threads,
    ) -> Encoded<T> {
        let (d, h) = (self.config.enc_dim(), self.config.dec_hidden);
        let hd = self.config.hidden;
        self.encoder.forward_states(src, rng, cache, threads);
        let (states, packed) = (
            cache.states(),
            cache.packed.as_ref().expect("set by forward_states"),
        );
        let b = packed.b();
        let mut memory = Vec::with_capacity(packed.n() * d);
        let mut packed_row = Vec::with_capacity(packed.n());
        let mut spans = Vec::with_capacity(b);
        let mut last = vec![T::zero(); b * d];
        for i in 0..b {
            let len = packed.lengths[i];
            spans.push((packed_row.len(), len));
            for t in 0..len {
                let r = packed.row(t, i);
                packed_row.push(r);
                memory.extend_from_slice(&states[r * d..(r + 1) * d]);
            }
            // Forward direction's state after the last token; the reverse
            // direction's after the first.
            let r = packed.row(len - 1, i);
            last[i * d..i * d + hd].copy_from_slice(&states[r * d..r * d + hd]);
            if self.config.bidirectional {
                let r = packed.row(0, i);
                last[i * d + hd..(i + 1) * d].copy_from_slice(&states[r * d + hd..(r + 1) * d]);
            }
        }
        let mut keys = Vec::new();
        let pk = prep.and_then(|p| p.attn.as_ref());
        project(
            &memory,
            packed.n(),
            &self.attn.value,
            (d, h),
            None,
            pk,
            &mut keys,
            threads,
        );
        let mut h0 = Vec::new();
        self.bridge.forward(&last, b, &mut h0, threads);
        h0.iter_mut().for_each(|x| *x = x.tanh());
        Encoded {
            memory,
            keys,
            spans,
            h0,
            pair_of_row: src.doc_index.clone(),
            bridge_in: last,
            packed_row,
        }
    }

    /// The attentional states `tanh(W_c [context; h])` `(Nq, H)` of decoder
    /// states `hdec (Nq, H)`, each attending over the source row
    /// `span_of[q]`; also returns `[context; h]` and the attention cache.
    fn attentional(
        &self,
        enc: &Encoded<T>,
        hdec: &[T],
        span_of: &[usize],
        prep: Option<&Prepared>,
        threads: Threads,
    ) -> (Vec<T>, Vec<T>, AttnCache<T>) {
        let (d, h) = (self.config.enc_dim(), self.config.dec_hidden);
        let nq = span_of.len();
        let mut ctx = Vec::new();
        let mut cache = AttnCache::default();
        attention::forward(
            hdec,
            &enc.keys,
            &enc.memory,
            (h, d),
            &enc.spans,
            span_of,
            &mut ctx,
            &mut cache,
        );
        let mut cat = Vec::with_capacity(nq * (d + h));
        for q in 0..nq {
            cat.extend_from_slice(&ctx[q * d..(q + 1) * d]);
            cat.extend_from_slice(&hdec[q * h..(q + 1) * h]);
        }
        let mut att = Vec::new();
        let pc = prep.and_then(|p| p.combine.as_ref());
        project(
            &cat,
            nq,
            &self.combine.value,
            (d + h, h),
            None,
            pc,
            &mut att,
            threads,
        );
        att.iter_mut().for_each(|x| *x = x.tanh());
        (att, cat, cache)
    }

    /// Teacher-forced loss of a batch (label smoothing `eps`), with dropout
    /// from `rng` when given; with `backward`, gradients are accumulated
    /// into the parameters.
    pub fn loss(
        &mut self,
        batch: &PairBatch,
        mut rng: Option<&mut Rng>,
        eps: f64,
        backward: bool,
        threads: Threads,
    ) -> T {
        let h = self.config.dec_hidden;
        let mut enc_cache = EncoderCache::default();
        let enc = self.encode(
            &batch.src,
            rng.as_deref_mut(),
            &mut enc_cache,
            None,
            threads,
        );
        let pt = Packed::of(&batch.tgt_in);
        let ids = pt.pack_ids(&batch.tgt_in);
        let mut x = Vec::new();
        self.tgt_emb.forward(&ids, &mut x);
        let mask1 = dropout_mask(x.len(), self.config.dropout, rng.as_deref_mut());
        apply(&mut x, &mask1);
        let h0: Vec<T> = batch
            .src_row_of_tgt
            .iter()
            .flat_map(|&r| enc.h0[r * h..(r + 1) * h].iter().copied())
            .collect();
        let mut hdec = Vec::new();
        let mut dcache = RnnCache::default();
        self.decoder
            .forward_from(&x, &h0, &pt, &mut hdec, Some(&mut dcache), threads);
        let span_of: Vec<usize> = (0..pt.t())
            .flat_map(|t| (0..pt.batch_sizes[t]).map(|r| batch.src_row_of_tgt[r]))
            .collect();
        let (att, cat, acache) = self.attentional(&enc, &hdec, &span_of, None, threads);
        let mask2 = dropout_mask(att.len(), self.config.dropout, rng);
        let mut att_d = att.clone();
        apply(&mut att_d, &mask2);
        let nt = pt.n();
        let mut logits = Vec::new();
        let (w, b) = (&self.out.weight.value, &self.out.bias.value);
        let v = self.config.tgt_vocab;
        project(&att_d, nt, w, (h, v), Some(b), None, &mut logits, threads);
        let loss = smoothed_cross_entropy(&mut logits, self.config.tgt_vocab, &batch.gold, eps);
        if !backward {
            return loss;
        }
        // Output layer, dropout, then the attentional state and attention.
        let mut datt = Vec::new();
        self.out_backward(&att_d, nt, &logits, &mut datt, threads);
        drop(logits);
        apply(&mut datt, &mask2);
        let (dh, dmemory) = self.attentional_backward(
            &enc,
            (&hdec, &span_of),
            (&att, &cat, &acache),
            datt,
            threads,
        );
        // Decoder and target embedding.
        let mut dx = Vec::new();
        let mut dh0 = vec![T::zero(); h0.len()];
        self.decoder.backward_to(
            &x,
            &pt,
            &mut dcache,
            &dh,
            Some(&mut dx),
            Some(&mut dh0),
            threads,
        );
        apply(&mut dx, &mask1);
        self.tgt_emb.backward(&ids, &dx);
        // Initial states back to source-row order, then the encoder.
        let mut dh0_src = vec![T::zero(); enc.h0.len()];
        for (r, &sr) in batch.src_row_of_tgt.iter().enumerate() {
            dh0_src[sr * h..(sr + 1) * h].copy_from_slice(&dh0[r * h..(r + 1) * h]);
        }
        self.encoder_backward(&enc, &mut enc_cache, dh0_src, &dmemory, threads);
        loss
    }

    /// Backward through `tanh(W_c [context; h])` and the attention, from
    /// the attentional states' gradient `datt (Nq, H)`: adds `W_c`'s and
    /// `W_a`'s gradients and returns those of the decoder states `(Nq, H)`
    /// and of the memory `(Ns, D)`.
    fn attentional_backward(
        &mut self,
        enc: &Encoded<T>,
        (hdec, span_of): (&[T], &[usize]),
        (att, cat, acache): (&[T], &[T], &AttnCache<T>),
        mut datt: Vec<T>,
        threads: Threads,
    ) -> (Vec<T>, Vec<T>) {
        let (d, h) = (self.config.enc_dim(), self.config.dec_hidden);
        let nt = span_of.len();
        datt.iter_mut()
            .zip(att)
            .for_each(|(g, &a)| *g *= T::one() - a * a);
        matmul(
            h,
            d + h,
            nt,
            &datt,
            true,
            cat,
            false,
            &mut self.combine.grad,
            true,
            threads,
        );
        let mut dcat = vec![T::zero(); nt * (d + h)];
        matmul(
            nt,
            d + h,
            h,
            &datt,
            false,
            &self.combine.value,
            false,
            &mut dcat,
            false,
            threads,
        );
        let mut dctx = Vec::with_capacity(nt * d);
        let mut dh = Vec::with_capacity(nt * h);
        for q in 0..nt {
            dctx.extend_from_slice(&dcat[q * (d + h)..q * (d + h) + d]);
            dh.extend_from_slice(&dcat[q * (d + h) + d..(q + 1) * (d + h)]);
        }
        let ns = enc.memory.len() / d;
        let mut dq = Vec::new();
        let mut dkeys = vec![T::zero(); ns * h];
        let mut dmemory = vec![T::zero(); ns * d];
        attention::backward(
            hdec,
            &enc.keys,
            &enc.memory,
            (h, d),
            &enc.spans,
            span_of,
            acache,
            &dctx,
            &mut dq,
            &mut dkeys,
            &mut dmemory,
        );
        dh.iter_mut().zip(&dq).for_each(|(a, &b)| *a += b);
        matmul(
            h,
            d,
            ns,
            &dkeys,
            true,
            &enc.memory,
            false,
            &mut self.attn.grad,
            true,
            threads,
        );
        matmul(
            ns,
            d,
            h,
            &dkeys,
            false,
            &self.attn.value,
            false,
            &mut dmemory,
            true,
            threads,
        );
        (dh, dmemory)
    }

    /// Backward into the encoder from the decoder's initial states'
    /// gradient `dh0 (B, H)` (source-row order; through the tanh and the
    /// bridge to the final states) and the memory's `dmemory (Ns, D)`.
    fn encoder_backward(
        &mut self,
        enc: &Encoded<T>,
        enc_cache: &mut EncoderCache<T>,
        mut dh0: Vec<T>,
        dmemory: &[T],
        threads: Threads,
    ) {
        let (d, hd) = (self.config.enc_dim(), self.config.hidden);
        let b = enc.spans.len();
        dh0.iter_mut()
            .zip(&enc.h0)
            .for_each(|(g, &y)| *g *= T::one() - y * y);
        let mut dlast = Vec::new();
        self.bridge
            .backward(&enc.bridge_in, b, &dh0, Some(&mut dlast), threads);
        // Memory rows back to packed order, plus the final states.
        let packed = enc_cache.packed.clone().expect("set by encode");
        let mut dstates = vec![T::zero(); packed.n() * d];
        for (m, &r) in enc.packed_row.iter().enumerate() {
            dstates[r * d..(r + 1) * d].copy_from_slice(&dmemory[m * d..(m + 1) * d]);
        }
        for i in 0..b {
            let r = packed.row(packed.lengths[i] - 1, i);
            add(&mut dstates[r * d..r * d + hd], &dlast[i * d..i * d + hd]);
            if self.config.bidirectional {
                let r = packed.row(0, i);
                add(
                    &mut dstates[r * d + hd..(r + 1) * d],
                    &dlast[i * d + hd..(i + 1) * d],
                );
            }
        }
        self.encoder.backward_states(enc_cache, &dstates, threads);
    }

    /// The output layer's backward from `dlogits (Nt, V)`: its weight
    /// gradient as the engine's column-blocked `aᵀ·b` (the gemm crate on a
    /// transposed left operand is slower), `datt` written.
    fn out_backward(
        &mut self,
        att: &[T],
        nt: usize,
        dlogits: &[T],
        datt: &mut Vec<T>,
        threads: Threads,
    ) {
        let (h, v) = (self.config.dec_hidden, self.config.tgt_vocab);
        crate::nn::gemm::matmul_at_block(
            v,
            h,
            nt,
            dlogits,
            v,
            att,
            &mut self.out.weight.grad,
            threads,
        );
        for row in dlogits.chunks(v) {
            add(&mut self.out.bias.grad, row);
        }
        datt.clear();
        datt.resize(nt * h, T::zero());
        matmul(
            nt,
            h,
            v,
            dlogits,
            false,
            &self.out.weight.value,
            false,
            datt,
            false,
            threads,
        );
    }

    /// One decoding step for `R` rows: each row's previous token `prev`,
    /// decoder state `state (R, H)` (and LSTM cell state `cell (R, H)`,
    /// empty for GRU) updated in place, attending over source row
    /// `span_of[r]` of `enc`. Returns log-probabilities `(R, V)`.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &self,
        enc: &Encoded<T>,
        prev: &[u32],
        state: &mut [T],
        cell: &mut [T],
        span_of: &[usize],
        prep: Option<&Prepared>,
        threads: Threads,
    ) -> Vec<T> {
        let mut x = Vec::new();
        self.tgt_emb.forward(prev, &mut x);
        let dec = prep.map_or((None, None), |p| (p.dec.0.as_ref(), p.dec.1.as_ref()));
        self.decoder.step(&x, state, cell, dec, threads);
        let (att, _, _) = self.attentional(enc, state, span_of, prep, threads);
        let (h, v) = (self.config.dec_hidden, self.config.tgt_vocab);
        let (w, b) = (&self.out.weight.value, &self.out.bias.value);
        let mut logits = Vec::new();
        let po = prep.and_then(|p| p.out.as_ref());
        project(
            &att,
            prev.len(),
            w,
            (h, v),
            Some(b),
            po,
            &mut logits,
            threads,
        );
        use rayon::prelude::*;
        logits.par_chunks_mut(v.max(1)).for_each(|row| {
            let m = row.iter().copied().fold(T::neg_infinity(), T::max);
            let lse = row.iter().map(|&x| (x - m).exp()).sum::<T>().ln() + m;
            row.iter_mut().for_each(|x| *x -= lse);
        });
        logits
    }
}

/// Inverted-dropout mask (values 0 or 1/(1-p)); empty when off.
fn dropout_mask<T: Real>(n: usize, p: f64, rng: Option<&mut Rng>) -> Vec<T> {
    match rng {
        Some(r) if p > 0.0 => {
            let keep = T::f(1.0 / (1.0 - p));
            (0..n)
                .map(|_| if r.uniform() < p { T::zero() } else { keep })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// `x *= mask` element-wise; nothing when the mask is empty.
fn apply<T: Real>(x: &mut [T], mask: &[T]) {
    if !mask.is_empty() {
        x.iter_mut().zip(mask).for_each(|(v, &m)| *v *= m);
    }
}

fn add<T: Real>(a: &mut [T], b: &[T]) {
    a.iter_mut().zip(b).for_each(|(x, &y)| *x += y);
}

impl<T: Real> Module<T> for Seq2Seq<T> {
    fn visit(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        self.encoder.visit(f);
        self.bridge.visit(f);
        self.tgt_emb.visit(f);
        self.decoder.visit(f);
        f(&mut self.attn);
        f(&mut self.combine);
        self.out.visit(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decoding step by step with the gold previous tokens gives the
    /// teacher-forced loss: the step path and the training path agree.
    #[test]
    fn steps_reproduce_the_teacher_forced_loss() {
        let pairs: Vec<(Vec<u32>, Vec<u32>)> = vec![
            (vec![5, 6, 7, 8], vec![5]),
            (vec![9, 1], vec![6, 7, 8, 9]),
            (vec![10], vec![7, 7]),
        ];
        let refs: Vec<(&[u32], &[u32])> = pairs.iter().map(|(s, t)| (&s[..], &t[..])).collect();
        let batch = PairBatch::new(&refs, 16);
        for cell in [Cell::Gru, Cell::Lstm] {
            let cfg = Seq2SeqConfig {
                src_vocab: 12,
                tgt_vocab: 11,
                embed: 3,
                hidden: 3,
                dec_hidden: 4,
                layers: 1,
                cell,
                bidirectional: true,
                dropout: 0.3,
            };
            let mut m = Seq2Seq::<f64>::new(cfg, &mut Rng::new(3));
            let want = m.loss(&batch, None, 0.0, false, Threads::One);
            let enc = m.encode(
                &batch.src,
                None,
                &mut EncoderCache::default(),
                None,
                Threads::One,
            );
            let (h, b) = (4, pairs.len());
            let mut state = enc.h0.clone();
            let mut c = if cell == Cell::Lstm {
                vec![0.0; b * h]
            } else {
                Vec::new()
            };
            // Rows in source order; row r is pair enc.pair_of_row[r].
            let span_of: Vec<usize> = (0..b).collect();
            let mut prev = vec![Special::Bos as u32; b];
            let (mut total, mut count) = (0.0, 0);
            for t in 0..5 {
                let logp = m.step(
                    &enc,
                    &prev,
                    &mut state,
                    &mut c,
                    &span_of,
                    None,
                    Threads::One,
                );
                for r in 0..b {
                    let y = &pairs[enc.pair_of_row[r]].1;
                    if t <= y.len() {
                        let gold = y.get(t).copied().unwrap_or(Special::Eos as u32);
                        total -= logp[r * 11 + gold as usize];
                        count += 1;
                        prev[r] = gold;
                    }
                }
            }
            let got = total / count as f64;
            assert!(
                (got - want).abs() < 1e-12,
                "{cell:?}: steps {got} vs forward {want}"
            );
        }
    }
}
