//! Element-wise activations over slices: exact for `f64` (gradient checks),
//! fast and vectorized for `f32` (training and inference).
//!
//! The f32 path evaluates `exp` by range reduction to `[-ln2/2, ln2/2]` and a
//! degree-6 polynomial (Cephes' coefficients), written with SSE2-friendly
//! arithmetic only, so the compiler vectorizes the loops; with AVX2+FMA
//! present (checked once at run time) the same loops are compiled for it.
//! Relative error against libm is below 3e-7 for sigmoid and tanh (tested).

/// `x <- sigmoid(x)` and `x <- tanh(x)` over slices, and the same formulas
/// for one value (for fused loops such as `nn::cell`'s, which inline them).
pub trait Activations: Sized {
    /// Logistic sigmoid in place.
    fn sigmoid_slice(x: &mut [Self]);
    /// Hyperbolic tangent in place.
    fn tanh_slice(x: &mut [Self]);
    /// Logistic sigmoid of one value: bit for bit what `sigmoid_slice` gives.
    fn sigmoid1(x: Self) -> Self;
    /// Hyperbolic tangent of one value: bit for bit what `tanh_slice` gives.
    fn tanh1(x: Self) -> Self;
}

impl Activations for f64 {
    fn sigmoid_slice(x: &mut [f64]) {
        x.iter_mut().for_each(|v| *v = f64::sigmoid1(*v));
    }
    fn tanh_slice(x: &mut [f64]) {
        x.iter_mut().for_each(|v| *v = f64::tanh1(*v));
    }
    #[inline(always)]
    fn sigmoid1(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }
    #[inline(always)]
    fn tanh1(x: f64) -> f64 {
        x.tanh()
    }
}

#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    let x = x.clamp(-87.0, 88.0);
    let t = x * LOG2E + MAGIC;
    let n = t - MAGIC;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 5.000_000_3e-1;
    let e = p * r * r + r + 1.0;
    let bits = (t.to_bits() as i32 - 0x4B40_0000 + 127) << 23;
    e * f32::from_bits(bits as u32)
}

#[inline(always)]
fn sigmoid_f32(x: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-x))
}

#[inline(always)]
fn tanh_f32(a: f32) -> f32 {
    // |x| >= 0.625: tanh(x) = 1 - 2 / (exp(2x) + 1); below, where that
    // cancels, an odd polynomial (Cephes' tanhf coefficients).
    let big = 1.0 - 2.0 / (exp_f32(2.0 * a) + 1.0);
    let z = a * a;
    let p = -5.704_988_7e-3;
    let p = p * z + 2.063_909e-2;
    let p = p * z - 5.373_971_6e-2;
    let p = p * z + 1.333_144_2e-1;
    let p = p * z - 3.333_328e-1;
    let small = p * z * a + a;
    if a.abs() < 0.625 {
        small
    } else {
        big
    }
}

#[inline(always)]
fn sigmoid_body(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = sigmoid_f32(*v);
    }
}

#[inline(always)]
fn tanh_body(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = tanh_f32(*v);
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) mod x86 {
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn sigmoid(x: &mut [f32]) {
        super::sigmoid_body(x)
    }
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn tanh(x: &mut [f32]) {
        super::tanh_body(x)
    }
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn sigmoid512(x: &mut [f32]) {
        super::sigmoid_body(x)
    }
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn tanh512(x: &mut [f32]) {
        super::tanh_body(x)
    }
    /// AVX-512F with AVX2 and FMA (what the `*512` functions, and the fused
    /// loops of `nn::cell`, are compiled for).
    pub fn has_avx512() -> bool {
        use std::sync::OnceLock;
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| is_x86_feature_detected!("avx512f") && has_avx2())
    }
    pub fn has_avx2() -> bool {
        use std::sync::OnceLock;
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
    }
}

impl Activations for f32 {
    fn sigmoid_slice(x: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if x86::has_avx512() {
            // SAFETY: the CPU supports AVX-512F, AVX2 and FMA (checked above).
            return unsafe { x86::sigmoid512(x) };
        }
        #[cfg(target_arch = "x86_64")]
        if x86::has_avx2() {
            // SAFETY: the CPU supports AVX2 and FMA (checked above).
            return unsafe { x86::sigmoid(x) };
        }
        sigmoid_body(x)
    }
    fn tanh_slice(x: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if x86::has_avx512() {
            // SAFETY: as above.
            return unsafe { x86::tanh512(x) };
        }
        #[cfg(target_arch = "x86_64")]
        if x86::has_avx2() {
            // SAFETY: as above.
            return unsafe { x86::tanh(x) };
        }
        tanh_body(x)
    }
    #[inline(always)]
    fn sigmoid1(x: f32) -> f32 {
        sigmoid_f32(x)
    }
    #[inline(always)]
    fn tanh1(x: f32) -> f32 {
        tanh_f32(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_f32_activations_match_libm() {
        let xs: Vec<f32> = (-20_000..=20_000)
            .map(|i| i as f32 * 0.001)
            .chain([-100.0, 100.0, 1e-6, -1e-7, 0.0])
            .collect();
        let mut s = xs.clone();
        f32::sigmoid_slice(&mut s);
        let mut t = xs.clone();
        f32::tanh_slice(&mut t);
        let (mut ws, mut wt) = (0f64, 0f64);
        for (i, &x) in xs.iter().enumerate() {
            let es = 1.0 / (1.0 + (-(x as f64)).exp());
            let et = (x as f64).tanh();
            ws = ws.max((s[i] as f64 - es).abs() / es.abs().max(1e-30));
            if et != 0.0 {
                wt = wt.max((t[i] as f64 - et).abs() / et.abs());
            } else {
                assert_eq!(t[i], 0.0);
            }
        }
        assert!(ws < 3e-7 && wt < 3e-7, "sigmoid {ws:e} tanh {wt:e}");
        let mut body = xs.clone();
        sigmoid_body(&mut body);
        assert_eq!(body, s, "dispatch and portable paths agree");
    }
}
