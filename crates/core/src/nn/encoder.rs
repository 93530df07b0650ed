//! The text encoder: embedding -> dropout -> N layers of (bi)directional LSTM
//! or GRU with dropout between them -> pooling. One forward for training
//! (keeps a cache), one for inference (keeps nothing), one backward.

use serde::{Deserialize, Serialize};

use super::embedding::Embedding;
use super::gemm::Threads;
use super::kernel::PackedB;
use super::packed::Packed;
use super::pool::{self, PoolCache, Pooling};
use super::rnn::{Cell, RnnCache, RnnLayer};
use super::{Module, Param, Real};
use crate::batch::Batch;
use crate::rng::Rng;
use crate::vocab::Special;

/// Encoder shape and regularization. Serialized into every model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EncoderConfig {
    /// Vocabulary size V.
    pub vocab: usize,
    /// Embedding size E.
    pub embed: usize,
    /// Hidden size H per direction.
    pub hidden: usize,
    /// Stacked layers.
    pub layers: usize,
    /// Run a reverse direction too; D = 2H.
    pub bidirectional: bool,
    /// LSTM or GRU.
    pub cell: Cell,
    /// How token states become one vector.
    pub pooling: Pooling,
    /// Dropout on the embeddings and between layers (training only).
    pub dropout: f64,
}

impl EncoderConfig {
    /// Representation size D.
    pub fn output_dim(&self) -> usize {
        self.hidden * if self.bidirectional { 2 } else { 1 }
    }
}

/// Embedding, RNN layers and the pooling query.
#[derive(Clone, Debug)]
pub struct Encoder<T> {
    /// Shape.
    pub config: EncoderConfig,
    /// `embedding.weight (V, E)`.
    pub embedding: Embedding<T>,
    /// Per layer, one or two directions; PyTorch names under `rnn.`.
    pub layers: Vec<Vec<RnnLayer<T>>>,
    /// `pool.query (D)` for attention pooling.
    pub query: Option<Param<T>>,
    /// Parameters a training objective owns and trains with the encoder
    /// (visited after the encoder's own, so optimizers and checkpoints keep
    /// them), such as the language-model objective's output layer. Empty
    /// outside training; never part of a saved model.
    pub objective: Vec<Param<T>>,
}

/// Everything backward needs from one training forward.
#[derive(Clone, Debug, Default)]
pub struct EncoderCache<T> {
    /// Layout of the batch.
    pub packed: Option<Packed>,
    ids: Vec<u32>,
    /// Input of each layer after dropout `(N, I_l)`.
    inputs: Vec<Vec<T>>,
    /// Dropout mask (already scaled) of each layer's input; empty when off.
    masks: Vec<Vec<T>>,
    /// Per layer, per direction: what that RNN layer's backward needs (its
    /// buffers are reused by the next forward).
    rnn: Vec<Vec<RnnCache<T>>>,
    /// Output of the last layer `(N, D)`.
    top: Vec<T>,
    pool: PoolCache<T>,
}

impl<T> EncoderCache<T> {
    /// The batch's token ids in packed order (set by a training forward).
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// The top layer's token states `(N, D)` in packed order (set by a
    /// training forward; what [`Encoder::forward_states`] returned).
    pub fn states(&self) -> &[T] {
        &self.top
    }
}

/// Largest folded input tables ([`Prepared`]) that inference builds on its
/// own (96 MiB): the tables trade memory for FLOPs, and beyond about 100 MB
/// the trade stops being one a user would want by default (it also keeps
/// every configuration of `textrnn bench` within a quarter of PyTorch's
/// peak memory: GRU at H = 512 would need 123 MB of tables and reach a
/// third).
pub const FOLD_MAX_BYTES: usize = 96 << 20;

/// Inference state derived once from the weights, for callers that encode
/// many batches with the same encoder (a loaded model, the server, the
/// benchmark): every layer's `W_ihᵀ` and `W_hhᵀ` packed for the f32 kernel
/// (a forward call packs them otherwise: 6% of one-thread inference with
/// short batches, most of a small server request), and optionally the
/// first layer's input projection folded into the embedding.
///
/// Folding: per direction, `bias + embedding[v]·W_ihᵀ` for every token `v`
/// `(V, G·H)` ([`RnnLayer::input_table`]); the first layer then looks its
/// input projection up instead of computing it: per token `2·G·H·H` FLOPs
/// instead of `2·G·H·(E + H)` (a third less at E = 128, H = 256; 44% less
/// for the shipped E = 100, H = 128). Memory is the price (`V · G·H` values
/// per direction: 41 MB for the shipped encoder over 13k tokens, 82 MB for
/// the benchmark's LSTM at H = 256, 123 MB for GRU at H = 512), so
/// [`Encoder::fold_pays`] caps it at [`FOLD_MAX_BYTES`].
///
/// Results are bit-identical to [`Encoder::encode`]'s on the packed kernel.
/// It is a snapshot of the weights: rebuild it after training changes them.
#[derive(Clone, Debug)]
pub struct Prepared<T> {
    /// Per layer, per direction.
    layers: Vec<Vec<PreparedDir<T>>>,
}

#[derive(Clone, Debug)]
struct PreparedDir<T> {
    /// First layer only, when folded: `(V, G·H)`.
    table: Option<Vec<T>>,
    /// `None` when folded, or off the packed kernel.
    w_ih: Option<PackedB>,
    w_hh: Option<PackedB>,
}

impl<T> Prepared<T> {
    /// Whether the first layer's input projection is folded into tables.
    pub fn folded(&self) -> bool {
        self.layers[0].iter().all(|d| d.table.is_some())
    }
}

impl<T: Real> Encoder<T> {
    /// Bytes the first layer's folded input tables take: `V · G·H ·
    /// directions` values.
    pub fn input_tables_bytes(&self) -> usize {
        self.layers[0]
            .iter()
            .map(|d| d.cell.gates() * d.hidden())
            .sum::<usize>()
            * self.config.vocab
            * std::mem::size_of::<T>()
    }

    /// Whether encoding about `tokens` tokens should fold the input
    /// projection ([`Encoder::prepare`]): the tables pay for themselves
    /// once more than `V` tokens are encoded, must stay within
    /// [`FOLD_MAX_BYTES`], and are used only with the packed f32 kernel,
    /// where folded and unfolded results are bit-identical (so whether a
    /// call folds never changes a representation).
    pub fn fold_pays(&self, tokens: usize) -> bool {
        std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>()
            && super::kernel::available()
            && tokens >= self.config.vocab
            && self.input_tables_bytes() <= FOLD_MAX_BYTES
    }

    /// Derive the [`Prepared`] inference state from the current weights:
    /// packed weights for every layer, and with `fold` the first layer's
    /// input tables (costs what projecting `V` tokens per direction costs).
    pub fn prepare(&self, fold: bool, threads: Threads) -> Prepared<T> {
        let layers = self
            .layers
            .iter()
            .enumerate()
            .map(|(li, layer)| {
                layer
                    .iter()
                    .map(|d| {
                        let folded = fold && li == 0;
                        PreparedDir {
                            table: folded
                                .then(|| d.input_table(&self.embedding.weight.value, threads)),
                            w_ih: if folded { None } else { d.pack_ih() },
                            w_hh: d.pack_hh(),
                        }
                    })
                    .collect()
            })
            .collect();
        Prepared { layers }
    }

    /// A freshly initialized encoder.
    pub fn new(config: EncoderConfig, rng: &mut Rng) -> Self {
        assert!(
            config.layers >= 1
                && config.hidden >= 1
                && config.embed >= 1
                && config.vocab > Special::Eos as usize
        );
        let embedding = Embedding::new(
            "embedding.",
            config.vocab,
            config.embed,
            Some(Special::Pad as u32),
            rng,
        );
        let dirs = if config.bidirectional { 2 } else { 1 };
        let layers = (0..config.layers)
            .map(|l| {
                let input = if l == 0 {
                    config.embed
                } else {
                    config.output_dim()
                };
                (0..dirs)
                    .map(|d| {
                        RnnLayer::new("rnn.", config.cell, input, config.hidden, l, d == 1, rng)
                    })
                    .collect()
            })
            .collect();
        let query = (config.pooling == Pooling::Attention).then(|| {
            let d = config.output_dim();
            Param::uniform("pool.query", &[d], 1.0 / (d as f64).sqrt(), rng)
        });
        Encoder {
            config,
            embedding,
            layers,
            query,
            objective: Vec::new(),
        }
    }

    /// Drop the training objective's parameters.
    pub fn detach_objective(&mut self) {
        self.objective.clear();
    }

    /// The RNN layers over `x`, the embedded tokens; with `prepared`
    /// (packed ids and the prepared state, inference only) the layers use
    /// its packed weights, and a folded first layer reads its tables (`x`
    /// is then empty).
    fn run_layers(
        &self,
        packed: &Packed,
        mut x: Vec<T>,
        prepared: Option<(&[u32], &Prepared<T>)>,
        mut rng: Option<&mut Rng>,
        mut cache: Option<&mut EncoderCache<T>>,
        threads: Threads,
    ) -> Vec<T> {
        debug_assert!(prepared.is_none() || (rng.is_none() && cache.is_none()));
        let n = packed.n();
        let (hd, dirs) = (self.config.hidden, self.layers[0].len());
        let p = self.config.dropout;
        // One RNN cache slot per layer and direction, kept from the previous
        // pass: each layer's forward reuses its buffers.
        if let Some(c) = cache.as_deref_mut() {
            c.rnn.resize_with(self.layers.len(), Vec::new);
            c.rnn
                .iter_mut()
                .for_each(|l| l.resize_with(dirs, RnnCache::default));
        }
        for (li, layer) in self.layers.iter().enumerate() {
            let mut mask = Vec::new();
            if let Some(r) = rng.as_deref_mut() {
                if p > 0.0 {
                    let keep = T::f(1.0 / (1.0 - p));
                    mask = (0..x.len())
                        .map(|_| if r.uniform() < p { T::zero() } else { keep })
                        .collect();
                    x.iter_mut().zip(&mask).for_each(|(v, &m)| *v *= m);
                }
            }
            let mut out = if dirs == 1 {
                Vec::new()
            } else {
                vec![T::zero(); n * hd * dirs]
            };
            for (d, dir) in layer.iter().enumerate() {
                let mut h = Vec::new();
                match prepared.map(|(ids, pr)| (ids, &pr.layers[li][d])) {
                    Some((ids, pd)) => match &pd.table {
                        Some(t) => {
                            dir.forward_folded(ids, t, pd.w_hh.as_ref(), packed, &mut h, threads)
                        }
                        None => dir.forward_packed(
                            &x,
                            (pd.w_ih.as_ref(), pd.w_hh.as_ref()),
                            packed,
                            &mut h,
                            threads,
                        ),
                    },
                    None => dir.forward(
                        &x,
                        packed,
                        &mut h,
                        cache.as_deref_mut().map(|c| &mut c.rnn[li][d]),
                        threads,
                    ),
                }
                if dirs == 1 {
                    out = h;
                } else {
                    for r in 0..n {
                        out[r * hd * dirs + d * hd..r * hd * dirs + (d + 1) * hd]
                            .copy_from_slice(&h[r * hd..(r + 1) * hd]);
                    }
                }
            }
            if let Some(c) = cache.as_deref_mut() {
                c.inputs.push(std::mem::take(&mut x));
                c.masks.push(mask);
            }
            x = out;
        }
        x
    }

    /// Training forward to the token states of the top layer, packed `(N, D)`
    /// (kept in the cache), with dropout drawn from `rng` when given.
    pub fn forward_states<'c>(
        &self,
        batch: &Batch,
        rng: Option<&mut Rng>,
        cache: &'c mut EncoderCache<T>,
        threads: Threads,
    ) -> &'c [T] {
        let packed = Packed::of(batch);
        let ids = packed.pack_ids(batch);
        let mut x = Vec::new();
        self.embedding.forward(&ids, &mut x);
        cache.inputs.clear();
        cache.masks.clear();
        cache.top = self.run_layers(&packed, x, None, rng, Some(cache), threads);
        cache.ids = ids;
        cache.packed = Some(packed);
        &cache.top
    }

    /// Training forward: pooled representations `(B, D)` of the batch's rows
    /// (in the batch's order), with dropout drawn from `rng` when given.
    pub fn forward(
        &self,
        batch: &Batch,
        rng: Option<&mut Rng>,
        cache: &mut EncoderCache<T>,
        threads: Threads,
    ) -> Vec<T> {
        self.forward_states(batch, rng, cache, threads);
        let mut out = Vec::new();
        let d = self.config.output_dim();
        let q = self.query.as_ref().map(|q| q.value.as_slice());
        let packed = cache.packed.as_ref().expect("set by forward_states");
        pool::forward(
            self.config.pooling,
            &cache.top,
            d,
            packed,
            self.config.bidirectional,
            q,
            &mut out,
            &mut cache.pool,
        );
        out
    }

    /// Inference: pooled representations `(B, D)`, no dropout, no caches kept.
    pub fn encode(&self, batch: &Batch, threads: Threads) -> Vec<T> {
        self.encode_with(batch, None, threads)
    }

    /// [`Encoder::encode`] with a [`Prepared`] state (built by
    /// [`Encoder::prepare`] from these weights) when given. With the packed
    /// f32 kernel the result is bit-identical to `encode`'s.
    pub fn encode_with(
        &self,
        batch: &Batch,
        prepared: Option<&Prepared<T>>,
        threads: Threads,
    ) -> Vec<T> {
        let packed = Packed::of(batch);
        let ids = packed.pack_ids(batch);
        let mut x = Vec::new();
        if !prepared.is_some_and(Prepared::folded) {
            self.embedding.forward(&ids, &mut x);
        }
        let prepared = prepared.map(|pr| (ids.as_slice(), pr));
        let top = self.run_layers(&packed, x, prepared, None, None, threads);
        let mut out = Vec::new();
        let q = self.query.as_ref().map(|q| q.value.as_slice());
        let mut pc = PoolCache::default();
        pool::forward(
            self.config.pooling,
            &top,
            self.config.output_dim(),
            &packed,
            self.config.bidirectional,
            q,
            &mut out,
            &mut pc,
        );
        out
    }

    /// Back-propagate `dpooled (B, D)` through pooling and everything below; gradients accumulate.
    pub fn backward(&mut self, cache: &mut EncoderCache<T>, dpooled: &[T], threads: Threads) {
        let packed = cache.packed.as_ref().expect("backward after forward");
        let (n, d) = (packed.n(), self.config.output_dim());
        let mut dtop = vec![T::zero(); n * d];
        let q = self.query.as_ref().map(|q| q.value.clone());
        let dq = self.query.as_mut().map(|q| q.grad.as_mut_slice());
        pool::backward(
            self.config.pooling,
            &cache.top,
            d,
            packed,
            self.config.bidirectional,
            q.as_deref(),
            &cache.pool,
            dpooled,
            &mut dtop,
            dq,
        );
        self.backward_states(cache, &dtop, threads);
    }

    /// Back-propagate `dstates (N, D)`, the gradient w.r.t. the top layer's
    /// packed token states, through the RNN layers and the embedding.
    pub fn backward_states(
        &mut self,
        cache: &mut EncoderCache<T>,
        dstates: &[T],
        threads: Threads,
    ) {
        let packed = cache.packed.as_ref().expect("backward after forward");
        let (n, hd) = (packed.n(), self.config.hidden);
        // The gradient w.r.t. the current layer's output. One direction
        // reads it in place; two split its halves into per-direction copies.
        // (Copies of (N, H) are what peak memory is made of at H = 512.)
        let mut dout: std::borrow::Cow<[T]> = std::borrow::Cow::Borrowed(dstates);
        for l in (0..self.layers.len()).rev() {
            let dirs = self.layers[l].len();
            let input = &cache.inputs[l];
            let in_dim = input.len() / n.max(1);
            let mut dinput = Vec::new();
            for dir in 0..dirs {
                let split;
                let dh: &[T] = if dirs == 1 {
                    &dout
                } else {
                    split = (0..n)
                        .flat_map(|r| {
                            dout[r * hd * dirs + dir * hd..r * hd * dirs + (dir + 1) * hd]
                                .iter()
                                .copied()
                        })
                        .collect::<Vec<T>>();
                    &split
                };
                let mut dx = Vec::new();
                self.layers[l][dir].backward(
                    input,
                    packed,
                    &mut cache.rnn[l][dir],
                    dh,
                    Some(&mut dx),
                    threads,
                );
                if dir == 0 {
                    dinput = dx;
                } else {
                    dinput.iter_mut().zip(&dx).for_each(|(a, &b)| *a += b);
                }
            }
            debug_assert_eq!(dinput.len(), n * in_dim);
            if !cache.masks[l].is_empty() {
                dinput
                    .iter_mut()
                    .zip(&cache.masks[l])
                    .for_each(|(a, &m)| *a *= m);
            }
            dout = std::borrow::Cow::Owned(dinput);
        }
        self.embedding.backward(&cache.ids, &dout);
    }
}

impl<T: Real> Module<T> for Encoder<T> {
    fn visit(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        self.embedding.visit(f);
        for layer in &mut self.layers {
            for dir in layer {
                dir.visit(f);
            }
        }
        if let Some(q) = &mut self.query {
            f(q);
        }
        self.objective.iter_mut().for_each(&mut *f);
    }
}
