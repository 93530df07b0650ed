//! Fused LSTM and GRU layers over the packed layout, one direction each.
//!
//! Forward: each step projects its rows' input (`x_t·W_ihᵀ` + bias) and adds
//! one GEMM `h_{t-1} (b_t, H)·W_hhᵀ` with the gates stacked, then one fused
//! element-wise pass. Backward through
//! time: per step one GEMM for `dh_{t-1}`; the weight gradients are large
//! GEMMs over all steps after the loop. GRU keeps the hidden-side gradient
//! of its n gate (`dn * r`, `(N, H)`) apart; its r and z parts are the
//! input-side ones, so no second `(N, G·H)` buffer exists.
//!
//! Gate layout and formulas are PyTorch's: LSTM gates `i, f, g, o`
//! (`input_gate, forget_gate, cell_gate, output_gate`), GRU gates `r, z, n`
//! (`reset_gate, update_gate, new_gate`) with the reset applied after the
//! hidden projection: `n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`,
//! `h' = (1 - z) * n + z * h`.
//!
//! A reverse layer runs each sequence from its own last token to its first;
//! with rows sorted by length, the state of a row that has not started yet is
//! still zero, so one rolling `(B, H)` state serves both directions.
//!
//! Threads: the batch rows are split into contiguous ranges of about equal
//! token counts, and each thread runs the whole recurrence of its rows with
//! its own per-step GEMM, with no barrier between steps. The ranges depend
//! only on the thread count, so a fixed count gives bit-identical results.

use serde::{Deserialize, Serialize};

use super::cell;
use super::gemm::{matmul, matmul_at_block, Threads};
use super::kernel::PackedB;
use super::linear::project;
use super::packed::Packed;
use super::{as_f32, as_f32_mut, Module, Param, Real};
use crate::rng::Rng;
use rayon::prelude::*;

/// The recurrent cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cell {
    /// Long short-term memory.
    Lstm,
    /// Gated recurrent unit.
    Gru,
}

impl Cell {
    /// Gates per hidden unit: 4 for LSTM, 3 for GRU.
    pub fn gates(self) -> usize {
        match self {
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }
}

/// One direction of one layer.
#[derive(Clone, Debug)]
pub struct RnnLayer<T> {
    /// LSTM or GRU.
    pub cell: Cell,
    /// Runs from the last token to the first.
    pub reverse: bool,
    /// `(G·H, I)`.
    pub w_ih: Param<T>,
    /// `(G·H, H)`.
    pub w_hh: Param<T>,
    /// `(G·H)`.
    pub b_ih: Param<T>,
    /// `(G·H)`.
    pub b_hh: Param<T>,
}

/// What the backward pass needs from the forward pass.
#[derive(Clone, Debug, Default)]
pub struct RnnCache<T> {
    /// Activated gates `(N, G·H)`: LSTM `i, f, g, o`; GRU `r, z, n`.
    pub gates: Vec<T>,
    /// Previous hidden state of each row `(N, H)`.
    pub hprev: Vec<T>,
    /// LSTM: previous cell state `(N, H)`.
    pub cprev: Vec<T>,
    /// LSTM: `tanh(c)` of the new cell state `(N, H)`.
    pub tanh_c: Vec<T>,
    /// GRU: `W_hn h + b_hn` `(N, H)`.
    pub ghn: Vec<T>,
    /// The gate buffer after backward consumed it (it then holds gradients,
    /// not gates): kept so the next forward reuses the allocation.
    pub spare: Vec<T>,
}

/// A raw view of a buffer that several threads write in disjoint row blocks.
#[derive(Clone, Copy)]
struct Shared<T> {
    ptr: *mut T,
    len: usize,
}

// SAFETY: threads only touch disjoint ranges (see `rows`), and the owner
// outlives the parallel section.
unsafe impl<T: Send> Send for Shared<T> {}
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    fn new(v: &mut [T]) -> Self {
        Shared {
            ptr: v.as_mut_ptr(),
            len: v.len(),
        }
    }

    /// `[start, start + len)` of the buffer.
    ///
    /// # Safety
    /// No other live slice may overlap this range.
    #[allow(clippy::mut_from_ref)]
    unsafe fn rows(&self, start: usize, len: usize) -> &mut [T] {
        assert!(start + len <= self.len, "row block out of range");
        std::slice::from_raw_parts_mut(self.ptr.add(start), len)
    }
}

/// The input projection computed step by step inside the recurrence, for the
/// rows of that step, instead of for all steps up front. In inference nothing
/// needs every step's gates at once, so the `(N, G·H)` buffer (64 MB at
/// H = 512, B = 128, T = 64) disappears; in training the step's rows of the
/// cached gates stay in cache from the projection to the element-wise pass.
struct StepInput<'a, T> {
    /// Layer input `(N, I)`, rows in packed (time-major) order.
    x: &'a [T],
    /// `I`.
    dim: usize,
    /// Bias added to every row's input projection `(G·H)`.
    bias: &'a [T],
    /// `W_ihᵀ` packed for the f32 kernel, when it runs.
    packed: Option<&'a PackedB>,
    /// `W_ihᵀ` `(I, G·H)` for the gemm crate otherwise (empty when packed).
    w_t: &'a [T],
    /// Folded input: each packed row's token id and the layer's
    /// [`RnnLayer::input_table`]; when set, a row's projection is its
    /// token's table row and `x` is not read.
    table: Option<(&'a [u32], &'a [T])>,
    /// Initial hidden state `(B, H)` in the batch's row order; zero when
    /// `None`. (An LSTM's cell state always starts at zero.)
    init: Option<&'a [T]>,
}

/// One step's `c (bb, gh) += h (bb, hd) · W_hhᵀ`: the packed kernel when
/// there is one (f32, AVX-512), else the gemm crate.
#[allow(clippy::too_many_arguments)]
fn step_product<T: Real>(
    packed: Option<&PackedB>,
    bb: usize,
    gh: usize,
    hd: usize,
    h: &[T],
    w_hh_t: &[T],
    c: &mut [T],
) {
    if let Some(pb) = packed {
        if let (Some(a), Some(c)) = (as_f32(&h[..bb * hd]), as_f32_mut(&mut c[..bb * gh])) {
            pb.matmul_acc(bb, a, c);
            return;
        }
    }
    matmul(bb, gh, hd, h, false, w_hh_t, false, c, true, Threads::One);
}

/// `c (m, n) = bias + a (m, k) · W`: on the packed kernel the accumulators
/// start at the bias (one pass, and bit for bit a bias fill followed by
/// `matmul_acc`); otherwise a bias fill, then the gemm crate with `w_t`
/// `(k, n)`. Every input projection and GRU's hidden product go through it.
fn bias_product<T: Real>(
    packed: Option<&PackedB>,
    (m, k, n): (usize, usize, usize),
    a: &[T],
    w_t: &[T],
    bias: &[T],
    c: &mut [T],
) {
    let (a, c) = (&a[..m * k], &mut c[..m * n]);
    if let (Some(pb), Some(a32), Some(b32)) = (packed, as_f32(a), as_f32(bias)) {
        if let Some(c32) = as_f32_mut(c) {
            pb.matmul_bias(m, a32, b32, c32);
            return;
        }
    }
    for row in c.chunks_exact_mut(n) {
        row.copy_from_slice(bias);
    }
    matmul(m, n, k, a, false, w_t, false, c, true, Threads::One);
}

/// `(R, C)` row-major to `(C, R)` row-major, in cache-friendly 32x32 tiles.
fn transpose<T: Real>(a: &[T], r: usize, c: usize) -> Vec<T> {
    const TILE: usize = 32;
    let mut out = vec![T::zero(); r * c];
    for i0 in (0..r).step_by(TILE) {
        for j0 in (0..c).step_by(TILE) {
            for i in i0..(i0 + TILE).min(r) {
                for j in j0..(j0 + TILE).min(c) {
                    out[j * r + i] = a[i * c + j];
                }
            }
        }
    }
    out
}

/// Contiguous row ranges, one per thread, of about equal token counts.
fn row_ranges(p: &Packed, threads: Threads) -> Vec<(usize, usize)> {
    let b = p.b();
    let want = match threads {
        Threads::One => 1,
        Threads::Many(n) => n.max(1),
    };
    // Fewer than 8 rows per thread costs more in small GEMMs than it saves.
    let nt = want.min(b / 8).max(1);
    if nt == 1 {
        return vec![(0, b)];
    }
    let total = p.n();
    let mut ranges = Vec::with_capacity(nt);
    let (mut start, mut acc) = (0, 0);
    for i in 0..b {
        acc += p.lengths[i];
        let k = ranges.len() + 1;
        if k < nt && acc * nt >= total * k && b - (i + 1) >= nt - k {
            ranges.push((start, i + 1));
            start = i + 1;
        }
    }
    ranges.push((start, b));
    ranges
}

/// `grad[j] += Σ_r src[r·width + col0 + j]` for each of `grads` (all as
/// wide as the first), rows added in order: the same sums, bit for bit, as
/// a loop over rows on one thread, however the columns are split. One
/// sequential pass over `src` for all the gradients (a strided pass per
/// 64-column block each was 3% of an LSTM H=256 training step).
fn add_rows<T: Real, const G: usize>(
    mut grads: [&mut [T]; G],
    src: &[T],
    (width, col0): (usize, usize),
    threads: Threads,
) {
    let cols = grads[0].len();
    let n = src.len() / width.max(1);
    let add = |c0: usize, gs: &mut [&mut [T]]| {
        let w = gs[0].len();
        for r in 0..n {
            let at = r * width + col0 + c0;
            let row = &src[at..at + w];
            for g in gs.iter_mut() {
                g.iter_mut().zip(row).for_each(|(g, &v)| *g += v);
            }
        }
    };
    let parts = match threads {
        Threads::One => 1,
        Threads::Many(t) => t.clamp(1, cols.div_ceil(64).max(1)),
    };
    if parts == 1 {
        add(0, &mut grads[..]);
        return;
    }
    // Column blocks of whole 16-float groups, one per thread.
    let block = cols.div_ceil(parts).div_ceil(16) * 16;
    let mut blocks: Vec<(usize, Vec<&mut [T]>)> = Vec::new();
    let mut rest: Vec<&mut [T]> = grads.into_iter().collect();
    let mut c0 = 0;
    while c0 < cols {
        let w = block.min(cols - c0);
        let mut here = Vec::with_capacity(G);
        let mut next = Vec::with_capacity(G);
        for g in rest {
            let (a, b) = g.split_at_mut(w);
            here.push(a);
            next.push(b);
        }
        blocks.push((c0, here));
        rest = next;
        c0 += w;
    }
    blocks
        .into_par_iter()
        .for_each(|(c0, mut gs)| add(c0, &mut gs[..]));
}

impl<T: Real> RnnLayer<T> {
    /// A layer with PyTorch's names (`weight_ih_l{layer}{_reverse}`...) and
    /// its init, U(±1/sqrt(H)).
    pub fn new(
        prefix: &str,
        cell: Cell,
        input: usize,
        hidden: usize,
        layer: usize,
        reverse: bool,
        rng: &mut Rng,
    ) -> Self {
        let gh = cell.gates() * hidden;
        let bound = 1.0 / (hidden as f64).sqrt();
        let sfx = if reverse { "_reverse" } else { "" };
        let name = |w: &str| format!("{prefix}{w}_l{layer}{sfx}");
        RnnLayer {
            cell,
            reverse,
            w_ih: Param::uniform(name("weight_ih"), &[gh, input], bound, rng),
            w_hh: Param::uniform(name("weight_hh"), &[gh, hidden], bound, rng),
            b_ih: Param::uniform(name("bias_ih"), &[gh], bound, rng),
            b_hh: Param::uniform(name("bias_hh"), &[gh], bound, rng),
        }
    }

    /// Hidden size H.
    pub fn hidden(&self) -> usize {
        self.w_hh.shape[1]
    }

    /// Input size I.
    pub fn input(&self) -> usize {
        self.w_ih.shape[1]
    }

    /// Time step processed at position `s` of this layer's order.
    fn step_order(&self, t: usize, s: usize) -> usize {
        if self.reverse {
            t - 1 - s
        } else {
            s
        }
    }

    /// Run the layer over `x (N, I)` in layout `p`, writing `h (N, H)`.
    /// With a cache, store what backward needs; without, store nothing.
    pub fn forward(
        &self,
        x: &[T],
        p: &Packed,
        h: &mut Vec<T>,
        cache: Option<&mut RnnCache<T>>,
        threads: Threads,
    ) {
        self.run(x, None, (None, None), None, p, h, cache, threads)
    }

    /// [`RnnLayer::forward`] from the initial hidden state `h0 (B, H)`
    /// (rows in the batch's order) instead of zero; an LSTM's cell state
    /// still starts at zero. A reverse layer starts each row from `h0` at
    /// that row's last token.
    pub fn forward_from(
        &self,
        x: &[T],
        h0: &[T],
        p: &Packed,
        h: &mut Vec<T>,
        cache: Option<&mut RnnCache<T>>,
        threads: Threads,
    ) {
        assert_eq!(h0.len(), p.b() * self.hidden(), "h0 is (B, H)");
        self.run(x, None, (None, None), Some(h0), p, h, cache, threads)
    }

    /// Inference over token ids instead of their embeddings: `ids (N)` in
    /// packed order and `table` from [`RnnLayer::input_table`] of the
    /// embedding that would have produced `x`. With the packed kernel the
    /// result equals `forward`'s bit for bit (each gate is the same FMA
    /// chain, `bias + x·W_ihᵀ` continued by `h·W_hhᵀ`), at `H / (I + H)` of
    /// its per-token FLOPs.
    /// `w_hh` is [`RnnLayer::pack_hh`] of this layer when the caller keeps
    /// it across calls (packing otherwise happens per call).
    #[allow(clippy::too_many_arguments)]
    pub fn forward_folded(
        &self,
        ids: &[u32],
        table: &[T],
        w_hh: Option<&PackedB>,
        p: &Packed,
        h: &mut Vec<T>,
        threads: Threads,
    ) {
        assert_eq!(ids.len(), p.n(), "one id per packed row");
        self.run(
            &[],
            Some((ids, table)),
            (None, w_hh),
            None,
            p,
            h,
            None,
            threads,
        )
    }

    /// Inference [`RnnLayer::forward`] with the weights already packed by
    /// [`RnnLayer::pack_ih`] / [`RnnLayer::pack_hh`] (a `None` is packed
    /// per call, as `forward` does); the same result bit for bit.
    pub fn forward_packed(
        &self,
        x: &[T],
        (w_ih, w_hh): (Option<&PackedB>, Option<&PackedB>),
        p: &Packed,
        h: &mut Vec<T>,
        threads: Threads,
    ) {
        self.run(x, None, (w_ih, w_hh), None, p, h, None, threads)
    }

    /// One time step for `rows` independent rows with explicit states, for
    /// decoding token by token: `x (rows, I)` in, `h (rows, H)` (and for
    /// LSTM the cell state `c (rows, H)`; empty for GRU) updated in place.
    /// The same formulas as [`RnnLayer::forward`]'s steps. `packed` holds
    /// [`RnnLayer::pack_ih`] and [`RnnLayer::pack_hh`] when the caller keeps
    /// them across steps (they are packed per call otherwise).
    pub fn step(
        &self,
        x: &[T],
        h: &mut [T],
        c: &mut [T],
        packed: (Option<&PackedB>, Option<&PackedB>),
        threads: Threads,
    ) {
        let (hd, gh, inp) = (
            self.hidden(),
            self.cell.gates() * self.hidden(),
            self.input(),
        );
        let rows = h.len() / hd.max(1);
        assert!(x.len() == rows * inp, "step input is (rows, I)");
        let mut g = Vec::new();
        let bias = self.input_bias();
        project(
            x,
            rows,
            &self.w_ih.value,
            (inp, gh),
            Some(&bias),
            packed.0,
            &mut g,
            threads,
        );
        let mut out = vec![T::zero(); rows * hd];
        let mut rec = Vec::new();
        match self.cell {
            Cell::Lstm => {
                assert_eq!(c.len(), rows * hd, "an LSTM step needs its cell state");
                project(
                    h,
                    rows,
                    &self.w_hh.value,
                    (hd, gh),
                    None,
                    packed.1,
                    &mut rec,
                    threads,
                );
                g.iter_mut().zip(&rec).for_each(|(a, &b)| *a += b);
                cell::lstm_forward(hd, &mut g, c, h, &mut out, None);
            }
            Cell::Gru => {
                let b_hh = &self.b_hh.value;
                project(
                    h,
                    rows,
                    &self.w_hh.value,
                    (hd, gh),
                    Some(b_hh),
                    packed.1,
                    &mut rec,
                    threads,
                );
                cell::gru_forward(hd, &mut g, &rec, h, &mut out, None);
            }
        }
    }

    /// `W_hhᵀ` packed for the f32 kernel (None off f32 or without AVX-512):
    /// what every forward call packs, for callers that run many inference
    /// calls with the same weights.
    pub fn pack_hh(&self) -> Option<PackedB> {
        let (hd, gh) = (self.hidden(), self.cell.gates() * self.hidden());
        as_f32(&self.w_hh.value).and_then(|w| PackedB::from_transposed(w, hd, gh))
    }

    /// `W_ihᵀ` packed for the f32 kernel, as [`RnnLayer::pack_hh`].
    pub fn pack_ih(&self) -> Option<PackedB> {
        let (inp, gh) = (self.input(), self.cell.gates() * self.hidden());
        as_f32(&self.w_ih.value).and_then(|w| PackedB::from_transposed(w, inp, gh))
    }

    /// The bias added to the input projection: LSTM folds both biases in,
    /// GRU keeps `b_hh` for the hidden side (the reset gate multiplies it).
    fn input_bias(&self) -> Vec<T> {
        if self.cell == Cell::Lstm {
            self.b_ih
                .value
                .iter()
                .zip(&self.b_hh.value)
                .map(|(&a, &b)| a + b)
                .collect()
        } else {
            self.b_ih.value.clone()
        }
    }

    /// The input projection of every row of an embedding table `emb (V, I)`:
    /// row `v` is `bias + emb[v]·W_ihᵀ`, `(V, G·H)`. A first layer fed by an
    /// embedding can look its projection up instead of computing it per
    /// token ([`RnnLayer::forward_folded`]); building the table costs what
    /// projecting `V` tokens costs, so it pays once more than `V` tokens
    /// are encoded.
    pub fn input_table(&self, emb: &[T], threads: Threads) -> Vec<T> {
        let (inp, gh) = (self.input(), self.cell.gates() * self.hidden());
        let v = emb.len() / inp.max(1);
        let bias = self.input_bias();
        let packed = self.pack_ih();
        let w_t = if packed.is_none() {
            transpose(&self.w_ih.value, gh, inp)
        } else {
            Vec::new()
        };
        let mut out = vec![T::zero(); v * gh];
        const CHUNK: usize = 256;
        let project = |(c, a): (&mut [T], &[T])| {
            let m = a.len() / inp.max(1);
            bias_product(packed.as_ref(), (m, inp, gh), a, &w_t, &bias, c);
        };
        let emb = &emb[..v * inp];
        match threads {
            Threads::One => out
                .chunks_mut(CHUNK * gh)
                .zip(emb.chunks(CHUNK * inp))
                .for_each(project),
            Threads::Many(_) => out
                .par_chunks_mut(CHUNK * gh)
                .zip(emb.par_chunks(CHUNK * inp))
                .for_each(project),
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        x: &[T],
        table: Option<(&[u32], &[T])>,
        (w_ih, w_hh): (Option<&PackedB>, Option<&PackedB>),
        init: Option<&[T]>,
        p: &Packed,
        h: &mut Vec<T>,
        cache: Option<&mut RnnCache<T>>,
        threads: Threads,
    ) {
        let (hd, gh, n, inp) = (
            self.hidden(),
            self.cell.gates() * self.hidden(),
            p.n(),
            self.input(),
        );
        let lstm = self.cell == Cell::Lstm;
        // Training calls reuse the previous pass's cache buffers: fresh
        // allocations of this size are fresh pages, and their page faults
        // cost more than the fill (and serialize threads in the kernel).
        let mut cache = cache;
        let keep = cache.is_some();
        let mut take = |f: fn(&mut RnnCache<T>) -> &mut Vec<T>, len: usize| {
            let mut v = cache
                .as_deref_mut()
                .map(|c| std::mem::take(f(c)))
                .unwrap_or_default();
            // Every element of these buffers is written by the recurrence
            // before anything reads it, so the previous contents may stay:
            // only growth is zero-filled (a full fill was 2% of a step).
            v.truncate(len);
            v.resize(len, T::zero());
            v
        };
        // Every step projects its own rows' input (bias + x_t·W_ihᵀ) inside
        // the recurrence, into the cached gate rows when training: those
        // rows are then still in cache for the step's h·W_hhᵀ and the
        // element-wise pass, instead of being written for all steps up front
        // and read back from memory twice.
        let mut pre = take(
            |c| {
                if c.gates.is_empty() {
                    &mut c.spare
                } else {
                    &mut c.gates
                }
            },
            if keep { n * gh } else { 0 },
        );
        let bias = self.input_bias();
        // The gemm crate is ~1.6x faster when the right operand is row-major
        // (K, N) than when it is a transposed view (measured at B=64, H=256:
        // 103 vs 66 GFLOP/s), so the weights are transposed once per call.
        // f32 on AVX-512: W_ih and W_hh packed straight from their (out, in)
        // layout, once per call (see nn::kernel); otherwise transposed for
        // the gemm crate.
        let packed_own = match w_hh {
            Some(_) => None,
            None => self.pack_hh(),
        };
        let packed = w_hh.or(packed_own.as_ref());
        let packed_ih_own = match (w_ih, &table) {
            (None, None) => self.pack_ih(),
            _ => None,
        };
        let packed_ih = w_ih.filter(|_| table.is_none()).or(packed_ih_own.as_ref());
        let w_hh_t = if packed.is_some() {
            Vec::new()
        } else {
            transpose(&self.w_hh.value, gh, hd)
        };
        let w_ih_t = if packed_ih.is_none() && table.is_none() {
            transpose(&self.w_ih.value, gh, inp)
        } else {
            Vec::new()
        };
        h.clear();
        h.resize(n * hd, T::zero());
        let step_input = StepInput {
            x,
            dim: inp,
            bias: &bias,
            packed: packed_ih,
            w_t: &w_ih_t,
            table,
            init,
        };
        let mut hprev = take(|c| &mut c.hprev, if keep { n * hd } else { 0 });
        let mut cprev = take(|c| &mut c.cprev, if keep && lstm { n * hd } else { 0 });
        let mut tanh_c = take(|c| &mut c.tanh_c, if keep && lstm { n * hd } else { 0 });
        let mut ghn = take(|c| &mut c.ghn, if keep && !lstm { n * hd } else { 0 });
        let bufs = [
            Shared::new(&mut pre),
            Shared::new(h),
            Shared::new(&mut hprev),
            Shared::new(&mut cprev),
            Shared::new(&mut tanh_c),
            Shared::new(&mut ghn),
        ];
        let ranges = row_ranges(p, threads);
        let run = |&(r0, r1): &(usize, usize)| {
            self.forward_rows(p, r0, r1, &w_hh_t, packed, &bufs, &step_input, keep)
        };
        if ranges.len() == 1 {
            run(&ranges[0]);
        } else {
            ranges.par_iter().for_each(run);
        }
        if let Some(c) = cache {
            c.gates = pre;
            c.hprev = hprev;
            c.cprev = cprev;
            c.tanh_c = tanh_c;
            c.ghn = ghn;
        }
    }

    /// The recurrence of rows `r0..r1`, writing only their rows of every buffer.
    #[allow(clippy::too_many_arguments)]
    fn forward_rows(
        &self,
        p: &Packed,
        r0: usize,
        r1: usize,
        w_hh_t: &[T],
        packed: Option<&PackedB>,
        bufs: &[Shared<T>; 6],
        si: &StepInput<T>,
        keep: bool,
    ) {
        let (hd, gh) = (self.hidden(), self.cell.gates() * self.hidden());
        let lstm = self.cell == Cell::Lstm;
        let rows = r1 - r0;
        let mut sh = match si.init {
            Some(h0) => h0[r0 * hd..r1 * hd].to_vec(),
            None => vec![T::zero(); rows * hd],
        };
        let mut sc = vec![T::zero(); if lstm { rows * hd } else { 0 }];
        let mut rec = vec![T::zero(); if lstm { 0 } else { rows * gh }];
        let mut local = vec![T::zero(); if keep { 0 } else { rows * gh }];
        for s in 0..p.t() {
            let t = self.step_order(p.t(), s);
            let bb = p.batch_sizes[t].min(r1).saturating_sub(r0);
            if bb == 0 {
                continue;
            }
            let at = p.offsets[t] + r0;
            // SAFETY: rows at..at+bb of step t belong to this thread only.
            let h = unsafe { bufs[1].rows(at * hd, bb * hd) };
            let g = if keep {
                // SAFETY: as above.
                unsafe { bufs[0].rows(at * gh, bb * gh) }
            } else {
                &mut local[..bb * gh]
            };
            if let Some((ids, table)) = si.table {
                for (row, &id) in g.chunks_exact_mut(gh).zip(&ids[at..at + bb]) {
                    let id = id as usize;
                    row.copy_from_slice(&table[id * gh..(id + 1) * gh]);
                }
            }
            let xr = if si.table.is_some() {
                &[][..]
            } else {
                &si.x[at * si.dim..(at + bb) * si.dim]
            };
            // LSTM on the packed kernel: bias + x_t·W_ihᵀ + h·W_hhᵀ in one
            // pass that stores each gate once. Otherwise bias fill, input
            // projection, and (below) the hidden product added on top.
            let fused = match (lstm && si.table.is_none(), si.packed, packed) {
                (true, Some(pi), Some(ph)) => {
                    match (
                        as_f32(xr),
                        as_f32(&sh[..bb * hd]),
                        as_f32(si.bias),
                        as_f32_mut(g),
                    ) {
                        (Some(a1), Some(a2), Some(bias), Some(c)) => {
                            pi.matmul2_bias(ph, bb, a1, a2, bias, c);
                            true
                        }
                        _ => false,
                    }
                }
                _ => false,
            };
            if !fused && si.table.is_none() {
                bias_product(si.packed, (bb, si.dim, gh), xr, si.w_t, si.bias, g);
            }
            if keep {
                unsafe { bufs[2].rows(at * hd, bb * hd) }.copy_from_slice(&sh[..bb * hd]);
            }
            if lstm {
                if !fused {
                    step_product(packed, bb, gh, hd, &sh, w_hh_t, g);
                }
                let cache = keep.then(|| {
                    // SAFETY: rows at..at+bb of step t belong to this thread only.
                    unsafe {
                        (
                            bufs[3].rows(at * hd, bb * hd),
                            bufs[4].rows(at * hd, bb * hd),
                        )
                    }
                });
                cell::lstm_forward(hd, g, &mut sc[..bb * hd], &mut sh[..bb * hd], h, cache);
            } else {
                let r = &mut rec[..bb * gh];
                bias_product(packed, (bb, hd, gh), &sh, w_hh_t, &self.b_hh.value, r);
                let ghn = keep.then(|| {
                    // SAFETY: rows at..at+bb of step t belong to this thread only.
                    unsafe { bufs[5].rows(at * hd, bb * hd) }
                });
                cell::gru_forward(hd, g, r, &mut sh[..bb * hd], h, ghn);
            }
        }
    }

    /// Back-propagate `dh (N, H)` (gradient of the loss w.r.t. this layer's
    /// outputs); accumulate parameter gradients and write `dx (N, I)` if asked.
    /// The gate gradients are computed in place of the cached gates (saving
    /// an `(N, G·H)` buffer), so a cache serves one backward pass.
    pub fn backward(
        &mut self,
        x: &[T],
        p: &Packed,
        owner: &mut RnnCache<T>,
        dh: &[T],
        dx: Option<&mut Vec<T>>,
        threads: Threads,
    ) {
        self.backward_to(x, p, owner, dh, dx, None, threads)
    }

    /// [`RnnLayer::backward`] of a [`RnnLayer::forward_from`] pass, also
    /// writing the gradient of the initial state into `dh0 (B, H)` when
    /// given (overwritten, not accumulated).
    #[allow(clippy::too_many_arguments)]
    pub fn backward_to(
        &mut self,
        x: &[T],
        p: &Packed,
        owner: &mut RnnCache<T>,
        dh: &[T],
        dx: Option<&mut Vec<T>>,
        dh0: Option<&mut [T]>,
        threads: Threads,
    ) {
        let (hd, gh, n, inp) = (
            self.hidden(),
            self.cell.gates() * self.hidden(),
            p.n(),
            self.input(),
        );
        let lstm = self.cell == Cell::Lstm;
        // dgi: gradient w.r.t. the input-side pre-activations. The hidden
        // side's equals it for LSTM and for GRU's r and z; GRU's n gate has
        // its own, `dhn = dn * r` (N, H), kept instead of a second (N, G·H).
        let mut dgi = std::mem::take(&mut owner.gates);
        assert_eq!(
            dgi.len(),
            n * gh,
            "backward needs the cache of one forward pass"
        );
        let mut dhn = vec![T::zero(); if lstm { 0 } else { n * hd }];
        let mut no_dh0 = Vec::new();
        let keep_dh0 = dh0.is_some();
        let dh0 = dh0.unwrap_or(&mut no_dh0);
        if keep_dh0 {
            assert_eq!(dh0.len(), p.b() * hd, "dh0 is (B, H)");
        }
        let bufs = [
            Shared::new(&mut dgi),
            Shared::new(&mut dhn),
            Shared::new(dh0),
        ];
        let ranges = row_ranges(p, threads);
        let cache = &*owner;
        // f32 on AVX-512: W_hh packed once for every step's dh_{t-1} product.
        let packed = as_f32(&self.w_hh.value).and_then(|b| PackedB::new(b, gh, hd));
        let run = |&(r0, r1): &(usize, usize)| {
            self.backward_rows(p, r0, r1, cache, dh, packed.as_ref(), &bufs)
        };
        if ranges.len() == 1 {
            run(&ranges[0]);
        } else {
            ranges.par_iter().for_each(run);
        }
        matmul_at_block(gh, inp, n, &dgi, gh, x, &mut self.w_ih.grad, threads);
        // Rows of W_hh whose gradient comes from dgi: all for LSTM, r and z for GRU.
        let shared = if lstm { gh } else { 2 * hd };
        matmul_at_block(
            shared,
            hd,
            n,
            &dgi,
            gh,
            &cache.hprev,
            &mut self.w_hh.grad[..shared * hd],
            threads,
        );
        if !lstm {
            matmul_at_block(
                hd,
                hd,
                n,
                &dhn,
                hd,
                &cache.hprev,
                &mut self.w_hh.grad[shared * hd..],
                threads,
            );
        }
        // Bias gradients: every row added in order (as one thread would),
        // columns split over the threads; where both biases get the same
        // sums (all of LSTM's, GRU's r and z) they are accumulated in the
        // same pass.
        if lstm {
            add_rows(
                [&mut self.b_ih.grad[..], &mut self.b_hh.grad[..]],
                &dgi,
                (gh, 0),
                threads,
            );
        } else {
            // r and z from dgi (its first 2H columns) into both, the input
            // side's n from dgi's last H columns, the hidden side's from dhn.
            let (ih_rz, ih_n) = self.b_ih.grad.split_at_mut(shared);
            let (hh_rz, hh_n) = self.b_hh.grad.split_at_mut(shared);
            add_rows([ih_rz, hh_rz], &dgi, (gh, 0), threads);
            add_rows([ih_n], &dgi, (gh, shared), threads);
            add_rows([hh_n], &dhn, (hd, 0), threads);
        }
        if let Some(dx) = dx {
            dx.clear();
            dx.resize(n * inp, T::zero());
            matmul(
                n,
                inp,
                gh,
                &dgi,
                false,
                &self.w_ih.value,
                false,
                dx,
                false,
                threads,
            );
        }
        owner.spare = dgi;
    }

    /// Backward through time for rows `r0..r1`, writing only their rows of
    /// `dgi` (which holds the activated gates on entry) and, for GRU, `dhn`.
    #[allow(clippy::too_many_arguments)]
    fn backward_rows(
        &self,
        p: &Packed,
        r0: usize,
        r1: usize,
        cache: &RnnCache<T>,
        dh: &[T],
        packed: Option<&PackedB>,
        bufs: &[Shared<T>; 3],
    ) {
        let (hd, gh) = (self.hidden(), self.cell.gates() * self.hidden());
        let lstm = self.cell == Cell::Lstm;
        let rows = r1 - r0;
        let mut dh_state = vec![T::zero(); rows * hd];
        let mut dc_state = vec![T::zero(); if lstm { rows * hd } else { 0 }];
        // GRU: this step's hidden-side gate gradients [dr, dz, dn * r].
        let mut e_rows = vec![T::zero(); if lstm { 0 } else { rows * gh }];
        for s in (0..p.t()).rev() {
            let t = self.step_order(p.t(), s);
            let bb = p.batch_sizes[t].min(r1).saturating_sub(r0);
            if bb == 0 {
                continue;
            }
            let at = p.offsets[t] + r0;
            // SAFETY: rows at..at+bb of step t belong to this thread only.
            let d = unsafe { bufs[0].rows(at * gh, bb * gh) };
            let (e, dhn) = if lstm {
                (&mut [][..], &mut [][..])
            } else {
                // SAFETY: as above.
                (&mut e_rows[..bb * gh], unsafe {
                    bufs[1].rows(at * hd, bb * hd)
                })
            };
            if lstm {
                let rows = at * hd..(at + bb) * hd;
                cell::lstm_backward(
                    hd,
                    d,
                    &dh[rows.clone()],
                    &mut dh_state[..bb * hd],
                    &mut dc_state[..bb * hd],
                    &cache.cprev[rows.clone()],
                    &cache.tanh_c[rows],
                );
            } else {
                let rows = at * hd..(at + bb) * hd;
                cell::gru_backward(
                    hd,
                    d,
                    e,
                    dhn,
                    &dh[rows.clone()],
                    &mut dh_state[..bb * hd],
                    &cache.hprev[rows.clone()],
                    &cache.ghn[rows],
                );
            }
            // dh_{t-1} for the active rows: one GEMM per step.
            let src: &[T] = if lstm { d } else { e };
            if packed.is_some() {
                // (LSTM: `lstm_backward` left dh_state cleared for the sum.)
                step_product(
                    packed,
                    bb,
                    hd,
                    gh,
                    src,
                    &self.w_hh.value,
                    &mut dh_state[..bb * hd],
                );
            } else {
                matmul(
                    bb,
                    hd,
                    gh,
                    src,
                    false,
                    &self.w_hh.value,
                    false,
                    &mut dh_state[..bb * hd],
                    !lstm,
                    Threads::One,
                );
            }
        }
        if bufs[2].len > 0 {
            // SAFETY: rows r0..r1 of dh0 belong to this thread only.
            unsafe { bufs[2].rows(r0 * hd, rows * hd) }.copy_from_slice(&dh_state);
        }
    }
}

impl<T: Real> Module<T> for RnnLayer<T> {
    fn visit(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        f(&mut self.w_ih);
        f(&mut self.w_hh);
        f(&mut self.b_ih);
        f(&mut self.b_hh);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bias_row_sums_do_not_depend_on_the_column_split() {
        let (n, width) = (37, 200);
        let src: Vec<f32> = (0..n * width)
            .map(|i| ((i * 7919 % 1009) as f32 - 500.0) / 37.0)
            .collect();
        // The order of a plain loop over rows, into gradients that already
        // hold something.
        let start: Vec<f32> = (0..width).map(|j| j as f32 / 3.0).collect();
        let mut want = start.clone();
        for r in 0..n {
            for j in 0..width {
                want[j] += src[r * width + j];
            }
        }
        for threads in [
            Threads::One,
            Threads::Many(2),
            Threads::Many(3),
            Threads::Many(8),
        ] {
            let (mut a, mut b) = (start.clone(), start.clone());
            add_rows([&mut a[..], &mut b[..]], &src, (width, 0), threads);
            assert_eq!(a, want);
            assert_eq!(b, want);
            // A gradient narrower than the rows: their first columns, or
            // the columns from an offset.
            let mut c = start[..70].to_vec();
            add_rows([&mut c[..]], &src, (width, 0), threads);
            assert_eq!(c, want[..70]);
            let mut d = start[130..].to_vec();
            add_rows([&mut d[..]], &src, (width, 130), threads);
            assert_eq!(d, want[130..]);
        }
    }
}
