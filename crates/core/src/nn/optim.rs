//! Optimizers (SGD with momentum, Adam, AdamW), an L1 penalty, gradient
//! clipping by global norm, learning-rate schedules, and the check that
//! refuses to train on a NaN or Inf.

use serde::{Deserialize, Serialize};

use rayon::prelude::*;

use super::{as_f32, as_f32_mut, Module, Param, Real};

/// Which update rule.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OptimizerKind {
    /// SGD with (heavy-ball) momentum and coupled L2 weight decay.
    Sgd {
        /// Momentum, 0 for plain SGD.
        momentum: f64,
        /// L2 penalty added to the gradient.
        weight_decay: f64,
    },
    /// Adam (Kingma and Ba) with coupled L2 weight decay, as `torch.optim.Adam`.
    Adam {
        /// β1.
        beta1: f64,
        /// β2.
        beta2: f64,
        /// ε.
        eps: f64,
        /// L2 penalty added to the gradient.
        weight_decay: f64,
    },
    /// AdamW: Adam with decoupled weight decay, as `torch.optim.AdamW`.
    AdamW {
        /// β1.
        beta1: f64,
        /// β2.
        beta2: f64,
        /// ε.
        eps: f64,
        /// Decoupled decay: `p -= lr * weight_decay * p`.
        weight_decay: f64,
    },
}

impl OptimizerKind {
    /// `torch.optim.Adam` defaults.
    pub fn adam() -> Self {
        OptimizerKind::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }

    /// `torch.optim.AdamW` defaults (weight decay 0.01).
    pub fn adamw() -> Self {
        OptimizerKind::AdamW {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

/// A NaN or Inf where training cannot continue.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("non-finite {what} at step {step}: training stopped before applying it (lower the learning rate or enable gradient clipping)")]
pub struct NonFinite {
    /// `loss` or the name of the parameter whose gradient is bad.
    pub what: String,
    /// Optimizer step at which it was found.
    pub step: u64,
}

/// Optimizer state for a fixed set of parameters (visited in a fixed order).
#[derive(Clone, Debug)]
pub struct Optimizer<T> {
    /// Update rule.
    pub kind: OptimizerKind,
    /// L1 penalty: adds `l1 * sign(p)` to each gradient.
    pub l1: f64,
    /// Steps taken.
    pub step: u64,
    m: Vec<Vec<T>>,
    v: Vec<Vec<T>>,
}

impl<T: Real> Optimizer<T> {
    /// A fresh optimizer.
    pub fn new(kind: OptimizerKind) -> Self {
        Optimizer {
            kind,
            l1: 0.0,
            step: 0,
            m: Vec::new(),
            v: Vec::new(),
        }
    }

    /// AdamW with the usual betas (0.9, 0.999), eps 1e-8 and this decoupled
    /// weight decay: what every training stage of textrnn uses.
    pub fn adamw(weight_decay: f64) -> Self {
        Self::new(OptimizerKind::AdamW {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
        })
    }

    /// The first and second moments, one vector per parameter in visit order
    /// (empty before the first update), for checkpoints.
    pub fn moments(&self) -> (&[Vec<T>], &[Vec<T>]) {
        (&self.m, &self.v)
    }

    /// Restore moments saved by [`Optimizer::moments`].
    pub fn set_moments(&mut self, m: Vec<Vec<T>>, v: Vec<Vec<T>>) {
        self.m = m;
        self.v = v;
    }

    /// Check the loss and every gradient; `Err` names the first non-finite one.
    pub fn check_finite(&self, loss: T, model: &mut dyn Module<T>) -> Result<(), NonFinite> {
        if !loss.is_finite() {
            return Err(NonFinite {
                what: "loss".into(),
                step: self.step + 1,
            });
        }
        let mut bad = None;
        model.visit(&mut |p: &mut Param<T>| {
            let finite = match p.grad_rows() {
                // The other rows are zero (row tracking).
                Some(rows) => {
                    let w = p.row_width();
                    rows.iter().all(|&r| {
                        let r = r as usize;
                        all_finite(&p.grad[r * w..(r + 1) * w])
                    })
                }
                None => p.grad.par_chunks(1 << 16).all(all_finite),
            };
            if bad.is_none() && !finite {
                bad = Some(p.name.clone());
            }
        });
        match bad {
            Some(name) => Err(NonFinite {
                what: format!("gradient of {name}"),
                step: self.step + 1,
            }),
            None => Ok(()),
        }
    }

    /// Apply one update with learning rate `lr` (gradients are left as they are).
    /// Refuses non-finite gradients, leaving the parameters untouched.
    pub fn update(&mut self, model: &mut dyn Module<T>, lr: f64) -> Result<(), NonFinite> {
        self.check_finite(T::zero(), model)?;
        self.step += 1;
        let t = self.step as i32;
        let kind = self.kind;
        let l1 = T::f(self.l1);
        let (m_all, v_all) = (&mut self.m, &mut self.v);
        let mut idx = 0;
        model.visit(&mut |p: &mut Param<T>| {
            if m_all.len() <= idx {
                m_all.push(vec![T::zero(); p.len()]);
                v_all.push(vec![T::zero(); p.len()]);
            }
            let (m, v) = (&mut m_all[idx], &mut v_all[idx]);
            if l1 > T::zero() {
                p.touch_all();
                for (g, &w) in p.grad.iter_mut().zip(&p.value) {
                    if w != T::zero() {
                        *g += l1 * w.signum();
                    }
                }
            }
            // Element-wise, so chunks can run on any thread with identical results.
            const CHUNK: usize = 1 << 15;
            let work = p
                .value
                .par_chunks_mut(CHUNK)
                .zip(p.grad.par_chunks(CHUNK))
                .zip(m.par_chunks_mut(CHUNK).zip(v.par_chunks_mut(CHUNK)));
            match kind {
                OptimizerKind::Sgd {
                    momentum,
                    weight_decay,
                } => {
                    let (mu, wd, lr) = (T::f(momentum), T::f(weight_decay), T::f(lr));
                    work.for_each(|((w, g), (m, _))| {
                        for k in 0..w.len() {
                            let g = g[k] + wd * w[k];
                            m[k] = if t == 1 { g } else { mu * m[k] + g };
                            w[k] -= lr * if momentum > 0.0 { m[k] } else { g };
                        }
                    });
                }
                OptimizerKind::Adam {
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                } => {
                    let c = (
                        AdamConsts::new(beta1, beta2, eps, lr, t),
                        AdamConsts::new(beta1, beta2, eps, lr, t),
                    );
                    let wd = weight_decay;
                    work.for_each(|((w, g), (m, v))| adam_chunk::<T, false>(&c, wd, w, g, m, v));
                }
                OptimizerKind::AdamW {
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                } => {
                    let c = (
                        AdamConsts::new(beta1, beta2, eps, lr, t),
                        AdamConsts::new(beta1, beta2, eps, lr, t),
                    );
                    let decay = 1.0 - lr * weight_decay;
                    work.for_each(|((w, g), (m, v))| adam_chunk::<T, true>(&c, decay, w, g, m, v));
                }
            }
            idx += 1;
        });
        Ok(())
    }
}

/// One chunk of Adam (`DECOUPLED = false`: L2 `k` = weight decay added to
/// the gradient) or AdamW (`true`: `k` = `1 - lr·wd` multiplies the weight
/// first). For f32 on a CPU with AVX-512 the same loop compiled for it,
/// with `c.1`, the same constants built as f32: square root and division
/// are exact in IEEE arithmetic and nothing is fused, so the result is bit
/// for bit the baseline build's.
fn adam_chunk<T: Real, const DECOUPLED: bool>(
    c: &(AdamConsts<T>, AdamConsts<f32>),
    k: f64,
    w: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
) {
    #[cfg(target_arch = "x86_64")]
    if super::act::x86::has_avx512() {
        if let (Some(w), Some(g), Some(m), Some(v)) =
            (as_f32_mut(w), as_f32(g), as_f32_mut(m), as_f32_mut(v))
        {
            // SAFETY: the CPU has AVX-512F, AVX2 and FMA (checked above).
            return unsafe { x86::adam::<DECOUPLED>(&c.1, k as f32, w, g, m, v) };
        }
    }
    adam_body::<T, DECOUPLED>(&c.0, T::f(k), w, g, m, v)
}

#[inline(always)]
fn adam_body<T: Real, const DECOUPLED: bool>(
    c: &AdamConsts<T>,
    k: T,
    w: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
) {
    let n = w.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    for j in 0..n {
        w[j] = if DECOUPLED {
            c.apply(w[j] * k, g[j], &mut m[j], &mut v[j])
        } else {
            c.apply(w[j], g[j] + k * w[j], &mut m[j], &mut v[j])
        };
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::AdamConsts;

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn adam<const DECOUPLED: bool>(
        c: &AdamConsts<f32>,
        k: f32,
        w: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
    ) {
        super::adam_body::<f32, DECOUPLED>(c, k, w, g, m, v)
    }
}

/// True if no value is NaN or infinite. `x * 0` is NaN exactly for those,
/// and eight independent sums let the loop vectorize.
fn all_finite<T: Real>(x: &[T]) -> bool {
    let mut acc = [T::zero(); 8];
    let chunks = x.chunks_exact(8);
    let tail = chunks
        .remainder()
        .iter()
        .fold(T::zero(), |a, &v| a + v * T::zero());
    for c in chunks {
        for l in 0..8 {
            acc[l] += c[l] * T::zero();
        }
    }
    acc.iter().fold(tail, |a, &v| a + v).is_finite()
}

/// Per-step constants of Adam, as `torch.optim.Adam` computes its update:
/// `p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)`.
struct AdamConsts<T> {
    b1: T,
    b2: T,
    one_b1: T,
    one_b2: T,
    step: T,
    inv_sqrt_bc2: T,
    eps: T,
}

impl<T: Real> AdamConsts<T> {
    fn new(beta1: f64, beta2: f64, eps: f64, lr: f64, t: i32) -> Self {
        let bc1 = 1.0 - beta1.powi(t);
        let bc2 = 1.0 - beta2.powi(t);
        AdamConsts {
            b1: T::f(beta1),
            b2: T::f(beta2),
            one_b1: T::f(1.0 - beta1),
            one_b2: T::f(1.0 - beta2),
            step: T::f(lr / bc1),
            inv_sqrt_bc2: T::f(1.0 / bc2.sqrt()),
            eps: T::f(eps),
        }
    }

    #[inline(always)]
    fn apply(&self, w: T, g: T, m: &mut T, v: &mut T) -> T {
        *m = self.b1 * *m + self.one_b1 * g;
        *v = self.b2 * *v + self.one_b2 * g * g;
        w - self.step * *m / (v.sqrt() * self.inv_sqrt_bc2 + self.eps)
    }
}

/// Global L2 norm of all gradients.
pub fn grad_norm<T: Real>(model: &mut dyn Module<T>) -> f64 {
    let mut s = 0.0;
    model.visit(&mut |p: &mut Param<T>| {
        s += p
            .grad
            .iter()
            .map(|g| g.to_f64().unwrap_or(f64::NAN).powi(2))
            .sum::<f64>();
    });
    s.sqrt()
}

/// Scale all gradients so their global norm is at most `max_norm`
/// (against exploding gradients); returns the norm before clipping.
pub fn clip_grad_norm<T: Real>(model: &mut dyn Module<T>, max_norm: f64) -> f64 {
    let norm = grad_norm(model);
    if norm.is_finite() && norm > max_norm && max_norm > 0.0 {
        let scale = T::f(max_norm / (norm + 1e-6));
        model.visit(&mut |p: &mut Param<T>| p.grad.iter_mut().for_each(|g| *g *= scale));
    }
    norm
}

/// Learning-rate schedules. All take the base rate and the 0-based step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Schedule {
    /// The base rate throughout.
    Constant,
    /// Linear warm-up to the base rate, then linear decay to 0 at `total`.
    WarmupLinear {
        /// Warm-up steps.
        warmup: u64,
        /// Total steps.
        total: u64,
    },
    /// Linear warm-up, then cosine decay to `min_ratio` of the base rate at `total`.
    WarmupCosine {
        /// Warm-up steps.
        warmup: u64,
        /// Total steps.
        total: u64,
        /// Final rate as a fraction of the base rate.
        min_ratio: f64,
    },
    /// Multiply by `gamma` every `every` steps.
    Step {
        /// Period in steps.
        every: u64,
        /// Factor.
        gamma: f64,
    },
    /// Multiply by `factor` when the watched metric has not improved for
    /// `patience` observations; never below `min_ratio` of the base rate.
    Plateau {
        /// Factor, e.g. 0.5.
        factor: f64,
        /// Observations without improvement before cutting.
        patience: u32,
        /// Floor as a fraction of the base rate.
        min_ratio: f64,
    },
}

/// A schedule with its state (for reduce-on-plateau).
#[derive(Clone, Debug)]
pub struct LrSchedule {
    /// The schedule.
    pub schedule: Schedule,
    /// Base rate.
    pub base: f64,
    scale: f64,
    best: f64,
    bad: u32,
}

impl LrSchedule {
    /// Start a schedule at `base`.
    pub fn new(schedule: Schedule, base: f64) -> Self {
        LrSchedule {
            schedule,
            base,
            scale: 1.0,
            best: f64::INFINITY,
            bad: 0,
        }
    }

    /// The rate for 0-based `step`.
    pub fn lr(&self, step: u64) -> f64 {
        let warm = |w: u64| {
            if w > 0 && step < w {
                (step + 1) as f64 / w as f64
            } else {
                1.0
            }
        };
        match self.schedule {
            Schedule::Constant => self.base,
            Schedule::WarmupLinear { warmup, total } => {
                if step < warmup {
                    self.base * warm(warmup)
                } else {
                    let rest = total.saturating_sub(warmup).max(1) as f64;
                    self.base * (1.0 - (step - warmup) as f64 / rest).max(0.0)
                }
            }
            Schedule::WarmupCosine {
                warmup,
                total,
                min_ratio,
            } => {
                if step < warmup {
                    self.base * warm(warmup)
                } else {
                    let rest = total.saturating_sub(warmup).max(1) as f64;
                    let x = ((step - warmup) as f64 / rest).min(1.0);
                    self.base
                        * (min_ratio
                            + (1.0 - min_ratio) * 0.5 * (1.0 + (std::f64::consts::PI * x).cos()))
                }
            }
            Schedule::Step { every, gamma } => self.base * gamma.powi((step / every.max(1)) as i32),
            Schedule::Plateau { .. } => self.base * self.scale,
        }
    }

    /// Report a validation metric (lower is better); only `Plateau` uses it.
    /// Returns true if the rate was cut.
    pub fn observe(&mut self, metric: f64) -> bool {
        if let Schedule::Plateau {
            factor,
            patience,
            min_ratio,
        } = self.schedule
        {
            if metric < self.best - 1e-12 {
                self.best = metric;
                self.bad = 0;
            } else {
                self.bad += 1;
                if self.bad > patience {
                    self.bad = 0;
                    let new = (self.scale * factor).max(min_ratio);
                    let cut = new < self.scale;
                    self.scale = new;
                    return cut;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct One(Param<f64>);
    impl Module<f64> for One {
        fn visit(&mut self, f: &mut dyn FnMut(&mut Param<f64>)) {
            f(&mut self.0);
        }
    }

    fn one(value: f64, grad: f64) -> One {
        let mut p = Param::zeros("w", &[1]);
        p.value[0] = value;
        p.grad[0] = grad;
        One(p)
    }

    #[test]
    fn update_rules_by_hand() {
        // SGD momentum 0.9: v1 = g = 1 -> w = 1 - 0.1; v2 = 0.9 + 1 = 1.9 -> w = 0.9 - 0.19.
        let mut m = one(1.0, 1.0);
        let mut o = Optimizer::<f64>::new(OptimizerKind::Sgd {
            momentum: 0.9,
            weight_decay: 0.0,
        });
        o.update(&mut m, 0.1).unwrap();
        o.update(&mut m, 0.1).unwrap();
        assert!((m.0.value[0] - 0.71).abs() < 1e-12);
        // Adam's first step moves by lr * sign(g) (bias-corrected m/sqrt(v) = 1).
        let mut m = one(1.0, -3.0);
        let mut o = Optimizer::<f64>::new(OptimizerKind::adam());
        o.update(&mut m, 0.01).unwrap();
        assert!((m.0.value[0] - 1.01).abs() < 1e-7);
        // AdamW decays the weight first: w = 1 * (1 - 0.01 * 0.5) then the Adam step.
        let mut m = one(1.0, 3.0);
        let mut o = Optimizer::<f64>::new(OptimizerKind::AdamW {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.5,
        });
        o.update(&mut m, 0.01).unwrap();
        assert!((m.0.value[0] - (0.995 - 0.01)).abs() < 1e-7);
        // L1 adds sign(w): zero gradient, w = 2 -> SGD step of lr * l1.
        let mut m = one(2.0, 0.0);
        let mut o = Optimizer::<f64>::new(OptimizerKind::Sgd {
            momentum: 0.0,
            weight_decay: 0.0,
        });
        o.l1 = 0.5;
        o.update(&mut m, 0.1).unwrap();
        assert!((m.0.value[0] - 1.95).abs() < 1e-12);
    }

    #[test]
    fn non_finite_gradients_are_refused_and_change_nothing() {
        let mut m = one(1.0, f64::NAN);
        let mut o = Optimizer::<f64>::new(OptimizerKind::adam());
        let err = o.update(&mut m, 0.1).unwrap_err();
        assert_eq!(
            err,
            NonFinite {
                what: "gradient of w".into(),
                step: 1
            }
        );
        assert_eq!(m.0.value[0], 1.0);
        assert_eq!(o.step, 0);
        assert!(o.check_finite(f64::INFINITY, &mut one(1.0, 0.0)).is_err());
    }

    #[test]
    fn clipping_scales_to_the_max_norm() {
        let mut m = one(0.0, 10.0);
        assert_eq!(clip_grad_norm(&mut m, 1.0), 10.0);
        assert!((m.0.grad[0] - 1.0).abs() < 1e-6);
        assert_eq!(clip_grad_norm(&mut m, 5.0), m.0.grad[0]);
    }

    #[test]
    fn schedules() {
        let s = LrSchedule::new(
            Schedule::WarmupLinear {
                warmup: 10,
                total: 110,
            },
            1.0,
        );
        assert!((s.lr(0) - 0.1).abs() < 1e-12 && (s.lr(9) - 1.0).abs() < 1e-12);
        assert!((s.lr(60) - 0.5).abs() < 1e-12 && s.lr(200) == 0.0);
        let s = LrSchedule::new(
            Schedule::WarmupCosine {
                warmup: 0,
                total: 100,
                min_ratio: 0.1,
            },
            1.0,
        );
        assert!(
            (s.lr(0) - 1.0).abs() < 1e-12
                && (s.lr(50) - 0.55).abs() < 1e-12
                && (s.lr(100) - 0.1).abs() < 1e-12
        );
        let s = LrSchedule::new(
            Schedule::Step {
                every: 10,
                gamma: 0.5,
            },
            1.0,
        );
        assert_eq!((s.lr(9), s.lr(10), s.lr(25)), (1.0, 0.5, 0.25));
        let mut s = LrSchedule::new(
            Schedule::Plateau {
                factor: 0.5,
                patience: 1,
                min_ratio: 0.2,
            },
            1.0,
        );
        assert!(!s.observe(1.0) && !s.observe(1.0));
        assert!(s.observe(1.0));
        assert_eq!(s.lr(0), 0.5);
        s.observe(2.0);
        s.observe(2.0);
        s.observe(2.0);
        s.observe(2.0);
        assert_eq!(s.lr(0), 0.2);
        assert_eq!(LrSchedule::new(Schedule::Constant, 0.3).lr(99), 0.3);
    }

    /// An embedding gradient with row tracking: zeroing and the finite
    /// check read only the rows a backward pass wrote, with the same
    /// results as on the whole gradient; L1 writes every row, so it turns
    /// the tracking off until the next full zeroing.
    #[test]
    fn embedding_gradient_rows_are_tracked() {
        use crate::nn::embedding::Embedding;
        struct Emb(Embedding<f64>);
        impl Module<f64> for Emb {
            fn visit(&mut self, f: &mut dyn FnMut(&mut Param<f64>)) {
                self.0.visit(f);
            }
        }
        let mut m = Emb(Embedding::new(
            "e.",
            10,
            3,
            Some(0),
            &mut crate::rng::Rng::new(1),
        ));
        m.zero_grad();
        m.0.backward(
            &[4, 7, 4, 0],
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 1.0, 1.0, 1.0],
        );
        assert_eq!(m.0.weight.grad_rows(), Some(&[4u32, 7][..]));
        assert_eq!(m.0.weight.grad[12..15], [8.0, 10.0, 12.0]);
        let o = Optimizer::<f64>::new(OptimizerKind::adam());
        assert!(o.check_finite(0.0, &mut m).is_ok());
        m.0.weight.grad[22] = f64::NAN; // row 7
        assert!(o.check_finite(0.0, &mut m).is_err());
        m.zero_grad();
        assert!(m.0.weight.grad.iter().all(|&g| g == 0.0));
        assert_eq!(m.0.weight.grad_rows(), Some(&[][..]));
        // L1 writes every row with a non-zero weight: tracking is off (all
        // rows checked and zeroed) until the next zeroing.
        let mut o = Optimizer::<f64>::new(OptimizerKind::adam());
        o.l1 = 0.01;
        m.0.backward(&[2], &[1.0, 1.0, 1.0]);
        o.update(&mut m, 0.1).unwrap();
        assert_eq!(m.0.weight.grad_rows(), None);
        assert!(m.0.weight.grad[9..12].iter().all(|&g| g != 0.0)); // row 3, not written by backward
        m.zero_grad();
        assert!(m.0.weight.grad.iter().all(|&g| g == 0.0));
        assert_eq!(m.0.weight.grad_rows(), Some(&[][..]));
    }

    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "written without touch_row")]
    fn an_unannounced_write_to_a_tracked_gradient_is_caught_in_tests() {
        let mut e = crate::nn::embedding::Embedding::<f64>::new(
            "e.",
            4,
            2,
            None,
            &mut crate::rng::Rng::new(1),
        );
        e.weight.zero_grad();
        e.weight.grad[5] = 1.0;
        e.weight.zero_grad();
    }
}
