//! Fused LSTM and GRU layers over the packed layout, one direction each.
//!
//! Forward: the input projection of all steps is one GEMM `(N, I)·W_ihᵀ`
//! before the recurrence; each step is one GEMM `h_{t-1} (b_t, H)·W_hhᵀ`
//! with the gates stacked, then one fused element-wise pass. Backward through
//! time: per step one GEMM for `dh_{t-1}`; the weight gradients are three
//! large GEMMs over all steps after the loop.
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

use serde::{Deserialize, Serialize};

use super::gemm::{matmul, Threads};
use super::packed::Packed;
use super::{Module, Param, Real};
use crate::rng::Rng;

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
    /// LSTM: cell state `(N, H)`.
    pub c: Vec<T>,
    /// GRU: `W_hn h + b_hn` `(N, H)`.
    pub ghn: Vec<T>,
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
        mut cache: Option<&mut RnnCache<T>>,
        threads: Threads,
    ) {
        let (hd, gh, n, inp) = (
            self.hidden(),
            self.cell.gates() * self.hidden(),
            p.n(),
            self.input(),
        );
        let lstm = self.cell == Cell::Lstm;
        // Input projection for all steps at once; LSTM folds both biases in,
        // GRU keeps b_hh for the hidden side (the reset gate multiplies it).
        let mut pre = Vec::with_capacity(n * gh);
        let bias: Vec<T> = if lstm {
            self.b_ih
                .value
                .iter()
                .zip(&self.b_hh.value)
                .map(|(&a, &b)| a + b)
                .collect()
        } else {
            self.b_ih.value.clone()
        };
        for _ in 0..n {
            pre.extend_from_slice(&bias);
        }
        matmul(
            n,
            gh,
            inp,
            x,
            false,
            &self.w_ih.value,
            true,
            &mut pre,
            true,
            threads,
        );

        h.clear();
        h.resize(n * hd, T::zero());
        if let Some(c) = cache.as_deref_mut() {
            c.gates.clear();
            c.gates.resize(n * gh, T::zero());
            c.hprev.clear();
            c.hprev.resize(n * hd, T::zero());
            let (cp, cc, gn) = if lstm {
                (n * hd, n * hd, 0)
            } else {
                (0, 0, n * hd)
            };
            c.cprev.clear();
            c.cprev.resize(cp, T::zero());
            c.c.clear();
            c.c.resize(cc, T::zero());
            c.ghn.clear();
            c.ghn.resize(gn, T::zero());
        }
        let b0 = p.b();
        let mut state_h = vec![T::zero(); b0 * hd];
        let mut state_c = vec![T::zero(); if lstm { b0 * hd } else { 0 }];
        let mut rec = vec![T::zero(); if lstm { 0 } else { b0 * gh }];
        let one = T::one();
        for s in 0..p.t() {
            let t = self.step_order(p.t(), s);
            let (b, base) = (p.batch_sizes[t], p.offsets[t]);
            if let Some(c) = cache.as_deref_mut() {
                c.hprev[base * hd..(base + b) * hd].copy_from_slice(&state_h[..b * hd]);
            }
            if lstm {
                let g = &mut pre[base * gh..(base + b) * gh];
                matmul(
                    b,
                    gh,
                    hd,
                    &state_h,
                    false,
                    &self.w_hh.value,
                    true,
                    g,
                    true,
                    Threads::One,
                );
                for i in 0..b {
                    let gi = &mut g[i * gh..(i + 1) * gh];
                    for j in 0..hd {
                        let ig = gi[j].sigmoid();
                        let fg = gi[hd + j].sigmoid();
                        let gg = gi[2 * hd + j].tanh();
                        let og = gi[3 * hd + j].sigmoid();
                        let cprev = state_c[i * hd + j];
                        let cn = fg * cprev + ig * gg;
                        let hn = og * cn.tanh();
                        gi[j] = ig;
                        gi[hd + j] = fg;
                        gi[2 * hd + j] = gg;
                        gi[3 * hd + j] = og;
                        state_c[i * hd + j] = cn;
                        state_h[i * hd + j] = hn;
                        h[(base + i) * hd + j] = hn;
                        if let Some(c) = cache.as_deref_mut() {
                            c.cprev[(base + i) * hd + j] = cprev;
                            c.c[(base + i) * hd + j] = cn;
                        }
                    }
                }
                if let Some(c) = cache.as_deref_mut() {
                    c.gates[base * gh..(base + b) * gh]
                        .copy_from_slice(&pre[base * gh..(base + b) * gh]);
                }
            } else {
                let r = &mut rec[..b * gh];
                for i in 0..b {
                    r[i * gh..(i + 1) * gh].copy_from_slice(&self.b_hh.value);
                }
                matmul(
                    b,
                    gh,
                    hd,
                    &state_h,
                    false,
                    &self.w_hh.value,
                    true,
                    r,
                    true,
                    Threads::One,
                );
                let g = &mut pre[base * gh..(base + b) * gh];
                for i in 0..b {
                    let gi = &mut g[i * gh..(i + 1) * gh];
                    let ri = &r[i * gh..(i + 1) * gh];
                    for j in 0..hd {
                        let rg = (gi[j] + ri[j]).sigmoid();
                        let zg = (gi[hd + j] + ri[hd + j]).sigmoid();
                        let ng = (gi[2 * hd + j] + rg * ri[2 * hd + j]).tanh();
                        let hp = state_h[i * hd + j];
                        let hn = (one - zg) * ng + zg * hp;
                        gi[j] = rg;
                        gi[hd + j] = zg;
                        gi[2 * hd + j] = ng;
                        state_h[i * hd + j] = hn;
                        h[(base + i) * hd + j] = hn;
                        if let Some(c) = cache.as_deref_mut() {
                            c.ghn[(base + i) * hd + j] = ri[2 * hd + j];
                        }
                    }
                }
                if let Some(c) = cache.as_deref_mut() {
                    c.gates[base * gh..(base + b) * gh]
                        .copy_from_slice(&pre[base * gh..(base + b) * gh]);
                }
            }
        }
    }

    /// Back-propagate `dh (N, H)` (gradient of the loss w.r.t. this layer's
    /// outputs); accumulate parameter gradients and write `dx (N, I)` if asked.
    pub fn backward(
        &mut self,
        x: &[T],
        p: &Packed,
        cache: &RnnCache<T>,
        dh: &[T],
        dx: Option<&mut Vec<T>>,
        threads: Threads,
    ) {
        let (hd, gh, n, inp) = (
            self.hidden(),
            self.cell.gates() * self.hidden(),
            p.n(),
            self.input(),
        );
        let lstm = self.cell == Cell::Lstm;
        let one = T::one();
        // dgi: gradient w.r.t. the input-side pre-activations; dgh: hidden side (GRU only differs).
        let mut dgi = vec![T::zero(); n * gh];
        let mut dgh = vec![T::zero(); if lstm { 0 } else { n * gh }];
        let b0 = p.b();
        let mut dh_state = vec![T::zero(); b0 * hd];
        let mut dc_state = vec![T::zero(); if lstm { b0 * hd } else { 0 }];
        for s in (0..p.t()).rev() {
            let t = self.step_order(p.t(), s);
            let (b, base) = (p.batch_sizes[t], p.offsets[t]);
            for i in 0..b {
                let row = base + i;
                let g = &cache.gates[row * gh..(row + 1) * gh];
                let d = &mut dgi[row * gh..(row + 1) * gh];
                for j in 0..hd {
                    let dhj = dh[row * hd + j] + dh_state[i * hd + j];
                    if lstm {
                        let (ig, fg, gg, og) = (g[j], g[hd + j], g[2 * hd + j], g[3 * hd + j]);
                        let tc = cache.c[row * hd + j].tanh();
                        let dc = dc_state[i * hd + j] + dhj * og * (one - tc * tc);
                        d[j] = dc * gg * ig * (one - ig);
                        d[hd + j] = dc * cache.cprev[row * hd + j] * fg * (one - fg);
                        d[2 * hd + j] = dc * ig * (one - gg * gg);
                        d[3 * hd + j] = dhj * tc * og * (one - og);
                        dc_state[i * hd + j] = dc * fg;
                    } else {
                        let (rg, zg, ng) = (g[j], g[hd + j], g[2 * hd + j]);
                        let hp = cache.hprev[row * hd + j];
                        let dn = dhj * (one - zg) * (one - ng * ng);
                        let dz = dhj * (hp - ng) * zg * (one - zg);
                        let dr = dn * cache.ghn[row * hd + j] * rg * (one - rg);
                        d[j] = dr;
                        d[hd + j] = dz;
                        d[2 * hd + j] = dn;
                        let e = &mut dgh[row * gh..(row + 1) * gh];
                        e[j] = dr;
                        e[hd + j] = dz;
                        e[2 * hd + j] = dn * rg;
                        dh_state[i * hd + j] = dhj * zg;
                    }
                }
            }
            // dh_{t-1} for the active rows: one GEMM per step.
            let src = if lstm {
                &dgi[base * gh..(base + b) * gh]
            } else {
                &dgh[base * gh..(base + b) * gh]
            };
            matmul(
                b,
                hd,
                gh,
                src,
                false,
                &self.w_hh.value,
                false,
                &mut dh_state[..b * hd],
                !lstm,
                Threads::One,
            );
        }
        let dhid = if lstm { &dgi } else { &dgh };
        matmul(
            gh,
            inp,
            n,
            &dgi,
            true,
            x,
            false,
            &mut self.w_ih.grad,
            true,
            threads,
        );
        matmul(
            gh,
            hd,
            n,
            dhid,
            true,
            &cache.hprev,
            false,
            &mut self.w_hh.grad,
            true,
            threads,
        );
        for r in 0..n {
            for (g, &d) in self.b_ih.grad.iter_mut().zip(&dgi[r * gh..(r + 1) * gh]) {
                *g += d;
            }
            for (g, &d) in self.b_hh.grad.iter_mut().zip(&dhid[r * gh..(r + 1) * gh]) {
                *g += d;
            }
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
