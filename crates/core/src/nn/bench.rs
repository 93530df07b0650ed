//! The benchmark model of `../shared/bench/pytorch_rnn_bench.py`, so `textrnn
//! bench` measures exactly what the PyTorch reference measures:
//! Embedding(20000, 128) -> LSTM/GRU(128, H), one layer -> mean over time ->
//! Linear(H, 64); loss = mean(out^2); Adam lr 1e-3; float32.

use super::encoder::{Encoder, EncoderCache, EncoderConfig, Prepared};
use super::gemm::Threads;
use super::linear::Linear;
use super::optim::{NonFinite, Optimizer, OptimizerKind};
use super::pool::Pooling;
use super::rnn::Cell;
use super::{loss, Module, Param};
use crate::batch::Batch;
use crate::rng::Rng;

/// Vocabulary size of the reference model.
pub const VOCAB: usize = 20_000;
/// Embedding size of the reference model.
pub const EMBED: usize = 128;
/// Output size of the projection.
pub const PROJ: usize = 64;

/// The reference model with its optimizer and reusable buffers.
pub struct BenchModel {
    enc: Encoder<f32>,
    proj: Linear<f32>,
    opt: Optimizer<f32>,
    cache: EncoderCache<f32>,
    threads: Threads,
    prepared: Option<Prepared<f32>>,
}

struct Params<'a>(&'a mut Encoder<f32>, &'a mut Linear<f32>);

impl Module<f32> for Params<'_> {
    fn visit(&mut self, f: &mut dyn FnMut(&mut Param<f32>)) {
        self.0.visit(f);
        self.1.visit(f);
    }
}

impl BenchModel {
    /// A seeded model with hidden size `hidden`.
    pub fn new(cell: Cell, hidden: usize, seed: u64, threads: usize) -> Self {
        let cfg = EncoderConfig {
            vocab: VOCAB,
            embed: EMBED,
            hidden,
            layers: 1,
            bidirectional: false,
            cell,
            pooling: Pooling::Mean,
            dropout: 0.0,
        };
        let mut rng = Rng::new(seed);
        BenchModel {
            enc: Encoder::new(cfg, &mut rng),
            proj: Linear::new("proj.", hidden, PROJ, &mut rng),
            opt: Optimizer::new(OptimizerKind::adam()),
            cache: EncoderCache::default(),
            threads: Threads::Many(threads),
            prepared: None,
        }
    }

    /// One Adam step on `batch`; returns the loss before the step.
    pub fn train_step(&mut self, batch: &Batch, lr: f64) -> Result<f32, NonFinite> {
        self.prepared = None;
        let mut params = Params(&mut self.enc, &mut self.proj);
        params.zero_grad();
        let pooled = self.enc.forward(batch, None, &mut self.cache, self.threads);
        let mut out = Vec::new();
        self.proj.forward(&pooled, batch.b, &mut out, self.threads);
        let zeros = vec![0.0; out.len()];
        let (l, dout) = loss::mse(&out, &zeros);
        let mut dpooled = Vec::new();
        self.proj
            .backward(&pooled, batch.b, &dout, Some(&mut dpooled), self.threads);
        self.enc.backward(&mut self.cache, &dpooled, self.threads);
        if !l.is_finite() {
            return Err(NonFinite {
                what: "loss".into(),
                step: self.opt.step + 1,
            });
        }
        // `update` refuses non-finite gradients before touching any weight.
        self.opt
            .update(&mut Params(&mut self.enc, &mut self.proj), lr)?;
        Ok(l)
    }

    /// Prepare the encoder for the following [`BenchModel::infer`] calls
    /// (weights packed once; with `fold`, and when [`Encoder::fold_pays`]
    /// for a long run, the input projection folded into per-token tables);
    /// returns whether it folded. Any training step drops the state.
    pub fn prepare(&mut self, fold: bool) -> bool {
        let fold = fold && self.enc.fold_pays(usize::MAX);
        let prepared = self.enc.prepare(fold, self.threads);
        let folded = prepared.folded();
        self.prepared = Some(prepared);
        folded
    }

    /// Inference only (no caches); returns the loss.
    pub fn infer(&self, batch: &Batch) -> f32 {
        let pooled = self
            .enc
            .encode_with(batch, self.prepared.as_ref(), self.threads);
        let mut out = Vec::new();
        self.proj.forward(&pooled, batch.b, &mut out, self.threads);
        out.iter().map(|x| x * x).sum::<f32>() / out.len().max(1) as f32
    }
}

/// `n` random batches of `b` rows with ids in `5..VOCAB`, lengths `t` or drawn from `lengths`.
pub fn random_batches(
    n: usize,
    b: usize,
    t: usize,
    lengths: Option<&[usize]>,
    seed: u64,
) -> Vec<Batch> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let seqs: Vec<Vec<u32>> = (0..b)
                .map(|_| {
                    let len = match lengths {
                        Some(ls) if !ls.is_empty() => ls[rng.below(ls.len())].clamp(1, t),
                        _ => t,
                    };
                    (0..len).map(|_| 5 + rng.below(VOCAB - 5) as u32).collect()
                })
                .collect();
            Batch::new(&seqs, &(0..b).collect::<Vec<_>>(), t)
        })
        .collect()
}

/// FLOPs per token of the reference model's recurrent layer, forward:
/// `2·G·H·(E + H)` (G = 4 gates for LSTM, 3 for GRU); training counts 3x.
pub fn rnn_flops_per_token(cell: Cell, hidden: usize) -> f64 {
    2.0 * (cell.gates() * hidden * (EMBED + hidden)) as f64
}

/// The machine's reference FLOP rate for the engine's target ("85% of the
/// large-SGEMM rate per thread"): the best of `rounds` timed `n x n x n`
/// f32 products on one thread, GFLOP/s, on the `gemm` crate and on our
/// packed kernel (`None` without AVX-512; its packing is timed too).
pub fn sgemm_gflops(n: usize, rounds: usize) -> (f64, Option<f64>) {
    use super::gemm::matmul;
    use super::kernel::PackedB;
    let mut rng = Rng::new(1);
    let a: Vec<f32> = (0..n * n).map(|_| rng.normal() as f32).collect();
    let b: Vec<f32> = (0..n * n).map(|_| rng.normal() as f32).collect();
    let mut c = vec![0f32; n * n];
    let flops = 2.0 * (n as f64).powi(3);
    let (mut crate_best, mut ours_best) = (0f64, None::<f64>);
    for _ in 0..rounds.max(1) {
        let t = std::time::Instant::now();
        matmul(n, n, n, &a, false, &b, false, &mut c, false, Threads::One);
        crate_best = crate_best.max(flops / t.elapsed().as_secs_f64() / 1e9);
        let t = std::time::Instant::now();
        if let Some(pb) = PackedB::new(&b, n, n) {
            c.iter_mut().for_each(|x| *x = 0.0);
            pb.matmul_acc(n, &a, &mut c);
            let rate = flops / t.elapsed().as_secs_f64() / 1e9;
            ours_best = Some(ours_best.map_or(rate, |r| r.max(rate)));
        }
    }
    (crate_best, ours_best)
}
