//! Stage 5: the RNN engine. Layers with forward and backward passes on flat
//! buffers, generic over `f32` (training and inference) and `f64` (gradient
//! checks against finite differences).
//!
//! Data flow through an [`encoder::Encoder`]:
//! token ids `(B, T)` -> [`packed::Packed`] layout (time-major, only real
//! tokens, rows sorted by length so the active batch shrinks) ->
//! [`embedding`] `(N, E)` -> [`rnn`] LSTM/GRU layers, uni- or bidirectional
//! `(N, D)` -> [`pool`] `(B, D)` -> [`linear`] / [`loss`].
//! [`optim`] updates the [`Param`]s; [`weights`] saves them as safetensors
//! with PyTorch's names.
//!
//! Shape letters: B batch, T time steps, N real tokens in a batch, E
//! embedding, H hidden, G gates (4 LSTM, 3 GRU), D representation, V vocab,
//! K clusters.

pub mod act;
pub mod attention;
pub mod bench;
pub mod cell;
pub mod embedding;
pub mod encoder;
pub mod gemm;
pub mod kernel;
pub mod linear;
pub mod loss;
pub mod optim;
pub mod packed;
pub mod pool;
pub mod rnn;
pub mod weights;

use std::fmt::Debug;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

/// The float types the engine runs on: `f32` for work, `f64` for checks.
pub trait Real:
    num_traits::Float
    + num_traits::FromPrimitive
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Default
    + Debug
    + Send
    + Sync
    + std::iter::Sum
    + act::Activations
    + 'static
{
    /// Convert from f64 (rounding for f32).
    fn f(x: f64) -> Self {
        <Self as num_traits::FromPrimitive>::from_f64(x).expect("finite conversion")
    }
    /// Logistic sigmoid.
    fn sigmoid(self) -> Self {
        Self::one() / (Self::one() + (-self).exp())
    }
}

impl Real for f32 {}
impl Real for f64 {}

/// `a` as f32 when `T` is f32 (for the f32-only kernels and the
/// AVX-512 builds of element-wise loops).
pub(crate) fn as_f32<T: Real>(a: &[T]) -> Option<&[f32]> {
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>())
        // SAFETY: T is f32, so the slice is a slice of f32.
        .then(|| unsafe { std::slice::from_raw_parts(a.as_ptr() as *const f32, a.len()) })
}

/// `a` as mutable f32 when `T` is f32.
pub(crate) fn as_f32_mut<T: Real>(a: &mut [T]) -> Option<&mut [f32]> {
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>())
        // SAFETY: T is f32, so the slice is a slice of f32.
        .then(|| unsafe { std::slice::from_raw_parts_mut(a.as_mut_ptr() as *mut f32, a.len()) })
}

/// Dot product of two equal-length slices.
pub fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    a.iter().zip(b).map(|(&x, &y)| x * y).sum()
}

/// A named parameter tensor with its gradient.
#[derive(Clone, Debug)]
pub struct Param<T> {
    /// PyTorch-style name, e.g. `rnn.weight_ih_l0_reverse`.
    pub name: String,
    /// Shape, row-major.
    pub shape: Vec<usize>,
    /// Values.
    pub value: Vec<T>,
    /// Gradient, same length; accumulated by backward passes. On a
    /// parameter that tracks its rows ([`Param::track_rows`]) every write
    /// must be announced with [`Param::touch_row`] or [`Param::touch_all`].
    pub grad: Vec<T>,
    /// With row tracking: the rows the gradient may be non-zero in.
    rows: Option<Rows>,
}

/// Rows (of `shape[1]` values) written since the gradient was last zeroed.
#[derive(Clone, Debug, Default)]
struct Rows {
    list: Vec<u32>,
    seen: Vec<bool>,
    all: bool,
}

impl<T: PartialEq> PartialEq for Param<T> {
    /// Name, shape, values and gradient (not the row bookkeeping).
    fn eq(&self, other: &Self) -> bool {
        (&self.name, &self.shape, &self.value, &self.grad)
            == (&other.name, &other.shape, &other.value, &other.grad)
    }
}

impl<T: Real> Param<T> {
    /// Zero-initialized parameter.
    pub fn zeros(name: impl Into<String>, shape: &[usize]) -> Self {
        let n = shape.iter().product();
        Param {
            name: name.into(),
            shape: shape.to_vec(),
            value: vec![T::zero(); n],
            grad: vec![T::zero(); n],
            rows: None,
        }
    }

    /// Uniform in [-bound, bound], as PyTorch initializes RNN and linear weights.
    pub fn uniform(
        name: impl Into<String>,
        shape: &[usize],
        bound: f64,
        rng: &mut crate::rng::Rng,
    ) -> Self {
        let mut p = Self::zeros(name, shape);
        for v in &mut p.value {
            *v = T::f((rng.uniform() * 2.0 - 1.0) * bound);
        }
        p
    }

    /// Set the gradient to zero: with row tracking only the rows written
    /// since the last call (an embedding's gradient is 10 MB at 20,000 x
    /// 128, of which a batch writes a few thousand rows).
    pub fn zero_grad(&mut self) {
        let w = self.row_width();
        match &mut self.rows {
            Some(rows) if !rows.all => {
                for &r in &rows.list {
                    let r = r as usize;
                    self.grad[r * w..(r + 1) * w].fill(T::zero());
                    rows.seen[r] = false;
                }
                rows.list.clear();
                // Tests (debug builds) check the bookkeeping: a write that
                // was not announced would stay in the gradient.
                debug_assert!(
                    self.grad.iter().all(|g| *g == T::zero()),
                    "{}: a gradient row was written without touch_row",
                    self.name
                );
            }
            rows => {
                use rayon::prelude::*;
                self.grad
                    .par_chunks_mut(1 << 16)
                    .for_each(|c| c.iter_mut().for_each(|g| *g = T::zero()));
                if let Some(rows) = rows {
                    rows.list.clear();
                    rows.seen.iter_mut().for_each(|s| *s = false);
                    rows.all = false;
                }
            }
        }
    }

    /// Values per row: `shape[1]` (1 for a vector).
    pub(crate) fn row_width(&self) -> usize {
        self.shape.get(1).copied().unwrap_or(1).max(1)
    }

    /// From now on keep track of the gradient rows written, so that
    /// [`Param::zero_grad`] and the optimizer's finite check read only
    /// those: for a parameter whose backward touches few rows (an
    /// embedding). Every writer of `grad` must then call
    /// [`Param::touch_row`] or [`Param::touch_all`].
    pub fn track_rows(&mut self) {
        let n = self.grad.len() / self.row_width();
        self.rows = Some(Rows {
            list: Vec::new(),
            seen: vec![false; n],
            all: true,
        });
    }

    /// Announce a write to gradient row `r`.
    pub fn touch_row(&mut self, r: usize) {
        if let Some(rows) = &mut self.rows {
            if !rows.all && !rows.seen[r] {
                rows.seen[r] = true;
                rows.list.push(r as u32);
            }
        }
    }

    /// Announce a write anywhere in the gradient.
    pub fn touch_all(&mut self) {
        if let Some(rows) = &mut self.rows {
            rows.all = true;
        }
    }

    /// The gradient's rows that may be non-zero, each `shape[1]` values,
    /// or `None` for anywhere.
    pub fn grad_rows(&self) -> Option<&[u32]> {
        match &self.rows {
            Some(rows) if !rows.all => Some(&rows.list),
            _ => None,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

/// Anything that owns parameters.
pub trait Module<T: Real> {
    /// Visit every parameter, in a fixed order.
    fn visit(&mut self, f: &mut dyn FnMut(&mut Param<T>));

    /// Zero all gradients.
    fn zero_grad(&mut self) {
        self.visit(&mut |p| p.zero_grad());
    }

    /// Total number of parameter values.
    fn n_params(&mut self) -> usize {
        let mut n = 0;
        self.visit(&mut |p| n += p.len());
        n
    }
}
