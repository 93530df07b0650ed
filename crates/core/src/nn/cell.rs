//! The element-wise half of an LSTM or GRU step, fused into one pass per
//! row: from the gate pre-activations to the new states (forward), and from
//! the state gradients to the gate gradients (backward).
//!
//! The other half of a step, the products with the weights, runs on the
//! packed kernel (`kernel`) near the machine's FMA rate. This half was one
//! pass per activation and per copy, in generic code that the baseline
//! x86-64 target compiles for SSE2: 7% of an LSTM H=256 training step
//! forward and 3% backward (fused: 3% and 2%). Here each row is read once
//! and every output written once (LSTM's backward also clears the recurrent
//! gradient that the next product accumulates into). For f32 on a CPU with
//! AVX-512 the row functions are compiled for it (checked once at run
//! time), each slice its own argument so the compiler knows they do not
//! overlap and vectorizes without run-time overlap checks (with the slices
//! cut from one buffer inside the loop it did not, and the pass ran 9x
//! slower). Every formula is the one the unfused code applied, in the same
//! order (the activations are `act`'s, value by value), so states and
//! gradients are bit for bit what they were.

use super::{as_f32, as_f32_mut, Real};

/// One LSTM step over `rows` rows (`hd` = H).
///
/// `g (rows, 4H)` holds the pre-activations of the gates i, f, g, o and is
/// left holding the activated gates (what backward reads); `c` and `hs`
/// `(rows, H)` are the running cell and hidden states, updated in place;
/// `h (rows, H)` receives the new hidden state. With `cache = Some((cprev,
/// tanh_c))` the cell state before the step and tanh of the new one are
/// stored there (both `(rows, H)`).
pub fn lstm_forward<T: Real>(
    hd: usize,
    g: &mut [T],
    c: &mut [T],
    hs: &mut [T],
    h: &mut [T],
    cache: Option<(&mut [T], &mut [T])>,
) {
    let rows = c.len() / hd.max(1);
    assert!(
        g.len() == rows * 4 * hd && hs.len() == rows * hd && h.len() == rows * hd,
        "lstm_forward shapes"
    );
    let simd = avx512();
    let keep = cache.is_some();
    let (cp, tc) = cache.unwrap_or((&mut [], &mut []));
    if keep {
        assert!(
            cp.len() == rows * hd && tc.len() == rows * hd,
            "lstm_forward cache shapes"
        );
    }
    for r in 0..rows {
        let (i, rest) = g[r * 4 * hd..(r + 1) * 4 * hd].split_at_mut(hd);
        let (f, rest) = rest.split_at_mut(hd);
        let (gg, o) = rest.split_at_mut(hd);
        let row = r * hd..(r + 1) * hd;
        let (c, hs, h) = (
            &mut c[row.clone()],
            &mut hs[row.clone()],
            &mut h[row.clone()],
        );
        let (cp, tc): (&mut [T], &mut [T]) = if keep {
            (&mut cp[row.clone()], &mut tc[row])
        } else {
            (&mut [], &mut [])
        };
        #[cfg(target_arch = "x86_64")]
        if simd {
            let all = [
                &mut *i, &mut *f, &mut *gg, &mut *o, &mut *c, &mut *hs, &mut *h, &mut *cp, &mut *tc,
            ];
            if let Some((args, none)) = f32_row(all, []) {
                // SAFETY: the CPU has AVX-512F, AVX2 and FMA (`avx512`).
                unsafe {
                    if keep {
                        x86::forward_keep(args, none)
                    } else {
                        x86::forward(args, none)
                    }
                }
                continue;
            }
        }
        let out = [i, f, gg, o, c, hs, h, cp, tc];
        if keep {
            forward_row::<T, true>(out, []);
        } else {
            forward_row::<T, false>(out, []);
        }
    }
    let _ = simd;
}

/// Backward through one LSTM step over `rows` rows, the inverse of
/// [`lstm_forward`].
///
/// `d (rows, 4H)` holds the activated gates on entry and the gradients of
/// the pre-activations on exit. `dh (rows, H)` is the gradient of this
/// step's output from above; `dh_state` the gradient arriving from the next
/// step through the recurrence, read and then cleared (the caller adds the
/// product `d · W_hh` into it); `dc_state` the cell-state gradient, updated.
/// `cprev` and `tanh_c` are the forward cache's rows.
pub fn lstm_backward<T: Real>(
    hd: usize,
    d: &mut [T],
    dh: &[T],
    dh_state: &mut [T],
    dc_state: &mut [T],
    cprev: &[T],
    tanh_c: &[T],
) {
    let rows = dh.len() / hd.max(1);
    assert!(
        d.len() == rows * 4 * hd
            && dh_state.len() == rows * hd
            && dc_state.len() == rows * hd
            && cprev.len() == rows * hd
            && tanh_c.len() == rows * hd,
        "lstm_backward shapes"
    );
    let simd = avx512();
    for r in 0..rows {
        let (di, rest) = d[r * 4 * hd..(r + 1) * 4 * hd].split_at_mut(hd);
        let (df, rest) = rest.split_at_mut(hd);
        let (dg, dout) = rest.split_at_mut(hd);
        let row = r * hd..(r + 1) * hd;
        let ins = [&dh[row.clone()], &cprev[row.clone()], &tanh_c[row.clone()]];
        let (dhs, dcs) = (&mut dh_state[row.clone()], &mut dc_state[row]);
        #[cfg(target_arch = "x86_64")]
        if simd {
            let out = [
                &mut *di, &mut *df, &mut *dg, &mut *dout, &mut *dhs, &mut *dcs,
            ];
            if let Some((out, ins)) = f32_row(out, ins) {
                // SAFETY: the CPU has AVX-512F, AVX2 and FMA (`avx512`).
                unsafe { x86::backward(out, ins) };
                continue;
            }
        }
        backward_row([di, df, dg, dout, dhs, dcs], ins);
    }
    let _ = simd;
}

/// One GRU step over `rows` rows (`hd` = H).
///
/// `g (rows, 3H)` holds the input side's pre-activations of r, z, n (with
/// `b_ih`) and is left holding the activated gates; `rec (rows, 3H)` is the
/// hidden side's `b_hh + h·W_hhᵀ`; `hs (rows, H)` the running hidden state,
/// updated; `h (rows, H)` receives it. With `ghn = Some(..)` the hidden
/// side's n part (`rec`'s last H columns, which the reset gate multiplied)
/// is stored there for backward.
pub fn gru_forward<T: Real>(
    hd: usize,
    g: &mut [T],
    rec: &[T],
    hs: &mut [T],
    h: &mut [T],
    ghn: Option<&mut [T]>,
) {
    let rows = hs.len() / hd.max(1);
    assert!(
        g.len() == rows * 3 * hd && rec.len() == rows * 3 * hd && h.len() == rows * hd,
        "gru_forward shapes"
    );
    let simd = avx512();
    let keep = ghn.is_some();
    let ghn = ghn.unwrap_or(&mut []);
    if keep {
        assert!(ghn.len() == rows * hd, "gru_forward cache shape");
    }
    for r in 0..rows {
        let (gr, rest) = g[r * 3 * hd..(r + 1) * 3 * hd].split_at_mut(hd);
        let (gz, gn) = rest.split_at_mut(hd);
        let rr = &rec[r * 3 * hd..(r + 1) * 3 * hd];
        let ins = [&rr[..hd], &rr[hd..2 * hd], &rr[2 * hd..]];
        let row = r * hd..(r + 1) * hd;
        let (hs, h) = (&mut hs[row.clone()], &mut h[row.clone()]);
        let cache: &mut [T] = if keep { &mut ghn[row] } else { &mut [] };
        #[cfg(target_arch = "x86_64")]
        if simd {
            let all = [&mut *gr, &mut *gz, &mut *gn, &mut *hs, &mut *h, &mut *cache];
            if let Some((args, ins)) = f32_row(all, ins) {
                // SAFETY: the CPU has AVX-512F, AVX2 and FMA (`avx512`).
                unsafe {
                    if keep {
                        x86::gru_forward_keep(args, ins)
                    } else {
                        x86::gru_forward(args, ins)
                    }
                }
                continue;
            }
        }
        let out = [gr, gz, gn, hs, h, cache];
        if keep {
            gru_forward_row::<T, true>(out, ins);
        } else {
            gru_forward_row::<T, false>(out, ins);
        }
    }
}

/// Backward through one GRU step over `rows` rows, the inverse of
/// [`gru_forward`].
///
/// `d (rows, 3H)` holds the activated gates on entry and the input side's
/// pre-activation gradients `[dr, dz, dn]` on exit; `e (rows, 3H)` receives
/// the hidden side's `[dr, dz, dn·r]` and `dhn (rows, H)` its n part again
/// (for the `b_hh` and `W_hh` gradients); `dh (rows, H)` is the gradient of
/// this step's output from above, `dh_state` the one arriving through the
/// recurrence, left holding `dh·z` (the caller adds `e · W_hh`); `hprev`
/// and `ghn` are the forward cache's rows.
#[allow(clippy::too_many_arguments)]
pub fn gru_backward<T: Real>(
    hd: usize,
    d: &mut [T],
    e: &mut [T],
    dhn: &mut [T],
    dh: &[T],
    dh_state: &mut [T],
    hprev: &[T],
    ghn: &[T],
) {
    let rows = dh.len() / hd.max(1);
    assert!(
        d.len() == rows * 3 * hd
            && e.len() == rows * 3 * hd
            && dhn.len() == rows * hd
            && dh_state.len() == rows * hd
            && hprev.len() == rows * hd
            && ghn.len() == rows * hd,
        "gru_backward shapes"
    );
    let simd = avx512();
    for r in 0..rows {
        let (dr, rest) = d[r * 3 * hd..(r + 1) * 3 * hd].split_at_mut(hd);
        let (dz, dn) = rest.split_at_mut(hd);
        let (er, rest) = e[r * 3 * hd..(r + 1) * 3 * hd].split_at_mut(hd);
        let (ez, en) = rest.split_at_mut(hd);
        let row = r * hd..(r + 1) * hd;
        let ins = [&dh[row.clone()], &hprev[row.clone()], &ghn[row.clone()]];
        let (dhn, dhs) = (&mut dhn[row.clone()], &mut dh_state[row]);
        #[cfg(target_arch = "x86_64")]
        if simd {
            let out = [
                &mut *dr, &mut *dz, &mut *dn, &mut *er, &mut *ez, &mut *en, &mut *dhn, &mut *dhs,
            ];
            if let Some((out, ins)) = f32_row(out, ins) {
                // SAFETY: the CPU has AVX-512F, AVX2 and FMA (`avx512`).
                unsafe { x86::gru_backward(out, ins) };
                continue;
            }
        }
        gru_backward_row([dr, dz, dn, er, ez, en, dhn, dhs], ins);
    }
    let _ = simd;
}

/// Whether the AVX-512 build of the row functions runs.
fn avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        super::act::x86::has_avx512()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A row function's arguments: `N` written slices and `M` read ones.
type RowArgs<'a, T, const N: usize, const M: usize> = ([&'a mut [T]; N], [&'a [T]; M]);

/// A row function's arguments as f32 when `T` is f32 (`None` otherwise).
fn f32_row<'a, T: Real, const N: usize, const M: usize>(
    out: [&'a mut [T]; N],
    ins: [&'a [T]; M],
) -> Option<RowArgs<'a, f32, N, M>> {
    let mut ok = true;
    let out = out.map(|x| {
        let y = as_f32_mut(x);
        ok &= y.is_some();
        y.unwrap_or_default()
    });
    let ins = ins.map(|x| {
        let y = as_f32(x);
        ok &= y.is_some();
        y.unwrap_or_default()
    });
    ok.then_some((out, ins))
}

/// One row of [`lstm_forward`]: `out = [i, f, g, o, c, hs, h, cprev,
/// tanh_c]`, each `H` long; the last two are written (and read) only when
/// `KEEP`. (`ins` is empty: every row function takes `(out, ins)`.)
#[inline(always)]
fn forward_row<T: Real, const KEEP: bool>(out: [&mut [T]; 9], _ins: [&[T]; 0]) {
    let [gi, gf, gg, go, c, hs, h, cp, tc] = out;
    let n = c.len();
    let (gi, gf, gg, go, hs, h) = (
        &mut gi[..n],
        &mut gf[..n],
        &mut gg[..n],
        &mut go[..n],
        &mut hs[..n],
        &mut h[..n],
    );
    let (cp, tc) = if KEEP {
        (&mut cp[..n], &mut tc[..n])
    } else {
        (cp, tc)
    };
    for j in 0..n {
        let i = T::sigmoid1(gi[j]);
        let f = T::sigmoid1(gf[j]);
        let gv = T::tanh1(gg[j]);
        let o = T::sigmoid1(go[j]);
        (gi[j], gf[j], gg[j], go[j]) = (i, f, gv, o);
        let c0 = c[j];
        let c1 = f * c0 + i * gv;
        let t = T::tanh1(c1);
        let hv = o * t;
        c[j] = c1;
        hs[j] = hv;
        h[j] = hv;
        if KEEP {
            cp[j] = c0;
            tc[j] = t;
        }
    }
}

/// One row of [`lstm_backward`]: `out = [di, df, dg, do, dh_state,
/// dc_state]`, `ins = [dh, cprev, tanh_c]`.
#[inline(always)]
fn backward_row<T: Real>(out: [&mut [T]; 6], ins: [&[T]; 3]) {
    let one = T::one();
    let [di, df, dg, dout, dhs, dcs] = out;
    let n = di.len();
    let (df, dg, dout, dhs, dcs) = (
        &mut df[..n],
        &mut dg[..n],
        &mut dout[..n],
        &mut dhs[..n],
        &mut dcs[..n],
    );
    let [dh, cp, tc] = ins;
    let (dh, cp, tc) = (&dh[..n], &cp[..n], &tc[..n]);
    for j in 0..n {
        let dhj = dh[j] + dhs[j];
        let (ig, fg, gg, og) = (di[j], df[j], dg[j], dout[j]);
        let t = tc[j];
        let dc = dcs[j] + dhj * og * (one - t * t);
        let gi = dc * gg * ig * (one - ig);
        let gf = dc * cp[j] * fg * (one - fg);
        let gc = dc * ig * (one - gg * gg);
        let go = dhj * t * og * (one - og);
        (di[j], df[j], dg[j], dout[j]) = (gi, gf, gc, go);
        dcs[j] = dc * fg;
        dhs[j] = T::zero();
    }
}

/// One row of [`gru_forward`]: `out = [r, z, n, hs, h, ghn]` (the input
/// side's gates, state, output, cache; `ghn` written only when `KEEP`),
/// `rec = [r, z, n]` (the hidden side's).
#[inline(always)]
fn gru_forward_row<T: Real, const KEEP: bool>(out: [&mut [T]; 6], rec: [&[T]; 3]) {
    let one = T::one();
    let [gr, gz, gn, hs, h, ghn] = out;
    let n = hs.len();
    let (gr, gz, gn, h) = (&mut gr[..n], &mut gz[..n], &mut gn[..n], &mut h[..n]);
    let [rr, rz, rn] = rec;
    let (rr, rz, rn) = (&rr[..n], &rz[..n], &rn[..n]);
    let ghn = if KEEP { &mut ghn[..n] } else { ghn };
    for j in 0..n {
        let r = T::sigmoid1(gr[j] + rr[j]);
        let z = T::sigmoid1(gz[j] + rz[j]);
        let nv = T::tanh1(gn[j] + r * rn[j]);
        (gr[j], gz[j], gn[j]) = (r, z, nv);
        let hv = (one - z) * nv + z * hs[j];
        hs[j] = hv;
        h[j] = hv;
        if KEEP {
            ghn[j] = rn[j];
        }
    }
}

/// One row of [`gru_backward`]: `out = [dr, dz, dn, er, ez, en, dhn,
/// dh_state]`, `ins = [dh, hprev, ghn]`.
#[inline(always)]
fn gru_backward_row<T: Real>(out: [&mut [T]; 8], ins: [&[T]; 3]) {
    let one = T::one();
    let [dr, dz, dn, er, ez, en, dhn, dhs] = out;
    let n = dr.len();
    let (dz, dn, er, ez, en, dhn, dhs) = (
        &mut dz[..n],
        &mut dn[..n],
        &mut er[..n],
        &mut ez[..n],
        &mut en[..n],
        &mut dhn[..n],
        &mut dhs[..n],
    );
    let [dh, hp, ghn] = ins;
    let (dh, hp, ghn) = (&dh[..n], &hp[..n], &ghn[..n]);
    for j in 0..n {
        let dhj = dh[j] + dhs[j];
        let (rg, zg, ng) = (dr[j], dz[j], dn[j]);
        let gn = dhj * (one - zg) * (one - ng * ng);
        let gz = dhj * (hp[j] - ng) * zg * (one - zg);
        let gr = gn * ghn[j] * rg * (one - rg);
        (dr[j], dz[j], dn[j]) = (gr, gz, gn);
        (er[j], ez[j], en[j]) = (gr, gz, gn * rg);
        dhn[j] = gn * rg;
        dhs[j] = dhj * zg;
    }
}

/// The row functions compiled for AVX-512.
#[cfg(target_arch = "x86_64")]
mod x86 {
    /// `pub unsafe fn $name(out, ins)`: the row function `$body` compiled
    /// for AVX-512, through an inner function that takes every slice as its
    /// own argument, so the compiler knows they do not overlap.
    macro_rules! avx512_row {
        ($name:ident, $body:expr, [$($m:ident),*], [$($r:ident),*]) => {
            pub unsafe fn $name(
                out: [&mut [f32]; { <[&str]>::len(&[$(stringify!($m)),*]) }],
                ins: [&[f32]; { <[&str]>::len(&[$(stringify!($r)),*]) }],
            ) {
                #[allow(clippy::too_many_arguments)]
                #[target_feature(enable = "avx512f,avx2,fma")]
                #[inline(never)]
                unsafe fn inner($($m: &mut [f32],)* $($r: &[f32],)*) {
                    $body([$($m),*], [$($r),*])
                }
                let [$($m),*] = out;
                let [$($r),*] = ins;
                inner($($m,)* $($r,)*)
            }
        };
    }

    avx512_row!(
        forward_keep,
        super::forward_row::<f32, true>,
        [i, f, g, o, c, hs, h, cp, tc],
        []
    );
    avx512_row!(
        forward,
        super::forward_row::<f32, false>,
        [i, f, g, o, c, hs, h, cp, tc],
        []
    );
    avx512_row!(
        backward,
        super::backward_row::<f32>,
        [i, f, g, o, dhs, dcs],
        [dh, cp, tc]
    );
    avx512_row!(
        gru_forward_keep,
        super::gru_forward_row::<f32, true>,
        [r, z, n, hs, h, ghn],
        [rr, rz, rn]
    );
    avx512_row!(
        gru_forward,
        super::gru_forward_row::<f32, false>,
        [r, z, n, hs, h, ghn],
        [rr, rz, rn]
    );
    avx512_row!(
        gru_backward,
        super::gru_backward_row::<f32>,
        [r, z, n, er, ez, en, dhn, dhs],
        [dh, hp, ghn]
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::act::Activations;
    use crate::rng::Rng;

    /// The step as it was written before the fusion: one pass per
    /// activation and per copy, over slices.
    fn unfused_forward(
        hd: usize,
        g: &mut [f32],
        c: &mut [f32],
        hs: &mut [f32],
        cache: (&mut [f32], &mut [f32]),
    ) {
        for i in 0..c.len() / hd {
            let gi = &mut g[i * 4 * hd..(i + 1) * 4 * hd];
            f32::sigmoid_slice(&mut gi[..2 * hd]);
            f32::tanh_slice(&mut gi[2 * hd..3 * hd]);
            f32::sigmoid_slice(&mut gi[3 * hd..]);
            let ci = &mut c[i * hd..(i + 1) * hd];
            cache.0[i * hd..(i + 1) * hd].copy_from_slice(ci);
            for j in 0..hd {
                ci[j] = gi[hd + j] * ci[j] + gi[j] * gi[2 * hd + j];
            }
            let mut t = ci.to_vec();
            f32::tanh_slice(&mut t);
            for j in 0..hd {
                hs[i * hd + j] = gi[3 * hd + j] * t[j];
            }
            cache.1[i * hd..(i + 1) * hd].copy_from_slice(&t);
        }
    }

    #[test]
    fn fused_lstm_step_is_bit_for_bit_the_unfused_one() {
        let (rows, hd) = (5, 37);
        let mut rng = Rng::new(11);
        let mut r = |n: usize, s: f64| {
            (0..n)
                .map(|_| (rng.normal() * s) as f32)
                .collect::<Vec<_>>()
        };
        let g0 = r(rows * 4 * hd, 3.0);
        let (c0, h0) = (r(rows * hd, 1.0), r(rows * hd, 1.0));
        let (mut g, mut c, mut hs, mut h) =
            (g0.clone(), c0.clone(), h0.clone(), vec![0f32; rows * hd]);
        let (mut cp, mut tc) = (vec![0f32; rows * hd], vec![0f32; rows * hd]);
        lstm_forward(
            hd,
            &mut g,
            &mut c,
            &mut hs,
            &mut h,
            Some((&mut cp, &mut tc)),
        );
        let (mut g2, mut c2, mut hs2) = (g0.clone(), c0.clone(), h0.clone());
        let (mut cp2, mut tc2) = (vec![0f32; rows * hd], vec![0f32; rows * hd]);
        unfused_forward(hd, &mut g2, &mut c2, &mut hs2, (&mut cp2, &mut tc2));
        assert_eq!((&g, &c, &hs, &cp, &tc), (&g2, &c2, &hs2, &cp2, &tc2));
        assert_eq!(h, hs);
        // Without a cache: the same states.
        let (mut g3, mut c3, mut hs3, mut h3) = (g0.clone(), c0.clone(), h0, vec![0f32; rows * hd]);
        lstm_forward(hd, &mut g3, &mut c3, &mut hs3, &mut h3, None);
        assert_eq!((&g3, &c3, &h3), (&g, &c, &h));

        // Backward: the unfused formulas.
        let dh = r(rows * hd, 1.0);
        let dhs0 = r(rows * hd, 1.0);
        let dcs0 = r(rows * hd, 1.0);
        let (mut d, mut dhs, mut dcs) = (g.clone(), dhs0.clone(), dcs0.clone());
        lstm_backward(hd, &mut d, &dh, &mut dhs, &mut dcs, &cp, &tc);
        for i in 0..rows {
            for j in 0..hd {
                let k = i * hd + j;
                let gi = &g[i * 4 * hd..(i + 1) * 4 * hd];
                let dhj = dh[k] + dhs0[k];
                let (ig, fg, gg, og) = (gi[j], gi[hd + j], gi[2 * hd + j], gi[3 * hd + j]);
                let t = tc[k];
                let dc = dcs0[k] + dhj * og * (1.0 - t * t);
                let want = [
                    dc * gg * ig * (1.0 - ig),
                    dc * cp[k] * fg * (1.0 - fg),
                    dc * ig * (1.0 - gg * gg),
                    dhj * t * og * (1.0 - og),
                ];
                for (q, w) in want.iter().enumerate() {
                    assert_eq!(d[i * 4 * hd + q * hd + j], *w);
                }
                assert_eq!(dcs[k], dc * fg);
                assert_eq!(dhs[k], 0.0);
            }
        }
    }

    #[test]
    fn fused_gru_step_is_bit_for_bit_the_unfused_one() {
        let (rows, hd) = (4, 29);
        let mut rng = Rng::new(5);
        let mut r = |n: usize, s: f64| {
            (0..n)
                .map(|_| (rng.normal() * s) as f32)
                .collect::<Vec<_>>()
        };
        let (g0, rec, h0) = (
            r(rows * 3 * hd, 2.0),
            r(rows * 3 * hd, 2.0),
            r(rows * hd, 1.0),
        );
        let (mut g, mut hs, mut h, mut ghn) = (
            g0.clone(),
            h0.clone(),
            vec![0f32; rows * hd],
            vec![0f32; rows * hd],
        );
        gru_forward(hd, &mut g, &rec, &mut hs, &mut h, Some(&mut ghn));
        // The unfused step, as it was written before.
        let (mut g2, mut hs2) = (g0.clone(), h0.clone());
        for i in 0..rows {
            let gi = &mut g2[i * 3 * hd..(i + 1) * 3 * hd];
            let ri = &rec[i * 3 * hd..(i + 1) * 3 * hd];
            for j in 0..2 * hd {
                gi[j] += ri[j];
            }
            f32::sigmoid_slice(&mut gi[..2 * hd]);
            for j in 0..hd {
                gi[2 * hd + j] += gi[j] * ri[2 * hd + j];
            }
            f32::tanh_slice(&mut gi[2 * hd..]);
            for j in 0..hd {
                let z = gi[hd + j];
                hs2[i * hd + j] = (1.0 - z) * gi[2 * hd + j] + z * hs2[i * hd + j];
            }
            assert_eq!(ghn[i * hd..(i + 1) * hd], ri[2 * hd..]);
        }
        assert_eq!((&g, &hs), (&g2, &hs2));
        assert_eq!(h, hs);
        let (mut g3, mut hs3, mut h3) = (g0, h0.clone(), vec![0f32; rows * hd]);
        gru_forward(hd, &mut g3, &rec, &mut hs3, &mut h3, None);
        assert_eq!((&g3, &h3), (&g, &h));

        let (dh, dhs0) = (r(rows * hd, 1.0), r(rows * hd, 1.0));
        let (mut d, mut e, mut dhn, mut dhs) = (
            g.clone(),
            vec![0f32; rows * 3 * hd],
            vec![0f32; rows * hd],
            dhs0.clone(),
        );
        gru_backward(hd, &mut d, &mut e, &mut dhn, &dh, &mut dhs, &h0, &ghn);
        for i in 0..rows {
            for j in 0..hd {
                let k = i * hd + j;
                let gi = &g[i * 3 * hd..(i + 1) * 3 * hd];
                let dhj = dh[k] + dhs0[k];
                let (rg, zg, ng) = (gi[j], gi[hd + j], gi[2 * hd + j]);
                let dn = dhj * (1.0 - zg) * (1.0 - ng * ng);
                let dz = dhj * (h0[k] - ng) * zg * (1.0 - zg);
                let dr = dn * ghn[k] * rg * (1.0 - rg);
                let at = |q: usize| i * 3 * hd + q * hd + j;
                assert_eq!([d[at(0)], d[at(1)], d[at(2)]], [dr, dz, dn]);
                assert_eq!([e[at(0)], e[at(1)], e[at(2)]], [dr, dz, dn * rg]);
                assert_eq!(dhn[k], dn * rg);
                assert_eq!(dhs[k], dhj * zg);
            }
        }
    }
}
