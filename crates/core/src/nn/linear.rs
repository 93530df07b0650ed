//! Fully connected layer `y = x Wᵀ + b`, PyTorch's layout (`weight (O, I)`, `bias (O)`).

use super::gemm::{matmul, Threads};
use super::kernel::PackedB;
use super::{as_f32, as_f32_mut, Module, Param, Real};
use crate::rng::Rng;

/// A linear layer.
#[derive(Clone, Debug)]
pub struct Linear<T> {
    /// `(O, I)`.
    pub weight: Param<T>,
    /// `(O)`.
    pub bias: Param<T>,
}

impl<T: Real> Linear<T> {
    /// Uniform(±1/sqrt(I)) init, as PyTorch.
    pub fn new(prefix: &str, i: usize, o: usize, rng: &mut Rng) -> Self {
        let bound = 1.0 / (i.max(1) as f64).sqrt();
        Linear {
            weight: Param::uniform(format!("{prefix}weight"), &[o, i], bound, rng),
            bias: Param::uniform(format!("{prefix}bias"), &[o], bound, rng),
        }
    }

    /// Reorder the outputs: output `j` becomes the old output `order[j]`
    /// (`order` a permutation of the outputs).
    pub fn reorder_outputs(&mut self, order: &[usize]) {
        let i = self.input_dim();
        let w = &self.weight.value;
        self.weight.value = order
            .iter()
            .flat_map(|&o| w[o * i..(o + 1) * i].iter().copied())
            .collect();
        self.bias.value = order.iter().map(|&o| self.bias.value[o]).collect();
    }

    /// Input size I.
    pub fn input_dim(&self) -> usize {
        self.weight.shape[1]
    }

    /// Output size O.
    pub fn output_dim(&self) -> usize {
        self.weight.shape[0]
    }

    /// `y (B, O) = x (B, I) · Wᵀ + b`.
    pub fn forward(&self, x: &[T], b: usize, y: &mut Vec<T>, threads: Threads) {
        let (i, o) = (self.input_dim(), self.output_dim());
        y.clear();
        for _ in 0..b {
            y.extend_from_slice(&self.bias.value);
        }
        matmul(
            b,
            o,
            i,
            x,
            false,
            &self.weight.value,
            true,
            y,
            true,
            threads,
        );
    }

    /// Accumulate dW, db from `dy (B, O)`; write `dx (B, I)` when asked.
    pub fn backward(
        &mut self,
        x: &[T],
        b: usize,
        dy: &[T],
        dx: Option<&mut Vec<T>>,
        threads: Threads,
    ) {
        let (i, o) = (self.input_dim(), self.output_dim());
        matmul(
            o,
            i,
            b,
            dy,
            true,
            x,
            false,
            &mut self.weight.grad,
            true,
            threads,
        );
        for r in 0..b {
            self.bias
                .grad
                .iter_mut()
                .zip(&dy[r * o..(r + 1) * o])
                .for_each(|(g, &d)| *g += d);
        }
        if let Some(dx) = dx {
            dx.clear();
            dx.resize(b * i, T::zero());
            matmul(
                b,
                i,
                o,
                dy,
                false,
                &self.weight.value,
                false,
                dx,
                false,
                threads,
            );
        }
    }
}

/// `y (M, O) = x (M, I) · Wᵀ (+ bias)` for a weight `w (O, I)`, for
/// products with many rows (a translator's output layer over a batch's
/// tokens, or over a beam at each decoding step). f32 on AVX-512 runs the
/// packed kernel with `w` packed once (`packed`, from
/// [`PackedB::from_transposed`], or here), rows split over the threads:
/// every row's sums are the same whatever the split, so results do not
/// depend on the thread count. The `gemm` crate otherwise; it re-packs a
/// transposed right operand on every call, which was a quarter of beam
/// decoding's time.
#[allow(clippy::too_many_arguments)]
pub fn project<T: Real>(
    x: &[T],
    m: usize,
    w: &[T],
    (i, o): (usize, usize),
    bias: Option<&[T]>,
    packed: Option<&PackedB>,
    y: &mut Vec<T>,
    threads: Threads,
) {
    y.clear();
    y.resize(m * o, T::zero());
    let own = match packed {
        Some(_) => None,
        None => as_f32(w).and_then(|w| PackedB::from_transposed(w, i, o)),
    };
    let zeros;
    let b32 = match bias {
        Some(b) => as_f32(b),
        None => {
            zeros = vec![0f32; o];
            Some(&zeros[..])
        }
    };
    if let (Some(pk), Some(a), Some(b), Some(c)) =
        (packed.or(own.as_ref()), as_f32(x), b32, as_f32_mut(y))
    {
        use rayon::prelude::*;
        let n = match threads {
            Threads::One => 1,
            Threads::Many(n) => n.max(1),
        };
        let rows = m.div_ceil(n).max(1);
        c.par_chunks_mut(rows * o)
            .zip(a.par_chunks(rows * i))
            .for_each(|(c, a)| pk.matmul_bias(c.len() / o, a, b, c));
        return;
    }
    if let Some(b) = bias {
        for row in y.chunks_mut(o) {
            row.copy_from_slice(b);
        }
    }
    matmul(m, o, i, x, false, w, true, y, bias.is_some(), threads);
}

impl<T: Real> Module<T> for Linear<T> {
    fn visit(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        f(&mut self.weight);
        f(&mut self.bias);
    }
}
