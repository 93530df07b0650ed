//! Token embedding with a padding id whose row stays zero.

use super::{Module, Param, Real};
use crate::rng::Rng;

/// `weight (V, E)`; PyTorch name `weight`.
#[derive(Clone, Debug)]
pub struct Embedding<T> {
    /// The table.
    pub weight: Param<T>,
    /// Row that is always zero and gets no gradient.
    pub padding_id: Option<u32>,
}

impl<T: Real> Embedding<T> {
    /// N(0, 1) rows as PyTorch initializes them, the padding row zero.
    pub fn new(prefix: &str, v: usize, e: usize, padding_id: Option<u32>, rng: &mut Rng) -> Self {
        let mut weight = Param::zeros(format!("{prefix}weight"), &[v, e]);
        for x in &mut weight.value {
            *x = T::f(rng.normal());
        }
        if let Some(p) = padding_id {
            weight.value[p as usize * e..(p as usize + 1) * e]
                .iter_mut()
                .for_each(|x| *x = T::zero());
        }
        // A batch writes a few thousand of the gradient's rows: zeroing and
        // checking read only those.
        weight.track_rows();
        Embedding { weight, padding_id }
    }

    /// Embedding size E.
    pub fn dim(&self) -> usize {
        self.weight.shape[1]
    }

    /// `out (N, E)` = rows of the table for `ids (N)`; ids out of range read row 1 (`<unk>`).
    pub fn forward(&self, ids: &[u32], out: &mut Vec<T>) {
        let e = self.dim();
        let v = self.weight.shape[0] as u32;
        out.clear();
        out.reserve(ids.len() * e);
        for &id in ids {
            let id = if id < v { id } else { 1.min(v - 1) } as usize;
            out.extend_from_slice(&self.weight.value[id * e..(id + 1) * e]);
        }
    }

    /// Accumulate `dout (N, E)` into the rows used; the padding row gets nothing.
    pub fn backward(&mut self, ids: &[u32], dout: &[T]) {
        let e = self.dim();
        let v = self.weight.shape[0] as u32;
        for (n, &id) in ids.iter().enumerate() {
            if Some(id) == self.padding_id {
                continue;
            }
            let id = if id < v { id } else { 1.min(v - 1) } as usize;
            self.weight.touch_row(id);
            let g = &mut self.weight.grad[id * e..(id + 1) * e];
            g.iter_mut()
                .zip(&dout[n * e..(n + 1) * e])
                .for_each(|(g, &d)| *g += d);
        }
    }
}

impl<T: Real> Module<T> for Embedding<T> {
    fn visit(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        f(&mut self.weight);
    }
}
